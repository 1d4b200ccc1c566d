//! Shared request building for the types that POST the Panther payload (or the body a
//! `payloadTemplate` renders) as JSON: customWebhook, tines, torq, blinkOps, mindflow,
//! serviceNow, rapid7.
use super::{template, DeliveryContext, OutboundRequest};

/// The body: the rendered `payloadTemplate` when set, else the payload JSON.
pub fn body(payload_template: Option<&str>, ctx: &DeliveryContext<'_>) -> Result<String, String> {
    Ok(
        match template::render_opt(
            "payloadTemplate",
            payload_template,
            ctx.payload,
            ctx.template_budget,
        )? {
            Some(rendered) => rendered,
            None => ctx.payload.to_string(),
        },
    )
}

/// POST the body to `url` as JSON.
pub fn request(
    url: &str,
    payload_template: Option<&str>,
    ctx: &DeliveryContext<'_>,
) -> Result<OutboundRequest, String> {
    Ok(OutboundRequest {
        method: reqwest::Method::POST,
        url: url.trim().to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body(payload_template, ctx)?,
    })
}

/// Defines a JSON-webhook type with `webhookURL`†, an optional vendor auth header
/// (`authHeaderName`, `authHeaderValue`†) and `payloadTemplate`.
macro_rules! header_webhook {
    ($(#[$doc:meta])* $ty:ident, $config:ident, $input:literal, $output_type:literal) => {
        use super::common::validate_header_pair;
        use super::{json_webhook, parse_config, template, validate_url, DeliveryContext, Integration, OutboundRequest};
        use async_graphql::{InputObject, SimpleObject};
        use serde::{Deserialize, Serialize};
        use serde_json::Value;

        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
        #[graphql(input_name = $input)]
        #[serde(rename_all = "camelCase")]
        pub struct $config {
            /// Secret: shown redacted.
            #[graphql(name = "webhookURL")]
            #[serde(rename = "webhookURL")]
            pub webhook_url: String,
            /// The header the webhook authenticates with, as configured at the vendor.
            #[serde(default)]
            pub auth_header_name: Option<String>,
            /// Its value. Secret: shown redacted.
            #[serde(default)]
            pub auth_header_value: Option<String>,
            /// Optional minijinja template for the request body (default: the Panther payload).
            #[serde(default)]
            pub payload_template: Option<String>,
        }

        pub struct $ty;

        impl Integration for $ty {
            fn output_type(&self) -> &'static str {
                $output_type
            }

            fn target_paths(&self) -> &'static [&'static str] {
                &["webhookURL"]
            }

            fn secret_paths(&self) -> &'static [&'static str] {
                &["webhookURL", "authHeaderValue"]
            }

            fn validate(&self, config: &Value) -> Result<(), String> {
                let c: $config = parse_config(config)?;
                validate_url("webhookURL", &c.webhook_url)?;
                validate_header_pair(c.auth_header_name.as_deref(), c.auth_header_value.as_deref())?;
                template::check_opt("payloadTemplate", c.payload_template.as_deref())
            }

            fn build_request(&self, config: &Value, ctx: &DeliveryContext<'_>) -> Result<OutboundRequest, String> {
                let c: $config = parse_config(config)?;
                let mut req = json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)?;
                if let (Some(name), Some(value)) = (
                    c.auth_header_name.as_deref().map(str::trim).filter(|n| !n.is_empty()),
                    c.auth_header_value.filter(|v| !v.is_empty()),
                ) {
                    req.headers.push((name.to_string(), value));
                }
                Ok(req)
            }
        }
    };
}
pub(crate) use header_webhook;

/// Defines a JSON-webhook type with only `webhookURL`† and `payloadTemplate`.
macro_rules! plain_webhook {
    ($(#[$doc:meta])* $ty:ident, $config:ident, $input:literal, $output_type:literal) => {
        use super::{json_webhook, parse_config, template, validate_url, DeliveryContext, Integration, OutboundRequest};
        use async_graphql::{InputObject, SimpleObject};
        use serde::{Deserialize, Serialize};
        use serde_json::Value;

        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
        #[graphql(input_name = $input)]
        #[serde(rename_all = "camelCase")]
        pub struct $config {
            /// Secret: shown redacted.
            #[graphql(name = "webhookURL")]
            #[serde(rename = "webhookURL")]
            pub webhook_url: String,
            /// Optional minijinja template for the request body (default: the Panther payload).
            #[serde(default)]
            pub payload_template: Option<String>,
        }

        pub struct $ty;

        impl Integration for $ty {
            fn output_type(&self) -> &'static str {
                $output_type
            }

            fn target_paths(&self) -> &'static [&'static str] {
                &["webhookURL"]
            }

            fn secret_paths(&self) -> &'static [&'static str] {
                &["webhookURL"]
            }

            fn validate(&self, config: &Value) -> Result<(), String> {
                let c: $config = parse_config(config)?;
                validate_url("webhookURL", &c.webhook_url)?;
                template::check_opt("payloadTemplate", c.payload_template.as_deref())
            }

            fn build_request(&self, config: &Value, ctx: &DeliveryContext<'_>) -> Result<OutboundRequest, String> {
                let c: $config = parse_config(config)?;
                json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)
            }
        }
    };
}
pub(crate) use plain_webhook;
