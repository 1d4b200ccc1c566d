//! Batched ingestion (`createAlerts`) and group commit of `createAlert`: one
//! transaction per batch, dedup inside a batch as if the inputs came one after the
//! other, and a failed commit answers `UNAVAILABLE` to every caller of the batch and
//! stores nothing.

use crate::ops;
use crate::support::*;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

fn input(detection: &str, title: &str, dedup: &str) -> Value {
    json!({"detectionId": detection, "title": title, "severity": "HIGH", "dedupString": dedup})
}

/// Every alert stored now (all pages), oldest first: (id, title).
async fn stored(s: &TestServer) -> Vec<(String, String)> {
    all_pages(|cursor| async move {
        s.alerts_page(json!({"pageSize": 100, "cursor": cursor, "sortDir": "ascending"}))
            .await
    })
    .await
    .iter()
    .flat_map(|p| p["edges"].as_array().cloned().unwrap_or_default())
    .map(|e| (str_of(&e["node"]["id"]), str_of(&e["node"]["title"])))
    .collect()
}

async fn event_count(s: &TestServer, id: &str) -> i64 {
    s.ok(ops::ALERT_DELIVERIES, json!({ "id": id })).await["alert"]["eventCount"]
        .as_i64()
        .unwrap()
}

/// Ids the receiver got deliveries for.
fn delivered(r: &Receiver) -> HashSet<String> {
    r.requests()
        .iter()
        .filter_map(|q| q.json()["alertId"].as_str().map(str::to_owned))
        .collect()
}

async fn stores_and_routes_every_input_in_order(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Hook", &r.url, &["HIGH"]).await;
    let inputs: Vec<Value> = (0..5)
        .map(|i| input("batch", &format!("t{i}"), &format!("d{i}")))
        .collect();
    let d = s.ok(ops::CREATE_ALERTS, json!({ "input": inputs })).await;
    let alerts = d["createAlerts"].as_array().unwrap();
    let titles: Vec<&str> = alerts
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4"]);
    assert!(alerts
        .iter()
        .all(|a| a["routed"] == true && a["eventCount"] == 1));
    let ids: Vec<String> = alerts.iter().map(|a| str_of(&a["id"])).collect();
    // Stored in input order (`seq` follows it), and each delivered once.
    let listed: Vec<String> = stored(&s).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed, ids);
    r.wait_for(5, Duration::from_secs(20)).await;
    assert_eq!(delivered(&r), ids.iter().cloned().collect::<HashSet<_>>());
    for id in &ids {
        assert_eq!(s.settled(id, Duration::from_secs(20)).await.len(), 1);
    }
    // An empty batch is accepted and stores nothing.
    let d = s.ok(ops::CREATE_ALERTS, json!({ "input": [] })).await;
    assert_eq!(d["createAlerts"], json!([]));
    assert_eq!(stored(&s).await.len(), 5);
    s.stop().await;
}

async fn duplicates_inside_a_batch_join_the_first(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Hook", &r.url, &["HIGH"]).await;
    // One stored before the batch: the batch's matches for it join it.
    let before = s.create_alert(input("dup", "old", "old")).await;
    let batch = json!([
        input("dup", "a", "a"),
        input("dup", "b", "b"),
        input("dup", "a again", "a"),
        input("dup", "old again", "old"),
        input("dup", "a third", "a"),
        input("other", "a elsewhere", "a"),
    ]);
    let d = s.ok(ops::CREATE_ALERTS, json!({ "input": batch })).await;
    let a = d["createAlerts"].as_array().unwrap();
    assert_eq!(a.len(), 6);
    // As if sent one after the other: each answer is the alert right after its input.
    assert_eq!(a[2]["id"], a[0]["id"]);
    assert_eq!(a[4]["id"], a[0]["id"]);
    assert_eq!(
        [
            &a[0]["eventCount"],
            &a[2]["eventCount"],
            &a[4]["eventCount"]
        ],
        [1, 2, 3]
    );
    assert_eq!(
        [&a[0]["deduplicated"], &a[2]["deduplicated"]],
        [false, true]
    );
    // A joined alert keeps its title.
    assert_eq!(a[2]["title"], "a");
    assert_eq!(str_of(&a[3]["id"]), before);
    assert_eq!(a[3]["eventCount"], 2);
    // Another detection with the same dedup string is another alert.
    assert_ne!(a[5]["id"], a[0]["id"]);
    assert_ne!(a[1]["id"], a[0]["id"]);
    assert_eq!(event_count(&s, a[0]["id"].as_str().unwrap()).await, 3);
    assert_eq!(event_count(&s, &before).await, 2);
    assert_eq!(event_count(&s, a[1]["id"].as_str().unwrap()).await, 1);
    // Four alerts in all, one delivery each: joined matches route nothing.
    assert_eq!(stored(&s).await.len(), 4);
    r.wait_for(4, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.requests().len(), 4);
    s.stop().await;
}

async fn oversize_and_invalid_batches_store_nothing(db: TestDb) {
    let s = TestServer::start(&db).await;
    let over: Vec<Value> = (0..1001)
        .map(|i| input("big", "t", &format!("d{i}")))
        .collect();
    let (code, message) = s.err(ops::CREATE_ALERTS, json!({ "input": over })).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("1000"), "{message}");
    let mut bad: Vec<Value> = (0..5)
        .map(|i| input("bad", "t", &format!("d{i}")))
        .collect();
    bad[3]["title"] = json!("  ");
    let (code, message) = s.err(ops::CREATE_ALERTS, json!({ "input": bad })).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.starts_with("input[3].title: "), "{message}");
    bad[3]["title"] = json!("t");
    bad[1]["tags"] = json!(["x".repeat(201)]);
    let (code, message) = s.err(ops::CREATE_ALERTS, json!({ "input": bad })).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.starts_with("input[1].tags: "), "{message}");
    assert!(stored(&s).await.is_empty());
    // The largest batch passes the query cost limits and is stored whole.
    let full: Vec<Value> = (0..1000)
        .map(|i| input("big", &format!("t{i}"), &format!("d{i}")))
        .collect();
    let d = s
        .ok(
            "mutation($input: [CreateAlertInput!]!) { createAlerts(input: $input) { id } }",
            json!({ "input": full }),
        )
        .await;
    let ids: HashSet<&str> = d["createAlerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1000);
    let listed = stored(&s).await;
    assert_eq!(listed.len(), 1000);
    let titles: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
    assert_eq!(
        listed.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
        titles
    );
    s.stop().await;
}

async fn concurrent_duplicates_give_one_alert(db: TestDb) {
    let s = TestServer::start(&db).await;
    let calls = (0..50).map(|i| {
        let api = s.api.clone();
        async move {
            let (status, body) = api
                .post(
                    ops::CREATE_ALERT,
                    json!({"input": input("same", &format!("t{i}"), "one key")}),
                )
                .await;
            assert!(status == 200 && body.get("errors").is_none(), "{body}");
            str_of(&body["data"]["createAlert"]["id"])
        }
    });
    let ids: HashSet<String> = futures::future::join_all(calls).await.into_iter().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(event_count(&s, &id).await, 50);
    assert_eq!(stored(&s).await.len(), 1);
    // The same straight to the service, so that all 50 queue at once whatever the HTTP
    // layer runs concurrently: they share batches, and dedup inside a batch holds.
    let calls = (0..50).map(|i| {
        let services = s.services().clone();
        tokio::spawn(async move {
            let alert = herald::service::alerts::NewAlert {
                detection_id: "same".into(),
                title: format!("t{i}"),
                dedup_string: Some("another key".into()),
                ..Default::default()
            };
            herald::service::alerts::create(&services, alert, "tests")
                .await
                .expect("stored")
        })
    });
    let alerts: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|a| a.unwrap())
        .collect();
    let ids: HashSet<String> = alerts.iter().map(|a| a.id.to_string()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    // Each caller saw the alert right after its own event: counts 1 to 50, once each.
    let mut counts: Vec<i64> = alerts.iter().map(|a| a.event_count).collect();
    counts.sort();
    assert_eq!(counts, (1..=50).collect::<Vec<i64>>());
    let id = ids.into_iter().next().unwrap();
    assert_eq!(event_count(&s, &id).await, 50);
    assert_eq!(stored(&s).await.len(), 2);
    s.stop().await;
}

async fn concurrent_distinct_alerts_are_all_stored_and_delivered(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Hook", &r.url, &["HIGH"]).await;
    let calls = (0..200).map(|i| {
        let api = s.api.clone();
        async move {
            let (status, body) = api
                .post(
                    ops::CREATE_ALERT,
                    json!({"input": input("many", &format!("t{i}"), &format!("d{i}"))}),
                )
                .await;
            assert!(status == 200 && body.get("errors").is_none(), "{body}");
            str_of(&body["data"]["createAlert"]["id"])
        }
    });
    let ids: HashSet<String> = futures::future::join_all(calls).await.into_iter().collect();
    assert_eq!(ids.len(), 200);
    let listed: HashSet<String> = stored(&s).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed, ids);
    eventually(
        Duration::from_secs(60),
        "every alert to reach the receiver",
        || async { (delivered(&r) == ids).then_some(()) },
    )
    .await;
    s.stop().await;
}

/// A database failure while a group of `createAlert` calls commits: every caller of
/// that batch gets `UNAVAILABLE` and none of its alerts is stored; the writer goes on.
///
/// The test holds the first alert's dedup key so the writer's first batch waits while
/// the next calls queue behind it; they form the second batch, in which one alert
/// trips a trigger that fails the insert (as a full disk or a lost connection would).
/// The calls go to the service (what `createAlert` calls), so that they queue at once
/// whatever the HTTP layer lets run concurrently.
async fn a_failed_commit_fails_every_caller_of_the_batch(db: TestDb) {
    use herald::service::alerts::{create, NewAlert};
    let s = TestServer::start(&db).await;
    let services = s.services().clone();
    let conn = services.db.clone();
    let backend = conn.get_database_backend();
    let run = |sql: &str| Statement::from_string(backend, sql.to_string());
    if db.is_postgres {
        conn.execute(run(
            "CREATE FUNCTION fail_poison() RETURNS trigger AS $$ BEGIN IF NEW.title = 'poison' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        ))
        .await
        .unwrap();
        conn.execute(run(
            "CREATE TRIGGER fail_poison BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION fail_poison()",
        ))
        .await
        .unwrap();
    } else {
        conn.execute(run(
            "CREATE TRIGGER fail_poison BEFORE INSERT ON alerts WHEN NEW.title = 'poison' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ))
        .await
        .unwrap();
    }
    // The first call's dedup key, locked as ingestion locks it (on SQLite: the write
    // lock).
    let held = conn.begin().await.unwrap();
    herald::store::lock_dedup_keys(&held, std::iter::once(("faulty".into(), "first".into())))
        .await
        .unwrap();

    let call = |title: String, dedup: String| {
        let services = services.clone();
        tokio::spawn(async move {
            let alert = NewAlert {
                detection_id: "faulty".into(),
                title,
                dedup_string: Some(dedup),
                ..Default::default()
            };
            create(&services, alert, "tests").await
        })
    };
    let first = call("first".into(), "first".into());
    // The writer takes the first call and waits for the lock (on PostgreSQL, seen
    // waiting: under load 300 ms may pass before the call reaches the writer, which
    // would then take the next calls with it).
    tokio::time::sleep(Duration::from_millis(300)).await;
    if db.is_postgres {
        let waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted";
        eventually(
            Duration::from_secs(30),
            "the writer to wait for the key",
            || {
                let conn = conn.clone();
                async move {
                    let row = conn.query_one(run(waiting)).await.unwrap().unwrap();
                    (row.try_get_by_index::<i64>(0).unwrap() > 0).then_some(())
                }
            },
        )
        .await;
    }
    let queued: Vec<_> = (0..20)
        .map(|i| {
            let title = if i == 10 {
                "poison".to_string()
            } else {
                format!("t{i}")
            };
            call(title, format!("d{i}"))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    held.rollback().await.unwrap();

    let first = first.await.unwrap().expect("the first batch commits");
    for q in queued {
        let e = q
            .await
            .unwrap()
            .expect_err("the failed batch answers an error");
        assert_eq!(e.code(), "UNAVAILABLE", "{e}");
    }
    let listed = stored(&s).await;
    assert_eq!(listed, [(first.id.to_string(), "first".to_string())]);
    // The writer goes on: the next calls are stored.
    let id = s.create_alert(input("faulty", "after", "after")).await;
    assert_eq!(event_count(&s, &id).await, 1);
    assert_eq!(stored(&s).await.len(), 2);
    s.stop().await;
}

/// Text with the characters that quote, escape or separate values in SQL literals and
/// PostgreSQL arrays is stored and read back exactly, and the same keys deduplicate
/// (the batch statements send their rows as array parameters on PostgreSQL).
async fn text_is_stored_exactly_as_sent(db: TestDb) {
    let s = TestServer::start(&db).await;
    const CREATE: &str = "mutation($input: [CreateAlertInput!]!) { createAlerts(input: $input) { id title description dedupString logType tags eventCount } }";
    let tricky = [
        r#"a "quoted" \ back\slash, comma {brace} 'single'"#,
        "NULL",
        "\"\"",
        "\\",
        "line\nbreak\ttab é 🚨",
        "{}",
    ];
    let inputs: Vec<Value> = tricky
        .iter()
        .map(|t| {
            json!({"detectionId": format!("d {t}"), "title": t, "severity": "HIGH", "dedupString": t,
                   "description": t, "logType": t, "tags": [t, "plain"]})
        })
        .collect();
    let first = s.ok(CREATE, json!({ "input": inputs })).await["createAlerts"].clone();
    let again = s.ok(CREATE, json!({ "input": inputs })).await["createAlerts"].clone();
    for (i, t) in tricky.iter().enumerate() {
        for a in [&first[i], &again[i]] {
            assert_eq!(a["title"], *t);
            assert_eq!(a["description"], *t);
            assert_eq!(a["dedupString"], *t);
            assert_eq!(a["logType"], *t);
            assert_eq!(a["tags"], json!([t, "plain"]));
        }
        assert_eq!(again[i]["id"], first[i]["id"], "{t:?} joined its alert");
        assert_eq!(again[i]["eventCount"], 2);
    }
    let titles: Vec<String> = stored(&s).await.into_iter().map(|(_, t)| t).collect();
    assert_eq!(titles, tricky);
    s.stop().await;
}

/// A batch larger than one insert statement takes (200 alerts, 100 events) is stored
/// whole, in input order, each alert with its own `seq`.
async fn a_batch_larger_than_a_statement_is_stored_in_order(db: TestDb) {
    let s = TestServer::start(&db).await;
    let inputs: Vec<Value> = (0..450)
        .map(|i| input("big", &format!("t{i}"), &format!("d{i}")))
        .collect();
    let d = s.ok(ops::CREATE_ALERTS, json!({ "input": inputs })).await;
    let ids: Vec<String> = d["createAlerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| str_of(&a["id"]))
        .collect();
    assert_eq!(ids.len(), 450);
    let listed = stored(&s).await;
    let titles: Vec<String> = (0..450).map(|i| format!("t{i}")).collect();
    assert_eq!(
        listed.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        listed.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
        titles
    );
    s.stop().await;
}

on_both!(
    a_batch_larger_than_a_statement_is_stored_in_order,
    text_is_stored_exactly_as_sent,
    stores_and_routes_every_input_in_order,
    duplicates_inside_a_batch_join_the_first,
    oversize_and_invalid_batches_store_nothing,
    concurrent_duplicates_give_one_alert,
    concurrent_distinct_alerts_are_all_stored_and_delivered,
    a_failed_commit_fails_every_caller_of_the_batch,
);
