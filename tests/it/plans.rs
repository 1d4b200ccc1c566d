//! Query plans that must not depend on the tables' statistics: a new database's first
//! burst runs before PostgreSQL has any.
use crate::support::TestDb;
use sea_orm::{ConnectionTrait, TransactionTrait};

/// The dedup lookup of an ingested batch, in the ingestion transaction, on 20,000
/// alerts that were never analyzed: each pair is an index lookup, not a read of the
/// whole table or index with the pairs as a filter.
async fn the_dedup_lookup_is_index_lookups_before_any_statistics(db: TestDb) {
    let conn = herald::store::connect(&db.url).await.unwrap();
    conn.execute_unprepared("ALTER TABLE alerts SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    conn.execute_unprepared(
        "INSERT INTO alerts (id, detection_id, title, severity, status, alert_type, \
         dedup_string, description, runbook, reference, tags, alert_context, created_at, \
         updated_at, first_event_at, last_received_event_at, event_count, name, routing, \
         routed, created_by, last_modified_by) \
         SELECT md5(i::text), 'rule.' || (i % 10), 't', 'HIGH', 'OPEN', 'RULE', 'd-' || i, \
         '', '', '', '[]', '{}', i, i, i, i, 1, 'n', '{}', true, 'x', 'x' \
         FROM generate_series(1, 20000) AS i",
    )
    .await
    .unwrap();
    let keys: Vec<(String, String)> = (0..100)
        .map(|i| (format!("rule.{}", i % 10), format!("d-{}", i * 7)))
        .collect();
    let txn = conn.begin().await.unwrap();
    // As the ingestion transaction starts: its dedup keys locked, and its statements
    // planned for their parameters.
    herald::store::lock_dedup_keys(&txn, keys.iter().cloned())
        .await
        .unwrap();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(d, s)| (d.as_str(), s.as_str())).collect();
    let st = herald::store::alerts::dedup_select(sea_orm::DatabaseBackend::Postgres, &pairs, 0);
    let explain = sea_orm::Statement {
        sql: format!("EXPLAIN {}", st.sql),
        ..st
    };
    let plan: Vec<String> = txn
        .query_all(explain)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    let plan = plan.join("\n");
    txn.rollback().await.unwrap();
    assert!(plan.contains("Nested Loop"), "{plan}");
    assert!(plan.contains("Index Scan using alerts_dedup"), "{plan}");
    assert!(!plan.contains("Seq Scan on alerts"), "{plan}");
    assert!(!plan.contains("Filter: ((a.detection_id"), "{plan}");
}

on_postgres!(the_dedup_lookup_is_index_lookups_before_any_statistics);
