//! Plain domain types: no I/O. Stored enums are declared with `stored_enum!`: one
//! spelling per variant for serde, the GraphQL enum and the database column.
pub mod actor;
pub mod decision;
pub mod live;
pub mod payload;
pub mod permission;
pub mod time;

pub use decision::{ExcludedDestination, RoutedDestination, RoutingDecision};

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

/// An enum stored as text: each variant's spelling is written once and used by serde,
/// the GraphQL enum and the database column (sea-orm `DeriveActiveEnum`), so the three
/// cannot drift apart. A stored value no variant spells fails to load (an error, never
/// a default).
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize,
            sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[sea_orm(string_value = $text)]
                #[serde(rename = $text)]
                #[graphql(name = $text)]
                $variant,
            )+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every stored spelling, in `ALL` order.
            pub const SPELLINGS: &'static [&'static str] = &[$($text),+];
            /// The spelling shared by serde, GraphQL and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A typed id: a string newtype so an alert id cannot be passed where a delivery id
/// is expected. Serialized as the bare string (serde transparent) and stored as text
/// (sea-orm `DeriveValueType`); the GraphQL boundary keeps its `ID`/`String` scalars.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
            sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id: a UUID v7, which starts with the time it was made and
            /// ends with random bits. New rows of a table keyed by it land at the end
            /// of its indexes instead of on a random page each, so a burst's inserts
            /// and updates touch a few pages rather than one per row.
            pub fn new_ordered() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self(s.to_string()))
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(s.clone())
            }
        }
        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> sea_orm::Value {
                id.0.clone().into()
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
        /// Ids are never numeric: a numeric primary key cannot become one.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }
    };
}

id_type!(
    /// An alert's id (`Alert.alertId`).
    AlertId
);
id_type!(
    /// A destination's id (`outputId`).
    DestinationId
);
id_type!(
    /// One delivery (one alert to one destination).
    DeliveryId
);

stored_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Severity {
        Info = "INFO",
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
}

stored_enum! {
    pub enum AlertType {
        Rule = "RULE",
        RuleError = "RULE_ERROR",
        ScheduledRule = "SCHEDULED_RULE",
        ScheduledRuleError = "SCHEDULED_RULE_ERROR",
        Policy = "POLICY",
        CorrelationRule = "CORRELATION_RULE",
        CorrelationRuleError = "CORRELATION_RULE_ERROR",
        SystemError = "SYSTEM_ERROR",
    }
}

stored_enum! {
    pub enum AlertStatus {
        Open = "OPEN",
        Triaged = "TRIAGED",
        Closed = "CLOSED",
        Resolved = "RESOLVED",
    }
}

stored_enum! {
    /// How a comment's body is to be read (Panther's `CommentFormat`); HTML is
    /// sanitized before it is stored.
    pub enum CommentFormat {
        PlainText = "PLAIN_TEXT",
        Html = "HTML",
    }
}

/// Panther's `AlertListingType`: which family of alert types a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AlertListingType {
    /// Detection matches: rules, scheduled rules, policies (and correlation rules).
    #[graphql(name = "ALERT")]
    Alert,
    /// Errors raised by rules, scheduled rules (and correlation rules).
    #[graphql(name = "DETECTION_ERROR")]
    DetectionError,
    /// Herald's own errors (failed deliveries, paused destinations).
    #[graphql(name = "SYSTEM_ERROR")]
    SystemError,
}

impl AlertListingType {
    /// The alert types of this family (Panther's valid `subtypes` for it).
    pub fn subtypes(self) -> &'static [AlertType] {
        use AlertType::*;
        match self {
            AlertListingType::Alert => &[Rule, ScheduledRule, Policy, CorrelationRule],
            AlertListingType::DetectionError => {
                &[RuleError, ScheduledRuleError, CorrelationRuleError]
            }
            AlertListingType::SystemError => &[SystemError],
        }
    }
}

/// Panther's `DetectionType`: the kind of detection an alert comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DetectionType {
    #[graphql(name = "CORRELATION_RULE")]
    CorrelationRule,
    #[graphql(name = "DERIVED_RULE")]
    DerivedRule,
    #[graphql(name = "POLICY")]
    Policy,
    #[graphql(name = "RULE")]
    Rule,
    #[graphql(name = "SCHEDULED_RULE")]
    ScheduledRule,
}

impl AlertType {
    /// The kind of detection behind an alert of this type (a rule error comes from a
    /// rule); `None` for Herald's own system errors.
    pub fn detection_type(self) -> Option<DetectionType> {
        use AlertType::*;
        match self {
            Rule | RuleError => Some(DetectionType::Rule),
            ScheduledRule | ScheduledRuleError => Some(DetectionType::ScheduledRule),
            Policy => Some(DetectionType::Policy),
            CorrelationRule | CorrelationRuleError => Some(DetectionType::CorrelationRule),
            SystemError => None,
        }
    }
}

stored_enum! {
    /// Lifecycle of one delivery (one alert to one destination).
    pub enum DeliveryStatus {
        Pending = "PENDING",
        InFlight = "IN_FLIGHT",
        Succeeded = "SUCCEEDED",
        Failed = "FAILED",
    }
}

impl DeliveryStatus {
    /// Not finished yet: waiting for a (next) attempt, or being sent.
    pub const UNFINISHED: [DeliveryStatus; 2] = [DeliveryStatus::Pending, DeliveryStatus::InFlight];
}

stored_enum! {
    /// Why a delivery row exists.
    pub enum DeliveryKind {
        /// Routed at ingestion.
        Routed = "ROUTED",
        /// `deliverAlert`: re-sent by hand, title prefixed `[Re-sent]: `.
        Resend = "RESEND",
        /// `sendTestAlert`.
        Test = "TEST",
        /// The alert was resolved or closed: destinations that track incidents close theirs.
        Resolve = "RESOLVE",
    }
}

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
    pub id: DestinationId,
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
    pub id: AlertId,
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
    /// Where the matched event came from (Panther's log source id), when given.
    pub log_source: Option<String>,
    /// The AWS resource type a policy alert is about, when given.
    pub resource_type: Option<String>,
    pub assignee_id: Option<String>,
    /// The detection's display name at ingestion (override displayName, else detection id).
    pub name: String,
    pub routing: RoutingDecision,
    pub routed: bool,
    pub created_by: String,
    pub last_modified_by: String,
}

stored_enum! {
    /// What an audit log entry records (see `service::audit`).
    pub enum AuditAction {
        CreateDestination = "CREATE_DESTINATION",
        UpdateDestination = "UPDATE_DESTINATION",
        DeleteDestination = "DELETE_DESTINATION",
        CreateDetectionOverride = "CREATE_DETECTION_OVERRIDE",
        UpdateDetectionOverride = "UPDATE_DETECTION_OVERRIDE",
        DeleteDetectionOverride = "DELETE_DETECTION_OVERRIDE",
        CreateApiToken = "CREATE_API_TOKEN",
        RotateApiToken = "ROTATE_API_TOKEN",
        DeleteApiToken = "DELETE_API_TOKEN",
        RetryFailedDeliveries = "RETRY_FAILED_DELIVERIES",
        CreateUser = "CREATE_USER",
        UpdateUser = "UPDATE_USER",
        DeleteUser = "DELETE_USER",
        CreateRole = "CREATE_ROLE",
        UpdateRole = "UPDATE_ROLE",
        DeleteRole = "DELETE_ROLE",
    }
}

stored_enum! {
    /// The kind of thing an audit log entry is about.
    pub enum AuditTargetType {
        Destination = "DESTINATION",
        DetectionOverride = "DETECTION_OVERRIDE",
        ApiToken = "API_TOKEN",
        User = "USER",
        Role = "ROLE",
    }
}

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
            CreateUser | UpdateUser | DeleteUser => AuditTargetType::User,
            CreateRole | UpdateRole | DeleteRole => AuditTargetType::Role,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    /// serde, the GraphQL enum and the database column spell every variant alike, and
    /// a stored value no variant spells is refused rather than mapped to a default.
    fn spellings_agree<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy
            + PartialEq
            + std::fmt::Debug
            + std::fmt::Display
            + Serialize
            + serde::de::DeserializeOwned
            + async_graphql::InputType
            + ActiveEnum<Value = String>,
    {
        assert!(!all.is_empty());
        for &v in all {
            let text = as_str(v);
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(text));
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
                v
            );
            assert_eq!(
                async_graphql::InputType::to_value(&v),
                async_graphql::Value::Enum(async_graphql::Name::new(text)),
                "{v:?}"
            );
            assert_eq!(
                <T as async_graphql::InputType>::parse(Some(async_graphql::Value::Enum(
                    async_graphql::Name::new(text)
                )))
                .ok(),
                Some(v)
            );
            assert_eq!(ActiveEnum::to_value(&v), text);
            assert_eq!(T::try_from_value(&text.to_string()).unwrap(), v);
            assert_eq!(v.to_string(), text);
        }
        let e = T::try_from_value(&"NOT_A_VARIANT".to_string()).unwrap_err();
        assert!(e.to_string().contains("NOT_A_VARIANT"), "{e}");
    }

    #[test]
    fn stored_enums_have_one_spelling() {
        spellings_agree(Severity::ALL, Severity::as_str);
        spellings_agree(AlertType::ALL, AlertType::as_str);
        spellings_agree(AlertStatus::ALL, AlertStatus::as_str);
        spellings_agree(DeliveryStatus::ALL, DeliveryStatus::as_str);
        spellings_agree(DeliveryKind::ALL, DeliveryKind::as_str);
        spellings_agree(AuditAction::ALL, AuditAction::as_str);
        spellings_agree(AuditTargetType::ALL, AuditTargetType::as_str);
        spellings_agree(CommentFormat::ALL, CommentFormat::as_str);
    }

    #[test]
    fn all_lists_every_variant_once() {
        use sea_orm::Iterable;
        fn check<T: Iterable + PartialEq + std::fmt::Debug>(all: &[T]) {
            let iter: Vec<T> = T::iter().collect();
            assert_eq!(iter.len(), all.len());
            assert!(iter.iter().all(|v| all.contains(v)), "{iter:?}");
        }
        check(Severity::ALL);
        check(AlertType::ALL);
        check(AlertStatus::ALL);
        check(DeliveryStatus::ALL);
        check(DeliveryKind::ALL);
        check(AuditAction::ALL);
        check(AuditTargetType::ALL);
        check(CommentFormat::ALL);
    }

    #[test]
    fn listing_types_cover_every_alert_type_once() {
        let all: Vec<AlertType> = [
            AlertListingType::Alert,
            AlertListingType::DetectionError,
            AlertListingType::SystemError,
        ]
        .iter()
        .flat_map(|l| l.subtypes().iter().copied())
        .collect();
        assert_eq!(all.len(), AlertType::ALL.len());
        assert!(AlertType::ALL.iter().all(|t| all.contains(t)));
    }
}
