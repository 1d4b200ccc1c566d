//! The Panther alert payload every JSON webhook receives.
use super::{time::to_rfc3339, Alert, DeliveryKind};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

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

/// The payload a delivery of `kind` carries: every field present, empty strings and
/// lists rather than missing. Re-sends prefix the title with `[Re-sent]: `.
pub fn panther_payload(alert: &Alert, public_url: &str, kind: DeliveryKind) -> Value {
    // Strings, string slices and a `Value` cannot fail to serialize.
    serde_json::to_value(Wire::new(alert, public_url, kind)).unwrap_or(Value::Null)
}

/// The payload of one alert for deliveries of one kind, as the destinations use it:
/// serialized once, straight from the alert, for the bodies that carry it whole (JSON
/// webhooks, queues, the JSON members that embed it); its [`Value`] (what templates
/// render) is read from that text on first use. Its text is byte for byte
/// `panther_payload(…).to_string()`.
#[derive(Debug)]
pub struct Payload {
    json: Box<RawValue>,
    value: OnceLock<Value>,
}

/// The payload's members (see [`panther_payload`]), declared in key order: the order a
/// [`Value`]'s map keeps them, so that the text serialized from this and from the
/// `Value` made of it are the same bytes.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(rename = "alertContext")]
    alert_context: Cow<'a, Value>,
    #[serde(rename = "alertId")]
    alert_id: &'a str,
    #[serde(rename = "createdAt")]
    created_at: String,
    description: &'a str,
    id: &'a str,
    link: String,
    name: &'a str,
    runbook: &'a str,
    severity: &'static str,
    tags: &'a [String],
    title: Cow<'a, str>,
    #[serde(rename = "type")]
    alert_type: &'static str,
    version: &'static str,
}

impl<'a> Wire<'a> {
    fn new(alert: &'a Alert, public_url: &str, kind: DeliveryKind) -> Self {
        Wire {
            alert_context: if alert.alert_context.is_null() {
                Cow::Owned(Value::Object(Default::default()))
            } else {
                Cow::Borrowed(&alert.alert_context)
            },
            alert_id: &alert.id,
            created_at: to_rfc3339(alert.created_at),
            description: &alert.description,
            id: &alert.detection_id,
            link: alert_link(public_url, &alert.id),
            name: &alert.name,
            runbook: &alert.runbook,
            severity: alert.severity.as_str(),
            tags: &alert.tags,
            title: if kind == DeliveryKind::Resend {
                Cow::Owned(delivered_title(alert, kind))
            } else {
                Cow::Borrowed(&alert.title)
            },
            alert_type: alert.alert_type.as_str(),
            version: "",
        }
    }
}

impl Payload {
    pub fn new(alert: &Alert, public_url: &str, kind: DeliveryKind) -> Self {
        // Strings, string slices and a `Value` cannot fail to serialize.
        let json = serde_json::value::to_raw_value(&Wire::new(alert, public_url, kind))
            .unwrap_or_else(|_| RawValue::NULL.to_owned());
        Payload {
            json,
            value: OnceLock::new(),
        }
    }

    /// The payload as JSON text.
    pub fn json(&self) -> &str {
        self.json.get()
    }

    /// The payload as a JSON member of another body (serialized as it is).
    pub fn raw(&self) -> &RawValue {
        &self.json
    }

    /// The payload as a JSON value (read from its text on first use).
    pub fn value(&self) -> &Value {
        self.value
            .get_or_init(|| serde_json::from_str(self.json.get()).unwrap_or(Value::Null))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The payload serialized from the alert is what the `Value` built from it
    /// serializes to, byte for byte, and reads back as that `Value`.
    #[test]
    fn the_serialized_payload_is_the_values_text() {
        let mut alerts = vec![test_alert(1_700_000_000_123)];
        let mut a = test_alert(0);
        a.alert_context = json!({"ip": "203.0.113.7", "n": 1.5, "big": 18446744073709551615u64,
            "neg": -3, "nested": {"z": [1, null, true], "a": "\u{2028}\"quote\"\\"}});
        a.tags = vec!["a".into(), "é \n".into()];
        a.title = "Ünïcode \u{1F600} \t <tag>".into();
        a.description = String::new();
        alerts.push(a.clone());
        a.alert_context = Value::Null;
        a.tags.clear();
        alerts.push(a.clone());
        a.alert_context = json!([1, 2]);
        alerts.push(a);
        for alert in &alerts {
            for kind in [
                DeliveryKind::Routed,
                DeliveryKind::Resend,
                DeliveryKind::Resolve,
                DeliveryKind::Test,
            ] {
                let value = panther_payload(alert, "https://herald.example/", kind);
                let payload = Payload::new(alert, "https://herald.example/", kind);
                assert_eq!(payload.json(), value.to_string(), "{kind:?}");
                assert_eq!(payload.raw().get(), payload.json());
                assert_eq!(payload.value(), &value, "{kind:?}");
            }
        }
        // Panther's members, each present; a missing context is an empty object, a
        // re-send's title is marked.
        let a = &alerts[2];
        let value = panther_payload(a, "https://herald.example/", DeliveryKind::Resend);
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
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
        assert_eq!(value["alertContext"], json!({}));
        assert_eq!(value["tags"], json!([]));
        assert_eq!(value["title"], format!("[Re-sent]: {}", a.title));
        assert_eq!(value["id"], a.detection_id.as_str());
        assert_eq!(value["alertId"], a.id.as_str());
        assert_eq!(
            value["link"],
            format!("https://herald.example/alerts/{}", a.id)
        );
        assert_eq!(value["createdAt"], to_rfc3339(a.created_at));
        assert_eq!(value["severity"], a.severity.as_str());
        assert_eq!(value["type"], a.alert_type.as_str());
        assert_eq!(value["version"], "");
    }
}
