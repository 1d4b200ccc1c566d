//! Secrets stay where they were entered: changing where a destination sends requires
//! its secrets again; secrets and the JWT signing secret are encrypted at rest (the raw
//! database holds none in clear); plaintext rows from before are sealed on start; a
//! wrong key refuses to start; `herald secrets rotate-key` re-encrypts (real processes).

use crate::ops;
use crate::support::process::{self, Herald};
use crate::support::*;
use base64::{engine::general_purpose::STANDARD, Engine};
use herald::crypto::Key;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

const PD_KEY: &str = "0123456789abcdef0123456789abcdef";
const PD_KEY_2: &str = "fedcba9876543210fedcba9876543210";

fn update_input(id: &str, name: &str, config: Value, severities: &[&str]) -> Value {
    json!({"input": {"outputId": id, "displayName": name, "outputConfig": config, "defaultForSeverity": severities}})
}

/// The stored config, secrets opened (what the dispatcher would send with).
async fn opened_config(s: &TestServer, id: &str) -> Value {
    let svc = s.services();
    herald::store::destinations::get(&svc.db, &svc.cipher, &id.into())
        .await
        .unwrap()
        .unwrap()
        .destination
        .config
}

async fn changing_a_target_requires_the_secrets_again(db: TestDb) {
    let s = TestServer::start(&db).await;
    let pd_config =
        |key: &str, url: &str| json!({"pagerDuty": {"integrationKey": key, "apiUrl": url}});
    let pd = s
        .add_destination(NewDestination {
            name: "PD",
            config: pd_config(PD_KEY, "https://events.pagerduty.com"),
            severities: &["HIGH"],
        })
        .await;

    // Only apiUrl changes, the key left empty or sent back masked: refused, nothing stored.
    for key in ["", "********"] {
        let (code, msg) = s
            .err(
                ops::UPDATE_DESTINATION,
                update_input(
                    &pd,
                    "PD",
                    pd_config(key, "https://attacker.example"),
                    &["HIGH"],
                ),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{msg}");
        assert_eq!(
            msg,
            "changing apiUrl requires re-entering the secrets: integrationKey"
        );
        let c = opened_config(&s, &pd).await;
        assert_eq!(c["apiUrl"], "https://events.pagerduty.com");
        assert_eq!(c["integrationKey"], PD_KEY);
    }
    // previewPayload with the changed target does not use the stored key either.
    let (code, msg) = s
        .err(ops::PREVIEW_PAYLOAD, json!({"input": {"outputId": pd, "outputConfig": pd_config("", "https://attacker.example")}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");
    assert!(msg.contains("integrationKey"), "{msg}");
    // A non-target change with the secret left empty keeps it.
    s.ok(
        ops::UPDATE_DESTINATION,
        update_input(
            &pd,
            "PD",
            pd_config("", "https://events.pagerduty.com"),
            &["LOW", "HIGH"],
        ),
    )
    .await;
    assert_eq!(opened_config(&s, &pd).await["integrationKey"], PD_KEY);
    // The secret entered again with the new target: accepted.
    s.ok(
        ops::UPDATE_DESTINATION,
        update_input(
            &pd,
            "PD",
            pd_config(PD_KEY_2, "https://other.example"),
            &["HIGH"],
        ),
    )
    .await;
    let c = opened_config(&s, &pd).await;
    assert_eq!(
        (c["apiUrl"].as_str(), c["integrationKey"].as_str()),
        (Some("https://other.example"), Some(PD_KEY_2))
    );
    s.stop().await;
}

/// Jira: orgDomain and apiUrl are both targets; a template-like field is not.
async fn changing_a_jira_target_requires_the_secrets_again(db: TestDb) {
    let s = TestServer::start(&db).await;
    // Jira: orgDomain and apiUrl are both targets; a template-like field is not.
    let jira_config = |domain: &str, key: &str, labels: &[&str], api: Option<&str>| json!({"jira": {"orgDomain": domain, "projectKey": "SEC", "userName": "bot@acme.com", "apiKey": key, "labels": labels, "apiUrl": api}});
    let jira = s
        .add_destination(NewDestination {
            name: "Jira",
            config: jira_config("acme.atlassian.net", "jira-api-token-1", &[], None),
            severities: &["HIGH"],
        })
        .await;
    let (code, msg) = s
        .err(
            ops::UPDATE_DESTINATION,
            update_input(
                &jira,
                "Jira",
                jira_config("acme.atlassian.net", "", &[], Some("https://evil.example")),
                &["HIGH"],
            ),
        )
        .await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "BAD_USER_INPUT",
            "changing apiUrl requires re-entering the secrets: apiKey"
        )
    );
    let (_, msg) = s
        .err(
            ops::UPDATE_DESTINATION,
            update_input(
                &jira,
                "Jira",
                jira_config("evil.atlassian.net", "", &[], None),
                &["HIGH"],
            ),
        )
        .await;
    assert_eq!(
        msg,
        "changing orgDomain requires re-entering the secrets: apiKey"
    );
    assert_eq!(
        opened_config(&s, &jira).await["orgDomain"],
        "acme.atlassian.net"
    );
    s.ok(
        ops::UPDATE_DESTINATION,
        update_input(
            &jira,
            "Jira",
            jira_config("acme.atlassian.net", "", &["sec"], None),
            &["HIGH"],
        ),
    )
    .await;
    assert_eq!(opened_config(&s, &jira).await["apiKey"], "jira-api-token-1");
    s.ok(
        ops::UPDATE_DESTINATION,
        update_input(
            &jira,
            "Jira",
            jira_config(
                "acme.atlassian.net",
                "jira-api-token-2",
                &[],
                Some("https://jira.example"),
            ),
            &["HIGH"],
        ),
    )
    .await;
    assert_eq!(opened_config(&s, &jira).await["apiKey"], "jira-api-token-2");
    s.stop().await;
}

/// A custom webhook's URL is itself a secret: with a new one, its header values and
/// signing secret must be entered again.
async fn changing_a_webhook_url_requires_its_other_secrets_again(db: TestDb) {
    let s = TestServer::start(&db).await;
    // A custom webhook's URL is itself a secret: a new one was entered, but the header
    // value and the signing secret must be too.
    let hook = |url: &str, header: &str, signing: &str| json!({"customWebhook": {"webhookURL": url, "headers": [{"key": "X-Token", "value": header}], "signingSecret": signing}});
    let wh = s
        .add_destination(NewDestination {
            name: "Hook",
            config: hook(
                "https://a.example/hook",
                "tok-1",
                "whsec_c2VjcmV0LXNpZ25pbmcta2V5c2VjcmV0LXNpZ25pbmc=",
            ),
            severities: &["HIGH"],
        })
        .await;
    let (code, msg) = s
        .err(
            ops::UPDATE_DESTINATION,
            update_input(
                &wh,
                "Hook",
                hook("https://b.example/hook", "", ""),
                &["HIGH"],
            ),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(msg, "changing webhookURL requires re-entering the secrets: headers[X-Token].value, signingSecret");
    s.ok(
        ops::UPDATE_DESTINATION,
        update_input(&wh, "Hook", hook("********", "", ""), &["LOW"]),
    )
    .await;
    let c = opened_config(&s, &wh).await;
    assert_eq!(c["webhookURL"], "https://a.example/hook");
    assert_eq!(c["headers"][0]["value"], "tok-1");
    s.stop().await;
}

/// Raw text of the two tables that hold secrets, read with plain SQL.
async fn raw_dump(db: &TestDb) -> (Vec<String>, Vec<String>) {
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    let backend = conn.get_database_backend();
    let mut out = Vec::new();
    for (sql, col) in [
        ("SELECT config FROM destinations", "config"),
        ("SELECT value FROM settings", "value"),
    ] {
        let rows = conn
            .query_all(Statement::from_string(backend, sql))
            .await
            .unwrap();
        out.push(
            rows.iter()
                .map(|r| r.try_get::<String>("", col).unwrap())
                .collect::<Vec<_>>(),
        );
    }
    conn.close().await.ok();
    let settings = out.pop().unwrap();
    (out.pop().unwrap(), settings)
}

fn assert_absent(haystack: &str, secret: &str, what: &str) {
    for form in [secret.to_string(), STANDARD.encode(secret)] {
        assert!(
            !haystack.contains(&form),
            "{what} holds {secret:?} (or its base64) in clear"
        );
    }
}

async fn no_secret_is_stored_in_clear(db: TestDb) {
    let rx = Receiver::start().await;
    // A JWT secret generated by the server (not configured).
    let s = TestServer::start_with(&db, |a| a.db.jwt_secret = None).await;
    let hook_url = format!("{}/hooks/T000/B000/url-secret-4f1d", rx.url);
    let wh = s.add_destination(NewDestination { name: "Hook", config: json!({"customWebhook": {"webhookURL": hook_url, "headers": [{"key": "X-Token", "value": "header-secret-9a7c"}, {"key": "X-Other", "value": "header-secret-2b8e"}], "signingSecret": "whsec_c2lnbmluZy1zZWNyZXQtNWU2ZnNpZ25pbmctc2VjcmU="}}), severities: &["HIGH"] })
    .await;
    s.add_destination(NewDestination { name: "Jira", config: json!({"jira": {"orgDomain": "acme.atlassian.net", "projectKey": "SEC", "userName": "bot@acme.com", "apiKey": "jira-api-secret-7d3a"}}), severities: &["HIGH"] }).await;
    let sa_key = json!({"type": "service_account", "project_id": "acme", "private_key_id": "kid-1", "private_key": TEST_RSA_PRIVATE, "client_email": "h@acme.iam.gserviceaccount.com"}).to_string();
    s.add_destination(NewDestination { name: "PubSub", config: json!({"googlePubSub": {"projectId": "acme", "topicId": "alerts", "serviceAccountKey": sa_key}}), severities: &["HIGH"] }).await;
    s.add_destination(NewDestination {
        name: "PD",
        config: json!({"pagerDuty": {"integrationKey": PD_KEY}}),
        severities: &["HIGH"],
    })
    .await;

    // The sealed values still open: the webhook is sent with its real URL and header.
    let sent = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [wh]})).await;
    assert_eq!(sent["sendTestAlert"][0]["success"], true, "{sent}");
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].path, "/hooks/T000/B000/url-secret-4f1d");
    assert_eq!(got[0].header("x-token"), Some("header-secret-9a7c"));
    assert!(got[0].header("webhook-signature").is_some());

    let (configs, settings) = raw_dump(&db).await;
    assert_eq!(configs.len(), 4);
    let all = format!("{}\n{}", configs.join("\n"), settings.join("\n"));
    let private_key_line = TEST_RSA_PRIVATE.lines().nth(1).unwrap();
    for secret in [
        "url-secret-4f1d",
        "header-secret-9a7c",
        "header-secret-2b8e",
        "c2lnbmluZy1zZWNyZXQtNWU2ZnNpZ25pbmctc2VjcmU",
        "jira-api-secret-7d3a",
        private_key_line,
        "h@acme.iam.gserviceaccount.com",
        PD_KEY,
    ] {
        assert_absent(&all, secret, "the destinations table");
    }
    // Non-secret fields stay readable; each secret slot is one sealed value.
    assert!(all.contains("acme.atlassian.net") && all.contains("X-Token"));
    assert!(all.contains("enc:v1:"));
    // The generated JWT secret: sealed, and found nowhere in clear.
    assert_eq!(settings.len(), 1, "{settings:?}");
    assert!(settings[0].starts_with("enc:v1:"), "{}", settings[0]);
    let jwt = Key::parse(TEST_ENCRYPTION_KEY)
        .unwrap()
        .cipher()
        .decrypt(&settings[0], "settings/jwt_secret")
        .unwrap();
    assert!(jwt.len() >= 32);
    assert_absent(&all, &jwt, "the database");
    // SQLite: not in the file's bytes either (free pages, WAL included).
    if !db.is_postgres {
        let path = herald::crypto::sqlite_file(&db.url).unwrap();
        for file in [path.clone(), format!("{path}-wal")] {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for secret in [
                "url-secret-4f1d",
                "header-secret-9a7c",
                "jira-api-secret-7d3a",
                PD_KEY,
                &jwt,
            ] {
                assert!(!text.contains(secret), "{file} holds {secret:?} in clear");
            }
        }
    }
    s.stop().await;
}

async fn exec(db: &TestDb, sql: &str) {
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    conn.execute_unprepared(sql).await.unwrap();
    conn.close().await.ok();
}

async fn plaintext_rows_from_before_are_sealed_on_start(db: TestDb) {
    let rx = Receiver::start().await;
    let s = TestServer::start_with(&db, |a| a.db.jwt_secret = None).await;
    let wh = s
        .add_destination(NewDestination {
            name: "Hook",
            config: json!({"customWebhook": {"webhookURL": format!("{}/h", rx.url)}}),
            severities: &["HIGH"],
        })
        .await;
    s.stop().await;
    // As a database from before encryption at rest holds them.
    let plain = json!({"webhookURL": format!("{}/legacy-path", rx.url), "headers": [{"key": "X-Token", "value": "legacy-header-secret"}]});
    exec(
        &db,
        &format!("UPDATE destinations SET config = '{plain}' WHERE id = '{wh}'"),
    )
    .await;
    exec(
        &db,
        "UPDATE settings SET value = 'legacy-jwt-secret-0123456789abcdef' WHERE key = 'jwt_secret'",
    )
    .await;

    let s = TestServer::start_with(&db, |a| a.db.jwt_secret = None).await;
    let (configs, settings) = raw_dump(&db).await;
    let all = format!("{}\n{}", configs.join("\n"), settings.join("\n"));
    for secret in [
        "legacy-path",
        "legacy-header-secret",
        "legacy-jwt-secret-0123456789abcdef",
    ] {
        assert_absent(&all, secret, "the database after the upgrade");
    }
    let cipher = Key::parse(TEST_ENCRYPTION_KEY).unwrap().cipher();
    assert_eq!(
        cipher.decrypt(&settings[0], "settings/jwt_secret").unwrap(),
        "legacy-jwt-secret-0123456789abcdef"
    );
    // Read back through the API: the upgraded row delivers with its secrets.
    let sent = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [wh]})).await;
    assert_eq!(sent["sendTestAlert"][0]["success"], true, "{sent}");
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].path, "/legacy-path");
    assert_eq!(got[0].header("x-token"), Some("legacy-header-secret"));
    s.stop().await;
}

async fn a_wrong_key_refuses_to_start_naming_the_destination(db: TestDb) {
    let s = TestServer::start(&db).await;
    let wh = s
        .add_destination(NewDestination {
            name: "Hook",
            config: json!({"customWebhook": {"webhookURL": "https://a.example/secret-path"}}),
            severities: &["HIGH"],
        })
        .await;
    s.stop().await;
    let mut args = test_args(&db);
    args.db.encryption_key = Some(Key::generate().to_base64());
    let err = match herald::app::start(args).await {
        Ok(_) => panic!("started with the wrong key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(&wh) && err.contains("cannot be decrypted"),
        "{err}"
    );
    let mut args = test_args(&db);
    args.db.encryption_key = Some("c2hvcnQ=".into());
    let err = herald::app::start(args)
        .await
        .err()
        .expect("a short key is refused");
    assert!(format!("{err:#}").contains("exactly 32 bytes"), "{err:#}");
}

// --- herald secrets rotate-key, through the real binary -------------------------------

fn herald_with_key(db: &TestDb, key: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    c.env("HERALD_DATABASE_URL", &db.url)
        .env_remove("HERALD_JWT_SECRET")
        .env_remove("HERALD_ENCRYPTION_KEY_FILE")
        .env_remove("HERALD_NEW_ENCRYPTION_KEY")
        .env("HERALD_ALLOW_PRIVATE_NETWORKS", "true")
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .stdin(Stdio::null());
    match key {
        Some(k) => c.env("HERALD_ENCRYPTION_KEY", k),
        None => c.env_remove("HERALD_ENCRYPTION_KEY"),
    };
    c
}

async fn serve(db: &TestDb, key: Option<&str>) -> Herald {
    let mut cmd = herald_with_key(db, key);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    Herald::spawn(cmd, process::free_port()).await
}

fn run(mut c: Command) -> (bool, String, String) {
    let out = c.output().expect("run herald");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn rotate_key_re_encrypts_everything(db: TestDb) {
    let rx = Receiver::start().await;
    // SQLite: the generated key file; PostgreSQL: the key in the environment.
    let old_key = db.is_postgres.then_some(TEST_ENCRYPTION_KEY);
    let p = serve(&db, old_key).await;
    let key_file = herald::crypto::sqlite_file(&db.url).map(|f| format!("{f}.key"));
    let old_b64 = match &key_file {
        Some(f) => std::fs::read_to_string(f)
            .expect("the key file was generated")
            .trim()
            .to_string(),
        None => TEST_ENCRYPTION_KEY.to_string(),
    };
    let (ok, token, err) = run({
        let mut c = herald_with_key(&db, old_key);
        c.args(["token", "create", "--name", "rotation"]);
        c
    });
    assert!(ok, "{err}");
    let d = p.api(&token).ok(ops::ADD_DESTINATION, json!({"input": {"displayName": "Hook", "outputConfig": {"customWebhook": {"webhookURL": format!("{}/rotated-path", rx.url), "headers": [{"key": "X-Token", "value": "rotated-header-secret"}]}}, "defaultForSeverity": ["HIGH"]}})).await;
    let id = d["addDestination"]["outputId"]
        .as_str()
        .unwrap()
        .to_string();
    p.stop().await;

    let (ok, out, err) = run({
        let mut c = herald_with_key(&db, old_key);
        c.args(["secrets", "rotate-key"]);
        c
    });
    assert!(ok, "rotate-key failed: {err}");
    assert!(
        err.contains("re-encrypted 2 destination secret(s) and 1 setting(s)"),
        "{err}"
    );
    let new_b64 = match &key_file {
        Some(f) => {
            assert!(
                out.is_empty(),
                "the key went to the key file, not stdout: {out}"
            );
            let k = std::fs::read_to_string(f).unwrap().trim().to_string();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(f).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            k
        }
        None => out.clone(),
    };
    assert_ne!(new_b64, old_b64);
    Key::parse(&new_b64).expect("a valid new key");
    let new_key = db.is_postgres.then_some(new_b64.as_str());

    // Started with the new key: the same token (JWT secret carried over) and the same
    // destination secrets.
    let p = serve(&db, new_key).await;
    let sent = p
        .api(&token)
        .ok(ops::SEND_TEST_ALERT, json!({"ids": [id]}))
        .await;
    assert_eq!(sent["sendTestAlert"][0]["success"], true, "{sent}");
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].path, "/rotated-path");
    assert_eq!(got[0].header("x-token"), Some("rotated-header-secret"));
    p.stop().await;

    // The old key no longer opens anything.
    let (ok, _, err) = run({
        let mut c = herald_with_key(&db, Some(&old_b64));
        c.args(["token", "list"]);
        c
    });
    assert!(!ok, "the old key still works");
    assert!(err.contains("cannot be decrypted"), "{err}");
    let (configs, _) = raw_dump(&db).await;
    let old = Key::parse(&old_b64).unwrap().cipher();
    let sealed: Value = serde_json::from_str(&configs[0]).unwrap();
    let header = sealed["headers"][0]["value"].as_str().unwrap();
    let ctx = format!("destination/{id}/headers[X-Token].value");
    assert!(old.decrypt(header, &ctx).is_err());
    assert_eq!(
        Key::parse(&new_b64)
            .unwrap()
            .cipher()
            .decrypt(header, &ctx)
            .unwrap(),
        "rotated-header-secret"
    );
}

async fn rotate_key_with_a_chosen_key_and_after_an_interrupted_rotation(db: TestDb) {
    let Some(file) = herald::crypto::sqlite_file(&db.url) else {
        return; // key files are SQLite's
    };
    let key_file = format!("{file}.key");
    let s = TestServer::start_with(&db, |a| {
        a.db.encryption_key = None;
        a.db.jwt_secret = None;
    })
    .await;
    let wh = s
        .add_destination(NewDestination {
            name: "Hook",
            config: json!({"customWebhook": {"webhookURL": "https://a.example/chosen-secret"}}),
            severities: &["HIGH"],
        })
        .await;
    s.stop().await;
    // A pending key left by an interrupted rotation is never overwritten or deleted.
    let pending = format!("{key_file}.new");
    std::fs::write(&pending, Key::generate().to_base64()).unwrap();
    let (ok, _, err) = run({
        let mut c = herald_with_key(&db, None);
        c.args(["secrets", "rotate-key"]);
        c
    });
    assert!(!ok && err.contains("interrupted"), "{err}");
    assert!(std::path::Path::new(&pending).exists());
    std::fs::remove_file(&pending).unwrap();
    // A chosen key replaces the key file.
    let chosen = Key::generate().to_base64();
    let (ok, out, err) = run({
        let mut c = herald_with_key(&db, None);
        c.args(["secrets", "rotate-key", "--new-key", &chosen]);
        c
    });
    assert!(ok, "{err}");
    assert!(out.is_empty());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), chosen);
    assert!(!std::path::Path::new(&pending).exists());
    let s = TestServer::start_with(&db, |a| {
        a.db.encryption_key = None;
        a.db.jwt_secret = None;
    })
    .await;
    assert_eq!(
        opened_config(&s, &wh).await["webhookURL"],
        "https://a.example/chosen-secret"
    );
    s.stop().await;
}

async fn postgres_requires_a_key(db: TestDb) {
    if !db.is_postgres {
        return;
    }
    let (ok, _, err) = run({
        let mut c = herald_with_key(&db, None);
        c.args(["token", "list"]);
        c
    });
    assert!(!ok);
    assert!(
        err.contains("HERALD_ENCRYPTION_KEY is required with PostgreSQL"),
        "{err}"
    );
}

on_both!(
    changing_a_target_requires_the_secrets_again,
    changing_a_jira_target_requires_the_secrets_again,
    changing_a_webhook_url_requires_its_other_secrets_again,
    no_secret_is_stored_in_clear,
    plaintext_rows_from_before_are_sealed_on_start,
    a_wrong_key_refuses_to_start_naming_the_destination,
    rotate_key_re_encrypts_everything,
    rotate_key_with_a_chosen_key_and_after_an_interrupted_rotation,
    postgres_requires_a_key,
);
