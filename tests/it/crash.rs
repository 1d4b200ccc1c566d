//! Real processes: SIGKILL while deliveries are in flight loses nothing (the outbox
//! and leases bring them back after a restart); SIGTERM finishes in-flight work.

use crate::ops;
use crate::support::process::{cli_token_with, command, free_port, Herald};
use crate::support::*;
use serde_json::json;
use std::time::Duration;

/// The crash tests' settings on top of the shared process defaults.
fn crash_herald(db: &TestDb, port: u16, extra: &[(&str, &str)]) -> std::process::Command {
    let mut c = command(db, port, extra);
    c.env("HERALD_JWT_SECRET", "crash-test-secret")
        .env("HERALD_RETRY_MAX_DELAY_MS", "100")
        .env_remove("HERALD_MAX_ATTEMPTS");
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

async fn spawn(db: &TestDb, extra: &[(&str, &str)]) -> Herald {
    let port = free_port();
    Herald::spawn(crash_herald(db, port, extra), port).await
}

/// A token signed with the crash tests' JWT secret.
fn crash_token(db: &TestDb) -> String {
    cli_token_with(db, crash_herald(db, 0, &[]))
}

const STATUSES: &str =
    "{ alerts(input: {pageSize: 100}) { edges { node { id deliveries { status } } } } }";

async fn statuses(url: &str, token: &str) -> Vec<(String, String)> {
    let v = GqlClient::new(url, token).ok(STATUSES, json!({})).await;
    v["alerts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            let id = e["node"]["id"].as_str().unwrap().to_string();
            e["node"]["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| (id.clone(), d["status"].as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn setup(url: &str, token: &str, receiver: &Receiver, alerts: usize) {
    GqlClient::new(url, token).ok(ops::ADD_DESTINATION_DETAILED,
        json!({"input": {"displayName": "Slow", "outputConfig": {"customWebhook": {"webhookURL": receiver.url}}, "defaultForSeverity": ["HIGH"]}}),
    )
    .await;
    for i in 0..alerts {
        GqlClient::new(url, token).ok(ops::CREATE_ALERT,
            json!({"input": {"detectionId": "crash", "title": "t", "severity": "HIGH", "dedupString": i.to_string()}}),
        )
        .await;
    }
}

async fn sigkill_mid_delivery_loses_nothing(db: TestDb) {
    let receiver = Receiver::start().await;
    // Slow answers so deliveries are in flight when the process dies.
    receiver.default_reply(Reply::status(200).delay(Duration::from_millis(1000)));
    let token = crash_token(&db);
    let mut first = spawn(&db, &[]).await;
    setup(&first.url, &token, &receiver, 12).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    first.kill();
    let before = statuses_from_db(&db).await;
    assert!(
        before.iter().any(|s| s != "SUCCEEDED"),
        "the kill came too late to test anything: {before:?}"
    );

    receiver.default_reply(Reply::status(200));
    let second = spawn(&db, &[]).await;
    let done = eventually(
        Duration::from_secs(30),
        "every delivery to succeed after restart",
        || async {
            let s = statuses(&second.url, &token).await;
            (s.len() == 12 && s.iter().all(|(_, st)| st == "SUCCEEDED")).then_some(s)
        },
    )
    .await;
    // At least once: every alert reached the receiver.
    let got: std::collections::HashSet<String> = receiver
        .requests()
        .iter()
        .map(|r| r.json()["alertId"].as_str().unwrap().to_string())
        .collect();
    for (alert, _) in &done {
        assert!(got.contains(alert), "alert {alert} never arrived");
    }
    second.stop().await;
}

async fn statuses_from_db(db: &TestDb) -> Vec<String> {
    use sea_orm::EntityTrait;
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    let rows = herald::store::entities::delivery::Entity::find()
        .all(&conn)
        .await
        .unwrap();
    conn.close().await.ok();
    rows.into_iter().map(|d| d.status.to_string()).collect()
}

async fn sigterm_finishes_in_flight_work(db: TestDb) {
    let receiver = Receiver::start().await;
    receiver.default_reply(Reply::status(200).delay(Duration::from_millis(700)));
    let token = crash_token(&db);
    let p = spawn(&db, &[("HERALD_SHUTDOWN_GRACE_MS", "5000")]).await;
    setup(&p.url, &token, &receiver, 3).await;
    receiver.wait_for(3, Duration::from_secs(10)).await;
    p.stop().await;
    let after = statuses_from_db(&db).await;
    assert_eq!(
        after,
        ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"],
        "in-flight deliveries finished before exit"
    );
}

/// Secrets never reach the logs, even at debug level and when deliveries fail.
async fn secrets_never_appear_in_logs(db: TestDb) {
    let receiver = Receiver::start().await;
    receiver.default_reply(Reply::status(400).body("rejected"));
    let token = crash_token(&db);
    let log = tempfile::NamedTempFile::new().unwrap();
    let port = free_port();
    let mut cmd = crash_herald(
        &db,
        port,
        &[("HERALD_LOG", "debug"), ("HERALD_MAX_ATTEMPTS", "2")],
    );
    cmd.stderr(log.reopen().unwrap());
    let p = Herald::spawn(cmd, port).await;
    let secret_path = "T000/B000/XyZsecretPathValue";
    let header_secret = "hdr-secret-value-123";
    let signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    p.api(&token)
        .ok(
            ops::ADD_DESTINATION_DETAILED,
            json!({"input": {"displayName": "Leaky?", "outputConfig": {"customWebhook": {
            "webhookURL": format!("{}/{secret_path}", receiver.url),
            "headers": [{"key": "X-Secret", "value": header_secret}], "signingSecret": signing}},
            "defaultForSeverity": ["HIGH"]}}),
        )
        .await;
    p.api(&token)
        .ok(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "d", "title": "t", "severity": "HIGH"}}),
        )
        .await;
    // unreachable port: the network error text must not carry the URL either
    p.api(&token).ok(ops::ADD_DESTINATION_DETAILED, json!({"input": {"displayName": "Closed", "outputConfig": {"customWebhook": {
        "webhookURL": format!("http://127.0.0.1:{}/{secret_path}", free_port())}}, "defaultForSeverity": ["HIGH"]}})).await;
    p.api(&token)
        .ok(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "e", "title": "t", "severity": "HIGH"}}),
        )
        .await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let everything = p.api(&token).ok("{ destinations { outputConfig { customWebhook { webhookURL headers { value } signingSecret } } } alerts { edges { node { deliveries { message attempts { message } } } } } }", json!({})).await;
    p.stop().await;
    let logs = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logs.contains("delivery attempt"),
        "debug logs were captured"
    );
    for secret in [secret_path, header_secret, signing, &signing[6..]] {
        assert!(!logs.contains(secret), "secret {secret:?} in the logs");
        assert!(
            !everything.to_string().contains(secret),
            "secret {secret:?} in a query result"
        );
    }
}

on_both!(
    sigkill_mid_delivery_loses_nothing,
    sigterm_finishes_in_flight_work,
    secrets_never_appear_in_logs
);
