//! Standard Webhooks: what a custom webhook signs is verified by the official library,
//! secrets outside the specification are refused, and Herald generates valid ones.

use crate::ops;
use crate::support::*;
use serde_json::json;
use std::time::Duration;

async fn signed_deliveries_verify_with_the_official_library(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r = Receiver::start().await;
    let secret = s.ok(ops::GENERATE_SIGNING_SECRET, json!({})).await["generateSigningSecret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    s.ok(ops::ADD_DESTINATION_DETAILED, json!({"input": {"displayName": "Signed", "outputConfig": {"customWebhook": {"webhookURL": r.url, "signingSecret": secret}}, "defaultForSeverity": ["HIGH"]}})).await;
    s.ok(
        ops::CREATE_ALERT,
        json!({"input": {"detectionId": "signed", "title": "t", "severity": "HIGH"}}),
    )
    .await;
    let got = r.wait_for(1, Duration::from_secs(10)).await;
    let wh = standardwebhooks::Webhook::new(&secret).unwrap();
    wh.verify(got[0].body.as_bytes(), &got[0].headers)
        .expect("the official Standard Webhooks library verifies Herald's signature");
    let another = s.ok(ops::GENERATE_SIGNING_SECRET, json!({})).await;
    let other =
        standardwebhooks::Webhook::new(another["generateSigningSecret"].as_str().unwrap()).unwrap();
    assert!(other
        .verify(got[0].body.as_bytes(), &got[0].headers)
        .is_err());
    s.stop().await;
}

async fn secrets_outside_the_specification_are_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    for bad in [
        "plain-shared-secret",
        "whsec_bm90LWxvbmctZW5vdWdo",
        "whsec_%%%",
    ] {
        let (code, message) = s
            .err(ops::ADD_DESTINATION_DETAILED, json!({"input": {"displayName": "Bad", "outputConfig": {"customWebhook": {"webhookURL": "https://example.com/h", "signingSecret": bad}}, "defaultForSeverity": ["HIGH"]}}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}: {message}");
        assert!(message.contains("signingSecret"), "{message}");
    }
    s.stop().await;
}

on_both!(
    signed_deliveries_verify_with_the_official_library,
    secrets_outside_the_specification_are_refused
);
