use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

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
fn int(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .integer()
        .not_null()
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
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(on)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table("settings", vec![pk("key"), text("value")]))
            .await?;
        // Rows whose lock serializes a kind of write (see store::lock).
        m.create_table(table(
            "locks",
            vec![
                pk("name"),
                ColumnDef::new(Alias::new("n"))
                    .big_integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
            ],
        ))
        .await?;
        m.create_table(table(
            "api_tokens",
            vec![
                pk("id"),
                text("name"),
                text("current_jti"),
                text("permissions"),
                text("allowed_cidrs"),
                ms("created_at"),
                text("created_by"),
                ms_null("expires_at"),
                ms_null("last_used_at"),
                ms_null("rotated_at"),
                ms_null("revoked_at"),
            ],
        ))
        .await?;
        m.create_table(table(
            "destinations",
            vec![
                pk("id"),
                text("display_name"),
                text("display_name_key"),
                text("output_type"),
                text("config"),
                text("default_for_severity"),
                text_null("alert_types"),
                text("log_types"),
                ColumnDef::new(Alias::new("max_requests_per_second"))
                    .double()
                    .null()
                    .to_owned(),
                ColumnDef::new(Alias::new("max_concurrency"))
                    .integer()
                    .null()
                    .to_owned(),
                text("created_by"),
                ms("created_at"),
                text("last_modified_by"),
                ms("last_modified_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "destinations_name_key",
            "destinations",
            &["display_name_key"],
            true,
        ))
        .await?;
        m.create_table(table(
            "detection_overrides",
            vec![
                pk("detection_id"),
                text_null("display_name"),
                text_null("output_ids"),
                text_null("severity"),
                ColumnDef::new(Alias::new("dedup_period_minutes"))
                    .integer()
                    .null()
                    .to_owned(),
                text_null("runbook"),
                text_null("tags"),
                text("created_by"),
                ms("created_at"),
                text("last_modified_by"),
                ms("last_modified_at"),
            ],
        ))
        .await?;
        m.create_table(table(
            "alerts",
            vec![
                ColumnDef::new(Alias::new("seq"))
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key()
                    .to_owned(),
                ColumnDef::new(Alias::new("id"))
                    .string_len(64)
                    .not_null()
                    .to_owned(),
                text("detection_id"),
                text("title"),
                text("severity"),
                text("status"),
                text("alert_type"),
                text_null("log_type"),
                text("dedup_string"),
                text("description"),
                text("runbook"),
                text("reference"),
                text("tags"),
                text("alert_context"),
                ms("created_at"),
                ms("updated_at"),
                ms("first_event_at"),
                ms("last_received_event_at"),
                ColumnDef::new(Alias::new("event_count"))
                    .big_integer()
                    .not_null()
                    .to_owned(),
                text_null("assignee_id"),
                text("name"),
                text("routing"),
                ColumnDef::new(Alias::new("routed"))
                    .boolean()
                    .not_null()
                    .to_owned(),
                text("created_by"),
                text("last_modified_by"),
            ],
        ))
        .await?;
        m.create_index(index("alerts_id", "alerts", &["id"], true))
            .await?;
        m.create_index(index(
            "alerts_dedup",
            "alerts",
            &["detection_id", "dedup_string", "status"],
            false,
        ))
        .await?;
        m.create_index(index("alerts_created_at", "alerts", &["created_at"], false))
            .await?;
        m.create_table(table(
            "alert_comments",
            vec![
                pk("id"),
                text("alert_id"),
                text("body"),
                text("created_by"),
                ms("created_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "alert_comments_alert",
            "alert_comments",
            &["alert_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "deliveries",
            vec![
                pk("id"),
                text_null("alert_id"),
                text("output_id"),
                text("label"),
                text("kind"),
                text("status"),
                // Pull deliveries (polling destinations) wait for pickup instead of being sent.
                ColumnDef::new(Alias::new("pull"))
                    .boolean()
                    .not_null()
                    .default(false)
                    .to_owned(),
                int("attempt_count"),
                // attempt_count when last (re-)queued: the retry budget counts from here.
                ColumnDef::new(Alias::new("attempts_base"))
                    .integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
                ms("next_attempt_at"),
                ms_null("lease_until"),
                text_null("claimed_by"),
                ColumnDef::new(Alias::new("last_status_code"))
                    .integer()
                    .null()
                    .to_owned(),
                text_null("last_message"),
                ms_null("last_dispatched_at"),
                text_null("external_id"),
                text_null("external_url"),
                ms("created_at"),
                ms("updated_at"),
            ],
        ))
        .await?;
        m.create_index(index(
            "deliveries_due",
            "deliveries",
            &["pull", "status", "next_attempt_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "deliveries_alert",
            "deliveries",
            &["alert_id"],
            false,
        ))
        .await?;
        m.create_index(index(
            "deliveries_output",
            "deliveries",
            &["output_id", "status"],
            false,
        ))
        .await?;
        m.create_table(table(
            "delivery_attempts",
            vec![
                pk("id"),
                text("delivery_id"),
                int("attempt_number"),
                ms("dispatched_at"),
                int("status_code"),
                ColumnDef::new(Alias::new("success"))
                    .boolean()
                    .not_null()
                    .to_owned(),
                text("message"),
                ColumnDef::new(Alias::new("duration_ms"))
                    .big_integer()
                    .not_null()
                    .to_owned(),
            ],
        ))
        .await?;
        // Per-destination delivery health, updated with every recorded attempt.
        m.create_table(table(
            "destination_health",
            vec![
                pk("output_id"),
                ms_null("last_attempt_at"),
                ms_null("last_success_at"),
                text_null("last_error"),
                int("consecutive_failures"),
            ],
        ))
        .await?;
        m.create_index(index(
            "delivery_attempts_delivery",
            "delivery_attempts",
            &["delivery_id", "attempt_number"],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "destination_health",
            "delivery_attempts",
            "deliveries",
            "alert_comments",
            "alerts",
            "detection_overrides",
            "destinations",
            "api_tokens",
            "locks",
            "settings",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
