//! Throughput, latency and memory figures: `cargo bench --bench throughput`.
//!
//! Targets (2 cores, embedded SQLite): ingestion ≥ 300 alerts/s through the GraphQL API
//! with every alert routed and delivered; a page of `alerts` costs the same at 2k and
//! 200k stored alerts (p99 < 25 ms); resident memory < 150 MB. Set
//! `BENCH_DATABASE_URL=postgres://…/db` to measure PostgreSQL instead.
#[path = "../tests/it/support/client.rs"]
mod client;

use client::GqlClient;
use herald::config::ServeArgs;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ALERTS: usize = 2000;
const CONCURRENCY: usize = 8;

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn receiver() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let app = axum::Router::new().fallback(move || {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.ok() });
    (url, count)
}

/// `data` of a request that must succeed.
async fn gql(api: &GqlClient, query: &str, variables: Value) -> Value {
    let (status, v) = api.post(query, variables).await;
    assert!(status == 200 && v.get("errors").is_none(), "{status}: {v}");
    v["data"].clone()
}

async fn page_latency(api: &GqlClient, rounds: usize) -> (Duration, Duration) {
    let q = "query($c: String) { alerts(input: {pageSize: 25, cursor: $c}) { edges { node { id title } } pageInfo { endCursor } } }";
    let mut times = Vec::new();
    let mut cursor = Value::Null;
    for _ in 0..rounds {
        let t = Instant::now();
        let v = gql(api, q, json!({"c": cursor})).await;
        times.push(t.elapsed());
        cursor = v["alerts"]["pageInfo"]["endCursor"].clone();
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

async fn bulk_insert(db: &sea_orm::DatabaseConnection, n: usize) {
    use sea_orm::TransactionTrait;
    let template = herald::domain::payload::test_alert(herald::domain::time::now_ms());
    for chunk in 0..n / 1000 {
        let mut alerts: Vec<_> = (0..1000)
            .map(|i| {
                let mut a = template.clone();
                a.id = uuid::Uuid::new_v4().to_string().into();
                a.detection_id = format!("bulk{}", (chunk * 1000 + i) % 50);
                a.title = format!("bulk alert {}", chunk * 1000 + i);
                a
            })
            .collect();
        let txn = db.begin().await.unwrap();
        herald::store::alerts::insert_many(&txn, &mut alerts)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });
    let mut args = ServeArgs::for_database(&db_url);
    args.listen = "127.0.0.1:0".into();
    args.db.jwt_secret = Some("bench".into());
    // PostgreSQL requires an at-rest key; any fixed 32 bytes do for a benchmark.
    args.db.encryption_key = Some("aGVyYWxkLWJlbmNoLWVuY3J5cHRpb24ta2V5LTMyYnk=".into());
    // The receiver is on 127.0.0.1, which the SSRF guard refuses by default.
    args.allow_private_networks = true;
    args.poll_interval_ms = 50;
    let running = herald::app::start(args).await.unwrap();
    let token = running
        .services
        .tokens
        .create("bench", &herald::auth::Permission::ALL, None, &[], "bench")
        .await
        .unwrap()
        .value;
    let api = GqlClient::new(&format!("http://{}", running.addr), &token);
    let (hook, delivered) = receiver().await;
    gql(&api, "mutation($i: DestinationInput!) { addDestination(input: $i) { outputId } }",
        json!({"i": {"displayName": "bench", "outputConfig": {"customWebhook": {"webhookURL": hook}}, "defaultForSeverity": ["HIGH"]}})).await;
    println!(
        "database: {}",
        if db_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite (embedded)"
        }
    );

    // 1. Ingestion through the API, CONCURRENCY clients.
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..CONCURRENCY {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for i in 0..ALERTS / CONCURRENCY {
                let t = Instant::now();
                gql(&api, "mutation($i: CreateAlertInput!) { createAlert(input: $i) { id } }",
                    json!({"i": {"detectionId": format!("bench{w}"), "title": "bench", "severity": "HIGH", "dedupString": i.to_string(), "alertContext": {"i": i}}})).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let ingest = start.elapsed();
    lat.sort();
    println!(
        "ingestion: {ALERTS} alerts in {:.2?} = {:.0} alerts/s (createAlert p50 {:.1?}, p99 {:.1?}, {CONCURRENCY} clients)",
        ingest,
        ALERTS as f64 / ingest.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    // 2. Delivery of all of them.
    while delivered.load(Ordering::SeqCst) < ALERTS {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let total = start.elapsed();
    println!("delivery: {ALERTS} deliveries done {:.2?} after the first alert = {:.0} deliveries/s end to end", total, ALERTS as f64 / total.as_secs_f64());

    // 2b. Batched ingestion: createAlerts with BATCH alerts per request, CONCURRENCY
    // clients, and delivery of all of them.
    const BATCH: usize = 100;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..CONCURRENCY {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for r in 0..ALERTS / CONCURRENCY / BATCH {
                let inputs: Vec<Value> = (0..BATCH)
                    .map(|i| json!({"detectionId": format!("batch{w}"), "title": "bench", "severity": "HIGH", "dedupString": format!("{r}-{i}"), "alertContext": {"i": i}}))
                    .collect();
                let t = Instant::now();
                let d = gql(&api, "mutation($i: [CreateAlertInput!]!) { createAlerts(input: $i) { id } }",
                    json!({ "i": inputs })).await;
                assert_eq!(d["createAlerts"].as_array().map(Vec::len), Some(BATCH));
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let sent = lat.len() * BATCH;
    let ingest = start.elapsed();
    lat.sort();
    println!(
        "batched ingestion: {sent} alerts in {:.2?} = {:.0} alerts/s (createAlerts of {BATCH}: p50 {:.1?}, p99 {:.1?}, {CONCURRENCY} clients)",
        ingest,
        sent as f64 / ingest.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    while delivered.load(Ordering::SeqCst) < ALERTS + sent {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let total = start.elapsed();
    println!("batched delivery: {sent} deliveries done {:.2?} after the first request = {:.0} deliveries/s end to end", total, sent as f64 / total.as_secs_f64());
    let stored = ALERTS + sent;

    // 3. Pagination cost vs table size.
    let (p50, p99) = page_latency(&api, 80).await;
    println!(
        "alerts page (25) with {:>7} alerts stored: p50 {:.2?}, p99 {:.2?}",
        stored, p50, p99
    );
    let extra = 198_000;
    let t = Instant::now();
    bulk_insert(&running.services.db, extra).await;
    println!("(bulk-inserted {extra} alerts in {:.1?})", t.elapsed());
    let (p50, p99) = page_latency(&api, 80).await;
    println!(
        "alerts page (25) with {:>7} alerts stored: p50 {:.2?}, p99 {:.2?}",
        stored + extra,
        p50,
        p99
    );
    println!("memory: {}", rss());
    running.stop().await.unwrap();
}
