//! Destinations table.
use super::entities::destination::{self, Column, Entity};
use super::{from_json, to_json};
use crate::domain::{AlertType, Destination, Severity};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

/// Per-destination send limits (`None` = the type's default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    pub max_requests_per_second: Option<f64>,
    pub max_concurrency: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct DestinationRecord {
    pub destination: Destination,
    pub limits: RateLimits,
    pub created_by: String,
    pub created_at: i64,
    pub last_modified_by: String,
    pub last_modified_at: i64,
}

fn to_record(m: destination::Model) -> DestinationRecord {
    let severities: Vec<String> = from_json(&m.default_for_severity);
    let alert_types: Option<Vec<String>> = m.alert_types.as_deref().map(from_json);
    DestinationRecord {
        destination: Destination {
            id: m.id,
            display_name: m.display_name,
            output_type: m.output_type,
            config: serde_json::from_str(&m.config).unwrap_or_default(),
            default_for_severity: severities
                .iter()
                .filter_map(|s| Severity::parse(s))
                .collect(),
            alert_types: alert_types
                .map(|t| t.iter().filter_map(|s| AlertType::parse(s)).collect()),
            log_types: from_json(&m.log_types),
        },
        limits: RateLimits {
            max_requests_per_second: m.max_requests_per_second,
            max_concurrency: m.max_concurrency,
        },
        created_by: m.created_by,
        created_at: m.created_at,
        last_modified_by: m.last_modified_by,
        last_modified_at: m.last_modified_at,
    }
}

fn to_active(r: &DestinationRecord) -> destination::ActiveModel {
    let d = &r.destination;
    destination::ActiveModel {
        id: Set(d.id.clone()),
        display_name: Set(d.display_name.clone()),
        display_name_key: Set(name_key(&d.display_name)),
        output_type: Set(d.output_type.clone()),
        config: Set(d.config.to_string()),
        default_for_severity: Set(to_json(
            &d.default_for_severity
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        )),
        alert_types: Set(d
            .alert_types
            .as_ref()
            .map(|t| to_json(&t.iter().map(|s| s.as_str()).collect::<Vec<_>>()))),
        log_types: Set(to_json(&d.log_types)),
        max_requests_per_second: Set(r.limits.max_requests_per_second),
        max_concurrency: Set(r.limits.max_concurrency),
        created_by: Set(r.created_by.clone()),
        created_at: Set(r.created_at),
        last_modified_by: Set(r.last_modified_by.clone()),
        last_modified_at: Set(r.last_modified_at),
    }
}

pub use crate::domain::name_key;

pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<DestinationRecord>, DbErr> {
    Ok(Entity::find()
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_record)
        .collect())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<DestinationRecord>, DbErr> {
    Ok(Entity::find_by_id(id).one(db).await?.map(to_record))
}

pub async fn get_many<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<DestinationRecord>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(to_record)
        .collect())
}

/// The destination holding a display name (case-insensitive), if any.
pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<DestinationRecord>, DbErr> {
    Ok(Entity::find()
        .filter(Column::DisplayNameKey.eq(name_key(name)))
        .one(db)
        .await?
        .map(to_record))
}

pub async fn insert<C: ConnectionTrait>(db: &C, r: &DestinationRecord) -> Result<(), DbErr> {
    Entity::insert(to_active(r)).exec(db).await?;
    Ok(())
}

pub async fn update<C: ConnectionTrait>(db: &C, r: &DestinationRecord) -> Result<(), DbErr> {
    Entity::update(to_active(r)).exec(db).await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, DbErr> {
    Ok(Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}
