//! `herald user create`: the first administrator from the command line. It prints the
//! one-time set-password link alone on stdout; the link works on the server, and the
//! user it made can then invite others.
use crate::ops;
use crate::people::{link_token, login, post_auth, PASSWORD};
use crate::support::{TestDb, TestServer, TEST_ENCRYPTION_KEY};
use serde_json::json;

async fn herald_user(db: &TestDb, command: &str, args: &[&str]) -> std::process::Output {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            c.env_remove(k);
        }
    }
    c.args(["user", command])
        .args(args)
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .env("HERALD_PUBLIC_URL", "https://herald.test")
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .output()
        .await
        .expect("run herald")
}

async fn the_first_admin_comes_from_the_command_line(db: TestDb) {
    let s = TestServer::start(&db).await;
    let o = herald_user(
        &db,
        "create",
        &[
            "--email",
            "root@example.com",
            "--role",
            "admin",
            "--given-name",
            "Ada",
        ],
    )
    .await;
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{err}");
    let link = out.trim();
    assert_eq!(out.lines().count(), 1, "the link alone on stdout: {out:?}");
    assert!(
        link.starts_with("https://herald.test/auth/set-password?token="),
        "{link}"
    );
    assert!(
        err.contains("root@example.com") && err.contains("Admin"),
        "{err}"
    );
    let (status, _, body) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": link_token(link), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let console = login(&s, "root@example.com", PASSWORD)
        .await
        .expect("signs in");
    let (_, me) = console.me().await;
    assert_eq!(me["role"]["name"], "Admin");
    assert_eq!(me["user"]["givenName"], "Ada");
    // An administrator invites the others.
    let d = console
        .ok(
            ops::INVITE_USER,
            json!({"input": {"email": "second@example.com", "givenName": "S", "familyName": "E", "role": {"kind": "NAME", "value": "Analyst"}}}),
        )
        .await;
    assert_eq!(d["inviteUser"]["user"]["role"]["name"], "Analyst");

    // Mistakes are reported, naming what was wrong, and create nothing.
    for (args, says) in [
        (
            vec!["--email", "x@example.com", "--role", "Overlord"],
            "Overlord",
        ),
        (
            vec!["--email", "ROOT@example.com", "--role", "Admin"],
            "exists",
        ),
        (
            vec!["--email", "not an address", "--role", "Admin"],
            "not a valid e-mail",
        ),
    ] {
        let o = herald_user(&db, "create", &args).await;
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let users = s.ok("{ users { email } }", json!({})).await["users"].clone();
    assert_eq!(users.as_array().unwrap().len(), 2, "{users}");

    // A forgotten password: a new link from the command line.
    let o = herald_user(&db, "reset-password", &["--email", "ROOT@example.com"]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let link = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let (status, _, body) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": link_token(&link), "password": "a replacement password"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(login(&s, "root@example.com", "a replacement password")
        .await
        .is_ok());
    assert_eq!(
        console.me().await.0,
        401,
        "a new password ends the sessions"
    );
    let o = herald_user(&db, "reset-password", &["--email", "ghost@example.com"]).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user with e-mail ghost@example.com"));
    s.stop().await;
}

on_both!(the_first_admin_comes_from_the_command_line);
