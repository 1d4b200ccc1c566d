//! Detection overrides table.
use super::entities::detection_override::{self, Column, Entity};
use super::{json_column, locate_damaged, to_json, EnumColumn};
use crate::domain::{DetectionOverride, Severity};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

#[derive(Debug, Clone)]
pub struct OverrideRecord {
    pub value: DetectionOverride,
    pub created_by: String,
    pub created_at: i64,
    pub last_modified_by: String,
    pub last_modified_at: i64,
}

const TABLE: &str = "detection_overrides";
const ENUMS: [EnumColumn; 1] = [("severity", Severity::SPELLINGS)];

/// Rows as read, or the error naming a damaged row.
async fn records<C: ConnectionTrait>(
    db: &C,
    read: Result<Vec<detection_override::Model>, DbErr>,
) -> Result<Vec<OverrideRecord>, DbErr> {
    locate_damaged(db, read, TABLE, "detection_id", &ENUMS)
        .await?
        .into_iter()
        .map(to_record)
        .collect()
}

fn to_record(m: detection_override::Model) -> Result<OverrideRecord, DbErr> {
    let list = |column: &str, text: Option<&str>| -> Result<Option<Vec<String>>, DbErr> {
        text.map(|t| json_column(TABLE, &m.detection_id, column, t))
            .transpose()
    };
    let output_ids = list("output_ids", m.output_ids.as_deref())?;
    let tags = list("tags", m.tags.as_deref())?;
    Ok(OverrideRecord {
        value: DetectionOverride {
            detection_id: m.detection_id,
            display_name: m.display_name,
            output_ids,
            severity: m.severity,
            dedup_period_minutes: m.dedup_period_minutes,
            runbook: m.runbook,
            tags,
        },
        created_by: m.created_by,
        created_at: m.created_at,
        last_modified_by: m.last_modified_by,
        last_modified_at: m.last_modified_at,
    })
}

fn to_active(r: &OverrideRecord) -> detection_override::ActiveModel {
    let v = &r.value;
    detection_override::ActiveModel {
        detection_id: Set(v.detection_id.clone()),
        display_name: Set(v.display_name.clone()),
        output_ids: Set(v.output_ids.as_ref().map(to_json)),
        severity: Set(v.severity),
        dedup_period_minutes: Set(v.dedup_period_minutes),
        runbook: Set(v.runbook.clone()),
        tags: Set(v.tags.as_ref().map(to_json)),
        created_by: Set(r.created_by.clone()),
        created_at: Set(r.created_at),
        last_modified_by: Set(r.last_modified_by.clone()),
        last_modified_at: Set(r.last_modified_at),
    }
}

pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<OverrideRecord>, DbErr> {
    let read = Entity::find()
        .order_by_asc(Column::DetectionId)
        .all(db)
        .await;
    records(db, read).await
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    detection_id: &str,
) -> Result<Option<OverrideRecord>, DbErr> {
    let read = Entity::find()
        .filter(Column::DetectionId.eq(detection_id))
        .all(db)
        .await;
    Ok(records(db, read).await?.pop())
}

pub async fn upsert<C: ConnectionTrait>(db: &C, r: &OverrideRecord) -> Result<(), DbErr> {
    if Entity::find_by_id(r.value.detection_id.as_str())
        .one(db)
        .await?
        .is_some()
    {
        Entity::update(to_active(r)).exec(db).await?;
    } else {
        Entity::insert(to_active(r)).exec(db).await?;
    }
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, detection_id: &str) -> Result<bool, DbErr> {
    Ok(Entity::delete_by_id(detection_id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Remove a deleted destination from every override that names it.
pub async fn remove_destination<C: ConnectionTrait>(
    db: &C,
    output_id: &str,
    by: &str,
    now: i64,
) -> Result<u64, DbErr> {
    let read = Entity::find()
        .filter(Column::OutputIds.contains(output_id))
        .all(db)
        .await;
    let mut changed = 0;
    for mut r in records(db, read).await? {
        if let Some(ids) = r.value.output_ids.as_mut() {
            let before = ids.len();
            ids.retain(|i| i != output_id);
            if ids.len() != before {
                r.last_modified_by = by.to_string();
                r.last_modified_at = now;
                Entity::update(to_active(&r)).exec(db).await?;
                changed += 1;
            }
        }
    }
    Ok(changed)
}

/// The overrides of these detections (those that have one), in one query.
pub async fn get_many<C: ConnectionTrait>(
    db: &C,
    detection_ids: &[String],
) -> Result<Vec<OverrideRecord>, DbErr> {
    let read = Entity::find()
        .filter(Column::DetectionId.is_in(detection_ids.iter().cloned()))
        .all(db)
        .await;
    records(db, read).await
}
