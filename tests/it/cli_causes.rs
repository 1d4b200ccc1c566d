//! The command line keeps error causes: `herald token …` on a broken database prints
//! what the database said, not the "internal error" API clients see. Also: invalid
//! configuration stops `herald serve` with a message naming the flag.

use crate::support::TEST_ENCRYPTION_KEY;
use sea_orm::ConnectionTrait;
use std::process::{Command, Output, Stdio};

/// `herald ARGS` in `dir` with no Herald settings from the environment but `env`.
fn herald(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .args(args)
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .env("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run herald")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn token_commands_on_a_broken_database_print_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("h.db").display());
    // Commands only open an existing database (an empty file is migrated).
    std::fs::write(dir.path().join("h.db"), b"").unwrap();
    let first = herald(
        dir.path(),
        &["token", "create", "--name", "a", "--database-url", &url],
        &[],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    // Break the database under the command: its tokens table is gone.
    let conn = sea_orm::Database::connect(&url).await.unwrap();
    conn.execute_unprepared("DROP TABLE api_tokens")
        .await
        .unwrap();
    conn.close().await.unwrap();

    for (args, what) in [
        (
            &["token", "create", "--name", "b"][..],
            "could not create the token",
        ),
        (&["token", "list"], "could not list the tokens"),
        (
            &["token", "revoke", "some-id"],
            "could not read the token some-id",
        ),
    ] {
        let mut args = args.to_vec();
        args.extend(["--database-url", &url]);
        let o = herald(dir.path(), &args, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("error: {what}")),
            "{args:?}: {err}"
        );
        assert!(err.contains("no such table: api_tokens"), "{args:?}: {err}");
        assert!(!err.contains("internal error"), "{args:?}: {err}");
    }
}

#[test]
fn serve_refuses_an_invalid_configuration_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("h.db").display());
    let o = herald(
        dir.path(),
        &["serve", "--database-url", &url, "--listen", "127.0.0.1:0"],
        &[("HERALD_WORKERS", "0"), ("HERALD_DESTINATION_WORKERS", "2")],
    );
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("--workers (HERALD_WORKERS) must be at least 1, got 0"),
        "{err}"
    );
    assert!(
        err.contains(
            "--destination-workers (HERALD_DESTINATION_WORKERS) must be between 1 and 1, got 2"
        ),
        "{err}"
    );
    // Nothing was started: no database file was created.
    assert!(!dir.path().join("h.db").exists());
}
