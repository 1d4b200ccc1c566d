//! The console's overrides page(s) in headless Chromium (see console.rs for the shell):
//! the list, the form (create, change, SKIP, delete) and "Where would this go?", the
//! routing dry run; read-only principals see the list and the dry run but no controls.
use crate::console::{console_server, signed_in};
use crate::ops;
use crate::support::browser::Browser;
use crate::support::*;
use serde_json::json;

/// Scrolls the decision of "Where would this go?" into view (for a screenshot).
async fn show_decision(b: &Browser) {
    b.client
        .execute(
            "document.querySelector('.ov-decision').scrollIntoView({block: 'end'}); return true",
            vec![],
        )
        .await
        .unwrap();
}

/// Waits until the decision of "Where would this go?" says `text`.
async fn decision_says(b: &Browser, text: &str) {
    let script = format!(
        "const d = document.querySelector('.ov-decision'); return !!d && d.innerText.includes({})",
        serde_json::to_string(text).unwrap()
    );
    b.wait_until(&format!("the decision saying {text:?}"), &script)
        .await;
}

async fn an_admin_creates_checks_skips_and_deletes_an_override(db: TestDb) {
    let s = console_server(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Pager duty", &format!("{}/pager", r.url), &["HIGH"])
        .await;
    s.add_webhook("Team chat", &format!("{}/chat", r.url), &["HIGH"])
        .await;
    let test = "an_admin_creates_checks_skips_and_deletes_an_override";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/overrides").await;
    b.see("No detection overrides").await;
    b.click("New override").await;
    b.see("New detection override").await;
    // A server error is shown at its field.
    b.fill("Dedup period (minutes)", "99999").await;
    b.fill("Detection ID", "AWS.Root.Login").await;
    b.click("Create override").await;
    b.see("dedupPeriodMinutes must be between 1 and 10080")
        .await;
    b.fill("Dedup period (minutes)", "30").await;
    b.tick("Destinations", "Pager duty", true).await;
    b.choose("Severity", "CRITICAL").await;
    b.fill("Runbook", "Page the on-call; check CloudTrail.")
        .await;
    b.fill("Tags", "aws, root\nidentity").await;
    b.shot("console-overrides-create").await;
    b.click("Create override").await;
    b.see("Saved the override of AWS.Root.Login.").await;
    assert_eq!(b.path().await, "/overrides/AWS.Root.Login");
    // Stored as typed: the destination by id, the tags split.
    let stored = s
        .ok(
            "query($id: ID!) { detectionOverride(detectionId: $id) { outputIds severity dedupPeriodMinutes runbook tags } }",
            json!({"id": "AWS.Root.Login"}),
        )
        .await;
    let o = &stored["detectionOverride"];
    assert_eq!(o["severity"], "CRITICAL");
    assert_eq!(o["dedupPeriodMinutes"], 30);
    assert_eq!(o["tags"], json!(["aws", "root", "identity"]));
    assert_eq!(o["outputIds"].as_array().unwrap().len(), 1);

    // The dry run for the saved override: step 2 decided, Pager duty chosen, Team chat
    // left out because the override does not name it.
    decision_says(&b, "Decided by detection override").await;
    decision_says(&b, "Sends to\nPager duty").await;
    decision_says(
        &b,
        "Team chat: not among the detection override's destinations",
    )
    .await;
    show_decision(&b).await;
    b.shot("console-overrides-where").await;

    // The list shows it, destinations by name.
    b.click("← Detection overrides").await;
    b.see("AWS.Root.Login").await;
    b.see("Pager duty").await;
    b.see("CRITICAL").await;
    b.see("30 min").await;
    b.see("identity").await;
    b.shot("console-overrides-list").await;

    // SKIP: the panel says nowhere.
    b.click("AWS.Root.Login").await;
    b.see("Override of AWS.Root.Login").await;
    b.tick("Destinations", "SKIP — send nowhere", true).await;
    b.click("Save").await;
    b.see("Saved the override of AWS.Root.Login.").await;
    decision_says(&b, "Nowhere. Sending is skipped (SKIP).").await;
    decision_says(&b, "Pager duty: the detection override says SKIP").await;
    decision_says(&b, "Team chat: the detection override says SKIP").await;
    let stored = s
        .ok(
            "query($id: ID!) { detectionOverride(detectionId: $id) { outputIds } }",
            json!({"id": "AWS.Root.Login"}),
        )
        .await;
    assert_eq!(stored["detectionOverride"]["outputIds"], json!(["SKIP"]));
    show_decision(&b).await;
    b.shot("console-overrides-skip").await;

    // The panel also asks about other detections: destination configuration decides,
    // and says why it leaves a destination out.
    b.fill("Detection ID to route", "Some.Other.Rule").await;
    b.choose("Alert severity", "LOW").await;
    b.click("Route").await;
    decision_says(&b, "Decided by destination configuration").await;
    decision_says(&b, "Team chat: not a default for LOW (takes HIGH)").await;
    decision_says(&b, "Nowhere. No destination matched.").await;
    // What the detection's destinations() returned comes first.
    b.fill("Generated destinations", "Team chat").await;
    b.click("Route").await;
    decision_says(&b, "Decided by generated destinations").await;
    decision_says(&b, "Sends to\nTeam chat").await;
    decision_says(
        &b,
        "Pager duty: not among the detection's generated destinations",
    )
    .await;

    // The phone layout.
    b.resize(390, 844).await;
    b.see("Where would this go?").await;
    show_decision(&b).await;
    b.shot("console-overrides-phone").await;
    b.resize(1280, 800).await;

    // Delete, after confirming.
    b.click("Delete").await;
    b.see("Delete the override of AWS.Root.Login?").await;
    b.client
        .execute(
            "[...document.querySelectorAll('dialog[open] button')].find(b => b.innerText.trim() === 'Delete').click(); return true",
            vec![],
        )
        .await
        .unwrap();
    b.see("Deleted the override of AWS.Root.Login.").await;
    assert_eq!(b.path().await, "/overrides");
    b.see("No detection overrides").await;
    let left = s.ok(ops::OVERRIDE_IDS, json!({})).await;
    assert_eq!(left["detectionOverrides"], json!([]));
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn a_read_only_analyst_sees_overrides_but_no_edit_controls(db: TestDb) {
    let s = console_server(&db).await;
    let r = Receiver::start().await;
    s.add_webhook("Pager duty", &format!("{}/pager", r.url), &["HIGH"])
        .await;
    s.put_override(json!({
        "detectionId": "AWS.Root.Login",
        "outputIds": ["Pager duty"],
        "severity": "HIGH",
        "runbook": "Call security.",
        "tags": ["aws"],
    }))
    .await;
    let test = "a_read_only_analyst_sees_overrides_but_no_edit_controls";
    let Some(b) = signed_in(&s, "rita@example.com", "AnalystReadOnly", test).await else {
        return;
    };
    b.goto("/overrides").await;
    b.see("AWS.Root.Login").await;
    b.see("Pager duty").await;
    b.see("Where would this go?").await;
    assert!(!b.has_button("New override").await);
    b.shot("console-overrides-read-only-list").await;
    b.click("AWS.Root.Login").await;
    b.see("Override of AWS.Root.Login").await;
    b.see("Call security.").await;
    // The dry run works for reading principals.
    decision_says(&b, "Decided by detection override").await;
    decision_says(&b, "Sends to\nPager duty").await;
    for control in ["Save", "Delete", "Create override", "New override"] {
        assert!(!b.has_button(control).await, "{control} is shown");
    }
    b.goto("/overrides/new").await;
    b.see("Creating overrides needs the RuleModify permission.")
        .await;
    assert!(!b.has_button("Create override").await);
    b.goto("/overrides/AWS.Root.Login").await;
    decision_says(&b, "Decided by detection override").await;
    show_decision(&b).await;
    b.shot("console-overrides-read-only").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

on_both!(
    an_admin_creates_checks_skips_and_deletes_an_override,
    a_read_only_analyst_sees_overrides_but_no_edit_controls,
);
