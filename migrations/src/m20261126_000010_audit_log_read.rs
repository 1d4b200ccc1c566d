//! `DeliveryPoll` and `AuditLogRead` are new permissions: a token that held every
//! permission before they existed (an administrator's) is given them too, so it can
//! still do everything and grant them. Tokens with fewer permissions are left as they are.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every permission before the new ones, as stored (JSON string names).
const EVERY_EARLIER: [&str; 8] = [
    "AlertRead",
    "AlertModify",
    "DestinationRead",
    "DestinationModify",
    "RuleRead",
    "RuleModify",
    "OrganizationAPITokenRead",
    "OrganizationAPITokenModify",
];
const NEW: [&str; 2] = ["DeliveryPoll", "AuditLogRead"];

/// The stored list (a JSON array of plain names) with the new permissions it lacks
/// added, when it holds every earlier permission.
pub fn widened(permissions: &str) -> Option<String> {
    let quoted = |p: &str| format!("\"{p}\"");
    let holds_all = EVERY_EARLIER
        .iter()
        .all(|p| permissions.contains(&quoted(p)));
    let missing: Vec<String> = NEW
        .iter()
        .filter(|p| !permissions.contains(&quoted(p)))
        .map(|p| quoted(p))
        .collect();
    if !holds_all || missing.is_empty() {
        return None;
    }
    let body = permissions.trim().strip_suffix(']')?;
    Some(format!("{body},{}]", missing.join(",")))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let select = Query::select()
            .columns([Alias::new("id"), Alias::new("permissions")])
            .from(Alias::new("api_tokens"))
            .to_owned();
        for row in db.query_all(backend.build(&select)).await? {
            let id: String = row.try_get("", "id")?;
            let permissions: String = row.try_get("", "permissions")?;
            if let Some(new) = widened(&permissions) {
                let update = Query::update()
                    .table(Alias::new("api_tokens"))
                    .value(Alias::new("permissions"), new)
                    .and_where(Expr::col(Alias::new("id")).eq(id))
                    .to_owned();
                m.exec_stmt(update).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // Unknown permission names are dropped when read, never widened: nothing to undo.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::widened;

    #[test]
    fn only_every_permission_tokens_are_widened() {
        let all = r#"["AlertRead","AlertModify","DestinationRead","DestinationModify","RuleRead","RuleModify","OrganizationAPITokenRead","OrganizationAPITokenModify"]"#;
        assert_eq!(
            widened(all).unwrap(),
            all.replace("Modify\"]", "Modify\",\"DeliveryPoll\",\"AuditLogRead\"]")
        );
        assert_eq!(widened(&widened(all).unwrap()), None);
        assert_eq!(widened(r#"["AlertRead","AlertModify"]"#), None);
        assert_eq!(widened("[]"), None);
    }
}
