//! Adding, updating and deleting destinations.
use super::{audit, Services};
use crate::auth::Principal;
use crate::destinations::{integration, secrets, DynIntegration};
use crate::domain::{time::now_ms, AlertType, AuditAction, Destination, DestinationId, Severity};
use crate::error::{bad_input, AppError, AppResult};
use crate::store::{self, destinations::DestinationRecord};
use sea_orm::TransactionTrait;

/// A destination as submitted (`DestinationInput`), secrets possibly left empty.
#[derive(Debug, Clone)]
pub struct DestinationDraft {
    pub output_id: Option<String>,
    pub display_name: String,
    pub output_type: String,
    pub config: serde_json::Value,
    pub default_for_severity: Vec<Severity>,
    pub alert_types: Option<Vec<AlertType>>,
    pub log_types: Option<Vec<String>>,
    pub limits: store::destinations::RateLimits,
}

fn dedup<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

/// A submitted config as it would be stored: secrets left empty (or sent back masked)
/// keep `old`'s values when it is of the same type — unless a field deciding where the
/// destination sends changed, which requires every stored secret to be entered again
/// (a stored secret never follows a destination to a new host); then the type
/// validates it. Returns the type's integration with the config.
pub fn prepared_config(
    output_type: &str,
    mut config: serde_json::Value,
    old: Option<&Destination>,
) -> AppResult<(&'static dyn DynIntegration, serde_json::Value)> {
    let kind = integration(output_type)
        .ok_or_else(|| bad_input(format!("unsupported destination type {output_type}")))?;
    if let Some(old) = old.filter(|o| o.output_type == output_type) {
        let carried = secrets::keep_unchanged(&mut config, &old.config, kind.secret_paths());
        let moved = changed_targets(&config, &old.config, kind.target_paths());
        if !moved.is_empty() && !carried.is_empty() {
            return Err(bad_input(format!(
                "changing {} requires re-entering the secrets: {}",
                moved.join(", "),
                carried.join(", ")
            )));
        }
    }
    kind.validate(&config).map_err(bad_input)?;
    Ok((kind, config))
}

/// The target fields (plain top-level fields) whose values differ between two configs,
/// compared as trimmed text; a missing or null field counts as empty.
fn changed_targets(
    new: &serde_json::Value,
    old: &serde_json::Value,
    paths: &[&str],
) -> Vec<String> {
    fn text(config: &serde_json::Value, field: &str) -> String {
        match config.get(field) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(v) => v.to_string(),
        }
    }
    paths
        .iter()
        .filter(|p| text(new, p) != text(old, p))
        .map(|p| p.to_string())
        .collect()
}

/// Create (no `output_id`) or update a destination; nothing is written on error.
pub async fn save(
    s: &Services,
    draft: DestinationDraft,
    who: &Principal,
) -> AppResult<DestinationRecord> {
    let (db, cipher) = (&s.db, &s.cipher);
    let policy = s.dispatcher.outbound().policy();
    let by = who.name.as_str();
    let name = draft.display_name.trim().to_string();
    if name.is_empty() {
        return Err(bad_input("displayName must not be empty"));
    }
    if name.eq_ignore_ascii_case(crate::domain::SKIP) {
        return Err(bad_input(
            "\"SKIP\" is reserved: in destination lists it means \"send nowhere\"",
        ));
    }
    if name.len() > 200 {
        return Err(bad_input("displayName must be at most 200 characters"));
    }
    let log_types: Vec<String> = dedup(
        &draft
            .log_types
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>(),
    );
    if log_types.iter().any(String::is_empty) {
        return Err(bad_input("logTypes must not contain empty names"));
    }
    if draft
        .limits
        .max_requests_per_second
        .is_some_and(|r| !(r > 0.0 && r <= 10_000.0))
    {
        return Err(bad_input(
            "maxRequestsPerSecond must be greater than 0 and at most 10000",
        ));
    }
    if draft
        .limits
        .max_concurrency
        .is_some_and(|c| !(1..=1000).contains(&c))
    {
        return Err(bad_input("maxConcurrency must be between 1 and 1000"));
    }
    let txn = db.begin().await?;
    store::lock(&txn, store::LOCK_CONFIG).await?;
    let now = now_ms();
    let existing = match &draft.output_id {
        Some(id) => Some(
            store::destinations::get(&txn, cipher, &DestinationId::from(id))
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no destination with outputId {id}")))?,
        ),
        None => None,
    };
    let (kind, config) = prepared_config(
        &draft.output_type,
        draft.config,
        existing.as_ref().map(|e| &e.destination),
    )?;
    crate::destinations::check_targets(kind, &config, policy).map_err(bad_input)?;
    if let Some(holder) = store::destinations::find_by_name(&txn, cipher, &name).await? {
        if existing
            .as_ref()
            .is_none_or(|e| e.destination.id != holder.destination.id)
        {
            return Err(AppError::Conflict(format!(
                "a destination named {:?} already exists",
                holder.destination.display_name
            )));
        }
    }
    let destination = Destination {
        id: existing
            .as_ref()
            .map(|e| e.destination.id.clone())
            .unwrap_or_else(DestinationId::new_ordered),
        display_name: name,
        output_type: draft.output_type,
        config,
        default_for_severity: dedup(&draft.default_for_severity),
        alert_types: draft.alert_types.map(|t| dedup(&t)),
        log_types,
    };
    let record = DestinationRecord {
        destination,
        limits: draft.limits,
        created_by: existing
            .as_ref()
            .map(|e| e.created_by.clone())
            .unwrap_or_else(|| by.to_string()),
        created_at: existing.as_ref().map(|e| e.created_at).unwrap_or(now),
        last_modified_by: by.to_string(),
        last_modified_at: now,
    };
    if existing.is_some() {
        store::destinations::update(&txn, cipher, &record).await?;
    } else {
        store::destinations::insert(&txn, cipher, &record).await?;
    }
    let action = match existing {
        Some(_) => AuditAction::UpdateDestination,
        None => AuditAction::CreateDestination,
    };
    let before = existing.as_ref().map(audit::destination);
    let after = Some(audit::destination(&record));
    audit::record(&txn, who, action, &record.destination.id, before, after).await?;
    store::destinations::bump_config_version(&txn).await?;
    txn.commit().await?;
    s.routing.invalidate();
    Ok(record)
}

/// Delete a destination and remove it from every detection override naming it.
pub async fn delete(s: &Services, id: &DestinationId, who: &Principal) -> AppResult<()> {
    let (db, cipher) = (&s.db, &s.cipher);
    let by = who.name.as_str();
    let txn = db.begin().await?;
    store::lock(&txn, store::LOCK_CONFIG).await?;
    let before = store::destinations::get(&txn, cipher, id).await?;
    if !store::destinations::delete(&txn, id).await? {
        return Err(AppError::NotFound(format!(
            "no destination with outputId {id}"
        )));
    }
    store::overrides::remove_destination(&txn, id, by, now_ms()).await?;
    let before = before.as_ref().map(audit::destination);
    audit::record(&txn, who, AuditAction::DeleteDestination, id, before, None).await?;
    store::destinations::bump_config_version(&txn).await?;
    txn.commit().await?;
    s.routing.invalidate();
    Ok(())
}

/// The stored record with secrets redacted, for reads.
pub fn redacted(mut r: DestinationRecord) -> DestinationRecord {
    if let Some(kind) = integration(&r.destination.output_type) {
        r.destination.config = secrets::redact(&r.destination.config, kind.secret_paths());
    }
    r
}

/// The destination an API argument names: an `outputId` or a display name (matched as
/// routing matches names). An unknown one is `NOT_FOUND`, naming it.
pub async fn named(s: &Services, id_or_name: &str) -> AppResult<DestinationRecord> {
    store::destinations::get_by_id_or_name(&s.db, &s.cipher, id_or_name)
        .await?
        .ok_or_else(|| unknown(id_or_name))
}

/// The error for a destination reference that matches nothing.
pub fn unknown(id_or_name: &str) -> AppError {
    AppError::NotFound(format!(
        "no destination with outputId or displayName {id_or_name:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(output_type: &str, config: serde_json::Value) -> Destination {
        Destination {
            id: "d1".into(),
            display_name: "D".into(),
            output_type: output_type.into(),
            config,
            default_for_severity: vec![],
            alert_types: None,
            log_types: vec![],
        }
    }

    fn err(r: AppResult<(&'static dyn DynIntegration, serde_json::Value)>) -> String {
        match r {
            Err(AppError::BadInput(m)) => m,
            Err(e) => panic!("expected BAD_USER_INPUT, got {e:?}"),
            Ok((_, c)) => panic!("expected an error, got {c}"),
        }
    }

    #[test]
    fn a_changed_target_needs_the_secrets_again() {
        let old = stored(
            "pagerduty",
            json!({"integrationKey": "0123456789abcdef0123456789abcdef", "apiUrl": "https://events.pagerduty.com"}),
        );
        for key in ["", secrets::MASK] {
            let m = err(prepared_config(
                "pagerduty",
                json!({"integrationKey": key, "apiUrl": "https://evil.example"}),
                Some(&old),
            ));
            assert_eq!(
                m,
                "changing apiUrl requires re-entering the secrets: integrationKey"
            );
        }
        let (_, c) = prepared_config(
            "pagerduty",
            json!({"integrationKey": "fedcba9876543210fedcba9876543210", "apiUrl": "https://evil.example"}),
            Some(&old),
        )
        .unwrap();
        assert_eq!(c["integrationKey"], "fedcba9876543210fedcba9876543210");
        // Same target (whitespace aside): the stored secret is kept.
        let (_, c) = prepared_config(
            "pagerduty",
            json!({"integrationKey": "", "apiUrl": " https://events.pagerduty.com "}),
            Some(&old),
        )
        .unwrap();
        assert_eq!(c["integrationKey"], "0123456789abcdef0123456789abcdef");
        // A new destination type starts from scratch: nothing is carried.
        assert!(prepared_config(
            "pagerduty",
            json!({"integrationKey": "", "apiUrl": "https://x.example"}),
            Some(&stored(
                "slack",
                json!({"webhookURL": "https://hooks.slack.com/x"})
            )),
        )
        .is_err());
    }

    #[test]
    fn a_missing_optional_target_counts_as_empty() {
        let old = stored(
            "pagerduty",
            json!({"integrationKey": "0123456789abcdef0123456789abcdef"}),
        );
        let (_, c) = prepared_config(
            "pagerduty",
            json!({"integrationKey": "", "apiUrl": null}),
            Some(&old),
        )
        .unwrap();
        assert_eq!(c["integrationKey"], "0123456789abcdef0123456789abcdef");
        let m = err(prepared_config(
            "pagerduty",
            json!({"integrationKey": "", "apiUrl": "https://evil.example"}),
            Some(&old),
        ));
        assert!(m.contains("integrationKey"), "{m}");
    }

    #[test]
    fn a_new_webhook_url_is_itself_re_entered_but_other_secrets_are_not() {
        let old = stored(
            "customwebhook",
            json!({"webhookURL": "https://a.example/hook",
                   "headers": [{"key": "X-Token", "value": "t-secret"}, {"key": "X-Empty", "value": ""}],
                   "signingSecret": "whsec_c2VjcmV0LXNpZ25pbmcta2V5LW9mLTMyLWJ5dGVzISE="}),
        );
        let m = err(prepared_config(
            "customwebhook",
            json!({"webhookURL": "https://b.example/hook",
                   "headers": [{"key": "X-Token", "value": secrets::MASK}, {"key": "X-Empty", "value": ""}],
                   "signingSecret": ""}),
            Some(&old),
        ));
        assert_eq!(
            m,
            "changing webhookURL requires re-entering the secrets: headers[X-Token].value, signingSecret"
        );
        let (_, c) = prepared_config(
            "customwebhook",
            json!({"webhookURL": "https://b.example/hook",
                   "headers": [{"key": "X-Token", "value": "t-new"}, {"key": "X-Empty", "value": ""}],
                   "signingSecret": "whsec_bmV3LXNpZ25pbmcta2V5LXZhbHVlLTMyLWJ5dGVzISE="}),
            Some(&old),
        )
        .unwrap();
        assert_eq!(c["headers"][0]["value"], "t-new");
        // The URL sent back masked is the stored URL: nothing moved, everything kept.
        let (_, c) = prepared_config(
            "customwebhook",
            json!({"webhookURL": secrets::MASK, "headers": [{"key": "X-Token", "value": ""}], "signingSecret": secrets::MASK}),
            Some(&old),
        )
        .unwrap();
        assert_eq!(c["webhookURL"], "https://a.example/hook");
        assert_eq!(c["headers"][0]["value"], "t-secret");
    }
}
