//! Routing runs against an in-memory copy of destinations (without their configs) and
//! detection overrides, checked against the configuration version inside each
//! ingestion transaction: an alert ingested after a configuration write commits routes
//! by it, whether the write was made by this process or another one on the database.
//! Two servers on one database stand for two processes. SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL.

use crate::ops;
use crate::support::{str_of, Receiver, TestDb, TestServer};
use serde_json::{json, Value};
use std::sync::Arc;

/// The output ids an alert was routed to (a fresh dedup string each time, so every
/// call creates an alert and routes it).
async fn routed_to(s: &TestServer, detection: &str, severity: &str) -> Vec<String> {
    let a = s
        .create_alert_detailed(json!({
            "detectionId": detection,
            "title": "t",
            "severity": severity,
            "dedupString": uuid::Uuid::new_v4().to_string(),
        }))
        .await;
    assert_eq!(a["deduplicated"], false, "{a:#}");
    let mut ids: Vec<String> = a["routing"]["destinations"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| str_of(&d["outputId"]))
        .collect();
    ids.sort();
    ids
}

fn webhook(id: Option<&str>, name: &str, url: &str, severities: &[&str]) -> Value {
    let mut v = json!({
        "displayName": name,
        "outputConfig": {"customWebhook": {"webhookURL": url}},
        "defaultForSeverity": severities,
    });
    if let Some(id) = id {
        v["outputId"] = json!(id);
    }
    v
}

async fn update(s: &TestServer, input: Value) {
    s.ok(ops::UPDATE_DESTINATION, json!({ "input": input }))
        .await;
}

async fn a_change_on_one_process_routes_the_next_alert_on_another(db: TestDb) {
    let rx = Receiver::start().await;
    let url = format!("{}/hook", rx.url);
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let x = a.add_webhook("x", &url, &["HIGH"]).await;
    // B routes (and so holds its copy of the configuration) before each change.
    assert_eq!(routed_to(&b, "d", "HIGH").await, vec![x.clone()]);

    update(&a, webhook(Some(&x), "x", &url, &["LOW"])).await;
    assert!(
        routed_to(&b, "d", "HIGH").await.is_empty(),
        "severities changed on A"
    );
    assert_eq!(routed_to(&b, "d", "LOW").await, vec![x.clone()]);

    let y = a.add_webhook("y", &url, &["LOW"]).await;
    let mut both = vec![x.clone(), y.clone()];
    both.sort();
    assert_eq!(routed_to(&b, "d", "LOW").await, both, "added on A");

    let d = a.ok(ops::DELETE_DESTINATION, json!({ "id": y })).await;
    assert_eq!(d["deleteDestination"], true);
    assert_eq!(
        routed_to(&b, "d", "LOW").await,
        vec![x.clone()],
        "deleted on A"
    );

    // Detection overrides: routing to a destination the severity would not choose.
    let z = a.add_webhook("z", &url, &[]).await;
    assert_eq!(routed_to(&b, "special", "LOW").await, vec![x.clone()]);
    a.put_override(json!({"detectionId": "special", "outputIds": [z]}))
        .await;
    assert_eq!(
        routed_to(&b, "special", "LOW").await,
        vec![z.clone()],
        "override put on A"
    );
    let r = a.ok(ops::DELETE_OVERRIDE, json!({ "id": "special" })).await;
    assert_eq!(r["deleteDetectionOverride"], true);
    assert_eq!(
        routed_to(&b, "special", "LOW").await,
        vec![x.clone()],
        "override deleted on A"
    );

    // And the other way round: B's change routes A's next alert.
    update(&b, webhook(Some(&x), "x", &url, &["HIGH", "LOW"])).await;
    assert_eq!(
        routed_to(&a, "d", "HIGH").await,
        vec![x.clone()],
        "changed on B"
    );
    a.stop().await;
    b.stop().await;
}

async fn a_change_routes_the_next_alert_in_the_same_process(db: TestDb) {
    let rx = Receiver::start().await;
    let url = format!("{}/hook", rx.url);
    let s = TestServer::start(&db).await;
    let x = s.add_webhook("x", &url, &["HIGH"]).await;
    let severities = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    for now in severities {
        update(&s, webhook(Some(&x), "x", &url, &[now])).await;
        for sev in severities {
            let expected = if sev == now { vec![x.clone()] } else { vec![] };
            assert_eq!(routed_to(&s, "d", sev).await, expected, "{sev} after {now}");
        }
        // The dry run reads the same configuration.
        let p = s
            .ok(
                "mutation($input: CreateAlertInput!) { routeAlert(input: $input) { destinations { outputId } } }",
                json!({"input": {"detectionId": "d", "title": "t", "severity": now}}),
            )
            .await;
        assert_eq!(
            p["routeAlert"]["destinations"][0]["outputId"],
            json!(x),
            "{p:#}"
        );
    }
    s.stop().await;
}

/// The copy holds no destination config (so no secret), is reused while nothing
/// changes, and every configuration write moves the version on.
async fn the_copy_holds_no_config_and_follows_the_version(db: TestDb) {
    let rx = Receiver::start().await;
    let s = TestServer::start(&db).await;
    let svc = s.services();
    let version = || herald::store::destinations::config_version(&svc.db);
    let before = version().await.unwrap();
    let x = s
        .add_destination(json!({
            "displayName": "signed",
            "outputConfig": {"customWebhook": {"webhookURL": format!("{}/hook", rx.url), "signingSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
            "defaultForSeverity": ["HIGH"],
        }))
        .await;
    assert_eq!(version().await.unwrap(), before + 1);
    let first = svc.routing.current(&svc.db).await.unwrap();
    assert_eq!(first.version, before + 1);
    assert_eq!(first.destinations.len(), 1);
    assert!(
        first.destinations[0].config.is_null(),
        "{:?}",
        first.destinations[0]
    );
    let again = svc.routing.current(&svc.db).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "no write, no reload");

    let writes: Vec<(&str, Value)> = vec![
        (
            ops::PUT_OVERRIDE,
            json!({"input": {"detectionId": "d", "severity": "LOW"}}),
        ),
        (ops::DELETE_OVERRIDE, json!({"id": "d"})),
        (ops::DELETE_DESTINATION, json!({"id": x})),
    ];
    for (i, (q, vars)) in writes.into_iter().enumerate() {
        s.ok(q, vars).await;
        let now = svc.routing.current(&svc.db).await.unwrap();
        assert_eq!(now.version, before + 2 + i as i64, "{q}");
    }
    assert!(svc
        .routing
        .current(&svc.db)
        .await
        .unwrap()
        .destinations
        .is_empty());
    // A refused write moves nothing.
    let (code, _) = s
        .err(
            ops::DELETE_DESTINATION,
            json!({"id": "no-such-destination"}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    assert_eq!(version().await.unwrap(), before + 4);
    s.stop().await;
}

on_both!(
    a_change_on_one_process_routes_the_next_alert_on_another,
    a_change_routes_the_next_alert_in_the_same_process,
    the_copy_holds_no_config_and_follows_the_version,
);
