//! End-to-end tests of the foundation API: the real server on a free port, a real HTTP
//! client, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use crate::ops;
use crate::support::{Receiver, TestDb, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

const MASK: &str = "********";

const DEST: &str = "outputId outputType displayName outputConfig { customWebhook { webhookURL headers { key value } signingSecret } } defaultForSeverity alertTypes logTypes createdBy creationTime lastModifiedBy lastModifiedTime";
const OVR: &str = "detectionId displayName outputIds severity dedupPeriodMinutes runbook tags createdBy creationTime lastModifiedBy lastModifiedTime";

const ALL_ALERT_TYPES: [&str; 8] = [
    "RULE",
    "RULE_ERROR",
    "SCHEDULED_RULE",
    "SCHEDULED_RULE_ERROR",
    "POLICY",
    "CORRELATION_RULE",
    "CORRELATION_RULE_ERROR",
    "SYSTEM_ERROR",
];

fn q_destinations() -> String {
    format!("{{ destinations {{ {DEST} }} }}")
}
fn q_destination() -> String {
    format!("query($id: ID!) {{ destination(id: $id) {{ {DEST} }} }}")
}
fn m_update() -> String {
    format!(
        "mutation($input: DestinationInput!) {{ updateDestination(input: $input) {{ {DEST} }} }}"
    )
}
fn q_override() -> String {
    format!("query($id: ID!) {{ detectionOverride(detectionId: $id) {{ {OVR} }} }}")
}
fn m_put_override() -> String {
    format!("mutation($input: DetectionOverrideInput!) {{ putDetectionOverride(input: $input) {{ {OVR} }} }}")
}

/// Everything the configuration API stores, as the API shows it.
async fn config_snapshot(s: &TestServer) -> Value {
    s.ok(
        &format!("{{ destinations {{ {DEST} }} detectionOverrides {{ {OVR} }} }}"),
        json!({}),
    )
    .await
}

/// An `AWSDateTime` output: RFC 3339 in UTC with `Z`, parseable by both grammars.
fn assert_aws_datetime(v: &Value, what: &str) -> chrono::DateTime<chrono::Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    assert!(s.ends_with('Z'), "{what} {s:?} should end in Z");
    herald::graphql::scalars::parse_aws_datetime(s).unwrap_or_else(|e| panic!("{what} {s:?}: {e}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{what} {s:?} is not RFC 3339: {e}"))
        .with_timezone(&chrono::Utc)
}

fn assert_no_secret(reply: &Value, secrets: &[&str]) {
    let text = reply.to_string();
    for s in secrets {
        assert!(!text.contains(s), "secret {s:?} leaked in {reply:#}");
    }
}

fn webhook_input(name: &str, url: &str) -> Value {
    json!({"displayName": name, "outputConfig": {"customWebhook": {"webhookURL": url}}, "defaultForSeverity": ["HIGH"]})
}

/// The stored record, read straight from the store (secrets unredacted).
async fn stored_destination(
    s: &TestServer,
    id: &str,
) -> herald::store::destinations::DestinationRecord {
    herald::store::destinations::get(&s.services().db, &s.services().cipher, &id.into())
        .await
        .expect("store read")
        .expect("stored destination")
}

// ---------------------------------------------------------------------------------------
// HTTP surface and authentication
// ---------------------------------------------------------------------------------------

async fn http_surface_and_authentication(db: TestDb) {
    let s = TestServer::start(&db).await;
    let c = &s.client;

    // Health.
    let r = c.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");

    // GraphiQL on GET from a browser (Accept: text/html), for both paths, without a token.
    for path in ["/graphql", "/public/graphql"] {
        let r = c
            .get(format!("{}{path}", s.url))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/html"), "GET {path}: content-type {ct}");
        let body = r.text().await.unwrap();
        assert!(
            body.to_lowercase().contains("graphiql"),
            "GET {path} is not GraphiQL: {body}"
        );
    }

    let query = json!({"query": ops::DESTINATION_IDS});
    let post = |path: &str| c.post(format!("{}{path}", s.url)).json(&query);

    // Refused: no token, empty token, garbage, a JWT-looking forgery, a wrong scheme.
    let forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiJ4In0.c2lnbmF0dXJl";
    let refused = vec![
        ("no token", post("/graphql")),
        ("empty X-API-Key", post("/graphql").header("x-api-key", "")),
        (
            "garbage X-API-Key",
            post("/graphql").header("x-api-key", "garbage"),
        ),
        (
            "forged X-API-Key",
            post("/graphql").header("x-api-key", forged),
        ),
        ("garbage Bearer", post("/graphql").bearer_auth("garbage")),
        (
            "Basic scheme",
            post("/graphql").header("authorization", format!("Basic {}", s.token)),
        ),
        ("no token on the alias", post("/public/graphql")),
        (
            "garbage on the alias",
            post("/public/graphql").header("x-api-key", "nope"),
        ),
    ];
    for (what, req) in refused {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}: {body}"
        );
        assert!(body["data"].is_null(), "{what}: {body}");
    }

    // Accepted: X-API-Key and Bearer, on both paths.
    let accepted = vec![
        ("X-API-Key", post("/graphql").header("x-api-key", &s.token)),
        ("Bearer", post("/graphql").bearer_auth(&s.token)),
        (
            "alias with X-API-Key",
            post("/public/graphql").header("x-api-key", &s.token),
        ),
        (
            "alias with Bearer",
            post("/public/graphql").bearer_auth(&s.token),
        ),
    ];
    for (what, req) in accepted {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let body: Value = r.json().await.unwrap();
        assert!(body.get("errors").is_none(), "{what}: {body}");
        assert_eq!(body["data"]["destinations"], json!([]), "{what}");
    }

    // The alias serves the same schema: a mutation through it is visible on /graphql.
    let r: Value = c
        .post(format!("{}/public/graphql", s.url))
        .bearer_auth(&s.token)
        .json(&json!({"query": ops::ADD_DESTINATION_DETAILED, "variables": {"input": webhook_input("Via Alias", "https://example.test/a")}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r.get("errors").is_none(), "{r}");
    let d = s.ok(ops::DESTINATION_NAMES, json!({})).await;
    assert_eq!(d["destinations"], json!([{"displayName": "Via Alias"}]));

    // A revoked token is refused.
    let issued = s
        .services()
        .tokens
        .create(
            "short-lived",
            &herald::auth::Permission::ALL,
            None,
            &[],
            "tests",
        )
        .await
        .unwrap();
    assert!(s
        .gql_as(&issued.value, ops::DESTINATION_IDS, json!({}))
        .await
        .get("errors")
        .is_none());
    assert!(s.services().tokens.revoke(&issued.row.id).await.unwrap());
    let r = post("/graphql")
        .header("x-api-key", &issued.value)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "revoked token");

    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Destinations
// ---------------------------------------------------------------------------------------

/// "Ops Webhook": a custom webhook with every field (secrets in its URL, headers and
/// signing secret), added through the API; the set-up of the destination CRUD tests.
struct OpsWebhook {
    s: TestServer,
    rx: Receiver,
    url: String,
    signing: &'static str,
    secrets: [&'static str; 4],
    /// The `addDestination` reply.
    reply: Value,
    added: Value,
    id: String,
}

async fn add_ops_webhook(db: &TestDb) -> OpsWebhook {
    let s = TestServer::start(db).await;
    let rx = Receiver::start().await;
    let url = format!("{}/hook/secret-path-123", rx.url);
    let signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let secrets = [
        "secret-path-123",
        "Bearer s3cret-token",
        "team-blue-key",
        signing,
    ];

    // Add, with every field.
    let input = json!({
        "displayName": "  Ops Webhook  ",
        "outputConfig": {"customWebhook": {
            "webhookURL": url,
            "headers": [{"key": "Authorization", "value": "Bearer s3cret-token"}, {"key": "X-Team", "value": "team-blue-key"}],
            "signingSecret": signing,
        }},
        "defaultForSeverity": ["HIGH", "CRITICAL", "HIGH"],
        "alertTypes": ["RULE", "POLICY"],
        "logTypes": ["AWS.CloudTrail", " AWS.S3 "],
    });
    let reply = s
        .gql(ops::ADD_DESTINATION_DETAILED, json!({"input": input}))
        .await;
    assert!(reply.get("errors").is_none(), "{reply:#}");
    let added = reply["data"]["addDestination"].clone();
    let id = added["outputId"].as_str().unwrap().to_string();
    OpsWebhook {
        s,
        rx,
        url,
        signing,
        secrets,
        reply,
        added,
        id,
    }
}

async fn destination_create_read_update(db: TestDb) {
    let OpsWebhook {
        s,
        url,
        signing,
        secrets,
        reply,
        added,
        id,
        ..
    } = add_ops_webhook(&db).await;
    let added = &added;
    assert_no_secret(&reply, &secrets);
    uuid::Uuid::parse_str(&id).expect("outputId is a UUID");
    assert_eq!(
        added["displayName"], "Ops Webhook",
        "display name is trimmed"
    );
    assert_eq!(added["outputType"], "customwebhook");
    assert_eq!(
        added["outputConfig"]["customWebhook"],
        json!({"webhookURL": MASK, "headers": [{"key": "Authorization", "value": MASK}, {"key": "X-Team", "value": MASK}], "signingSecret": MASK})
    );
    assert_eq!(
        added["defaultForSeverity"],
        json!(["HIGH", "CRITICAL"]),
        "duplicates removed"
    );
    assert_eq!(added["alertTypes"], json!(["RULE", "POLICY"]));
    assert_eq!(added["logTypes"], json!(["AWS.CloudTrail", "AWS.S3"]));
    assert_eq!(added["createdBy"], "test-admin");
    assert_eq!(added["lastModifiedBy"], "test-admin");
    let created = assert_aws_datetime(&added["creationTime"], "creationTime");
    assert_aws_datetime(&added["lastModifiedTime"], "lastModifiedTime");
    assert!(
        (chrono::Utc::now() - created).num_seconds().abs() < 60,
        "creationTime is now-ish: {created}"
    );

    // The store holds the real values.
    let rec = stored_destination(&s, &id).await;
    assert_eq!(rec.destination.config["webhookURL"], url.as_str());
    assert_eq!(
        rec.destination.config["headers"][0]["value"],
        "Bearer s3cret-token"
    );
    assert_eq!(rec.destination.config["signingSecret"], signing);

    // addDestination ignores an outputId: it always creates.
    let mut copy = webhook_input("Copy", "https://example.test/copy");
    copy["outputId"] = json!(id);
    let r = s
        .ok(ops::ADD_DESTINATION_DETAILED, json!({"input": copy}))
        .await;
    let copy_id = r["addDestination"]["outputId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(copy_id, id);
    assert_eq!(
        stored_destination(&s, &id).await.destination.display_name,
        "Ops Webhook"
    );
    assert_eq!(
        s.ok(ops::DELETE_DESTINATION, json!({"id": copy_id})).await["deleteDestination"],
        true
    );

    // Omitted alertTypes = all; omitted logTypes = [].
    let other = s
        .add_webhook("Other", "https://example.test/other", &["LOW"])
        .await;
    let r = s.gql(&q_destination(), json!({"id": other})).await;
    assert_eq!(
        r["data"]["destination"]["alertTypes"],
        json!(ALL_ALERT_TYPES)
    );
    assert_eq!(r["data"]["destination"]["logTypes"], json!([]));
    assert_eq!(
        r["data"]["destination"]["outputConfig"]["customWebhook"]["headers"],
        Value::Null
    );
    assert_eq!(
        r["data"]["destination"]["outputConfig"]["customWebhook"]["signingSecret"],
        Value::Null
    );

    // destinations and destination(id) agree with what addDestination returned.
    let list = s.gql(&q_destinations(), json!({})).await;
    assert_no_secret(&list, &secrets);
    let all = list["data"]["destinations"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        all.iter().find(|d| d["outputId"] == id.as_str()),
        Some(added)
    );
    assert!(all.iter().any(|d| d["outputId"] == other.as_str()));
    let one = s.gql(&q_destination(), json!({"id": id})).await;
    assert_no_secret(&one, &secrets);
    assert_eq!(&one["data"]["destination"], added);
    let missing = s
        .ok(
            &q_destination(),
            json!({"id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(missing["destination"], Value::Null);
    s.stop().await;
}

/// Updates keep the secrets left empty or sent back masked, and a new target needs the
/// other secrets again.
async fn destination_update_keeps_or_replaces_secrets(db: TestDb) {
    let OpsWebhook {
        s,
        rx,
        url,
        signing,
        secrets,
        added,
        id,
        ..
    } = add_ops_webhook(&db).await;
    let created = assert_aws_datetime(&added["creationTime"], "creationTime");
    // Update as another token, leaving every secret empty (or sent back masked).
    let bot = s
        .services()
        .tokens
        .create("ci-bot", &herald::auth::Permission::ALL, None, &[], "tests")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await; // so lastModifiedTime moves
    let update = json!({
        "outputId": id,
        "displayName": "ops webhook", // same name, other case: not a conflict with itself
        "outputConfig": {"customWebhook": {
            "webhookURL": "",
            "headers": [{"key": "Authorization", "value": ""}, {"key": "X-Team", "value": MASK}],
            "signingSecret": "",
        }},
        "defaultForSeverity": ["MEDIUM"],
    });
    let reply = s
        .gql_as(&bot.value, &m_update(), json!({"input": update}))
        .await;
    assert!(reply.get("errors").is_none(), "{reply:#}");
    assert_no_secret(&reply, &secrets);
    let updated = &reply["data"]["updateDestination"];
    assert_eq!(updated["outputId"], id.as_str());
    assert_eq!(updated["displayName"], "ops webhook");
    assert_eq!(updated["defaultForSeverity"], json!(["MEDIUM"]));
    assert_eq!(
        updated["alertTypes"],
        json!(ALL_ALERT_TYPES),
        "alertTypes omitted on update = all"
    );
    assert_eq!(updated["logTypes"], json!([]));
    assert_eq!(updated["createdBy"], "test-admin");
    assert_eq!(updated["lastModifiedBy"], "ci-bot");
    assert_eq!(updated["creationTime"], added["creationTime"]);
    let modified = assert_aws_datetime(&updated["lastModifiedTime"], "lastModifiedTime");
    assert!(
        modified > created,
        "lastModifiedTime {modified} moves past creationTime {created}"
    );
    assert_eq!(
        updated["outputConfig"]["customWebhook"],
        json!({"webhookURL": MASK, "headers": [{"key": "Authorization", "value": MASK}, {"key": "X-Team", "value": MASK}], "signingSecret": MASK})
    );
    let rec = stored_destination(&s, &id).await;
    assert_eq!(
        rec.destination.config["webhookURL"],
        url.as_str(),
        "empty URL keeps the stored one"
    );
    assert_eq!(
        rec.destination.config["headers"][0]["value"], "Bearer s3cret-token",
        "empty header value kept"
    );
    assert_eq!(
        rec.destination.config["headers"][1]["value"], "team-blue-key",
        "masked header value kept"
    );
    assert_eq!(
        rec.destination.config["signingSecret"], signing,
        "empty signing secret kept"
    );

    // And the kept values are the ones used: a test alert reaches the stored URL with the header.
    let sent = s
        .ok("mutation($ids: [ID!]!) { sendTestAlert(input: {outputIds: $ids}) { outputId success statusCode } }", json!({"ids": [id]}))
        .await;
    assert_eq!(
        sent["sendTestAlert"],
        json!([{"outputId": id, "success": true, "statusCode": 200}])
    );
    let got = rx.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got[0].path, "/hook/secret-path-123");
    assert_eq!(got[0].header("authorization"), Some("Bearer s3cret-token"));
    assert_eq!(got[0].header("x-team"), Some("team-blue-key"));
    assert!(
        got[0].header("webhook-signature").is_some(),
        "the kept signing secret signs"
    );

    // New values replace the stored ones; a header dropped from the list is gone. A new
    // URL needs every other stored secret entered again (the signing secret here).
    let new_url = format!("{}/hook/rotated-456", rx.url);
    let mut update = json!({
        "outputId": id,
        "displayName": "Ops Webhook",
        "outputConfig": {"customWebhook": {"webhookURL": new_url, "headers": [{"key": "Authorization", "value": "Bearer rotated"}]}},
        "defaultForSeverity": ["MEDIUM"],
        "alertTypes": [],
        "logTypes": ["Custom.Log"],
    });
    let (code, msg) = s.err(&m_update(), json!({"input": update})).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "BAD_USER_INPUT",
            "changing webhookURL requires re-entering the secrets: signingSecret"
        )
    );
    update["outputConfig"]["customWebhook"]["signingSecret"] =
        json!("whsec_cm90YXRlZC1zaWduaW5nLXNlY3JldHJvdGF0ZWQtc2k=");
    let reply = s.gql(&m_update(), json!({"input": update})).await;
    assert!(reply.get("errors").is_none(), "{reply:#}");
    assert_no_secret(&reply, &["rotated-456", "Bearer rotated"]);
    assert_eq!(
        reply["data"]["updateDestination"]["alertTypes"],
        json!([]),
        "an empty list is kept as empty"
    );
    assert_eq!(
        reply["data"]["updateDestination"]["logTypes"],
        json!(["Custom.Log"])
    );
    let rec = stored_destination(&s, &id).await;
    assert_eq!(rec.destination.config["webhookURL"], new_url.as_str());
    assert_eq!(
        rec.destination.config["headers"],
        json!([{"key": "Authorization", "value": "Bearer rotated"}])
    );
    assert_eq!(rec.destination.alert_types, Some(vec![]));
    s.stop().await;
}

/// Two webhooks ("Primary" with a secret in its URL, "Secondary"), and what the
/// database holds with them: the set-up of the `destination_errors_*` tests.
struct TwoDestinations {
    s: TestServer,
    id: String,
    second: String,
    before: Value,
}

async fn two_destinations(db: &TestDb) -> TwoDestinations {
    let s = TestServer::start(db).await;
    let id = s
        .add_webhook("Primary", "https://example.test/primary-secret", &["HIGH"])
        .await;
    let second = s
        .add_webhook("Secondary", "https://example.test/secondary", &["LOW"])
        .await;
    let before = config_snapshot(&s).await;
    TwoDestinations {
        s,
        id,
        second,
        before,
    }
}

fn hook(url: &str) -> Value {
    json!({"customWebhook": {"webhookURL": url}})
}

/// `addDestination` variables.
fn add(name: &str, config: Value, sev: Value) -> Value {
    json!({"input": {"displayName": name, "outputConfig": config, "defaultForSeverity": sev}})
}

/// `updateDestination` variables.
fn upd(out: &str, name: &str, config: Value) -> Value {
    json!({"input": {"outputId": out, "displayName": name, "outputConfig": config, "defaultForSeverity": ["HIGH"]}})
}

/// Invalid adds, updates and deletes against `two_destinations`: (what, query,
/// variables, expected error code).
fn invalid_destination_calls(
    id: &str,
    second: &str,
    update_q: &str,
) -> Vec<(&'static str, String, Value, &'static str)> {
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "add: no config field",
            ops::ADD_DESTINATION_DETAILED,
            add("New", json!({}), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: two config fields",
            ops::ADD_DESTINATION_DETAILED,
            add(
                "New",
                json!({"customWebhook": {"webhookURL": "https://a.test"}, "slack": {"webhookURL": "https://b.test"}}),
                json!(["HIGH"]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            "add: customWebhook null",
            ops::ADD_DESTINATION_DETAILED,
            add("New", json!({"customWebhook": null}), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: unknown severity",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook("https://a.test"), json!(["HIGH", "URGENT"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: lower-case severity",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook("https://a.test"), json!(["high"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: empty displayName",
            ops::ADD_DESTINATION_DETAILED,
            add("", hook("https://a.test"), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: blank displayName",
            ops::ADD_DESTINATION_DETAILED,
            add("   ", hook("https://a.test"), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: malformed URL",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook("not a url"), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: URL without scheme",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook("example.test/hook"), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: non-http URL",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook("ftp://example.test/x"), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: empty URL",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook(""), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: bad header name",
            ops::ADD_DESTINATION_DETAILED,
            add(
                "New",
                json!({"customWebhook": {"webhookURL": "https://a.test", "headers": [{"key": "Bad Header", "value": "v"}]}}),
                json!(["HIGH"]),
            ),
            "BAD_USER_INPUT",
        ),
        (
            "add: displayName over 200 characters",
            ops::ADD_DESTINATION_DETAILED,
            add(&"n".repeat(201), hook("https://a.test"), json!(["HIGH"])),
            "BAD_USER_INPUT",
        ),
        (
            "add: empty log type",
            ops::ADD_DESTINATION_DETAILED,
            json!({"input": {"displayName": "New", "outputConfig": hook("https://a.test"), "defaultForSeverity": ["HIGH"], "logTypes": ["AWS.S3", " "]}}),
            "BAD_USER_INPUT",
        ),
        (
            "add: unknown alert type",
            ops::ADD_DESTINATION_DETAILED,
            json!({"input": {"displayName": "New", "outputConfig": hook("https://a.test"), "defaultForSeverity": ["HIGH"], "alertTypes": ["DETECTION"]}}),
            "BAD_USER_INPUT",
        ),
        (
            "add: duplicate name",
            ops::ADD_DESTINATION_DETAILED,
            add("Primary", hook("https://a.test"), json!(["HIGH"])),
            "CONFLICT",
        ),
        (
            "add: duplicate name, other case",
            ops::ADD_DESTINATION_DETAILED,
            add("pRIMARY", hook("https://a.test"), json!(["HIGH"])),
            "CONFLICT",
        ),
        (
            "add: duplicate name, padded",
            ops::ADD_DESTINATION_DETAILED,
            add("  PRIMARY ", hook("https://a.test"), json!(["HIGH"])),
            "CONFLICT",
        ),
        (
            "update: unknown outputId",
            update_q,
            upd(
                &uuid::Uuid::new_v4().to_string(),
                "Ghost",
                hook("https://a.test"),
            ),
            "NOT_FOUND",
        ),
        (
            "update: no outputId",
            update_q,
            json!({"input": {"displayName": "Primary", "outputConfig": hook("https://a.test"), "defaultForSeverity": ["HIGH"]}}),
            "BAD_USER_INPUT",
        ),
        (
            "update: rename onto another's name",
            update_q,
            upd(second, "PRIMARY", hook("https://a.test")),
            "CONFLICT",
        ),
        (
            "update: empty displayName",
            update_q,
            upd(id, "", hook("https://a.test")),
            "BAD_USER_INPUT",
        ),
        (
            "update: malformed URL",
            update_q,
            upd(id, "Primary", hook("https//missing-colon")),
            "BAD_USER_INPUT",
        ),
        (
            "update: two config fields",
            update_q,
            upd(
                id,
                "Primary",
                json!({"customWebhook": {"webhookURL": ""}, "pagerDuty": {}}),
            ),
            "BAD_USER_INPUT",
        ),
        (
            "delete: unknown id",
            ops::DELETE_DESTINATION,
            json!({"id": uuid::Uuid::new_v4().to_string()}),
            "NOT_FOUND",
        ),
    ];
    cases
        .into_iter()
        .map(|(what, query, vars, code)| (what, query.to_string(), vars, code))
        .collect()
}

async fn destination_errors_write_nothing(db: TestDb) {
    let TwoDestinations {
        s,
        id,
        second,
        before,
    } = two_destinations(&db).await;
    let stored_before = stored_destination(&s, &id).await.destination;
    let update_q = m_update();
    let cases = invalid_destination_calls(&id, &second, &update_q);
    for (what, query, vars, code) in &cases {
        let reply = s.gql(query, vars.clone()).await;
        let e = &reply["errors"][0];
        assert!(!e.is_null(), "{what}: expected an error, got {reply:#}");
        assert_eq!(e["extensions"]["code"], *code, "{what}: {reply:#}");
        assert!(
            !e["message"].as_str().unwrap_or_default().is_empty(),
            "{what}: a message"
        );
        assert!(
            reply["data"].is_null()
                || reply["data"]
                    .as_object()
                    .unwrap()
                    .values()
                    .all(Value::is_null),
            "{what}: {reply:#}"
        );
        assert_eq!(
            config_snapshot(&s).await,
            before,
            "{what}: nothing may be written"
        );
    }
    assert_eq!(
        stored_destination(&s, &id).await.destination,
        stored_before,
        "stored config untouched"
    );

    s.stop().await;
}

async fn destination_errors_in_literals_write_nothing(db: TestDb) {
    let TwoDestinations { s, before, .. } = two_destinations(&db).await;
    // The same checks with literals in the query text (validated before execution).
    let literal_cases = [
        (
            "literal: unknown severity",
            r#"mutation { addDestination(input: {displayName: "Lit", outputConfig: {customWebhook: {webhookURL: "https://a.test"}}, defaultForSeverity: [URGENT]}) { outputId } }"#,
        ),
        (
            "literal: no config field",
            r#"mutation { addDestination(input: {displayName: "Lit", outputConfig: {}, defaultForSeverity: [HIGH]}) { outputId } }"#,
        ),
        (
            "literal: unknown config field",
            r#"mutation { addDestination(input: {displayName: "Lit", outputConfig: {customWebhook: {webhookURL: "https://a.test"}, slack: {}}, defaultForSeverity: [HIGH]}) { outputId } }"#,
        ),
    ];
    for (what, query) in literal_cases {
        let (code, message) = s.err(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{what}: {message}");
        assert_eq!(
            config_snapshot(&s).await,
            before,
            "{what}: nothing may be written"
        );
    }
    s.stop().await;
}

async fn destination_writes_need_destination_modify(db: TestDb) {
    let TwoDestinations { s, id, before, .. } = two_destinations(&db).await;
    let update_q = m_update();
    // A token without DestinationModify may read but not write.
    let reader = s
        .services()
        .tokens
        .create(
            "reader",
            &[herald::auth::Permission::DestinationRead],
            None,
            &[],
            "tests",
        )
        .await
        .unwrap();
    let r = s
        .gql_as(&reader.value, ops::DESTINATION_IDS, json!({}))
        .await;
    assert_eq!(
        r["data"]["destinations"].as_array().map(Vec::len),
        Some(2),
        "{r:#}"
    );
    for (what, query, vars) in [
        (
            "add",
            ops::ADD_DESTINATION_DETAILED,
            add("New", hook("https://a.test"), json!(["HIGH"])),
        ),
        (
            "update",
            update_q.as_str(),
            upd(&id, "Renamed", hook("https://a.test")),
        ),
        ("delete", ops::DELETE_DESTINATION, json!({"id": id})),
    ] {
        let r = s.gql_as(&reader.value, query, vars).await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{what}: {r:#}"
        );
    }
    assert_eq!(
        config_snapshot(&s).await,
        before,
        "forbidden calls write nothing"
    );
    s.stop().await;
}

async fn destination_errors_do_not_echo_secrets(db: TestDb) {
    let TwoDestinations { s, id, .. } = two_destinations(&db).await;
    let update_q = m_update();
    // Error messages do not echo stored secrets either.
    let reply = s
        .gql(&update_q, upd(&id, "Primary", hook("not a url")))
        .await;
    assert_no_secret(&reply, &["primary-secret"]);
    s.stop().await;
}

async fn delete_destination_cleans_overrides(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s
        .add_webhook("Alpha", "https://example.test/a", &["HIGH"])
        .await;
    let b = s
        .add_webhook("Bravo", "https://example.test/b", &["HIGH"])
        .await;
    let put = |det: &str, ids: Value| json!({"input": {"detectionId": det, "outputIds": ids}});
    s.ok(&m_put_override(), put("det.both", json!(["alpha", b])))
        .await;
    s.ok(&m_put_override(), put("det.alpha", json!([a]))).await;
    s.ok(&m_put_override(), put("det.bravo", json!(["Bravo"])))
        .await;
    s.ok(&m_put_override(), put("det.skip", json!(["SKIP"])))
        .await;
    let before = s.ok(&q_override(), json!({"id": "det.bravo"})).await;

    let bot = s
        .services()
        .tokens
        .create(
            "cleaner",
            &herald::auth::Permission::ALL,
            None,
            &[],
            "tests",
        )
        .await
        .unwrap();
    let r = s
        .gql_as(&bot.value, ops::DELETE_DESTINATION, json!({"id": a}))
        .await;
    assert_eq!(r["data"]["deleteDestination"], true, "{r:#}");

    let d = s.ok(ops::DESTINATION_IDS, json!({})).await;
    assert_eq!(d["destinations"], json!([{"outputId": b}]));
    assert_eq!(
        s.ok(&q_destination(), json!({"id": a})).await["destination"],
        Value::Null
    );
    assert!(
        herald::store::destinations::get(&s.services().db, &s.services().cipher, &(&a).into())
            .await
            .unwrap()
            .is_none()
    );

    let o = |det: &'static str| {
        let s = &s;
        async move { s.ok(&q_override(), json!({"id": det})).await["detectionOverride"].clone() }
    };
    let both = o("det.both").await;
    assert_eq!(
        both["outputIds"],
        json!([b]),
        "the deleted id is removed, the other kept"
    );
    assert_eq!(both["lastModifiedBy"], "cleaner");
    assert_eq!(both["createdBy"], "test-admin");
    let only_a = o("det.alpha").await;
    assert_eq!(
        only_a["outputIds"],
        json!([]),
        "an override naming only it is left with none"
    );
    assert_eq!(
        o("det.bravo").await,
        before["detectionOverride"],
        "others untouched"
    );
    assert_eq!(o("det.skip").await["outputIds"], json!(["SKIP"]));

    // Gone: deleting again is NOT_FOUND; naming it in an override is rejected.
    let (code, _) = s.err(ops::DELETE_DESTINATION, json!({"id": a})).await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = s.err(&m_put_override(), put("det.new", json!([a]))).await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, _) = s.err(&m_update(), json!({"input": {"outputId": a, "displayName": "Alpha", "outputConfig": {"customWebhook": {"webhookURL": "https://example.test/a"}}, "defaultForSeverity": ["HIGH"]}})).await;
    assert_eq!(code, "NOT_FOUND");

    // The name is free again.
    s.add_webhook("ALPHA", "https://example.test/a2", &["LOW"])
        .await;
    s.stop().await;
}

/// Names stay unique when clients race: one add wins, the others get CONFLICT.
async fn concurrent_adds_keep_names_unique(db: TestDb) {
    let s = TestServer::start(&db).await;
    let same = (0..8).map(|i| {
        let name = if i % 2 == 0 { "Race" } else { "RACE" };
        s.gql(
            ops::ADD_DESTINATION_DETAILED,
            json!({"input": webhook_input(name, "https://example.test/race")}),
        )
    });
    let replies = futures::future::join_all(same).await;
    let codes: Vec<&str> = replies
        .iter()
        .map(|r| {
            r["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK")
        })
        .collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "OK").count(),
        1,
        "{replies:#?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "CONFLICT").count(),
        7,
        "{replies:#?}"
    );

    let distinct = (0..8).map(|i| {
        s.gql(
            ops::ADD_DESTINATION_DETAILED,
            json!({"input": webhook_input(&format!("Parallel {i}"), "https://example.test/p")}),
        )
    });
    for r in futures::future::join_all(distinct).await {
        assert!(r.get("errors").is_none(), "{r:#}");
    }
    let all = s.ok(ops::DESTINATION_NAMES, json!({})).await;
    assert_eq!(all["destinations"].as_array().unwrap().len(), 9);
    s.stop().await;
}

/// Names are unique case-insensitively beyond ASCII, and overrides find them the same way.
async fn non_ascii_display_names(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = s
        .add_webhook("Équipe Sécurité", "https://example.test/fr", &["HIGH"])
        .await;
    let (code, message) = s
        .err(
            ops::ADD_DESTINATION_DETAILED,
            json!({"input": webhook_input("ÉQUIPE SÉCURITÉ", "https://example.test/x")}),
        )
        .await;
    assert_eq!(code, "CONFLICT", "{message}");
    let o = s
        .ok(
            &m_put_override(),
            json!({"input": {"detectionId": "fr", "outputIds": ["équipe sécurité"]}}),
        )
        .await;
    assert_eq!(o["putDetectionOverride"]["outputIds"], json!([id]));
    let o = s
        .ok(
            &m_put_override(),
            json!({"input": {"detectionId": "fr", "outputIds": ["ÉQUIPE SÉCURITÉ"]}}),
        )
        .await;
    assert_eq!(o["putDetectionOverride"]["outputIds"], json!([id]));
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Detection overrides
// ---------------------------------------------------------------------------------------

/// `putDetectionOverride` variables: "AWS.Root.Login" with every field, naming its
/// destinations by display name (any case) and by id (`b`, "Chat Room"), one twice.
fn root_login_override(b: &str) -> Value {
    json!({"input": {
        "detectionId": "AWS.Root.Login",
        "displayName": "Root login",
        "outputIds": ["pager team", b, "Chat Room"],
        "severity": "CRITICAL",
        "dedupPeriodMinutes": 15,
        "runbook": "Call the on-call.",
        "tags": ["aws", "iam"],
    }})
}

async fn detection_overrides(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s
        .add_webhook("Pager Team", "https://example.test/a", &["HIGH"])
        .await;
    let b = s
        .add_webhook("Chat Room", "https://example.test/b", &["LOW"])
        .await;

    assert_eq!(
        s.ok(&format!("{{ detectionOverrides {{ {OVR} }} }}"), json!({}))
            .await["detectionOverrides"],
        json!([])
    );
    assert_eq!(
        s.ok(&q_override(), json!({"id": "none"})).await["detectionOverride"],
        Value::Null
    );

    // Create, naming destinations by display name (any case) and by id; duplicates merged.
    let full = root_login_override(&b);
    let created = s.ok(&m_put_override(), full).await["putDetectionOverride"].clone();
    assert_eq!(created["detectionId"], "AWS.Root.Login");
    assert_eq!(created["displayName"], "Root login");
    assert_eq!(
        created["outputIds"],
        json!([a, b]),
        "names resolved to ids, duplicates removed"
    );
    assert_eq!(created["severity"], "CRITICAL");
    assert_eq!(created["dedupPeriodMinutes"], 15);
    assert_eq!(created["runbook"], "Call the on-call.");
    assert_eq!(created["tags"], json!(["aws", "iam"]));
    assert_eq!(created["createdBy"], "test-admin");
    assert_eq!(created["lastModifiedBy"], "test-admin");
    assert_aws_datetime(&created["creationTime"], "creationTime");
    assert_aws_datetime(&created["lastModifiedTime"], "lastModifiedTime");
    assert_eq!(
        s.ok(&q_override(), json!({"id": "AWS.Root.Login"})).await["detectionOverride"],
        created
    );

    // SKIP, and a minimal override with defaults.
    let skip = s
        .ok(
            &m_put_override(),
            json!({"input": {"detectionId": "Noisy.Rule", "outputIds": ["SKIP"]}}),
        )
        .await;
    assert_eq!(skip["putDetectionOverride"]["outputIds"], json!(["SKIP"]));
    let minimal = s
        .ok(
            &m_put_override(),
            json!({"input": {"detectionId": "A.First"}}),
        )
        .await["putDetectionOverride"]
        .clone();
    assert_eq!(minimal["outputIds"], json!([]));
    assert_eq!(minimal["severity"], Value::Null);
    assert_eq!(minimal["dedupPeriodMinutes"], 60, "default dedup period");
    assert_eq!(minimal["runbook"], Value::Null);
    assert_eq!(minimal["tags"], json!([]));
    assert_eq!(minimal["displayName"], Value::Null);

    // List: sorted by detection id.
    let list = s.ok(ops::OVERRIDE_IDS, json!({})).await;
    assert_eq!(
        list["detectionOverrides"],
        json!([{"detectionId": "A.First"}, {"detectionId": "AWS.Root.Login"}, {"detectionId": "Noisy.Rule"}])
    );

    // Replace (not merge): omitted fields are cleared; creation kept, modification moves.
    let bot = s
        .services()
        .tokens
        .create("tuner", &herald::auth::Permission::ALL, None, &[], "tests")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let replaced = s
        .gql_as(
            &bot.value,
            &m_put_override(),
            json!({"input": {"detectionId": "AWS.Root.Login", "severity": "LOW"}}),
        )
        .await;
    assert!(replaced.get("errors").is_none(), "{replaced:#}");
    let replaced = &replaced["data"]["putDetectionOverride"];
    assert_eq!(replaced["severity"], "LOW");
    assert_eq!(replaced["outputIds"], json!([]));
    assert_eq!(replaced["displayName"], Value::Null);
    assert_eq!(replaced["dedupPeriodMinutes"], 60);
    assert_eq!(replaced["runbook"], Value::Null);
    assert_eq!(replaced["tags"], json!([]));
    assert_eq!(replaced["createdBy"], "test-admin");
    assert_eq!(replaced["lastModifiedBy"], "tuner");
    assert_eq!(replaced["creationTime"], created["creationTime"]);
    assert!(
        assert_aws_datetime(&replaced["lastModifiedTime"], "lastModifiedTime")
            > assert_aws_datetime(&created["lastModifiedTime"], "lastModifiedTime")
    );
    let list = s.ok(ops::OVERRIDE_IDS, json!({})).await;
    assert_eq!(
        list["detectionOverrides"].as_array().unwrap().len(),
        3,
        "replaced, not added"
    );

    // Detection ids are trimmed when stored, and looked up the same way.
    let padded = s
        .ok(
            &m_put_override(),
            json!({"input": {"detectionId": "  Padded.Id  ", "runbook": "r"}}),
        )
        .await;
    assert_eq!(padded["putDetectionOverride"]["detectionId"], "Padded.Id");
    let found = s.ok(&q_override(), json!({"id": " Padded.Id "})).await;
    assert_eq!(found["detectionOverride"]["detectionId"], "Padded.Id");
    assert_eq!(
        s.ok(ops::DELETE_OVERRIDE, json!({"id": " Padded.Id "}))
            .await["deleteDetectionOverride"],
        true
    );

    // Delete.
    assert_eq!(
        s.ok(ops::DELETE_OVERRIDE, json!({"id": "Noisy.Rule"}))
            .await["deleteDetectionOverride"],
        true
    );
    assert_eq!(
        s.ok(&q_override(), json!({"id": "Noisy.Rule"})).await["detectionOverride"],
        Value::Null
    );
    let (code, _) = s
        .err(ops::DELETE_OVERRIDE, json!({"id": "Noisy.Rule"}))
        .await;
    assert_eq!(code, "NOT_FOUND");
    let list = s.ok(ops::OVERRIDE_IDS, json!({})).await;
    assert_eq!(
        list["detectionOverrides"],
        json!([{"detectionId": "A.First"}, {"detectionId": "AWS.Root.Login"}])
    );

    s.stop().await;
}

/// Invalid overrides (a new one, and changes to an existing one) write nothing.
async fn detection_override_errors_write_nothing(db: TestDb) {
    let s = TestServer::start(&db).await;
    s.add_webhook("Pager Team", "https://example.test/a", &["HIGH"])
        .await;
    let b = s
        .add_webhook("Chat Room", "https://example.test/b", &["LOW"])
        .await;
    s.ok(&m_put_override(), root_login_override(&b)).await;

    // Errors: nothing written.
    let before = config_snapshot(&s).await;
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "unknown destination",
            json!({"detectionId": "AWS.Root.Login", "outputIds": ["Pager Team", "Nobody"]}),
            "BAD_USER_INPUT",
        ),
        (
            "unknown destination on a new override",
            json!({"detectionId": "New.One", "outputIds": [uuid::Uuid::new_v4().to_string()]}),
            "BAD_USER_INPUT",
        ),
        (
            "SKIP with a destination",
            json!({"detectionId": "AWS.Root.Login", "outputIds": ["SKIP", "Pager Team"]}),
            "BAD_USER_INPUT",
        ),
        (
            "unknown severity",
            json!({"detectionId": "AWS.Root.Login", "severity": "SEVERE"}),
            "BAD_USER_INPUT",
        ),
        (
            "empty detectionId",
            json!({"detectionId": "  "}),
            "BAD_USER_INPUT",
        ),
        (
            "dedup period 0",
            json!({"detectionId": "AWS.Root.Login", "dedupPeriodMinutes": 0}),
            "BAD_USER_INPUT",
        ),
        (
            "dedup period negative",
            json!({"detectionId": "AWS.Root.Login", "dedupPeriodMinutes": -5}),
            "BAD_USER_INPUT",
        ),
        (
            "dedup period over a week",
            json!({"detectionId": "AWS.Root.Login", "dedupPeriodMinutes": 7 * 24 * 60 + 1}),
            "BAD_USER_INPUT",
        ),
        (
            "outputIds not a list of strings",
            json!({"detectionId": "AWS.Root.Login", "outputIds": [1, 2]}),
            "BAD_USER_INPUT",
        ),
    ];
    for (what, input, code) in bad {
        let (got, message) = s.err(&m_put_override(), json!({"input": input})).await;
        assert_eq!(got, code, "{what}: {message}");
        assert_eq!(
            config_snapshot(&s).await,
            before,
            "{what}: nothing may be written"
        );
    }
    let (_, message) = s
        .err(
            &m_put_override(),
            json!({"input": {"detectionId": "X", "outputIds": ["Nobody"]}}),
        )
        .await;
    assert!(
        message.contains("Nobody"),
        "the message names the unknown destination: {message}"
    );
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Scalars through the API
// ---------------------------------------------------------------------------------------

const CREATE_ALERT: &str = "mutation($input: CreateAlertInput!) { createAlert(input: $input) { id createdAt firstEventOccurredAt alertContext } }";

async fn alert_count(s: &TestServer) -> usize {
    let r = s
        .ok(
            "{ alerts(input: {pageSize: 1000}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    r["alerts"]["edges"].as_array().unwrap().len()
}

async fn aws_scalars_through_the_api(db: TestDb) {
    let s = TestServer::start(&db).await;
    let base = |dedup: &str| json!({"detectionId": "d", "title": "t", "severity": "LOW", "dedupString": dedup});

    // Valid eventTime, with an offset: stored as the instant, shown in UTC with Z.
    let mut input = base("valid");
    input["eventTime"] = json!("2024-02-29T12:34:56.789+01:00");
    input["alertContext"] = json!({"user": "root", "n": 3, "nested": {"ok": true}});
    let a = s.ok(CREATE_ALERT, json!({"input": input})).await["createAlert"].clone();
    assert_eq!(a["firstEventOccurredAt"], "2024-02-29T11:34:56.789Z");
    assert_aws_datetime(&a["createdAt"], "createdAt");
    assert_eq!(
        a["alertContext"],
        json!({"user": "root", "n": 3, "nested": {"ok": true}})
    );

    // The literal form from the issue, and AWSJSON given as a string holding JSON.
    let r = s
        .ok(
            r#"mutation { createAlert(input: {detectionId: "d", title: "t", severity: LOW, dedupString: "literal", eventTime: "2024-01-01T00:00Z", alertContext: "{\"k\": [1, 2]}"}) { firstEventOccurredAt alertContext } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        r["createAlert"]["firstEventOccurredAt"],
        "2024-01-01T00:00:00.000Z"
    );
    assert_eq!(r["createAlert"]["alertContext"], json!({"k": [1, 2]}));
    let count = alert_count(&s).await;
    assert_eq!(count, 2);

    // Invalid eventTime: BAD_USER_INPUT, saying what is wrong; nothing written.
    for (bad, needle) in [
        ("2024-02-30T00:00:00Z", "calendar date"),
        ("2024-01-01T00:00:00", "offset"),
        ("2024-01-01 00:00:00Z", "between date and time"),
        ("2024-01-01T00:00:00.1234567890Z", "at most 9"),
        ("yesterday", "year"),
    ] {
        let mut input = base(bad);
        input["eventTime"] = json!(bad);
        let (code, message) = s.err(CREATE_ALERT, json!({"input": input})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}: {message}");
        assert!(
            message.contains("AWSDateTime") && message.contains(needle),
            "{bad}: {message:?} should say {needle:?}"
        );

        let literal = format!(
            r#"mutation {{ createAlert(input: {{detectionId: "d", title: "t", severity: LOW, eventTime: "{bad}"}}) {{ id }} }}"#
        );
        let (code, message) = s.err(&literal, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "literal {bad}: {message}");
        assert!(
            message.contains(needle),
            "literal {bad}: {message:?} should say {needle:?}"
        );
    }
    // A non-string eventTime.
    let mut input = base("number");
    input["eventTime"] = json!(1704067200);
    let (code, message) = s.err(CREATE_ALERT, json!({"input": input})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");

    // Invalid AWSJSON.
    let mut input = base("json");
    input["alertContext"] = json!("{not json");
    let (code, message) = s.err(CREATE_ALERT, json!({"input": input})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
    assert!(message.contains("AWSJSON"), "{message}");
    // Valid JSON that is not an object.
    let mut input = base("array");
    input["alertContext"] = json!([1, 2]);
    let (code, message) = s.err(CREATE_ALERT, json!({"input": input})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");

    assert_eq!(
        alert_count(&s).await,
        count,
        "failed createAlert calls write nothing"
    );
    s.stop().await;
}

/// Whatever arrives, the answer is a typed error (never a 500 or a dropped connection),
/// and data already accepted is untouched.
async fn garbage_requests_get_typed_errors(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = s
        .add_webhook("Keep me", "https://example.com/hook", &["HIGH"])
        .await;
    let post = |body: String, ct: &'static str| {
        s.client
            .post(format!("{}/graphql", s.url))
            .header("x-api-key", &s.token)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: Vec<(String, &str)> = vec![
        ("not json at all".into(), "application/json"),
        ("{\"query\": 5}".into(), "application/json"),
        ("[1, 2, 3]".into(), "application/json"),
        ("{\"query\": \"{ destinations {\"}".into(), "application/json"),
        ("{\"query\": \"{ nope }\"}".into(), "application/json"),
        ("{\"query\": \"mutation { deleteDestination }\"}".into(), "application/json"),
        ("{\"query\": \"mutation($i: DestinationInput!) { addDestination(input: $i) { outputId } }\", \"variables\": {\"i\": {\"displayName\": 7}}}".into(), "application/json"),
        (format!("{{\"query\": \"{{ {} }}\"}}", (0..3000).map(|i| format!("a{i}: destinations {{ outputId displayName }} ")).collect::<String>()), "application/json"),
        ("\u{0}\u{1}\u{2}".into(), "application/octet-stream"),
    ];
    for (body, ct) in cases {
        let shown: String = body.chars().take(60).collect();
        let resp = post(body, ct).await.expect("the server answers");
        let status = resp.status().as_u16();
        assert!(status < 500, "{shown}: HTTP {status}");
        let v: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{shown}: not JSON: {e}"));
        let errors = v["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{shown}: no errors: {v}"));
        for e in errors {
            let code = e["extensions"]["code"]
                .as_str()
                .unwrap_or_else(|| panic!("{shown}: untyped error {e}"));
            assert_ne!(code, "INTERNAL_SERVER_ERROR", "{shown}: {e}");
        }
    }
    let still = s
        .ok(
            "query($id: ID!) { destination(id: $id) { displayName } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(still["destination"]["displayName"], "Keep me");
    assert_eq!(
        s.client
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    s.stop().await;
}

on_both!(
    http_surface_and_authentication,
    destination_create_read_update,
    destination_update_keeps_or_replaces_secrets,
    destination_errors_write_nothing,
    destination_errors_in_literals_write_nothing,
    destination_writes_need_destination_modify,
    destination_errors_do_not_echo_secrets,
    delete_destination_cleans_overrides,
    detection_overrides,
    detection_override_errors_write_nothing,
    aws_scalars_through_the_api,
    concurrent_adds_keep_names_unique,
    non_ascii_display_names,
    garbage_requests_get_typed_errors,
    config_type_errors_read_well,
);

/// A wrong or missing destination type gets one clear message saying what to send.
async fn config_type_errors_read_well(db: TestDb) {
    let s = TestServer::start(&db).await;
    let add = |config: Value| json!({"input": {"displayName": "x", "outputConfig": config, "defaultForSeverity": ["HIGH"]}});
    let r = s
        .gql(
            ops::ADD_DESTINATION_DETAILED,
            add(json!({"slak": {"webhookURL": "https://e.example"}})),
        )
        .await;
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one message per problem: {r}");
    let m = errors[0]["message"].as_str().unwrap();
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        m.contains("\"slak\" is not a destination type. Did you mean \"slack\"?"),
        "{m}"
    );
    for config in [
        json!({}),
        json!({"slack": {"webhookURL": "https://e.example"}, "discord": {"webhookURL": "https://e.example"}}),
    ] {
        let r = s.gql(ops::ADD_DESTINATION_DETAILED, add(config)).await;
        let errors = r["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{r}");
        let m = errors[0]["message"].as_str().unwrap();
        assert!(
            m.contains("outputConfig must have exactly one field (the destination type"),
            "{m}"
        );
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    s.stop().await;
}

/// The console on another origin may call the API when its origin is configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_configured_console_origins() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start_with(&db, |a| {
        a.cors_origins = vec!["https://console.example".into()]
    })
    .await;
    let preflight = |origin: &'static str| {
        s.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", s.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-api-key,content-type")
            .send()
    };
    let ok = preflight("https://console.example").await.unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        "https://console.example"
    );
    let allowed = ok
        .headers()
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("x-api-key"), "{allowed}");
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // The real request carries the header too.
    let r = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("origin", "https://console.example")
        .header("x-api-key", &s.token)
        .json(&json!({"query": ops::DESTINATION_IDS}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("access-control-allow-origin").unwrap(),
        "https://console.example"
    );
    s.stop().await;
}
