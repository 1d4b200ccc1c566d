//! Fault injection with real processes and sockets: the disk fills up mid-burst
//! (SQLite on a small tmpfs), PostgreSQL connections are terminated mid-burst, and one
//! of two Herald processes sharing PostgreSQL is killed mid-burst. In every case each
//! alert a client saw acknowledged is stored and delivered afterwards; refusals are
//! typed (`UNAVAILABLE`), and each test prints what it injected and what survived.

use crate::ops;
use crate::support::process::{cli_token, Herald};
use crate::support::*;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the clients of a burst saw.
#[derive(Default, Debug)]
struct Tally {
    /// Acknowledged: alert id per dedup string.
    acked: HashMap<String, String>,
    /// Refused with a typed, retryable error.
    unavailable: usize,
    /// Refused otherwise (HTTP status, code).
    other: Vec<(u16, String)>,
}

/// `clients` tasks send distinct alerts (one per request) to the given servers in turn
/// until `stop` is set.
fn burst(
    urls: Vec<String>,
    token: String,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<Tally>>, Vec<tokio::task::JoinHandle<()>>) {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let tasks = (0..clients)
        .map(|c| {
            let (urls, token, stop, tally) =
                (urls.clone(), token.clone(), stop.clone(), tally.clone());
            tokio::spawn(async move {
                let apis: Vec<GqlClient> =
                    urls.iter().map(|u| GqlClient::new(u, &token)).collect();
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let api = &apis[i % apis.len()];
                    let dedup = format!("c{c}-{i}");
                    i += 1;
                    let (status, body) = api.post(ops::CREATE_ALERT,
                        json!({"input": {"detectionId": "burst", "title": "t", "severity": "HIGH", "dedupString": dedup}}),
                    )
                    .await;
                    let refused = {
                        let mut t = tally.lock().unwrap();
                        match body["data"]["createAlert"]["id"].as_str() {
                            Some(id) if status == 200 && body.get("errors").is_none() => {
                                t.acked.insert(dedup, id.to_string());
                                false
                            }
                            _ => {
                                let code = body["errors"][0]["extensions"]["code"]
                                    .as_str()
                                    .unwrap_or("<none>")
                                    .to_string();
                                if code == "UNAVAILABLE" {
                                    assert_eq!(status, 503, "a request that stored nothing is a 503: {body}");
                                    t.unavailable += 1;
                                } else {
                                    t.other.push((status, code));
                                }
                                true
                            }
                        }
                    };
                    if refused {
                        // A client backs off before retrying.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    (tally, tasks)
}

async fn add_receiver(url: &str, token: &str, receiver: &Receiver) {
    let (status, body) = GqlClient::new(url, token).post(ops::ADD_DESTINATION_DETAILED,
        json!({"input": {"displayName": "Receiver", "outputConfig": {"customWebhook": {"webhookURL": receiver.url}}, "defaultForSeverity": ["HIGH"]}}),
    )
    .await;
    assert!(status == 200 && body.get("errors").is_none(), "{body}");
}

/// Every acknowledged alert is stored (read back through the API of `url`) and reached
/// the receiver; prints the summary line. Returns the number of duplicate deliveries.
async fn verify(what: &str, url: &str, token: &str, tally: &Tally, receiver: &Receiver) -> usize {
    let api = GqlClient::new(url, token);
    let acked: HashSet<&String> = tally.acked.values().collect();
    for id in &acked {
        let (_, body) = api
            .post(
                "query($id: ID!) { alert(id: $id) { id } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(
            body["data"]["alert"]["id"].as_str(),
            Some(id.as_str()),
            "acknowledged alert {id} is not stored: {body}"
        );
    }
    let delivered = eventually(
        Duration::from_secs(90),
        "every acknowledged alert to reach the receiver",
        || async {
            let got: HashSet<String> = receiver
                .requests()
                .iter()
                .filter_map(|r| r.json()["alertId"].as_str().map(str::to_owned))
                .collect();
            acked.iter().all(|id| got.contains(*id)).then_some(got)
        },
    )
    .await;
    let requests = receiver.requests();
    let ids: HashSet<&str> = requests
        .iter()
        .filter_map(|r| r.header("webhook-id"))
        .collect();
    let duplicates = requests.len() - ids.len();
    println!(
        "{what}: accepted {}, refused UNAVAILABLE {}, refused otherwise {:?}, delivered {}, duplicate deliveries {duplicates} (same webhook-id), lost 0",
        acked.len(),
        tally.unavailable,
        tally.other,
        delivered.len()
    );
    assert!(
        tally.other.is_empty(),
        "untyped refusals: {:?}",
        tally.other
    );
    duplicates
}

/// A tmpfs of `mib` MiB mounted on a new temporary folder (root only; None elsewhere).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    /// Fill every free byte; returns the filler's path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        // Smaller writes take the last partial blocks.
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The SQLite volume fills for 3 s during a burst, then frees: refused requests are
/// typed 503s, `/healthz` says so meanwhile, work resumes without a restart, and after a
/// SIGKILL and restart every acknowledged alert is there and delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_disk_fills_mid_burst() {
    let Some(disk) = SmallDisk::mount(24) else {
        println!("SKIPPED sqlite_disk_fills_mid_burst: cannot mount a tmpfs here (needs root)");
        return;
    };
    let db = TestDb::sqlite_at(&disk.dir.path().join("herald.db"));
    let receiver = Receiver::start().await;
    let token = cli_token(&db);
    let mut herald = Herald::start(&db, &[]).await;
    add_receiver(&herald.url, &token, &receiver).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (tally, tasks) = burst(vec![herald.url.clone()], token.clone(), 8, stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = tally.lock().unwrap().acked.len();
    assert!(before > 0, "the burst is running");

    // Inject: the volume is full for 3 s.
    let filler = disk.fill();
    let mut health_during = HashSet::new();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        health_during.insert(herald.health().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused_during = tally.lock().unwrap().unavailable;
    std::fs::remove_file(&filler).unwrap();
    println!("injected: volume full for 3 s after {before} alerts; /healthz answered {health_during:?} meanwhile");
    assert!(refused_during > 0, "writes failed while the disk was full");
    assert!(
        health_during.contains(&503),
        "/healthz reported the failing database: {health_during:?}"
    );

    // Recovery without a restart: new alerts are accepted again.
    let recovered_from = tally.lock().unwrap().acked.len();
    eventually(Duration::from_secs(20), "ingestion to resume", || async {
        (tally.lock().unwrap().acked.len() > recovered_from + 20).then_some(())
    })
    .await;
    herald.wait_healthy(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    // Durable: after SIGKILL and a restart, everything acknowledged is there and delivered.
    herald.kill();
    let herald = Herald::start(&db, &[]).await;
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    verify(
        "sqlite, disk full 3 s",
        &herald.url,
        &token,
        &tally,
        &receiver,
    )
    .await;
}

/// PostgreSQL backends are terminated repeatedly during a burst: every acknowledged
/// alert is stored and delivered, refusals are typed, and the pool heals by itself.
async fn postgres_connections_terminated_mid_burst(db: TestDb) {
    let receiver = Receiver::start().await;
    let token = cli_token(&db);
    let herald = Herald::start(&db, &[]).await;
    add_receiver(&herald.url, &token, &receiver).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (tally, tasks) = burst(vec![herald.url.clone()], token.clone(), 8, stop.clone());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let admin = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    let mut terminated = 0i64;
    for _ in 0..6 {
        use sea_orm::{ConnectionTrait, Statement};
        let rows = admin
            .query_all(Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
            ))
            .await
            .unwrap();
        terminated += rows.len() as i64;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    admin.close().await.ok();
    let at_injection_end = tally.lock().unwrap().acked.len();
    eventually(Duration::from_secs(20), "ingestion to continue", || async {
        (tally.lock().unwrap().acked.len() > at_injection_end + 20).then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    println!("injected: {terminated} PostgreSQL backends terminated in 6 rounds mid-burst");
    assert!(terminated > 0);
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    verify(
        "postgres, backends terminated",
        &herald.url,
        &token,
        &tally,
        &receiver,
    )
    .await;
}

/// Two processes share PostgreSQL and split a burst; one is SIGKILLed mid-burst. The
/// survivor delivers every alert either acknowledged (the killed one's in-flight work
/// comes back when its leases expire).
async fn two_processes_one_killed_mid_burst(db: TestDb) {
    let receiver = Receiver::start().await;
    // Slow answers keep deliveries in flight in the process that dies.
    receiver.default_reply(Reply::status(200).delay(Duration::from_millis(200)));
    let token = cli_token(&db);
    let mut a = Herald::start(&db, &[]).await;
    let b = Herald::start(&db, &[]).await;
    add_receiver(&a.url, &token, &receiver).await;

    let stop = Arc::new(AtomicBool::new(false));
    let (tally_a, tasks_a) = burst(vec![a.url.clone()], token.clone(), 4, stop.clone());
    let (tally_b, tasks_b) = burst(vec![b.url.clone()], token.clone(), 4, stop.clone());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill();
    let killed_after = tally_a.lock().unwrap().acked.len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks_a.into_iter().chain(tasks_b) {
        t.await.unwrap();
    }
    println!(
        "injected: SIGKILL of one of two processes after it acknowledged {killed_after} alerts"
    );
    let mut tally = std::mem::take(&mut *tally_a.lock().unwrap());
    let tb = std::mem::take(&mut *tally_b.lock().unwrap());
    tally.acked.extend(tb.acked);
    tally.unavailable += tb.unavailable;
    // Requests cut by the kill are transport errors (status 0): the client saw no
    // acknowledgement, so nothing was promised.
    tally.other.retain(|(status, _)| *status != 0);
    tally.other.extend(tb.other);
    verify(
        "postgres, two processes, one killed",
        &b.url,
        &token,
        &tally,
        &receiver,
    )
    .await;
}

/// A delivery whose sending process dies every time (SIGKILL while it is in flight,
/// as an out-of-memory kill would) is quarantined as FAILED after
/// HERALD_MAX_LOST_LEASES lost leases instead of taking every restart down with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_that_keeps_killing_its_sender_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite_at(&dir.path().join("herald.db"));
    let receiver = Receiver::start().await;
    // Never answers in time: the delivery is in flight whenever the process is killed.
    receiver.default_reply(Reply::status(200).delay(Duration::from_secs(30)));
    let token = cli_token(&db);
    let env = [
        ("HERALD_MAX_LOST_LEASES", "2"),
        ("HERALD_REQUEST_TIMEOUT_MS", "3000"),
        ("HERALD_LEASE_MS", "4500"),
    ];
    let mut herald = Herald::start(&db, &env).await;
    add_receiver(&herald.url, &token, &receiver).await;
    let (_, body) = herald
        .api(&token)
        .post(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "poison", "title": "t", "severity": "HIGH"}}),
        )
        .await;
    let alert_id = body["data"]["createAlert"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for kill in 1..=2 {
        receiver.wait_for(kill, Duration::from_secs(30)).await;
        herald.kill();
        herald = Herald::start(&db, &env).await;
    }
    let query = "query($id: ID!) { alert(id: $id) { deliveries { status message attemptCount } } }";
    let delivery = eventually(Duration::from_secs(60), "the quarantine", || async {
        let (_, body) = herald
            .api(&token)
            .post(query, json!({"id": alert_id}))
            .await;
        let d = body["data"]["alert"]["deliveries"][0].clone();
        (d["status"] == "FAILED").then_some(d)
    })
    .await;
    println!(
        "injected: SIGKILL twice while the delivery was in flight; it ended {} after {} requests: {}",
        delivery["status"],
        receiver.requests().len(),
        delivery["message"]
    );
    assert!(
        delivery["message"]
            .as_str()
            .unwrap()
            .contains("quarantined"),
        "{delivery}"
    );
    assert_eq!(receiver.requests().len(), 2, "not sent a third time");
}

on_postgres!(
    postgres_connections_terminated_mid_burst,
    two_processes_one_killed_mid_burst,
);
