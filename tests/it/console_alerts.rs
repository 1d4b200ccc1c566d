//! The console's alerts page(s) in headless Chromium (see console.rs for the shell): the
//! list (filters in the URL, live arrivals), and one alert's page (deliveries with their
//! attempts, status, comments, re-send, live deliveries), and what a read-only analyst sees.
use crate::console::{console_server, signed_in};
use crate::support::browser::Browser;
use crate::support::*;
use serde_json::json;
use std::time::Duration;

const ALERT_STATE: &str =
    "query($id: ID!) { alert(id: $id) { status comments { body format createdBy } deliveries { kind status } } }";

/// Waits until the browser's live subscriptions reached the server (a subscription
/// that is not yet open would miss what the test does next).
async fn watched_by(s: &TestServer, n: usize) {
    eventually(
        Duration::from_secs(20),
        "the page's live subscriptions",
        || async { (s.services().live.watchers() >= n).then_some(()) },
    )
    .await;
}

/// Scrolls the first element matching `css` to the top of the window.
async fn scroll_to(b: &Browser, css: &str) {
    b.client
        .execute(
            &format!(
                "document.querySelector({}).scrollIntoView({{block: 'start'}}); window.scrollBy(0, -8); return true",
                serde_json::to_string(css).unwrap()
            ),
            vec![],
        )
        .await
        .expect("scroll");
}

async fn an_admin_sees_an_alert_arrive_live_and_triages_it(db: TestDb) {
    let s = console_server(&db).await;
    let rx = Receiver::start().await;
    s.add_webhook("Ops webhook", &rx.url, &["HIGH", "CRITICAL"])
        .await;
    // Not routed: the webhook takes HIGH and CRITICAL only.
    s.create_alert(NewAlert {
        title: "Quiet login at night",
        severity: "LOW",
        detection_id: "Okta.Login.Night",
        ..Default::default()
    })
    .await;
    let test = "an_admin_sees_an_alert_arrive_live_and_triages_it";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/alerts").await;
    b.see("Quiet login at night").await;
    b.see("unassigned").await;
    watched_by(&s, 3).await;
    // A mark that a reload would erase.
    b.client
        .execute("window.__same_page = true; return true", vec![])
        .await
        .unwrap();

    let id = s
        .create_alert(json!({
            "detectionId": "AWS.Root.Login",
            "title": "Root login from a new country",
            "severity": "HIGH",
            "runbook": "Call the account owner.",
            "tags": ["aws", "identity"],
            "alertContext": json!({"country": "NZ", "user": "root"}).to_string(),
            "events": [json!({"eventName": "ConsoleLogin", "sourceIPAddress": "203.0.113.9"}).to_string()],
        }))
        .await;
    b.see("Root login from a new country").await;
    b.wait_until(
        "the new alert's delivery in its row",
        "return [...document.querySelectorAll('tr')].some(r => r.innerText.includes('Root login') && r.innerText.includes('1 sent'))",
    )
    .await;
    b.wait_until(
        "no reload",
        "return window.__same_page === true && document.querySelector('tr .new-badge') !== null",
    )
    .await;
    b.shot("console-alerts-list").await;
    // A change elsewhere updates its row in place.
    s.ok(
        crate::ops::UPDATE_ALERT_STATUS,
        json!({"input": {"ids": [id], "status": "TRIAGED"}}),
    )
    .await;
    b.wait_until(
        "the row's new status",
        "return [...document.querySelectorAll('tr')].some(r => r.innerText.includes('Root login') && r.innerText.includes('TRIAGED'))",
    )
    .await;

    // Filter by severity: the LOW alert leaves the list, and the URL keeps the filter.
    b.tick("Severity", "HIGH", true).await;
    b.not_see("Quiet login at night").await;
    b.see("Root login from a new country").await;
    assert_eq!(b.path().await, "/alerts?sev=HIGH");
    b.goto("/alerts?sev=HIGH").await;
    b.see("Root login from a new country").await;
    b.see("1 filter applied").await;
    assert!(!b.text().await.contains("Quiet login at night"));
    b.shot("console-alerts-list-filtered").await;

    // The alert's page: its delivery to the webhook and the attempt's status code.
    b.click("Root login from a new country").await;
    assert_eq!(b.path().await, format!("/alerts/{id}"));
    b.see("Ops webhook").await;
    b.see("Call the account owner.").await;
    b.see("ConsoleLogin").await;
    b.wait_until(
        "a 200 attempt",
        "return [...document.querySelectorAll('td[data-label=\"Status code\"]')].some(td => td.innerText.trim() === '200')",
    )
    .await;
    b.see("SUCCEEDED").await;
    // The link every payload carries, which the API's `Alert.link` gives.
    let link = format!("http://herald.test/alerts/{id}");
    b.see(&link).await;
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got[0].json()["link"], link);
    let d = s
        .ok(
            "query($id: ID!) { alert(id: $id) { link } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(d["alert"]["link"], link);

    // Status.
    b.choose("Status", "RESOLVED").await;
    b.click("Save status").await;
    b.see("Status saved: RESOLVED").await;
    let d = s.ok(ALERT_STATE, json!({"id": id})).await;
    assert_eq!(d["alert"]["status"], "RESOLVED");

    // The assignee.
    b.choose("Assignee", "Given Family (ada@example.com)").await;
    b.click("Save assignee").await;
    b.see("Assigned to Given Family (ada@example.com)").await;

    b.shot("console-alert-triage").await;

    // A comment.
    b.fill("Comment", "Checked with the owner: a trip abroad.")
        .await;
    b.click("Add comment").await;
    b.see("Comment added").await;
    b.see("Checked with the owner: a trip abroad.").await;
    let d = s.ok(ALERT_STATE, json!({"id": id})).await;
    assert_eq!(
        d["alert"]["comments"][0]["body"],
        "Checked with the owner: a trip abroad."
    );
    assert_eq!(d["alert"]["comments"][0]["format"], "PLAIN_TEXT");

    // Re-send: a new delivery appears and settles live, the receiver gets it.
    let before = s.settled(&id, Duration::from_secs(10)).await.len();
    let sent = rx.requests().len();
    watched_by(&s, 2).await;
    b.tick("Re-send to", "Ops webhook", true).await;
    b.click("Re-send").await;
    b.see("Re-sent to Ops webhook").await;
    let got = rx.wait_for(sent + 1, Duration::from_secs(10)).await;
    assert!(
        got.last().unwrap().body.contains("[Re-sent]"),
        "{}",
        got.last().unwrap().body
    );
    b.wait_until(
        "the re-sent delivery, delivered",
        "return [...document.querySelectorAll('article.delivery')].some(a => a.innerText.includes('RESEND') && a.innerText.includes('SUCCEEDED') && a.innerText.includes('200'))",
    )
    .await;
    assert_eq!(
        s.settled(&id, Duration::from_secs(10)).await.len(),
        before + 1
    );
    scroll_to(&b, "section.routing").await;
    b.shot("console-alert").await;
    b.resize(390, 844).await;
    b.client
        .execute("window.scrollTo(0, 0); return true", vec![])
        .await
        .unwrap();
    b.see("Root login from a new country").await;
    b.shot("console-alert-phone").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn a_failing_destination_shows_its_failed_attempts(db: TestDb) {
    let s = console_server(&db).await;
    let rx = Receiver::start().await;
    rx.default_reply(Reply::status(500).body("database is down"));
    s.add_webhook("Broken webhook", &rx.url, &["HIGH"]).await;
    // Left out by routing: it takes CRITICAL alerts only.
    s.add_webhook("Night pager", &rx.url, &["CRITICAL"]).await;
    let id = s
        .create_alert(NewAlert {
            title: "Malware on a laptop",
            ..Default::default()
        })
        .await;
    let test = "a_failing_destination_shows_its_failed_attempts";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto(&format!("/alerts/{id}")).await;
    b.see("Malware on a laptop").await;
    b.see("Broken webhook").await;
    b.wait_until(
        "a failed attempt with its status code",
        "return [...document.querySelectorAll('td[data-label=\"Status code\"]')].some(td => td.innerText.trim() === '500')",
    )
    .await;
    b.see("database is down").await;
    b.see("Night pager: severity not taken").await;
    b.see("failed").await;
    // Retries run out: the delivery ends FAILED, live.
    let settled = s.settled(&id, Duration::from_secs(20)).await;
    assert_eq!(settled[0]["status"], "FAILED");
    b.see("FAILED").await;
    scroll_to(&b, "section.deliveries").await;
    b.shot("console-alert-failed").await;
    b.goto("/alerts").await;
    b.see("1 failed").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn a_read_only_analyst_sees_no_controls(db: TestDb) {
    let s = console_server(&db).await;
    let rx = Receiver::start().await;
    s.add_webhook("Ops webhook", &rx.url, &["HIGH"]).await;
    let id = s
        .create_alert(NewAlert {
            title: "Port scan from the guest network",
            ..Default::default()
        })
        .await;
    s.settled(&id, Duration::from_secs(10)).await;
    // `Alert.link`, which the page shows, is the link the payload carried.
    let d = s
        .ok(
            "query($id: ID!) { alert(id: $id) { link } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        d["alert"]["link"],
        format!("http://herald.test/alerts/{id}")
    );
    assert_eq!(rx.requests()[0].json()["link"], d["alert"]["link"]);
    let test = "a_read_only_analyst_sees_no_controls";
    let Some(b) = signed_in(&s, "rita@example.com", "AnalystReadOnly", test).await else {
        return;
    };
    b.goto(&format!("/alerts/{id}")).await;
    b.see("Port scan from the guest network").await;
    b.see("Ops webhook").await;
    b.see("SUCCEEDED").await;
    b.see("No comments yet.").await;
    for button in [
        "Save status",
        "Save assignee",
        "Assign to me",
        "Unassign",
        "Add comment",
        "Re-send",
    ] {
        assert!(!b.has_button(button).await, "{button}");
    }
    let controls = b
        .client
        .execute(
            "return document.querySelectorAll('main select, main textarea, main input').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(controls, json!(0));
    // What others do arrives live.
    s.ok(
        crate::ops::CREATE_ALERT_COMMENT,
        json!({"input": {"alertId": id, "body": "Blocked at the firewall."}}),
    )
    .await;
    b.see("Blocked at the firewall.").await;
    b.shot("console-alert-read-only").await;

    // The list, a page at a time, in either order.
    s.create_alert(NewAlert {
        title: "Second scan",
        detection_id: "Net.Scan.Second",
        ..Default::default()
    })
    .await;
    b.goto("/alerts?size=1").await;
    b.see("Second scan").await;
    assert!(!b.text().await.contains("Port scan from the guest network"));
    b.click("Next page").await;
    b.see("Port scan from the guest network").await;
    b.see("1 sent").await;
    assert!(!b.text().await.contains("Second scan"));
    b.click("Previous page").await;
    b.see("Second scan").await;
    b.choose("Sort", "Oldest first").await;
    b.see("Port scan from the guest network").await;
    assert!(!b.text().await.contains("Second scan"));
    assert_eq!(b.path().await, "/alerts?sort=asc&size=1");
    b.resize(390, 844).await;
    b.client
        .execute(
            "document.querySelector('.table-wrap').scrollIntoView(); return true",
            vec![],
        )
        .await
        .unwrap();
    b.shot("console-alerts-list-phone").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

on_both!(
    an_admin_sees_an_alert_arrive_live_and_triages_it,
    a_failing_destination_shows_its_failed_attempts,
    a_read_only_analyst_sees_no_controls,
);
