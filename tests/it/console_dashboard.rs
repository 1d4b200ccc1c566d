//! The console's dashboard in headless Chromium (see console.rs for the shell): charts
//! of alerts per severity, top detections and deliveries per destination, the delivery
//! success rate and the failing destination, a live refresh; and the API figures it
//! reads, `metrics.deliveriesPerDestination`, counted by the database.
use crate::console::{console_server, signed_in};
use crate::ops;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

const DELIVERIES: &str = "query($input: MetricsInput!) { metrics(input: $input) {
  totalAlerts deliveriesPerDestination { outputId label exists succeeded failed pending } } }";

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The last hour to an hour from now.
fn around_now() -> Value {
    json!({"fromDate": iso(now_ms() - 3_600_000), "toDate": iso(now_ms() + 3_600_000)})
}

/// Two webhooks, one answering 200 and one 500; alerts of several severities sent to
/// both, one of them, or none, settled; the SYSTEM_ERROR alert about the failures
/// raised. 8 alerts in all; 5 deliveries succeeded, 3 failed. (good id, broken id,
/// the receivers, kept alive.)
async fn seed(s: &TestServer) -> (String, String, Receiver, Receiver) {
    let good = Receiver::start().await;
    let broken = Receiver::start().await;
    broken.default_reply(Reply::status(500).body("down"));
    let good_id = s.add_webhook("Good hook", &good.url, &[]).await;
    let broken_id = s.add_webhook("Broken hook", &broken.url, &[]).await;
    let both: &[&str] = &["Good hook", "Broken hook"];
    let good_only: &[&str] = &["Good hook"];
    let alerts = [
        ("Brute.Force", "HIGH", Some(both)),
        ("Brute.Force", "HIGH", Some(both)),
        ("Brute.Force", "CRITICAL", Some(both)),
        ("Impossible.Travel", "LOW", Some(good_only)),
        ("Impossible.Travel", "LOW", Some(good_only)),
        ("Root.Login", "MEDIUM", None),
        ("Root.Login", "INFO", None),
    ];
    let mut ids = vec![];
    for (i, (detection, severity, destinations)) in alerts.into_iter().enumerate() {
        let title = format!("{detection} #{i}");
        let dedup = format!("d{i}");
        ids.push(
            s.create_alert(NewAlert {
                detection_id: detection,
                title: &title,
                severity,
                dedup_string: Some(&dedup),
                destinations,
            })
            .await,
        );
    }
    for id in &ids[..5] {
        s.settled(id, Duration::from_secs(30)).await;
    }
    eventually(
        Duration::from_secs(20),
        "the system error alert",
        || async {
            let m = s.ok(DELIVERIES, json!({"input": around_now()})).await;
            (m["metrics"]["totalAlerts"] == 8.0).then_some(())
        },
    )
    .await;
    (good_id, broken_id, good, broken)
}

async fn deliveries_per_destination_are_counted_per_outcome(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (good_id, broken_id, _good, _broken) = seed(&s).await;
    // A test send is no alert delivery: left out.
    s.send_test_alert(&[&good_id]).await;
    let m = s.ok(DELIVERIES, json!({"input": around_now()})).await["metrics"].clone();
    assert_eq!(m["totalAlerts"], 8.0, "{m:#}");
    assert_eq!(
        m["deliveriesPerDestination"],
        json!([
            {"outputId": broken_id, "label": "Broken hook", "exists": true, "succeeded": 0, "failed": 3, "pending": 0},
            {"outputId": good_id, "label": "Good hook", "exists": true, "succeeded": 5, "failed": 0, "pending": 0},
        ]),
        "{m:#}"
    );
    // Another range: nothing.
    let past = json!({"fromDate": iso(now_ms() - 7_200_000), "toDate": iso(now_ms() - 3_600_000)});
    let m = s.ok(DELIVERIES, json!({"input": past})).await["metrics"].clone();
    assert_eq!(m["deliveriesPerDestination"], json!([]), "{m:#}");
    // A deleted destination keeps its figures, under its id.
    s.ok(ops::DELETE_DESTINATION, json!({"id": broken_id}))
        .await;
    let m = s.ok(DELIVERIES, json!({"input": around_now()})).await["metrics"].clone();
    assert_eq!(
        m["deliveriesPerDestination"][0],
        json!({"outputId": broken_id, "label": broken_id, "exists": false, "succeeded": 0, "failed": 3, "pending": 0}),
        "{m:#}"
    );
    // Guarded like the rest of `metrics`.
    let issued = s
        .token_with("alerts-only", &[herald::auth::Permission::AlertRead])
        .await;
    let r = s
        .gql_as(&issued, DELIVERIES, json!({"input": around_now()}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r:#}");
    // A backwards range is refused.
    let (code, message) = s
        .err(
            DELIVERIES,
            json!({"input": {"fromDate": iso(now_ms()), "toDate": iso(now_ms() - 1000)}}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
}

/// Whether every chart canvas on the page has something drawn on it.
const CHARTS_DRAWN: &str = r#"const cs = [...document.querySelectorAll('.chart canvas')];
  if (cs.length < 3) return false;
  return cs.every(c => {
    if (!c.width || !c.height) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
    return false;
  });"#;

/// Alerts created over the last day (no destinations): `n` of them, an hour apart.
async fn history(s: &TestServer, n: i64) {
    let severities = ["LOW", "MEDIUM", "HIGH", "INFO", "MEDIUM", "CRITICAL", "LOW"];
    let detections = [
        "Okta.Login.Anomaly",
        "S3.Public.Bucket",
        "GitHub.Secret.Pushed",
    ];
    let input: Vec<Value> = (0..n)
        .map(|i| {
            json!({"detectionId": detections[(i % 3) as usize], "title": format!("h{i}"),
                   "severity": severities[(i * 5 % 7) as usize], "dedupString": format!("h{i}")})
        })
        .collect();
    let made = s.ok(ops::CREATE_ALERTS, json!({"input": input})).await;
    let now = now_ms();
    for (i, a) in made["createAlerts"].as_array().unwrap().iter().enumerate() {
        let hours_ago = 1 + i as i64 + (i as i64 % 3);
        crate::panther_alerts::set_created_at(
            s,
            &str_of(&a["id"]),
            now - hours_ago * 3_600_000 / 2,
        )
        .await;
    }
}

async fn the_dashboard_charts_alerts_and_shows_the_failing_destination(db: TestDb) {
    let s = console_server(&db).await;
    let (_good_id, broken_id, _good, _broken) = seed(&s).await;
    history(&s, 30).await;
    let test = "the_dashboard_charts_alerts_and_shows_the_failing_destination";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/").await;
    b.see("Alerts per severity").await;
    b.see("Delivery success rate").await;
    // 5 of 8 finished deliveries succeeded.
    b.see("62.5%").await;
    b.see("5 of 8 finished deliveries").await;
    b.see("Destinations with failures").await;
    b.see("Broken hook").await;
    b.wait_until("the charts drawn", CHARTS_DRAWN).await;
    let total = b
        .client
        .execute(
            "return document.querySelector('.stat .stat-value').innerText",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(total, json!("38"));
    b.shot("console-dashboard").await;

    // The failing destination links to its page.
    let href = b
        .client
        .execute(
            "return [...document.querySelectorAll('a')].find(a => a.innerText === 'Broken hook').getAttribute('href')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(href, json!(format!("/destinations/{broken_id}")));

    // Live: a new alert shows up without a reload.
    s.create_alert(NewAlert {
        detection_id: "Root.Login",
        title: "one more",
        severity: "MEDIUM",
        dedup_string: Some("live"),
        ..Default::default()
    })
    .await;
    b.wait_until(
        "the total refreshed",
        "return document.querySelector('.stat .stat-value').innerText === '39'",
    )
    .await;

    // Another range, kept in the address.
    b.choose("Time range", "Last 7 days").await;
    b.see("last 7 days").await;
    assert_eq!(b.path().await, "/?range=7d");
    b.wait_until("the charts drawn", CHARTS_DRAWN).await;

    b.resize(390, 844).await;
    b.see("Delivery success rate").await;
    b.shot("console-dashboard-phone").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn without_figures_the_dashboard_says_so(db: TestDb) {
    let s = console_server(&db).await;
    let test = "without_figures_the_dashboard_says_so";
    let Some(b) = signed_in(&s, "ann@example.com", "AnalystReadOnly", test).await else {
        return;
    };
    b.goto("/dashboard").await;
    b.see("No alerts in this range.").await;
    b.see("No deliveries in this range.").await;
    b.see("No failed deliveries in this range.").await;
    b.shot("console-dashboard-empty").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

on_both!(
    deliveries_per_destination_are_counted_per_outcome,
    the_dashboard_charts_alerts_and_shows_the_failing_destination,
    without_figures_the_dashboard_says_so
);
