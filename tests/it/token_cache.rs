//! The per-process token cache: a request with a known token reads nothing, yet a
//! revocation or rotation holds at once in the process that made it and within one
//! second in every other process on the database; expiry and CIDR blocks are checked on
//! every request, cached or not. Two servers on one database stand for two processes.
//! SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use crate::ops;
use crate::support::{eventually, str_of, TestDb, TestServer};
use herald::auth::cache::TTL;
use herald::auth::AuthError;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The HTTP status of a trivial authenticated read with `token`.
async fn status(s: &TestServer, token: &str) -> u16 {
    s.client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", token)
        .json(&json!({ "query": ops::DESTINATION_IDS }))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn new_token(s: &TestServer, input: Value) -> (String, String) {
    let t =
        s.ok(ops::CREATE_TOKEN, json!({ "input": input })).await["createAPIToken"]["token"].clone();
    (str_of(&t["id"]), str_of(&t["value"]))
}

/// Wait until `s` refuses `token`; fail unless that took at most the cache's lifetime
/// (with slack for a loaded machine) since `since`.
async fn refused_within_the_ttl(s: &TestServer, token: &str, since: Instant, what: &str) {
    eventually(Duration::from_secs(5), what, || async {
        (status(s, token).await == 401).then_some(())
    })
    .await;
    let took = since.elapsed();
    assert!(
        took <= TTL + Duration::from_millis(500),
        "{what}: refused only after {took:?}"
    );
}

fn loopback() -> Option<IpAddr> {
    Some("127.0.0.1".parse().unwrap())
}

async fn revocation_holds_here_at_once_and_elsewhere_within_a_second(db: TestDb) {
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let (id, value) = new_token(
        &a,
        json!({"name": "cached", "permissions": ["DestinationRead"]}),
    )
    .await;
    // Both processes now hold the token in their caches.
    for _ in 0..3 {
        assert_eq!(status(&a, &value).await, 200);
        assert_eq!(status(&b, &value).await, 200);
    }
    let d = a.ok(ops::DELETE_TOKEN, json!({ "id": id })).await;
    assert_eq!(d["deleteAPIToken"], true);
    let since = Instant::now();
    assert_eq!(
        status(&a, &value).await,
        401,
        "refused at once where revoked"
    );
    refused_within_the_ttl(&b, &value, since, "revoked on A, refused on B").await;
    // And it stays refused in both (a revoked row never comes back).
    tokio::time::sleep(TTL).await;
    assert_eq!(status(&a, &value).await, 401);
    assert_eq!(status(&b, &value).await, 401);
    a.stop().await;
    b.stop().await;
}

async fn rotation_holds_here_at_once_and_elsewhere_within_a_second(db: TestDb) {
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let (id, old) = new_token(
        &a,
        json!({"name": "rotating", "permissions": ["DestinationRead"]}),
    )
    .await;
    assert_eq!(status(&a, &old).await, 200);
    assert_eq!(status(&b, &old).await, 200);
    let r = a.ok(ops::ROTATE_TOKEN, json!({ "id": id })).await;
    let new = str_of(&r["rotateAPIToken"]["token"]["value"]);
    let since = Instant::now();
    assert_eq!(
        status(&a, &old).await,
        401,
        "old value refused at once where rotated"
    );
    // The new value works everywhere at once: a cached row holding another value is
    // read again, never a reason to refuse.
    assert_eq!(status(&a, &new).await, 200);
    assert_eq!(status(&b, &new).await, 200);
    refused_within_the_ttl(&b, &old, since, "old value on B after rotation on A").await;
    assert_eq!(status(&b, &new).await, 200);
    a.stop().await;
    b.stop().await;
}

/// A known token is accepted without reading the database (within the cache's
/// lifetime), and asked again once that has passed.
async fn a_known_token_reads_nothing(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (_, value) = new_token(
        &s,
        json!({"name": "known", "permissions": ["DestinationRead"]}),
    )
    .await;
    let tokens = s.services().tokens.clone();
    let checked_at = Instant::now();
    tokens
        .authenticate(&value, loopback())
        .await
        .expect("accepted");
    s.services()
        .db
        .clone()
        .close()
        .await
        .expect("close the pool");
    let again = tokens.authenticate(&value, loopback()).await;
    // Only meaningful while the entry is fresh; on any machine this is microseconds.
    assert!(
        checked_at.elapsed() < TTL,
        "the machine stalled for a second"
    );
    let p = again.expect("a cached token needs no database");
    assert_eq!(p.name, "known");
    tokio::time::sleep(TTL).await;
    assert!(
        matches!(
            tokens.authenticate(&value, loopback()).await,
            Err(AuthError::Unavailable(_))
        ),
        "after the cache's lifetime the token is looked up again"
    );
    drop(s);
}

/// CIDR blocks and expiry apply to a cached row as to a fresh one.
async fn a_cached_token_keeps_its_cidr_blocks_and_expiry(db: TestDb) {
    let s = TestServer::start(&db).await;
    let tokens = s.services().tokens.clone();
    let expires = chrono::Utc::now() + chrono::Duration::milliseconds(2500);
    let expires_ms = expires.timestamp_millis();
    let (_, value) = new_token(
        &s,
        json!({"name": "fenced", "permissions": ["DestinationRead"], "allowedCIDRBlocks": ["127.0.0.0/8"], "expiresAt": expires.to_rfc3339()}),
    )
    .await;
    tokens
        .authenticate(&value, loopback())
        .await
        .expect("inside the block");
    for outside in [Some("10.1.2.3".parse().unwrap()), None] {
        assert!(
            matches!(
                tokens.authenticate(&value, outside).await,
                Err(AuthError::Refused(_))
            ),
            "{outside:?} is outside the token's blocks"
        );
    }
    assert!(tokens
        .authenticate(&value, Some("::ffff:127.0.0.9".parse().unwrap()))
        .await
        .is_ok());
    // Accepted until the stored expiry, refused from that instant on, though the row
    // stays cached (it is read again at most once a second, and each read is fresh).
    let mut accepted = 0;
    loop {
        let before = chrono::Utc::now().timestamp_millis();
        let r = tokens.authenticate(&value, loopback()).await;
        let after = chrono::Utc::now().timestamp_millis();
        match r {
            Ok(_) => {
                assert!(
                    before < expires_ms,
                    "accepted at {before}, expired at {expires_ms}"
                );
                accepted += 1;
            }
            Err(AuthError::Refused(_)) => {
                assert!(
                    after >= expires_ms,
                    "refused at {after}, before expiry {expires_ms}"
                );
                break;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(
            after < expires_ms + 2000,
            "still accepted long after expiry"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(accepted > 10, "accepted {accepted} times before expiry");
    assert_eq!(status(&s, &value).await, 401);
    s.stop().await;
}

on_both!(
    revocation_holds_here_at_once_and_elsewhere_within_a_second,
    rotation_holds_here_at_once_and_elsewhere_within_a_second,
    a_known_token_reads_nothing,
    a_cached_token_keeps_its_cidr_blocks_and_expiry,
);
