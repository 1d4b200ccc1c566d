//! Alerts and people: assignment by user id or e-mail (the user must exist), the
//! `assigneeIds` filter, and who changed what (`updatedBy`, `createdByActor`,
//! `rotatedBy`) for users signed in to the console and for API tokens.
use crate::ops;
use crate::people::{invite, sign_in};
use crate::support::{page_ids, TestDb, TestServer};
use serde_json::{json, Value};

const ASSIGN_BY_ID: &str = "mutation($input: UpdateAlertsAssigneeByIdInput!) { updateAlertsAssigneeById(input: $input) { alerts { id assigneeId assignee { email } } } }";
const ASSIGN_BY_EMAIL: &str = "mutation($input: UpdateAlertsAssigneeByEmailInput!) { updateAlertsAssigneeByEmail(input: $input) { alerts { id assigneeId assignee { email } } } }";

async fn new_alert(s: &TestServer, title: &str) -> String {
    // One detection per alert: the same one would deduplicate them into one alert.
    s.create_alert(
        json!({"detectionId": format!("people.{title}"), "title": title, "severity": "LOW"}),
    )
    .await
}

async fn ids_assigned_to(s: &TestServer, users: Value) -> Vec<String> {
    let page = s
        .alerts_page(json!({"assigneeIds": users, "sortDir": "ascending"}))
        .await;
    page_ids(&page)
}

async fn alerts_are_assigned_to_users_that_exist(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (a1, a2, a3) = (
        new_alert(&s, "one").await,
        new_alert(&s, "two").await,
        new_alert(&s, "three").await,
    );
    let (u1, _) = invite(&s, "one@example.com", "Analyst").await;
    let (u2, _) = invite(&s, "Two@Example.com", "Analyst").await;

    let d = s
        .ok(
            ASSIGN_BY_ID,
            json!({"input": {"ids": [a1], "assigneeId": u1}}),
        )
        .await;
    let got = &d["updateAlertsAssigneeById"]["alerts"][0];
    assert_eq!(got["assigneeId"], u1.as_str());
    assert_eq!(got["assignee"]["email"], "one@example.com");
    let d = s
        .ok(
            ASSIGN_BY_EMAIL,
            json!({"input": {"ids": [a2], "assigneeEmail": "two@EXAMPLE.com"}}),
        )
        .await;
    let got = &d["updateAlertsAssigneeByEmail"]["alerts"][0];
    assert_eq!(got["assigneeId"], u2.as_str());
    assert_eq!(got["assignee"]["email"], "Two@Example.com");

    // Unknown users are refused, and nothing changes.
    let (code, msg) = s
        .err(
            ASSIGN_BY_ID,
            json!({"input": {"ids": [a3], "assigneeId": "nobody"}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND", "{msg}");
    let (code, msg) = s
        .err(
            ASSIGN_BY_EMAIL,
            json!({"input": {"ids": [a3], "assigneeEmail": "nobody@example.com"}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND", "{msg}");
    assert!(msg.contains("nobody@example.com"), "{msg}");
    let a = s.ok(ops::ALERT_PEOPLE, json!({"id": a3})).await["alert"].clone();
    assert!(a["assigneeId"].is_null() && a["assignee"].is_null(), "{a}");

    // The filter, in the store query, on both databases.
    assert_eq!(ids_assigned_to(&s, json!([u1])).await, vec![a1.as_str()]);
    assert_eq!(
        ids_assigned_to(&s, json!([u1, u2])).await,
        [a1.clone(), a2.clone()]
    );
    assert!(ids_assigned_to(&s, json!(["nobody"])).await.is_empty());
    assert_eq!(
        s.alerts_page(json!({"assigneeIds": []})).await["edges"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "an empty list does not filter"
    );

    // Unassigning stays possible, by id (null) and by e-mail (omitted).
    let d = s
        .ok(
            ASSIGN_BY_ID,
            json!({"input": {"ids": [a1], "assigneeId": null}}),
        )
        .await;
    assert!(d["updateAlertsAssigneeById"]["alerts"][0]["assigneeId"].is_null());
    let d = s.ok(ASSIGN_BY_EMAIL, json!({"input": {"ids": [a2]}})).await;
    assert!(d["updateAlertsAssigneeByEmail"]["alerts"][0]["assignee"].is_null());
    assert!(ids_assigned_to(&s, json!([u1, u2])).await.is_empty());

    // A deleted user is no longer anybody's assignee object.
    s.ok(
        ASSIGN_BY_ID,
        json!({"input": {"ids": [a3], "assigneeId": u1}}),
    )
    .await;
    s.ok(
        "mutation($id: ID!) { deleteUser(input: {id: $id}) { id } }",
        json!({"id": u1}),
    )
    .await;
    let a = s.ok(ops::ALERT_PEOPLE, json!({"id": a3})).await["alert"].clone();
    assert!(a["assignee"].is_null(), "{a}");
    s.stop().await;
}

async fn changes_name_the_user_or_token_that_made_them(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = new_alert(&s, "actor").await;
    let fresh = s.ok(ops::ALERT_PEOPLE, json!({"id": a})).await["alert"].clone();
    assert!(fresh["updatedBy"].is_null(), "{fresh}");

    // A token changes the status.
    let d = s
        .ok(
            ops::UPDATE_ALERT_STATUS,
            json!({"input": {"ids": [a], "status": "TRIAGED"}}),
        )
        .await;
    let by = &d["updateAlertStatusById"]["alerts"][0]["updatedBy"];
    assert_eq!(by["__typename"], "APIToken");
    assert_eq!(by["name"], "test-admin");

    // A user signed in to the console changes it: the same guards, their name.
    let (uid, console) = sign_in(&s, "actor@example.com", "Analyst").await;
    let d = console
        .ok(
            ops::UPDATE_ALERT_STATUS,
            json!({"input": {"ids": [a], "status": "RESOLVED"}}),
        )
        .await;
    let got = &d["updateAlertStatusById"]["alerts"][0];
    assert_eq!(got["updatedBy"]["__typename"], "User");
    assert_eq!(got["updatedBy"]["email"], "actor@example.com");
    assert_eq!(got["lastModifiedBy"], "actor@example.com");
    let read = s.ok(ops::ALERT_PEOPLE, json!({"id": a})).await["alert"].clone();
    assert_eq!(read["updatedBy"]["id"], uid.as_str());

    // Comments name their author, user or token.
    let comment = "mutation($input: CreateAlertCommentInput!) { createAlertComment(input: $input) { comment { createdBy createdByActor { __typename ... on User { email } ... on APIToken { name } } } } }";
    let by_user = console
        .ok(comment, json!({"input": {"alertId": a, "body": "mine"}}))
        .await;
    assert_eq!(
        by_user["createAlertComment"]["comment"]["createdByActor"]["email"],
        "actor@example.com"
    );
    let by_token = s
        .ok(comment, json!({"input": {"alertId": a, "body": "ours"}}))
        .await;
    assert_eq!(
        by_token["createAlertComment"]["comment"]["createdByActor"]["name"],
        "test-admin"
    );

    // A token a user rotates names them as rotatedBy / updatedBy.
    let token_id = s
        .ok(
            ops::CREATE_TOKEN,
            json!({"input": {"name": "rot", "permissions": ["AlertRead"]}}),
        )
        .await["createAPIToken"]["token"]["id"]
        .clone();
    let admin = {
        s.ok(
            "mutation($id: ID!, $role: String!) { updateUser(input: {id: $id, role: {kind: NAME, value: $role}}) { user { id } } }",
            json!({"id": uid, "role": "Admin"}),
        )
        .await;
        console
    };
    let d = admin
        .ok(
            "mutation($id: ID!) { rotateAPIToken(id: $id) { token { rotatedBy { ... on User { email } } updatedBy { ... on User { email } } createdByActor { ... on APIToken { name } } } } }",
            json!({"id": token_id}),
        )
        .await;
    let t = &d["rotateAPIToken"]["token"];
    assert_eq!(t["rotatedBy"]["email"], "actor@example.com");
    assert_eq!(t["updatedBy"]["email"], "actor@example.com");
    assert_eq!(t["createdByActor"]["name"], "test-admin");

    // Once the user is deleted, what they changed names no one (the strings stay).
    s.ok(
        "mutation($id: ID!) { deleteUser(input: {id: $id}) { id } }",
        json!({"id": uid}),
    )
    .await;
    let read = s.ok(ops::ALERT_PEOPLE, json!({"id": a})).await["alert"].clone();
    assert!(read["updatedBy"].is_null(), "{read}");
    assert_eq!(read["lastModifiedBy"], "actor@example.com");
    s.stop().await;
}

on_both!(
    alerts_are_assigned_to_users_that_exist,
    changes_name_the_user_or_token_that_made_them,
);
