//! Panther's alert API: the events of an alert, deleted detections (an alert's origin),
//! log source and resource type on alerts (filters), and the format of comments.
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

fn index(name: &'static str, on: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(on)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The events of an alert (the one that created it and those joined by dedup),
        // in arrival order: `seq` grows with every insert, and an alert's events are only
        // written under the alerts lock, so (alert_id, seq) pages them oldest first.
        m.create_table(
            Table::create()
                .table(Alias::new("alert_events"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("seq"))
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("alert_id"))
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("event")).text().not_null())
                .col(
                    ColumnDef::new(Alias::new("received_at"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "alert_events_alert",
            "alert_events",
            &["alert_id", "seq"],
        ))
        .await?;
        // Detections whose override was deleted (an alert's origin is then a
        // DeletedDetection); the row goes when the override is created again.
        m.create_table(
            Table::create()
                .table(Alias::new("deleted_detections"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("detection_id"))
                        .string_len(255)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Alias::new("deleted_at"))
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(add(
            "alerts",
            ColumnDef::new(Alias::new("log_source"))
                .text()
                .null()
                .to_owned(),
        ))
        .await?;
        m.alter_table(add(
            "alerts",
            ColumnDef::new(Alias::new("resource_type"))
                .text()
                .null()
                .to_owned(),
        ))
        .await?;
        // Filters on one value page in `seq` order through these.
        m.create_index(index("alerts_log_source", "alerts", &["log_source", "seq"]))
            .await?;
        m.create_index(index(
            "alerts_resource_type",
            "alerts",
            &["resource_type", "seq"],
        ))
        .await?;
        m.create_index(index("alerts_type", "alerts", &["alert_type", "seq"]))
            .await?;
        // `sortBy: createdAt` pages on (created_at, seq).
        m.create_index(index(
            "alerts_created_at_seq",
            "alerts",
            &["created_at", "seq"],
        ))
        .await?;
        m.alter_table(add(
            "alert_comments",
            ColumnDef::new(Alias::new("format"))
                .text()
                .not_null()
                .default("PLAIN_TEXT")
                .to_owned(),
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "alerts_log_source",
            "alerts_resource_type",
            "alerts_type",
            "alerts_created_at_seq",
        ] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table(Alias::new("alerts"))
                    .to_owned(),
            )
            .await?;
        }
        for (t, c) in [
            ("alert_comments", "format"),
            ("alerts", "resource_type"),
            ("alerts", "log_source"),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(t))
                    .drop_column(Alias::new(c))
                    .to_owned(),
            )
            .await?;
        }
        for t in ["deleted_detections", "alert_events"] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
