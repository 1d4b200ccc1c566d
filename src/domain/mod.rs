//! Plain domain types: no I/O. Enums derive the GraphQL enum so the API and the
//! store share one spelling (stored as their GraphQL names).
pub mod decision;
pub mod payload;
pub mod permission;
pub mod time;

pub use decision::{ExcludedDestination, RoutedDestination, RoutingDecision};

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enum, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}
string_enum!(Severity { Info => "INFO", Low => "LOW", Medium => "MEDIUM", High => "HIGH", Critical => "CRITICAL" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertType {
    Rule,
    RuleError,
    ScheduledRule,
    ScheduledRuleError,
    Policy,
    CorrelationRule,
    CorrelationRuleError,
    SystemError,
}
string_enum!(AlertType {
    Rule => "RULE", RuleError => "RULE_ERROR", ScheduledRule => "SCHEDULED_RULE",
    ScheduledRuleError => "SCHEDULED_RULE_ERROR", Policy => "POLICY",
    CorrelationRule => "CORRELATION_RULE", CorrelationRuleError => "CORRELATION_RULE_ERROR",
    SystemError => "SYSTEM_ERROR",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertStatus {
    Open,
    Triaged,
    Closed,
    Resolved,
}
string_enum!(AlertStatus { Open => "OPEN", Triaged => "TRIAGED", Closed => "CLOSED", Resolved => "RESOLVED" });

/// Lifecycle of one delivery (one alert to one destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    InFlight,
    Succeeded,
    Failed,
}
string_enum!(DeliveryStatus { Pending => "PENDING", InFlight => "IN_FLIGHT", Succeeded => "SUCCEEDED", Failed => "FAILED" });

/// Why a delivery row exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// Routed at ingestion.
    Routed,
    /// `deliverAlert`: re-sent by hand, title prefixed `[Re-sent]: `.
    Resend,
    /// `sendTestAlert`.
    Test,
    /// The alert was resolved or closed: destinations that track incidents close theirs.
    Resolve,
}
string_enum!(DeliveryKind { Routed => "ROUTED", Resend => "RESEND", Test => "TEST", Resolve => "RESOLVE" });

/// Which precedence step decided where an alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoutingStep {
    GeneratedDestinations,
    DetectionOverride,
    DestinationConfiguration,
    Skipped,
}

/// Why destination configuration excluded a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExclusionReason {
    Severity,
    AlertType,
    LogType,
}

/// The literal that, in a destination list, means "send nowhere".
pub const SKIP: &str = "SKIP";

/// Destination display names are unique by this key (trimmed, lower-cased in full
/// Unicode), and names given to routing are matched by it too.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A destination as routing and dispatch see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub id: String,
    pub display_name: String,
    pub output_type: String,
    pub config: serde_json::Value,
    pub default_for_severity: Vec<Severity>,
    /// `None` = every alert type.
    pub alert_types: Option<Vec<AlertType>>,
    /// Empty = every log type.
    pub log_types: Vec<String>,
}

/// The detection override fields routing and ingestion use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectionOverride {
    pub detection_id: String,
    pub display_name: Option<String>,
    /// Destination ids, or `["SKIP"]`. Empty or `None` = not set.
    pub output_ids: Option<Vec<String>>,
    pub severity: Option<Severity>,
    pub dedup_period_minutes: Option<i32>,
    pub runbook: Option<String>,
    pub tags: Option<Vec<String>>,
}

pub const DEFAULT_DEDUP_PERIOD_MINUTES: i32 = 60;

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Commit-ordered key used by polling cursors.
    pub seq: i64,
    pub id: String,
    pub detection_id: String,
    pub title: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub alert_type: AlertType,
    pub log_type: Option<String>,
    pub dedup_string: String,
    pub description: String,
    pub runbook: String,
    pub reference: String,
    pub tags: Vec<String>,
    pub alert_context: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_event_at: i64,
    pub last_received_event_at: i64,
    pub event_count: i64,
    pub assignee_id: Option<String>,
    /// The detection's display name at ingestion (override displayName, else detection id).
    pub name: String,
    pub routing: RoutingDecision,
    pub routed: bool,
    pub created_by: String,
    pub last_modified_by: String,
}

/// What an audit log entry records (see `service::audit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    CreateDestination,
    UpdateDestination,
    DeleteDestination,
    CreateDetectionOverride,
    UpdateDetectionOverride,
    DeleteDetectionOverride,
    CreateApiToken,
    RotateApiToken,
    DeleteApiToken,
    RetryFailedDeliveries,
}
string_enum!(AuditAction {
    CreateDestination => "CREATE_DESTINATION", UpdateDestination => "UPDATE_DESTINATION",
    DeleteDestination => "DELETE_DESTINATION",
    CreateDetectionOverride => "CREATE_DETECTION_OVERRIDE",
    UpdateDetectionOverride => "UPDATE_DETECTION_OVERRIDE",
    DeleteDetectionOverride => "DELETE_DETECTION_OVERRIDE",
    CreateApiToken => "CREATE_API_TOKEN", RotateApiToken => "ROTATE_API_TOKEN",
    DeleteApiToken => "DELETE_API_TOKEN", RetryFailedDeliveries => "RETRY_FAILED_DELIVERIES",
});

/// The kind of thing an audit log entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditTargetType {
    Destination,
    DetectionOverride,
    ApiToken,
}
string_enum!(AuditTargetType {
    Destination => "DESTINATION", DetectionOverride => "DETECTION_OVERRIDE", ApiToken => "API_TOKEN",
});

impl AuditAction {
    /// What the action changes.
    pub fn target_type(self) -> AuditTargetType {
        use AuditAction::*;
        match self {
            CreateDestination | UpdateDestination | DeleteDestination | RetryFailedDeliveries => {
                AuditTargetType::Destination
            }
            CreateDetectionOverride | UpdateDetectionOverride | DeleteDetectionOverride => {
                AuditTargetType::DetectionOverride
            }
            CreateApiToken | RotateApiToken | DeleteApiToken => AuditTargetType::ApiToken,
        }
    }
}
