//! The audit log: who changed which configuration, when, and how (before/after).
//!
//! Changes made in a transaction record their entry in that same transaction, so a
//! failed change leaves no entry and a committed change always has one. Secrets are
//! redacted here, in the one place every entry passes through; token values are never
//! part of a snapshot.
use crate::auth::Principal;
use crate::destinations::{integration, secrets};
use crate::domain::time::{now_ms, to_rfc3339};
use crate::domain::{AuditAction, AuditTargetType};
use crate::error::{AppError, AppResult};
use crate::store::{
    self, audit::AuditFilter, audit::AuditRow, destinations::DestinationRecord,
    overrides::OverrideRecord, tokens::TokenRow,
};
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::{json, Value};

/// Record a change made by `who`.
pub async fn record<C: ConnectionTrait>(
    c: &C,
    who: &Principal,
    action: AuditAction,
    target_id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), DbErr> {
    record_as(c, who.id(), &who.name, action, target_id, before, after).await
}

/// Record a change made by someone who is not an API token (e.g. the command line).
pub async fn record_as<C: ConnectionTrait>(
    c: &C,
    actor_id: &str,
    actor_name: &str,
    action: AuditAction,
    target_id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), DbErr> {
    let target_type = action.target_type();
    let clean = |v: Option<Value>| v.map(|v| sanitized(target_type, v).to_string());
    store::audit::insert(
        c,
        AuditRow {
            seq: 0,
            id: uuid::Uuid::new_v4().to_string(),
            at: now_ms(),
            actor_id: actor_id.to_string(),
            actor_name: actor_name.to_string(),
            action,
            target_type,
            target_id: target_id.to_string(),
            before: clean(before),
            after: clean(after),
        },
    )
    .await
}

/// Secrets out of a snapshot: a destination's config is redacted by its type's secret
/// paths (an unknown type keeps no config at all); token snapshots lose any value.
fn sanitized(target_type: AuditTargetType, mut v: Value) -> Value {
    match target_type {
        AuditTargetType::Destination => {
            let kind = v
                .get("outputType")
                .and_then(Value::as_str)
                .and_then(integration);
            if let Some(o) = v.as_object_mut() {
                if let Some(config) = o.get_mut("outputConfig") {
                    *config = match kind {
                        Some(k) => secrets::redact(config, k.secret_paths()),
                        None => Value::String(secrets::MASK.into()),
                    };
                }
            }
        }
        AuditTargetType::ApiToken => {
            if let Some(o) = v.as_object_mut() {
                o.remove("value");
                o.remove("currentJti");
            }
        }
        AuditTargetType::User => {
            if let Some(o) = v.as_object_mut() {
                o.remove("passwordHash");
            }
        }
        AuditTargetType::DetectionOverride | AuditTargetType::Role => {}
    }
    v
}

/// A user as the audit log shows it: never a password hash.
pub fn user(r: &crate::store::users::UserRow) -> Value {
    json!({
        "id": r.id,
        "email": r.email,
        "givenName": r.given_name,
        "familyName": r.family_name,
        "roleId": r.role_id,
        "enabled": r.enabled,
        "status": r.status,
    })
}

/// A role as the audit log shows it.
pub fn role(r: &crate::store::users::RoleRow) -> Value {
    let perms: Vec<String> = store::from_json(&r.permissions);
    json!({"id": r.id, "name": r.name, "permissions": perms})
}

/// A destination as the audit log shows it (its config is redacted by [`record`]).
pub fn destination(r: &DestinationRecord) -> Value {
    let d = &r.destination;
    json!({
        "outputId": d.id,
        "displayName": d.display_name,
        "outputType": d.output_type,
        "outputConfig": d.config,
        "defaultForSeverity": d.default_for_severity,
        "alertTypes": d.alert_types,
        "logTypes": d.log_types,
        "maxRequestsPerSecond": r.limits.max_requests_per_second,
        "maxConcurrency": r.limits.max_concurrency,
    })
}

/// A detection override as the audit log shows it.
pub fn detection_override(r: &OverrideRecord) -> Value {
    let v = &r.value;
    json!({
        "detectionId": v.detection_id,
        "displayName": v.display_name,
        "outputIds": v.output_ids,
        "severity": v.severity,
        "dedupPeriodMinutes": v.dedup_period_minutes,
        "runbook": v.runbook,
        "tags": v.tags,
    })
}

/// An API token as the audit log shows it: never its value.
pub fn api_token(r: &TokenRow) -> Value {
    let perms: Vec<String> = store::from_json(&r.permissions);
    let cidrs: Vec<String> = store::from_json(&r.allowed_cidrs);
    json!({
        "id": r.id,
        "name": r.name,
        "permissions": perms,
        "allowedCIDRBlocks": cidrs,
        "expiresAt": r.expires_at.map(to_rfc3339),
        "createdBy": r.created_by,
        "rotatedAt": r.rotated_at.map(to_rfc3339),
        "revokedAt": r.revoked_at.map(to_rfc3339),
    })
}

/// One audit log entry, as read back.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub seq: i64,
    pub id: String,
    pub at: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub action: AuditAction,
    pub target_type: AuditTargetType,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn damaged(seq: i64, what: &str) -> AppError {
    AppError::Internal(anyhow::anyhow!("audit_log row seq {seq}: damaged {what}"))
}

fn parse_row(r: AuditRow) -> AppResult<AuditEntry> {
    let json = |s: Option<String>, what: &str| -> AppResult<Option<Value>> {
        s.map(|s| serde_json::from_str(&s).map_err(|_| damaged(r.seq, what)))
            .transpose()
    };
    Ok(AuditEntry {
        action: r.action,
        target_type: r.target_type,
        before: json(r.before, "before")?,
        after: json(r.after, "after")?,
        seq: r.seq,
        id: r.id,
        at: r.at,
        actor_id: r.actor_id,
        actor_name: r.actor_name,
        target_id: r.target_id,
    })
}

/// One page of entries, newest first, and whether older ones exist.
pub async fn page<C: ConnectionTrait>(
    c: &C,
    filter: &AuditFilter,
) -> AppResult<(Vec<AuditEntry>, bool)> {
    let (rows, more) = store::audit::list(c, filter).await?;
    let entries = rows.into_iter().map(parse_row).collect::<AppResult<_>>()?;
    Ok((entries, more))
}

/// Record a change that is already committed (it was not made in a transaction this
/// module could join). The change stands either way, so a failure to record is logged
/// as an error rather than reported to the caller as a failed change.
pub async fn record_committed<C: ConnectionTrait>(
    c: &C,
    who: &Principal,
    action: AuditAction,
    target_id: &str,
    before: Option<Value>,
    after: Option<Value>,
) {
    if let Err(e) = record(c, who, action, target_id, before, after).await {
        tracing::error!(error = %e, action = %action, target = %target_id, "could not record an audit log entry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_secrets_are_masked_and_unknown_types_keep_no_config() {
        let v = json!({"outputType": "customwebhook", "outputConfig": {
            "webhookURL": "https://h.example/secret-path",
            "headers": [{"key": "Authorization", "value": "Bearer s3cret"}],
            "signingSecret": "whsec_abc",
        }});
        let out = sanitized(AuditTargetType::Destination, v).to_string();
        for secret in ["secret-path", "s3cret", "whsec_abc"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("Authorization"), "{out}");
        let v = json!({"outputType": "nosuchtype", "outputConfig": {"token": "t0ken"}});
        let out = sanitized(AuditTargetType::Destination, v);
        assert_eq!(out["outputConfig"], secrets::MASK);
    }

    #[test]
    fn token_snapshots_never_carry_a_value() {
        let v = json!({"id": "t", "name": "n", "value": "eyJ...", "currentJti": "j"});
        let out = sanitized(AuditTargetType::ApiToken, v);
        assert_eq!(out, json!({"id": "t", "name": "n"}));
    }
}
