//! What an API token (or any principal) may do: Panther's permission names. A plain
//! type, so configuration (CLI help) and authorization both use it from here.
use async_graphql::Enum;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
pub enum Permission {
    #[graphql(name = "AlertRead")]
    AlertRead,
    #[graphql(name = "AlertModify")]
    AlertModify,
    #[graphql(name = "DestinationRead")]
    DestinationRead,
    #[graphql(name = "DestinationModify")]
    DestinationModify,
    #[graphql(name = "RuleRead")]
    RuleRead,
    #[graphql(name = "RuleModify")]
    RuleModify,
    #[graphql(name = "OrganizationAPITokenRead")]
    #[serde(rename = "OrganizationAPITokenRead")]
    OrganizationApiTokenRead,
    #[graphql(name = "OrganizationAPITokenModify")]
    #[serde(rename = "OrganizationAPITokenModify")]
    OrganizationApiTokenModify,
    /// Lease deliveries of polling destinations (`pendingDeliveries`); reading alerts
    /// is not enough, since a lease hides the deliveries from the real poller.
    #[graphql(name = "DeliveryPoll")]
    DeliveryPoll,
    /// Read the audit log of configuration changes.
    #[graphql(name = "AuditLogRead")]
    AuditLogRead,
    /// Read users and roles.
    #[graphql(name = "UserRead")]
    UserRead,
    /// Invite, change and delete users; create, change and delete roles.
    #[graphql(name = "UserModify")]
    UserModify,
    #[graphql(name = "GeneralSettingsRead")]
    GeneralSettingsRead,
    #[graphql(name = "GeneralSettingsModify")]
    GeneralSettingsModify,
    #[graphql(name = "SummaryRead")]
    SummaryRead,
}

impl Permission {
    pub const ALL: [Permission; 15] = [
        Permission::AlertRead,
        Permission::AlertModify,
        Permission::DestinationRead,
        Permission::DestinationModify,
        Permission::RuleRead,
        Permission::RuleModify,
        Permission::OrganizationApiTokenRead,
        Permission::OrganizationApiTokenModify,
        Permission::DeliveryPoll,
        Permission::AuditLogRead,
        Permission::UserRead,
        Permission::UserModify,
        Permission::GeneralSettingsRead,
        Permission::GeneralSettingsModify,
        Permission::SummaryRead,
    ];

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
    }
}
