//! Detection overrides table.
use super::entities::detection_override::{self, Column, Entity};
use super::{from_json, to_json};
use crate::domain::DetectionOverride;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

#[derive(Debug, Clone)]
pub struct OverrideRecord {
    pub value: DetectionOverride,
    pub created_by: String,
    pub created_at: i64,
    pub last_modified_by: String,
    pub last_modified_at: i64,
}

fn to_record(m: detection_override::Model) -> OverrideRecord {
    OverrideRecord {
        value: DetectionOverride {
            detection_id: m.detection_id,
            display_name: m.display_name,
            output_ids: m.output_ids.as_deref().map(from_json),
            severity: m.severity,
            dedup_period_minutes: m.dedup_period_minutes,
            runbook: m.runbook,
            tags: m.tags.as_deref().map(from_json),
        },
        created_by: m.created_by,
        created_at: m.created_at,
        last_modified_by: m.last_modified_by,
        last_modified_at: m.last_modified_at,
    }
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
    Ok(Entity::find()
        .order_by_asc(Column::DetectionId)
        .all(db)
        .await?
        .into_iter()
        .map(to_record)
        .collect())
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    detection_id: &str,
) -> Result<Option<OverrideRecord>, DbErr> {
    Ok(Entity::find_by_id(detection_id)
        .one(db)
        .await?
        .map(to_record))
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
    let candidates = Entity::find()
        .filter(Column::OutputIds.contains(output_id))
        .all(db)
        .await?;
    let mut changed = 0;
    for m in candidates {
        let mut r = to_record(m);
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
