//! Delivery operations: polling destinations, replay, destination health.
use super::Services;
use crate::destinations::polling::PollingConfig;
use crate::domain::payload::{panther_payload, test_alert};
use crate::domain::{time::now_ms, AlertId, DeliveryId, DeliveryKind, DestinationId};
use crate::error::{bad_input, AppResult};
use crate::store::{self, deliveries::Health};

async fn polling_destination(
    s: &Services,
    output_id: &str,
) -> AppResult<store::destinations::DestinationRecord> {
    let d = super::destinations::named(s, output_id).await?;
    if !crate::destinations::is_pull(&d.destination.output_type) {
        return Err(bad_input(format!(
            "destination {output_id} is of type {}, not a polling destination",
            d.destination.output_type
        )));
    }
    Ok(d)
}

/// A leased delivery and the JSON a custom webhook would have received.
pub struct PendingDelivery {
    pub delivery_id: DeliveryId,
    pub payload: serde_json::Value,
}

/// Lease up to `page_size` deliveries of a polling destination for its visibility timeout.
pub async fn pending(
    s: &Services,
    output_id: &str,
    page_size: Option<i32>,
) -> AppResult<Vec<PendingDelivery>> {
    let page_size = page_size.unwrap_or(100);
    if !(1..=1000).contains(&page_size) {
        return Err(bad_input("pageSize must be between 1 and 1000"));
    }
    let dest = polling_destination(s, output_id).await?;
    let output_id = &dest.destination.id;
    let visibility = PollingConfig::visibility_ms(&dest.destination.config);
    let claim = format!("poller-{}", uuid::Uuid::new_v4());
    let now = now_ms();
    let rows =
        store::deliveries::claim_pull(&s.db, output_id, now, visibility, page_size as u64, &claim)
            .await?;
    let alert_ids: Vec<AlertId> = rows.iter().filter_map(|d| d.alert_id.clone()).collect();
    let alerts = store::alerts::get_many(&s.db, &alert_ids).await?;
    let public_url = s.dispatcher.public_url();
    let mut out = Vec::with_capacity(rows.len());
    for d in rows {
        let kind = d.kind;
        let alert = match (&d.alert_id, kind) {
            (_, DeliveryKind::Test) => Some(test_alert(d.created_at)),
            (Some(id), _) => alerts.iter().find(|a| &a.id == id).cloned(),
            (None, _) => None,
        };
        let Some(alert) = alert else { continue };
        out.push(PendingDelivery {
            delivery_id: d.id,
            payload: panther_payload(&alert, public_url, kind),
        });
    }
    Ok(out)
}

/// Confirm pickup; returns how many deliveries were newly marked SUCCEEDED.
pub async fn acknowledge(s: &Services, output_id: &str, ids: &[DeliveryId]) -> AppResult<u64> {
    if ids.len() > 1000 {
        return Err(bad_input("at most 1000 deliveryIds at a time"));
    }
    let d = polling_destination(s, output_id).await?;
    let output_id = &d.destination.id;
    Ok(store::deliveries::acknowledge(&s.db, output_id, ids, now_ms()).await?)
}

/// Re-queue the FAILED deliveries of a destination (by id or display name, since a
/// time); how many.
pub async fn retry_failed(
    s: &Services,
    output_id: &str,
    since: Option<i64>,
    who: &crate::auth::Principal,
) -> AppResult<u64> {
    let output_id = &super::destinations::named(s, output_id)
        .await?
        .destination
        .id;
    use sea_orm::TransactionTrait;
    let txn = s.db.begin().await?;
    let n =
        store::deliveries::requeue_failed(&txn, output_id, since.unwrap_or(0), now_ms()).await?;
    let after =
        serde_json::json!({"since": since.map(crate::domain::time::to_rfc3339), "requeued": n});
    let action = crate::domain::AuditAction::RetryFailedDeliveries;
    super::audit::record(&txn, who, action, output_id, None, Some(after)).await?;
    txn.commit().await?;
    s.dispatcher.wake();
    Ok(n)
}

/// Health of a set of destinations (two queries, whatever the number).
pub async fn health(
    s: &Services,
    output_ids: &[DestinationId],
) -> AppResult<Vec<(DestinationId, Option<Health>, i64)>> {
    Ok(store::deliveries::health(&s.db, output_ids).await?)
}
