//! The console's destinations pages in headless Chromium (see console.rs for the shell):
//! adding a custom webhook through the schema-driven form, preview, test send, edit with
//! the secret left unchanged, an inline validation error, delete naming the override
//! that sends to it; what a read-only person sees; the list at phone width, with live
//! health. Also `destinationTypes`, the API the form reads its secret fields from.
use crate::console::{console_server, signed_in};
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// Every destination's id, by display name.
async fn ids(s: &TestServer) -> Vec<(String, String)> {
    let d = s
        .ok("{ destinations { outputId displayName } }", json!({}))
        .await;
    d["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (str_of(&x["displayName"]), str_of(&x["outputId"])))
        .collect()
}

/// Runs a script in the page; its answer.
async fn js(b: &crate::support::browser::Browser, script: &str) -> Value {
    b.client.execute(script, vec![]).await.expect("script runs")
}

/// Sets a `datetime-local` input (typing into one depends on the browser's locale).
async fn set_time(b: &crate::support::browser::Browser, label: &str, value: &str) {
    b.control(label).await;
    let script = format!(
        "const c = document.querySelector('[data-t={}]'); c.value = {}; \
         c.dispatchEvent(new Event('input', {{bubbles: true}})); return c.value",
        serde_json::to_string(label).unwrap(),
        serde_json::to_string(value).unwrap()
    );
    assert_eq!(js(b, &script).await, json!(value));
}

async fn destination_types_name_every_type_its_input_and_secrets(db: TestDb) {
    let s = TestServer::start(&db).await;
    let d = s
        .ok(
            "{ destinationTypes { field outputType label inputType secretFields targetFields } }",
            json!({}),
        )
        .await;
    let types = d["destinationTypes"].as_array().unwrap();
    assert_eq!(types.len(), 24);
    let hook = types
        .iter()
        .find(|t| t["field"] == "customWebhook")
        .unwrap();
    assert_eq!(
        hook,
        &json!({"field": "customWebhook", "outputType": "customwebhook", "label": "Custom webhook",
            "inputType": "CustomWebhookConfigInput",
            "secretFields": ["webhookURL", "headers[key].value", "signingSecret"],
            "targetFields": ["webhookURL"]})
    );
    // Every type's input object exists, and each secret and target path starts with one
    // of its fields (what the console's form relies on).
    for t in types {
        let q = s
            .ok(
                "query($n: String!) { __type(name: $n) { inputFields { name } } }",
                json!({"n": t["inputType"]}),
            )
            .await;
        let fields: Vec<String> = q["__type"]["inputFields"]
            .as_array()
            .unwrap_or_else(|| panic!("{t}: no input object"))
            .iter()
            .map(|f| str_of(&f["name"]))
            .collect();
        for path in t["secretFields"]
            .as_array()
            .unwrap()
            .iter()
            .chain(t["targetFields"].as_array().unwrap())
        {
            let head = str_of(path).split(['[', '.']).next().unwrap().to_string();
            assert!(fields.contains(&head), "{t}: {path} is not a field");
        }
        assert_eq!(str_of(&t["field"]).to_lowercase(), str_of(&t["outputType"]));
    }
    // Readers may see it; a token without DestinationRead may not.
    let issued = s
        .token_with("alerts-only", &[herald::auth::Permission::AlertRead])
        .await;
    let r = s
        .gql_as(&issued, "{ destinationTypes { field } }", json!({}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
}

async fn an_admin_adds_previews_tests_edits_and_deletes_a_webhook(db: TestDb) {
    let s = console_server(&db).await;
    let receiver = Receiver::start().await;
    let test = "an_admin_adds_previews_tests_edits_and_deletes_a_webhook";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/destinations").await;
    b.see("No destinations yet").await;
    b.click("Add destination").await;
    assert_eq!(b.path().await, "/destinations/new");
    // Another type's fields: a list of strings one per line, a secret password.
    b.tick("Destination type", "E-mail (SMTP)", true).await;
    b.see("E-mail (SMTP) settings").await;
    let to = b.control("To").await;
    assert_eq!(to.tag_name().await.unwrap(), "textarea");
    assert_eq!(to.attr("required").await.unwrap().as_deref(), Some("true"));
    b.see("Recipient addresses. One per line.").await;
    let password = b.control("Password").await;
    assert_eq!(
        password.attr("type").await.unwrap().as_deref(),
        Some("password")
    );
    assert_eq!(
        b.control("SMTP URL")
            .await
            .attr("type")
            .await
            .unwrap()
            .as_deref(),
        Some("text")
    );
    b.tick("Destination type", "Custom webhook", true).await;
    // The fields come from the schema: the URL is a secret, headers a nested list.
    b.see("Custom webhook settings").await;
    b.shot("console-destinations-type-picker").await;
    let url = b.control("Webhook URL").await;
    assert_eq!(url.attr("type").await.unwrap().as_deref(), Some("password"));
    assert_eq!(url.attr("required").await.unwrap().as_deref(), Some("true"));
    b.see("Optional minijinja template for the request body")
        .await;
    b.click("Add header").await;
    b.fill("Key", "X-Team").await;
    assert_eq!(
        b.control("Value")
            .await
            .attr("type")
            .await
            .unwrap()
            .as_deref(),
        Some("password")
    );
    b.fill("Value", "blue-team-secret").await;
    b.click("Generate a signing secret").await;
    b.see("whsec_").await;
    b.fill("Webhook URL", &receiver.url).await;
    b.fill("Display name", "Ops webhook").await;
    b.tick("Severities", "HIGH", true).await;
    b.tick("Severities", "CRITICAL", true).await;
    b.tick("Alert types", "SYSTEM_ERROR", false).await;
    b.shot("console-destinations-add").await;
    b.click("Add destination").await;
    b.see("Added “Ops webhook”.").await;
    assert_eq!(b.path().await, "/destinations");
    b.see("Custom webhook").await;
    let all = ids(&s).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let id = all[0].1.clone();
    let stored = s
        .ok(
            "query($id: ID!) { destination(id: $id) { defaultForSeverity alertTypes outputConfig { customWebhook { headers { key value } } } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        stored["destination"]["defaultForSeverity"],
        json!(["HIGH", "CRITICAL"])
    );
    assert_eq!(
        stored["destination"]["alertTypes"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        stored["destination"]["outputConfig"]["customWebhook"]["headers"],
        json!([{"key": "X-Team", "value": "********"}])
    );
    // An override that sends to it, named when it is deleted.
    s.put_override(
        json!({"detectionId": "Okta.BruteForce", "displayName": "Okta brute force", "outputIds": [id]}),
    )
    .await;

    b.click("Ops webhook").await;
    assert_eq!(b.path().await, format!("/destinations/{id}"));
    b.see("Payload preview").await;
    b.click("Preview payload").await;
    b.see("This is a Test Alert").await;
    b.see("X-Team").await;
    b.shot("console-destinations-edit").await;

    b.click("Send test alert").await;
    b.see("Test alert delivered").await;
    b.see("HTTP 200").await;
    let got = receiver.wait_for(1, WAIT).await;
    assert!(got[0].body.contains("This is a Test Alert"), "{:?}", got[0]);
    assert_eq!(got[0].header("x-team"), Some("blue-team-secret"));
    let signature = got[0].header("webhook-signature").unwrap_or_default();
    assert!(signature.starts_with("v1,"), "{:?}", got[0]);

    // Rename: the stored secrets show as "unchanged" and are kept.
    let url = b.control("Webhook URL").await;
    assert_eq!(
        url.attr("placeholder").await.unwrap().as_deref(),
        Some("unchanged")
    );
    assert_eq!(url.prop("value").await.unwrap().as_deref(), Some(""));
    b.fill("Display name", "Ops webhook (renamed)").await;
    b.click("Save changes").await;
    b.see("Saved “Ops webhook (renamed)”.").await;
    b.click("Send test alert").await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].header("x-team"), Some("blue-team-secret"));
    b.see("Test alert delivered").await;

    // A new URL must come with every secret again (the header's value), shown at it.
    b.fill("Webhook URL", "not a url").await;
    b.click("Save changes").await;
    b.see("Not saved: changing webhookURL requires re-entering the secrets")
        .await;
    let at_value = js(
        &b,
        "const c = document.querySelector('[data-t=\"Value\"]') || [...document.querySelectorAll('label')].find(l => l.innerText.trim() === 'Value').control; \
         return c.getAttribute('aria-invalid') === 'true'",
    )
    .await;
    assert_eq!(at_value, json!(true));
    // A server validation error, at the field and at the top.
    b.fill("Value", "blue-team-secret").await;
    b.click("Generate a signing secret").await;
    b.see("whsec_").await;
    b.click("Save changes").await;
    b.see("is not a valid URL").await;
    b.shot("console-destinations-invalid").await;
    let inline = js(
        &b,
        "const c = document.querySelector('[data-t=\"Webhook URL\"]'); \
         return c.getAttribute('aria-invalid') === 'true' && c.closest('.field').querySelector('.field-error').innerText",
    )
    .await;
    assert!(
        inline
            .as_str()
            .is_some_and(|m| m.starts_with("Webhook URL is not a valid URL")),
        "{inline}: {}",
        b.text().await
    );
    assert_eq!(ids(&s).await[0].0, "Ops webhook (renamed)");

    // Replay failed deliveries (none failed).
    b.click("Replay failed deliveries").await;
    b.see("No failed deliveries to replay.").await;

    b.click("Delete").await;
    b.see("Okta brute force").await;
    b.see("will no longer reach it").await;
    b.shot("console-destinations-delete").await;
    b.click("Delete destination").await;
    b.see("Deleted “Ops webhook (renamed)”.").await;
    assert_eq!(b.path().await, "/destinations");
    assert!(ids(&s).await.is_empty());
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn failed_deliveries_are_replayed_since_a_time(db: TestDb) {
    let s = console_server(&db).await;
    let receiver = Receiver::start().await;
    receiver.default_reply(Reply::status(500).body("down"));
    let id = s
        .add_destination(NewDestination {
            severities: &["HIGH"],
            ..NewDestination::webhook("Flaky hook", &receiver.url)
        })
        .await;
    let alert = s.create_alert(NewAlert::default()).await;
    let settled = s.settled(&alert, Duration::from_secs(60)).await;
    assert_eq!(settled[0]["status"], "FAILED", "{settled:?}");
    let test = "failed_deliveries_are_replayed_since_a_time";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto(&format!("/destinations/{id}")).await;
    b.see("FAILING").await;
    // Since a time after the failure: nothing; without a time: the failed one.
    set_time(&b, "Failed since", "2099-01-01T01:01").await;
    b.click("Replay failed deliveries").await;
    b.see("No failed deliveries to replay.").await;
    set_time(&b, "Failed since", "2020-01-01T01:01").await;
    b.click("Replay failed deliveries").await;
    b.see("1 failed delivery re-queued.").await;
    b.shot("console-destinations-replay").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn a_read_only_person_sees_destinations_but_no_controls(db: TestDb) {
    let s = console_server(&db).await;
    let receiver = Receiver::start().await;
    let id = s
        .add_webhook("Read-only hook", &receiver.url, &["HIGH"])
        .await;
    let test = "a_read_only_person_sees_destinations_but_no_controls";
    let Some(b) = signed_in(&s, "rita@example.com", "AnalystReadOnly", test).await else {
        return;
    };
    b.goto("/destinations").await;
    b.see("Read-only hook").await;
    b.see("HEALTHY").await;
    for button in ["Add destination", "Edit", "Delete", "Send test alert"] {
        assert!(!b.has_button(button).await, "{button} is shown");
    }
    b.shot("console-destinations-read-only").await;
    b.click("Read-only hook").await;
    b.see("You may read this destination but not change it.")
        .await;
    b.see("Payload preview").await;
    for button in [
        "Save changes",
        "Delete",
        "Send test alert",
        "Replay failed deliveries",
        "Add header",
    ] {
        assert!(!b.has_button(button).await, "{button} is shown");
    }
    // The form is there, read-only.
    let disabled = js(
        &b,
        "return document.querySelector('.destination-form fieldset.plain').disabled",
    )
    .await;
    assert_eq!(disabled, json!(true));
    b.goto(&format!("/destinations/{id}")).await;
    b.see("Read-only hook").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

async fn the_list_shows_live_health_and_fits_a_phone(db: TestDb) {
    let s = console_server(&db).await;
    let ok = Receiver::start().await;
    let down = Receiver::start().await;
    down.default_reply(Reply::status(503).body("upstream unavailable"));
    let hook = s
        .add_destination(NewDestination {
            severities: &["HIGH", "CRITICAL"],
            ..NewDestination::webhook("SOC webhook", &ok.url)
        })
        .await;
    let pager = s
        .add_destination(NewDestination {
            severities: &["CRITICAL"],
            ..NewDestination::of(
                "On-call PagerDuty",
                "pagerDuty",
                json!({"integrationKey": "0123456789abcdef0123456789abcdef", "apiUrl": down.url}),
            )
        })
        .await;
    s.add_destination(json!({
        "displayName": "SIEM poller", "outputConfig": {"polling": {}},
        "defaultForSeverity": ["MEDIUM", "HIGH"], "alertTypes": ["RULE", "POLICY"]
    }))
    .await;
    let results = s.send_test_alert(&[&hook]).await;
    assert_eq!(results[0]["success"], true, "{results:?}");
    // An alert for the poller waits for it (pending).
    s.create_alert(NewAlert {
        severity: "MEDIUM",
        ..Default::default()
    })
    .await;
    let test = "the_list_shows_live_health_and_fits_a_phone";
    let Some(b) = signed_in(&s, "ada@example.com", "Admin", test).await else {
        return;
    };
    b.goto("/destinations").await;
    b.see("SOC webhook").await;
    b.see("On-call PagerDuty").await;
    b.see("SIEM poller").await;
    b.see("HEALTHY").await;
    // A failure elsewhere (the API) reaches the open list through the subscription.
    let results = s.send_test_alert(&[&pager]).await;
    assert_eq!(results[0]["success"], false, "{results:?}");
    b.see("FAILING").await;
    b.see("upstream unavailable").await;
    // A test send from a row shows its answer in the row.
    b.click("Send test alert").await;
    b.see("Test alert delivered").await;
    b.shot("console-destinations").await;

    b.resize(390, 844).await;
    b.goto("/destinations").await;
    b.see("On-call PagerDuty").await;
    let fits = js(
        &b,
        "return document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    assert_eq!(fits, json!(true), "the list scrolls sideways at 390 px");
    assert!(b.has_button("Add destination").await);
    b.shot("console-destinations-mobile").await;
    b.click("On-call PagerDuty").await;
    b.see("Payload preview").await;
    let fits = js(
        &b,
        "return document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    assert_eq!(fits, json!(true), "the form scrolls sideways at 390 px");
    b.shot("console-destinations-edit-mobile").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

on_both!(
    destination_types_name_every_type_its_input_and_secrets,
    an_admin_adds_previews_tests_edits_and_deletes_a_webhook,
    failed_deliveries_are_replayed_since_a_time,
    a_read_only_person_sees_destinations_but_no_controls,
    the_list_shows_live_health_and_fits_a_phone
);
