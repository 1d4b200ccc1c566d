//! The audit log end to end: every configuration change leaves exactly one entry with
//! its actor, target and redacted before/after; failed changes leave none; `auditLog`
//! needs `AuditLogRead` and pages newest first. SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL.

use crate::ops;
use crate::support::{all_pages, TestDb, TestServer};
use herald::auth::Permission;
use serde_json::{json, Value};

const ENTRY: &str = "id at actor { id name } action targetType targetId before after";
const PAGE_INFO: &str = "pageInfo { hasNextPage endCursor hasPreviousPage startCursor }";

fn q_audit() -> String {
    format!("query($input: AuditLogInput) {{ auditLog(input: $input) {{ entries {{ {ENTRY} }} {PAGE_INFO} }} }}")
}

const URL_SECRET: &str = "https://hooks.example.com/T0/url-secret-4f9a";
const HEADER_SECRET: &str = "Bearer header-secret-77c1";
const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A token made straight in the store: (id, name, value).
async fn store_token(s: &TestServer, name: &str, perms: &[Permission]) -> (String, String, String) {
    let t = s
        .services()
        .tokens
        .create(name, perms, None, &[], "tests")
        .await
        .expect("token");
    (t.row.id.clone(), t.row.name.clone(), t.value)
}

async fn ok_as(s: &TestServer, token: &str, q: &str, vars: Value) -> Value {
    let r = s.gql_as(token, q, vars).await;
    assert!(r.get("errors").is_none(), "unexpected errors: {r:#}");
    r["data"].clone()
}

async fn code_as(s: &TestServer, token: &str, q: &str, vars: Value) -> String {
    let r = s.gql_as(token, q, vars).await;
    r["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {r:#}"))
        .to_string()
}

/// Every entry (newest first), read with the admin token.
async fn entries(s: &TestServer, input: Value) -> Vec<Value> {
    let d = s.ok(&q_audit(), json!({ "input": input })).await;
    d["auditLog"]["entries"].as_array().unwrap().clone()
}

/// Rows in the table, read straight from the store.
async fn stored_count(s: &TestServer) -> usize {
    let filter = herald::store::audit::AuditFilter {
        limit: 10_000,
        ..Default::default()
    };
    herald::store::audit::list(&s.services().db, &filter)
        .await
        .expect("read audit log")
        .0
        .len()
}

fn webhook(name: &str) -> Value {
    json!({
        "displayName": name,
        "outputConfig": {"customWebhook": {
            "webhookURL": URL_SECRET,
            "headers": [{"key": "Authorization", "value": HEADER_SECRET}],
            "signingSecret": SIGNING_SECRET,
        }},
        "defaultForSeverity": ["HIGH"],
    })
}

/// `before`/`after` are AWSJSON: a JSON document in a string.
fn doc(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}")),
        other => other.clone(),
    }
}

/// Every kind of audited change, made once by one token (a destination created, updated
/// and deleted, an override created, updated and deleted, a replay, a token created,
/// rotated and deleted), and the audit log read back: the set-up of the tests below.
struct Changes {
    s: TestServer,
    actor_id: String,
    actor_name: String,
    /// Every secret that passed through the changes.
    secrets: Vec<String>,
    /// The destination.
    id: String,
    /// The token created, rotated and deleted.
    new_id: String,
    /// The audit log (`pageSize` 200).
    reply: Value,
}

async fn make_every_change(db: &TestDb) -> Changes {
    let s = TestServer::start(db).await;
    let (actor_id, actor_name, tok) = store_token(&s, "audit-operator", &Permission::ALL).await;
    let mut secrets = vec![
        URL_SECRET.to_string(),
        HEADER_SECRET.into(),
        SIGNING_SECRET.into(),
    ];

    // Destinations.
    let id = ok_as(
        &s,
        &tok,
        ops::ADD_DESTINATION,
        json!({"input": webhook("Audited hook")}),
    )
    .await["addDestination"]["outputId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut update = webhook("Audited hook, renamed");
    update["outputId"] = json!(id);
    // Secrets left empty keep the stored ones.
    update["outputConfig"]["customWebhook"]["webhookURL"] = json!("");
    update["outputConfig"]["customWebhook"]["headers"][0]["value"] = json!("");
    update["outputConfig"]["customWebhook"]["signingSecret"] = json!("");
    ok_as(
        &s,
        &tok,
        ops::UPDATE_DESTINATION,
        json!({ "input": update }),
    )
    .await;

    // Detection overrides: create, update, delete.
    ok_as(
        &s,
        &tok,
        ops::PUT_OVERRIDE,
        json!({"input": {"detectionId": "audit.rule", "severity": "LOW"}}),
    )
    .await;
    ok_as(
        &s,
        &tok,
        ops::PUT_OVERRIDE,
        json!({"input": {"detectionId": "audit.rule", "severity": "HIGH", "outputIds": [id]}}),
    )
    .await;
    ok_as(&s, &tok, ops::DELETE_OVERRIDE, json!({"id": "audit.rule"})).await;

    // Replay.
    ok_as(
        &s,
        &tok,
        ops::RETRY_FAILED_DELIVERIES,
        json!({"input": {"outputId": id}}),
    )
    .await;

    // Tokens: create, rotate, delete. Their values must not be recorded.
    let created = ok_as(
        &s,
        &tok,
        ops::CREATE_TOKEN,
        json!({"input": {"name": "audited-token", "permissions": ["AlertRead"]}}),
    )
    .await;
    let new_id = created["createAPIToken"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    secrets.push(
        created["createAPIToken"]["token"]["value"]
            .as_str()
            .unwrap()
            .into(),
    );
    let rotated = ok_as(&s, &tok, ops::ROTATE_TOKEN, json!({"id": new_id})).await;
    secrets.push(
        rotated["rotateAPIToken"]["token"]["value"]
            .as_str()
            .unwrap()
            .into(),
    );
    ok_as(&s, &tok, ops::DELETE_TOKEN, json!({"id": new_id})).await;

    ok_as(&s, &tok, ops::DELETE_DESTINATION, json!({"id": id})).await;

    let reply = s.gql(&q_audit(), json!({"input": {"pageSize": 200}})).await;
    Changes {
        s,
        actor_id,
        actor_name,
        secrets,
        id,
        new_id,
        reply,
    }
}

async fn every_change_is_recorded_once(db: TestDb) {
    let Changes {
        s,
        actor_id,
        actor_name,
        id,
        new_id,
        reply,
        ..
    } = make_every_change(&db).await;
    let list = reply["data"]["auditLog"]["entries"]
        .as_array()
        .unwrap()
        .clone();
    let got: Vec<(&str, &str, &str)> = list
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["targetType"].as_str().unwrap(),
                e["targetId"].as_str().unwrap(),
            )
        })
        .collect();
    let want = vec![
        ("DELETE_DESTINATION", "DESTINATION", id.as_str()),
        ("DELETE_API_TOKEN", "API_TOKEN", new_id.as_str()),
        ("ROTATE_API_TOKEN", "API_TOKEN", new_id.as_str()),
        ("CREATE_API_TOKEN", "API_TOKEN", new_id.as_str()),
        ("RETRY_FAILED_DELIVERIES", "DESTINATION", id.as_str()),
        (
            "DELETE_DETECTION_OVERRIDE",
            "DETECTION_OVERRIDE",
            "audit.rule",
        ),
        (
            "UPDATE_DETECTION_OVERRIDE",
            "DETECTION_OVERRIDE",
            "audit.rule",
        ),
        (
            "CREATE_DETECTION_OVERRIDE",
            "DETECTION_OVERRIDE",
            "audit.rule",
        ),
        ("UPDATE_DESTINATION", "DESTINATION", id.as_str()),
        ("CREATE_DESTINATION", "DESTINATION", id.as_str()),
    ];
    assert_eq!(got, want, "{reply:#}");
    assert_eq!(stored_count(&s).await, want.len());
    assert!(!reply["data"]["auditLog"]["pageInfo"]["hasNextPage"]
        .as_bool()
        .unwrap());

    let mut at_prev = None;
    for e in &list {
        assert_eq!(e["actor"]["id"], actor_id, "{e:#}");
        assert_eq!(e["actor"]["name"], actor_name, "{e:#}");
        let at = herald::graphql::scalars::parse_aws_datetime(e["at"].as_str().unwrap()).unwrap();
        if let Some(prev) = at_prev {
            assert!(at <= prev, "newest first: {list:#?}");
        }
        at_prev = Some(at);
    }
    s.stop().await;
}

/// Neither the audit log nor its table holds a secret that passed through a change.
async fn audited_changes_hold_no_secret(db: TestDb) {
    let Changes {
        s, secrets, reply, ..
    } = make_every_change(&db).await;
    let text = reply.to_string();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "secret {secret:?} in the audit log: {reply:#}"
        );
    }
    // And not in the table either (nothing redacted only on the way out).
    let raw = herald::store::audit::list(
        &s.services().db,
        &herald::store::audit::AuditFilter {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .0;
    for row in &raw {
        let row = format!("{row:?}");
        for secret in &secrets {
            assert!(
                !row.contains(secret.as_str()),
                "secret {secret:?} stored: {row}"
            );
        }
    }
    s.stop().await;
}

/// Each entry's before and after.
async fn audited_changes_show_before_and_after(db: TestDb) {
    let Changes {
        s,
        actor_name,
        id,
        reply,
        ..
    } = make_every_change(&db).await;
    let list = reply["data"]["auditLog"]["entries"]
        .as_array()
        .unwrap()
        .clone();
    let by = |action: &str| list.iter().find(|e| e["action"] == action).unwrap();

    // Destination: after of the create, before/after of the update, before of the delete.
    let created = by("CREATE_DESTINATION");
    assert!(created["before"].is_null());
    let after = doc(&created["after"]);
    assert_eq!(after["displayName"], "Audited hook");
    assert_eq!(after["outputType"], "customwebhook");
    assert_eq!(after["defaultForSeverity"], json!(["HIGH"]));
    assert_eq!(
        after["outputConfig"],
        json!({"webhookURL": "********", "headers": [{"key": "Authorization", "value": "********"}], "signingSecret": "********", "payloadTemplate": null})
    );
    let updated = by("UPDATE_DESTINATION");
    assert_eq!(doc(&updated["before"])["displayName"], "Audited hook");
    assert_eq!(
        doc(&updated["after"])["displayName"],
        "Audited hook, renamed"
    );
    assert_eq!(
        doc(&updated["after"])["outputConfig"]["signingSecret"],
        "********"
    );
    let deleted = by("DELETE_DESTINATION");
    assert_eq!(
        doc(&deleted["before"])["displayName"],
        "Audited hook, renamed"
    );
    assert!(deleted["after"].is_null());

    // Overrides.
    let o = by("CREATE_DETECTION_OVERRIDE");
    assert!(o["before"].is_null());
    assert_eq!(doc(&o["after"])["severity"], "LOW");
    let o = by("UPDATE_DETECTION_OVERRIDE");
    assert_eq!(doc(&o["before"])["severity"], "LOW");
    assert_eq!(doc(&o["after"])["severity"], "HIGH");
    assert_eq!(doc(&o["after"])["outputIds"], json!([id]));
    let o = by("DELETE_DETECTION_OVERRIDE");
    assert_eq!(doc(&o["before"])["severity"], "HIGH");
    assert!(o["after"].is_null());

    // Replay.
    let r = by("RETRY_FAILED_DELIVERIES");
    assert_eq!(doc(&r["after"])["requeued"], 0);

    // Tokens.
    let t = by("CREATE_API_TOKEN");
    assert!(t["before"].is_null());
    let after = doc(&t["after"]);
    assert_eq!(after["name"], "audited-token");
    assert_eq!(after["permissions"], json!(["AlertRead"]));
    assert_eq!(after["createdBy"], actor_name);
    assert!(after.get("value").is_none());
    let t = by("ROTATE_API_TOKEN");
    assert!(doc(&t["before"])["rotatedAt"].is_null());
    assert!(doc(&t["after"])["rotatedAt"].is_string());
    let t = by("DELETE_API_TOKEN");
    assert_eq!(doc(&t["before"])["name"], "audited-token");
    assert!(t["after"].is_null());
    s.stop().await;
}

async fn failed_changes_record_nothing(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = s
        .ok(ops::ADD_DESTINATION, json!({"input": webhook("Kept")}))
        .await["addDestination"]["outputId"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(ops::ADD_DESTINATION, json!({"input": webhook("Other")}))
        .await;
    let before = stored_count(&s).await;
    assert_eq!(before, 2);

    let mut bad_url = webhook("Bad");
    bad_url["outputConfig"]["customWebhook"]["webhookURL"] = json!("not a url");
    let mut taken = webhook("other");
    taken["outputId"] = json!(id);
    let mut missing = webhook("Missing");
    missing["outputId"] = json!("no-such-destination");
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "addDestination with a bad URL",
            ops::ADD_DESTINATION,
            json!({"input": bad_url}),
            "BAD_USER_INPUT",
        ),
        (
            "updateDestination to a taken name",
            ops::UPDATE_DESTINATION,
            json!({"input": taken}),
            "CONFLICT",
        ),
        (
            "updateDestination of a missing one",
            ops::UPDATE_DESTINATION,
            json!({"input": missing}),
            "NOT_FOUND",
        ),
        (
            "deleteDestination of a missing one",
            ops::DELETE_DESTINATION,
            json!({"id": "no-such-destination"}),
            "NOT_FOUND",
        ),
        (
            "override with a bad dedup period",
            ops::PUT_OVERRIDE,
            json!({"input": {"detectionId": "r", "dedupPeriodMinutes": 0}}),
            "BAD_USER_INPUT",
        ),
        (
            "override naming an unknown destination",
            ops::PUT_OVERRIDE,
            json!({"input": {"detectionId": "r", "outputIds": ["nope"]}}),
            "BAD_USER_INPUT",
        ),
        (
            "deleting a missing override",
            ops::DELETE_OVERRIDE,
            json!({"id": "r"}),
            "NOT_FOUND",
        ),
        (
            "retry of a missing destination",
            ops::RETRY_FAILED_DELIVERIES,
            json!({"input": {"outputId": "nope"}}),
            "NOT_FOUND",
        ),
        (
            "token with an empty name",
            ops::CREATE_TOKEN,
            json!({"input": {"name": " ", "permissions": []}}),
            "BAD_USER_INPUT",
        ),
        (
            "rotating a missing token",
            ops::ROTATE_TOKEN,
            json!({"id": "nope"}),
            "NOT_FOUND",
        ),
        (
            "deleting a missing token",
            ops::DELETE_TOKEN,
            json!({"id": "nope"}),
            "NOT_FOUND",
        ),
    ];
    for (what, q, vars, want) in cases {
        assert_eq!(code_as(&s, &s.token, q, vars).await, want, "{what}");
        assert_eq!(stored_count(&s).await, before, "{what} recorded an entry");
    }
    // A token that may change destinations but not grant tokens: FORBIDDEN, nothing recorded.
    let (_, _, limited) =
        store_token(&s, "limited", &[Permission::OrganizationApiTokenModify]).await;
    let code = code_as(
        &s,
        &limited,
        ops::CREATE_TOKEN,
        json!({"input": {"name": "x", "permissions": ["AlertRead"]}}),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(
        code_as(
            &s,
            &limited,
            ops::ADD_DESTINATION,
            json!({"input": webhook("Nope")})
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(stored_count(&s).await, before);
    s.stop().await;
}

async fn audit_log_is_guarded_filtered_and_paged(db: TestDb) {
    let s = TestServer::start(&db).await;
    // Without AuditLogRead: FORBIDDEN, naming the permission, no data.
    let (writer_id, _, writer) = store_token(&s, "rule-writer", &[Permission::RuleModify]).await;
    let r = s.gql_as(&writer, &q_audit(), json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r:#}");
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("AuditLogRead"));
    assert!(
        r["data"].is_null() || r["data"]["auditLog"].is_null(),
        "{r:#}"
    );
    // AuditLogRead alone is enough.
    let (_, _, reader) = store_token(&s, "auditor", &[Permission::AuditLogRead]).await;
    ok_as(&s, &reader, &q_audit(), json!({})).await;

    // 7 entries by the writer, 1 by the admin.
    for i in 0..7 {
        ok_as(
            &s,
            &writer,
            ops::PUT_OVERRIDE,
            json!({"input": {"detectionId": format!("rule.{i}"), "severity": "LOW"}}),
        )
        .await;
    }
    let dest = s
        .ok(
            ops::ADD_DESTINATION,
            json!({"input": webhook("Admin hook")}),
        )
        .await["addDestination"]["outputId"]
        .as_str()
        .unwrap()
        .to_string();

    // Pages of 3 (newest first), following endCursor.
    let mut seen: Vec<String> = Vec::new();
    let pages = all_pages(|cursor| {
        let (s, reader) = (&s, &reader);
        async move {
            let vars = json!({"input": {"pageSize": 3, "cursor": cursor}});
            ok_as(s, reader, &q_audit(), vars).await["auditLog"].clone()
        }
    })
    .await;
    assert_eq!(pages.len(), 3);
    for (i, page) in pages.iter().enumerate() {
        let es = page["entries"].as_array().unwrap();
        assert_eq!(page["pageInfo"]["hasPreviousPage"], json!(i > 0));
        for e in es {
            let target = e["targetId"].as_str().unwrap().to_string();
            assert!(!seen.contains(&target), "repeated {target}");
            seen.push(target);
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            assert_eq!(es.len(), 2);
        } else {
            assert_eq!(es.len(), 3);
        }
    }
    let mut want: Vec<String> = (0..7).rev().map(|i| format!("rule.{i}")).collect();
    want.insert(0, dest.clone());
    assert_eq!(seen, want);

    // Filters.
    let by_actor = entries(&s, json!({"actorId": writer_id, "pageSize": 100})).await;
    assert_eq!(by_actor.len(), 7);
    let by_type = entries(&s, json!({"targetType": "DESTINATION"})).await;
    assert_eq!(by_type.len(), 1);
    assert_eq!(by_type[0]["targetId"], dest);
    let by_target = entries(&s, json!({"targetId": "rule.3"})).await;
    assert_eq!(by_target.len(), 1);
    assert_eq!(by_target[0]["action"], "CREATE_DETECTION_OVERRIDE");
    let all = entries(&s, json!({"pageSize": 100})).await;
    let newest = all[0]["at"].as_str().unwrap().to_string();
    let oldest = all.last().unwrap()["at"].as_str().unwrap().to_string();
    assert_eq!(
        entries(&s, json!({"from": newest, "pageSize": 100}))
            .await
            .len(),
        all.iter().filter(|e| e["at"] == json!(newest)).count()
    );
    assert!(entries(&s, json!({"to": oldest})).await.is_empty());
    assert_eq!(
        entries(&s, json!({"from": oldest, "pageSize": 100}))
            .await
            .len(),
        8
    );
    assert!(entries(&s, json!({"from": "2999-01-01T00:00:00Z"}))
        .await
        .is_empty());

    // Bounds.
    for input in [
        json!({"pageSize": 0}),
        json!({"pageSize": 201}),
        json!({"cursor": "garbage"}),
    ] {
        assert_eq!(
            code_as(&s, &reader, &q_audit(), json!({ "input": input })).await,
            "BAD_USER_INPUT",
            "{input}"
        );
    }
    s.stop().await;
}

/// `herald token create|revoke` are audited as `herald-cli`.
async fn command_line_token_changes_are_recorded(db: TestDb) {
    let args = crate::support::test_args(&db);
    db.ensure_exists();
    let cli = |a: &'static [&'static str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(a)
            .env("HERALD_DATABASE_URL", &db.url)
            .env("HERALD_JWT_SECRET", args.db.jwt_secret.clone().unwrap())
            .env("HERALD_ENCRYPTION_KEY", crate::support::TEST_ENCRYPTION_KEY)
            .env("HERALD_LOG", "warn,sqlx::query=error")
            .output()
    };
    let out = cli(&[
        "token",
        "create",
        "--name",
        "cli-made",
        "--permission",
        "AlertRead",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let s = TestServer::start(&db).await;
    let list = entries(&s, json!({"actorId": "herald-cli"})).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["action"], "CREATE_API_TOKEN");
    assert_eq!(list[0]["actor"]["name"], "herald-cli");
    assert_eq!(doc(&list[0]["after"])["name"], "cli-made");
    assert!(!serde_json::to_string(&list).unwrap().contains(&value));
    let id = list[0]["targetId"].as_str().unwrap().to_string();
    s.stop().await;

    let revoke = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["token", "revoke", &id])
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_JWT_SECRET", args.db.jwt_secret.clone().unwrap())
        .env("HERALD_ENCRYPTION_KEY", crate::support::TEST_ENCRYPTION_KEY)
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .output()
        .await
        .unwrap();
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    let s = TestServer::start(&db).await;
    let list = entries(&s, json!({"actorId": "herald-cli"})).await;
    assert_eq!(list.len(), 2, "{list:#?}");
    assert_eq!(list[0]["action"], "DELETE_API_TOKEN");
    assert_eq!(list[0]["targetId"], id.as_str());
    assert_eq!(doc(&list[0]["before"])["name"], "cli-made");
    s.stop().await;
}

/// Tokens that held every permission before `AuditLogRead` existed get it on upgrade.
async fn every_permission_tokens_get_audit_log_read_on_upgrade(db: TestDb) {
    use migration::{Migrator, MigratorTrait};
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    // The schema as it was before the permission (the first two migrations).
    Migrator::up(&conn, Some(2)).await.unwrap();
    let old_all = r#"["AlertRead","AlertModify","DestinationRead","DestinationModify","RuleRead","RuleModify","OrganizationAPITokenRead","OrganizationAPITokenModify"]"#;
    for (id, perms) in [("old-admin", old_all), ("old-reader", r#"["AlertRead"]"#)] {
        use herald::store::entities::api_token;
        use sea_orm::{EntityTrait, NotSet};
        let mut row: api_token::ActiveModel = herald::store::tokens::TokenRow {
            id: id.into(),
            name: id.into(),
            current_jti: "j".into(),
            permissions: perms.into(),
            allowed_cidrs: "[]".into(),
            created_at: 1,
            created_by: "tests".into(),
            expires_at: None,
            last_used_at: None,
            rotated_at: None,
            revoked_at: None,
            parent_id: None,
            created_by_actor: None,
            rotated_by_actor: None,
        }
        .into();
        // Columns added by later migrations are not there yet.
        row.created_by_actor = NotSet;
        row.rotated_by_actor = NotSet;
        api_token::Entity::insert(row).exec(&conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let s = TestServer::start(&db).await;
    let tokens = &s.services().tokens;
    let perms = |id: &'static str| async move {
        herald::auth::permissions_of(&tokens.get(id).await.unwrap().unwrap())
    };
    assert_eq!(perms("old-admin").await, Permission::ALL.to_vec());
    assert_eq!(perms("old-reader").await, vec![Permission::AlertRead]);
    // The upgraded token reads the audit log.
    let admin = tokens.rotate("old-admin").await.unwrap().value;
    ok_as(&s, &admin, &q_audit(), json!({})).await;
    s.stop().await;
}

on_both!(
    every_permission_tokens_get_audit_log_read_on_upgrade,
    command_line_token_changes_are_recorded,
    every_change_is_recorded_once,
    audited_changes_hold_no_secret,
    audited_changes_show_before_and_after,
    failed_changes_record_nothing,
    audit_log_is_guarded_filtered_and_paged,
);
