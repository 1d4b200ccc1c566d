//! People: console users, roles, sessions, one-time set-password links, pending SSO
//! sign-ins, and who (a user or an API token) last changed alerts, comments, tokens and
//! roles. The built-in roles are created here, and tokens that held every permission
//! get the new ones (`UserRead`, `UserModify`, `GeneralSettingsRead`,
//! `GeneralSettingsModify`, `SummaryRead`), as `m20261126_000010_audit_log_read` did.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every permission before this migration, as stored (JSON string names).
const EVERY_EARLIER: [&str; 10] = [
    "AlertRead",
    "AlertModify",
    "DestinationRead",
    "DestinationModify",
    "RuleRead",
    "RuleModify",
    "OrganizationAPITokenRead",
    "OrganizationAPITokenModify",
    "DeliveryPoll",
    "AuditLogRead",
];
const NEW: [&str; 5] = [
    "UserRead",
    "UserModify",
    "GeneralSettingsRead",
    "GeneralSettingsModify",
    "SummaryRead",
];

/// The built-in roles: (id, name, permissions). `Admin` holds every permission;
/// `Analyst` works alerts and reads the rest of the configuration; `AnalystReadOnly`
/// only reads.
pub const BUILT_IN_ROLES: [(&str, &str, &str); 3] = [
    (
        "role-admin",
        "Admin",
        r#"["AlertRead","AlertModify","DestinationRead","DestinationModify","RuleRead","RuleModify","OrganizationAPITokenRead","OrganizationAPITokenModify","DeliveryPoll","AuditLogRead","UserRead","UserModify","GeneralSettingsRead","GeneralSettingsModify","SummaryRead"]"#,
    ),
    (
        "role-analyst",
        "Analyst",
        r#"["AlertRead","AlertModify","DestinationRead","RuleRead","RuleModify","UserRead","GeneralSettingsRead","SummaryRead"]"#,
    ),
    (
        "role-analyst-read-only",
        "AnalystReadOnly",
        r#"["AlertRead","DestinationRead","RuleRead","UserRead","GeneralSettingsRead","SummaryRead"]"#,
    ),
];

/// The stored list (a JSON array of plain names) with the new permissions it lacks
/// added, when it holds every earlier permission; `GeneralSettingsRead` added when it
/// holds `DestinationRead` (which guarded `generalSettings` before).
pub fn widened(permissions: &str) -> Option<String> {
    let quoted = |p: &str| format!("\"{p}\"");
    let holds_all = EVERY_EARLIER
        .iter()
        .all(|p| permissions.contains(&quoted(p)));
    // `generalSettings` needed DestinationRead before GeneralSettingsRead existed: who
    // could read it keeps reading it.
    let gained: &[&str] = if holds_all {
        &NEW
    } else if permissions.contains(&quoted("DestinationRead")) {
        &["GeneralSettingsRead"]
    } else {
        &[]
    };
    let missing: Vec<String> = gained
        .iter()
        .filter(|p| !permissions.contains(&quoted(p)))
        .map(|p| quoted(p))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let body = permissions.trim().strip_suffix(']')?;
    Some(format!("{body},{}]", missing.join(",")))
}

fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}
fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}
fn ms(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}
fn ms_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .null()
        .to_owned()
}
fn pk(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string_len(64)
        .not_null()
        .primary_key()
        .to_owned()
}
fn table(name: &'static str, cols: Vec<ColumnDef>) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(Alias::new(name)).if_not_exists();
    for mut c in cols {
        t.col(&mut c);
    }
    t.to_owned()
}
fn index(
    name: &'static str,
    on: &'static str,
    col: &'static str,
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name)
        .table(Alias::new(on))
        .col(Alias::new(col))
        .if_not_exists();
    if unique {
        i.unique();
    }
    i.to_owned()
}
fn add_text_null(table: &'static str, col: &'static str) -> TableAlterStatement {
    Table::alter()
        .table(Alias::new(table))
        .add_column(text_null(col))
        .to_owned()
}

/// Columns naming who last changed a row (`user:<id>` or `token:<id>`).
const ACTOR_COLUMNS: [(&str, &str); 4] = [
    ("alerts", "updated_by_actor"),
    ("alert_comments", "created_by_actor"),
    ("api_tokens", "created_by_actor"),
    ("api_tokens", "rotated_by_actor"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "roles",
            vec![
                pk("id"),
                text("name"),
                // Lower-cased name: unique, so names are unique case-insensitively.
                text("name_key"),
                text("permissions"),
                ms("created_at"),
                ms("updated_at"),
                text_null("updated_by_actor"),
            ],
        ))
        .await?;
        m.create_index(index("roles_name_key", "roles", "name_key", true))
            .await?;
        m.create_table(table(
            "users",
            vec![
                pk("id"),
                text("email"),
                // Lower-cased e-mail: unique.
                text("email_key"),
                text_null("given_name"),
                text_null("family_name"),
                text("role_id"),
                ColumnDef::new(Alias::new("enabled"))
                    .boolean()
                    .not_null()
                    .default(true)
                    .to_owned(),
                text("status"),
                // argon2id PHC string; null until a password is set (SSO-only users).
                text_null("password_hash"),
                ms("created_at"),
                ms("updated_at"),
                ms_null("last_logged_in_at"),
            ],
        ))
        .await?;
        m.create_index(index("users_email_key", "users", "email_key", true))
            .await?;
        m.create_index(index("users_role_id", "users", "role_id", false))
            .await?;
        // Console sessions: the SHA-256 of the cookie's value, never the value.
        m.create_table(table(
            "sessions",
            vec![
                pk("id_hash"),
                text("user_id"),
                ms("created_at"),
                ms("last_seen_at"),
                ms("expires_at"),
                ms_null("revoked_at"),
            ],
        ))
        .await?;
        m.create_index(index("sessions_user_id", "sessions", "user_id", false))
            .await?;
        // One-time set-password links: the SHA-256 of the link's token.
        m.create_table(table(
            "password_links",
            vec![
                pk("token_hash"),
                text("user_id"),
                ms("created_at"),
                ms("expires_at"),
                ms_null("used_at"),
            ],
        ))
        .await?;
        // SSO sign-ins under way: the SHA-256 of `state`, with the nonce and the PKCE
        // verifier the callback needs. Taken (deleted) by the callback.
        m.create_table(table(
            "oidc_logins",
            vec![
                pk("state_hash"),
                text("nonce"),
                text("pkce_verifier"),
                ms("created_at"),
                ms("expires_at"),
            ],
        ))
        .await?;
        for (t, c) in ACTOR_COLUMNS {
            m.alter_table(add_text_null(t, c)).await?;
        }
        m.create_index(index("alerts_assignee_id", "alerts", "assignee_id", false))
            .await?;

        let db = m.get_connection();
        let backend = db.get_database_backend();
        for (id, name, permissions) in BUILT_IN_ROLES {
            let insert = Query::insert()
                .into_table(Alias::new("roles"))
                .columns([
                    Alias::new("id"),
                    Alias::new("name"),
                    Alias::new("name_key"),
                    Alias::new("permissions"),
                    Alias::new("created_at"),
                    Alias::new("updated_at"),
                ])
                .values_panic([
                    id.into(),
                    name.into(),
                    name.to_lowercase().into(),
                    permissions.into(),
                    0i64.into(),
                    0i64.into(),
                ])
                .to_owned();
            m.exec_stmt(insert).await?;
        }
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

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("alerts_assignee_id")
                .table(Alias::new("alerts"))
                .to_owned(),
        )
        .await?;
        for (t, c) in ACTOR_COLUMNS.iter().rev() {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(*t))
                    .drop_column(Alias::new(*c))
                    .to_owned(),
            )
            .await?;
        }
        for t in [
            "oidc_logins",
            "password_links",
            "sessions",
            "users",
            "roles",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{widened, BUILT_IN_ROLES};

    #[test]
    fn only_every_permission_tokens_are_widened() {
        let all = r#"["AlertRead","AlertModify","DestinationRead","DestinationModify","RuleRead","RuleModify","OrganizationAPITokenRead","OrganizationAPITokenModify","DeliveryPoll","AuditLogRead"]"#;
        assert_eq!(widened(all).unwrap(), BUILT_IN_ROLES[0].2);
        assert_eq!(widened(&widened(all).unwrap()), None);
        assert_eq!(widened(r#"["AlertRead","AlertModify"]"#), None);
        assert_eq!(widened("[]"), None);
        assert_eq!(
            widened(r#"["DestinationRead"]"#).unwrap(),
            r#"["DestinationRead","GeneralSettingsRead"]"#
        );
    }
}
