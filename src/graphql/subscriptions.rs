//! Live updates (GraphQL subscriptions, served over WebSocket by `http`): what this
//! process commits, from the in-process bus ([`crate::domain::live`]). Each field is
//! guarded like the queries that read the same data.
use super::alerts::{Alert, AlertDelivery};
use super::error::GqlResultExt;
use super::guard::need;
use crate::auth::Permission;
use crate::domain::live::LiveEvent;
use crate::domain::{AlertId, DeliveryId};
use crate::service::Services;
use crate::store;
use async_graphql::{Context, ErrorExtensions, Subscription, ID};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

/// The code of the error a subscriber gets when it fell behind and events were dropped.
pub const LAGGED: &str = "SUBSCRIPTION_LAGGED";

#[derive(Default)]
pub struct Subscription;

/// The bus's events as a stream; a lag becomes `Err(skipped)` and the stream goes on.
fn events(rx: broadcast::Receiver<LiveEvent>) -> impl Stream<Item = Result<LiveEvent, u64>> {
    stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(e) => Some((Ok(e), rx)),
            Err(RecvError::Lagged(n)) => Some((Err(n), rx)),
            Err(RecvError::Closed) => None,
        }
    })
}

fn lagged(skipped: u64) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "this subscriber fell behind and {skipped} events were skipped; re-read what it shows, then carry on"
    ))
    .extend_with(|_, e| e.set("code", LAGGED))
}

/// The alerts of one kind of event (`created` or updated).
fn alerts(
    s: &Services,
    created: bool,
) -> impl Stream<Item = async_graphql::Result<Alert>> + 'static {
    events(s.live.subscribe()).filter_map(move |event| async move {
        match event {
            Ok(LiveEvent::AlertCreated(a)) if created => Some(Ok(Alert::from((*a).clone()))),
            Ok(LiveEvent::AlertUpdated(a)) if !created => Some(Ok(Alert::from((*a).clone()))),
            Ok(_) => None,
            Err(skipped) => Some(Err(lagged(skipped))),
        }
    })
}

#[Subscription]
impl Subscription {
    /// Every alert this process creates, once committed (dedup joins are `alertUpdated`).
    #[graphql(guard = "need(Permission::AlertRead)")]
    async fn alert_created(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Alert>>> {
        Ok(alerts(ctx.data::<Services>()?, true))
    }

    /// Every change to an alert this process commits: status, assignee, events joined
    /// by dedup, a comment. The alert as it stands after the change.
    #[graphql(guard = "need(Permission::AlertRead)")]
    async fn alert_updated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Alert>>> {
        Ok(alerts(ctx.data::<Services>()?, false))
    }

    /// A delivery queued (routed at ingestion, re-sent, a resolve), or an attempt
    /// recorded (sent, retried, failed), with its current state and every attempt. Only the deliveries
    /// of one alert when `alertId` is given (test sends, which have no alert, only
    /// without it).
    #[graphql(guard = "need(Permission::AlertRead)")]
    async fn delivery_updated(
        &self,
        ctx: &Context<'_>,
        alert_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AlertDelivery>>> {
        let s = ctx.data::<Services>()?.clone();
        let only = alert_id.map(|a| AlertId::from(a.0));
        Ok(events(s.live.subscribe()).filter_map(move |event| {
            let s = s.clone();
            let only = only.clone();
            async move {
                let delivery_id = match event {
                    Ok(LiveEvent::DeliveryUpdated {
                        delivery_id,
                        alert_id,
                    }) if only.is_none() || alert_id == only => delivery_id,
                    Ok(_) => return None,
                    Err(skipped) => return Some(Err(lagged(skipped))),
                };
                delivery(&s, delivery_id).await.transpose()
            }
        }))
    }
}

/// One delivery as it stands now, with its attempts (none when it was deleted since).
async fn delivery(s: &Services, id: DeliveryId) -> async_graphql::Result<Option<AlertDelivery>> {
    let rows = store::deliveries::get_many(&s.db, std::slice::from_ref(&id))
        .await
        .gql()?;
    Ok(super::alerts::with_attempts(s, rows).await?.pop())
}
