//! `generalSettings`: what Panther shows under Settings > General that Herald has.
use super::guard::need;
use crate::auth::Permission;
use crate::service::Services;
use async_graphql::{Context, Object, SimpleObject};

/// Panther's `GeneralSettingsConfig`, as far as Herald has it.
#[derive(SimpleObject)]
#[graphql(name = "GeneralSettingsConfig")]
pub struct GeneralSettings {
    /// The public IP address deliveries leave from, for receivers to allow-list
    /// (`HERALD_GATEWAY_PUBLIC_IP`; null when not configured).
    gateway_public_ip: Option<String>,
    /// Herald's version.
    version: String,
    /// Herald's version (the field Panther's clients read).
    panther_version: String,
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// General settings: the gateway public IP and the version.
    #[graphql(guard = "need(Permission::GeneralSettingsRead)")]
    async fn general_settings(&self, ctx: &Context<'_>) -> async_graphql::Result<GeneralSettings> {
        let s = ctx.data::<Services>()?;
        let version = env!("CARGO_PKG_VERSION").to_string();
        Ok(GeneralSettings {
            gateway_public_ip: s.dispatcher.outbound().egress().gateway_public_ip.clone(),
            version: version.clone(),
            panther_version: version,
        })
    }
}
