//! Secrets at rest across the whole database: the start-up pass that seals values
//! written in clear (databases from before encryption at rest) and checks the key
//! opens the rest, and key rotation. One transaction each.
use super::{destinations, settings};
use crate::crypto::Cipher;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};

/// What a pass over every secret does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Only check that every sealed value opens under the key; write nothing.
    Check,
    /// Check, and seal values stored in clear.
    SealPlaintext,
    /// Open every value (sealed under the old key, or in clear) and seal it under the
    /// new key.
    Rotate,
}

/// How many values a pass (re)wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub destination_secrets: usize,
    pub settings: usize,
}

/// Run `pass` over every destination secret and secret setting: values open with
/// `from` (a value that does not open is an error naming its destination or setting)
/// and are written sealed with `to`.
pub async fn reseal(
    db: &DatabaseConnection,
    from: &Cipher,
    to: &Cipher,
    pass: Pass,
) -> Result<Resealed, DbErr> {
    let txn = db.begin().await?;
    if pass != Pass::Check {
        super::lock(&txn, super::LOCK_CONFIG).await?;
    }
    let mut n = Resealed::default();
    for (id, output_type, text) in destinations::raw_configs(&txn).await? {
        let Ok(mut config) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let mut count = 0;
        let changed = destinations::map_secrets(&id, &output_type, &mut config, |v, ctx| {
            let plain = from
                .open(v, ctx)
                .map_err(|e| destinations::undecryptable(&id, ctx, e))?;
            if pass == Pass::Rotate || !Cipher::is_sealed(v) {
                count += 1;
                Ok(Some(to.encrypt(&plain, ctx)))
            } else {
                Ok(None)
            }
        })?;
        if changed && pass != Pass::Check {
            destinations::set_raw_config(&txn, &id, config.to_string()).await?;
            n.destination_secrets += count;
        }
    }
    if n.destination_secrets > 0 {
        // Routing holds no config, but every write to the table moves the version on.
        destinations::bump_config_version(&txn).await?;
    }
    for key in settings::SECRET_KEYS {
        let Some(stored) = settings::get(&txn, key).await? else {
            continue;
        };
        let plain = settings::get_secret(&txn, from, key)
            .await?
            .unwrap_or_default();
        if pass == Pass::Rotate || (pass == Pass::SealPlaintext && !Cipher::is_sealed(&stored)) {
            settings::set_raw(&txn, key, to.encrypt(&plain, &settings::context(key))).await?;
            n.settings += 1;
        }
    }
    txn.commit().await?;
    if n != Resealed::default() && db.get_database_backend() == DatabaseBackend::Sqlite {
        // Rewrite the file so the replaced values do not linger in free pages or the WAL.
        // The new values are committed already: a failure here only leaves old copies.
        for sql in ["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"] {
            if let Err(e) = db.execute_unprepared(sql).await {
                tracing::warn!(error = %e, "{sql} after re-encrypting secrets failed: replaced values may linger in the database file until the next VACUUM");
            }
        }
    }
    Ok(n)
}
