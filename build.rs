//! Tests that need PostgreSQL are marked ignored, with the reason, when
//! `TEST_DATABASE_URL` is not set at build time, so `cargo test` says they were skipped
//! instead of counting them as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(herald_pg)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        println!("cargo::rustc-cfg=herald_pg");
    }
}
