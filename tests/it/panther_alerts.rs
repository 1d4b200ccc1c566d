//! Panther's alert API: events (stored, joined by dedup, cursor-paged, bounded), the
//! origin of an alert (detection, deleted detection, system error), the listing
//! filters and `sortBy`, comment formats, `rotateAPIToken` without an id, and
//! `routeAlert` as a query.
use crate::ops;
use crate::support::{all_pages, str_of, NewAlert, TestDb, TestServer};
use serde_json::{json, Value};

on_both!(
    events_are_stored_joined_and_paged,
    event_limits_are_refused,
    origin_of_every_kind,
    listing_filters_alone_and_combined,
    sort_by_created_at_pages_in_either_direction,
    comment_formats_and_entity,
    rotate_api_token_without_id_rotates_the_caller,
    route_alert_is_a_query,
);

fn alert_with_events(detection_id: &str, dedup: &str, events: Vec<Value>) -> Value {
    json!({"detectionId": detection_id, "title": format!("{detection_id} {dedup}"),
           "severity": "HIGH", "dedupString": dedup, "events": events})
}

/// One page of an alert's events: (nodes, pageInfo, eventCount).
async fn events_page(s: &TestServer, id: &str, input: Value) -> (Vec<Value>, Value, i64) {
    let d = s
        .ok(ops::ALERT_EVENTS, json!({"id": id, "input": input}))
        .await;
    let events = &d["alert"]["events"];
    let nodes = events["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (
        nodes,
        events["pageInfo"].clone(),
        d["alert"]["eventCount"].as_i64().expect("eventCount"),
    )
}

/// Every event of an alert, following cursors `page_size` at a time; and the pages.
async fn all_events(s: &TestServer, id: &str, page_size: i64) -> (Vec<Value>, usize) {
    let mut all = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let (nodes, info, _) =
            events_page(s, id, json!({"pageSize": page_size, "cursor": cursor})).await;
        pages += 1;
        assert_eq!(info["hasPreviousPage"], !cursor.is_null(), "{info}");
        assert_eq!(info["startCursor"], cursor, "{info}");
        all.extend(nodes);
        if info["hasNextPage"] != true {
            return (all, pages);
        }
        cursor = info["endCursor"].clone();
        assert!(pages < 100, "cursor loops");
    }
}

async fn events_are_stored_joined_and_paged(db: TestDb) {
    let s = TestServer::start(&db).await;
    let ev =
        |i: i64| json!({"n": i, "eventName": format!("Login{i}"), "nested": {"ip": "10.0.0.1"}});

    // Created with three events, then joined by dedup with four more.
    let id = s
        .create_alert(alert_with_events(
            "Events.One",
            "k",
            (0..3).map(ev).collect(),
        ))
        .await;
    let joined = s
        .create_alert(alert_with_events(
            "Events.One",
            "k",
            (3..7).map(ev).collect(),
        ))
        .await;
    assert_eq!(joined, id, "the second match joins the open alert");
    // A match without events joins too: it counts, and adds no event.
    s.create_alert(NewAlert {
        detection_id: "Events.One",
        dedup_string: Some("k"),
        ..Default::default()
    })
    .await;

    // Three pages of three, oldest first, each cursor leading to the next.
    let (first, info, count) = events_page(&s, &id, json!({"pageSize": 3})).await;
    assert_eq!(count, 3, "eventCount counts matches");
    assert_eq!(first, (0..3).map(ev).collect::<Vec<_>>());
    assert_eq!(info["hasNextPage"], true);
    assert_eq!(info["hasPreviousPage"], false);
    assert!(info["startCursor"].is_null());
    let (second, info2, _) =
        events_page(&s, &id, json!({"pageSize": 3, "cursor": info["endCursor"]})).await;
    assert_eq!(second, (3..6).map(ev).collect::<Vec<_>>());
    assert_eq!(info2["hasPreviousPage"], true);
    assert_eq!(info2["startCursor"], info["endCursor"]);
    let (third, info3, _) = events_page(
        &s,
        &id,
        json!({"pageSize": 3, "cursor": info2["endCursor"]}),
    )
    .await;
    assert_eq!(third, vec![ev(6)]);
    assert_eq!(info3["hasNextPage"], false);
    let (all, pages) = all_events(&s, &id, 3).await;
    assert_eq!((all.len(), pages), (7, 3));

    // The default page holds them all; an empty page after the last cursor.
    let (all, info, _) = events_page(&s, &id, Value::Null).await;
    assert_eq!(all, (0..7).map(ev).collect::<Vec<_>>());
    assert_eq!(info["hasNextPage"], false);
    let last = info["endCursor"].clone();
    let (none, info, _) = events_page(&s, &id, json!({"cursor": last, "pageSize": 5})).await;
    assert!(none.is_empty());
    assert_eq!(info["endCursor"], last, "an empty page keeps its cursor");
    assert_eq!(info["hasNextPage"], false);

    // A batch: the second input joins the first, the third is another alert; an
    // earlier alert's events are untouched.
    let d = s
        .ok(
            ops::CREATE_ALERTS,
            json!({"input": [
                alert_with_events("Events.Two", "b", vec![ev(100), ev(101)]),
                alert_with_events("Events.Two", "b", vec![ev(102)]),
                alert_with_events("Events.Three", "c", vec![ev(200)]),
                alert_with_events("Events.One", "k", vec![ev(7)]),
            ]}),
        )
        .await;
    let made = d["createAlerts"].as_array().unwrap();
    assert_eq!(made[0]["id"], made[1]["id"]);
    assert_eq!(made[3]["id"], json!(id));
    let (two, _) = all_events(&s, &str_of(&made[0]["id"]), 2).await;
    assert_eq!(two, vec![ev(100), ev(101), ev(102)]);
    let (three, _) = all_events(&s, &str_of(&made[2]["id"]), 2).await;
    assert_eq!(three, vec![ev(200)]);
    let (one, _) = all_events(&s, &id, 100).await;
    assert_eq!(one, (0..8).map(ev).collect::<Vec<_>>());

    // Event pages count in the query cost like other pages: a thousand alerts with a
    // hundred events each is refused before anything runs; small pages fit.
    let nested = |alerts: i64, events: i64| {
        format!("{{ alerts(input: {{pageSize: {alerts}}}) {{ edges {{ node {{ id events(input: {{pageSize: {events}}}) {{ edges {{ node }} }} }} }} }} }}")
    };
    let (code, msg) = s.err(&nested(1000, 100), json!({})).await;
    assert_eq!(code, "QUERY_TOO_COMPLEX", "{msg}");
    let d = s.ok(&nested(10, 25), json!({})).await;
    assert_eq!(d["alerts"]["edges"].as_array().unwrap().len(), 3);

    // Cursors from elsewhere and page sizes out of bounds are refused.
    for input in [
        json!({"pageSize": 0}),
        json!({"pageSize": 101}),
        json!({"cursor": "not-a-cursor"}),
    ] {
        let (code, msg) = s
            .err(ops::ALERT_EVENTS, json!({"id": id, "input": input}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{input}: {msg}");
    }
    s.stop().await;
}

async fn event_limits_are_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let many: Vec<Value> = (0..101).map(|i| json!({"i": i})).collect();
    let (code, msg) = s
        .err(
            ops::CREATE_ALERT,
            json!({"input": alert_with_events("Limits.Events", "x", many.clone())}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        msg.contains("events") && msg.contains("101") && msg.contains("100"),
        "{msg}"
    );

    let big = json!({"blob": "a".repeat(64 * 1024)});
    let (code, msg) = s
        .err(
            ops::CREATE_ALERT,
            json!({"input": alert_with_events("Limits.Events", "x", vec![json!({}), big.clone()])}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("entry 1") && msg.contains("65536"), "{msg}");

    // In a batch the input is named, and nothing of the batch is stored.
    let (code, msg) = s
        .err(
            ops::CREATE_ALERTS,
            json!({"input": [
                alert_with_events("Limits.Events", "ok", vec![json!({"fine": true})]),
                alert_with_events("Limits.Events", "x", vec![big]),
            ]}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.starts_with("input[1].events: entry 0"), "{msg}");
    let page = s.alerts_page(json!({})).await;
    assert_eq!(page["edges"], json!([]), "nothing stored");

    // The same routing dry run refuses it too.
    let (code, _) = s
        .err(
            "query($input: CreateAlertInput!) { routeAlert(input: $input) { step } }",
            json!({"input": alert_with_events("Limits.Events", "x", many)}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    s.stop().await;
}

async fn origin(s: &TestServer, id: &str) -> Value {
    s.ok(ops::ALERT_ORIGIN, json!({"id": id})).await["alert"]["origin"].clone()
}

async fn origin_of_every_kind(db: TestDb) {
    let s = TestServer::start(&db).await;
    // With an override: its name and times.
    s.put_override(json!({"detectionId": "Origin.Overridden", "displayName": "Overridden rule"}))
        .await;
    let with = s
        .create_alert(
            json!({"detectionId": "Origin.Overridden", "title": "t", "severity": "LOW",
                             "type": "RULE_ERROR", "description": "what it detects"}),
        )
        .await;
    let o = origin(&s, &with).await;
    assert_eq!(o["__typename"], "Detection", "{o}");
    assert_eq!(o["id"], "Origin.Overridden");
    assert_eq!(o["name"], "Overridden rule");
    assert_eq!(o["detectionType"], "RULE");
    assert_eq!(o["description"], "what it detects");
    assert!(
        o["createdAt"].is_string() && o["updatedAt"].is_string(),
        "{o}"
    );

    // Without one: from the alert, nullable fields null.
    let without = s
        .create_alert(
            json!({"detectionId": "Origin.Plain", "title": "t", "severity": "LOW",
                             "type": "SCHEDULED_RULE", "description": "ignored"}),
        )
        .await;
    let created = s
        .ok(
            "query($id: ID!) { alert(id: $id) { createdAt } }",
            json!({"id": without}),
        )
        .await["alert"]["createdAt"]
        .clone();
    let o = origin(&s, &without).await;
    assert_eq!(
        o,
        json!({"__typename": "Detection", "id": "Origin.Plain", "name": "Origin.Plain",
               "detectionType": "SCHEDULED_RULE", "description": null, "createdAt": created,
               "updatedAt": null})
    );
    let policy = s
        .create_alert(json!({"detectionId": "Origin.Policy", "title": "t", "severity": "LOW", "type": "POLICY"}))
        .await;
    assert_eq!(origin(&s, &policy).await["detectionType"], "POLICY");

    // Deleted: the override existed and is gone; created again, it is the origin again.
    s.put_override(json!({"detectionId": "Origin.Gone", "displayName": "Gone"}))
        .await;
    let gone = s
        .create_alert(json!({"detectionId": "Origin.Gone", "title": "t", "severity": "LOW"}))
        .await;
    assert_eq!(origin(&s, &gone).await["__typename"], "Detection");
    s.ok(ops::DELETE_OVERRIDE, json!({"id": "Origin.Gone"}))
        .await;
    assert_eq!(
        origin(&s, &gone).await,
        json!({"__typename": "DeletedDetection", "id": "Origin.Gone"})
    );
    s.put_override(json!({"detectionId": "Origin.Gone", "displayName": "Back"}))
        .await;
    let o = origin(&s, &gone).await;
    assert_eq!(
        (o["__typename"].clone(), o["name"].clone()),
        (json!("Detection"), json!("Back"))
    );

    // A system error.
    let sys = s
        .create_alert(json!({"detectionId": "Herald.DeliveryFailure", "title": "t", "severity": "HIGH", "type": "SYSTEM_ERROR"}))
        .await;
    assert_eq!(
        origin(&s, &sys).await,
        json!({"__typename": "SystemError", "errorType": "ALERT_DELIVERY", "relatedComponent": "DESTINATION"})
    );

    // A whole page resolves its origins (through one loader).
    let q = r#"{ alerts(input: {pageSize: 10, sortDir: ascending}) { edges { node { title origin { __typename } } } } }"#;
    let kinds: Vec<Value> = s.ok(q, json!({})).await["alerts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["origin"]["__typename"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            json!("Detection"),
            json!("Detection"),
            json!("Detection"),
            json!("Detection"),
            json!("SystemError")
        ]
    );
    s.stop().await;
}

/// Titles of every alert `input` lists, following cursors two at a time.
async fn titles(s: &TestServer, input: Value) -> Vec<String> {
    titles_paged(s, input, 2).await
}

async fn titles_paged(s: &TestServer, input: Value, page_size: i64) -> Vec<String> {
    let pages = all_pages(|cursor| {
        let mut i = input.clone();
        i["pageSize"] = json!(page_size);
        i["cursor"] = cursor;
        async move { s.alerts_page(i).await }
    })
    .await;
    pages
        .iter()
        .flat_map(|p| p["edges"].as_array().unwrap().clone())
        .map(|e| str_of(&e["node"]["title"]))
        .collect()
}

/// Seven alerts of every family, with log sources, resource types and event counts
/// (A1 has 3 events, A2 has 2, the others 1); their ids by title.
async fn seed_listing(s: &TestServer) -> Vec<String> {
    let a = |title: &str, t: &str, extra: Value| {
        let mut v = json!({"detectionId": format!("List.{title}"), "title": title, "severity": "MEDIUM",
                           "type": t, "dedupString": title});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let input = json!([
        a("A1", "RULE", json!({"logSource": "ls-okta"})),
        a("A2", "POLICY", json!({"resourceType": "AWS.S3.Bucket"})),
        a("A3", "RULE_ERROR", json!({"logSource": "ls-okta"})),
        a(
            "A4",
            "SCHEDULED_RULE",
            json!({"logSource": "ls-cloudtrail"})
        ),
        a("A5", "SYSTEM_ERROR", json!({})),
        a("A6", "SCHEDULED_RULE_ERROR", json!({})),
        a("A7", "POLICY", json!({"resourceType": "AWS.EC2.Instance"})),
        a("A1", "RULE", json!({"logSource": "ls-okta"})),
        a("A1", "RULE", json!({"logSource": "ls-okta"})),
        a("A2", "POLICY", json!({"resourceType": "AWS.S3.Bucket"})),
    ]);
    let d = s.ok(ops::CREATE_ALERTS, json!({"input": input})).await;
    let made = d["createAlerts"].as_array().unwrap();
    assert_eq!(made[8]["eventCount"], 3);
    assert_eq!(made[9]["eventCount"], 2);
    made[..7].iter().map(|a| str_of(&a["id"])).collect()
}

fn list(titles: &[&str]) -> Vec<String> {
    titles.iter().map(|t| t.to_string()).collect()
}

async fn listing_filters_alone_and_combined(db: TestDb) {
    let s = TestServer::start(&db).await;
    seed_listing(&s).await;
    let asc = |extra: Value| {
        let mut v = json!({"sortDir": "ascending"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["A1", "A2", "A3", "A4", "A5", "A6", "A7"]),
        (json!({"subtypes": ["POLICY"]}), vec!["A2", "A7"]),
        (json!({"types": ["POLICY"]}), vec!["A2", "A7"]),
        (json!({"type": "ALERT"}), vec!["A1", "A2", "A4", "A7"]),
        (json!({"type": "DETECTION_ERROR"}), vec!["A3", "A6"]),
        (json!({"type": "SYSTEM_ERROR"}), vec!["A5"]),
        (
            json!({"type": "ALERT", "subtypes": ["SCHEDULED_RULE", "RULE"]}),
            vec!["A1", "A4"],
        ),
        (json!({"logSources": ["ls-okta"]}), vec!["A1", "A3"]),
        (
            json!({"logSources": ["ls-okta", "ls-cloudtrail"]}),
            vec!["A1", "A3", "A4"],
        ),
        (json!({"logSources": ["nowhere"]}), vec![]),
        (json!({"resourceTypes": ["AWS.S3.Bucket"]}), vec!["A2"]),
        (
            json!({"resourceTypes": ["AWS.S3.Bucket", "AWS.EC2.Instance"]}),
            vec!["A2", "A7"],
        ),
        (json!({"eventCountMin": 2}), vec!["A1", "A2"]),
        (json!({"eventCountMin": 3}), vec!["A1"]),
        (
            json!({"eventCountMax": 1}),
            vec!["A3", "A4", "A5", "A6", "A7"],
        ),
        (json!({"eventCountMin": 2, "eventCountMax": 2}), vec!["A2"]),
        (
            json!({"type": "ALERT", "logSources": ["ls-okta"]}),
            vec!["A1"],
        ),
        (
            json!({"type": "DETECTION_ERROR", "logSources": ["ls-okta"]}),
            vec!["A3"],
        ),
        (
            json!({"subtypes": ["POLICY"], "eventCountMin": 2}),
            vec!["A2"],
        ),
        (
            json!({"type": "ALERT", "eventCountMax": 1}),
            vec!["A4", "A7"],
        ),
        (
            json!({"type": "ALERT", "resourceTypes": ["AWS.EC2.Instance"], "eventCountMax": 1}),
            vec!["A7"],
        ),
        (
            json!({"type": "ALERT", "sortBy": "createdAt"}),
            vec!["A1", "A2", "A4", "A7"],
        ),
    ];
    for (input, want) in cases {
        assert_eq!(titles(&s, asc(input.clone())).await, list(&want), "{input}");
        // Newest first, through the same pages.
        let mut desc = input.clone();
        desc["sortDir"] = json!("descending");
        let mut rev = list(&want);
        rev.reverse();
        assert_eq!(titles(&s, desc).await, rev, "{input} descending");
    }
    // Subtypes outside the family, or both spellings at once, are refused.
    for input in [
        json!({"type": "ALERT", "subtypes": ["RULE_ERROR"]}),
        json!({"type": "SYSTEM_ERROR", "subtypes": ["RULE"]}),
        json!({"subtypes": ["RULE"], "types": ["RULE"]}),
    ] {
        let (code, msg) = s.err(ops::ALERTS_PAGE, json!({"input": input})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{input}: {msg}");
    }
    let (_, msg) = s
        .err(
            ops::ALERTS_PAGE,
            json!({"input": {"type": "ALERT", "subtypes": ["RULE_ERROR"]}}),
        )
        .await;
    assert!(msg.contains("RULE_ERROR") && msg.contains("ALERT"), "{msg}");
    s.stop().await;
}

/// Set an alert's creation time (the API stamps it with the time of ingestion).
pub async fn set_created_at(s: &TestServer, id: &str, at_ms: i64) {
    use herald::store::entities::alert;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let done = alert::Entity::update_many()
        .col_expr(alert::Column::CreatedAt, Expr::value(at_ms))
        .filter(alert::Column::Id.eq(id))
        .exec(&s.services().db)
        .await
        .expect("update created_at");
    assert_eq!(done.rows_affected, 1);
}

async fn sort_by_created_at_pages_in_either_direction(db: TestDb) {
    let s = TestServer::start(&db).await;
    let ids = seed_listing(&s).await;
    // Creation times out of commit order, A1 and A5 tied (commit order breaks the tie).
    let base = 1_767_225_600_000_i64;
    for (id, minute) in ids.iter().zip([5, 3, 7, 1, 5, 2, 4]) {
        set_created_at(&s, id, base + minute * 60_000).await;
    }
    let by_time = ["A4", "A6", "A2", "A7", "A1", "A5", "A3"];
    for page_size in [1, 2, 3] {
        let asc = titles_paged(
            &s,
            json!({"sortBy": "createdAt", "sortDir": "ascending"}),
            page_size,
        )
        .await;
        assert_eq!(asc, list(&by_time), "page size {page_size}");
        let desc = titles_paged(&s, json!({"sortBy": "createdAt"}), page_size).await;
        let mut rev = list(&by_time);
        rev.reverse();
        assert_eq!(desc, rev, "page size {page_size}, descending (the default)");
    }
    // Without sortBy: commit order, as pollers need.
    assert_eq!(
        titles(&s, json!({"sortDir": "ascending"})).await,
        list(&["A1", "A2", "A3", "A4", "A5", "A6", "A7"])
    );
    // With filters: the same order, restricted.
    assert_eq!(
        titles_paged(
            &s,
            json!({"sortBy": "createdAt", "sortDir": "ascending", "type": "ALERT"}),
            1
        )
        .await,
        list(&["A4", "A2", "A7", "A1"])
    );
    assert_eq!(
        titles_paged(&s, json!({"sortBy": "createdAt", "createdAtAfter": "2026-01-01T00:04:00Z", "eventCountMax": 1}), 1).await,
        list(&["A3", "A5", "A7"])
    );
    // A cursor of the other order is refused.
    let seq_cursor = s.alerts_page(json!({"pageSize": 1})).await["pageInfo"]["endCursor"].clone();
    let (code, _) = s
        .err(
            ops::ALERTS_PAGE,
            json!({"input": {"sortBy": "createdAt", "cursor": seq_cursor}}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    s.stop().await;
}

async fn comment_formats_and_entity(db: TestDb) {
    let s = TestServer::start(&db).await;
    let id = s
        .create_alert(NewAlert {
            title: "Commented",
            ..Default::default()
        })
        .await;
    let comment = |body: &str, format: Option<&str>| {
        let mut input = json!({"alertId": id, "body": body});
        if let Some(f) = format {
            input["format"] = json!(f);
        }
        input
    };
    // Plain text by default, stored as written.
    let plain = s
        .ok(
            ops::CREATE_ALERT_COMMENT,
            json!({"input": comment("a <b>plain</b> note", None)}),
        )
        .await["createAlertComment"]["comment"]
        .clone();
    assert_eq!(plain["format"], "PLAIN_TEXT");
    assert_eq!(plain["body"], "a <b>plain</b> note");
    assert_eq!(
        plain["entity"],
        json!({"__typename": "Alert", "id": id, "title": "Commented"})
    );

    // HTML is sanitized before it is stored.
    let html = r#"<b>bold</b> <script>alert(1)</script><img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">link</a>"#;
    let c = s
        .ok(
            ops::CREATE_ALERT_COMMENT,
            json!({"input": comment(html, Some("HTML"))}),
        )
        .await["createAlertComment"]["comment"]
        .clone();
    assert_eq!(c["format"], "HTML");
    let body = str_of(&c["body"]);
    assert!(body.contains("<b>bold</b>"), "{body}");
    assert!(
        !body.contains("<script") && !body.contains("alert(1)"),
        "{body}"
    );
    assert!(!body.contains("onerror"), "{body}");
    assert!(!body.contains("javascript:"), "{body}");
    assert!(body.contains("link"), "{body}");

    // Read back from the alert, in order, with their formats.
    let d = s
        .ok(
            "query($id: ID!) { alert(id: $id) { comments { body format entity { ... on Alert { id } } } } }",
            json!({"id": id}),
        )
        .await;
    let comments = d["alert"]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["format"], "PLAIN_TEXT");
    assert_eq!(comments[1]["format"], "HTML");
    assert_eq!(comments[1]["body"], json!(body));
    assert_eq!(comments[1]["entity"]["id"], json!(id));

    // Nothing left after sanitizing is an empty body.
    let (code, msg) = s
        .err(
            ops::CREATE_ALERT_COMMENT,
            json!({"input": comment("<script>x()</script>", Some("HTML"))}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{msg}");
    s.stop().await;
}

async fn rotate_api_token_without_id_rotates_the_caller(db: TestDb) {
    let s = TestServer::start(&db).await;
    let t = s
        .ok(
            ops::CREATE_TOKEN,
            json!({"input": {"name": "self-rotating", "permissions": ["AlertRead"]}}),
        )
        .await["createAPIToken"]["token"]
        .clone();
    let (id, old) = (str_of(&t["id"]), str_of(&t["value"]));
    let caller = s.api.with_token(&old);
    assert_eq!(caller.post(ops::ALERT_CURSORS, json!({})).await.0, 200);

    // Panther's form: no argument, no permission beyond being the token.
    let r = caller
        .ok(
            "mutation { rotateAPIToken { token { id name value permissions } } }",
            json!({}),
        )
        .await["rotateAPIToken"]["token"]
        .clone();
    assert_eq!(r["id"], json!(id));
    assert_eq!(r["name"], "self-rotating");
    assert_eq!(r["permissions"], json!(["AlertRead"]));
    let new = str_of(&r["value"]);
    assert_ne!(new, old);
    let (status, body) = caller.post(ops::ALERT_CURSORS, json!({})).await;
    assert_eq!(status, 401, "the old value is refused: {body}");
    let (status, body) = s
        .api
        .with_token(&new)
        .post(ops::ALERT_CURSORS, json!({}))
        .await;
    assert_eq!(status, 200, "the new value works: {body}");
    assert!(body.get("errors").is_none(), "{body}");

    // Naming a token still needs OrganizationAPITokenModify.
    let (_, r) = s
        .api
        .with_token(&new)
        .post(ops::ROTATE_TOKEN, json!({"id": id}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
    // The admin rotating it by id, as before.
    let again = s.ok(ops::ROTATE_TOKEN, json!({"id": id})).await["rotateAPIToken"]["token"]
        ["value"]
        .clone();
    assert_ne!(again, json!(new));
    assert_eq!(
        s.api
            .with_token(&new)
            .post(ops::ALERT_CURSORS, json!({}))
            .await
            .0,
        401
    );
    s.stop().await;
}

async fn route_alert_is_a_query(db: TestDb) {
    let s = TestServer::start(&db).await;
    s.add_webhook("Hook", "https://example.com/hook", &["HIGH"])
        .await;
    let input = json!({"detectionId": "Route.Q", "title": "t", "severity": "HIGH"});
    let q = "query($input: CreateAlertInput!) { routeAlert(input: $input) { step effectiveSeverity destinations { displayName } } }";
    let d = s.ok(q, json!({"input": input})).await["routeAlert"].clone();
    assert_eq!(
        d,
        json!({"step": "DESTINATION_CONFIGURATION", "effectiveSeverity": "HIGH",
               "destinations": [{"displayName": "Hook"}]})
    );
    // The mutation form still answers the same.
    let m = s
        .ok(&q.replacen("query", "mutation", 1), json!({"input": input}))
        .await["routeAlert"]
        .clone();
    assert_eq!(m, d);
    // Over GET, as a read.
    let url = format!(
        "{}/graphql?query={}&variables={}",
        s.url,
        urlencode(q),
        urlencode(&json!({"input": input}).to_string())
    );
    let r: Value = s
        .client
        .get(url)
        .header("x-api-key", &s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["routeAlert"], d, "{r}");
    // Nothing was stored.
    assert_eq!(s.alerts_page(json!({})).await["edges"], json!([]));
    s.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
