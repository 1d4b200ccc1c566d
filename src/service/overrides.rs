//! Detection overrides: per-detection routing, severity and dedup settings.
use super::{audit, Services};
use crate::auth::Principal;
use crate::domain::{time::now_ms, AuditAction, DetectionOverride, SKIP};
use crate::error::{bad_input, AppError, AppResult};
use crate::routing::resolve;
use crate::store::{self, overrides::OverrideRecord};
use sea_orm::TransactionTrait;

pub const MAX_DEDUP_PERIOD_MINUTES: i32 = 7 * 24 * 60;

/// Create or replace the override of a detection. Destination names are resolved to
/// ids; an unknown destination is rejected.
pub async fn put(
    s: &Services,
    mut value: DetectionOverride,
    who: &Principal,
) -> AppResult<OverrideRecord> {
    let (db, cipher) = (&s.db, &s.cipher);
    let by = who.name.as_str();
    value.detection_id = value.detection_id.trim().to_string();
    if value.detection_id.is_empty() {
        return Err(bad_input("detectionId must not be empty"));
    }
    if let Some(p) = value.dedup_period_minutes {
        if !(1..=MAX_DEDUP_PERIOD_MINUTES).contains(&p) {
            return Err(bad_input(format!(
                "dedupPeriodMinutes must be between 1 and {MAX_DEDUP_PERIOD_MINUTES}"
            )));
        }
    }
    let txn = db.begin().await?;
    store::lock(&txn, store::LOCK_CONFIG).await?;
    if let Some(names) = value.output_ids.take() {
        let resolved = if names.iter().any(|n| n == SKIP) {
            if names.len() > 1 {
                return Err(bad_input(
                    "outputIds: \"SKIP\" cannot be combined with destinations",
                ));
            }
            vec![SKIP.to_string()]
        } else {
            let all: Vec<_> = store::destinations::list(&txn, cipher)
                .await?
                .into_iter()
                .map(|r| r.destination)
                .collect();
            let mut ids: Vec<String> = Vec::new();
            for n in &names {
                let d = resolve(n, &all)
                    .ok_or_else(|| bad_input(format!("outputIds: unknown destination {n:?}")))?;
                if !ids.iter().any(|i| d.id == *i) {
                    ids.push(d.id.to_string());
                }
            }
            ids
        };
        value.output_ids = Some(resolved);
    }
    let now = now_ms();
    let existing = store::overrides::get(&txn, &value.detection_id).await?;
    let record = OverrideRecord {
        created_by: existing
            .as_ref()
            .map(|e| e.created_by.clone())
            .unwrap_or_else(|| by.to_string()),
        created_at: existing.as_ref().map(|e| e.created_at).unwrap_or(now),
        last_modified_by: by.to_string(),
        last_modified_at: now,
        value,
    };
    store::overrides::upsert(&txn, &record).await?;
    // Alerts from this detection have it as their origin again, not a deleted one.
    store::deleted_detections::forget(&txn, &record.value.detection_id).await?;
    let action = match existing {
        Some(_) => AuditAction::UpdateDetectionOverride,
        None => AuditAction::CreateDetectionOverride,
    };
    let before = existing.as_ref().map(audit::detection_override);
    let after = Some(audit::detection_override(&record));
    audit::record(&txn, who, action, &record.value.detection_id, before, after).await?;
    store::destinations::bump_config_version(&txn).await?;
    txn.commit().await?;
    s.routing.invalidate();
    Ok(record)
}

pub async fn delete(s: &Services, detection_id: &str, who: &Principal) -> AppResult<()> {
    let db = &s.db;
    // Stored trimmed by `put`.
    let detection_id = detection_id.trim();
    let txn = db.begin().await?;
    // A writer from the start (on SQLite a read-then-write transaction fails busy when
    // another process wrote in between), serialized with `put`.
    store::lock(&txn, store::LOCK_CONFIG).await?;
    let before = store::overrides::get(&txn, detection_id).await?;
    if !store::overrides::delete(&txn, detection_id).await? {
        return Err(AppError::NotFound(format!(
            "no detection override for {detection_id}"
        )));
    }
    // Alerts from this detection now have a DeletedDetection origin.
    store::deleted_detections::record(&txn, detection_id, now_ms()).await?;
    let before = before.as_ref().map(audit::detection_override);
    let action = AuditAction::DeleteDetectionOverride;
    audit::record(&txn, who, action, detection_id, before, None).await?;
    store::destinations::bump_config_version(&txn).await?;
    txn.commit().await?;
    s.routing.invalidate();
    Ok(())
}
