//! The delivery write path under bursts, with real processes: deliveries a process
//! commits are handed to its workers in memory (no claim query), and two processes on
//! one PostgreSQL database deliver a 10,000-alert burst with none lost and none sent
//! twice.
use crate::ops;
use crate::support::process::{cli_token, Herald};
use crate::support::*;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// `name{labels} value` of a Prometheus text exposition, summed over series whose
/// labels contain `label`.
fn metric(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(h: &Herald) -> String {
    reqwest::Client::new()
        .get(format!("{}/metrics", h.url))
        .header("authorization", "Bearer scrape")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn add_webhook(api: &GqlClient, url: &str) {
    api.ok(
        ops::ADD_DESTINATION_DETAILED,
        json!({"input": {"displayName": "Burst", "outputConfig": {"customWebhook": {"webhookURL": url}}, "defaultForSeverity": ["HIGH"]}}),
    )
    .await;
}

/// Deliveries of alerts this process just stored go straight to its workers: the
/// claim query finds nothing to take.
async fn committed_deliveries_are_handed_off_not_claimed(db: TestDb) {
    let receiver = Receiver::start().await;
    let token = cli_token(&db);
    let h = Herald::start(&db, &[("HERALD_METRICS_TOKEN", "scrape")]).await;
    let api = h.api(&token);
    add_webhook(&api, &receiver.url).await;
    let n = 40;
    for i in 0..n {
        api.ok(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "handoff", "title": "t", "severity": "HIGH", "dedupString": i.to_string()}}),
        )
        .await;
    }
    let got = receiver.wait_for(n, Duration::from_secs(20)).await;
    assert_eq!(got.len(), n);
    let text = eventually(
        Duration::from_secs(10),
        "the deliveries to be counted",
        || async {
            let t = scrape(&h).await;
            (metric(&t, "herald_deliveries_taken_total", "handoff") >= n as f64).then_some(t)
        },
    )
    .await;
    assert_eq!(
        metric(&text, "herald_deliveries_taken_total", "handoff"),
        n as f64,
        "{text}"
    );
    assert_eq!(
        metric(&text, "herald_deliveries_taken_total", "source=\"claim\""),
        0.0,
        "nothing was left for the claim query"
    );
    // Every attempt is stored, as for a claimed delivery.
    let s = eventually(Duration::from_secs(10), "every attempt recorded", || async {
        let v = api
            .ok("{ alerts(input: {pageSize: 100}) { edges { node { deliveries { status attempts { statusCode } } } } } }", json!({}))
            .await;
        let ds: Vec<serde_json::Value> = v["alerts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["node"]["deliveries"].as_array().unwrap().clone())
            .collect();
        (ds.len() == n && ds.iter().all(|d| d["status"] == "SUCCEEDED")).then_some(ds)
    })
    .await;
    assert!(s
        .iter()
        .all(|d| d["attempts"].as_array().unwrap().len() == 1));
    h.stop().await;
}

/// Two processes on one database, a 10,000-alert burst split between them: every
/// alert reaches the receiver exactly once (by webhook-id and by alert), and each
/// delivery has exactly one successful attempt.
async fn two_processes_deliver_a_burst_once(db: TestDb) {
    const ALERTS: usize = 10_000;
    const PER_REQUEST: usize = 100;
    let receiver = Receiver::start().await;
    let token = cli_token(&db);
    // Healthy processes: a lease longer than the test harness's 3 s, so that a machine
    // starved of CPU (a build beside the tests) cannot make a send outlive its lease.
    let settings = [("HERALD_LEASE_MS", "15000")];
    let a = Herald::start(&db, &settings).await;
    let b = Herald::start(&db, &settings).await;
    add_webhook(&a.api(&token), &receiver.url).await;
    let mut senders = Vec::new();
    for (p, h) in [&a, &b].into_iter().enumerate() {
        for lane in 0..4 {
            let api = h.api(&token);
            senders.push(tokio::spawn(async move {
                let mut batch = lane;
                while batch * PER_REQUEST < ALERTS / 2 {
                    let input: Vec<_> = (0..PER_REQUEST)
                        .map(|i| {
                            json!({"detectionId": "burst", "title": "t", "severity": "HIGH",
                                   "dedupString": format!("{p}-{batch}-{i}")})
                        })
                        .collect();
                    let v = api.ok(ops::CREATE_ALERTS, json!({"input": input})).await;
                    assert_eq!(v["createAlerts"].as_array().unwrap().len(), PER_REQUEST);
                    batch += 4;
                }
            }));
        }
    }
    for s in senders {
        s.await.unwrap();
    }
    let got = receiver.wait_for(ALERTS, Duration::from_secs(240)).await;
    // Give a duplicate time to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = if receiver.requests().len() > got.len() {
        receiver.requests()
    } else {
        got
    };
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_alert: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *by_id
            .entry(r.header("webhook-id").unwrap_or_default().to_string())
            .or_default() += 1;
        *by_alert
            .entry(r.json()["alertId"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {} deliveries", twice.len());
    assert_eq!(by_alert.len(), ALERTS, "every alert arrived");
    assert_eq!(got.len(), ALERTS, "and nothing more");
    // The store agrees: one successful attempt per delivery.
    use sea_orm::{ConnectionTrait, Statement};
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n, SUM(CASE WHEN status = 'SUCCEEDED' AND attempt_count = 1 THEN 1 ELSE 0 END) AS ok FROM deliveries",
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    let ok: i64 = row.try_get("", "ok").unwrap();
    assert_eq!((n, ok), (ALERTS as i64, ALERTS as i64));
    conn.close().await.ok();
    a.stop().await;
    b.stop().await;
}

on_both!(committed_deliveries_are_handed_off_not_claimed);
mod burst {
    use super::*;
    on_postgres!(
        two_processes_deliver_a_burst_once,
        two_writers_share_dedup_and_the_poller_misses_nothing
    );
}

/// Two writers on one database (two servers, each with its own ingestion writer): a
/// key sent to both at once gives one alert, and a poller following an ascending
/// cursor while both ingest sees every alert exactly once (their transactions lock only
/// their dedup keys and commit side by side; pages list only settled alerts).
async fn two_writers_share_dedup_and_the_poller_misses_nothing(db: TestDb) {
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let calls = (0..40).map(|i| {
        let api = if i % 2 == 0 { a.api.clone() } else { b.api.clone() };
        async move {
            let v = api
                .ok(
                    ops::CREATE_ALERT,
                    json!({"input": {"detectionId": "shared", "title": format!("t{i}"), "severity": "LOW", "dedupString": "one key"}}),
                )
                .await;
            str_of(&v["createAlert"]["id"])
        }
    });
    let ids: std::collections::HashSet<String> =
        futures::future::join_all(calls).await.into_iter().collect();
    assert_eq!(ids.len(), 1, "one alert for one key: {ids:?}");
    let first = ids.into_iter().next().unwrap();

    let per_lane = 20;
    let mut lanes = Vec::new();
    for (w, s) in [&a, &b].into_iter().enumerate() {
        for lane in 0..3 {
            let api = s.api.clone();
            lanes.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..per_lane {
                    let v = api
                        .ok(
                            ops::CREATE_ALERT,
                            json!({"input": {"detectionId": format!("w{w}-{lane}"), "title": "t", "severity": "LOW", "dedupString": i.to_string()}}),
                        )
                        .await;
                    ids.push(str_of(&v["createAlert"]["id"]));
                }
                ids
            }));
        }
    }
    let total = 6 * per_lane + 1;
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = serde_json::Value::Null;
    let poll = async {
        while seen.len() < total {
            let p = a
                .alerts_page(json!({"pageSize": 7, "cursor": cursor, "sortDir": "ascending"}))
                .await;
            for e in p["edges"].as_array().unwrap() {
                seen.push(str_of(&e["node"]["id"]));
            }
            cursor = p["pageInfo"]["endCursor"].clone();
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), poll)
        .await
        .expect("the poller saw every alert");
    let mut created = vec![first];
    for l in lanes {
        created.extend(l.await.unwrap());
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an alert was returned twice");
    created.sort();
    assert_eq!(unique, created, "an alert was missed");
    a.stop().await;
    b.stop().await;
}
