//! The alert API's filter indexes on columns that are usually empty — `assignee_id`
//! (nobody is assigned when an alert is created), `log_source` and `resource_type`
//! (optional inputs) — keep only the rows that have a value. Every query they serve
//! filters on a value (`= …` or `IN (…)`, which imply `IS NOT NULL`), so each still
//! serves it; and an ingested alert without those values writes three index entries
//! fewer (the benchmark's busiest statement is the alerts `INSERT`, eight indexes).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (the full index, the partial one replacing it, its column, the indexes' columns)
const PARTIAL: [(&str, &str, &str, &str); 3] = [
    (
        "alerts_assignee_id",
        "alerts_assignee_set",
        "assignee_id",
        "assignee_id",
    ),
    (
        "alerts_log_source",
        "alerts_log_source_set",
        "log_source",
        "log_source, seq",
    ),
    (
        "alerts_resource_type",
        "alerts_resource_type_set",
        "resource_type",
        "resource_type, seq",
    ),
];

/// Create the partial indexes and drop the full ones (`partial`), or the reverse. Each
/// pair is one call, so both statements run on one connection: on SQLite, a pooled
/// connection that has not read the schema since another one changed it would refuse
/// to create an index it still sees.
async fn swap(m: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    let db = m.get_connection();
    for (full, set, column, columns) in PARTIAL {
        let (create, drop) = if partial {
            (
                format!("CREATE INDEX IF NOT EXISTS {set} ON alerts ({columns}) WHERE {column} IS NOT NULL"),
                full,
            )
        } else {
            (
                format!("CREATE INDEX IF NOT EXISTS {full} ON alerts ({columns})"),
                set,
            )
        };
        db.execute_unprepared(&format!("{create}; DROP INDEX IF EXISTS {drop}"))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        swap(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        swap(m, false).await
    }
}
