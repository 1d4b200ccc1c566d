//! Alert ingestion (dedup, routing, outbox), queries and updates, re-sends and test sends.
use super::Services;
use crate::dispatch::AttemptReport;
use crate::domain::{
    time::now_ms, Alert, AlertStatus, AlertType, DeliveryKind, DeliveryStatus, Severity,
    DEFAULT_DEDUP_PERIOD_MINUTES,
};
use crate::error::{bad_input, AppError, AppResult};
use crate::routing::{route, RoutingDecision, RoutingInput};
use crate::store::{self, deliveries};
use sea_orm::{ConnectionTrait, TransactionTrait};

/// A detection match, as `CreateAlertInput` carries it.
#[derive(Debug, Clone, Default)]
pub struct NewAlert {
    pub detection_id: String,
    pub title: String,
    pub severity: Option<Severity>,
    pub alert_type: Option<AlertType>,
    pub log_type: Option<String>,
    pub dedup_string: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub tags: Option<Vec<String>>,
    pub alert_context: Option<serde_json::Value>,
    pub event_time: Option<i64>,
    pub generated_destinations: Option<Vec<String>>,
    pub generated_severity: Option<Severity>,
}

fn validate(a: &NewAlert) -> AppResult<()> {
    if a.detection_id.trim().is_empty() {
        return Err(bad_input("detectionId must not be empty"));
    }
    if a.title.trim().is_empty() {
        return Err(bad_input("title must not be empty"));
    }
    if a.alert_context.as_ref().is_some_and(|c| !(c.is_object() || c.is_null())) {
        return Err(bad_input("alertContext must be a JSON object"));
    }
    Ok(())
}

/// The routing decision for an alert, read from the current configuration.
async fn decide<C: ConnectionTrait>(c: &C, a: &NewAlert) -> AppResult<(RoutingDecision, Option<crate::domain::DetectionOverride>)> {
    let detection = store::overrides::get(c, a.detection_id.trim()).await?.map(|r| r.value);
    let destinations: Vec<_> = store::destinations::list(c).await?.into_iter().map(|r| r.destination).collect();
    let input = RoutingInput {
        alert_type: a.alert_type,
        severity: a.severity,
        generated_severity: a.generated_severity,
        log_type: a.log_type.as_deref(),
        generated_destinations: a.generated_destinations.as_deref(),
    };
    Ok((route(&input, detection.as_ref(), &destinations), detection))
}

/// Routing dry-run: where would this alert go? Writes nothing.
pub async fn route_preview(s: &Services, a: &NewAlert) -> AppResult<RoutingDecision> {
    validate(a)?;
    Ok(decide(&s.db, a).await?.0)
}

/// Ingest a detection match: join an open alert with the same dedup key within the
/// dedup period, or create an alert and its deliveries in one transaction.
pub async fn create(s: &Services, a: NewAlert, by: &str) -> AppResult<Alert> {
    validate(&a)?;
    let now = now_ms();
    let txn = s.db.begin().await?;
    // Serializes ingestion: the dedup check cannot race, and `seq` follows commit order.
    store::lock(&txn, store::LOCK_ALERTS).await?;
    let (decision, detection) = decide(&txn, &a).await?;
    let dedup_string = a.dedup_string.clone().unwrap_or_default();
    let period = detection
        .as_ref()
        .and_then(|d| d.dedup_period_minutes)
        .unwrap_or(DEFAULT_DEDUP_PERIOD_MINUTES) as i64;
    let detection_id = a.detection_id.trim().to_string();
    if let Some(existing) = store::alerts::find_dedup_target(&txn, &detection_id, &dedup_string, now - period * 60_000).await? {
        store::alerts::add_event(&txn, existing.seq, now).await?;
        txn.commit().await?;
        return store::alerts::get(&s.db, &existing.id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("alert vanished")));
    }
    let mut tags = a.tags.clone().unwrap_or_default();
    for t in detection.as_ref().and_then(|d| d.tags.clone()).unwrap_or_default() {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let alert = Alert {
        seq: 0,
        id: uuid::Uuid::new_v4().to_string(),
        detection_id: detection_id.clone(),
        title: a.title.trim().to_string(),
        severity: decision.effective_severity,
        status: AlertStatus::Open,
        alert_type: a.alert_type.unwrap_or(AlertType::Rule),
        log_type: a.log_type.clone(),
        dedup_string,
        description: a.description.clone().unwrap_or_default(),
        runbook: a
            .runbook
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| detection.as_ref().and_then(|d| d.runbook.clone()))
            .unwrap_or_default(),
        reference: a.reference.clone().unwrap_or_default(),
        tags,
        alert_context: a.alert_context.clone().filter(|c| !c.is_null()).unwrap_or_else(|| serde_json::json!({})),
        created_at: now,
        updated_at: now,
        first_event_at: a.event_time.unwrap_or(now),
        last_received_event_at: now,
        event_count: 1,
        assignee_id: None,
        name: detection
            .as_ref()
            .and_then(|d| d.display_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| detection_id.clone()),
        routed: decision.is_routed(),
        routing: decision,
        created_by: by.to_string(),
        last_modified_by: by.to_string(),
    };
    store::alerts::insert(&txn, &alert).await?;
    let rows = alert
        .routing
        .destinations
        .iter()
        .map(|d| deliveries::new_delivery(Some(&alert.id), &d.output_id, &d.display_name, DeliveryKind::Routed, now))
        .collect();
    deliveries::insert_many(&txn, rows).await?;
    txn.commit().await?;
    if !alert.routed {
        tracing::warn!(alert_id = %alert.id, detection_id = %alert.detection_id, "alert matched no destination");
    }
    s.dispatcher.wake();
    store::alerts::get(&s.db, &alert.id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("alert vanished")))
}

fn check_ids(ids: &[String]) -> AppResult<()> {
    if ids.is_empty() {
        return Err(bad_input("ids must not be empty"));
    }
    if ids.len() > 1000 {
        return Err(bad_input("at most 1000 ids at a time"));
    }
    Ok(())
}

async fn existing(s: &Services, ids: &[String]) -> AppResult<Vec<Alert>> {
    let found = store::alerts::get_many(&s.db, ids).await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|a| &a.id == *id)) {
        return Err(AppError::NotFound(format!("no alert with id {missing}")));
    }
    Ok(found)
}

/// Change alert status. Moving an alert to RESOLVED or CLOSED queues a `Resolve`
/// delivery to each destination that opened something for it and can close it.
pub async fn set_status(s: &Services, ids: &[String], status: AlertStatus, by: &str) -> AppResult<Vec<Alert>> {
    check_ids(ids)?;
    let before = existing(s, ids).await?;
    let now = now_ms();
    let txn = s.db.begin().await?;
    store::alerts::set_status(&txn, ids, status, by, now).await?;
    if matches!(status, AlertStatus::Resolved | AlertStatus::Closed) {
        let closing: Vec<String> = before
            .iter()
            .filter(|a| matches!(a.status, AlertStatus::Open | AlertStatus::Triaged))
            .map(|a| a.id.clone())
            .collect();
        let mut rows = Vec::new();
        let sent = deliveries::for_alerts(&txn, &closing).await?;
        let dests = store::destinations::list(&txn).await?;
        for d in &sent {
            let kind = DeliveryKind::parse(&d.kind);
            if !matches!(kind, Some(DeliveryKind::Routed | DeliveryKind::Resend)) {
                continue;
            }
            let Some(dest) = dests.iter().find(|r| r.destination.id == d.output_id) else { continue };
            let resolvable = crate::destinations::integration(&dest.destination.output_type).is_some_and(|i| i.supports_resolve());
            let already = rows.iter().any(|r: &deliveries::Delivery| r.alert_id == d.alert_id && r.output_id == d.output_id);
            if resolvable && !already {
                rows.push(deliveries::new_delivery(d.alert_id.as_deref(), &d.output_id, &d.label, DeliveryKind::Resolve, now));
            }
        }
        deliveries::insert_many(&txn, rows).await?;
    }
    txn.commit().await?;
    s.dispatcher.wake();
    Ok(store::alerts::get_many(&s.db, ids).await?)
}

pub async fn set_assignee(s: &Services, ids: &[String], assignee: Option<&str>, by: &str) -> AppResult<Vec<Alert>> {
    check_ids(ids)?;
    existing(s, ids).await?;
    store::alerts::set_assignee(&s.db, ids, assignee.filter(|a| !a.is_empty()), by, now_ms()).await?;
    Ok(store::alerts::get_many(&s.db, ids).await?)
}

pub async fn add_comment(s: &Services, alert_id: &str, body: &str, by: &str) -> AppResult<store::alerts::Comment> {
    if body.trim().is_empty() {
        return Err(bad_input("body must not be empty"));
    }
    existing(s, &[alert_id.to_string()]).await?;
    let c = store::alerts::Comment {
        id: uuid::Uuid::new_v4().to_string(),
        alert_id: alert_id.into(),
        body: body.into(),
        created_by: by.into(),
        created_at: now_ms(),
    };
    store::alerts::add_comment(&s.db, c.clone()).await?;
    Ok(c)
}

/// Unknown destination ids are a `BAD_USER_INPUT` error naming them.
async fn destinations_by_id(s: &Services, ids: &[String]) -> AppResult<Vec<store::destinations::DestinationRecord>> {
    if ids.is_empty() {
        return Err(bad_input("outputIds must not be empty"));
    }
    let found = store::destinations::get_many(&s.db, ids).await?;
    let unknown: Vec<&String> = ids.iter().filter(|id| !found.iter().any(|d| &d.destination.id == *id)).collect();
    if !unknown.is_empty() {
        return Err(bad_input(format!("unknown outputIds: {unknown:?}")));
    }
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|d| &d.destination.id == id).cloned())
        .collect())
}

/// Re-send an alert to chosen destinations now, bypassing routing.
pub async fn deliver(s: &Services, alert_id: &str, output_ids: &[String]) -> AppResult<Alert> {
    let alert = store::alerts::get(&s.db, alert_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no alert with id {alert_id}")))?;
    let dests = destinations_by_id(s, output_ids).await?;
    let now = now_ms();
    let rows = dests
        .iter()
        .map(|d| deliveries::new_delivery(Some(&alert.id), &d.destination.id, &d.destination.display_name, DeliveryKind::Resend, now))
        .collect();
    deliveries::insert_many(&s.db, rows).await?;
    s.dispatcher.wake();
    Ok(alert)
}

/// Send the test alert to each destination synchronously; attempts are stored.
pub async fn send_test(s: &Services, output_ids: &[String]) -> AppResult<Vec<AttemptReport>> {
    let dests = destinations_by_id(s, output_ids).await?;
    let now = now_ms();
    let mut rows = Vec::new();
    for d in &dests {
        let mut row = deliveries::new_delivery(None, &d.destination.id, &d.destination.display_name, DeliveryKind::Test, now);
        // Leased to this process from the start, so no worker picks it up meanwhile.
        row.status = DeliveryStatus::InFlight.as_str().into();
        row.claimed_by = Some(s.dispatcher.claim_id().to_string());
        row.lease_until = Some(now + 10 * 60_000);
        rows.push(row);
    }
    deliveries::insert_many(&s.db, rows.clone()).await?;
    let sends = rows.into_iter().map(|row| s.dispatcher.deliver_now(row));
    let results = futures::future::join_all(sends).await;
    results.into_iter().map(|r| r.map_err(AppError::from)).collect()
}
