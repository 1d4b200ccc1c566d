//! Reliability and security (issue 9): lost-lease quarantine, the circuit breaker,
//! token lineage for cascading revocation, and the audit log.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn add(table: &'static str, col: ColumnDef) -> TableAlterStatement {
    let mut col = col;
    Table::alter()
        .table(Alias::new(table))
        .add_column(&mut col)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // How many times a lease on this delivery expired while it was IN_FLIGHT (the
        // process died mid-send): past a bound the delivery is quarantined as FAILED.
        m.alter_table(add(
            "deliveries",
            ColumnDef::new(Alias::new("lost_leases"))
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ))
        .await?;
        // Circuit breaker: when set, the destination is paused since then and only a
        // probe is sent at `next_probe_at`.
        m.alter_table(add(
            "destination_health",
            ColumnDef::new(Alias::new("paused_at"))
                .big_integer()
                .null()
                .to_owned(),
        ))
        .await?;
        m.alter_table(add(
            "destination_health",
            ColumnDef::new(Alias::new("next_probe_at"))
                .big_integer()
                .null()
                .to_owned(),
        ))
        .await?;
        // The token that minted this one (revoking a token revokes what it minted).
        m.alter_table(add(
            "api_tokens",
            ColumnDef::new(Alias::new("parent_id"))
                .string_len(64)
                .null()
                .to_owned(),
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("audit_log"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("seq"))
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("id")).string_len(64).not_null())
                .col(ColumnDef::new(Alias::new("at")).big_integer().not_null())
                .col(ColumnDef::new(Alias::new("actor_id")).text().not_null())
                .col(ColumnDef::new(Alias::new("actor_name")).text().not_null())
                .col(ColumnDef::new(Alias::new("action")).text().not_null())
                .col(ColumnDef::new(Alias::new("target_type")).text().not_null())
                .col(ColumnDef::new(Alias::new("target_id")).text().not_null())
                .col(ColumnDef::new(Alias::new("before")).text().null())
                .col(ColumnDef::new(Alias::new("after")).text().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_log_at")
                .table(Alias::new("audit_log"))
                .col(Alias::new("at"))
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("audit_log"))
                .if_exists()
                .to_owned(),
        )
        .await?;
        for (t, c) in [
            ("api_tokens", "parent_id"),
            ("destination_health", "next_probe_at"),
            ("destination_health", "paused_at"),
            ("deliveries", "lost_leases"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(t))
                    .drop_column(Alias::new(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
