//! Alert metrics as SQL aggregates over the stored millisecond timestamps (`metrics`):
//! the database counts, nothing is loaded alert by alert.
use super::entities::alert::{self, Column as C};
use crate::domain::{AlertType, DeliveryKind, DeliveryStatus, DestinationId, Severity};
use sea_orm::sea_query::{Alias, Expr, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// How many alerts of one severity were created in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityBucket {
    pub severity: Severity,
    /// Bucket number: the bucket starts at `from + bucket * interval_ms`.
    pub bucket: i64,
    pub count: i64,
}

/// Alerts created in `[from, to)` per severity and per bucket of `interval_ms` from
/// `from` (integer division on the stored BIGINT, on both databases); empty buckets are
/// not returned.
pub async fn per_severity<C2: ConnectionTrait>(
    db: &C2,
    from: i64,
    to: i64,
    interval_ms: i64,
) -> Result<Vec<SeverityBucket>, DbErr> {
    let bucket = Expr::col(C::CreatedAt).sub(from).div(interval_ms);
    let rows: Vec<(String, i64, i64)> = alert::Entity::find()
        .select_only()
        .column(C::Severity)
        .column_as(bucket, "bucket")
        .column_as(Expr::col(C::Seq).count(), "n")
        .filter(C::CreatedAt.gte(from))
        .filter(C::CreatedAt.lt(to))
        .group_by(C::Severity)
        // By the output name: the expression's parameters would not match on PostgreSQL.
        .group_by(Expr::col(Alias::new("bucket")))
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(severity, bucket, count)| {
            let severity = Severity::parse(&severity).ok_or_else(|| {
                super::damaged("alerts", "(aggregate)", "severity", format!("{severity:?}"))
            })?;
            Ok(SeverityBucket {
                severity,
                bucket,
                count,
            })
        })
        .collect()
}

/// Alerts of one detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionCount {
    pub detection_id: String,
    /// The detection's display name as stored on its alerts.
    pub name: String,
    pub count: i64,
}

/// The `top` detections with most alerts created in `[from, to)` (Herald's own system
/// errors left out), most first, ties by detection id.
pub async fn per_detection<C2: ConnectionTrait>(
    db: &C2,
    from: i64,
    to: i64,
    top: u64,
) -> Result<Vec<DetectionCount>, DbErr> {
    let rows: Vec<(String, String, i64)> = alert::Entity::find()
        .select_only()
        .column(C::DetectionId)
        .column_as(Expr::col(C::Name).max(), "label")
        .column_as(Expr::col(C::Seq).count(), "n")
        .filter(C::CreatedAt.gte(from))
        .filter(C::CreatedAt.lt(to))
        .filter(C::AlertType.ne(AlertType::SystemError))
        .group_by(C::DetectionId)
        .order_by(Expr::col(Alias::new("n")), Order::Desc)
        .order_by_asc(C::DetectionId)
        .limit(top)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(detection_id, name, count)| DetectionCount {
            detection_id,
            name,
            count,
        })
        .collect())
}

/// How many deliveries to one destination are in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryCount {
    pub output_id: DestinationId,
    pub status: DeliveryStatus,
    pub count: i64,
}

/// Deliveries queued in `[from, to)` per destination and status, in one grouped query
/// (test sends left out: they carry no alert). Destinations without deliveries in the
/// range are not returned.
pub async fn deliveries_per_destination<C2: ConnectionTrait>(
    db: &C2,
    from: i64,
    to: i64,
) -> Result<Vec<DeliveryCount>, DbErr> {
    use super::entities::delivery::{self, Column as D};
    let rows: Vec<(String, String, i64)> = delivery::Entity::find()
        .select_only()
        .column(D::OutputId)
        .column(D::Status)
        .column_as(Expr::col(D::Id).count(), "n")
        .filter(D::CreatedAt.gte(from))
        .filter(D::CreatedAt.lt(to))
        .filter(D::Kind.ne(DeliveryKind::Test))
        .group_by(D::OutputId)
        .group_by(D::Status)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(output_id, status, count)| {
            let status = DeliveryStatus::parse(&status).ok_or_else(|| {
                super::damaged("deliveries", "(aggregate)", "status", format!("{status:?}"))
            })?;
            Ok(DeliveryCount {
                output_id: output_id.into(),
                status,
                count,
            })
        })
        .collect()
}

/// The display names of these destinations (the ones that still exist).
pub async fn destination_names<C2: ConnectionTrait>(
    db: &C2,
    ids: Vec<DestinationId>,
) -> Result<Vec<(DestinationId, String)>, DbErr> {
    use super::entities::destination::{self, Column as T};
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = destination::Entity::find()
        .select_only()
        .column(T::Id)
        .column(T::DisplayName)
        .filter(T::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (id.into(), name))
        .collect())
}
