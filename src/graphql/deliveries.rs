//! Delivery operations: polling destinations, replay, and destination health.
use super::error::GqlResultExt;
use super::guard::{need, principal};
use super::scalars::{AWSDateTime, AWSJSON};
use crate::auth::Permission;
use crate::domain::{DeliveryId, DestinationId};
use crate::service::{self, Services};
use crate::store;
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use std::collections::HashMap;

#[derive(InputObject)]
pub struct PendingDeliveriesInput {
    /// A `polling` destination, by `outputId` or display name.
    pub output_id: ID,
    /// At most this many (default 100, max 1000).
    pub page_size: Option<i32>,
}

/// A delivery leased to the caller until its visibility timeout.
#[derive(SimpleObject)]
pub struct PendingDelivery {
    delivery_id: ID,
    /// Exactly the JSON a custom webhook receives.
    payload: AWSJSON,
}

#[derive(InputObject)]
pub struct AcknowledgeDeliveriesInput {
    /// The destination, by `outputId` or display name.
    pub output_id: ID,
    pub delivery_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct RetryFailedDeliveriesInput {
    /// The destination, by `outputId` or display name.
    pub output_id: ID,
    /// Only deliveries that failed at or after this time (default: all).
    pub since: Option<AWSDateTime>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// The last attempt succeeded, or nothing was sent yet.
    Healthy,
    /// The last attempt failed.
    Failing,
    /// The circuit breaker is open after too many consecutive failures: deliveries wait
    /// (none is dropped or uses up attempts) and one probe is sent periodically.
    Paused,
}

#[derive(SimpleObject, Clone)]
pub struct DestinationHealth {
    state: HealthState,
    last_attempt_at: Option<AWSDateTime>,
    last_success_at: Option<AWSDateTime>,
    last_error: Option<String>,
    /// Failed attempts since the last success.
    consecutive_failures: i32,
    /// Deliveries not finished yet (pending or in flight).
    pending_count: i64,
    /// Since when the destination is paused (state PAUSED).
    paused_at: Option<AWSDateTime>,
    /// When the next probe of a paused destination may be sent.
    next_probe_at: Option<AWSDateTime>,
}

/// Loads the health of every destination a query asks for in one batch.
pub struct HealthLoader(pub Services);

impl Loader<DestinationId> for HealthLoader {
    type Value = DestinationHealth;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[DestinationId],
    ) -> Result<HashMap<DestinationId, DestinationHealth>, Self::Error> {
        let rows = service::deliveries::health(&self.0, keys).await.gql()?;
        Ok(rows
            .into_iter()
            .map(|(id, h, pending)| {
                let failures = h.as_ref().map_or(0, |h| h.consecutive_failures);
                let paused_at = h.as_ref().and_then(|h| h.paused_at);
                let health = DestinationHealth {
                    state: if paused_at.is_some() {
                        HealthState::Paused
                    } else if failures > 0 {
                        HealthState::Failing
                    } else {
                        HealthState::Healthy
                    },
                    paused_at: paused_at.map(AWSDateTime::from_ms),
                    next_probe_at: h
                        .as_ref()
                        .and_then(|h| h.next_probe_at)
                        .filter(|_| paused_at.is_some())
                        .map(AWSDateTime::from_ms),
                    last_attempt_at: h
                        .as_ref()
                        .and_then(|h| h.last_attempt_at)
                        .map(AWSDateTime::from_ms),
                    last_success_at: h
                        .as_ref()
                        .and_then(|h| h.last_success_at)
                        .map(AWSDateTime::from_ms),
                    last_error: h.and_then(|h| h.last_error),
                    consecutive_failures: failures,
                    pending_count: pending,
                };
                (id, health)
            })
            .collect())
    }
}

/// Loads, in one batch, which destinations some detection override names.
pub struct OverrideRefLoader(pub Services);

impl Loader<String> for OverrideRefLoader {
    type Value = bool;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, bool>, Self::Error> {
        let overrides = store::overrides::list(&self.0.db).await.gql()?;
        Ok(keys
            .iter()
            .map(|k| {
                let named = overrides.iter().any(|o| {
                    o.value
                        .output_ids
                        .as_ref()
                        .is_some_and(|ids| ids.contains(k))
                });
                (k.clone(), named)
            })
            .collect())
    }
}

/// Data loaders for one request.
pub fn loaders(s: &Services) -> (DataLoader<HealthLoader>, DataLoader<OverrideRefLoader>) {
    (
        DataLoader::new(HealthLoader(s.clone()), tokio::spawn),
        DataLoader::new(OverrideRefLoader(s.clone()), tokio::spawn),
    )
}

#[derive(Default)]
pub struct DeliveryQuery;

#[Object]
impl DeliveryQuery {
    /// Lease the next deliveries of a polling destination. They are offered to no one
    /// else until their visibility timeout passes; acknowledge them once processed.
    /// Needs `DeliveryPoll` (reading alerts is not enough to take them from the poller).
    #[graphql(
        guard = "need(Permission::DeliveryPoll)",
        complexity = "super::limits::page_size(input.page_size, 100, 1000, child_complexity)"
    )]
    async fn pending_deliveries(
        &self,
        ctx: &Context<'_>,
        input: PendingDeliveriesInput,
    ) -> async_graphql::Result<Vec<PendingDelivery>> {
        let s = ctx.data::<Services>()?;
        let rows = service::deliveries::pending(s, &input.output_id, input.page_size)
            .await
            .gql()?;
        Ok(rows
            .into_iter()
            .map(|p| PendingDelivery {
                delivery_id: ID(p.delivery_id.into_string()),
                payload: AWSJSON(p.payload),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct DeliveryMutation;

#[Object]
impl DeliveryMutation {
    /// Mark leased deliveries of a polling destination as delivered; how many were.
    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn acknowledge_deliveries(
        &self,
        ctx: &Context<'_>,
        input: AcknowledgeDeliveriesInput,
    ) -> async_graphql::Result<i32> {
        let s = ctx.data::<Services>()?;
        let ids: Vec<DeliveryId> = input
            .delivery_ids
            .into_iter()
            .map(|i| DeliveryId::from(i.0))
            .collect();
        Ok(service::deliveries::acknowledge(s, &input.output_id, &ids)
            .await
            .gql()? as i32)
    }

    /// Re-queue the FAILED deliveries of a destination (e.g. after fixing its URL).
    /// Attempt history is kept and numbering continues. Returns how many.
    #[graphql(guard = "need(Permission::DestinationModify)")]
    async fn retry_failed_deliveries(
        &self,
        ctx: &Context<'_>,
        input: RetryFailedDeliveriesInput,
    ) -> async_graphql::Result<i32> {
        let s = ctx.data::<Services>()?;
        Ok(service::deliveries::retry_failed(
            s,
            &input.output_id,
            input.since.map(|t| t.ms()),
            principal(ctx)?,
        )
        .await
        .gql()? as i32)
    }
}
