//! Herald's schema, as sea-orm migrations run at start-up. Written for both SQLite and
//! PostgreSQL: one change per statement (SQLite cannot alter several columns at once).
//! Times are BIGINT milliseconds since the epoch; JSON is stored as TEXT.
pub use sea_orm_migration::prelude::*;

mod m20261125_000001_initial;
mod m20261126_000001_hardening;
mod m20261126_000010_audit_log_read;
mod m20261127_000001_people;
mod m20261127_000002_alert_api;
mod m20261127_000003_redundant_index;
mod m20261127_000004_partial_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_initial::Migration),
            Box::new(m20261126_000001_hardening::Migration),
            Box::new(m20261126_000010_audit_log_read::Migration),
            Box::new(m20261127_000001_people::Migration),
            Box::new(m20261127_000002_alert_api::Migration),
            Box::new(m20261127_000003_redundant_index::Migration),
            Box::new(m20261127_000004_partial_indexes::Migration),
        ]
    }
}
