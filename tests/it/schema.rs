//! `schema.graphql` must be the SDL of the running schema.

#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let current = herald::graphql::sdl();
    if on_disk != current {
        let first = on_disk
            .lines()
            .zip(current.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(current.lines().count()));
        panic!(
            "schema.graphql is out of date: run `cargo run -q -- schema > schema.graphql`\n\
             (first difference at line {}: file {:?}, schema {:?})",
            first + 1,
            on_disk.lines().nth(first).unwrap_or("<end of file>"),
            current.lines().nth(first).unwrap_or("<end of schema>"),
        );
    }
}
