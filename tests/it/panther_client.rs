//! A client written against Panther's published GraphQL API, run unchanged against
//! Herald: the documents below are its "script" (named operations, variables typed with
//! Panther's input type names, fragments on the union members, posted to
//! `/public/graphql` with `X-API-Key` and an `operationName`). Each of them is valid
//! against Panther's schema as published; a field, argument, input type or enum value
//! that Herald renamed makes a request fail here. Herald-only setup (ingesting alerts,
//! detection overrides, minting a token, the set-password link) uses Herald's own
//! documents and is marked as such.
use crate::ops;
use crate::people::{link_token, login, post_auth, PASSWORD};
use crate::support::{str_of, GqlClient, TestDb, TestServer};
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

on_both!(
    a_panther_script_lists_assigns_and_reads_alerts,
    a_panther_script_rotates_its_own_token,
);

// ------------------------------------------------------------- the client script

/// A page of alerts (Panther: `alerts(input: AlertsInput!): AlertsOutput!`).
const LIST_ALERTS: &str = r#"
query ListAlerts($input: AlertsInput!) {
  alerts(input: $input) {
    edges { node { ...AlertSummary } }
    pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
  }
}
fragment AlertSummary on Alert { id title severity status type createdAt }
"#;

/// One alert with its assignee, who last changed it, where it came from, and a page
/// of its events.
const ALERT_DETAILS: &str = r#"
query AlertDetails($id: ID!, $events: AlertEventsInput) {
  alert(id: $id) {
    ...AlertSummary
    description reference runbook lastReceivedEventAt firstEventOccurredAt updatedAt
    assignee { id email givenName }
    updatedBy { __typename ... on User { id email } ... on APIToken { id name } }
    origin {
      __typename
      ... on Detection { id name }
      ... on DeletedDetection { id }
      ... on SystemError { type relatedComponent }
    }
    events(input: $events) { edges { node } pageInfo { hasNextPage endCursor } }
  }
}
fragment AlertSummary on Alert { id title severity status type createdAt }
"#;

const ASSIGN_ALERTS_BY_EMAIL: &str = r#"
mutation AssignAlerts($input: UpdateAlertsAssigneeByEmailInput!) {
  updateAlertsAssigneeByEmail(input: $input) {
    alerts {
      id
      assignee { id email givenName familyName }
      updatedBy { __typename ... on User { email } ... on APIToken { name } }
    }
  }
}
"#;

const UPDATE_ALERT_STATUS: &str = r#"
mutation UpdateAlertStatus($input: UpdateAlertStatusByIdInput!) {
  updateAlertStatusById(input: $input) {
    alerts { id status updatedBy { __typename ... on User { email } ... on APIToken { name } } }
  }
}
"#;

const USER_BY_EMAIL: &str = r#"
query UserByEmail($email: String!) {
  userByEmail(email: $email) { id email givenName familyName enabled status role { name } }
}
"#;

const ALERT_METRICS: &str = r#"
query AlertMetrics($input: MetricsInput!) {
  metrics(input: $input) {
    totalAlerts
    alertsPerSeverity { label value breakdown }
    alertsPerRule { entityId label value }
  }
}
"#;

/// Panther's form: no argument, the calling token rotates itself.
const ROTATE_OWN_TOKEN: &str = r#"
mutation RotateToken {
  rotateAPIToken { token { id name value permissions expiresAt } }
}
"#;

// ------------------------------------------------------------ Herald-side setup

/// Panther's `inviteUser` (`user` as Panther selects it) plus Herald's one-time link.
const INVITE_USER: &str = r#"
mutation InviteUser($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email givenName familyName status role { name } } setPasswordLink }
}
"#;

// ------------------------------------------------------------------ the client

/// What a Panther client does: POST `{query, operationName, variables}` to
/// `/public/graphql` with `X-API-Key`.
struct PantherClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: String,
}

impl PantherClient {
    fn new(s: &TestServer, api_key: &str) -> Self {
        PantherClient {
            http: reqwest::Client::new(),
            endpoint: format!("{}/public/graphql", s.url),
            api_key: api_key.to_string(),
        }
    }

    /// (HTTP status, JSON reply) of one operation of the script.
    async fn send(&self, document: &str, variables: Value) -> (u16, Value) {
        let r = self
            .http
            .post(&self.endpoint)
            .header("X-API-Key", &self.api_key)
            .json(
                &json!({"query": document, "operationName": operation_name(document),
                          "variables": variables}),
            )
            .send()
            .await
            .expect("POST /public/graphql");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `data` of an operation that must succeed.
    async fn run(&self, document: &str, variables: Value) -> Value {
        let (status, reply) = self.send(document, variables).await;
        assert!(
            status == 200 && reply.get("errors").is_none() && reply["data"].is_object(),
            "{} answered {status}: {reply:#}",
            operation_name(document)
        );
        reply["data"].clone()
    }

    /// Titles of every alert `input` selects, following `endCursor` `page_size` at a
    /// time; each page is checked to hold at most `page_size` alerts.
    async fn alert_titles(&self, input: Value, page_size: i64) -> Vec<String> {
        let mut titles = Vec::new();
        let mut cursor = Value::Null;
        for page in 0.. {
            assert!(page < 100, "the cursor loops: {input}");
            let mut i = input.clone();
            i["pageSize"] = json!(page_size);
            i["cursor"] = cursor.clone();
            let out = self.run(LIST_ALERTS, json!({ "input": i })).await["alerts"].clone();
            let edges = out["edges"].as_array().expect("edges");
            assert!(edges.len() as i64 <= page_size, "{out}");
            titles.extend(edges.iter().map(|e| str_of(&e["node"]["title"])));
            assert_eq!(out["pageInfo"]["hasPreviousPage"], !cursor.is_null());
            if out["pageInfo"]["hasNextPage"] != true {
                return titles;
            }
            cursor = out["pageInfo"]["endCursor"].clone();
        }
        unreachable!()
    }
}

/// The name of a document's (only) operation: `query ListAlerts(...)` → `ListAlerts`.
fn operation_name(document: &str) -> String {
    let start = document
        .split_whitespace()
        .skip_while(|w| !matches!(*w, "query" | "mutation"))
        .nth(1)
        .expect("a named operation");
    start
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap()
        .to_string()
}

fn ms(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn titles(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

/// One detection match as Herald ingests it (`CreateAlertInput`).
fn matched(title: &str, detection: &str, kind: &str, severity: &str, extra: Value) -> Value {
    let mut input = json!({"title": title, "detectionId": detection, "type": kind,
                           "severity": severity, "dedupString": title});
    for (k, v) in extra.as_object().expect("an object") {
        input[k] = v.clone();
    }
    input
}

fn event(name: &str, n: i64) -> Value {
    json!({"eventName": name, "n": n, "p_log_type": "Okta.SystemLog"})
}

// ------------------------------------------------------------------------ tests

/// Steps 1–4 of the script: a user is invited and sets a password; alerts of every
/// family are ingested; the script lists them with each filter Panther has, assigns
/// some by e-mail, reads one back in full (assignee, who changed it, origin, events
/// page by page) after a token and then the signed-in user changed it, and checks
/// the metrics add up.
async fn a_panther_script_lists_assigns_and_reads_alerts(db: TestDb) {
    let s = TestServer::start(&db).await;
    let started = Utc::now() - Span::minutes(1);
    let script = PantherClient::new(&s, &s.token);

    // 1. An analyst is invited and sets a password through the link.
    let invited = script
        .run(
            INVITE_USER,
            json!({"input": {"email": "Ana.Lyst@Example.com", "givenName": "Ana",
                   "familyName": "Lyst", "role": {"kind": "NAME", "value": "Analyst"}}}),
        )
        .await["inviteUser"]
        .clone();
    let user_id = str_of(&invited["user"]["id"]);
    assert_eq!(invited["user"]["status"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(invited["user"]["role"]["name"], "Analyst");
    let link = str_of(&invited["setPasswordLink"]);
    let (status, _, body) = post_auth(
        &s,
        "/auth/set-password",
        json!({"token": link_token(&link), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let user = script
        .run(USER_BY_EMAIL, json!({"email": "ana.lyst@example.com"}))
        .await["userByEmail"]
        .clone();
    assert_eq!(
        user,
        json!({"id": user_id, "email": "Ana.Lyst@Example.com", "givenName": "Ana",
               "familyName": "Lyst", "enabled": true, "status": "CONFIRMED",
               "role": {"name": "Analyst"}})
    );

    // Alerts of every family (Herald's ingestion), in two batches some time apart. The
    // first brute force is matched twice: two matches, five events.
    s.put_override(json!({"detectionId": "Okta.BruteForce", "displayName": "Okta brute force"}))
        .await;
    s.put_override(json!({"detectionId": "GitHub.RepoDeleted", "displayName": "Repo deleted"}))
        .await;
    let early = json!([
        matched(
            "Brute force on alice",
            "Okta.BruteForce",
            "RULE",
            "HIGH",
            json!({"logType": "Okta.SystemLog", "logSource": "okta-prod",
                   "events": [event("login", 0), event("login", 1), event("login", 2)]})
        ),
        matched(
            "Public S3 bucket",
            "AWS.S3.PublicBucket",
            "POLICY",
            "CRITICAL",
            json!({"resourceType": "AWS.S3.Bucket", "events": [{"bucket": "logs"}]})
        ),
        matched(
            "MFA rule raised an error",
            "Okta.MFA",
            "RULE_ERROR",
            "MEDIUM",
            json!({"logSource": "okta-prod", "events": [{"error": "KeyError"}]})
        ),
        matched(
            "Brute force on alice",
            "Okta.BruteForce",
            "RULE",
            "HIGH",
            json!({"logType": "Okta.SystemLog", "logSource": "okta-prod",
                   "events": [event("login", 3), event("login", 4)]})
        ),
    ]);
    let made = s.ok(ops::CREATE_ALERTS, json!({ "input": early })).await["createAlerts"].clone();
    assert_eq!(
        made[3]["id"], made[0]["id"],
        "the second match joins the first"
    );
    assert_eq!(made[3]["eventCount"], 2);
    let early_created = script
        .run(LIST_ALERTS, json!({"input": {"sortDir": "ascending"}}))
        .await["alerts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            str_of(&e["node"]["createdAt"])
                .parse::<DateTime<Utc>>()
                .unwrap()
        })
        .max()
        .expect("the first batch is listed");
    // The boundary falls between the batches: after the first, before the second.
    let boundary = ms(early_created + Span::milliseconds(1));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let late = json!([
        matched(
            "Repository deleted",
            "GitHub.RepoDeleted",
            "SCHEDULED_RULE",
            "LOW",
            json!({"logSource": "github-audit", "logType": "GitHub.Audit", "events": [{"repo": "a"}, {"repo": "b"}]})
        ),
        matched(
            "Open SSH security group",
            "AWS.EC2.OpenSSH",
            "POLICY",
            "HIGH",
            json!({"resourceType": "AWS.EC2.SecurityGroup", "events": [{"port": 22}]})
        ),
        matched(
            "Brute force on bob",
            "Okta.BruteForce",
            "RULE",
            "INFO",
            json!({"logSource": "okta-prod", "events": [event("login", 9)]})
        ),
        matched(
            "Delivery to Slack failed",
            "Herald.DeliveryFailure",
            "SYSTEM_ERROR",
            "HIGH",
            json!({})
        ),
    ]);
    let made_late =
        s.ok(ops::CREATE_ALERTS, json!({ "input": late })).await["createAlerts"].clone();
    let id_of = |title: &str| -> String {
        made.as_array()
            .unwrap()
            .iter()
            .chain(made_late.as_array().unwrap())
            .find(|a| a["title"] == title)
            .map(|a| str_of(&a["id"]))
            .unwrap_or_else(|| panic!("no alert {title}"))
    };
    // The second override goes away: its alert's origin is a deleted detection.
    s.ok(ops::DELETE_OVERRIDE, json!({"id": "GitHub.RepoDeleted"}))
        .await;

    // 2. Every filter, alone and combined, paged two at a time.
    let all = [
        "Brute force on alice",
        "Public S3 bucket",
        "MFA rule raised an error",
        "Repository deleted",
        "Open SSH security group",
        "Brute force on bob",
        "Delivery to Slack failed",
    ];
    let cases: Vec<(Value, Vec<&str>)> = vec![
        // Without `type`, Herald lists every family (Panther's default is `ALERT`).
        (json!({}), all.to_vec()),
        (
            json!({"severities": ["HIGH", "CRITICAL"]}),
            vec![
                "Brute force on alice",
                "Public S3 bucket",
                "Open SSH security group",
                "Delivery to Slack failed",
            ],
        ),
        (json!({"statuses": ["OPEN"]}), all.to_vec()),
        (json!({"statuses": ["RESOLVED", "CLOSED"]}), vec![]),
        (
            json!({"type": "ALERT"}),
            vec![
                "Brute force on alice",
                "Public S3 bucket",
                "Repository deleted",
                "Open SSH security group",
                "Brute force on bob",
            ],
        ),
        (
            json!({"type": "DETECTION_ERROR"}),
            vec!["MFA rule raised an error"],
        ),
        (
            json!({"type": "SYSTEM_ERROR"}),
            vec!["Delivery to Slack failed"],
        ),
        (
            json!({"type": "ALERT", "subtypes": ["POLICY"]}),
            vec!["Public S3 bucket", "Open SSH security group"],
        ),
        (
            json!({"subtypes": ["RULE", "SCHEDULED_RULE"]}),
            vec![
                "Brute force on alice",
                "Repository deleted",
                "Brute force on bob",
            ],
        ),
        (
            json!({"detectionId": "Okta.BruteForce"}),
            vec!["Brute force on alice", "Brute force on bob"],
        ),
        (
            json!({"nameContains": "brute FORCE"}),
            vec!["Brute force on alice", "Brute force on bob"],
        ),
        (
            json!({"createdAtBefore": boundary}),
            vec![
                "Brute force on alice",
                "Public S3 bucket",
                "MFA rule raised an error",
            ],
        ),
        (
            json!({"createdAtAfter": boundary}),
            vec![
                "Repository deleted",
                "Open SSH security group",
                "Brute force on bob",
                "Delivery to Slack failed",
            ],
        ),
        (json!({"eventCountMin": 2}), vec!["Brute force on alice"]),
        (
            json!({"type": "ALERT", "eventCountMax": 1}),
            vec![
                "Public S3 bucket",
                "Repository deleted",
                "Open SSH security group",
                "Brute force on bob",
            ],
        ),
        (
            json!({"logSources": ["okta-prod"]}),
            vec![
                "Brute force on alice",
                "MFA rule raised an error",
                "Brute force on bob",
            ],
        ),
        (
            json!({"resourceTypes": ["AWS.S3.Bucket", "AWS.EC2.SecurityGroup"]}),
            vec!["Public S3 bucket", "Open SSH security group"],
        ),
        (
            json!({"logTypes": ["Okta.SystemLog", "GitHub.Audit"]}),
            vec!["Brute force on alice", "Repository deleted"],
        ),
        (
            json!({"type": "ALERT", "severities": ["HIGH", "INFO"], "logSources": ["okta-prod"],
                   "detectionId": "Okta.BruteForce", "nameContains": "brute",
                   "createdAtAfter": boundary, "eventCountMax": 1, "statuses": ["OPEN"]}),
            vec!["Brute force on bob"],
        ),
    ];
    for (input, want) in &cases {
        let mut asc = input.clone();
        asc["sortDir"] = json!("ascending");
        assert_eq!(script.alert_titles(asc, 2).await, titles(want), "{input}");
        // Newest first (Panther's default direction), by creation time: the same set
        // reversed (a batch's alerts may share a millisecond; commit order breaks ties).
        let mut desc = input.clone();
        desc["sortBy"] = json!("createdAt");
        let mut rev = titles(want);
        rev.reverse();
        assert_eq!(
            script.alert_titles(desc, 3).await,
            rev,
            "{input}, by createdAt"
        );
    }

    // 3. Two alerts are assigned by e-mail (any case), by the script's token.
    let alice = id_of("Brute force on alice");
    let ssh = id_of("Open SSH security group");
    let assigned = script
        .run(
            ASSIGN_ALERTS_BY_EMAIL,
            json!({"input": {"ids": [alice, ssh], "assigneeEmail": "ANA.LYST@example.com"}}),
        )
        .await["updateAlertsAssigneeByEmail"]["alerts"]
        .clone();
    let ana = json!({"id": user_id, "email": "Ana.Lyst@Example.com", "givenName": "Ana",
                     "familyName": "Lyst"});
    let by_token = json!({"__typename": "APIToken", "name": "test-admin"});
    assert_eq!(
        assigned,
        json!([{"id": alice, "assignee": ana, "updatedBy": by_token},
               {"id": ssh, "assignee": ana, "updatedBy": by_token}])
    );
    assert_eq!(
        script
            .alert_titles(json!({"assigneeIds": [user_id], "sortDir": "ascending"}), 1)
            .await,
        titles(&["Brute force on alice", "Open SSH security group"])
    );

    let details = |id: String, events: Value| {
        let script = &script;
        async move {
            script
                .run(ALERT_DETAILS, json!({"id": id, "events": events}))
                .await["alert"]
                .clone()
        }
    };
    let a = details(alice.clone(), Value::Null).await;
    assert_eq!(
        a["assignee"],
        json!({"id": user_id, "email": "Ana.Lyst@Example.com", "givenName": "Ana"})
    );
    assert_eq!(a["updatedBy"]["__typename"], "APIToken", "{a}");
    assert_eq!(a["updatedBy"]["name"], "test-admin");
    assert_eq!(
        (
            a["status"].clone(),
            a["severity"].clone(),
            a["type"].clone()
        ),
        (json!("OPEN"), json!("HIGH"), json!("RULE"))
    );

    // The analyst signs in to the console and resolves it: a cookie session needs the
    // CSRF header, and the alert then names the user.
    let console = login(&s, "ana.lyst@example.com", PASSWORD)
        .await
        .expect("the analyst signs in");
    let resolve = json!({"input": {"ids": [alice], "status": "RESOLVED"}});
    let (status, refused) = console
        .post(UPDATE_ALERT_STATUS, resolve.clone(), false)
        .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "CSRF_HEADER_REQUIRED"
    );
    let changed = console.ok(UPDATE_ALERT_STATUS, resolve).await;
    assert_eq!(
        changed["updateAlertStatusById"]["alerts"],
        json!([{"id": alice, "status": "RESOLVED",
                "updatedBy": {"__typename": "User", "email": "Ana.Lyst@Example.com"}}])
    );
    let a = details(alice.clone(), Value::Null).await;
    assert_eq!(a["status"], "RESOLVED");
    assert_eq!(
        a["updatedBy"],
        json!({"__typename": "User", "id": user_id, "email": "Ana.Lyst@Example.com"})
    );
    assert_eq!(a["assignee"]["id"], json!(user_id), "the assignee stays");

    // Its events, two at a time, oldest first, to the end.
    let mut events = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let page = details(alice.clone(), json!({"pageSize": 2, "cursor": cursor})).await["events"]
            .clone();
        pages += 1;
        let edges = page["edges"].as_array().expect("edges");
        assert!(edges.len() <= 2, "{page}");
        events.extend(edges.iter().map(|e| e["node"].clone()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        cursor = page["pageInfo"]["endCursor"].clone();
        assert!(pages < 10, "the events cursor loops");
    }
    assert_eq!(pages, 3);
    assert_eq!(
        events,
        (0..5).map(|n| event("login", n)).collect::<Vec<_>>()
    );

    // Origins of each kind.
    let origin = |title: &'static str| {
        let id = id_of(title);
        let details = &details;
        async move { details(id, Value::Null).await["origin"].clone() }
    };
    assert_eq!(
        origin("Brute force on alice").await,
        json!({"__typename": "Detection", "id": "Okta.BruteForce", "name": "Okta brute force"})
    );
    assert_eq!(
        origin("Public S3 bucket").await,
        json!({"__typename": "Detection", "id": "AWS.S3.PublicBucket", "name": "AWS.S3.PublicBucket"})
    );
    assert_eq!(
        origin("Repository deleted").await,
        json!({"__typename": "DeletedDetection", "id": "GitHub.RepoDeleted"})
    );
    assert_eq!(
        origin("Delivery to Slack failed").await,
        json!({"__typename": "SystemError", "type": "ALERT_DELIVERY", "relatedComponent": "DESTINATION"})
    );

    // The filters that depend on what changed: status and assignee with the others.
    assert_eq!(
        script
            .alert_titles(
                json!({"statuses": ["RESOLVED"], "assigneeIds": [user_id], "type": "ALERT",
                       "subtypes": ["RULE"], "severities": ["HIGH"], "logSources": ["okta-prod"],
                       "detectionId": "Okta.BruteForce", "nameContains": "alice",
                       "createdAtBefore": boundary, "eventCountMin": 2, "eventCountMax": 2,
                       "logTypes": ["Okta.SystemLog"],
                       "sortBy": "createdAt", "sortDir": "descending"}),
                1
            )
            .await,
        titles(&["Brute force on alice"])
    );
    assert_eq!(
        script
            .alert_titles(
                json!({"statuses": ["OPEN"], "assigneeIds": [user_id],
                       "resourceTypes": ["AWS.EC2.SecurityGroup"]}),
                1
            )
            .await,
        titles(&["Open SSH security group"])
    );

    // 4. Metrics over the whole run count what was created.
    let m = script
        .run(
            ALERT_METRICS,
            json!({"input": {"fromDate": ms(started), "toDate": ms(Utc::now() + Span::minutes(1))}}),
        )
        .await["metrics"]
        .clone();
    assert_eq!(m["totalAlerts"], 7.0, "{m:#}");
    let per_severity: BTreeMap<String, f64> = m["alertsPerSeverity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let in_buckets: i64 = x["breakdown"]
                .as_object()
                .expect("breakdown: bucket start → count")
                .values()
                .map(|n| n.as_i64().expect("a count"))
                .sum();
            assert_eq!(in_buckets as f64, x["value"].as_f64().unwrap(), "{x}");
            (str_of(&x["label"]), x["value"].as_f64().unwrap())
        })
        .collect();
    let want: BTreeMap<String, f64> = [
        ("CRITICAL", 1.0),
        ("HIGH", 3.0),
        ("INFO", 1.0),
        ("LOW", 1.0),
        ("MEDIUM", 1.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(per_severity, want);
    let per_rule = m["alertsPerRule"].as_array().expect("alertsPerRule");
    assert_eq!(
        per_rule[0]["entityId"], "Okta.BruteForce",
        "most first: {m:#}"
    );
    assert_eq!(per_rule[0]["value"], 2.0);
    let mut others: Vec<(String, f64)> = per_rule[1..]
        .iter()
        .map(|x| (str_of(&x["entityId"]), x["value"].as_f64().unwrap()))
        .collect();
    others.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        others,
        vec![
            ("AWS.EC2.OpenSSH".to_string(), 1.0),
            ("AWS.S3.PublicBucket".to_string(), 1.0),
            ("GitHub.RepoDeleted".to_string(), 1.0),
            ("Okta.MFA".to_string(), 1.0),
        ],
        "system errors are left out"
    );
    // A range before anything was created counts nothing.
    let none = script
        .run(
            ALERT_METRICS,
            json!({"input": {"fromDate": ms(started - Span::hours(1)), "toDate": ms(started)}}),
        )
        .await["metrics"]
        .clone();
    assert_eq!(none["totalAlerts"], 0.0, "{none:#}");
    s.stop().await;
}

/// Step 5: a token rotates itself with Panther's argument-less `rotateAPIToken`; the
/// old value is refused from then on, the new one works.
async fn a_panther_script_rotates_its_own_token(db: TestDb) {
    let s = TestServer::start(&db).await;
    // Herald's side: the token the script is given (it may only read alerts).
    let token = s
        .ok(
            ops::CREATE_TOKEN,
            json!({"input": {"name": "panther-script", "permissions": ["AlertRead"]}}),
        )
        .await["createAPIToken"]["token"]
        .clone();
    let old = PantherClient::new(&s, &str_of(&token["value"]));
    let list = json!({"input": {"pageSize": 1}});
    old.run(LIST_ALERTS, list.clone()).await;

    let rotated = old.run(ROTATE_OWN_TOKEN, json!({})).await["rotateAPIToken"]["token"].clone();
    assert_eq!(rotated["id"], token["id"]);
    assert_eq!(rotated["name"], "panther-script");
    assert_eq!(rotated["permissions"], json!(["AlertRead"]));
    assert!(rotated["expiresAt"].is_null(), "{rotated}");
    let new_value = str_of(&rotated["value"]);
    assert_ne!(json!(new_value), token["value"]);

    let (status, reply) = old.send(LIST_ALERTS, list.clone()).await;
    assert_eq!(status, 401, "the old value is refused: {reply}");
    let new = PantherClient::new(&s, &new_value);
    let page = new.run(LIST_ALERTS, list.clone()).await;
    assert_eq!(page["alerts"]["edges"], json!([]));
    // Rotating again works the same way, with the new value only.
    let again = new.run(ROTATE_OWN_TOKEN, json!({})).await["rotateAPIToken"]["token"].clone();
    assert_eq!(again["id"], token["id"]);
    let (status, _) = new.send(LIST_ALERTS, list.clone()).await;
    assert_eq!(status, 401);
    PantherClient::new(&s, &str_of(&again["value"]))
        .run(LIST_ALERTS, list)
        .await;
    // The GqlClient of the other tests sees the same on `/graphql`.
    let (status, _) = GqlClient::new(&s.url, &new_value)
        .post(ops::ALERT_CURSORS, json!({}))
        .await;
    assert_eq!(status, 401);
    s.stop().await;
}
