//! The Panther alert payload every JSON webhook receives.
use super::{time::to_rfc3339, Alert, DeliveryKind};
use serde_json::{json, Value};

/// Console path of an alert, appended to `HERALD_PUBLIC_URL`.
pub fn alert_link(public_url: &str, alert_id: &str) -> String {
    format!("{}/alerts/{}", public_url.trim_end_matches('/'), alert_id)
}

/// The title a delivery of `kind` shows: re-sends prefix it with `[Re-sent]: `.
pub fn delivered_title(alert: &Alert, kind: DeliveryKind) -> String {
    if kind == DeliveryKind::Resend {
        format!("[Re-sent]: {}", alert.title)
    } else {
        alert.title.clone()
    }
}

/// Build the payload a delivery of `kind` carries: every field present, empty strings
/// and lists rather than missing. Re-sends prefix the title with `[Re-sent]: `.
pub fn panther_payload(alert: &Alert, public_url: &str, kind: DeliveryKind) -> Value {
    json!({
        "id": alert.detection_id,
        "createdAt": to_rfc3339(alert.created_at),
        "severity": alert.severity.as_str(),
        "type": alert.alert_type.as_str(),
        "link": alert_link(public_url, &alert.id),
        "title": delivered_title(alert, kind),
        "name": alert.name,
        "alertId": alert.id,
        "description": alert.description,
        "runbook": alert.runbook,
        "tags": alert.tags,
        "version": "",
        "alertContext": if alert.alert_context.is_null() { json!({}) } else { alert.alert_context.clone() },
    })
}

/// The alert `sendTestAlert` sends (Panther's `Test.Alert`).
pub fn test_alert(now_ms: i64) -> Alert {
    use super::*;
    Alert {
        seq: 0,
        id: "Test.Alert".into(),
        detection_id: "Test.Alert".into(),
        title: "This is a Test Alert".into(),
        severity: Severity::Info,
        status: AlertStatus::Open,
        alert_type: AlertType::Rule,
        log_type: None,
        dedup_string: String::new(),
        description: "This is a Test Alert sent by Herald to check a destination.".into(),
        runbook: "Stuck? Check the destination's configuration in Herald.".into(),
        reference: String::new(),
        tags: vec!["test".into()],
        alert_context: serde_json::json!({}),
        created_at: now_ms,
        updated_at: now_ms,
        first_event_at: now_ms,
        last_received_event_at: now_ms,
        event_count: 1,
        log_source: None,
        resource_type: None,
        assignee_id: None,
        name: "Test.Alert".into(),
        routing: super::RoutingDecision {
            step: RoutingStep::Skipped,
            effective_severity: Severity::Info,
            destinations: vec![],
            warnings: vec![],
            excluded: vec![],
        },
        routed: true,
        created_by: "herald".into(),
        last_modified_by: "herald".into(),
    }
}
