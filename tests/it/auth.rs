//! API tokens: every refusal case (on SQLite and PostgreSQL), the token API, the
//! `herald token` command line, introspection, and the authorization matrix: every query
//! and mutation run with a token holding each single permission, none, and all.

use crate::ops;
use crate::support::{str_of, TestDb, TestServer, TEST_ENCRYPTION_KEY};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use herald::auth::Permission;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, JsonValue, Statement};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The secret the test server signs with.
fn secret(db: &TestDb) -> String {
    crate::support::test_args(db)
        .db
        .jwt_secret
        .expect("tests set a JWT secret")
}

/// POST `query` with these headers; HTTP status and JSON body.
async fn raw(s: &TestServer, headers: &[(&str, &str)], query: &str) -> (u16, Value) {
    let mut req = s
        .client
        .post(format!("{}/graphql", s.url))
        .json(&json!({ "query": query }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The reply to a request without a token: what every refusal must look like.
async fn refusal(s: &TestServer) -> Value {
    let (status, body) = raw(s, &[], ops::DESTINATION_IDS).await;
    assert_eq!(status, 401, "{body:#}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body:#}"
    );
    assert!(body["data"].is_null(), "{body:#}");
    body
}

/// The token is refused with 401 UNAUTHENTICATED, and the reply says nothing about why.
async fn assert_refused(s: &TestServer, token: &str, case: &str) {
    let expected = refusal(s).await;
    for headers in [
        [("x-api-key", token.to_string())],
        [("authorization", format!("Bearer {token}"))],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = raw(s, &h, ops::DESTINATION_IDS).await;
        assert_eq!(status, 401, "{case}: expected 401, got {status}: {body:#}");
        assert_eq!(
            body, expected,
            "{case}: the refusal must be the generic one (reason only in logs)"
        );
        let text = body.to_string().to_lowercase();
        for word in [
            "expired",
            "revoked",
            "rotated",
            "cidr",
            "signature",
            "algorithm",
            "unknown token",
        ] {
            assert!(
                !text.contains(word),
                "{case}: the reply leaks the reason ({word}): {body:#}"
            );
        }
    }
}

/// Another process learns of a revocation or rotation within its token cache's
/// lifetime (one second): poll until the token is refused, then check the refusal.
async fn assert_refused_within_a_second(s: &TestServer, token: &str, case: &str) {
    let since = std::time::Instant::now();
    crate::support::eventually(Duration::from_secs(3), case, || async {
        let (status, _) = raw(s, &[("x-api-key", token)], ops::DESTINATION_IDS).await;
        (status == 401).then_some(())
    })
    .await;
    let took = since.elapsed();
    assert!(
        took < herald::auth::cache::TTL + Duration::from_millis(500),
        "{case}: refused only after {took:?}"
    );
    assert_refused(s, token, case).await;
}

async fn assert_accepted(s: &TestServer, token: &str, case: &str) {
    let (status, body) = raw(s, &[("x-api-key", token)], ops::DESTINATION_IDS).await;
    assert_eq!(status, 200, "{case}: {body:#}");
    assert!(body.get("errors").is_none(), "{case}: {body:#}");
}

const TOKEN_FIELDS: &str = "id name permissions createdAt createdBy expiresAt lastUsedAt rotatedAt allowedCIDRBlocks value";

/// Create a token through the API with the admin token; the `token` object of the result.
async fn create_token(s: &TestServer, input: Value) -> Value {
    let q = format!("mutation($input: CreateAPITokenInput!) {{ createAPIToken(input: $input) {{ token {{ {TOKEN_FIELDS} }} }} }}");
    s.ok(&q, json!({ "input": input })).await["createAPIToken"]["token"].clone()
}

/// The stored `jti` and id of a token, to forge JWTs around a real record.
async fn stored_token(s: &TestServer, id: &str) -> herald::store::tokens::TokenRow {
    herald::store::tokens::get(&s.services().db, id)
        .await
        .expect("lookup")
        .expect("token exists")
}

fn sign(claims: &Value, alg: Algorithm, key: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("sign")
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn payload_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("json")
}

// ---------------------------------------------------------------------------------------
// Refusal cases
// ---------------------------------------------------------------------------------------

async fn missing_or_malformed_token_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let generic = refusal(&s).await;
    assert!(
        generic["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("API token"),
        "{generic:#}"
    );
    for (case, headers) in [
        ("empty X-API-Key", vec![("x-api-key", "")]),
        ("garbage", vec![("x-api-key", "not-a-token")]),
        ("three garbage parts", vec![("x-api-key", "a.b.c")]),
        ("basic auth", vec![("authorization", "Basic dXNlcjpwYXNz")]),
        ("bearer without a token", vec![("authorization", "Bearer ")]),
    ] {
        let (status, body) = raw(&s, &headers, ops::DESTINATION_IDS).await;
        assert_eq!(status, 401, "{case}: {body:#}");
        assert_eq!(body, generic, "{case}");
    }
    // Both headers work; an empty X-API-Key does not hide a valid Authorization header.
    let bearer = format!("Bearer {}", s.token);
    let lower = format!("bearer {}", s.token);
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![("authorization", lower.as_str())],
        vec![("x-api-key", ""), ("authorization", bearer.as_str())],
    ] {
        let (status, body) = raw(&s, &headers, ops::DESTINATION_IDS).await;
        assert_eq!(status, 200, "{headers:?}: {body:#}");
    }
    s.stop().await;
}

async fn expired_token_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    // Stored expiry: a token that expires in a moment works until then, and not after.
    let expires = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let t = create_token(&s, json!({"name": "short-lived", "permissions": ["DestinationRead"], "expiresAt": expires.to_rfc3339()})).await;
    assert!(!t["expiresAt"].is_null(), "{t:#}");
    let value = str_of(&t["value"]);
    assert_accepted(&s, &value, "before expiry").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_refused(&s, &value, "expired token").await;

    // The JWT's own `exp` is checked too: a correctly signed value for a live token, with
    // an `exp` in the past, is refused.
    let live = create_token(
        &s,
        json!({"name": "live", "permissions": ["DestinationRead"]}),
    )
    .await;
    let row = stored_token(&s, &str_of(&live["id"])).await;
    let forged = sign(
        &json!({"sub": row.id, "jti": row.current_jti, "iat": now_s() - 100, "exp": now_s() - 10}),
        Algorithm::HS256,
        &secret(&db),
    );
    assert_refused(&s, &forged, "JWT exp in the past").await;
    let fine = sign(
        &json!({"sub": row.id, "jti": row.current_jti, "iat": now_s()}),
        Algorithm::HS256,
        &secret(&db),
    );
    assert_accepted(&s, &fine, "the same claims without exp (control)").await;
    s.stop().await;
}

async fn token_signed_with_another_key_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let t = create_token(
        &s,
        json!({"name": "victim", "permissions": ["DestinationRead"]}),
    )
    .await;
    let row = stored_token(&s, &str_of(&t["id"])).await;
    let claims = json!({"sub": row.id, "jti": row.current_jti, "iat": now_s()});
    assert_refused(
        &s,
        &sign(&claims, Algorithm::HS256, "another-secret"),
        "HS256 with another key",
    )
    .await;
    // Another HMAC algorithm, even with the right key, is not accepted.
    assert_refused(&s, &sign(&claims, Algorithm::HS384, &secret(&db)), "HS384").await;
    assert_refused(&s, &sign(&claims, Algorithm::HS512, &secret(&db)), "HS512").await;
    // Control: the same claims signed with the server's key work.
    assert_accepted(
        &s,
        &sign(&claims, Algorithm::HS256, &secret(&db)),
        "control",
    )
    .await;
    s.stop().await;
}

async fn tampered_token_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let weak = create_token(
        &s,
        json!({"name": "weak", "permissions": ["DestinationRead"]}),
    )
    .await;
    let value = str_of(&weak["value"]);
    let parts: Vec<&str> = value.split('.').collect();
    let admin_id = admin_token_id(&s).await;
    let admin = stored_token(&s, &admin_id).await;

    // Payload swapped for the admin token's identity, original signature kept.
    let mut p = payload_of(&value);
    p["sub"] = json!(admin.id);
    p["jti"] = json!(admin.current_jti);
    assert_refused(
        &s,
        &format!("{}.{}.{}", parts[0], b64(&p), parts[2]),
        "payload swapped",
    )
    .await;
    // A changed expiry.
    let mut p = payload_of(&value);
    p["exp"] = json!(now_s() + 3600);
    assert_refused(
        &s,
        &format!("{}.{}.{}", parts[0], b64(&p), parts[2]),
        "claim added",
    )
    .await;
    // One signature character changed.
    let mut sig: Vec<char> = parts[2].chars().collect();
    sig[3] = if sig[3] == 'A' { 'B' } else { 'A' };
    let sig: String = sig.into_iter().collect();
    assert_refused(
        &s,
        &format!("{}.{}.{sig}", parts[0], parts[1]),
        "signature changed",
    )
    .await;
    // Signature dropped.
    assert_refused(
        &s,
        &format!("{}.{}.", parts[0], parts[1]),
        "signature dropped",
    )
    .await;
    assert_accepted(&s, &value, "the untouched value (control)").await;
    s.stop().await;
}

async fn alg_none_token_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let admin = stored_token(&s, &admin_token_id(&s).await).await;
    let claims = json!({"sub": admin.id, "jti": admin.current_jti, "iat": now_s()});
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "None"}),
        json!({"alg": "NONE", "typ": "JWT"}),
    ] {
        let unsigned = format!("{}.{}", b64(&header), b64(&claims));
        assert_refused(
            &s,
            &format!("{unsigned}."),
            &format!("alg {header}, empty signature"),
        )
        .await;
        assert_refused(&s, &unsigned, &format!("alg {header}, no signature part")).await;
        // The server's real signature of other content does not help either.
        let sig = s.token.split('.').nth(2).unwrap().to_string();
        assert_refused(
            &s,
            &format!("{unsigned}.{sig}"),
            &format!("alg {header}, borrowed signature"),
        )
        .await;
    }
    s.stop().await;
}

async fn revoked_token_is_refused_in_every_process(db: TestDb) {
    // Two servers on one database stand for two processes behind a load balancer.
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let t = create_token(
        &a,
        json!({"name": "to-revoke", "permissions": ["DestinationRead"]}),
    )
    .await;
    let (id, value) = (str_of(&t["id"]), str_of(&t["value"]));
    assert_accepted(&a, &value, "on A before revocation").await;
    assert_accepted(&b, &value, "on B before revocation").await;

    let d = a.ok(ops::DELETE_TOKEN, json!({"id": id})).await;
    assert_eq!(d["deleteAPIToken"], true);
    assert_refused_within_a_second(&b, &value, "revoked, other process").await;
    assert_refused(&a, &value, "revoked, same process").await;

    // Gone from the API; a second delete, a rotate and a lookup are NOT_FOUND.
    let list = a.ok(ops::TOKEN_IDS, json!({})).await;
    assert!(
        list["apiTokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != json!(id)),
        "{list:#}"
    );
    for q in [ops::DELETE_TOKEN, ops::ROTATE_TOKEN, ops::TOKEN_BY_ID] {
        assert_eq!(a.err(q, json!({"id": id})).await.0, "NOT_FOUND", "{q}");
    }
    assert_refused(&a, &value, "still revoked after a rotate attempt").await;
    a.stop().await;
    b.stop().await;
}

async fn rotated_token_old_value_is_refused(db: TestDb) {
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let t = create_token(
        &a,
        json!({"name": "to-rotate", "permissions": ["DestinationRead"]}),
    )
    .await;
    let (id, old) = (str_of(&t["id"]), str_of(&t["value"]));
    assert!(t["rotatedAt"].is_null());
    assert_accepted(&b, &old, "before rotation").await;

    let q = format!(
        "mutation($id: ID!) {{ rotateAPIToken(id: $id) {{ token {{ {TOKEN_FIELDS} }} }} }}"
    );
    let r = a.ok(&q, json!({"id": id})).await["rotateAPIToken"]["token"].clone();
    let new = str_of(&r["value"]);
    assert_ne!(new, old);
    assert_eq!(r["id"], json!(id));
    assert_eq!(r["name"], "to-rotate");
    assert_eq!(r["permissions"], json!(["DestinationRead"]));
    assert!(!r["rotatedAt"].is_null(), "{r:#}");

    assert_refused(&a, &old, "old value, same process").await;
    assert_refused_within_a_second(&b, &old, "old value, other process").await;
    assert_accepted(&a, &new, "new value").await;
    assert_accepted(&b, &new, "new value, other process").await;

    // Rotating again retires the second value as well.
    let newer = str_of(&a.ok(&q, json!({"id": id})).await["rotateAPIToken"]["token"]["value"]);
    assert_refused_within_a_second(&b, &new, "second value after a second rotation").await;
    assert_accepted(&b, &newer, "third value").await;
    // Values are shown in create/rotate results only.
    let listed = a
        .ok(
            "query($id: ID!) { apiToken(id: $id) { value rotatedAt } }",
            json!({"id": id}),
        )
        .await;
    assert!(listed["apiToken"]["value"].is_null(), "{listed:#}");
    a.stop().await;
    b.stop().await;
}

async fn token_outside_cidr_blocks_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    // Tests connect from 127.0.0.1.
    let outside = create_token(&s, json!({"name": "office-only", "permissions": ["DestinationRead"], "allowedCIDRBlocks": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]})).await;
    assert_eq!(
        outside["allowedCIDRBlocks"],
        json!(["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"])
    );
    assert_refused(&s, &str_of(&outside["value"]), "outside the CIDR blocks").await;

    for (case, blocks) in [
        ("loopback block", json!(["10.0.0.0/8", "127.0.0.0/8"])),
        ("single address", json!(["127.0.0.1"])),
        ("host bits set", json!(["127.1.2.3/8"])),
    ] {
        let inside = create_token(
            &s,
            json!({"name": case, "permissions": ["DestinationRead"], "allowedCIDRBlocks": blocks}),
        )
        .await;
        assert_accepted(&s, &str_of(&inside["value"]), case).await;
    }
    let open = create_token(
        &s,
        json!({"name": "anywhere", "permissions": ["DestinationRead"], "allowedCIDRBlocks": []}),
    )
    .await;
    assert_eq!(open["allowedCIDRBlocks"], json!([]));
    assert_accepted(&s, &str_of(&open["value"]), "no CIDR blocks").await;
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// The token API
// ---------------------------------------------------------------------------------------

async fn admin_token_id(s: &TestServer) -> String {
    let l = s.ok("{ apiTokens { id name } }", json!({})).await;
    let admin = l["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test-admin")
        .cloned()
        .expect("admin token listed");
    str_of(&admin["id"])
}

async fn token_count(s: &TestServer) -> usize {
    s.ok(ops::TOKEN_IDS, json!({})).await["apiTokens"]
        .as_array()
        .unwrap()
        .len()
}

async fn api_tokens_are_created_listed_and_validated(db: TestDb) {
    let s = TestServer::start(&db).await;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let t = create_token(
        &s,
        json!({"name": "  ci-deployer ", "permissions": ["DestinationRead", "DestinationModify", "DestinationRead"], "expiresAt": expires, "allowedCIDRBlocks": ["127.0.0.0/8"]}),
    )
    .await;
    assert_eq!(t["name"], "ci-deployer");
    assert_eq!(
        t["permissions"],
        json!(["DestinationRead", "DestinationModify"])
    );
    assert_eq!(t["createdBy"], "test-admin");
    assert_eq!(t["expiresAt"], json!(expires));
    assert!(
        t["lastUsedAt"].is_null() && t["rotatedAt"].is_null(),
        "{t:#}"
    );
    assert!(herald::graphql::scalars::parse_aws_datetime(t["createdAt"].as_str().unwrap()).is_ok());
    let (id, value) = (str_of(&t["id"]), str_of(&t["value"]));
    assert_eq!(value.split('.').count(), 3);

    // It works for what it holds, and is FORBIDDEN (naming the permission) elsewhere.
    let d = s.gql_as(&value, ops::DESTINATION_IDS, json!({})).await;
    assert!(d.get("errors").is_none(), "{d:#}");
    let f = s.gql_as(&value, ops::ALERT_CURSORS, json!({})).await;
    assert_eq!(f["errors"][0]["extensions"]["code"], "FORBIDDEN", "{f:#}");
    assert!(
        f["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("AlertRead"),
        "{f:#}"
    );

    // lastUsedAt reflects the use at once (coalesced in memory, flushed later).
    let q = format!("query($id: ID!) {{ apiToken(id: $id) {{ {TOKEN_FIELDS} }} }}");
    let one = s.ok(&q, json!({"id": id})).await["apiToken"].clone();
    assert!(!one["lastUsedAt"].is_null(), "{one:#}");
    assert!(one["value"].is_null(), "values are never listed: {one:#}");
    let all = s
        .ok(&format!("{{ apiTokens {{ {TOKEN_FIELDS} }} }}"), json!({}))
        .await;
    let all = all["apiTokens"].as_array().unwrap().clone();
    assert!(all.iter().any(|t| t["id"] == json!(id)));
    assert!(all.iter().all(|t| t["value"].is_null()), "{all:#?}");
    // …and reaches the database within the flush interval.
    let db_id = id.clone();
    crate::support::eventually(Duration::from_secs(12), "lastUsedAt flushed", || {
        let db_id = db_id.clone();
        let conn = s.services().db.clone();
        async move {
            herald::store::tokens::get(&conn, &db_id)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.last_used_at)
        }
    })
    .await;

    // Bad input writes nothing.
    let before = token_count(&s).await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    for (case, input) in [
        ("empty name", json!({"name": "", "permissions": []})),
        (
            "blank name",
            json!({"name": "   ", "permissions": ["AlertRead"]}),
        ),
        (
            "bad CIDR",
            json!({"name": "x", "permissions": [], "allowedCIDRBlocks": ["10.0.0.0/33"]}),
        ),
        (
            "not a CIDR",
            json!({"name": "x", "permissions": [], "allowedCIDRBlocks": ["office"]}),
        ),
        (
            "past expiry",
            json!({"name": "x", "permissions": [], "expiresAt": past}),
        ),
        (
            "unknown permission",
            json!({"name": "x", "permissions": ["Everything"]}),
        ),
        (
            "bad time",
            json!({"name": "x", "permissions": [], "expiresAt": "tomorrow"}),
        ),
    ] {
        let (code, msg) = s.err(ops::CREATE_TOKEN, json!({"input": input})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{case}: {msg}");
    }
    assert_eq!(
        token_count(&s).await,
        before,
        "bad input must write nothing"
    );

    // Unknown ids.
    for q in [ops::TOKEN_BY_ID, ops::ROTATE_TOKEN, ops::DELETE_TOKEN] {
        assert_eq!(
            s.err(q, json!({"id": "no-such-token"})).await.0,
            "NOT_FOUND",
            "{q}"
        );
    }
    s.stop().await;
}

async fn token_cannot_grant_more_than_it_holds(db: TestDb) {
    let s = TestServer::start(&db).await;
    let admin_id = admin_token_id(&s).await;
    let manager = create_token(&s, json!({"name": "token-manager", "permissions": ["OrganizationAPITokenRead", "OrganizationAPITokenModify", "AlertRead"]})).await;
    let mv = str_of(&manager["value"]);

    // Within what it holds: fine, recorded as created by it.
    let ok = s
        .gql_as(
            &mv,
            ops::CREATE_TOKEN,
            json!({"input": {"name": "poller", "permissions": ["AlertRead"]}}),
        )
        .await;
    assert!(ok.get("errors").is_none(), "{ok:#}");
    assert_eq!(
        ok["data"]["createAPIToken"]["token"]["createdBy"],
        "token-manager"
    );
    let poller_id = str_of(&ok["data"]["createAPIToken"]["token"]["id"]);

    // More than it holds: FORBIDDEN, naming what it lacks, and nothing written.
    let before = token_count(&s).await;
    for perms in [
        json!(["AlertModify"]),
        json!(["AlertRead", "DestinationModify"]),
        json!(["RuleRead", "RuleModify"]),
    ] {
        let r = s
            .gql_as(
                &mv,
                ops::CREATE_TOKEN,
                json!({"input": {"name": "escalated", "permissions": perms}}),
            )
            .await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{perms}: {r:#}"
        );
        assert!(r["data"].is_null(), "{r:#}");
        let msg = r["errors"][0]["message"].as_str().unwrap();
        for p in perms
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| *p != "AlertRead")
        {
            assert!(msg.contains(p.as_str().unwrap()), "{msg} should name {p}");
        }
    }
    assert_eq!(
        token_count(&s).await,
        before,
        "a refused grant must write nothing"
    );

    // Rotating a token that holds more than the caller: FORBIDDEN, and the token keeps working.
    let r = s
        .gql_as(&mv, ops::ROTATE_TOKEN, json!({"id": admin_id}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r:#}");
    assert_accepted(&s, &s.token, "admin token after a refused rotation").await;
    assert!(stored_token(&s, &admin_id).await.rotated_at.is_none());
    // Rotating one within its own permissions (and itself) is fine.
    let r = s
        .gql_as(&mv, ops::ROTATE_TOKEN, json!({"id": poller_id}))
        .await;
    assert!(r.get("errors").is_none(), "{r:#}");
    let manager_id = str_of(&manager["id"]);
    let r = s
        .gql_as(&mv, ops::ROTATE_TOKEN, json!({"id": manager_id}))
        .await;
    assert!(r.get("errors").is_none(), "{r:#}");
    assert_refused(
        &s,
        &mv,
        "the manager's own old value after it rotated itself",
    )
    .await;
    s.stop().await;
}

async fn introspection_can_be_disabled(db: TestDb) {
    let q = "{ __schema { queryType { name } } }";
    let on = TestServer::start(&db).await;
    let d = on.ok(q, json!({})).await;
    assert_eq!(d["__schema"]["queryType"]["name"], "Query");
    let t = on
        .ok(
            r#"{ __type(name: "APIToken") { fields { name } } }"#,
            json!({}),
        )
        .await;
    let names: Vec<&str> = t["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for f in [
        "id",
        "name",
        "permissions",
        "createdAt",
        "createdBy",
        "expiresAt",
        "lastUsedAt",
        "rotatedAt",
        "allowedCIDRBlocks",
        "value",
    ] {
        assert!(names.contains(&f), "APIToken.{f} missing: {names:?}");
    }
    on.stop().await;

    // Disabled: refused with a typed error, and nothing about the schema is revealed.
    let off = TestServer::start_with(&db, |a| a.disable_introspection = true).await;
    for q in [
        q,
        r#"{ __type(name: "Query") { name fields { name } } }"#,
        r#"{ __type(name: "APIToken") { name } }"#,
        r#"{ ...F } fragment F on Query { __schema { queryType { name } } }"#,
    ] {
        let r = off.gql(q, json!({})).await;
        assert!(r["data"].is_null(), "introspection must be refused: {r:#}");
        assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r:#}");
        let text = r.to_string();
        assert!(
            !text.contains("\"Query\"")
                && !text.contains("destinations")
                && !text.contains("queryType\":"),
            "schema details leaked: {r:#}"
        );
    }
    // Ordinary queries still work.
    off.ok("{ __typename destinations { outputId } }", json!({}))
        .await;
    off.stop().await;
}

// ---------------------------------------------------------------------------------------
// `herald token …` on the command line
// ---------------------------------------------------------------------------------------

struct CliOut {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn herald_cli(db: &TestDb, args: &[&str]) -> CliOut {
    db.ensure_exists();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_JWT_SECRET", secret(db))
        .env("HERALD_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .output()
        .await
        .expect("run the herald binary");
    CliOut {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn token_cli_creates_lists_and_revokes(db: TestDb) {
    // Bootstrapping: the CLI runs first, on a database no server has used yet.
    let c = herald_cli(
        &db,
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--permission",
            "AlertRead",
            "--permission",
            "destinationread",
            "--expires-in",
            "30d",
        ],
    )
    .await;
    assert!(c.ok, "token create failed: {}", c.stderr);
    let lines: Vec<&str> = c.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the token alone on stdout: {:?}", c.stdout);
    let ci = lines[0].trim().to_string();
    assert_eq!(ci.split('.').count(), 3, "{ci}");

    let s = TestServer::start(&db).await;
    assert_accepted(&s, &ci, "CLI token").await;
    let r = s.gql_as(&ci, ops::ALERT_CURSORS, json!({})).await;
    assert!(r.get("errors").is_none(), "{r:#}");
    let r = s
        .gql_as(&ci, "mutation { deleteDestination(id: \"x\") }", json!({}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r:#}");

    let listed = s
        .ok(
            "{ apiTokens { id name permissions createdBy expiresAt } }",
            json!({}),
        )
        .await;
    let t = listed["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .cloned()
        .expect("ci token listed");
    assert_eq!(t["permissions"], json!(["AlertRead", "DestinationRead"]));
    assert_eq!(t["createdBy"], "herald-cli");
    let exp =
        herald::graphql::scalars::parse_aws_datetime(t["expiresAt"].as_str().unwrap()).unwrap();
    let in_30d = chrono::Utc::now() + chrono::Duration::days(30);
    assert!(
        (exp - in_30d).num_seconds().abs() < 120,
        "expiresAt {exp} should be about {in_30d}"
    );
    let id = str_of(&t["id"]);

    // Without --permission: every permission.
    let all = herald_cli(&db, &["token", "create", "--name", "bootstrap"]).await;
    assert!(all.ok, "{}", all.stderr);
    let r = s
        .gql_as(
            all.stdout.trim(),
            "{ apiTokens { id } detectionOverrides { detectionId } }",
            json!({}),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r:#}");

    let l = herald_cli(&db, &["token", "list"]).await;
    assert!(l.ok, "{}", l.stderr);
    let line = l
        .stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not in {:?}", l.stdout));
    assert!(
        line.contains("\tci\t") && line.contains("AlertRead,DestinationRead"),
        "{line}"
    );
    assert!(
        l.stdout.lines().any(|l| l.contains("\tbootstrap\t")),
        "{}",
        l.stdout
    );
    assert!(!l.stdout.contains(&ci), "token values are never listed");

    let rv = herald_cli(&db, &["token", "revoke", &id]).await;
    assert!(rv.ok, "{}", rv.stderr);
    assert_refused_within_a_second(&s, &ci, "revoked on the command line").await;
    let l = herald_cli(&db, &["token", "list"]).await;
    assert!(
        !l.stdout.contains(&id),
        "revoked tokens are not listed: {}",
        l.stdout
    );

    // Failures: non-zero exit, a message, nothing on stdout.
    for (case, args, needle) in [
        (
            "revoke twice",
            vec!["token", "revoke", id.as_str()],
            "no active token",
        ),
        (
            "revoke unknown",
            vec!["token", "revoke", "no-such-id"],
            "no active token",
        ),
        (
            "unknown permission",
            vec![
                "token",
                "create",
                "--name",
                "x",
                "--permission",
                "Everything",
            ],
            "possible values",
        ),
        (
            "bad duration",
            vec!["token", "create", "--name", "x", "--expires-in", "5parsecs"],
            "expires-in",
        ),
        (
            "blank name",
            vec!["token", "create", "--name", "  "],
            "name",
        ),
    ] {
        let o = herald_cli(&db, &args).await;
        assert!(!o.ok, "{case} should fail: {}", o.stdout);
        assert!(o.stdout.trim().is_empty(), "{case}: {}", o.stdout);
        assert!(
            o.stderr.contains(needle),
            "{case}: stderr should mention {needle:?}: {}",
            o.stderr
        );
    }
    s.stop().await;
}

/// `token create --allowed-cidr` fences a token to blocks.
async fn token_cli_fences_tokens_to_allowed_cidrs(db: TestDb) {
    let s = TestServer::start(&db).await;
    // --allowed-cidr fences a token to blocks: this one is refused from 127.0.0.1.
    let c = herald_cli(
        &db,
        &[
            "token",
            "create",
            "--name",
            "fenced",
            "--allowed-cidr",
            "10.0.0.0/8",
        ],
    )
    .await;
    assert!(c.ok, "{}", c.stderr);
    assert_refused(&s, c.stdout.trim(), "a CLI token fenced to 10.0.0.0/8").await;
    let c = herald_cli(
        &db,
        &[
            "token",
            "create",
            "--name",
            "local",
            "--allowed-cidr",
            "127.0.0.1",
        ],
    )
    .await;
    assert!(c.ok, "{}", c.stderr);
    assert_accepted(&s, c.stdout.trim(), "a CLI token fenced to 127.0.0.1").await;
    let c = herald_cli(
        &db,
        &[
            "token",
            "create",
            "--name",
            "bad",
            "--allowed-cidr",
            "10.0.0.0/99",
        ],
    )
    .await;
    assert!(!c.ok && c.stderr.contains("allowed-cidr"), "{}", c.stderr);
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// The authorization matrix
// ---------------------------------------------------------------------------------------

/// One operation of the schema: its name, the selection to run (dummy ids are fine: a
/// NOT_FOUND or BAD_USER_INPUT still means the permission check let it through), and the
/// permission it needs. The test wraps the selection in `query { }` or `mutation { }`
/// according to where the schema puts the field.
struct Op {
    name: &'static str,
    selection: &'static str,
    needs: Permission,
}

const fn op(name: &'static str, selection: &'static str, needs: Permission) -> Op {
    Op {
        name,
        selection,
        needs,
    }
}

use Permission::*;

/// Every query and mutation. `matrix_covers_every_operation` fails when the schema has an
/// operation without a row here; rows for operations not (yet) in the schema are skipped.
/// Subscriptions are left out on purpose: they run over WebSocket, not through this
/// table's HTTP runner; `tests/it/subscriptions.rs` checks their permission (AlertRead).
const MATRIX: &[Op] = &[
    // Settings
    op(
        "generalSettings",
        "generalSettings { gatewayPublicIp version pantherVersion }",
        GeneralSettingsRead,
    ),
    // Destinations
    op("destinations", "destinations { outputId }", DestinationRead),
    op(
        "destinationTypes",
        "destinationTypes { field secretFields }",
        DestinationRead,
    ),
    op(
        "generateSigningSecret",
        "generateSigningSecret",
        DestinationModify,
    ),
    op(
        "destination",
        r#"destination(id: "matrix-missing") { outputId }"#,
        DestinationRead,
    ),
    op(
        "addDestination",
        r#"addDestination(input: {displayName: "matrix destination", outputConfig: {customWebhook: {webhookURL: "https://example.invalid/hook"}}, defaultForSeverity: []}) { outputId }"#,
        DestinationModify,
    ),
    op(
        "updateDestination",
        r#"updateDestination(input: {outputId: "matrix-missing", displayName: "matrix renamed", outputConfig: {customWebhook: {webhookURL: "https://example.invalid/hook"}}, defaultForSeverity: []}) { outputId }"#,
        DestinationModify,
    ),
    op(
        "deleteDestination",
        r#"deleteDestination(id: "matrix-missing")"#,
        DestinationModify,
    ),
    op(
        "sendTestAlert",
        r#"sendTestAlert(input: {outputIds: ["matrix-missing"]}) { outputId success }"#,
        DestinationModify,
    ),
    op(
        "previewPayload",
        r#"previewPayload(input: {outputConfig: {customWebhook: {webhookURL: "https://example.invalid/hook"}}, alert: {detectionId: "matrix.rule", title: "matrix", severity: LOW}}) { body }"#,
        DestinationRead,
    ),
    op(
        "retryFailedDeliveries",
        r#"retryFailedDeliveries(input: {outputId: "matrix-missing"})"#,
        DestinationModify,
    ),
    // Detection overrides
    op(
        "detectionOverrides",
        "detectionOverrides { detectionId }",
        RuleRead,
    ),
    op(
        "detectionOverride",
        r#"detectionOverride(detectionId: "matrix.missing") { detectionId }"#,
        RuleRead,
    ),
    op(
        "putDetectionOverride",
        r#"putDetectionOverride(input: {detectionId: "matrix.rule", severity: LOW}) { detectionId }"#,
        RuleModify,
    ),
    op(
        "deleteDetectionOverride",
        r#"deleteDetectionOverride(detectionId: "matrix.missing")"#,
        RuleModify,
    ),
    // Alerts
    op("alert", r#"alert(id: "matrix-missing") { id }"#, AlertRead),
    op(
        "alerts",
        "alerts(input: {pageSize: 1}) { edges { cursor } }",
        AlertRead,
    ),
    op(
        "routeAlert",
        r#"routeAlert(input: {detectionId: "matrix.rule", title: "matrix", severity: LOW}) { step }"#,
        AlertRead,
    ),
    op(
        "metrics",
        r#"metrics(input: {fromDate: "2026-01-01T00:00:00Z", toDate: "2026-01-01T01:00:00Z"}) { totalAlerts }"#,
        SummaryRead,
    ),
    op(
        "createAlert",
        r#"createAlert(input: {detectionId: "matrix.rule", title: "matrix", severity: LOW}) { id }"#,
        AlertModify,
    ),
    op(
        "createAlerts",
        r#"createAlerts(input: [{detectionId: "matrix.rule", title: "matrix", severity: LOW}]) { id }"#,
        AlertModify,
    ),
    op(
        "updateAlertStatusById",
        r#"updateAlertStatusById(input: {ids: ["matrix-missing"], status: CLOSED}) { alerts { id } }"#,
        AlertModify,
    ),
    op(
        "updateAlertsAssigneeById",
        r#"updateAlertsAssigneeById(input: {ids: ["matrix-missing"], assigneeId: null}) { alerts { id } }"#,
        AlertModify,
    ),
    op(
        "createAlertComment",
        r#"createAlertComment(input: {alertId: "matrix-missing", body: "matrix"}) { comment { id } }"#,
        AlertModify,
    ),
    op(
        "deliverAlert",
        r#"deliverAlert(input: {alertId: "matrix-missing", outputIds: []}) { id }"#,
        AlertModify,
    ),
    op(
        "pendingDeliveries",
        r#"pendingDeliveries(input: {outputId: "matrix-missing", pageSize: 1}) { deliveryId }"#,
        DeliveryPoll,
    ),
    op(
        "acknowledgeDeliveries",
        r#"acknowledgeDeliveries(input: {outputId: "matrix-missing", deliveryIds: ["matrix-missing"]})"#,
        AlertModify,
    ),
    // API tokens
    op("apiTokens", "apiTokens { id }", OrganizationApiTokenRead),
    op(
        "apiToken",
        r#"apiToken(id: "matrix-missing") { id }"#,
        OrganizationApiTokenRead,
    ),
    op(
        "createAPIToken",
        r#"createAPIToken(input: {name: "matrix", permissions: []}) { token { id } }"#,
        OrganizationApiTokenModify,
    ),
    op(
        "rotateAPIToken",
        r#"rotateAPIToken(id: "matrix-missing") { token { id } }"#,
        OrganizationApiTokenModify,
    ),
    op(
        "deleteAPIToken",
        r#"deleteAPIToken(id: "matrix-missing")"#,
        OrganizationApiTokenModify,
    ),
    // Audit log
    op(
        "auditLog",
        "auditLog(input: {pageSize: 1}) { entries { id } }",
        AuditLogRead,
    ),
    // People (the matrix creates the role `MatrixEmpty`, which holds nothing)
    op("users", "users { id }", UserRead),
    op(
        "userById",
        r#"userById(id: "matrix-missing") { id }"#,
        UserRead,
    ),
    op(
        "userByEmail",
        r#"userByEmail(email: "matrix-missing@example.com") { id }"#,
        UserRead,
    ),
    op("roles", "roles { id }", UserRead),
    op(
        "roleById",
        r#"roleById(id: "matrix-missing") { id }"#,
        UserRead,
    ),
    op(
        "roleByName",
        r#"roleByName(name: "matrix-missing") { id }"#,
        UserRead,
    ),
    op(
        "inviteUser",
        r#"inviteUser(input: {email: "matrix@example.com", givenName: "m", familyName: "m", role: {kind: NAME, value: "MatrixEmpty"}}) { user { id } }"#,
        UserModify,
    ),
    op(
        "updateUser",
        r#"updateUser(input: {id: "matrix-missing"}) { user { id } }"#,
        UserModify,
    ),
    op(
        "deleteUser",
        r#"deleteUser(input: {id: "matrix-missing"}) { id }"#,
        UserModify,
    ),
    op(
        "resetUserPassword",
        r#"resetUserPassword(input: {id: "matrix-missing"}) { setPasswordLink }"#,
        UserModify,
    ),
    op(
        "createRole",
        r#"createRole(input: {name: "matrix role", permissions: []}) { role { id } }"#,
        UserModify,
    ),
    op(
        "updateRole",
        r#"updateRole(input: {id: "matrix-missing"}) { role { id } }"#,
        UserModify,
    ),
    op(
        "deleteRole",
        r#"deleteRole(input: {id: "matrix-missing"}) { id }"#,
        UserModify,
    ),
    op(
        "updateAlertsAssigneeByEmail",
        r#"updateAlertsAssigneeByEmail(input: {ids: ["matrix-missing"]}) { alerts { id } }"#,
        AlertModify,
    ),
];

/// Field names of `Query` and `Mutation` in the exported SDL.
fn schema_operations() -> (BTreeSet<String>, BTreeSet<String>) {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let doc = async_graphql::parser::parse_schema(herald::graphql::sdl()).expect("the SDL parses");
    let (mut queries, mut mutations) = (BTreeSet::new(), BTreeSet::new());
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let TypeKind::Object(obj) = &t.node.kind else {
            continue;
        };
        let target = match t.node.name.node.as_str() {
            "Query" => &mut queries,
            "Mutation" => &mut mutations,
            _ => continue,
        };
        target.extend(obj.fields.iter().map(|f| f.node.name.node.to_string()));
    }
    (queries, mutations)
}

#[test]
fn matrix_covers_every_operation() {
    let (queries, mutations) = schema_operations();
    assert!(
        !queries.is_empty() && !mutations.is_empty(),
        "could not read Query/Mutation from the SDL"
    );
    let mut seen = BTreeSet::new();
    for o in MATRIX {
        assert!(seen.insert(o.name), "two MATRIX rows for {}", o.name);
    }
    let missing: Vec<&String> = queries
        .iter()
        .chain(&mutations)
        .filter(|n| !seen.contains(n.as_str()))
        .collect();
    let not_yet: Vec<&str> = MATRIX
        .iter()
        .map(|o| o.name)
        .filter(|n| !queries.contains(*n) && !mutations.contains(*n))
        .collect();
    if !not_yet.is_empty() {
        eprintln!("MATRIX rows for operations not in the schema (skipped): {not_yet:?}");
    }
    assert!(
        missing.is_empty(),
        "these operations have no row in the authorization MATRIX of tests/auth.rs; add one \
         (name, a small valid selection, the permission it needs): {missing:?}"
    );
}

/// Every table's rows (`last_used_at` left out: the coalesced token-use flush writes it).
async fn table_snapshot(db: &DatabaseConnection) -> BTreeMap<String, Vec<String>> {
    let backend = db.get_database_backend();
    let list = match backend {
        sea_orm::DatabaseBackend::Sqlite => "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        _ => "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    };
    let tables: Vec<String> = db
        .query_all(Statement::from_string(backend, list))
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.try_get::<String>("", "t").expect("table name"))
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let rows = match JsonValue::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT * FROM \"{t}\""),
        ))
        .all(db)
        .await
        {
            Ok(rows) => {
                let mut rows: Vec<String> = rows
                    .into_iter()
                    .map(|mut r| {
                        if let Some(o) = r.as_object_mut() {
                            o.remove("last_used_at");
                            // A console session's idle timer (touched on use).
                            o.remove("last_seen_at");
                        }
                        r.to_string()
                    })
                    .collect();
                rows.sort();
                rows
            }
            Err(_) => {
                let n = db
                    .query_one(Statement::from_string(
                        backend,
                        format!("SELECT COUNT(*) AS n FROM \"{t}\""),
                    ))
                    .await
                    .expect("count")
                    .and_then(|r| r.try_get::<i64>("", "n").ok())
                    .unwrap_or(-1);
                vec![format!("{n} rows")]
            }
        };
        out.insert(t, rows);
    }
    out
}

fn changed_tables(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    before
        .keys()
        .chain(after.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .cloned()
        .collect()
}

/// Who calls in a matrix column: an API token, or a console user signed in with a
/// session cookie (whose role holds the column's permissions).
enum Caller {
    Token(String),
    Session(crate::people::Console),
}

impl Caller {
    async fn send(&self, s: &TestServer, doc: &str) -> Value {
        match self {
            Caller::Token(token) => s.gql_as(token, doc, json!({})).await,
            Caller::Session(console) => console.gql(doc, json!({})).await,
        }
    }
}

/// The permission sets of the matrix's columns: none, each one alone, all.
fn matrix_sets() -> Vec<(String, Vec<Permission>)> {
    let mut sets: Vec<(String, Vec<Permission>)> = vec![("none".into(), vec![])];
    sets.extend(Permission::ALL.iter().map(|p| (p.name(), vec![*p])));
    sets.push(("all".into(), Permission::ALL.to_vec()));
    sets
}

/// The role every `inviteUser` cell gives: it holds nothing, so any caller may give it.
async fn matrix_empty_role(s: &TestServer) {
    s.ok(
        "mutation { createRole(input: {name: \"MatrixEmpty\", permissions: []}) { role { id } } }",
        json!({}),
    )
    .await;
}

async fn authorization_matrix(db: TestDb) {
    let s = TestServer::start(&db).await;
    matrix_empty_role(&s).await;
    let tokens = &s.services().tokens;
    let mut callers: Vec<(String, Vec<Permission>, Caller)> = Vec::new();
    for (label, perms) in matrix_sets() {
        let issued = tokens
            .create(&format!("matrix-{label}"), &perms, None, &[], "tests")
            .await
            .expect("token");
        callers.push((label, perms, Caller::Token(issued.value)));
    }
    run_matrix(&s, &db, callers).await;
    s.stop().await;
}

/// The same matrix with console users: a user whose role lacks a permission is refused
/// exactly as a token lacking it is (the same guards, the same code, nothing written).
async fn authorization_matrix_for_console_sessions(db: TestDb) {
    let s = TestServer::start_with(&db, |a| a.people.login_attempts_per_minute = 1000).await;
    matrix_empty_role(&s).await;
    let mut callers: Vec<(String, Vec<Permission>, Caller)> = Vec::new();
    for (label, perms) in matrix_sets() {
        let role = format!("matrix-role-{label}");
        let names: Vec<String> = perms.iter().map(|p| p.name()).collect();
        s.ok(
            "mutation($name: String!, $p: [Permission!]!) { createRole(input: {name: $name, permissions: $p}) { role { id } } }",
            json!({"name": role, "p": names}),
        )
        .await;
        let email = format!("matrix-{}@example.com", label.to_lowercase());
        let (_, console) = crate::people::sign_in(&s, &email, &role).await;
        callers.push((format!("user-{label}"), perms, Caller::Session(console)));
    }
    run_matrix(&s, &db, callers).await;
    s.stop().await;
}

async fn run_matrix(s: &TestServer, db: &TestDb, callers: Vec<(String, Vec<Permission>, Caller)>) {
    let (queries, mutations) = schema_operations();
    let conn = herald::store::connect(&db.url)
        .await
        .expect("connect for snapshots");

    let mut failures: Vec<String> = Vec::new();
    let mut grid: Vec<String> = Vec::new();
    for o in MATRIX {
        let kind = if queries.contains(o.name) {
            "query"
        } else if mutations.contains(o.name) {
            "mutation"
        } else {
            continue;
        };
        let doc = format!("{kind} {{ {} }}", o.selection);
        let mut line = format!("{:<26}", o.name);
        for (label, perms, caller) in &callers {
            let allowed = perms.contains(&o.needs);
            let before = if allowed {
                None
            } else {
                Some(table_snapshot(&conn).await)
            };
            let r = caller.send(s, &doc).await;
            let errors = r["errors"].as_array().cloned().unwrap_or_default();
            let cell = format!("{} as {label}", o.name);
            if let Some(e) = errors
                .iter()
                .find(|e| e.get("path").is_none_or(|p| p.is_null()))
            {
                failures.push(format!(
                    "{cell}: the MATRIX document does not fit the schema, fix its row: {}",
                    e["message"]
                ));
                line.push_str(" ?");
                continue;
            }
            let forbidden: Vec<&Value> = errors
                .iter()
                .filter(|e| e["extensions"]["code"] == "FORBIDDEN")
                .collect();
            match (allowed, forbidden.first()) {
                (true, None) => line.push_str(" ✓"),
                (true, Some(e)) => {
                    failures.push(format!(
                        "{cell}: holds {} but got FORBIDDEN: {}",
                        o.needs.name(),
                        e["message"]
                    ));
                    line.push_str(" !");
                }
                (false, None) => {
                    failures.push(format!(
                        "{cell}: lacks {} but was let through: {r}",
                        o.needs.name()
                    ));
                    line.push_str(" !");
                }
                (false, Some(e)) => {
                    line.push_str(" ·");
                    let msg = e["message"].as_str().unwrap_or_default();
                    if !msg.contains(&o.needs.name()) {
                        failures.push(format!(
                            "{cell}: the FORBIDDEN message should name {}: {msg}",
                            o.needs.name()
                        ));
                    }
                    if !(r["data"].is_null() || r["data"][o.name].is_null()) {
                        failures.push(format!("{cell}: FORBIDDEN but returned data: {r}"));
                    }
                    let after = table_snapshot(&conn).await;
                    let changed = changed_tables(before.as_ref().unwrap(), &after);
                    if !changed.is_empty() {
                        failures.push(format!("{cell}: FORBIDDEN but wrote to {changed:?}"));
                    }
                }
            }
        }
        grid.push(line);
    }
    let header: Vec<&str> = callers.iter().map(|(l, _, _)| l.as_str()).collect();
    eprintln!("authorization matrix (✓ allowed, · forbidden, ! wrong, ? bad row); columns: {header:?}\n{}", grid.join("\n"));
    assert!(
        failures.is_empty(),
        "{} authorization matrix cells are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    conn.close().await.ok();
}

/// A token cannot mint one that outlives it or reaches further than it does, nor revoke
/// a token holding more than it does.
async fn token_cannot_outlive_or_outreach_its_creator(db: TestDb) {
    let s = TestServer::start(&db).await;
    let all = json!([
        "OrganizationAPITokenRead",
        "OrganizationAPITokenModify",
        "AlertRead"
    ]);
    let code = |r: &Value| {
        r["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("ok")
            .to_string()
    };

    let expiring = create_token(
        &s,
        json!({"name": "expiring", "permissions": all, "expiresAt": "2999-01-01T00:00:00Z"}),
    )
    .await;
    let ev = str_of(&expiring["value"]);
    let before = token_count(&s).await;
    for input in [
        json!({"name": "forever", "permissions": ["AlertRead"]}),
        json!({"name": "later", "permissions": ["AlertRead"], "expiresAt": "2999-06-01T00:00:00Z"}),
    ] {
        let r = s
            .gql_as(&ev, ops::CREATE_TOKEN, json!({ "input": input }))
            .await;
        assert_eq!(code(&r), "FORBIDDEN", "{r:#}");
    }
    assert_eq!(token_count(&s).await, before, "refusals write nothing");
    let r = s.gql_as(&ev, ops::CREATE_TOKEN, json!({"input": {"name": "sooner", "permissions": ["AlertRead"], "expiresAt": "2998-01-01T00:00:00Z"}})).await;
    assert_eq!(code(&r), "ok", "{r:#}");

    let fenced = create_token(
        &s,
        json!({"name": "fenced", "permissions": all, "allowedCIDRBlocks": ["127.0.0.0/8"]}),
    )
    .await;
    let fv = str_of(&fenced["value"]);
    for blocks in [
        json!(null),
        json!([]),
        json!(["0.0.0.0/0"]),
        json!(["127.0.0.1", "10.0.0.0/8"]),
    ] {
        let r = s.gql_as(&fv, ops::CREATE_TOKEN, json!({"input": {"name": "wider", "permissions": ["AlertRead"], "allowedCIDRBlocks": blocks}})).await;
        assert_eq!(code(&r), "FORBIDDEN", "{blocks}: {r:#}");
    }
    let r = s.gql_as(&fv, ops::CREATE_TOKEN, json!({"input": {"name": "narrower", "permissions": ["AlertRead"], "allowedCIDRBlocks": ["127.0.0.1/32"]}})).await;
    assert_eq!(code(&r), "ok", "{r:#}");

    // Revoking a token that holds more than the caller is refused too.
    let admin_id = admin_token_id(&s).await;
    let r = s
        .gql_as(&fv, ops::DELETE_TOKEN, json!({"id": admin_id}))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r:#}");
    assert_accepted(&s, &s.token, "admin token after a refused revocation").await;
    s.stop().await;
}

/// Revoking a token revokes every token it minted, recursively, in one transaction;
/// tokens outside its lineage keep working.
async fn revoking_a_token_revokes_what_it_minted(db: TestDb) {
    let s = TestServer::start(&db).await;
    let mint = |by: String, name: &'static str, perms: Value| {
        let s = &s;
        async move {
            let r = s
                .gql_as(
                    &by,
                    ops::CREATE_TOKEN,
                    json!({"input": {"name": name, "permissions": perms}}),
                )
                .await;
            assert!(r.get("errors").is_none(), "{name}: {r:#}");
            let t = &r["data"]["createAPIToken"]["token"];
            (str_of(&t["id"]), str_of(&t["value"]))
        }
    };
    let managing = json!([
        "OrganizationAPITokenRead",
        "OrganizationAPITokenModify",
        "DestinationRead"
    ]);
    let (a_id, a) = mint(s.token.clone(), "lineage-a", managing.clone()).await;
    let (b_id, b) = mint(a.clone(), "lineage-b", managing.clone()).await;
    let (c_id, c) = mint(b.clone(), "lineage-c", json!(["DestinationRead"])).await;
    let (d_id, d) = mint(a.clone(), "lineage-d", json!(["DestinationRead"])).await;
    let (_, other) = mint(s.token.clone(), "unrelated", json!(["DestinationRead"])).await;
    assert_eq!(
        stored_token(&s, &b_id).await.parent_id.as_deref(),
        Some(a_id.as_str())
    );
    assert_eq!(
        stored_token(&s, &c_id).await.parent_id.as_deref(),
        Some(b_id.as_str())
    );
    assert_eq!(
        stored_token(&s, &d_id).await.parent_id.as_deref(),
        Some(a_id.as_str())
    );
    for (t, what) in [(&a, "a"), (&b, "b"), (&c, "c"), (&d, "d")] {
        assert_accepted(&s, t, &format!("{what} before the revocation")).await;
    }

    let r = s.ok(ops::DELETE_TOKEN, json!({"id": a_id})).await;
    assert_eq!(r["deleteAPIToken"], true);
    for (t, what) in [
        (&a, "a"),
        (&b, "b, minted by a"),
        (&c, "c, minted by b"),
        (&d, "d, minted by a"),
    ] {
        assert_refused(&s, t, &format!("{what} after a was revoked")).await;
    }
    assert_accepted(&s, &other, "a token a did not mint").await;
    assert_accepted(&s, &s.token, "the admin token that minted a").await;
    let at = stored_token(&s, &a_id).await.revoked_at;
    assert!(at.is_some());
    for id in [&b_id, &c_id, &d_id] {
        assert_eq!(
            stored_token(&s, id).await.revoked_at,
            at,
            "revoked together with a"
        );
    }
    let list = s.ok(ops::TOKEN_IDS, json!({})).await;
    let listed: Vec<String> = list["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| str_of(&t["id"]))
        .collect();
    for id in [&a_id, &b_id, &c_id, &d_id] {
        assert!(!listed.contains(id), "{id} still listed: {listed:?}");
    }
    s.stop().await;
}

/// A token that cannot be checked because the database is failing is 503 UNAVAILABLE
/// (retryable), never 401.
async fn authentication_with_the_database_down_is_503(db: TestDb) {
    let s = TestServer::start(&db).await;
    assert_accepted(&s, &s.token, "before the database goes away").await;
    // A token checked within the last second is known without the database: wait until
    // this one must be looked up again.
    tokio::time::sleep(herald::auth::cache::TTL).await;
    s.services()
        .db
        .clone()
        .close()
        .await
        .expect("close the pool");
    let r = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", &s.token)
        .json(&json!({"query": ops::DESTINATION_IDS}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{body:#}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("retry"),
        "{body:#}"
    );
    // A request without a token is still refused as before.
    let (status, _) = raw(&s, &[], ops::DESTINATION_IDS).await;
    assert_eq!(status, 401);
    // The pool is closed for good: the server is dropped, not stopped cleanly.
    drop(s);
}

on_both!(
    revoking_a_token_revokes_what_it_minted,
    authentication_with_the_database_down_is_503,
    token_cannot_outlive_or_outreach_its_creator,
    missing_or_malformed_token_is_refused,
    expired_token_is_refused,
    token_signed_with_another_key_is_refused,
    tampered_token_is_refused,
    alg_none_token_is_refused,
    revoked_token_is_refused_in_every_process,
    rotated_token_old_value_is_refused,
    token_outside_cidr_blocks_is_refused,
    api_tokens_are_created_listed_and_validated,
    token_cannot_grant_more_than_it_holds,
    introspection_can_be_disabled,
    token_cli_creates_lists_and_revokes,
    token_cli_fences_tokens_to_allowed_cidrs,
    authorization_matrix,
    authorization_matrix_for_console_sessions,
);
