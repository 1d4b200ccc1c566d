//! `polling`: for systems without a public API. Nothing is sent; deliveries wait until a
//! poller leases them with `pendingDeliveries` and confirms with `acknowledgeDeliveries`.
use super::{ConfigError, ConfigResult, DeliveryContext, Integration, OutboundRequest};
use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const DEFAULT_VISIBILITY_TIMEOUT_SECONDS: i32 = 300;

#[derive(Debug, Clone, Default, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "PollingConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct PollingConfig {
    /// Seconds a leased delivery stays hidden from other pollers before it is offered
    /// again unless acknowledged (default 300).
    #[serde(default)]
    pub visibility_timeout_seconds: Option<i32>,
}

impl PollingConfig {
    pub fn visibility_ms(config: &Value) -> i64 {
        let c: PollingConfig = serde_json::from_value(config.clone()).unwrap_or_default();
        i64::from(
            c.visibility_timeout_seconds
                .unwrap_or(DEFAULT_VISIBILITY_TIMEOUT_SECONDS),
        ) * 1000
    }
}

#[derive(Default)]
pub struct Polling;

impl Integration for Polling {
    type Config = PollingConfig;
    const OUTPUT_TYPE: &'static str = "polling";
    const TARGET_PATHS: &'static [&'static str] = &[];
    const SECRET_PATHS: &'static [&'static str] = &[];
    const IS_PULL: bool = true;

    fn validate(&self, c: &PollingConfig) -> ConfigResult<()> {
        match c.visibility_timeout_seconds {
            Some(v) if !(1..=43_200).contains(&v) => Err(ConfigError::at(
                "visibilityTimeoutSeconds",
                "must be between 1 and 43200",
            )),
            _ => Ok(()),
        }
    }

    fn build_request(
        &self,
        _config: &PollingConfig,
        _ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        Err(ConfigError::whole(
            "polling destinations are not sent to; their deliveries wait for pickup",
        ))
    }
}
