//! Key/value settings (the generated JWT secret).
use super::entities::setting;
use crate::crypto::Cipher;
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

/// Settings that hold secrets: sealed at rest like destination secrets.
pub const SECRET_KEYS: &[&str] = &[JWT_SECRET];
/// The generated HS256 signing secret of API tokens.
pub const JWT_SECRET: &str = "jwt_secret";

/// What a sealed setting is bound to.
pub(crate) fn context(key: &str) -> String {
    format!("settings/{key}")
}

fn open(cipher: &Cipher, key: &str, stored: &str) -> Result<String, sea_orm::DbErr> {
    cipher.open(stored, &context(key)).map_err(|e| {
        sea_orm::DbErr::Custom(format!(
            "setting {key}: the stored secret cannot be decrypted: {e} \
             (is HERALD_ENCRYPTION_KEY / the key file the one it was encrypted with?)"
        ))
    })
}

/// A secret setting, opened.
pub async fn get_secret<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    key: &str,
) -> Result<Option<String>, sea_orm::DbErr> {
    get(db, key)
        .await?
        .map(|v| open(cipher, key, &v))
        .transpose()
}

/// Store `value` sealed unless the key already exists; returns the stored value, opened
/// (first writer wins).
pub async fn get_or_insert_secret<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    key: &str,
    value: &str,
) -> Result<String, sea_orm::DbErr> {
    let stored = get_or_insert(db, key, &cipher.encrypt(value, &context(key))).await?;
    open(cipher, key, &stored)
}

/// Overwrite a setting's stored text.
pub(crate) async fn set_raw<C: ConnectionTrait>(
    db: &C,
    key: &str,
    value: String,
) -> Result<(), sea_orm::DbErr> {
    setting::Entity::update(setting::ActiveModel {
        key: Set(key.into()),
        value: Set(value),
    })
    .exec(db)
    .await?;
    Ok(())
}
