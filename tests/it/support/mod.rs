//! Test harness: real databases (a SQLite file, or a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set), the real server on a free port, and real HTTP
//! receivers on 127.0.0.1 standing in for destinations.

pub mod browser;
pub mod client;
pub mod process;

pub use client::GqlClient;

use crate::ops;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use herald::app::Running;
use herald::config::ServeArgs;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Run an async test body against SQLite, and against PostgreSQL when configured.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::TestDb::sqlite().await;
                    super::$name(db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(herald_pg), ignore = "TEST_DATABASE_URL was not set when the tests were built: PostgreSQL run skipped")]
                async fn $name() {
                    let Some(db) = $crate::support::TestDb::postgres().await else {
                        eprintln!("TEST_DATABASE_URL not set: skipping the PostgreSQL run");
                        return;
                    };
                    super::$name(db).await;
                }
            )+
        }
    };
}

/// Tests that only make sense on PostgreSQL (a shared server, backends to terminate):
/// ignored, with the reason, when `TEST_DATABASE_URL` was not set at build time.
macro_rules! on_postgres {
    ($($name:ident),+ $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(herald_pg), ignore = "TEST_DATABASE_URL was not set when the tests were built: PostgreSQL run skipped")]
                async fn $name() {
                    let Some(db) = $crate::support::TestDb::postgres().await else {
                        eprintln!("TEST_DATABASE_URL not set: skipping the PostgreSQL run");
                        return;
                    };
                    super::$name(db).await;
                }
            )+
        }
    };
}

pub struct TestDb {
    pub url: String,
    pub is_postgres: bool,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("herald.db").display()
        );
        TestDb {
            url,
            is_postgres: false,
            _dir: Some(dir),
        }
    }

    /// A database this test does not own (nothing is dropped with it): a URL to hand
    /// to a process.
    pub fn unowned(url: &str) -> Self {
        TestDb {
            url: url.to_string(),
            is_postgres: false,
            _dir: None,
        }
    }

    /// Make sure the database exists, as a server's first start would: `herald token`
    /// and `herald secrets` only open an existing one. SQLite: an empty file (a valid,
    /// empty database that the command then migrates); PostgreSQL: already created.
    pub fn ensure_exists(&self) {
        // Never open an existing file: closing any descriptor of it would drop the POSIX
        // locks SQLite holds on it in this process (an in-process server's).
        if let Some(file) = herald::crypto::sqlite_file(&self.url) {
            if !std::path::Path::new(&file).exists() {
                std::fs::File::create_new(&file).expect("create the SQLite file");
            }
        }
    }

    /// An SQLite file at `path` (the caller owns the folder).
    pub fn sqlite_at(path: &std::path::Path) -> Self {
        TestDb {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            is_postgres: false,
            _dir: None,
        }
    }

    /// A fresh database on the server `TEST_DATABASE_URL` points to.
    pub async fn postgres() -> Option<Self> {
        let admin = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        use sea_orm::ConnectionTrait;
        let name = format!("herald_t_{}", uuid::Uuid::new_v4().simple());
        let conn = sea_orm::Database::connect(&admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            url: url.to_string(),
            is_postgres: true,
            _dir: None,
        })
    }
}

impl Drop for TestDb {
    /// A throw-away PostgreSQL database is dropped with its test (`WITH (FORCE)` ends
    /// any connection a server still holds), so runs leave nothing behind.
    fn drop(&mut self) {
        if !self.is_postgres {
            return;
        }
        let Some(admin) = std::env::var("TEST_DATABASE_URL").ok() else {
            return;
        };
        let Some(name) = self.url.rsplit('/').next().map(str::to_owned) else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sea_orm::ConnectionTrait;
                let conn = sea_orm::Database::connect(&admin).await.ok()?;
                let dropped = conn
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                conn.close().await.ok();
                dropped.ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.url);
        }
    }
}

/// The tests' conveniences on the shared client.
impl GqlClient {
    /// The same endpoint with another token.
    pub fn with_token(&self, token: &str) -> Self {
        GqlClient {
            token: token.to_string(),
            ..self.clone()
        }
    }

    /// The whole JSON reply of a request that must be answered with JSON.
    pub async fn reply(&self, query: &str, variables: Value) -> Value {
        let (status, v) = self.post(query, variables).await;
        assert!(
            status != 0 && !v.is_null(),
            "no JSON reply (status {status})"
        );
        v
    }

    /// `data` of a request that must succeed (200, no errors).
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let (status, v) = self.post(query, variables).await;
        assert!(
            status == 200 && v.get("errors").is_none(),
            "{status}: {v:#}"
        );
        v["data"].clone()
    }
}

/// Settings that keep tests fast: millisecond retries, short polls.
pub fn test_args(db: &TestDb) -> ServeArgs {
    let mut a = ServeArgs::for_database(&db.url);
    a.listen = "127.0.0.1:0".into();
    a.public_url = "https://herald.test".into();
    a.retry_base_delay_ms = 20;
    a.retry_max_delay_ms = 100;
    a.request_timeout_ms = 2000;
    a.lease_ms = 5000;
    a.poll_interval_ms = 50;
    a.max_attempts = 5;
    a.shutdown_grace_ms = 2000;
    a.db.jwt_secret = Some("test-secret-for-herald".into());
    // A fixed key (base64 of 32 bytes) so PostgreSQL runs, which require one, work.
    a.db.encryption_key = Some(TEST_ENCRYPTION_KEY.into());
    // Receivers run on 127.0.0.1, which the SSRF guard refuses by default.
    a.allow_private_networks = true;
    a
}

/// Base64 of 32 bytes: the at-rest encryption key of test servers.
pub const TEST_ENCRYPTION_KEY: &str = "aGVyYWxkLXRlc3QtZW5jcnlwdGlvbi1rZXktMzJieXQ=";

pub struct TestServer {
    pub url: String,
    pub token: String,
    /// For raw HTTP (other paths, headers, bodies); GraphQL goes through `api`.
    pub client: reqwest::Client,
    /// GraphQL with the admin token.
    pub api: GqlClient,
    pub running: Option<Running>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: &TestDb, tweak: impl FnOnce(&mut ServeArgs)) -> Self {
        let mut args = test_args(db);
        tweak(&mut args);
        let running = herald::app::start(args).await.expect("server starts");
        let issued = running
            .services
            .tokens
            .create(
                "test-admin",
                &herald::auth::Permission::ALL,
                None,
                &[],
                "tests",
            )
            .await
            .expect("token");
        let url = format!("http://{}", running.addr);
        TestServer {
            api: GqlClient::new(&url, &issued.value),
            url,
            token: issued.value,
            client: reqwest::Client::new(),
            running: Some(running),
        }
    }

    /// A new API token holding only `permissions`; its value.
    pub async fn token_with(&self, name: &str, permissions: &[herald::auth::Permission]) -> String {
        self.services()
            .tokens
            .create(name, permissions, None, &[], "tests")
            .await
            .expect("a token")
            .value
    }

    pub fn services(&self) -> &herald::service::Services {
        &self.running.as_ref().expect("running").services
    }

    /// POST a GraphQL request with this server's admin token; the whole JSON reply.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.api.reply(query, variables).await
    }

    /// The same with another token.
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        self.api.with_token(token).reply(query, variables).await
    }

    /// `data` of a reply that must have no errors.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let r = self.gql(query, variables).await;
        assert!(r.get("errors").is_none(), "unexpected errors: {r:#}");
        r["data"].clone()
    }

    /// The `extensions.code` and message of the first error of a reply that must fail.
    pub async fn err(&self, query: &str, variables: Value) -> (String, String) {
        let r = self.gql(query, variables).await;
        let e = &r["errors"][0];
        assert!(!e.is_null(), "expected an error: {r:#}");
        (
            e["extensions"]["code"]
                .as_str()
                .unwrap_or("<no code>")
                .to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    }

    // ------------------------------------------------------------- typed operations

    /// Create an alert (a `NewAlert` or any `CreateAlertInput` as JSON); its id.
    pub async fn create_alert(&self, input: impl Into<Value>) -> String {
        let d = self
            .ok(ops::CREATE_ALERT, json!({"input": input.into()}))
            .await;
        str_of(&d["createAlert"]["id"])
    }

    /// Create an alert; the alert with its routing (`ops::CREATE_ALERT_DETAILED`).
    pub async fn create_alert_detailed(&self, input: impl Into<Value>) -> Value {
        self.ok(ops::CREATE_ALERT_DETAILED, json!({"input": input.into()}))
            .await["createAlert"]
            .clone()
    }

    /// Add a destination (a `NewDestination` or any `DestinationInput` as JSON); its id.
    pub async fn add_destination(&self, input: impl Into<Value>) -> String {
        let d = self
            .ok(ops::ADD_DESTINATION, json!({"input": input.into()}))
            .await;
        str_of(&d["addDestination"]["outputId"])
    }

    /// Add a custom webhook to `url`, the default for `severities`; its id.
    pub async fn add_webhook(&self, name: &str, url: &str, severities: &[&str]) -> String {
        self.add_destination(NewDestination {
            severities,
            ..NewDestination::webhook(name, url)
        })
        .await
    }

    /// Create or replace a detection override (`DetectionOverrideInput` as JSON).
    pub async fn put_override(&self, input: Value) {
        self.ok(ops::PUT_OVERRIDE, json!({ "input": input })).await;
    }

    /// Send the test alert to these destinations; one result per destination.
    pub async fn send_test_alert(&self, ids: &[impl AsRef<str>]) -> Vec<Value> {
        let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        let d = self.ok(ops::SEND_TEST_ALERT, json!({ "ids": ids })).await;
        d["sendTestAlert"].as_array().expect("a list").clone()
    }

    /// One page of `alerts` (`input` is an `AlertsInput`): the connection.
    pub async fn alerts_page(&self, input: Value) -> Value {
        self.ok(ops::ALERTS_PAGE, json!({ "input": input })).await["alerts"].clone()
    }

    /// The deliveries of an alert now (`ops::ALERT_DELIVERIES`).
    pub async fn deliveries(&self, alert_id: &str) -> Vec<Value> {
        let d = self
            .ok(ops::ALERT_DELIVERIES, json!({ "id": alert_id }))
            .await;
        d["alert"]["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The deliveries of an alert once there are some and each is SUCCEEDED or FAILED.
    pub async fn settled(&self, alert_id: &str, within: Duration) -> Vec<Value> {
        eventually(within, "deliveries to settle", || async {
            let list = self.deliveries(alert_id).await;
            (!list.is_empty()
                && list
                    .iter()
                    .all(|x| x["status"] == "SUCCEEDED" || x["status"] == "FAILED"))
            .then_some(list)
        })
        .await
    }

    /// Graceful stop; it must succeed.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean stop");
        }
    }
}

impl Drop for TestServer {
    /// A server that was not stopped (its test failed, or ended early) is stopped in
    /// the background, so it neither keeps serving nor keeps claiming deliveries while
    /// other tests run in this process.
    fn drop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = running.stop().await;
                });
            }
            // Outside a runtime its tasks are gone with the runtime that ran them.
            Err(_) => drop(running),
        }
    }
}

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

/// An HTTP server on 127.0.0.1 that records every request and answers from a script
/// (then with the default reply, 200 unless set).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
    _serving: Arc<AbortOnDrop>,
}

/// Aborts a spawned task when dropped (the last clone of its owner is gone).
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let state: Arc<Mutex<ReceiverState>> = Arc::default();
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move {
                    let reply = {
                        let mut s = st.lock().unwrap();
                        s.requests.push(Recorded {
                            method: method.to_string(),
                            path: uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default(),
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                            at: Instant::now(),
                        });
                        s.script
                            .pop_front()
                            .or_else(|| s.default.clone())
                            .unwrap_or_else(|| Reply::status(200).body("ok"))
                    };
                    if !reply.delay.is_zero() {
                        tokio::time::sleep(reply.delay).await;
                    }
                    let mut resp =
                        axum::response::Response::new(axum::body::Body::from(reply.body));
                    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
                    for (k, v) in reply.headers {
                        resp.headers_mut().insert(
                            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                            v.parse().unwrap(),
                        );
                    }
                    resp
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Receiver {
            url: format!("http://{addr}"),
            state,
            _serving: Arc::new(AbortOnDrop(serving)),
        }
    }

    /// Answer the next request(s) with these, in order.
    pub fn push(&self, reply: Reply) -> &Self {
        self.state.lock().unwrap().script.push_back(reply);
        self
    }

    /// Answer with this once the script is used up.
    pub fn default_reply(&self, reply: Reply) -> &Self {
        self.state.lock().unwrap().default = Some(reply);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Wait until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let start = Instant::now();
        loop {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            assert!(
                start.elapsed() < timeout,
                "expected {n} requests, got {}: {r:#?}",
                r.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The ids of an `alerts` page's edges, in order.
pub fn page_ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("an id").to_string())
        .collect()
}

/// Poll `f` until it returns Some, or fail after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A JSON string as a `String` (panics on anything else).
pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// Follow `pageInfo.endCursor` from the first page (`fetch(Null)`) until
/// `hasNextPage` is false; every page (the connection object), in order. `fetch` gets
/// the cursor to pass on.
pub async fn all_pages<F, Fut>(mut fetch: F) -> Vec<Value>
where
    F: FnMut(Value) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut pages = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = fetch(cursor).await;
        let more = page["pageInfo"]["hasNextPage"] == true;
        cursor = page["pageInfo"]["endCursor"].clone();
        pages.push(page);
        assert!(pages.len() <= 1000, "more than 1000 pages: a cursor loops");
        if !more {
            return pages;
        }
    }
}

/// A `CreateAlertInput` with defaults for what a test does not care about:
/// `NewAlert { severity: "LOW", ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct NewAlert<'a> {
    pub detection_id: &'a str,
    pub title: &'a str,
    pub severity: &'a str,
    pub dedup_string: Option<&'a str>,
    /// `generatedDestinations` (names or ids), when set.
    pub destinations: Option<&'a [&'a str]>,
}

impl Default for NewAlert<'_> {
    fn default() -> Self {
        NewAlert {
            detection_id: "Test.Detection",
            title: "t",
            severity: "HIGH",
            dedup_string: None,
            destinations: None,
        }
    }
}

impl From<NewAlert<'_>> for Value {
    fn from(a: NewAlert<'_>) -> Value {
        let mut v =
            json!({"detectionId": a.detection_id, "title": a.title, "severity": a.severity});
        if let Some(d) = a.dedup_string {
            v["dedupString"] = json!(d);
        }
        if let Some(ids) = a.destinations {
            v["generatedDestinations"] = json!(ids);
        }
        v
    }
}

/// A `DestinationInput`: `NewDestination { severities: &["HIGH"], ..NewDestination::webhook("Hook", &url) }`.
#[derive(Clone, Debug)]
pub struct NewDestination<'a> {
    pub name: &'a str,
    /// `outputConfig`: the one-of with one field set (`{"slack": {...}}`).
    pub config: Value,
    pub severities: &'a [&'a str],
}

impl<'a> NewDestination<'a> {
    /// A custom webhook to `url`, the default for no severity.
    pub fn webhook(name: &'a str, url: &str) -> Self {
        NewDestination {
            name,
            config: json!({"customWebhook": {"webhookURL": url}}),
            severities: &[],
        }
    }

    /// A destination of type `field` (`slack`, `pagerDuty`, …) with this config.
    pub fn of(name: &'a str, field: &str, config: Value) -> Self {
        NewDestination {
            name,
            config: json!({ field: config }),
            severities: &[],
        }
    }
}

impl From<NewDestination<'_>> for Value {
    fn from(d: NewDestination<'_>) -> Value {
        json!({"displayName": d.name, "outputConfig": d.config, "defaultForSeverity": d.severities})
    }
}

/// A throw-away RSA key made for these tests (Google service accounts).
pub const TEST_RSA_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCtqtg8Dps7ciGl
EemK0UQWDktRDJdoV2W1DAwmbIZN7FOzOr/EceCwvyeblDK7mE/RJAVEkifpxrd8
w0NjIO7SjPpLF3j7MBLCG48hZDdnUdYAcvQtXBoXX4fTVB+dCKsqR2JmswEyhNsu
ohcWJtvuw+id/fUKD13ZqtAcqOcUnOoCRaZHdKkOsyJNFXxu2OM/1T2Wiv3ILWRU
B8QVqYSBO8OMHVZqai3DaKsSakF58LNyz70+hf2Hp7oDS7j8HB3dCPY81oc1smxG
8U77F80/IrVZY3RgRvOO/YG6qyJC68f8dkVx5lssEgAY/ROj2Pdlt0llvv2KNUfZ
ydFhLk+3AgMBAAECggEAQiYBX/rGSOHDi+7jMENeNjJyoKf1ocIsVMYGeLo8e8DI
7ssxUP95MIlW6k0L9+VffY9FTGWJO2O77xMm/0KDhQI6sdB6fd7FPlcl8PeNnNaQ
dzJR7FcY/w8dmrJ/qh4rqBpxkiGbkqUFIWGO/pqFig/n8gnRxGeu/SIxS8FP50rt
xElawkLZ3os9oVFqieFHr6dn847//kUAGg1kPIvRLuiiW30n3esMAqQGE1RXN0k9
rfMLoBTkHhkxiYbGtTr0ALgyuVulKb2uoI2USCQ4oEGWJQYoGeQrUprQ8y1tHR6k
4RU19qpvHQC+7BHtR1NQKvfEw4Gy8c5mu62+vKkmOQKBgQDrWF9PPmuFjI4Ob2qH
fJbOUvstGB8yLuFXPJT926vzCRuNZohE0C/zi+ROyCXZiIUxbEsnQJf1dVTLe43s
Nft9fyS2hTm0BoMWrlHMwbrb3Q+UiehVF39x0htG9JtCl6y71EJ5qFn5r0XId4oO
XlGLFeuMiV3YPyzg4WlQKE1pXwKBgQC86LkWb3nAcUS6o2lgB62o96uYoRhTgrmc
V+dLA4ybo+huBFGe3p3Jky82hWKeMAY90fD+qtSMy/6VwJQij2XfnsUs+EYtT05s
xqw6IGAzjRLHztje2Wcw8B+RBDINSh66R+aacd2q0Gqbep0cOHZzVCEgdqQuNHj5
pFL2ocRAqQKBgQCTo0+/LaBUGlWvlpOUxULx0jrCEkTXvXMdv+KT0m/vOgJv1Sed
S6EZPuQNzB96dNthotcOm8X4dQ+pyyvASCkplE5atf76Aa/Q1bB5K/tmHCq++zil
0OThaXY1MBQKVY5GEqVVHpi7Owoi9WLFGsQ65ZhsBGy70P39YUsovu+5LwKBgQCE
VmgrLmbViMQEF6wfSOHAR9jfMKORBTgwLWhrpY3gDqAqSj4/lGZnKwPdJu4iMTR+
JE+2qEgEZnfvwpxD5b8RO/GXgknvPeqLy1Yl1j5ufrqUXPSSkSx4HQ+QEKdbpfwG
tY33ziLioeS9DNV5Spi4TEx0qIh1ke7Zu+Mewc5xGQKBgC+892eI2NfDUfSuGJEY
Z3rfNC/lC/PuGdzFMVWhmvVRjSEWyC1ByqoGMOkNZGxxt3ouR1Aq5deVDgT8uP+Q
u/7a7E56b9lhiz5rQXGTk5j+59NkBzGpu85E5k2X2qPeTV1G8AY4ohBDd7vqq1ok
88FXyHgyxaBr50yyNtir3LZ1
-----END PRIVATE KEY-----\n";
