//! The command line through the real binary: commands never create a database, the
//! database flags stand before or after the subcommand, an unreachable PostgreSQL is
//! named quickly (and the server waits for it behind a 503 `/healthz`), help texts,
//! `token list` output and error reports.

use crate::ops;
use crate::support::process::{self, command, Herald};
use crate::support::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `herald ARGS` in `dir` with no Herald settings from the environment but `env`.
fn herald_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .args(args)
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run herald")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let expected = dir.path().canonicalize().unwrap().join("herald.db");
    // The default URL, from an empty directory.
    for args in [
        &["token", "create", "--name", "x"][..],
        &["token", "list"],
        &["token", "revoke", "some-id"],
        &["secrets", "rotate-key"],
    ] {
        let o = herald_in(dir.path(), args, &[]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded: {err}");
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        assert!(
            err.contains(&expected.display().to_string()),
            "{args:?}: the message names {}: {err}",
            expected.display()
        );
        assert!(
            err.contains("HERALD_DATABASE_URL") && err.contains("--database-url"),
            "{args:?}: the message says how to point at the server's database: {err}"
        );
        assert!(
            files_in(dir.path()).is_empty(),
            "{args:?} created {:?}",
            files_in(dir.path())
        );
    }
    // An explicit URL, even one with `mode=rwc`, before and after the subcommand.
    let other = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}?mode=rwc", other.display());
    for args in [
        vec![
            "--database-url",
            url.as_str(),
            "token",
            "create",
            "--name",
            "x",
        ],
        vec![
            "token",
            "create",
            "--name",
            "x",
            "--database-url",
            url.as_str(),
        ],
        vec!["token", "list", "--database-url", url.as_str()],
    ] {
        let o = herald_in(dir.path(), &args, &[]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{args:?} succeeded: {err}");
        assert!(
            err.contains(&other.display().to_string()),
            "{args:?}: {err}"
        );
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
    }
    // Through the environment too.
    let o = herald_in(
        dir.path(),
        &["token", "list"],
        &[("HERALD_DATABASE_URL", url.as_str())],
    );
    assert!(!o.status.success() && stderr(&o).contains(&other.display().to_string()));
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[test]
fn serve_hints_at_mode_rwc_for_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = process::free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let o = herald_in(
        dir.path(),
        &[
            "serve",
            "--database-url",
            "sqlite://new.db",
            "--listen",
            &listen,
        ],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("add ?mode=rwc"), "{err}");
    assert!(err.contains("new.db"), "{err}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn database_flags_before_or_after_the_subcommand_and_token_list() {
    let db = TestDb::sqlite().await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let port = process::free_port();
    let mut cmd = command(&db, port, &[("HERALD_LOG", "info")]);
    cmd.stderr(Stdio::from(log.reopen().unwrap()));
    let server = Herald::spawn(cmd, port).await;
    // `herald serve` logs the absolute path of its database.
    let file = herald::crypto::sqlite_file(&db.url).unwrap();
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.contains(&format!("database={file}")),
        "{file} not in the start-up log: {logged}"
    );

    let dir = tempfile::tempdir().unwrap();
    let key = ("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY);
    let secret = ("HERALD_JWT_SECRET", "process-test-secret");
    let created = herald_in(
        dir.path(),
        &[
            "--database-url",
            &db.url,
            "token",
            "create",
            "--name",
            "before",
        ],
        &[key, secret],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let after = herald_in(
        dir.path(),
        &[
            "token",
            "create",
            "--name",
            "after",
            "--permission",
            "alertread",
        ],
        &[key, secret],
    );
    assert!(
        !after.status.success(),
        "no URL: the default file does not exist"
    );
    let after = herald_in(
        dir.path(),
        &[
            "token",
            "create",
            "--name",
            "after",
            "--permission",
            "alertread",
            "--database-url",
            &db.url,
        ],
        &[key, secret],
    );
    assert!(after.status.success(), "{}", stderr(&after));
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );

    let list = herald_in(
        dir.path(),
        &["token", "list", "--database-url", &db.url],
        &[key, secret],
    );
    assert!(list.status.success(), "{}", stderr(&list));
    let out = stdout(&list);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("ID\tNAME\tPERMISSIONS\tEXPIRES"),
        "{out}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|r| r.len() == 4), "{out}");
    assert!(
        rows.iter().any(|r| r[1] == "after" && r[2] == "AlertRead"),
        "{out}"
    );

    let json = herald_in(
        dir.path(),
        &["--database-url", &db.url, "token", "list", "--json"],
        &[key, secret],
    );
    assert!(json.status.success(), "{}", stderr(&json));
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("a JSON array");
    let names: Vec<&str> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"before") && names.contains(&"after"), "{v}");
    let before = v.as_array().unwrap().iter().find(|t| t["name"] == "before");
    assert_eq!(
        before.unwrap()["permissions"].as_array().unwrap().len(),
        herald::auth::Permission::ALL.len()
    );

    // A token made by the CLI works against the server.
    let token = stdout(&created).trim().to_string();
    server
        .api(&token)
        .ok(ops::TOKEN_IDS, serde_json::json!({}))
        .await;

    // `serve`'s own flags are refused before another subcommand instead of ignored.
    let o = herald_in(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:1",
            "token",
            "list",
            "--database-url",
            &db.url,
        ],
        &[key, secret],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--listen"), "{}", stderr(&o));
    server.stop().await;
}

#[test]
fn help_lists_permissions_and_describes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let o = herald_in(dir.path(), &["token", "create", "--help"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let help = stdout(&o);
    for p in herald::auth::Permission::ALL {
        assert!(help.contains(&p.name()), "{} not in: {help}", p.name());
    }
    // Every subcommand and every flag has a description.
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name());
        if cmd.get_about().is_none() && path != " herald" {
            missing.push(path.clone());
        }
        for a in cmd.get_arguments() {
            let builtin = matches!(a.get_id().as_str(), "help" | "version");
            if !builtin && a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path} {}", a.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &path, missing);
        }
    }
    let mut missing = vec![];
    let mut cmd = <herald::config::Cli as clap::CommandFactory>::command();
    cmd.build();
    walk(&cmd, "", &mut missing);
    assert!(missing.is_empty(), "without a description: {missing:?}");
}

#[test]
fn errors_print_once_without_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("h.db").display());
    std::fs::write(dir.path().join("h.db"), b"").unwrap();
    let key = ("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY);
    let o = herald_in(
        dir.path(),
        &["token", "revoke", "no-such-id", "--database-url", &url],
        &[key],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.matches("no active token").count(), 1, "{err}");
    for noise in ["Caused by", "Stack backtrace", "panicked", "Error {"] {
        assert!(!err.contains(noise), "{noise:?} in {err}");
    }
    // A cause chain: one line each, none repeated.
    let o = herald_in(
        dir.path(),
        &["token", "list", "--database-url", &url],
        &[("HERALD_ENCRYPTION_KEY", "c2hvcnQ=")],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("error: "), "{err}");
    let mut seen = std::collections::HashSet::new();
    assert!(
        lines.iter().all(|l| seen.insert(*l)),
        "a repeated line: {err}"
    );
    assert!(!err.contains("Caused by"), "{err}");
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    process::free_port()
}

#[tokio::test]
async fn unreachable_postgres_is_named_quickly_and_the_server_waits_behind_503() {
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/herald");
    let dir = tempfile::tempdir().unwrap();
    let key = ("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY);

    // The CLI: fails fast, naming the host and the reason.
    let started = Instant::now();
    let o = herald_in(
        dir.path(),
        &["token", "list", "--database-url", &url],
        &[key],
    );
    let took = started.elapsed();
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        err.contains(&format!(
            "could not connect to PostgreSQL at 127.0.0.1:{port}"
        )) && err.contains("refused"),
        "{err}"
    );

    // The server: listening, `/healthz` 503 with the reason, while it retries.
    let listen = process::free_port();
    let db = TestDb::unowned(&url);
    let mut child = Herald::spawn_unready(command(&db, listen, &[]), listen);
    let health = format!("http://127.0.0.1:{listen}/healthz");
    let c = reqwest::Client::new();
    let body = eventually(
        Duration::from_secs(10),
        "/healthz to answer 503",
        || async {
            let r = c.get(&health).send().await.ok()?;
            (r.status() == 503).then_some(())?;
            r.text().await.ok()
        },
    )
    .await;
    assert!(body.contains(&format!("127.0.0.1:{port}")), "{body}");
    assert!(!child.exited(), "the server keeps waiting");

    // Once PostgreSQL answers on that port (a forwarder to the test server), it
    // migrates and serves.
    let Some(real) = TestDb::postgres().await else {
        println!("TEST_DATABASE_URL not set: skipping the recovery half (PostgreSQL)");
        return;
    };
    child.kill();
    let target = url::Url::parse(&real.url).unwrap();
    let upstream = format!(
        "{}:{}",
        target.host_str().unwrap(),
        target.port().unwrap_or(5432)
    );
    let mut via = target.clone();
    via.set_host(Some("127.0.0.1")).unwrap();
    via.set_port(Some(port)).unwrap();
    let db = TestDb::unowned(via.as_str());
    let mut child = Herald::spawn_unready(command(&db, listen, &[]), listen);
    eventually(
        Duration::from_secs(10),
        "/healthz to answer 503",
        || async {
            let r = c.get(&health).send().await.ok()?;
            (r.status() == 503).then_some(())
        },
    )
    .await;
    let forwarder = tokio::spawn(forward(port, upstream));
    let h = eventually(
        Duration::from_secs(40),
        "/healthz to answer 200",
        || async {
            let r = c.get(&health).send().await.ok()?;
            r.status().is_success().then_some(r.status())
        },
    )
    .await;
    assert_eq!(h, 200);
    println!("recovered: /healthz answers 200 once PostgreSQL is reachable");
    child.kill();
    forwarder.abort();
    drop(real);
}

/// Accept on 127.0.0.1:`port` and pipe each connection to `upstream`.
async fn forward(port: u16, upstream: String) {
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the forwarder");
    loop {
        let Ok((mut inbound, _)) = l.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
            }
        });
    }
}
