//! A damaged row (a value no enum variant spells, unreadable JSON) is an error that
//! names the row, never a default: the API answers INTERNAL_SERVER_ERROR without
//! detail, and the store's error names the table, the row and the column. Rows are
//! damaged with raw SQL. SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use crate::support::{TestDb, TestServer};
use herald::domain::{AlertId, DestinationId};
use sea_orm::ConnectionTrait;
use serde_json::json;

const ALERT: &str = "query($id: ID!) { alert(id: $id) { id severity tags } }";
const DESTINATION: &str =
    "query($id: ID!) { destination(id: $id) { outputId defaultForSeverity } }";

async fn damage(s: &TestServer, sql: &str) {
    let n = s
        .services()
        .db
        .execute_unprepared(sql)
        .await
        .expect("damage the row")
        .rows_affected();
    assert_eq!(n, 1, "{sql}");
}

async fn new_alert(s: &TestServer, detection: &str) -> String {
    s.create_alert(json!({"detectionId": detection, "title": "t", "severity": "HIGH"}))
        .await
}

/// The API's answer: an internal error that tells the client nothing more.
async fn internal_error(s: &TestServer, query: &str, id: &str) {
    let (code, message) = s.err(query, json!({ "id": id })).await;
    assert_eq!(code, "INTERNAL_SERVER_ERROR");
    assert_eq!(message, "internal error");
}

fn names_row(e: &sea_orm::DbErr, table: &str, id: &str, column: &str, what: &str) {
    let text = e.to_string();
    for part in [table, id, column, what] {
        assert!(text.contains(part), "{part:?} missing from {text:?}");
    }
}

async fn alert_with_unknown_severity(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = new_alert(&s, "d1").await;
    let other = new_alert(&s, "d2").await;
    damage(
        &s,
        &format!("UPDATE alerts SET severity = 'SEVERE' WHERE id = '{id}'"),
    )
    .await;
    internal_error(&s, ALERT, &id).await;
    let e = herald::store::alerts::get(&s.services().db, &AlertId::from(id.as_str()))
        .await
        .unwrap_err();
    names_row(&e, "alerts", &id, "severity", "SEVERE");
    // Listing meets the damaged row too, and says which one it is.
    let e = herald::store::alerts::get_many(
        &s.services().db,
        &[AlertId::from(other.as_str()), AlertId::from(id.as_str())],
    )
    .await
    .unwrap_err();
    names_row(&e, "alerts", &id, "severity", "SEVERE");
    // So does a page of the list (read by position on SQLite's raw handle).
    let filter = herald::store::alerts::AlertFilter {
        limit: 10,
        ..Default::default()
    };
    let e = herald::store::alerts::list(&s.services().db, &filter)
        .await
        .unwrap_err();
    names_row(&e, "alerts", &id, "severity", "SEVERE");
    let (code, _) = s
        .err(
            "{ alerts(input: {pageSize: 10}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "INTERNAL_SERVER_ERROR");
    // The undamaged alert still reads.
    let d = s.ok(ALERT, json!({ "id": other })).await;
    assert_eq!(d["alert"]["severity"], "HIGH");
    s.stop().await;
}

async fn alert_with_unreadable_tags(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = new_alert(&s, "d1").await;
    damage(
        &s,
        &format!("UPDATE alerts SET tags = '[\"a\",' WHERE id = '{id}'"),
    )
    .await;
    internal_error(&s, ALERT, &id).await;
    let e = herald::store::alerts::get(&s.services().db, &AlertId::from(id.as_str()))
        .await
        .unwrap_err();
    names_row(&e, "alerts", &id, "tags", "unreadable JSON");
    s.stop().await;
}

async fn destination_with_damaged_columns(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = s
        .add_webhook("hook", "https://example.com/hook", &["HIGH"])
        .await;
    let svc = s.services();
    // A severity no variant spells is not dropped from the list.
    damage(
        &s,
        &format!(
            "UPDATE destinations SET default_for_severity = '[\"HIGH\",\"SEVERE\"]' WHERE id = '{id}'"
        ),
    )
    .await;
    internal_error(&s, DESTINATION, &id).await;
    let e =
        herald::store::destinations::get(&svc.db, &svc.cipher, &DestinationId::from(id.as_str()))
            .await
            .unwrap_err();
    names_row(&e, "destinations", &id, "default_for_severity", "SEVERE");
    // A config that is not JSON is not read as an empty one.
    damage(
        &s,
        &format!(
            "UPDATE destinations SET default_for_severity = '[\"HIGH\"]', config = 'not json' WHERE id = '{id}'"
        ),
    )
    .await;
    internal_error(&s, DESTINATION, &id).await;
    let e =
        herald::store::destinations::get(&svc.db, &svc.cipher, &DestinationId::from(id.as_str()))
            .await
            .unwrap_err();
    names_row(&e, "destinations", &id, "config", "unreadable JSON");
    s.stop().await;
}

on_both!(
    alert_with_unknown_severity,
    alert_with_unreadable_tags,
    destination_with_damaged_columns
);
