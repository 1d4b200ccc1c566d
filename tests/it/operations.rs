//! Delivery operations end to end: polling destinations, routing dry-run, unrouted
//! alerts, delivery failure alerts, replay, destination health and rate limits.

use crate::ops;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

async fn add_polling(s: &TestServer, name: &str, visibility: i32) -> String {
    s.add_destination(json!({"displayName": name, "outputConfig": {"polling": {"visibilityTimeoutSeconds": visibility}}, "defaultForSeverity": ["MEDIUM"]})).await
}

async fn pending(s: &TestServer, output_id: &str, n: i32) -> Vec<Value> {
    s.ok(
        ops::PENDING_DELIVERIES,
        json!({"input": {"outputId": output_id, "pageSize": n}}),
    )
    .await["pendingDeliveries"]
        .as_array()
        .unwrap()
        .clone()
}

async fn polling_destinations(db: TestDb) {
    let s = TestServer::start(&db).await;
    let out = add_polling(&s, "SIEM poller", 1).await;
    let listed = s.ok("query($id: ID!) { destination(id: $id) { outputType outputConfig { polling { visibilityTimeoutSeconds } } } }", json!({"id": out})).await;
    assert_eq!(listed["destination"]["outputType"], "polling");
    assert_eq!(
        listed["destination"]["outputConfig"]["polling"]["visibilityTimeoutSeconds"],
        1
    );
    let mut alert_ids = vec![];
    for i in 0..20 {
        let a = s.create_alert_detailed(json!({"detectionId": "p", "title": format!("t{i}"), "severity": "MEDIUM", "dedupString": i.to_string()})).await;
        assert_eq!(
            a["routing"]["destinations"][0]["displayName"],
            "SIEM poller"
        );
        alert_ids.push(a["id"].as_str().unwrap().to_string());
    }
    // The dispatcher never sends pull deliveries: they stay pending.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Two concurrent pollers never get the same delivery within its lease.
    let (a, b) = tokio::join!(pending(&s, &out, 15), pending(&s, &out, 15));
    let mut ids: Vec<String> = a
        .iter()
        .chain(b.iter())
        .map(|d| d["deliveryId"].as_str().unwrap().to_string())
        .collect();
    assert!(
        a.len() <= 15 && b.len() <= 15,
        "pageSize is a maximum: {} and {}",
        a.len(),
        b.len()
    );
    assert_eq!(ids.len(), 20, "both pollers together get all 20");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "no delivery went to both pollers");
    // The payload is the custom webhook payload.
    let p = &a[0]["payload"];
    assert!(alert_ids.contains(&p["alertId"].as_str().unwrap().to_string()));
    assert_eq!(p["id"], "p");
    assert_eq!(p["severity"], "MEDIUM");
    assert!(
        pending(&s, &out, 100).await.is_empty(),
        "leased deliveries are hidden"
    );
    // Acknowledge the first poller's; the rest come back after the visibility timeout.
    let acked: Vec<Value> = a.iter().map(|d| d["deliveryId"].clone()).collect();
    let n = s
        .ok(
            ops::ACKNOWLEDGE_DELIVERIES,
            json!({"input": {"outputId": out, "deliveryIds": acked}}),
        )
        .await["acknowledgeDeliveries"]
        .clone();
    assert_eq!(n, json!(a.len()));
    let again = s
        .ok(
            ops::ACKNOWLEDGE_DELIVERIES,
            json!({"input": {"outputId": out, "deliveryIds": acked}}),
        )
        .await["acknowledgeDeliveries"]
        .clone();
    assert_eq!(again, 0, "acknowledging twice counts once");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let redelivered = pending(&s, &out, 100).await;
    assert_eq!(redelivered.len(), b.len());
    // An acknowledged delivery is SUCCEEDED with an attempt recorded.
    let alert_id = a[0]["payload"]["alertId"].as_str().unwrap();
    let d = s.ok("query($id: ID!) { alert(id: $id) { deliveries { status attemptCount attempts { success } } } }", json!({"id": alert_id})).await;
    assert_eq!(d["alert"]["deliveries"][0]["status"], "SUCCEEDED");
    assert_eq!(d["alert"]["deliveries"][0]["attempts"][0]["success"], true);
    // Polling a webhook destination is refused.
    let r = Receiver::start().await;
    let hook = s.add_webhook("Hook", &r.url, &[]).await;
    let (code, _) = s
        .err(
            ops::PENDING_DELIVERIES,
            json!({"input": {"outputId": hook}}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, _) = s
        .err(
            ops::PENDING_DELIVERIES,
            json!({"input": {"outputId": "missing"}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    s.stop().await;
}

async fn routing_dry_run(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_destination(json!({"displayName": "Pager", "outputConfig": {"customWebhook": {"webhookURL": r.url}}, "defaultForSeverity": ["CRITICAL"]})).await;
    s.add_destination(json!({"displayName": "Okta", "outputConfig": {"customWebhook": {"webhookURL": r.url}}, "defaultForSeverity": ["HIGH"], "logTypes": ["Okta.SystemLog"]})).await;
    s.add_destination(json!({"displayName": "Policies", "outputConfig": {"customWebhook": {"webhookURL": r.url}}, "defaultForSeverity": ["HIGH"], "alertTypes": ["POLICY"]})).await;
    let q = "mutation($i: CreateAlertInput!) { routeAlert(input: $i) { step effectiveSeverity destinations { displayName } warnings excluded { displayName reasons } } }";
    let d = s.ok(q, json!({"i": {"detectionId": "x", "title": "t", "severity": "LOW", "generatedSeverity": "HIGH", "logType": "AWS.CloudTrail"}})).await["routeAlert"].clone();
    assert_eq!(d["step"], "DESTINATION_CONFIGURATION");
    assert_eq!(d["effectiveSeverity"], "HIGH");
    assert_eq!(d["destinations"], json!([]));
    let excluded: Vec<(String, Value)> = d["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["displayName"].as_str().unwrap().to_string(),
                e["reasons"].clone(),
            )
        })
        .collect();
    assert_eq!(
        excluded,
        vec![
            ("Pager".into(), json!(["SEVERITY"])),
            ("Okta".into(), json!(["LOG_TYPE"])),
            ("Policies".into(), json!(["ALERT_TYPE"]))
        ]
    );
    let d = s.ok(q, json!({"i": {"detectionId": "x", "title": "t", "severity": "LOW", "generatedDestinations": ["SKIP"]}})).await["routeAlert"].clone();
    assert_eq!(d["step"], "SKIPPED");
    let d = s.ok(q, json!({"i": {"detectionId": "x", "title": "t", "severity": "LOW", "generatedDestinations": ["pager"]}})).await["routeAlert"].clone();
    assert_eq!(d["step"], "GENERATED_DESTINATIONS");
    assert_eq!(d["destinations"][0]["displayName"], "Pager");
    // Nothing was stored or sent.
    let n = s
        .ok("{ alerts { edges { node { id } } } }", json!({}))
        .await["alerts"]["edges"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(n, 0);
    assert!(r.requests().is_empty());
    s.stop().await;
}

async fn unrouted_alerts_and_unreachable_destinations(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    let lonely = s.add_webhook("Lonely", &r.url, &[]).await;
    s.add_webhook("High", &r.url, &["HIGH"]).await;
    let routed = s
        .create_alert_detailed(json!({"detectionId": "x", "title": "routed", "severity": "HIGH"}))
        .await;
    let unrouted = s
        .create_alert_detailed(json!({"detectionId": "y", "title": "unrouted", "severity": "LOW"}))
        .await;
    let skipped = s.create_alert_detailed(json!({"detectionId": "z", "title": "skipped", "severity": "LOW", "generatedDestinations": []})).await;
    assert_eq!(routed["routed"], true);
    assert_eq!(unrouted["routed"], false);
    assert_eq!(skipped["routed"], true);
    let q = "query($i: AlertsInput) { alerts(input: $i) { edges { node { title } } } }";
    let titles = |v: Value| -> Vec<String> {
        v["alerts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        titles(s.ok(q, json!({"i": {"routed": false}})).await),
        ["unrouted"]
    );
    assert_eq!(
        titles(
            s.ok(q, json!({"i": {"routed": true, "sortDir": "ascending"}}))
                .await
        ),
        ["routed", "skipped"]
    );
    let w = s.ok(ops::DESTINATION_WARNINGS, json!({})).await;
    let warnings = |name: &str| {
        w["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["displayName"] == name)
            .unwrap()["warnings"]
            .clone()
    };
    assert!(warnings("Lonely")[0]
        .as_str()
        .unwrap()
        .contains("unreachable"));
    assert_eq!(warnings("High"), json!([]));
    // Named by an override: reachable.
    s.ok(
        ops::PUT_OVERRIDE,
        json!({"input": {"detectionId": "y", "outputIds": [lonely]}}),
    )
    .await;
    let w = s.ok(ops::DESTINATION_WARNINGS, json!({})).await;
    assert!(w["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["warnings"] == json!([])));
    s.stop().await;
}

const ALERTS_OF_TYPE: &str = r#"query { alerts(input: {types: [SYSTEM_ERROR]}) { edges { node { id title eventCount type severity alertContext routing { destinations { displayName } } } } } }"#;

async fn delivery_failure_alerts(db: TestDb) {
    let s = TestServer::start(&db).await;
    let broken = Receiver::start().await;
    broken.default_reply(Reply::status(400).body("invalid token"));
    let ops = Receiver::start().await;
    let broken_id = s.add_destination(json!({"displayName": "Broken", "outputConfig": {"customWebhook": {"webhookURL": broken.url}}, "defaultForSeverity": ["CRITICAL", "HIGH"]})).await;
    s.add_destination(json!({"displayName": "Ops", "outputConfig": {"customWebhook": {"webhookURL": ops.url}}, "defaultForSeverity": ["HIGH"], "alertTypes": ["SYSTEM_ERROR"]})).await;
    let a1 = s
        .create_alert_detailed(
            json!({"detectionId": "x", "title": "t1", "severity": "CRITICAL", "dedupString": "1"}),
        )
        .await;
    let sys = eventually(Duration::from_secs(10), "a system error alert", || async {
        let v = s.ok(ALERTS_OF_TYPE, json!({})).await;
        v["alerts"]["edges"]
            .as_array()
            .filter(|e| !e.is_empty())
            .cloned()
    })
    .await;
    assert_eq!(sys.len(), 1);
    let node = &sys[0]["node"];
    assert_eq!(node["title"], "Alert delivery to Broken failed");
    assert_eq!(node["type"], "SYSTEM_ERROR");
    assert_eq!(
        node["alertContext"]["destination"]["outputId"],
        broken_id.as_str()
    );
    assert_eq!(node["alertContext"]["alertId"], a1["id"]);
    assert_eq!(node["alertContext"]["lastStatusCode"], 400);
    assert_eq!(
        node["alertContext"]["lastMessage"],
        "HTTP 400 Bad Request: invalid token"
    );
    assert_eq!(
        node["routing"]["destinations"],
        json!([{"displayName": "Ops"}]),
        "never to the failed destination"
    );
    let got = ops.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].json()["type"], "SYSTEM_ERROR");
    // A second failure within the hour joins the same system alert.
    s.create_alert_detailed(
        json!({"detectionId": "x", "title": "t2", "severity": "CRITICAL", "dedupString": "2"}),
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the second failure counted",
        || async {
            let v = s.ok(ALERTS_OF_TYPE, json!({})).await;
            let e = v["alerts"]["edges"].as_array().unwrap().clone();
            (e.len() == 1 && e[0]["node"]["eventCount"] == 2).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ops.requests().len(),
        1,
        "one system alert per destination per hour"
    );
    assert_eq!(
        s.ok(ALERTS_OF_TYPE, json!({})).await["alerts"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    s.stop().await;
}

async fn failures_of_system_alerts_do_not_recurse(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = Receiver::start().await;
    a.default_reply(Reply::status(400));
    let b = Receiver::start().await;
    b.default_reply(Reply::status(400));
    s.add_webhook("A", &a.url, &["HIGH"]).await;
    s.add_webhook("B", &b.url, &["LOW"]).await;
    // A fails → system alert (HIGH) to B?  B only takes LOW, so route it with an override.
    s.create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "HIGH"}))
        .await;
    let sys = eventually(Duration::from_secs(10), "system alert", || async {
        let v = s.ok(ALERTS_OF_TYPE, json!({})).await;
        v["alerts"]["edges"]
            .as_array()
            .filter(|e| !e.is_empty())
            .cloned()
    })
    .await;
    assert_eq!(
        sys[0]["node"]["routing"]["destinations"],
        json!([]),
        "A is excluded, B does not take HIGH"
    );
    // Now make B take the system alerts and fail too: no alert about the system alert.
    s.ok(
        ops::PUT_OVERRIDE,
        json!({"input": {"detectionId": "Herald.DeliveryFailure", "outputIds": ["B"]}}),
    )
    .await;
    // B fails → system alert 2: B is excluded from it, so configuration sends it to A,
    // which fails too — and that failure raises nothing more.
    s.create_alert_detailed(json!({"detectionId": "y", "title": "t", "severity": "LOW"}))
        .await;
    a.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let v = s.ok(ALERTS_OF_TYPE, json!({})).await;
    let n = v["alerts"]["edges"].as_array().unwrap().len();
    assert_eq!(n, 2, "system alerts must not recurse: {v:#}");
    assert_eq!(a.requests().len(), 2);
    s.stop().await;
}

async fn replay_failed_deliveries(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    r.push(Reply::status(401).body("bad url"))
        .push(Reply::status(401).body("bad url"));
    let out = s.add_webhook("Fixable", &r.url, &["HIGH"]).await;
    let a1 = s
        .create_alert_detailed(
            json!({"detectionId": "x", "title": "t", "severity": "HIGH", "dedupString": "1"}),
        )
        .await;
    let a2 = s
        .create_alert_detailed(
            json!({"detectionId": "x", "title": "t", "severity": "HIGH", "dedupString": "2"}),
        )
        .await;
    let status = |v: Value| {
        v["alert"]["deliveries"][0]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let q = "query($id: ID!) { alert(id: $id) { deliveries { status attemptCount attempts { attemptNumber statusCode } } } }";
    for a in [&a1, &a2] {
        eventually(Duration::from_secs(10), "FAILED", || async {
            (status(s.ok(q, json!({"id": a["id"]})).await) == "FAILED").then_some(())
        })
        .await;
    }
    let future = s
        .ok(
            ops::RETRY_FAILED_DELIVERIES,
            json!({"input": {"outputId": out, "since": "2999-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(future["retryFailedDeliveries"], 0);
    let n = s
        .ok(
            ops::RETRY_FAILED_DELIVERIES,
            json!({"input": {"outputId": out}}),
        )
        .await;
    assert_eq!(n["retryFailedDeliveries"], 2);
    for a in [&a1, &a2] {
        let v = eventually(Duration::from_secs(10), "SUCCEEDED", || async {
            let v = s.ok(q, json!({"id": a["id"]})).await;
            (status(v.clone()) == "SUCCEEDED").then_some(v)
        })
        .await;
        let attempts = &v["alert"]["deliveries"][0]["attempts"];
        assert_eq!(attempts[0]["attemptNumber"], 1);
        assert_eq!(attempts[0]["statusCode"], 401);
        assert_eq!(attempts[1]["attemptNumber"], 2, "numbering continues");
        assert_eq!(attempts[1]["statusCode"], 200);
    }
    let (code, _) = s
        .err(
            ops::RETRY_FAILED_DELIVERIES,
            json!({"input": {"outputId": "missing"}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    s.stop().await;
}

async fn destination_health(db: TestDb) {
    let s = TestServer::start_with(&db, |a| a.max_attempts = 2).await;
    let good = Receiver::start().await;
    let bad = Receiver::start().await;
    bad.default_reply(Reply::status(500).body("down"));
    s.add_webhook("Good", &good.url, &["HIGH"]).await;
    s.add_webhook("Bad", &bad.url, &["HIGH"]).await;
    add_polling(&s, "Poll", 300).await;
    let fresh = s.ok(ops::DESTINATION_HEALTH, json!({})).await;
    for d in fresh["destinations"].as_array().unwrap() {
        assert_eq!(d["health"]["state"], "HEALTHY");
        assert_eq!(d["health"]["consecutiveFailures"], 0);
        assert!(d["health"]["lastAttemptAt"].is_null());
    }
    s.create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "HIGH"}))
        .await;
    s.create_alert_detailed(json!({"detectionId": "y", "title": "t", "severity": "MEDIUM"}))
        .await; // → Poll
    let h = eventually(Duration::from_secs(10), "health to settle", || async {
        let v = s.ok(ops::DESTINATION_HEALTH, json!({})).await;
        let bad = v["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["displayName"] == "Bad")
            .unwrap()
            .clone();
        let good = v["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["displayName"] == "Good")
            .unwrap()
            .clone();
        let settled = bad["health"]["consecutiveFailures"] == 2
            && bad["health"]["pendingCount"] == 0
            && good["health"]["lastSuccessAt"].is_string();
        settled.then_some(v)
    })
    .await;
    let by = |n: &str| {
        h["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["displayName"] == n)
            .unwrap()["health"]
            .clone()
    };
    assert_eq!(by("Bad")["state"], "FAILING");
    assert_eq!(
        by("Bad")["lastError"],
        "HTTP 500 Internal Server Error: down"
    );
    assert!(by("Bad")["lastSuccessAt"].is_null());
    assert_eq!(by("Good")["state"], "HEALTHY");
    assert!(by("Good")["lastSuccessAt"].is_string());
    assert_eq!(by("Poll")["pendingCount"], 1);
    // A success resets the failure count.
    bad.default_reply(Reply::status(200));
    s.create_alert_detailed(json!({"detectionId": "z", "title": "t", "severity": "HIGH"}))
        .await;
    eventually(Duration::from_secs(10), "recovery", || async {
        let v = s.ok(ops::DESTINATION_HEALTH, json!({})).await;
        let b = v["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["displayName"] == "Bad")
            .unwrap()
            .clone();
        (b["health"]["state"] == "HEALTHY" && b["health"]["consecutiveFailures"] == 0).then_some(())
    })
    .await;
    s.stop().await;
}

async fn a_429_pauses_the_whole_destination(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    r.push(Reply::status(429).header("retry-after", "2"));
    s.add_destination(json!({"displayName": "Slack-ish", "outputConfig": {"customWebhook": {"webhookURL": r.url}}, "defaultForSeverity": ["HIGH"], "maxConcurrency": 1})).await;
    let mut ids = vec![];
    for i in 0..8 {
        ids.push(s.create_alert_detailed(json!({"detectionId": "burst", "title": "t", "severity": "HIGH", "dedupString": i.to_string()})).await["id"].clone());
    }
    let reqs = r.wait_for(9, Duration::from_secs(20)).await;
    let first = reqs
        .iter()
        .position(|q| q.at == reqs.iter().map(|q| q.at).min().unwrap())
        .unwrap();
    let t429 = reqs[first].at;
    for q in reqs.iter().filter(|q| q.at > t429) {
        assert!(
            q.at - t429 >= Duration::from_millis(1950),
            "a request was sent {:?} after the 429",
            q.at - t429
        );
    }
    // All delivered; waiting for the limiter never failed a delivery.
    for id in ids {
        let v = eventually(Duration::from_secs(10), "delivered", || async {
            let v = s
                .ok(
                    "query($id: ID!) { alert(id: $id) { deliveries { status } } }",
                    json!({"id": id}),
                )
                .await;
            (v["alert"]["deliveries"][0]["status"] == "SUCCEEDED").then_some(v)
        })
        .await;
        assert_eq!(v["alert"]["deliveries"][0]["status"], "SUCCEEDED");
    }
    s.stop().await;
}

async fn max_requests_per_second(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_destination(json!({"displayName": "Teams-ish", "outputConfig": {"customWebhook": {"webhookURL": r.url}}, "defaultForSeverity": ["HIGH"], "maxRequestsPerSecond": 4.0})).await;
    for i in 0..10 {
        s.create_alert_detailed(json!({"detectionId": "rps", "title": "t", "severity": "HIGH", "dedupString": i.to_string()})).await;
    }
    let reqs = r.wait_for(10, Duration::from_secs(20)).await;
    let mut times: Vec<_> = reqs.iter().map(|q| q.at).collect();
    times.sort();
    // A burst of 4, then one every 250 ms: 10 requests take at least 1.5 s.
    let span = times[9] - times[0];
    assert!(
        span >= Duration::from_millis(1400),
        "10 requests in {span:?} at 4/s"
    );
    for w in times.windows(5) {
        assert!(
            w[4] - w[0] >= Duration::from_millis(200),
            "5 requests within {:?}",
            w[4] - w[0]
        );
    }
    s.stop().await;
}

on_both!(
    polling_destinations,
    routing_dry_run,
    unrouted_alerts_and_unreachable_destinations,
    delivery_failure_alerts,
    failures_of_system_alerts_do_not_recurse,
    replay_failed_deliveries,
    destination_health,
    a_429_pauses_the_whole_destination,
    max_requests_per_second,
);

/// `/metrics` in Prometheus text format counts alerts, unrouted alerts and attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metrics() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Hook", &r.url, &["HIGH"]).await;
    s.create_alert_detailed(json!({"detectionId": "m", "title": "t", "severity": "HIGH"}))
        .await;
    s.create_alert_detailed(json!({"detectionId": "m2", "title": "t", "severity": "LOW"}))
        .await;
    r.wait_for(1, Duration::from_secs(10)).await;
    let text = eventually(Duration::from_secs(10), "metrics", || async {
        let t = reqwest::get(format!("{}/metrics", s.url))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        t.contains("herald_delivery_attempts_total").then_some(t)
    })
    .await;
    for needle in [
        "herald_alerts_created_total{",
        "routed=\"false\"",
        "herald_alerts_unrouted_total",
        "herald_delivery_attempts_total{",
        "output_type=\"customwebhook\"",
        "outcome=\"success\"",
        "herald_delivery_duration_seconds",
        "herald_deliveries_unfinished",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    s.stop().await;
}
