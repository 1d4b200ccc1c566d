//! The dispatcher under hostile or dead destinations: a hanging destination cannot
//! delay the others, a dead one is paused by the circuit breaker (its deliveries wait,
//! none is dropped or burns attempts) and resumed by a successful probe, and
//! `sendTestAlert` de-duplicates ids and keeps to the destination's limits.

use crate::ops;
use crate::support::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// 40 alerts go to a destination that hangs for 3 s and to a healthy one: the healthy
/// one gets all 40 while the hanging one still holds its share of workers.
async fn a_hanging_destination_does_not_delay_others(db: TestDb) {
    let s = TestServer::start_with(&db, |a| {
        a.workers = 8;
        a.request_timeout_ms = 4000;
        a.lease_ms = 5500;
    })
    .await;
    let hanging = Receiver::start().await;
    hanging.default_reply(Reply::status(200).delay(Duration::from_secs(3)));
    let healthy = Receiver::start().await;
    s.add_destination(json!({"displayName": "Hanging", "outputConfig": {"customWebhook": {"webhookURL": hanging.url}}, "defaultForSeverity": ["HIGH"]})).await;
    s.add_destination(json!({"displayName": "Healthy", "outputConfig": {"customWebhook": {"webhookURL": healthy.url}}, "defaultForSeverity": ["HIGH"]})).await;
    let start = Instant::now();
    for i in 0..40 {
        s.create_alert(NewAlert {
            detection_id: "iso",
            dedup_string: Some(&i.to_string()),
            ..Default::default()
        })
        .await;
    }
    healthy.wait_for(40, Duration::from_secs(10)).await;
    let took = start.elapsed();
    let hanging_seen = hanging.requests().len();
    println!(
        "injected: a destination hanging 3 s per request with a backlog of 40; the healthy one received 40 in {took:?} while the hanging one had {hanging_seen} requests open or done"
    );
    assert!(
        took < Duration::from_secs(3),
        "the healthy destination waited behind the hanging one: {took:?}"
    );
    assert!(
        hanging_seen <= 2,
        "the hanging destination holds at most its share (a quarter of 8 workers): {hanging_seen}"
    );
    s.stop().await;
}

const PAUSE_ALERTS: &str =
    r#"{ alerts(input: {types: [SYSTEM_ERROR]}) { edges { node { title detectionId } } } }"#;
const DELIVERIES: &str = r#"{ alerts(input: {detectionId: "iso"}) { edges { node { deliveries { status attemptCount } } } } }"#;

async fn health_of(s: &TestServer, name: &str) -> Value {
    s.ok(ops::DESTINATION_HEALTH, json!({})).await["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["displayName"] == name)
        .unwrap()["health"]
        .clone()
}

/// A destination failing every request is paused after HERALD_BREAKER_FAILURES
/// failures; its deliveries stay PENDING through many probe intervals without running
/// out of attempts; the first successful probe resumes it and everything is delivered.
async fn a_dead_destination_is_paused_and_resumed(db: TestDb) {
    let s = TestServer::start_with(&db, |a| {
        a.breaker_failures = 3;
        a.breaker_probe_ms = 300;
        a.max_attempts = 4;
    })
    .await;
    let dead = Receiver::start().await;
    dead.default_reply(Reply::status(503));
    let ops = Receiver::start().await;
    s.add_destination(json!({"displayName": "Dead", "outputConfig": {"customWebhook": {"webhookURL": dead.url}}, "defaultForSeverity": ["HIGH"]})).await;
    s.add_destination(json!({"displayName": "Ops", "outputConfig": {"customWebhook": {"webhookURL": ops.url}}, "defaultForSeverity": ["HIGH"], "alertTypes": ["SYSTEM_ERROR"]})).await;
    for i in 0..3 {
        s.create_alert(NewAlert {
            detection_id: "iso",
            dedup_string: Some(&format!("dead-{i}")),
            ..Default::default()
        })
        .await;
    }
    let h = eventually(
        Duration::from_secs(10),
        "the destination to pause",
        || async {
            let h = health_of(&s, "Dead").await;
            (h["state"] == "PAUSED").then_some(h)
        },
    )
    .await;
    assert!(
        h["pausedAt"].is_string() && h["nextProbeAt"].is_string(),
        "{h}"
    );
    // Several probe intervals pass: far more than max_attempts would allow, yet no
    // delivery fails, and only probes (one per interval) reach the receiver.
    let at_pause = dead.requests().len();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let probes = dead.requests().len() - at_pause;
    let d = s.ok(DELIVERIES, json!({})).await;
    let statuses: Vec<String> = d["alerts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["node"]["deliveries"].as_array().unwrap().clone())
        .map(|d| d["status"].as_str().unwrap().to_string())
        .collect();
    println!("injected: a destination answering 503 to everything; paused after {at_pause} requests, {probes} probes in 2 s, deliveries {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|st| st == "PENDING" || st == "IN_FLIGHT"),
        "{statuses:?}"
    );
    assert!(
        (2..=8).contains(&probes),
        "about one probe per 300 ms: {probes}"
    );
    let titles = s.ok(PAUSE_ALERTS, json!({})).await.to_string();
    assert!(titles.contains("Destination Dead paused after"), "{titles}");
    // The destination comes back: the next probe resumes it and every delivery succeeds.
    dead.default_reply(Reply::status(200));
    eventually(
        Duration::from_secs(10),
        "everything delivered after resume",
        || async {
            let d = s.ok(DELIVERIES, json!({})).await;
            let all = d["alerts"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e["node"]["deliveries"].as_array().unwrap().clone())
                .all(|d| d["status"] == "SUCCEEDED");
            all.then_some(())
        },
    )
    .await;
    let h = health_of(&s, "Dead").await;
    assert_eq!(h["state"], "HEALTHY", "{h}");
    assert!(h["pausedAt"].is_null(), "{h}");
    eventually(Duration::from_secs(5), "the resumed alert", || async {
        let t = s.ok(PAUSE_ALERTS, json!({})).await.to_string();
        t.contains("Destination Dead resumed").then_some(())
    })
    .await;
    s.stop().await;
}

const SEND_TEST: &str = "mutation($i: SendTestAlertInput!) { sendTestAlert(input: $i) { outputId success statusCode message } }";

/// One id named 1,000 times is one send; back-to-back test sends keep to a 2/s limit.
async fn send_test_alert_deduplicates_and_keeps_limits(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    let id = s.add_destination(json!({"displayName": "Limited", "outputConfig": {"customWebhook": {"webhookURL": r.url}}, "defaultForSeverity": ["HIGH"], "maxRequestsPerSecond": 2.0})).await;
    let ids: Vec<&str> = std::iter::repeat_n(id.as_str(), 1000).collect();
    let res = s.ok(SEND_TEST, json!({"i": {"outputIds": ids}})).await;
    assert_eq!(res["sendTestAlert"].as_array().unwrap().len(), 1, "{res}");
    assert_eq!(r.requests().len(), 1);
    let start = Instant::now();
    for _ in 0..4 {
        let res = s.ok(SEND_TEST, json!({"i": {"outputIds": [id]}})).await;
        assert_eq!(res["sendTestAlert"][0]["success"], true, "{res}");
    }
    let took = start.elapsed();
    println!(
        "1,000 repeated ids gave 1 request; 5 test sends at 2/s took {took:?} after the first"
    );
    assert!(
        took >= Duration::from_millis(1400),
        "the rate limit was kept: {took:?}"
    );
    s.stop().await;
}

on_both!(
    a_hanging_destination_does_not_delay_others,
    a_dead_destination_is_paused_and_resumed,
    send_test_alert_deduplicates_and_keeps_limits
);
