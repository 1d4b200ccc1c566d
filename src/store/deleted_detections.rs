//! Detections whose override was deleted: an alert from one of them has a
//! `DeletedDetection` origin. Written in the transaction that deletes the override, and
//! forgotten in the one that creates it again.
use super::entities::deleted_detection::{self, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

/// Record that the override of `detection_id` was deleted (again: the time is updated).
pub async fn record<C: ConnectionTrait>(db: &C, detection_id: &str, now: i64) -> Result<(), DbErr> {
    Entity::insert(deleted_detection::ActiveModel {
        detection_id: Set(detection_id.to_string()),
        deleted_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(Column::DetectionId)
            .update_column(Column::DeletedAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The override of `detection_id` exists again: it is no longer deleted.
pub async fn forget<C: ConnectionTrait>(db: &C, detection_id: &str) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::DetectionId.eq(detection_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Which of these detections had their override deleted.
pub async fn among<C: ConnectionTrait>(
    db: &C,
    detection_ids: &[String],
) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::DetectionId)
        .filter(Column::DetectionId.is_in(detection_ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await
}
