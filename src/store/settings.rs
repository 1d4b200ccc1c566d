//! Key/value settings (the generated JWT secret).
use super::entities::setting;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

pub async fn get<C: ConnectionTrait>(db: &C, key: &str) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(setting::Entity::find_by_id(key)
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Store `value` unless the key already exists; returns the stored value (first writer wins).
pub async fn get_or_insert<C: ConnectionTrait>(
    db: &C,
    key: &str,
    value: &str,
) -> Result<String, sea_orm::DbErr> {
    if let Some(v) = get(db, key).await? {
        return Ok(v);
    }
    let _ = setting::Entity::insert(setting::ActiveModel {
        key: Set(key.into()),
        value: Set(value.into()),
    })
    .exec(db)
    .await;
    Ok(get(db, key).await?.unwrap_or_else(|| value.to_string()))
}
