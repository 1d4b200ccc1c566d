//! Panther's `metrics`: totals, alerts per severity in time buckets, alerts per
//! detection, against alerts seeded with known creation times; the bucket bound.
use crate::ops;
use crate::panther_alerts::set_created_at;
use crate::support::{str_of, TestDb, TestServer};
use serde_json::{json, Value};

on_both!(alert_metrics_count_a_seeded_set, metrics_refuse_bad_ranges);

/// 2026-01-01T00:00:00Z.
const BASE: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

/// Alerts created at known minutes from `BASE`: (detection id, severity, type, minute).
async fn seed(s: &TestServer, alerts: &[(&str, &str, &str, i64)]) {
    let input: Vec<Value> = alerts
        .iter()
        .enumerate()
        .map(|(i, (d, sev, t, _))| {
            json!({"detectionId": d, "title": format!("m{i}"), "severity": sev, "type": t,
                   "dedupString": format!("m{i}")})
        })
        .collect();
    let made = s.ok(ops::CREATE_ALERTS, json!({"input": input})).await;
    for (a, (_, _, _, minute)) in made["createAlerts"].as_array().unwrap().iter().zip(alerts) {
        set_created_at(s, &str_of(&a["id"]), BASE + minute * MINUTE).await;
    }
}

fn at(minute: i64) -> String {
    chrono::DateTime::from_timestamp_millis(BASE + minute * MINUTE)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn metrics(s: &TestServer, input: Value) -> Value {
    s.ok(ops::METRICS, json!({"input": input})).await["metrics"].clone()
}

async fn alert_metrics_count_a_seeded_set(db: TestDb) {
    let s = TestServer::start(&db).await;
    seed(
        &s,
        &[
            ("D.one", "HIGH", "RULE", 10),
            ("D.one", "HIGH", "RULE", 70),
            ("D.two", "LOW", "SCHEDULED_RULE", 75),
            ("D.one", "CRITICAL", "RULE", 130),
            ("Herald.DeliveryFailure", "HIGH", "SYSTEM_ERROR", 20),
            ("D.three", "INFO", "RULE", 200),   // after the range
            ("D.two", "HIGH", "RULE", -1),      // before it
            ("D.two", "MEDIUM", "POLICY", 179), // in the last bucket
        ],
    )
    .await;
    let m = metrics(
        &s,
        json!({"fromDate": at(0), "toDate": at(180), "intervalInMinutes": 60}),
    )
    .await;
    assert_eq!(m["totalAlerts"], 6.0, "{m:#}");
    let series = |label: &str| -> Value {
        m["alertsPerSeverity"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["label"] == label)
            .cloned()
            .unwrap_or_else(|| panic!("no {label} series: {m:#}"))
    };
    let buckets =
        |counts: [i64; 3]| json!({at(0): counts[0], at(60): counts[1], at(120): counts[2]});
    assert_eq!(series("HIGH")["value"], 3.0);
    assert_eq!(series("HIGH")["breakdown"], buckets([2, 1, 0]));
    assert_eq!(series("LOW")["breakdown"], buckets([0, 1, 0]));
    assert_eq!(series("CRITICAL")["breakdown"], buckets([0, 0, 1]));
    assert_eq!(series("MEDIUM")["breakdown"], buckets([0, 0, 1]));
    assert_eq!(series("INFO")["value"], 0.0);
    assert_eq!(series("INFO")["breakdown"], buckets([0, 0, 0]));
    assert_eq!(m["alertsPerSeverity"].as_array().unwrap().len(), 5);
    // Per detection, most first, system errors left out.
    assert_eq!(
        m["alertsPerRule"],
        json!([{"entityId": "D.one", "label": "D.one", "value": 3.0},
               {"entityId": "D.two", "label": "D.two", "value": 2.0}])
    );
    // What Herald has no logs for.
    for empty in [
        "bytesIngestedPerSource",
        "bytesProcessedPerSource",
        "bytesQueriedPerSource",
        "eventsProcessedPerLogType",
        "latencyPerLogType",
    ] {
        assert_eq!(m[empty], json!([]), "{empty}");
    }
    for zero in [
        "totalBytesIngested",
        "totalBytesProcessed",
        "totalBytesQueried",
        "totalEventsProcessed",
    ] {
        assert_eq!(m[zero], 0.0, "{zero}");
    }

    // A narrower range with smaller buckets.
    let m = metrics(
        &s,
        json!({"fromDate": at(60), "toDate": at(90), "intervalInMinutes": 10}),
    )
    .await;
    assert_eq!(m["totalAlerts"], 2.0);
    let high = m["alertsPerSeverity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["label"] == "HIGH")
        .unwrap()
        .clone();
    assert_eq!(high["breakdown"], json!({at(60): 0, at(70): 1, at(80): 0}));

    // Automatic interval: 5 minutes over 3 hours (36 buckets), the same totals.
    let m = metrics(&s, json!({"fromDate": at(0), "toDate": at(180)})).await;
    assert_eq!(m["totalAlerts"], 6.0);
    for x in m["alertsPerSeverity"].as_array().unwrap() {
        let b = x["breakdown"].as_object().unwrap();
        assert_eq!(b.len(), 36, "{x}");
        let sum: f64 = b.values().map(|v| v.as_f64().unwrap()).sum();
        assert_eq!(json!(sum), x["value"], "{x}");
    }
    let high = m["alertsPerSeverity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["label"] == "HIGH")
        .unwrap()
        .clone();
    assert_eq!(high["breakdown"][at(10)], 1);
    assert_eq!(high["breakdown"][at(20)], 1);
    assert_eq!(high["breakdown"][at(70)], 1);
    s.stop().await;
}

async fn metrics_refuse_bad_ranges(db: TestDb) {
    let s = TestServer::start(&db).await;
    for (input, needle) in [
        (
            json!({"fromDate": at(0), "toDate": at(17 * 60), "intervalInMinutes": 1}),
            "1000",
        ),
        (json!({"fromDate": at(10), "toDate": at(10)}), "after"),
        (
            json!({"fromDate": at(0), "toDate": at(10), "intervalInMinutes": 0}),
            "at least 1",
        ),
    ] {
        let (code, msg) = s.err(ops::METRICS, json!({"input": input})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{input}: {msg}");
        assert!(msg.contains(needle), "{msg}");
    }
    // At the bound exactly: accepted.
    let m = metrics(
        &s,
        json!({"fromDate": at(0), "toDate": at(1000), "intervalInMinutes": 1}),
    )
    .await;
    assert_eq!(m["totalAlerts"], 0.0);
    // SummaryRead is needed: reading alerts is not enough.
    let t = s
        .ok(
            ops::CREATE_TOKEN,
            json!({"input": {"name": "no-read", "permissions": ["AlertRead", "DestinationRead"]}}),
        )
        .await["createAPIToken"]["token"]["value"]
        .clone();
    let r = s
        .gql_as(
            &str_of(&t),
            ops::METRICS,
            json!({"input": {"fromDate": at(0), "toDate": at(60)}}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    s.stop().await;
}
