//! Destinations: queries, mutations and types (named as in Panther's API).
use super::destination_config::{DestinationConfig, DestinationConfigInput};
use super::error::GqlResultExt;
use super::guard::{need, principal};
use super::scalars::AWSDateTime;
use crate::auth::Permission;
use crate::domain::{AlertType, DestinationId, Severity};
use crate::error::bad_input;
use crate::service::{self, destinations::DestinationDraft, Services};
use crate::store::{self, destinations::DestinationRecord};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

#[derive(InputObject)]
pub struct DestinationInput {
    /// Names the destination to update; ignored by `addDestination`.
    pub output_id: Option<ID>,
    pub display_name: String,
    pub output_config: DestinationConfigInput,
    pub default_for_severity: Vec<Severity>,
    /// Omitted: every alert type.
    pub alert_types: Option<Vec<AlertType>>,
    /// Empty or omitted: every log type.
    pub log_types: Option<Vec<String>>,
    /// Send at most this many requests per second (default: the type's own limit, if any).
    pub max_requests_per_second: Option<f64>,
    /// Send at most this many requests at once (default: the type's own limit, if any).
    pub max_concurrency: Option<i32>,
}

impl DestinationInput {
    fn into_draft(self, output_id: Option<String>) -> DestinationDraft {
        let (output_type, config) = self.output_config.into_parts();
        DestinationDraft {
            output_id,
            display_name: self.display_name,
            output_type,
            config,
            default_for_severity: self.default_for_severity,
            alert_types: self.alert_types,
            log_types: self.log_types,
            limits: store::destinations::RateLimits {
                max_requests_per_second: self.max_requests_per_second,
                max_concurrency: self.max_concurrency,
            },
        }
    }
}

/// A configured destination. Secrets in `outputConfig` are redacted.
pub struct Destination(pub DestinationRecord);

#[Object]
impl Destination {
    async fn output_id(&self) -> ID {
        ID(self.0.destination.id.to_string())
    }
    async fn output_type(&self) -> &str {
        &self.0.destination.output_type
    }
    async fn display_name(&self) -> &str {
        &self.0.destination.display_name
    }
    async fn output_config(&self) -> DestinationConfig {
        DestinationConfig::from_stored(&self.0.destination.output_type, &self.0.destination.config)
    }
    async fn default_for_severity(&self) -> &[Severity] {
        &self.0.destination.default_for_severity
    }
    /// The alert types this destination takes (every type when none was set).
    async fn alert_types(&self) -> Vec<AlertType> {
        self.0
            .destination
            .alert_types
            .clone()
            .unwrap_or_else(|| AlertType::ALL.to_vec())
    }
    /// Log types a RULE alert must have; empty means every log type.
    async fn log_types(&self) -> &[String] {
        &self.0.destination.log_types
    }
    /// Delivery health (loaded for all listed destinations at once).
    async fn health(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<super::deliveries::DestinationHealth> {
        let loader = ctx.data::<DataLoader<super::deliveries::HealthLoader>>()?;
        loader
            .load_one(self.0.destination.id.clone())
            .await?
            .ok_or_else(|| async_graphql::Error::new("health unavailable"))
    }
    /// Configuration problems, e.g. a destination no alert can reach.
    async fn warnings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let mut out = Vec::new();
        if self.0.destination.default_for_severity.is_empty() {
            let loader = ctx.data::<DataLoader<super::deliveries::OverrideRefLoader>>()?;
            let named = loader
                .load_one(self.0.destination.id.to_string())
                .await?
                .unwrap_or(false);
            if !named {
                out.push("unreachable: it has no severities and no detection override names it (only generated destinations or deliverAlert can reach it)".to_string());
            }
        }
        Ok(out)
    }
    async fn max_requests_per_second(&self) -> Option<f64> {
        self.0.limits.max_requests_per_second
    }
    async fn max_concurrency(&self) -> Option<i32> {
        self.0.limits.max_concurrency
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn creation_time(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.created_at)
    }
    async fn last_modified_by(&self) -> &str {
        &self.0.last_modified_by
    }
    async fn last_modified_time(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.last_modified_at)
    }
}

fn shown(r: DestinationRecord) -> Destination {
    Destination(service::destinations::redacted(r))
}

/// A destination type: what a form needs beyond its config input object's own fields.
#[derive(SimpleObject)]
pub struct DestinationType {
    /// Its field in `DestinationConfigInput` and `DestinationConfig` (`customWebhook`).
    field: String,
    /// The `outputType` of its destinations (`customwebhook`).
    output_type: String,
    /// Its name for people (`Custom webhook`).
    label: String,
    /// The input object of its config (`CustomWebhookConfigInput`), to introspect.
    input_type: String,
    /// Paths of its secret fields inside the config: `field`, or `list[key].field` for a
    /// member of each element of a list (`headers[key].value`). Reads show them as
    /// `********`; `updateDestination` keeps the stored value of one sent empty or as the mask.
    secret_fields: Vec<String>,
    /// Paths of the fields that decide where it sends. An update that changes one must
    /// enter every set secret again (a stored secret never follows it to a new host).
    target_fields: Vec<String>,
}

impl From<crate::destinations::Kind> for DestinationType {
    fn from(k: crate::destinations::Kind) -> Self {
        let owned = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect();
        DestinationType {
            field: k.field,
            output_type: k.output_type.to_string(),
            label: k.label.to_string(),
            input_type: k.input_type,
            secret_fields: owned(k.secret_paths),
            target_fields: owned(k.target_paths),
        }
    }
}

#[derive(Default)]
pub struct DestinationQuery;

#[Object]
impl DestinationQuery {
    /// A new random Standard Webhooks signing secret (`whsec_…`) for a custom webhook's
    /// `signingSecret`; nothing is stored.
    #[graphql(guard = "need(Permission::DestinationModify)")]
    async fn generate_signing_secret(&self) -> String {
        crate::destinations::signing::generate()
    }

    /// Every destination type, with its secret and target fields.
    #[graphql(guard = "need(Permission::DestinationRead)")]
    async fn destination_types(&self) -> Vec<DestinationType> {
        crate::destinations::kinds()
            .into_iter()
            .map(DestinationType::from)
            .collect()
    }

    #[graphql(
        guard = "need(Permission::DestinationRead)",
        complexity = "super::limits::unpaged(child_complexity)"
    )]
    async fn destinations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Destination>> {
        let s = ctx.data::<Services>()?;
        Ok(store::destinations::list(&s.db, &s.cipher)
            .await
            .gql()?
            .into_iter()
            .map(shown)
            .collect())
    }

    #[graphql(guard = "need(Permission::DestinationRead)")]
    async fn destination(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Destination>> {
        let s = ctx.data::<Services>()?;
        Ok(
            store::destinations::get(&s.db, &s.cipher, &DestinationId::from(id.0))
                .await
                .gql()?
                .map(shown),
        )
    }
}

#[derive(Default)]
pub struct DestinationMutation;

#[Object]
impl DestinationMutation {
    #[graphql(guard = "need(Permission::DestinationModify)")]
    async fn add_destination(
        &self,
        ctx: &Context<'_>,
        input: DestinationInput,
    ) -> async_graphql::Result<Destination> {
        let s = ctx.data::<Services>()?;
        let saved = service::destinations::save(s, input.into_draft(None), principal(ctx)?)
            .await
            .gql()?;
        Ok(shown(saved))
    }

    #[graphql(guard = "need(Permission::DestinationModify)")]
    async fn update_destination(
        &self,
        ctx: &Context<'_>,
        input: DestinationInput,
    ) -> async_graphql::Result<Destination> {
        let s = ctx.data::<Services>()?;
        let id = input
            .output_id
            .clone()
            .map(|i| i.0)
            .ok_or_else(|| bad_input("updateDestination needs input.outputId"))
            .gql()?;
        let saved = service::destinations::save(s, input.into_draft(Some(id)), principal(ctx)?)
            .await
            .gql()?;
        Ok(shown(saved))
    }

    #[graphql(guard = "need(Permission::DestinationModify)")]
    async fn delete_destination(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let s = ctx.data::<Services>()?;
        service::destinations::delete(s, &DestinationId::from(id.0), principal(ctx)?)
            .await
            .gql()?;
        Ok(true)
    }
}
