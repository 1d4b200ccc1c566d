//! The types that POST the Panther payload (or the body a `payloadTemplate` renders) as
//! JSON: customWebhook and serviceNow build on [`request`]; tines, torq, blinkOps,
//! mindflow and rapid7 are declared whole by [`json_webhook!`].
use super::{ConfigResult, DeliveryContext, OutboundRequest};

/// The body: the rendered `payloadTemplate` when set, else the payload JSON.
pub fn body(payload_template: Option<&str>, ctx: &DeliveryContext<'_>) -> ConfigResult<String> {
    Ok(match ctx.render("payloadTemplate", payload_template)? {
        Some(rendered) => rendered,
        None => ctx.payload.json().to_string(),
    })
}

/// POST the body to `url` as JSON.
pub fn request(
    url: &str,
    payload_template: Option<&str>,
    ctx: &DeliveryContext<'_>,
) -> ConfigResult<OutboundRequest> {
    Ok(OutboundRequest {
        method: reqwest::Method::POST,
        url: url.trim().to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body(payload_template, ctx)?,
    })
}

/// Declares a JSON-webhook type: `webhookURL`† and `payloadTemplate`, plus, with
/// `auth: AuthHeader`, the vendor's optional auth header (`authHeaderName`,
/// `authHeaderValue`†). † secret.
macro_rules! json_webhook {
    (@secrets) => { &["webhookURL"] };
    (@secrets $auth:ident) => { &["webhookURL", "authHeaderValue"] };
    ($(#[$doc:meta])* $ty:ident, $config:ident, $input:literal, $output_type:literal $(, $auth:ident: AuthHeader)?) => {
        use super::{json_webhook, template, validate_url, ConfigResult, DeliveryContext, Integration, OutboundRequest};
        use async_graphql::{InputObject, SimpleObject};
        use serde::{Deserialize, Serialize};

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
            $(
                #[serde(flatten)]
                #[graphql(flatten)]
                pub $auth: super::common::AuthHeader,
            )?
        }

        #[derive(Default)]
        pub struct $ty;

        impl Integration for $ty {
            type Config = $config;
            const OUTPUT_TYPE: &'static str = $output_type;
            const TARGET_PATHS: &'static [&'static str] = &["webhookURL"];
            const SECRET_PATHS: &'static [&'static str] = json_webhook::json_webhook!(@secrets $($auth)?);

            fn validate(&self, c: &$config) -> ConfigResult<()> {
                validate_url("webhookURL", &c.webhook_url)?;
                $(c.$auth.validate()?;)?
                template::check_opt("payloadTemplate", c.payload_template.as_deref())
            }

            fn build_request(&self, c: &$config, ctx: &DeliveryContext<'_>) -> ConfigResult<OutboundRequest> {
                #[allow(unused_mut)]
                let mut req = json_webhook::request(&c.webhook_url, c.payload_template.as_deref(), ctx)?;
                $(req.headers.extend(c.$auth.header());)?
                Ok(req)
            }
        }
    };
}
pub(crate) use json_webhook;
