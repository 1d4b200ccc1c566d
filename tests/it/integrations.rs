//! Every destination type end to end: added through the GraphQL API with its URL (or
//! `apiUrl`) pointing at a real HTTP receiver on 127.0.0.1, sent a real alert by the real
//! dispatcher; the vendor-native request is asserted. Plus secrets, templates,
//! `sendTestAlert` and `previewPayload` for every type.

use crate::ops;
use crate::support::{
    eventually, NewDestination, Receiver, Recorded, Reply, TestDb, TestServer, TEST_RSA_PRIVATE,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_secs(10);

const RESOLVE: &str = r#"mutation($ids: [ID!]!) { updateAlertStatusById(input: {ids: $ids, status: RESOLVED}) { alerts { id status } } }"#;

const TEST_RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArarYPA6bO3IhpRHpitFE
Fg5LUQyXaFdltQwMJmyGTexTszq/xHHgsL8nm5Qyu5hP0SQFRJIn6ca3fMNDYyDu
0oz6Sxd4+zASwhuPIWQ3Z1HWAHL0LVwaF1+H01QfnQirKkdiZrMBMoTbLqIXFibb
7sPonf31Cg9d2arQHKjnFJzqAkWmR3SpDrMiTRV8btjjP9U9lor9yC1kVAfEFamE
gTvDjB1Wamotw2irEmpBefCzcs+9PoX9h6e6A0u4/Bwd3Qj2PNaHNbJsRvFO+xfN
PyK1WWN0YEbzjv2BuqsiQuvH/HZFceZbLBIAGP0To9j3ZbdJZb79ijVH2cnRYS5P
twIDAQAB
-----END PUBLIC KEY-----\n";

/// One server, one receiver, one destination.
struct Setup {
    server: TestServer,
    rx: Receiver,
    output_id: String,
    _db: TestDb,
}

impl Setup {
    async fn new(field: &str, config: impl FnOnce(&str) -> Value) -> Self {
        Self::on(TestDb::sqlite().await, field, config).await
    }

    async fn on(db: TestDb, field: &str, config: impl FnOnce(&str) -> Value) -> Self {
        let server = TestServer::start(&db).await;
        let rx = Receiver::start().await;
        let output_id = add_of_type(&server, field, config(&rx.url)).await;
        Setup {
            server,
            rx,
            output_id,
            _db: db,
        }
    }

    /// Create a HIGH alert routed to the destination; its id.
    async fn alert(&self) -> String {
        create_alert_to(&self.server, &self.output_id, "Suspicious login for root").await
    }

    /// Wait for the alert's delivery of `kind` to finish; the delivery.
    async fn finished(&self, alert_id: &str, kind: &str) -> Value {
        finished(&self.server, alert_id, kind).await
    }
}

/// Add a destination of type `field` (its own unique name, no default severity); its id.
async fn add_of_type(s: &TestServer, field: &str, config: Value) -> String {
    let name = format!("{field} {}", uuid::Uuid::new_v4());
    s.add_destination(NewDestination::of(&name, field, config))
        .await
}

fn alert_input(output_id: &str, title: &str) -> Value {
    json!({
        "detectionId": "AWS.Root.Login",
        "title": title,
        "severity": "HIGH",
        "description": "Root logged in from a new country.",
        "runbook": "Call the account owner.",
        "tags": ["aws", "root"],
        "alertContext": {"ip": "203.0.113.7", "user": "root"},
        "generatedDestinations": [output_id],
    })
}

/// Create the root-login alert titled `title`, routed to `output_id`; its id.
async fn create_alert_to(s: &TestServer, output_id: &str, title: &str) -> String {
    s.create_alert(alert_input(output_id, title)).await
}

async fn finished(s: &TestServer, alert_id: &str, kind: &str) -> Value {
    eventually(WAIT, "the delivery to finish", || async {
        s.deliveries(alert_id)
            .await
            .iter()
            .find(|d| d["kind"] == kind && (d["status"] == "SUCCEEDED" || d["status"] == "FAILED"))
            .cloned()
    })
    .await
}

fn form(r: &Recorded) -> HashMap<String, String> {
    url::form_urlencoded::parse(r.body.as_bytes())
        .into_owned()
        .collect()
}

fn succeeded(d: &Value) {
    assert_eq!(d["status"], "SUCCEEDED", "{d:#}");
}

// ---------------------------------------------------------------- chat

#[tokio::test]
async fn slack_sends_a_coloured_message_with_fields() {
    let t = Setup::new(
        "slack",
        |u| json!({"webhookURL": format!("{u}/services/T0/B0/s3cretXYZ")}),
    )
    .await;
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/services/T0/B0/s3cretXYZ")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let b = r.json();
    let a = &b["attachments"][0];
    assert_eq!(a["color"], "#E01E5A");
    assert_eq!(a["title"], "Suspicious login for root");
    assert_eq!(
        a["title_link"],
        format!("https://herald.test/alerts/{alert_id}")
    );
    let fields: Vec<&str> = a["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "Severity",
            "Runbook",
            "Description",
            "Tags",
            "Alert Context"
        ]
    );
    assert!(a["fields"][4]["value"]
        .as_str()
        .unwrap()
        .contains("203.0.113.7"));
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

#[tokio::test]
async fn slack_message_template_sets_the_text() {
    let t = Setup::new("slack", |u| {
        json!({"webhookURL": format!("{u}/hook"), "messageTemplate": "{{ severity }}: {{ title }} from {{ alertContext.ip }}"})
    })
    .await;
    t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        r.json()["text"],
        "HIGH: Suspicious login for root from 203.0.113.7"
    );
}

#[tokio::test]
async fn slack_bot_posts_with_the_bot_token_and_stores_the_ts() {
    let t = Setup::new(
        "slackBot",
        |u| json!({"botToken": "xoxb-secret-token", "channel": "C0SEC", "apiUrl": u}),
    )
    .await;
    t.rx.push(Reply::status(200).body(r#"{"ok":true,"channel":"C0SEC","ts":"1700000000.000100"}"#));
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/chat.postMessage")
    );
    assert_eq!(r.header("authorization"), Some("Bearer xoxb-secret-token"));
    assert_eq!(r.json()["channel"], "C0SEC");
    assert_eq!(
        r.json()["attachments"][0]["title"],
        "Suspicious login for root"
    );
    let d = t.finished(&alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["externalId"], "1700000000.000100");
}

#[tokio::test]
async fn slack_bot_ok_false_is_a_failure_with_the_error() {
    let t = Setup::new(
        "slackBot",
        |u| json!({"botToken": "xoxb-secret-token", "channel": "C0SEC", "apiUrl": u}),
    )
    .await;
    t.rx.default_reply(Reply::status(200).body(r#"{"ok":false,"error":"channel_not_found"}"#));
    let alert_id = t.alert().await;
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["status"], "FAILED", "{d:#}");
    assert_eq!(d["message"], "Slack API error: channel_not_found");
    assert_eq!(t.rx.requests().len(), 1, "a Slack API error is not retried");
}

#[tokio::test]
async fn ms_teams_sends_a_card_with_facts_and_a_link() {
    let t = Setup::new(
        "msTeams",
        |u| json!({"webhookURL": format!("{u}/webhookb2/abc")}),
    )
    .await;
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/webhookb2/abc")
    );
    let b = r.json();
    assert_eq!(b["@type"], "MessageCard");
    assert_eq!(b["title"], "Suspicious login for root");
    let facts: Vec<&str> = b["sections"][0]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        facts,
        [
            "Severity",
            "Description",
            "Runbook",
            "Tags",
            "Alert Context"
        ]
    );
    assert_eq!(b["sections"][0]["facts"][0]["value"], "HIGH");
    assert_eq!(
        b["potentialAction"][0]["targets"][0]["uri"],
        format!("https://herald.test/alerts/{alert_id}")
    );
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

#[tokio::test]
async fn discord_sends_an_embed_coloured_by_severity() {
    let t = Setup::new("discord", |u| json!({"webhookURL": format!("{u}/api/webhooks/1/tok"), "messageTemplate": "New: {{ title }}"})).await;
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/api/webhooks/1/tok")
    );
    let b = r.json();
    assert_eq!(b["content"], "New: Suspicious login for root");
    let e = &b["embeds"][0];
    assert_eq!(e["color"], 0xE01E5A);
    assert_eq!(e["title"], "Suspicious login for root");
    assert_eq!(e["url"], format!("https://herald.test/alerts/{alert_id}"));
    assert_eq!(e["description"], "Root logged in from a new country.");
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

// ---------------------------------------------------------------- incident tools

const PD_KEY: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn pager_duty_triggers_then_resolves_on_the_alert_id() {
    let t = Setup::new(
        "pagerDuty",
        |u| json!({"integrationKey": PD_KEY, "apiUrl": u}),
    )
    .await;
    t.rx.default_reply(Reply::status(202).body(
        r#"{"status":"success","message":"Event processed","dedup_key":"will-be-replaced"}"#,
    ));
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v2/enqueue")
    );
    let b = r.json();
    assert_eq!(b["routing_key"], PD_KEY);
    assert_eq!(b["event_action"], "trigger");
    assert_eq!(b["dedup_key"], alert_id.as_str());
    assert_eq!(b["payload"]["severity"], "error");
    assert_eq!(b["payload"]["summary"], "Suspicious login for root");
    assert_eq!(b["payload"]["custom_details"]["alertId"], alert_id.as_str());
    assert_eq!(
        b["payload"]["custom_details"]["alertContext"]["ip"],
        "203.0.113.7"
    );
    let d = t.finished(&alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["externalId"], "will-be-replaced");

    t.server.ok(RESOLVE, json!({"ids": [alert_id]})).await;
    let r = &t.rx.wait_for(2, WAIT).await[1];
    assert_eq!(r.path, "/v2/enqueue");
    assert_eq!(
        r.json(),
        json!({"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": alert_id})
    );
    succeeded(&t.finished(&alert_id, "RESOLVE").await);
}

#[tokio::test]
async fn pager_duty_rejects_a_malformed_key() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let (code, msg) = s
        .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "pd", "outputConfig": {"pagerDuty": {"integrationKey": "short"}}, "defaultForSeverity": []}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        msg.contains("outputConfig.pagerduty.integrationKey: must be a 32-character"),
        "{msg}"
    );
}

#[tokio::test]
async fn opsgenie_creates_with_priority_and_closes_by_alias() {
    let t = Setup::new(
        "opsgenie",
        |u| json!({"apiKey": "og-secret-key", "serviceRegion": "EU", "apiUrl": u}),
    )
    .await;
    t.rx.default_reply(
        Reply::status(202).body(
            r#"{"result":"Request will be processed","took":0.2,"requestId":"43a29c5c-3dbf"}"#,
        ),
    );
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v2/alerts"));
    assert_eq!(r.header("authorization"), Some("GenieKey og-secret-key"));
    let b = r.json();
    assert_eq!(b["message"], "Suspicious login for root");
    assert_eq!(b["alias"], alert_id.as_str());
    assert_eq!(b["priority"], "P2");
    assert_eq!(b["tags"], json!(["aws", "root"]));
    assert_eq!(
        b["details"]["link"],
        format!("https://herald.test/alerts/{alert_id}")
    );
    let d = t.finished(&alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["externalId"], "43a29c5c-3dbf");

    t.server.ok(RESOLVE, json!({"ids": [alert_id]})).await;
    let r = &t.rx.wait_for(2, WAIT).await[1];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        format!("/v2/alerts/{alert_id}/close?identifierType=alias")
    );
    assert_eq!(r.header("authorization"), Some("GenieKey og-secret-key"));
    succeeded(&t.finished(&alert_id, "RESOLVE").await);
}

#[tokio::test]
async fn incident_io_fires_then_resolves() {
    let t = Setup::new("incidentIo", |u| json!({"alertSourceUrl": format!("{u}/v2/alert_events/http/01H"), "token": "inc-secret-token"})).await;
    t.rx.default_reply(
        Reply::status(202)
            .body(r#"{"status":"success","deduplication_key":"k","message":"Event accepted"}"#),
    );
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v2/alert_events/http/01H")
    );
    assert_eq!(r.header("authorization"), Some("Bearer inc-secret-token"));
    let b = r.json();
    assert_eq!(b["status"], "firing");
    assert_eq!(b["deduplication_key"], alert_id.as_str());
    assert_eq!(b["title"], "Suspicious login for root");
    assert_eq!(b["metadata"]["severity"], "HIGH");
    succeeded(&t.finished(&alert_id, "ROUTED").await);

    t.server.ok(RESOLVE, json!({"ids": [alert_id]})).await;
    let r = &t.rx.wait_for(2, WAIT).await[1];
    assert_eq!(r.json()["status"], "resolved");
    assert_eq!(r.json()["deduplication_key"], alert_id.as_str());
}

#[tokio::test]
async fn splunk_sends_the_payload_as_a_hec_event() {
    let t = Setup::new("splunk", |u| json!({"hecUrl": u, "hecToken": "hec-secret-token", "sourcetype": "panther:alert", "index": "security"})).await;
    t.rx.default_reply(Reply::status(200).body(r#"{"text":"Success","code":0}"#));
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/services/collector/event")
    );
    assert_eq!(r.header("authorization"), Some("Splunk hec-secret-token"));
    let b = r.json();
    assert_eq!(b["sourcetype"], "panther:alert");
    assert_eq!(b["index"], "security");
    assert_eq!(b["event"]["alertId"], alert_id.as_str());
    assert_eq!(b["event"]["title"], "Suspicious login for root");
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

// ---------------------------------------------------------------- ticketing

#[tokio::test]
async fn jira_creates_an_issue_with_basic_auth_and_stores_its_key() {
    let t = Setup::new("jira", |u| {
        json!({"orgDomain": "acme.atlassian.net", "projectKey": "SEC", "userName": "bot@acme.com", "apiKey": "jira-api-token",
               "issueType": "Bug", "assigneeId": "5b10ac8d82e05b22cc7d4ef5", "labels": ["panther", "aws"], "apiUrl": u})
    })
    .await;
    t.rx.default_reply(Reply::status(201).body(format!(
        r#"{{"id":"10001","key":"SEC-17","self":"{}/rest/api/2/issue/10001"}}"#,
        t.rx.url
    )));
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/rest/api/2/issue")
    );
    assert_eq!(
        r.header("authorization").unwrap(),
        format!("Basic {}", STANDARD.encode("bot@acme.com:jira-api-token"))
    );
    let f = &r.json()["fields"];
    assert_eq!(f["project"]["key"], "SEC");
    assert_eq!(f["issuetype"]["name"], "Bug");
    assert_eq!(f["summary"], "Suspicious login for root");
    assert_eq!(f["labels"], json!(["panther", "aws"]));
    assert_eq!(f["assignee"]["id"], "5b10ac8d82e05b22cc7d4ef5");
    assert!(f["description"]
        .as_str()
        .unwrap()
        .contains("Root logged in from a new country."));
    let d = t.finished(&alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["externalId"], "SEC-17");
    assert_eq!(d["url"], format!("{}/browse/SEC-17", t.rx.url));
}

#[tokio::test]
async fn jira_data_center_uses_a_bearer_pat() {
    let t = Setup::new("jiraDataCenter", |u| json!({"url": format!("{u}/jira"), "projectKey": "OPS", "personalAccessToken": "dc-pat-secret", "labels": ["sec"]})).await;
    t.rx.default_reply(Reply::status(201).body(format!(
        r#"{{"id":"2","key":"OPS-2","self":"{}/jira/rest/api/2/issue/2"}}"#,
        t.rx.url
    )));
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/jira/rest/api/2/issue")
    );
    assert_eq!(r.header("authorization"), Some("Bearer dc-pat-secret"));
    assert_eq!(r.json()["fields"]["project"]["key"], "OPS");
    assert_eq!(r.json()["fields"]["issuetype"]["name"], "Task");
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["externalId"], "OPS-2");
    assert_eq!(d["url"], format!("{}/jira/browse/OPS-2", t.rx.url));
}

#[tokio::test]
async fn github_opens_an_issue_and_stores_its_url() {
    let t = Setup::new(
        "github",
        |u| json!({"repoName": "acme/sec-alerts", "token": "ghp_secret_token", "apiUrl": u}),
    )
    .await;
    t.rx.default_reply(
        Reply::status(201)
            .body(r#"{"number":42,"html_url":"https://github.com/acme/sec-alerts/issues/42"}"#),
    );
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/repos/acme/sec-alerts/issues")
    );
    assert_eq!(r.header("authorization"), Some("Bearer ghp_secret_token"));
    assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
    let b = r.json();
    assert_eq!(b["title"], "[HIGH] Suspicious login for root");
    let body = b["body"].as_str().unwrap();
    assert!(
        body.contains("**Severity:** HIGH")
            && body.contains("```json")
            && body.contains("203.0.113.7"),
        "{body}"
    );
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["externalId"], "#42");
    assert_eq!(d["url"], "https://github.com/acme/sec-alerts/issues/42");
}

#[tokio::test]
async fn asana_creates_a_task_in_the_projects() {
    let t = Setup::new("asana", |u| json!({"personalAccessToken": "asana-pat-secret", "projectGids": ["1200", "1201"], "apiUrl": u})).await;
    t.rx.default_reply(
        Reply::status(201).body(
            r#"{"data":{"gid":"98765","permalink_url":"https://app.asana.com/0/1200/98765"}}"#,
        ),
    );
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/tasks"));
    assert_eq!(r.header("authorization"), Some("Bearer asana-pat-secret"));
    let b = r.json();
    assert_eq!(b["data"]["name"], "Suspicious login for root");
    assert_eq!(b["data"]["projects"], json!(["1200", "1201"]));
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["externalId"], "98765");
    assert_eq!(d["url"], "https://app.asana.com/0/1200/98765");
}

// ---------------------------------------------------------------- cloud

#[tokio::test]
async fn sns_publishes_with_sigv4() {
    let t = Setup::new("sns", |u| {
        json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "accessKeyId": "AKIAHERALDTEST", "secretAccessKey": "aws-secret-access-key", "apiUrl": u})
    })
    .await;
    t.rx.default_reply(Reply::status(200).body("<PublishResponse><PublishResult><MessageId>msg-1</MessageId></PublishResult></PublishResponse>"));
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    let auth = r.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST/"),
        "{auth}"
    );
    assert!(
        auth.contains("/us-east-1/sns/aws4_request") && auth.contains("Signature="),
        "{auth}"
    );
    assert!(r.header("x-amz-date").is_some());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
    let f = form(r);
    assert_eq!(f["Action"], "Publish");
    assert_eq!(f["TopicArn"], "arn:aws:sns:us-east-1:123456789012:alerts");
    assert_eq!(f["Subject"], "Suspicious login for root");
    let message: Value = serde_json::from_str(&f["Message"]).unwrap();
    assert_eq!(message["alertId"], alert_id.as_str());
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["externalId"], "msg-1");
}

#[tokio::test]
async fn sqs_sends_a_message_with_sigv4() {
    let t = Setup::new("sqs", |u| {
        json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/alerts", "accessKeyId": "AKIAHERALDTEST", "secretAccessKey": "aws-secret-access-key", "apiUrl": u})
    })
    .await;
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    let auth = r.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST/"),
        "{auth}"
    );
    assert!(auth.contains("/eu-west-1/sqs/aws4_request"), "{auth}");
    let f = form(r);
    assert_eq!(f["Action"], "SendMessage");
    assert_eq!(
        f["QueueUrl"],
        "https://sqs.eu-west-1.amazonaws.com/123456789012/alerts"
    );
    let body: Value = serde_json::from_str(&f["MessageBody"]).unwrap();
    assert_eq!(body["alertId"], alert_id.as_str());
    assert_eq!(body["severity"], "HIGH");
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

fn service_account_key_for(email: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "acme-sec",
        "private_key_id": "kid-1",
        "private_key": TEST_RSA_PRIVATE,
        "client_email": email,
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

#[tokio::test]
async fn google_pub_sub_exchanges_a_jwt_and_publishes() {
    let email = format!(
        "herald-{}@acme-sec.iam.gserviceaccount.com",
        uuid::Uuid::new_v4().simple()
    );
    let key = service_account_key_for(&email);
    let t = Setup::new("googlePubSub", |u| {
        json!({"projectId": "acme-sec", "topicId": "alerts", "serviceAccountKey": key, "apiUrl": u, "tokenUri": format!("{u}/token")})
    })
    .await;
    t.rx.push(Reply::status(200).body(
        r#"{"access_token":"ya29.test-access-token","expires_in":3599,"token_type":"Bearer"}"#,
    ));
    t.rx.default_reply(Reply::status(200).body(r#"{"messageIds":["4242"]}"#));
    let alert_id = t.alert().await;
    let reqs = t.rx.wait_for(2, WAIT).await;
    let tok = &reqs[0];
    assert_eq!((tok.method.as_str(), tok.path.as_str()), ("POST", "/token"));
    let f = form(tok);
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[format!("{}/token", t.rx.url)]);
    let claims = jsonwebtoken::decode::<Value>(
        &f["assertion"],
        &jsonwebtoken::DecodingKey::from_rsa_pem(TEST_RSA_PUBLIC.as_bytes()).unwrap(),
        &validation,
    )
    .expect("the assertion is an RS256 JWT signed by the service account key")
    .claims;
    assert_eq!(claims["iss"], email.as_str());
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/pubsub");

    let publish = &reqs[1];
    assert_eq!(
        (publish.method.as_str(), publish.path.as_str()),
        ("POST", "/v1/projects/acme-sec/topics/alerts:publish")
    );
    assert_eq!(
        publish.header("authorization"),
        Some("Bearer ya29.test-access-token")
    );
    let m = &publish.json()["messages"][0];
    let data: Value =
        serde_json::from_slice(&STANDARD.decode(m["data"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(data["alertId"], alert_id.as_str());
    assert_eq!(m["attributes"]["severity"], "HIGH");
    let d = t.finished(&alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["externalId"], "4242");

    // The token is cached: the next alert publishes without another exchange.
    let mut input = alert_input(&t.output_id, "Another root login");
    input["detectionId"] = json!("GCP.Other.Detection");
    let second = t
        .server
        .ok(ops::CREATE_ALERT, json!({"input": input}))
        .await["createAlert"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reqs = t.rx.wait_for(3, WAIT).await;
    assert!(reqs[2].path.ends_with(":publish"), "{:?}", reqs[2].path);
    succeeded(&t.finished(&second, "ROUTED").await);
    assert_eq!(t.rx.requests().len(), 3);
}

#[tokio::test]
async fn google_pub_sub_rejects_a_key_that_is_not_a_service_account_key() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let (code, msg) = s
        .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "ps", "outputConfig": {"googlePubSub": {"projectId": "p", "topicId": "t", "serviceAccountKey": "{\"client_email\":\"a@b\",\"private_key\":\"nope\"}"}}, "defaultForSeverity": []}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        msg.contains("serviceAccountKey.private_key: is not an RSA private key"),
        "{msg}"
    );
    assert!(!msg.contains("nope"), "{msg}");
}

// ---------------------------------------------------------------- JSON webhooks

async fn payload_webhook(field: &str, extra: Value, expect_header: Option<(&str, &str)>) {
    let t = Setup::new(field, |u| {
        let mut c = json!({"webhookURL": format!("{u}/hooks/{field}/s3cret")});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    })
    .await;
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", format!("/hooks/{field}/s3cret").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    if let Some((k, v)) = expect_header {
        assert_eq!(r.header(k), Some(v), "{field}");
    }
    let b = r.json();
    assert_eq!(b["alertId"], alert_id.as_str());
    assert_eq!(b["title"], "Suspicious login for root");
    assert_eq!(b["alertContext"]["ip"], "203.0.113.7");
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

#[tokio::test]
async fn tines_gets_the_payload() {
    payload_webhook("tines", json!({}), None).await;
}

#[tokio::test]
async fn rapid7_gets_the_payload() {
    payload_webhook("rapid7", json!({}), None).await;
}

#[tokio::test]
async fn torq_gets_the_payload_with_its_auth_header() {
    payload_webhook(
        "torq",
        json!({"authHeaderName": "X-Torq-Secret", "authHeaderValue": "torq-secret"}),
        Some(("x-torq-secret", "torq-secret")),
    )
    .await;
}

#[tokio::test]
async fn blink_ops_gets_the_payload_with_its_auth_header() {
    payload_webhook(
        "blinkOps",
        json!({"authHeaderName": "Authorization", "authHeaderValue": "Bearer blink-secret"}),
        Some(("authorization", "Bearer blink-secret")),
    )
    .await;
}

#[tokio::test]
async fn mindflow_gets_the_payload_with_its_auth_header() {
    payload_webhook(
        "mindflow",
        json!({"authHeaderName": "X-Api-Key", "authHeaderValue": "mf-secret"}),
        Some(("x-api-key", "mf-secret")),
    )
    .await;
}

#[tokio::test]
async fn service_now_gets_the_payload_with_basic_auth() {
    let expected = format!("Basic {}", STANDARD.encode("herald:sn-password"));
    payload_webhook(
        "serviceNow",
        json!({"username": "herald", "password": "sn-password"}),
        Some(("authorization", expected.as_str())),
    )
    .await;
}

#[tokio::test]
async fn auth_header_value_needs_a_name() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let (code, msg) = s
        .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "t", "outputConfig": {"torq": {"webhookURL": "https://hooks.torq.io/v1/x", "authHeaderValue": "v"}}, "defaultForSeverity": []}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        msg.contains("outputConfig.torq.authHeaderName: is required"),
        "{msg}"
    );
}

// ---------------------------------------------------------------- templates

#[tokio::test]
async fn custom_webhook_payload_template_shapes_the_body() {
    let tmpl = r#"{"summary": {{ title|tojson }}, "sev": "{{ severity|lower }}", "ip": "{{ alertContext.ip }}", "tags": {{ tags|tojson }}}"#;
    let t = Setup::new(
        "customWebhook",
        |u| json!({"webhookURL": format!("{u}/in"), "payloadTemplate": tmpl}),
    )
    .await;
    let alert_id = t.alert().await;
    let r = &t.rx.wait_for(1, WAIT).await[0];
    assert_eq!(
        r.json(),
        json!({"summary": "Suspicious login for root", "sev": "high", "ip": "203.0.113.7", "tags": ["aws", "root"]})
    );
    succeeded(&t.finished(&alert_id, "ROUTED").await);
}

#[tokio::test]
async fn template_syntax_errors_are_rejected_with_the_line() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    for (field, config) in [
        (
            "customWebhook",
            json!({"webhookURL": "https://example.com/x", "payloadTemplate": "{\n  \"t\": {{ title }\n}"}),
        ),
        (
            "tines",
            json!({"webhookURL": "https://example.com/x", "payloadTemplate": "ok\n\n{% if %}"}),
        ),
        (
            "slack",
            json!({"webhookURL": "https://example.com/x", "messageTemplate": "{% for x in tags %}"}),
        ),
    ] {
        let (code, msg) = s
            .err(ops::ADD_DESTINATION, json!({"input": {"displayName": field, "outputConfig": {field: config}, "defaultForSeverity": []}}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{field}");
        assert!(msg.contains("syntax error on line"), "{field}: {msg}");
    }
    let (_, msg) = s
        .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "x", "outputConfig": {"customWebhook": {"webhookURL": "https://example.com/x", "payloadTemplate": "{\n  \"t\": {{ title }\n}"}}, "defaultForSeverity": []}}))
        .await;
    assert!(
        msg.starts_with("outputConfig.customwebhook.payloadTemplate: syntax error on line 2"),
        "{msg}"
    );
}

#[tokio::test]
async fn template_render_errors_fail_the_delivery_with_the_reason() {
    let t = Setup::new("customWebhook", |u| json!({"webhookURL": format!("{u}/in"), "payloadTemplate": "{\"x\": \"{{ alertContext.missing.deeper }}\"}"})).await;
    let alert_id = t.alert().await;
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["status"], "FAILED", "{d:#}");
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.starts_with("payloadTemplate: render error on line 1"),
        "{msg}"
    );
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        1,
        "a render error is permanent"
    );
    assert!(t.rx.requests().is_empty());
    // The alert itself is still there.
    let a = t
        .server
        .ok(
            r#"query($id: ID!) { alert(id: $id) { id title } }"#,
            json!({"id": alert_id}),
        )
        .await;
    assert_eq!(a["alert"]["title"], "Suspicious login for root");
}

// ---------------------------------------------------------------- e-mail

/// A received message: envelope sender, recipients, and the DATA text.
type Mail = (String, Vec<String>, String);

/// A tiny SMTP server on 127.0.0.1: enough of RFC 5321 for one client. Records messages.
struct Smtp {
    url: String,
    messages: Arc<Mutex<Vec<Mail>>>,
    /// `AUTH PLAIN` credentials as `|user|password`.
    auths: Arc<Mutex<Vec<String>>>,
}

impl Smtp {
    async fn start() -> Self {
        Self::rejecting(0).await
    }

    /// A server answering the first `rejects` messages with `451` (try again later);
    /// rejected messages are recorded too.
    async fn rejecting(rejects: usize) -> Self {
        let rejects = Arc::new(std::sync::atomic::AtomicUsize::new(rejects));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let messages: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let store = messages.clone();
        let auths: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = auths.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                let auths = seen.clone();
                let rejects = rejects.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    w.write_all(b"220 smtp.test ESMTP ready\r\n").await.ok();
                    let (mut from, mut to, mut data, mut in_data) =
                        (String::new(), Vec::new(), String::new(), false);
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                store.lock().unwrap().push((
                                    from.clone(),
                                    to.clone(),
                                    data.clone(),
                                ));
                                let reject = rejects
                                    .fetch_update(
                                        std::sync::atomic::Ordering::SeqCst,
                                        std::sync::atomic::Ordering::SeqCst,
                                        |n| n.checked_sub(1),
                                    )
                                    .is_ok();
                                let reply: &[u8] = if reject {
                                    b"451 4.3.0 try again later\r\n"
                                } else {
                                    b"250 2.0.0 queued\r\n"
                                };
                                w.write_all(reply).await.ok();
                            } else {
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                                data.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-smtp.test\r\n250 AUTH PLAIN\r\n"
                        } else if upper.starts_with("AUTH PLAIN ") {
                            let raw = STANDARD.decode(line[11..].trim()).unwrap_or_default();
                            auths
                                .lock()
                                .unwrap()
                                .push(String::from_utf8_lossy(&raw).replace('\0', "|"));
                            b"235 2.7.0 ok\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            from = line[10..].trim().to_string();
                            b"250 2.1.0 ok\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            to.push(line[8..].trim().to_string());
                            b"250 2.1.5 ok\r\n"
                        } else if upper == "DATA" {
                            in_data = true;
                            b"354 end with <CRLF>.<CRLF>\r\n"
                        } else if upper == "QUIT" {
                            w.write_all(b"221 2.0.0 bye\r\n").await.ok();
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        w.write_all(reply).await.ok();
                    }
                });
            }
        });
        Smtp {
            url,
            messages,
            auths,
        }
    }
}

#[tokio::test]
async fn email_is_sent_over_smtp() {
    let smtp = Smtp::start().await;
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let id = add_of_type(&s, "email", json!({"smtpUrl": smtp.url, "from": "Herald <herald@example.com>", "to": ["soc@example.com", "oncall@example.com"]})).await;
    let alert_id = create_alert_to(&s, &id, "Suspicious login for root").await;
    let d = finished(&s, &alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["statusCode"], 250);
    let msgs = smtp.messages.lock().unwrap().clone();
    assert_eq!(msgs.len(), 1);
    let (from, to, data) = &msgs[0];
    assert_eq!(from, "<herald@example.com>");
    assert_eq!(to, &["<soc@example.com>", "<oncall@example.com>"]);
    assert!(
        data.contains("Subject: [HIGH] Suspicious login for root"),
        "{data}"
    );
    assert!(
        data.contains("multipart/alternative") && data.contains("text/html"),
        "{data}"
    );
    assert!(
        data.contains("Root logged in from a new country."),
        "{data}"
    );
    assert!(
        data.contains(&format!("https://herald.test/alerts/{alert_id}")),
        "{data}"
    );
}

/// The `Message-ID` header of a message's text.
fn message_id_header(data: &str) -> String {
    data.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap_or_else(|| panic!("no Message-ID in {data}"))
        .to_string()
}

/// RFC 5322 §3.6.4: every message has a `Message-ID` (large providers refuse mail
/// without one) and a `Date`; the id is derived from the delivery, so a retried
/// delivery carries the same one.
#[tokio::test]
async fn email_has_a_message_id_stable_across_retries() {
    let smtp = Smtp::rejecting(1).await;
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let id = add_of_type(&s, "email", json!({"smtpUrl": smtp.url, "from": "Herald <herald@example.com>", "to": ["soc@example.com"]})).await;
    let alert_id = create_alert_to(&s, &id, "Suspicious login for root").await;
    let d = finished(&s, &alert_id, "ROUTED").await;
    succeeded(&d);
    assert_eq!(d["attempts"].as_array().unwrap().len(), 2, "{d:#}");
    assert_eq!(d["attempts"][0]["statusCode"], 451, "{d:#}");
    let msgs = smtp.messages.lock().unwrap().clone();
    assert_eq!(msgs.len(), 2);
    let first = message_id_header(&msgs[0].2);
    let second = message_id_header(&msgs[1].2);
    assert_eq!(first, second, "the retry carries the same Message-ID");
    assert!(
        first.starts_with('<') && first.ends_with("@herald.example.com>"),
        "{first}"
    );
    for (_, _, data) in &msgs {
        assert!(data.lines().any(|l| l.starts_with("Date: ")), "{data}");
    }
    // Another delivery (a test send) has another id.
    let t = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(t["sendTestAlert"][0]["success"], true, "{t:#}");
    let msgs = smtp.messages.lock().unwrap().clone();
    assert_eq!(msgs.len(), 3);
    assert_ne!(message_id_header(&msgs[2].2), first);
}

#[tokio::test]
async fn email_to_a_closed_port_is_retried_then_fails() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let id = add_of_type(&s, "email", json!({"smtpUrl": format!("smtp://127.0.0.1:{port}"), "from": "herald@example.com", "to": ["soc@example.com"], "username": "u", "password": "smtp-secret-pw"})).await;
    let alert_id = create_alert_to(&s, &id, "x").await;
    let d = finished(&s, &alert_id, "ROUTED").await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        5,
        "connection errors are retried"
    );
    assert!(
        d["message"].as_str().unwrap().starts_with("SMTP error"),
        "{d:#}"
    );
}

// ---------------------------------------------------------------- every type

/// A config per type pointing at `rx` (or `smtp`), and the secret it holds.
fn every_type(rx: &str, smtp: &str) -> Vec<(&'static str, Value, &'static str)> {
    let sa = service_account_key_for(&format!(
        "all-{}@acme-sec.iam.gserviceaccount.com",
        uuid::Uuid::new_v4().simple()
    ));
    vec![
        (
            "customWebhook",
            json!({"webhookURL": format!("{rx}/cw"), "headers": [{"key": "X-Key", "value": "cw-header-secret"}], "signingSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
            "cw-header-secret",
        ),
        (
            "slack",
            json!({"webhookURL": format!("{rx}/services/T/B/slack-secret-path")}),
            "slack-secret-path",
        ),
        (
            "slackBot",
            json!({"botToken": "xoxb-all-secret", "channel": "C1", "apiUrl": rx}),
            "xoxb-all-secret",
        ),
        (
            "msTeams",
            json!({"webhookURL": format!("{rx}/teams-secret-path")}),
            "teams-secret-path",
        ),
        (
            "discord",
            json!({"webhookURL": format!("{rx}/discord-secret-path")}),
            "discord-secret-path",
        ),
        (
            "pagerDuty",
            json!({"integrationKey": PD_KEY, "apiUrl": rx}),
            PD_KEY,
        ),
        (
            "opsgenie",
            json!({"apiKey": "og-all-secret", "apiUrl": rx}),
            "og-all-secret",
        ),
        (
            "jira",
            json!({"orgDomain": "acme.atlassian.net", "projectKey": "SEC", "userName": "bot@acme.com", "apiKey": "jira-all-secret", "apiUrl": rx}),
            "jira-all-secret",
        ),
        (
            "jiraDataCenter",
            json!({"url": rx, "projectKey": "SEC", "personalAccessToken": "jdc-all-secret"}),
            "jdc-all-secret",
        ),
        (
            "github",
            json!({"repoName": "acme/alerts", "token": "ghp_all_secret", "apiUrl": rx}),
            "ghp_all_secret",
        ),
        (
            "asana",
            json!({"personalAccessToken": "asana-all-secret", "projectGids": ["1"], "apiUrl": rx}),
            "asana-all-secret",
        ),
        (
            "sns",
            json!({"topicArn": "arn:aws:sns:us-east-1:123456789012:t", "accessKeyId": "AKIAALL", "secretAccessKey": "sns-all-secret", "apiUrl": rx}),
            "sns-all-secret",
        ),
        (
            "sqs",
            json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/1/q", "accessKeyId": "AKIAALL", "secretAccessKey": "sqs-all-secret", "apiUrl": rx}),
            "sqs-all-secret",
        ),
        (
            "googlePubSub",
            json!({"projectId": "p", "topicId": "t", "serviceAccountKey": sa, "apiUrl": rx, "tokenUri": format!("{rx}/token")}),
            "BEGIN PRIVATE KEY",
        ),
        (
            "splunk",
            json!({"hecUrl": rx, "hecToken": "hec-all-secret"}),
            "hec-all-secret",
        ),
        (
            "incidentIo",
            json!({"alertSourceUrl": format!("{rx}/v2/alert_events/http/x"), "token": "inc-all-secret"}),
            "inc-all-secret",
        ),
        (
            "tines",
            json!({"webhookURL": format!("{rx}/tines-secret-path")}),
            "tines-secret-path",
        ),
        (
            "torq",
            json!({"webhookURL": format!("{rx}/torq"), "authHeaderName": "X-Torq", "authHeaderValue": "torq-all-secret"}),
            "torq-all-secret",
        ),
        (
            "blinkOps",
            json!({"webhookURL": format!("{rx}/blink"), "authHeaderName": "X-Blink", "authHeaderValue": "blink-all-secret"}),
            "blink-all-secret",
        ),
        (
            "mindflow",
            json!({"webhookURL": format!("{rx}/mf"), "authHeaderName": "X-Mf", "authHeaderValue": "mf-all-secret"}),
            "mf-all-secret",
        ),
        (
            "serviceNow",
            json!({"webhookURL": format!("{rx}/sn"), "username": "herald", "password": "sn-all-secret"}),
            "sn-all-secret",
        ),
        (
            "rapid7",
            json!({"webhookURL": format!("{rx}/rapid7-secret-path")}),
            "rapid7-secret-path",
        ),
        (
            "email",
            json!({"smtpUrl": smtp, "from": "herald@example.com", "to": ["soc@example.com"], "username": "u", "password": "smtp-all-secret"}),
            "smtp-all-secret",
        ),
    ]
}

#[tokio::test]
async fn send_test_alert_and_preview_work_for_every_type() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let rx = Receiver::start().await;
    // One reply that satisfies every vendor, the token endpoint included.
    rx.default_reply(Reply::status(200).body(r#"{"ok":true,"ts":"1.2","access_token":"ya29.all","expires_in":3600,"messageIds":["1"],"code":0}"#));
    let smtp = Smtp::start().await;
    let cases = every_type(&rx.url, &smtp.url);
    let types: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(types.len(), 23);
    for (field, config, secret) in cases {
        let id = add_of_type(&s, field, config.clone()).await;
        let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
        let report = &r["sendTestAlert"][0];
        assert_eq!(report["success"], true, "{field}: {report:#}");

        // A stored destination, the test alert.
        let p = s
            .ok(ops::PREVIEW_PAYLOAD, json!({"input": {"outputId": id}}))
            .await["previewPayload"]
            .clone();
        let text = p.to_string();
        assert!(
            !text.contains(secret),
            "{field} preview leaks its secret: {p:#}"
        );
        if field == "email" {
            assert_eq!(p["method"], "SMTP");
            assert_eq!(p["url"], format!("{}", smtp.url));
            assert!(
                p["body"].as_str().unwrap().contains("This is a Test Alert"),
                "{p:#}"
            );
        } else {
            assert_eq!(p["method"], "POST", "{field}");
            // Where the whole URL is the secret, it is masked whole.
            let url = p["url"].as_str().unwrap();
            assert!(
                url.starts_with(&rx.url) || url == "********",
                "{field}: {p:#}"
            );
            assert!(
                p["body"].as_str().unwrap().contains("This is a Test Alert")
                    || field == "googlePubSub"
                    || field == "sns"
                    || field == "sqs",
                "{field}: {p:#}"
            );
        }

        // An unsaved config and a given alert.
        let p = s
            .ok(ops::PREVIEW_PAYLOAD, json!({"input": {"outputConfig": {field: config}, "alert": alert_input("x", "Preview of a root login")}}))
            .await["previewPayload"]
            .clone();
        assert!(
            !p.to_string().contains(secret),
            "{field} preview leaks its secret: {p:#}"
        );
        let body = p["body"].as_str().unwrap();
        let shown = match field {
            "googlePubSub" => {
                let data = serde_json::from_str::<Value>(body).unwrap()["messages"][0]["data"]
                    .as_str()
                    .unwrap()
                    .to_string();
                String::from_utf8(STANDARD.decode(data).unwrap()).unwrap()
            }
            "sns" | "sqs" => url::form_urlencoded::parse(body.as_bytes())
                .map(|(_, v)| v.into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            _ => body.to_string(),
        };
        assert!(shown.contains("Preview of a root login"), "{field}: {p:#}");
    }
    // Nothing was sent by the previews: one request per test send (plus one token exchange).
    assert_eq!(rx.requests().len(), 22 + 1);
    assert_eq!(smtp.messages.lock().unwrap().len(), 1);
    assert_eq!(smtp.auths.lock().unwrap().clone(), ["|u|smtp-all-secret"]);
}

#[tokio::test]
async fn preview_of_a_stored_destination_keeps_its_secrets_and_uses_the_new_template() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let id = add_of_type(&s, "customWebhook", json!({"webhookURL": "https://hooks.example.com/secret-hook-path", "headers": [{"key": "Authorization", "value": "Bearer secret-header"}]})).await;
    let p = s
        .ok(ops::PREVIEW_PAYLOAD, json!({"input": {"outputId": id, "outputConfig": {"customWebhook": {"webhookURL": "", "headers": [{"key": "Authorization", "value": ""}], "payloadTemplate": "{\"t\": {{ title|tojson }}, \"d\": {{ name|tojson }}}"}}, "alert": alert_input("x", "Templated")}}))
        .await["previewPayload"]
        .clone();
    // The whole webhook URL is the secret.
    assert_eq!(p["url"], "********");
    assert_eq!(p["body"], r#"{"t": "Templated", "d": "AWS.Root.Login"}"#);
    let auth = p["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "Authorization")
        .unwrap();
    assert_eq!(auth["value"], "********");
    // A template that cannot render is reported.
    let (code, msg) = s
        .err(ops::PREVIEW_PAYLOAD, json!({"input": {"outputId": id, "outputConfig": {"customWebhook": {"webhookURL": "", "payloadTemplate": "{{ alertContext.a.b }}"}}}}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("render error"), "{msg}");
    let (code, _) = s.err(ops::PREVIEW_PAYLOAD, json!({"input": {}})).await;
    assert_eq!(code, "BAD_USER_INPUT");
}

// ---------------------------------------------------------------- secrets

async fn secrets_never_leak(db: TestDb) {
    let secret = "ghp_very_secret_token_123";
    let t = Setup::on(
        db,
        "github",
        |u| json!({"repoName": "acme/alerts", "token": secret, "apiUrl": u}),
    )
    .await;
    // A vendor that echoes the credential back in its error.
    t.rx.default_reply(
        Reply::status(400).body(format!(r#"{{"message":"Bad credentials: {secret}"}}"#)),
    );
    let alert_id = t.alert().await;
    let d = t.finished(&alert_id, "ROUTED").await;
    assert_eq!(d["status"], "FAILED");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("Bad credentials: ********"),
        "{d:#}"
    );
    let test = t
        .server
        .ok(ops::SEND_TEST_ALERT, json!({"ids": [t.output_id]}))
        .await;
    let everything = [
        t.server
            .ok(ops::ALERT_DELIVERIES, json!({"id": alert_id}))
            .await,
        test,
        t.server
            .ok(
                r#"{ destinations { outputConfig { github { repoName token apiUrl } } } }"#,
                json!({}),
            )
            .await,
        t.server
            .ok(
                ops::PREVIEW_PAYLOAD,
                json!({"input": {"outputId": t.output_id}}),
            )
            .await,
    ];
    for v in &everything {
        assert!(!v.to_string().contains(secret), "secret leaked: {v:#}");
    }
    assert_eq!(
        everything[2]["destinations"][0]["outputConfig"]["github"]["token"],
        "********"
    );
    // The stored secret is still used.
    let reqs = t.rx.requests();
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("Bearer {secret}"))));
}

on_both!(secrets_never_leak, pager_duty_round_trip);

async fn pager_duty_round_trip(db: TestDb) {
    let t = Setup::on(
        db,
        "pagerDuty",
        |u| json!({"integrationKey": PD_KEY, "apiUrl": u}),
    )
    .await;
    t.rx.default_reply(Reply::status(202).body(r#"{"status":"success","dedup_key":"dk"}"#));
    let alert_id = t.alert().await;
    succeeded(&t.finished(&alert_id, "ROUTED").await);
    t.server.ok(RESOLVE, json!({"ids": [alert_id]})).await;
    succeeded(&t.finished(&alert_id, "RESOLVE").await);
    let reqs = t.rx.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].json()["event_action"], "resolve");
}
