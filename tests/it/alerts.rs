//! Alerts end to end: ingestion, routing precedence, dedup, delivery with retries,
//! re-sends, test sends, alert updates and polling — on SQLite and PostgreSQL.

use crate::ops;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

fn routed_names(alert: &Value) -> Vec<String> {
    let mut v: Vec<String> = alert["routing"]["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["displayName"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

async fn routing_follows_the_precedence(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    let high = s
        .add_webhook("High", &format!("{}/high", r.url), &["HIGH", "CRITICAL"])
        .await;
    let _low = s
        .add_webhook("Low", &format!("{}/low", r.url), &["LOW"])
        .await;
    let other = s
        .add_webhook("Other", &format!("{}/other", r.url), &[])
        .await;

    // 3. destination configuration by severity.
    let a = s
        .create_alert_detailed(json!({"detectionId": "r1", "title": "t", "severity": "HIGH"}))
        .await;
    assert_eq!(a["routing"]["step"], "DESTINATION_CONFIGURATION");
    assert_eq!(routed_names(&a), ["High"]);
    // generated severity wins over the static one.
    let a = s.create_alert_detailed(json!({"detectionId": "r2", "title": "t", "severity": "HIGH", "generatedSeverity": "LOW"}),
    )
    .await;
    assert_eq!(routed_names(&a), ["Low"]);
    assert_eq!(a["severity"], "LOW");
    // 1. generated destinations, by display name (any case) and by id.
    let a = s.create_alert_detailed(json!({"detectionId": "r3", "title": "t", "severity": "HIGH", "generatedDestinations": ["other", high]})).await;
    assert_eq!(a["routing"]["step"], "GENERATED_DESTINATIONS");
    assert_eq!(routed_names(&a), ["High", "Other"]);
    // empty list and SKIP route nowhere.
    for generated in [json!([]), json!(["SKIP", "Other"])] {
        let a = s.create_alert_detailed(json!({"detectionId": "r4", "title": "t", "severity": "HIGH", "generatedDestinations": generated, "dedupString": generated.to_string()})).await;
        assert_eq!(a["routing"]["step"], "SKIPPED");
        assert_eq!(routed_names(&a), Vec::<String>::new());
        assert_eq!(a["routed"], true, "an explicit skip is not 'unrouted'");
    }
    // unknown names only: warning, fall through to the override.
    s.put_override(json!({"detectionId": "r5", "outputIds": [other.clone()]}))
        .await;
    let a = s.create_alert_detailed(json!({"detectionId": "r5", "title": "t", "severity": "HIGH", "generatedDestinations": ["nope"]})).await;
    assert_eq!(a["routing"]["step"], "DETECTION_OVERRIDE");
    assert_eq!(routed_names(&a), ["Other"]);
    assert!(a["routing"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("nope"));
    // override SKIP.
    s.put_override(json!({"detectionId": "r6", "outputIds": ["SKIP"]}))
        .await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "r6", "title": "t", "severity": "CRITICAL"}))
        .await;
    assert_eq!(a["routing"]["step"], "SKIPPED");
    // override severity feeds destination configuration.
    s.put_override(json!({"detectionId": "r7", "severity": "LOW"}))
        .await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "r7", "title": "t", "severity": "CRITICAL"}))
        .await;
    assert_eq!(routed_names(&a), ["Low"]);
    // nothing matches: unrouted.
    let a = s
        .create_alert_detailed(json!({"detectionId": "r8", "title": "t", "severity": "INFO"}))
        .await;
    assert_eq!(a["routed"], false);
    // deliveries land at the chosen receivers only.
    let reqs = r.wait_for(6, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut paths: Vec<String> = r.requests().iter().map(|q| q.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/high", "/high", "/low", "/low", "/other", "/other"],
        "{reqs:#?}"
    );
    s.stop().await;
}

async fn alert_type_and_log_type_filters(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.ok(
        ops::ADD_DESTINATION_DETAILED,
        json!({"input": {"displayName": "Okta only", "outputConfig": {"customWebhook": {"webhookURL": r.url}},
            "defaultForSeverity": ["HIGH"], "alertTypes": ["RULE", "POLICY"], "logTypes": ["Okta.SystemLog"]}}),
    )
    .await;
    let rule_okta = s.create_alert_detailed(json!({"detectionId": "a", "title": "t", "severity": "HIGH", "logType": "Okta.SystemLog"}),
    )
    .await;
    assert_eq!(routed_names(&rule_okta), ["Okta only"]);
    let rule_aws = s.create_alert_detailed(json!({"detectionId": "b", "title": "t", "severity": "HIGH", "logType": "AWS.CloudTrail"}),
    )
    .await;
    assert_eq!(
        rule_aws["routing"]["excluded"][0]["reasons"],
        json!(["LOG_TYPE"])
    );
    // the log-type filter is ignored for non-RULE alerts.
    let policy = s.create_alert_detailed(json!({"detectionId": "c", "title": "t", "severity": "HIGH", "type": "POLICY", "logType": "AWS.CloudTrail"})).await;
    assert_eq!(routed_names(&policy), ["Okta only"]);
    let scheduled = s
        .create_alert_detailed(
            json!({"detectionId": "d", "title": "t", "severity": "HIGH", "type": "SCHEDULED_RULE"}),
        )
        .await;
    assert_eq!(
        scheduled["routing"]["excluded"][0]["reasons"],
        json!(["ALERT_TYPE"])
    );
    s.stop().await;
}

async fn dedup_joins_open_alerts(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Hook", &r.url, &["MEDIUM"]).await;
    let first = s.create_alert_detailed(json!({"detectionId": "dd", "title": "t", "severity": "MEDIUM", "dedupString": "user=alice"})).await;
    let second = s.create_alert_detailed(json!({"detectionId": "dd", "title": "t", "severity": "MEDIUM", "dedupString": "user=alice"})).await;
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["eventCount"], 2);
    // The answer says the match joined an alert rather than being routed again.
    assert_eq!(first["deduplicated"], false);
    assert_eq!(second["deduplicated"], true);
    assert!(second["lastReceivedEventAt"].as_str() >= first["lastReceivedEventAt"].as_str());
    let other = s.create_alert_detailed(json!({"detectionId": "dd", "title": "t", "severity": "MEDIUM", "dedupString": "user=bob"}),
    )
    .await;
    assert_ne!(other["id"], first["id"]);
    // a closed alert is not joined.
    s.ok(
        "mutation($i: UpdateAlertStatusByIdInput!) { updateAlertStatusById(input: $i) { alerts { id status } } }",
        json!({"i": {"ids": [first["id"]], "status": "TRIAGED"}}),
    )
    .await;
    let third = s.create_alert_detailed(json!({"detectionId": "dd", "title": "t", "severity": "MEDIUM", "dedupString": "user=alice"})).await;
    assert_ne!(third["id"], first["id"]);
    // only three alerts, three deliveries: the joined match dispatched nothing.
    r.wait_for(3, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.requests().len(), 3);
    let d = s
        .settled(first["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d.len(), 1);
    s.stop().await;
}

async fn payload_headers_and_signature(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    s.ok(
        ops::ADD_DESTINATION_DETAILED,
        json!({"input": {"displayName": "Signed", "outputConfig": {"customWebhook": {"webhookURL": format!("{}/hook", r.url),
            "headers": [{"key": "X-Team", "value": "sec-ops"}], "signingSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
            "defaultForSeverity": ["CRITICAL"]}}),
    )
    .await;
    s.put_override(json!({"detectionId": "AWS.Root.Login", "displayName": "Root login", "runbook": "Call the CISO", "tags": ["aws"]})).await;
    let a = s.create_alert_detailed(json!({"detectionId": "AWS.Root.Login", "title": "Root logged in", "severity": "CRITICAL", "description": "d",
            "tags": ["root"], "alertContext": {"ip": "1.2.3.4"}, "logType": "AWS.CloudTrail"}),
    )
    .await;
    let req = &r.wait_for(1, Duration::from_secs(10)).await[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/hook");
    assert_eq!(req.header("x-team"), Some("sec-ops"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body = req.json();
    let alert_id = a["id"].as_str().unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alertContext",
            "alertId",
            "createdAt",
            "description",
            "id",
            "link",
            "name",
            "runbook",
            "severity",
            "tags",
            "title",
            "type",
            "version"
        ]
    );
    assert_eq!(body["id"], "AWS.Root.Login");
    assert_eq!(body["alertId"], alert_id);
    assert_eq!(body["name"], "Root login");
    assert_eq!(body["severity"], "CRITICAL");
    assert_eq!(body["type"], "RULE");
    assert_eq!(body["runbook"], "Call the CISO");
    assert_eq!(body["tags"], json!(["root", "aws"]));
    assert_eq!(body["alertContext"], json!({"ip": "1.2.3.4"}));
    assert_eq!(
        body["link"],
        format!("https://herald.test/alerts/{alert_id}")
    );
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
    // Standard Webhooks headers, verifiable by the receiver.
    let id = req.header("webhook-id").unwrap();
    let ts: i64 = req.header("webhook-timestamp").unwrap().parse().unwrap();
    let expected = herald::destinations::signing::sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        id,
        ts,
        &req.body,
    )
    .unwrap();
    assert_eq!(req.header("webhook-signature"), Some(expected.as_str()));
    let d = s.settled(alert_id, Duration::from_secs(20)).await;
    assert_eq!(d[0]["deliveryId"], id, "webhook-id is the delivery id");
    s.stop().await;
}

async fn retries_until_success_with_a_stable_webhook_id(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    r.push(Reply::status(500).body("boom"))
        .push(Reply::status(503));
    s.add_webhook("Flaky", &r.url, &["HIGH"]).await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "HIGH"}))
        .await;
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d[0]["status"], "SUCCEEDED");
    assert_eq!(d[0]["attemptCount"], 3);
    let attempts = d[0]["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["statusCode"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [500, 503, 200]
    );
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["attemptNumber"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        attempts[0]["message"],
        "HTTP 500 Internal Server Error: boom"
    );
    assert_eq!(attempts[0]["success"], false);
    assert_eq!(attempts[2]["success"], true);
    let ids: Vec<String> = r
        .requests()
        .iter()
        .map(|q| q.header("webhook-id").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| i == &ids[0]));
    s.stop().await;
}

/// Deliveries handed to the workers in memory need no claim, and a claim that found
/// nothing is not repeated after every send: with a poll interval longer than the test,
/// a stream of alerts costs no claim query, and a retry is still claimed when it comes
/// due.
async fn handed_off_work_needs_no_claims_and_retries_are_claimed_when_due(db: TestDb) {
    let s = TestServer::start_with(&db, |a| a.poll_interval_ms = 60_000).await;
    let r = Receiver::start().await;
    s.add_webhook("Hook", &r.url, &["HIGH"]).await;
    let dispatcher = &s.services().dispatcher;
    eventually(Duration::from_secs(10), "the start-up claim", || async {
        (dispatcher.claims() >= 1).then_some(())
    })
    .await;
    let before = dispatcher.claims();
    for i in 0..40 {
        s.create_alert(json!({"detectionId": "x", "title": "t", "severity": "HIGH", "dedupString": i.to_string()}))
            .await;
    }
    r.wait_for(40, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        dispatcher.claims(),
        before,
        "40 deliveries handed off, each send waking the claim loop"
    );
    // A retry this process scheduled is claimed when due, not at the next poll.
    r.push(Reply::status(500).body("boom"));
    let a = s
        .create_alert_detailed(json!({"detectionId": "y", "title": "t", "severity": "HIGH"}))
        .await;
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d[0]["status"], "SUCCEEDED");
    assert_eq!(d[0]["attemptCount"], 2);
    s.stop().await;
}

async fn permanent_failures_and_exhausted_retries(db: TestDb) {
    let s = TestServer::start(&db).await;
    let bad = Receiver::start().await;
    bad.default_reply(Reply::status(400).body("no such channel"));
    let down = Receiver::start().await;
    down.default_reply(Reply::status(502));
    s.add_webhook("Bad", &bad.url, &["HIGH"]).await;
    s.add_webhook("Down", &down.url, &["HIGH"]).await;
    // a closed port: connection errors are retried and recorded with status 0.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    s.add_webhook("Closed", &format!("http://{closed}/"), &["HIGH"])
        .await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "HIGH"}))
        .await;
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    let by = |label: &str| d.iter().find(|x| x["label"] == label).unwrap().clone();
    let b = by("Bad");
    assert_eq!(b["status"], "FAILED");
    assert_eq!(b["attemptCount"], 1);
    assert_eq!(b["statusCode"], 400);
    assert_eq!(b["message"], "HTTP 400 Bad Request: no such channel");
    let dn = by("Down");
    assert_eq!(dn["status"], "FAILED");
    assert_eq!(dn["attemptCount"], 5, "HERALD_MAX_ATTEMPTS=5 in tests");
    let c = by("Closed");
    assert_eq!(c["status"], "FAILED");
    assert_eq!(c["attempts"][0]["statusCode"], 0);
    assert!(c["attempts"][0]["message"]
        .as_str()
        .unwrap()
        .contains("connection"));
    s.stop().await;
}

async fn retry_after_is_honoured(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    r.push(Reply::status(429).header("retry-after", "1"));
    s.add_webhook("Limited", &r.url, &["HIGH"]).await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "HIGH"}))
        .await;
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d[0]["status"], "SUCCEEDED");
    let reqs = r.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, before Retry-After"
    );
    s.stop().await;
}

async fn send_test_alert_and_deliver_alert(db: TestDb) {
    let s = TestServer::start(&db).await;
    let ok = Receiver::start().await;
    let bad = Receiver::start().await;
    bad.default_reply(Reply::status(404).body("gone"));
    let ok_id = s.add_webhook("Ok", &ok.url, &[]).await;
    let bad_id = s.add_webhook("Bad", &bad.url, &[]).await;
    let res = s
        .ok(
            "mutation($i: SendTestAlertInput!) { sendTestAlert(input: $i) { outputId success statusCode message dispatchedAt } }",
            json!({"i": {"outputIds": [ok_id, bad_id]}}),
        )
        .await["sendTestAlert"]
        .clone();
    assert_eq!(res[0]["outputId"], ok_id.as_str());
    assert_eq!(res[0]["success"], true);
    assert_eq!(res[0]["statusCode"], 200);
    assert_eq!(res[1]["success"], false);
    assert_eq!(res[1]["statusCode"], 404);
    assert_eq!(res[1]["message"], "HTTP 404 Not Found: gone");
    // synchronous: the request already arrived when the mutation returned.
    let got = ok.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["id"], "Test.Alert");
    assert_eq!(got[0].json()["severity"], "INFO");
    assert_eq!(got[0].json()["type"], "RULE");
    // an unknown destination is NOT_FOUND.
    let (code, _) = s
        .err(
            "mutation { sendTestAlert(input: {outputIds: [\"nope\"]}) { success } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");

    // deliverAlert: bypasses routing (no destination takes INFO), prefixes the title.
    let a = s
        .create_alert_detailed(
            json!({"detectionId": "x", "title": "Disk full", "severity": "INFO"}),
        )
        .await;
    assert_eq!(a["routed"], false);
    s.ok(
        ops::DELIVER_ALERT,
        json!({"input": {"alertId": a["id"], "outputIds": [ok_id]}}),
    )
    .await;
    let got = ok.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got[1].json()["title"], "[Re-sent]: Disk full");
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d[0]["kind"], "RESEND");
    let (code, _) = s
        .err(
            ops::DELIVER_ALERT,
            json!({"input": {"alertId": a["id"], "outputIds": ["missing"]}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    s.stop().await;
}

async fn alert_updates_and_comments(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "LOW"}))
        .await;
    let id = a["id"].clone();
    let out = s
        .ok(
            "mutation($i: UpdateAlertStatusByIdInput!) { updateAlertStatusById(input: $i) { alerts { id status lastModifiedBy } } }",
            json!({"i": {"ids": [id], "status": "RESOLVED"}}),
        )
        .await;
    assert_eq!(
        out["updateAlertStatusById"]["alerts"][0]["status"],
        "RESOLVED"
    );
    assert_eq!(
        out["updateAlertStatusById"]["alerts"][0]["lastModifiedBy"],
        "test-admin"
    );
    // Alerts are assigned to users that exist (see tests/it/assignment.rs).
    let alice = s
        .ok(
            crate::ops::INVITE_USER,
            json!({"input": {"email": "alice@example.com", "givenName": "Alice", "familyName": "A", "role": {"kind": "NAME", "value": "Analyst"}}}),
        )
        .await["inviteUser"]["user"]["id"]
        .clone();
    let out = s
        .ok(
            "mutation($i: UpdateAlertsAssigneeByIdInput!) { updateAlertsAssigneeById(input: $i) { alerts { assigneeId } } }",
            json!({"i": {"ids": [id], "assigneeId": alice}}),
        )
        .await;
    assert_eq!(
        out["updateAlertsAssigneeById"]["alerts"][0]["assigneeId"],
        alice
    );
    s.ok(
        "mutation($i: CreateAlertCommentInput!) { createAlertComment(input: $i) { comment { id body createdBy } } }",
        json!({"i": {"alertId": id, "body": "looking"}}),
    )
    .await;
    let got = s
        .ok(
            "query($id: ID!) { alert(id: $id) { comments { body createdBy createdAt } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(got["alert"]["comments"][0]["body"], "looking");
    assert_eq!(got["alert"]["comments"][0]["createdBy"], "test-admin");
    let (code, _) = s
        .err(
            "mutation { updateAlertStatusById(input: {ids: [\"missing\"], status: CLOSED}) { alerts { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    assert!(s.ok("{ alert(id: \"missing\") { id } }", json!({})).await["alert"].is_null());
    s.stop().await;
}

async fn filters_and_pagination(db: TestDb) {
    let s = TestServer::start(&db).await;
    for i in 0..7 {
        let sev = if i % 2 == 0 { "HIGH" } else { "LOW" };
        s.create_alert_detailed(json!({"detectionId": format!("det{}", i % 3), "title": format!("Alert number {i}"), "severity": sev, "dedupString": i.to_string(), "logType": "Okta.SystemLog"})).await;
    }
    let page = s.alerts_page(json!({"pageSize": 3})).await;
    assert_eq!(page["edges"].as_array().unwrap().len(), 3);
    assert_eq!(
        page["edges"][0]["node"]["title"], "Alert number 6",
        "newest first by default"
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let mut seen = vec![];
    let pages = all_pages(|cursor| {
        s.alerts_page(json!({"pageSize": 2, "cursor": cursor, "sortDir": "ascending"}))
    })
    .await;
    for p in pages {
        for e in p["edges"].as_array().unwrap() {
            seen.push(e["node"]["title"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        seen,
        (0..7)
            .map(|i| format!("Alert number {i}"))
            .collect::<Vec<_>>()
    );
    let high = s.alerts_page(json!({"severities": ["HIGH"]})).await["edges"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(high, 4);
    let det = s.alerts_page(json!({"detectionId": "det1"})).await["edges"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(det, 2);
    let named = s.alerts_page(json!({"nameContains": "NUMBER 3"})).await["edges"].clone();
    assert_eq!(named.as_array().unwrap().len(), 1);
    let none = s
        .alerts_page(json!({"createdAtBefore": "2000-01-01T00:00:00Z"}))
        .await["edges"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(none, 0);
    let (code, _) = s
        .err(ops::ALERTS_PAGE, json!({"input": {"pageSize": 1001}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, _) = s
        .err(ops::ALERTS_PAGE, json!({"input": {"cursor": "garbage!"}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    s.stop().await;
}

/// Concurrent writers, one poller following `endCursor`: every alert is seen exactly once.
async fn polling_has_no_gaps_or_repeats(db: TestDb) {
    let s = TestServer::start(&db).await;
    let writers = 4;
    let per_writer = 15;
    let mut handles = vec![];
    for w in 0..writers {
        let url = s.url.clone();
        let token = s.token.clone();
        handles.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            let mut ids = vec![];
            for i in 0..per_writer {
                let v: Value = c
                    .post(format!("{url}/graphql"))
                    .header("x-api-key", &token)
                    .json(&json!({"query": ops::CREATE_ALERT,
                        "variables": {"input": {"detectionId": format!("w{w}"), "title": "t", "severity": "LOW", "dedupString": i.to_string()}}}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                ids.push(v["data"]["createAlert"]["id"].as_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut seen: Vec<String> = vec![];
    let mut cursor = Value::Null;
    let poll = async {
        loop {
            let p = s
                .alerts_page(json!({"pageSize": 7, "cursor": cursor, "sortDir": "ascending"}))
                .await;
            for e in p["edges"].as_array().unwrap() {
                seen.push(e["node"]["id"].as_str().unwrap().to_string());
            }
            cursor = p["pageInfo"]["endCursor"].clone();
            if seen.len() >= writers * per_writer {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), poll)
        .await
        .expect("poller saw everything");
    let mut created: Vec<String> = vec![];
    for h in handles {
        created.extend(h.await.unwrap());
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an alert was returned twice");
    created.sort();
    assert_eq!(unique, created, "an alert was missed");
    s.stop().await;
}

async fn deleted_destination_fails_pending_deliveries(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    // The retry waits 2 s (Retry-After), so the destination is surely deleted before it.
    r.push(Reply::status(503).header("retry-after", "2"));
    let id = s.add_webhook("Gone soon", &r.url, &["HIGH"]).await;
    let a = s
        .create_alert_detailed(json!({"detectionId": "x", "title": "t", "severity": "HIGH"}))
        .await;
    r.wait_for(1, Duration::from_secs(10)).await;
    s.ok(ops::DELETE_DESTINATION, json!({"id": id})).await;
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d[0]["status"], "FAILED");
    assert!(d[0]["message"].as_str().unwrap().contains("deleted"));
    s.stop().await;
}

/// Two server processes on one database share the outbox without double-sending.
async fn two_instances_share_the_work(db: TestDb) {
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let r = Receiver::start().await;
    r.default_reply(Reply::status(200).delay(Duration::from_millis(20)));
    a.add_webhook("Shared", &r.url, &["HIGH"]).await;
    let n = 40;
    for i in 0..n {
        let s = if i % 2 == 0 { &a } else { &b };
        s.create_alert_detailed(json!({"detectionId": "shared", "title": "t", "severity": "HIGH", "dedupString": i.to_string()})).await;
    }
    r.wait_for(n, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reqs = r.requests();
    let mut ids: Vec<String> = reqs
        .iter()
        .map(|q| q.header("webhook-id").unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "every delivery sent");
    assert_eq!(reqs.len(), n, "and none sent twice");
    a.stop().await;
    b.stop().await;
}

/// Destinations are read at send time: an update applies to the next alert.
async fn destination_updates_apply_to_the_next_alert(db: TestDb) {
    let s = TestServer::start(&db).await;
    let first = Receiver::start().await;
    let second = Receiver::start().await;
    let id = s.add_webhook("Moving", &first.url, &["HIGH"]).await;
    s.create_alert_detailed(
        json!({"detectionId": "m", "title": "t", "severity": "HIGH", "dedupString": "1"}),
    )
    .await;
    first.wait_for(1, Duration::from_secs(10)).await;
    s.ok(
        ops::UPDATE_DESTINATION,
        json!({"input": {"outputId": id, "displayName": "Moving", "outputConfig": {"customWebhook": {"webhookURL": second.url}}, "defaultForSeverity": ["HIGH"]}}),
    )
    .await;
    s.create_alert_detailed(
        json!({"detectionId": "m", "title": "t", "severity": "HIGH", "dedupString": "2"}),
    )
    .await;
    second.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(first.requests().len(), 1);
    s.stop().await;
}

/// A match after the dedup period starts a new alert, even if the old one is OPEN.
async fn dedup_period_expires(db: TestDb) {
    use herald::store::entities::alert;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let s = TestServer::start(&db).await;
    s.put_override(json!({"detectionId": "p", "dedupPeriodMinutes": 15}))
        .await;
    let first = s
        .create_alert_detailed(
            json!({"detectionId": "p", "title": "t", "severity": "LOW", "dedupString": "k"}),
        )
        .await;
    // Age the alert by 14 minutes: still inside the period.
    let age = |minutes: i64| {
        let id = first["id"].as_str().unwrap().to_string();
        let db = s.services().db.clone();
        async move {
            alert::Entity::update_many()
                .col_expr(
                    alert::Column::CreatedAt,
                    (herald::domain::time::now_ms() - minutes * 60_000).into(),
                )
                .filter(alert::Column::Id.eq(id))
                .exec(&db)
                .await
                .unwrap();
        }
    };
    age(14).await;
    let joined = s
        .create_alert_detailed(
            json!({"detectionId": "p", "title": "t", "severity": "LOW", "dedupString": "k"}),
        )
        .await;
    assert_eq!(joined["id"], first["id"]);
    age(16).await;
    let fresh = s
        .create_alert_detailed(
            json!({"detectionId": "p", "title": "t", "severity": "LOW", "dedupString": "k"}),
        )
        .await;
    assert_ne!(fresh["id"], first["id"], "past the 15-minute dedup period");
    assert_eq!(fresh["eventCount"], 1);
    s.stop().await;
}

/// `deliverAlert`, `sendTestAlert`, `retryFailedDeliveries` and `previewPayload` take a
/// destination's display name where they take its id, matched as routing matches names
/// (trimmed, case-insensitive in full Unicode); an unknown one is NOT_FOUND, naming it.
async fn destinations_by_id_or_name(db: TestDb) {
    let s = TestServer::start(&db).await;
    let rx = Receiver::start().await;
    let id = s.add_webhook("Équipe Sécurité", &rx.url, &[]).await;
    let other = Receiver::start().await;
    s.add_webhook("Other", &other.url, &[]).await;
    let unknown = |what: &str, (code, message): (String, String)| {
        assert_eq!(code, "NOT_FOUND", "{what}: {message}");
        assert!(message.contains("Nobody Here"), "{what}: {message}");
    };

    // sendTestAlert: by name, in any case; id and name of one destination send once.
    let send_test =
        "mutation($ids: [ID!]!) { sendTestAlert(input: {outputIds: $ids}) { outputId success } }";
    let r = s
        .ok(send_test, json!({"ids": [" équipe sécurité ", id]}))
        .await;
    assert_eq!(
        r["sendTestAlert"],
        json!([{"outputId": id, "success": true}])
    );
    assert_eq!(rx.requests().len(), 1);
    assert!(other.requests().is_empty());
    unknown(
        "sendTestAlert",
        s.err(send_test, json!({"ids": [id, "Nobody Here"]})).await,
    );
    assert_eq!(rx.requests().len(), 1, "nothing sent when one is unknown");

    // previewPayload: a stored destination by name.
    let preview = "query($i: PreviewPayloadInput!) { previewPayload(input: $i) { method url } }";
    let p = s
        .ok(preview, json!({"i": {"outputId": "ÉQUIPE SÉCURITÉ"}}))
        .await;
    // (A webhook URL is a secret: the preview masks it.)
    assert_eq!(p["previewPayload"]["method"], "POST", "{p:#}");
    unknown(
        "previewPayload",
        s.err(preview, json!({"i": {"outputId": "Nobody Here"}}))
            .await,
    );

    // deliverAlert: by name; the delivery is the destination's (its id and name).
    rx.default_reply(Reply::status(400));
    let a = s
        .create_alert_detailed(
            json!({"detectionId": "by.name", "title": "Disk full", "severity": "INFO"}),
        )
        .await;
    s.ok(
        ops::DELIVER_ALERT,
        json!({"input": {"alertId": a["id"], "outputIds": ["équipe sécurité"]}}),
    )
    .await;
    let d = s
        .settled(a["id"].as_str().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["outputId"], id.as_str());
    assert_eq!(d[0]["label"], "Équipe Sécurité");
    assert_eq!(d[0]["status"], "FAILED", "a 400 is permanent");
    unknown(
        "deliverAlert",
        s.err(
            ops::DELIVER_ALERT,
            json!({"input": {"alertId": a["id"], "outputIds": ["Nobody Here"]}}),
        )
        .await,
    );

    // retryFailedDeliveries: by name.
    rx.default_reply(Reply::status(200));
    let n = s
        .ok(
            ops::RETRY_FAILED_DELIVERIES,
            json!({"input": {"outputId": "Équipe sécurité"}}),
        )
        .await;
    assert_eq!(n["retryFailedDeliveries"], 1);
    eventually(Duration::from_secs(10), "the retried delivery", || async {
        let v = s.ok(ops::ALERT_DELIVERIES, json!({"id": a["id"]})).await;
        (v["alert"]["deliveries"][0]["status"] == "SUCCEEDED").then_some(())
    })
    .await;
    unknown(
        "retryFailedDeliveries",
        s.err(
            ops::RETRY_FAILED_DELIVERIES,
            json!({"input": {"outputId": "Nobody Here"}}),
        )
        .await,
    );
    s.stop().await;
}

on_both!(
    destinations_by_id_or_name,
    routing_follows_the_precedence,
    alert_type_and_log_type_filters,
    dedup_joins_open_alerts,
    payload_headers_and_signature,
    retries_until_success_with_a_stable_webhook_id,
    handed_off_work_needs_no_claims_and_retries_are_claimed_when_due,
    permanent_failures_and_exhausted_retries,
    retry_after_is_honoured,
    send_test_alert_and_deliver_alert,
    alert_updates_and_comments,
    filters_and_pagination,
    polling_has_no_gaps_or_repeats,
    deleted_destination_fails_pending_deliveries,
    two_instances_share_the_work,
    destination_updates_apply_to_the_next_alert,
    dedup_period_expires,
);

mod settling {
    use super::*;
    on_postgres!(a_page_never_passes_an_alert_still_being_committed);
}

/// PostgreSQL ingestion transactions commit side by side, so one that began first may
/// commit after a later one. A page in `seq` order lists only alerts no running
/// transaction can precede: it waits (up to a second) for the older transaction, and a
/// poller's cursor never passes the alert it will commit.
async fn a_page_never_passes_an_alert_still_being_committed(db: TestDb) {
    use sea_orm::TransactionTrait;
    let s = TestServer::start(&db).await;
    let conn = herald::store::connect(&db.url).await.unwrap();
    let create = |title: &'static str| {
        let s = &s;
        async move {
            s.ok(
                ops::CREATE_ALERT,
                json!({"input": {"detectionId": "settle", "title": title, "severity": "LOW", "dedupString": title}}),
            )
            .await["createAlert"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // An alert inserted the way ingestion inserts it, in a transaction left open.
    let in_flight = |title: &str| {
        let mut a = herald::domain::payload::test_alert(herald::domain::time::now_ms());
        a.id = herald::domain::AlertId::new_ordered();
        a.detection_id = "settle".into();
        a.dedup_string = title.into();
        a.title = title.into();
        a
    };
    let ids = page_ids;

    // 1. The page waits for an older transaction that commits meanwhile.
    let txn = conn.begin().await.unwrap();
    let mut first = [in_flight("first")];
    herald::store::alerts::insert_many(&txn, &mut first)
        .await
        .unwrap();
    let second = create("second").await;
    let commit = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        txn.commit().await.unwrap();
    });
    let page = s
        .alerts_page(json!({"pageSize": 10, "sortDir": "ascending"}))
        .await;
    commit.await.unwrap();
    assert_eq!(
        ids(&page),
        [first[0].id.to_string(), second.clone()],
        "the page waited for the older transaction; its alert comes first"
    );
    let cursor = page["pageInfo"]["endCursor"].clone();

    // 2. An older transaction that stays open holds later alerts back from pages (for
    //    ascending and newest-first ones alike); the cursor waits before them.
    let txn = conn.begin().await.unwrap();
    let mut third = [in_flight("third")];
    herald::store::alerts::insert_many(&txn, &mut third)
        .await
        .unwrap();
    let fourth = create("fourth").await;
    let started = std::time::Instant::now();
    let page = s
        .alerts_page(json!({"pageSize": 10, "sortDir": "ascending", "cursor": cursor}))
        .await;
    assert!(ids(&page).is_empty(), "{page}");
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited");
    let newest = s
        .alerts_page(json!({"pageSize": 10, "sortDir": "descending"}))
        .await;
    assert_eq!(ids(&newest), [second.clone(), first[0].id.to_string()]);
    txn.commit().await.unwrap();
    let page = s
        .alerts_page(json!({"pageSize": 10, "sortDir": "ascending", "cursor": cursor}))
        .await;
    assert_eq!(ids(&page), [third[0].id.to_string(), fourth.clone()]);
    let newest = s
        .alerts_page(json!({"pageSize": 2, "sortDir": "descending"}))
        .await;
    assert_eq!(ids(&newest), [fourth, third[0].id.to_string()]);
    s.stop().await;
}
