//! `previewPayload`: what a destination would be sent for an alert, secrets masked.
use super::alerts::CreateAlertInput;
use super::destination_config::DestinationConfigInput;
use super::error::GqlResultExt;
use super::guard::need;
use crate::auth::Permission;
use crate::destinations::custom_webhook::Header;
use crate::service::{self, preview::PreviewRequest, Services};
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

#[derive(InputObject)]
pub struct PreviewPayloadInput {
    /// A stored destination, by `outputId` or display name; with `outputConfig` too, that config is previewed with the
    /// stored secrets kept where it leaves them empty.
    pub output_id: Option<ID>,
    /// A destination config (not yet saved, or changed).
    pub output_config: Option<DestinationConfigInput>,
    /// The alert to render, as `createAlert` would ingest it; default: the test alert.
    pub alert: Option<CreateAlertInput>,
}

/// The request a destination would send. Secrets are masked.
#[derive(SimpleObject)]
pub struct PayloadPreview {
    /// HTTP method (`SMTP` for e-mail).
    method: String,
    url: String,
    headers: Vec<Header>,
    body: String,
}

#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
    /// Exactly what would be sent to a destination for an alert, without sending it.
    #[graphql(guard = "need(Permission::DestinationRead)")]
    async fn preview_payload(
        &self,
        ctx: &Context<'_>,
        input: PreviewPayloadInput,
    ) -> async_graphql::Result<PayloadPreview> {
        let s = ctx.data::<Services>()?;
        let req = PreviewRequest {
            output_id: input.output_id.map(|i| i.0),
            config: input.output_config.map(DestinationConfigInput::into_parts),
            alert: input.alert.map(Into::into),
        };
        let p = service::preview::preview(s, req).await.gql()?;
        Ok(PayloadPreview {
            method: p.method,
            url: p.url,
            headers: p
                .headers
                .into_iter()
                .map(|(key, value)| Header { key, value })
                .collect(),
            body: p.body,
        })
    }
}
