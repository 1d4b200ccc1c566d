//! The events of alerts (`Alert.events`): appended at ingestion in the alert's own
//! transaction, read oldest first in keyset pages on (alert_id, seq).
use super::entities::alert_event::{self, Column, Entity};
use crate::domain::AlertId;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// One event to store for an alert.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub alert_id: AlertId,
    pub event: serde_json::Value,
    pub received_at: i64,
}

/// A stored event: its position (the page cursor) and the event.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: serde_json::Value,
}

/// Rows per multi-row `INSERT` (3 columns each; the statement stays small even with
/// events near their size bound).
const INSERT_CHUNK: usize = 100;

/// Append events, in order (their `seq` follows it). Call inside the transaction that
/// creates or joins their alerts, which holds their dedup keys: two transactions
/// adding events to one alert commit one after the other.
pub async fn insert_many<C: ConnectionTrait>(db: &C, events: &[NewEvent]) -> Result<(), DbErr> {
    let rows = events.iter().map(active).collect();
    super::rows::insert(db, rows, INSERT_CHUNK, &[]).await?;
    Ok(())
}

/// The row an event is stored as.
pub(super) fn active(e: &NewEvent) -> alert_event::ActiveModel {
    alert_event::ActiveModel {
        seq: sea_orm::NotSet,
        alert_id: Set(e.alert_id.clone()),
        event: Set(e.event.to_string()),
        received_at: Set(e.received_at),
    }
}

/// Up to `limit` events of an alert after position `after` (oldest first), and whether
/// more follow. Reads `limit + 1` rows through the (alert_id, seq) index.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    alert_id: &AlertId,
    after: Option<i64>,
    limit: u64,
) -> Result<(Vec<StoredEvent>, bool), DbErr> {
    let mut query = Entity::find().filter(Column::AlertId.eq(alert_id));
    if let Some(seq) = after {
        query = query.filter(Column::Seq.gt(seq));
    }
    let rows = query
        .order_by_asc(Column::Seq)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    let events = rows
        .into_iter()
        .take(limit as usize)
        .map(|m| {
            let event = super::json_column("alert_events", m.seq, "event", &m.event)?;
            Ok(StoredEvent { seq: m.seq, event })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok((events, more))
}
