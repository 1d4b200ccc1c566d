//! Bounded inbound: request bodies (read only after the token check, capped while
//! reading), GraphQL cost limits, response size, alert input limits, template budgets,
//! `/metrics` exposure and log lines that cannot be forged. Real server, raw sockets
//! where a well-behaved client would hide the behaviour.

use crate::ops;
use crate::support::process::Herald;
use crate::support::{TestDb, TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Tests that measure time or memory take this, so they do not compete with each other
/// inside this process.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Read an HTTP response head (and what follows of the body) within `limit`.
async fn read_response(sock: &mut TcpStream, limit: Duration) -> String {
    let mut buf = Vec::new();
    let deadline = Instant::now() + limit;
    let mut chunk = [0u8; 4096];
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(100), sock.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    if text[head_end..].contains('}') {
                        break;
                    }
                }
            }
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// `host:port` of a server URL.
fn host(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// Send a request head, then keep sending body bytes (in the background) for a while;
/// the answer as text and how long it took.
async fn send_streaming(
    host: &str,
    head: String,
    chunked: bool,
    bytes: usize,
) -> (String, Duration) {
    let sock = TcpStream::connect(host).await.unwrap();
    let (rd, mut wr) = sock.into_split();
    let started = Instant::now();
    wr.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        let block = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < bytes {
            let r = if chunked {
                let mut c = format!("{:x}\r\n", block.len()).into_bytes();
                c.extend_from_slice(&block);
                c.extend_from_slice(b"\r\n");
                tokio::time::timeout(Duration::from_secs(1), wr.write_all(&c)).await
            } else {
                tokio::time::timeout(Duration::from_secs(1), wr.write_all(&block)).await
            };
            match r {
                Ok(Ok(())) => sent += block.len(),
                _ => break,
            }
        }
        sent
    });
    let mut sock = rd;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answered_at = None;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), sock.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answered_at.get_or_insert_with(|| started.elapsed());
                buf.extend_from_slice(&chunk[..n]);
                if String::from_utf8_lossy(&buf).contains("\"errors\"")
                    && String::from_utf8_lossy(&buf).ends_with('}')
                {
                    break;
                }
            }
            Err(_) => {}
        }
    }
    writer.abort();
    (
        String::from_utf8_lossy(&buf).into_owned(),
        answered_at.unwrap_or(Duration::MAX),
    )
}

fn status_of(reply: &str) -> u16 {
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------

/// The server is a `herald` process of its own, so its memory is measured without the
/// other tests of this process in it.
async fn unauthenticated_bodies_are_never_read(db: TestDb) {
    let _measuring = MEASURING.lock().await;
    let s = Herald::start(&db, &[]).await;
    let before = s.rss_kib();
    // Two 700 MiB declared bodies without a token, streamed concurrently.
    let head = |chunked: bool| {
        let framing = if chunked {
            "Transfer-Encoding: chunked".to_string()
        } else {
            format!("Content-Length: {}", 700u64 * 1024 * 1024)
        };
        format!(
            "POST /graphql HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
        )
    };
    let at = host(&s.url);
    let (a, b) = tokio::join!(
        send_streaming(&at, head(false), false, 200 * 1024 * 1024),
        send_streaming(&at, head(true), true, 200 * 1024 * 1024),
    );
    for (what, (reply, took)) in [("content-length", a), ("chunked", b)] {
        eprintln!(
            "{what}: answered in {took:?}: {}",
            reply.lines().next().unwrap_or("")
        );
        assert_eq!(status_of(&reply), 401, "{what}: {reply}");
        assert!(reply.contains("UNAUTHENTICATED"), "{what}: {reply}");
        assert!(
            took < Duration::from_secs(2),
            "{what}: answered after {took:?}"
        );
    }
    let grown = s.rss_kib().saturating_sub(before);
    eprintln!("RSS before {before} KiB, grew by {grown} KiB");
    assert!(grown < 32 * 1024, "RSS grew by {grown} KiB");
    s.stop().await;
}

async fn bodies_are_capped_while_reading(db: TestDb) {
    let s = TestServer::start_with(&db, |a| a.max_body_bytes = 64 * 1024).await;
    let auth = format!("X-API-Key: {}\r\n", s.token);

    // A declared length over the limit: refused before reading.
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: herald\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        700u64 * 1024 * 1024
    );
    let (reply, took) = send_streaming(&host(&s.url), head, false, 8 * 1024 * 1024).await;
    assert_eq!(status_of(&reply), 413, "{reply}");
    assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // No declared length: cut off while reading.
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: herald\r\n{auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let (reply, took) = send_streaming(&host(&s.url), head, true, 8 * 1024 * 1024).await;
    assert_eq!(status_of(&reply), 413, "{reply}");
    assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // Within the limit: a real request on the raw socket works.
    let body = json!({"query": ops::DESTINATION_IDS}).to_string();
    let mut sock = TcpStream::connect(host(&s.url)).await.unwrap();
    sock.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: herald\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let reply = read_response(&mut sock, Duration::from_secs(5)).await;
    assert_eq!(status_of(&reply), 200, "{reply}");
    assert!(reply.contains("\"destinations\":[]"), "{reply}");

    // Multipart is not accepted at all.
    let r = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", &s.token)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "UNSUPPORTED_MEDIA_TYPE",
        "{v}"
    );

    // Not JSON: a typed 400.
    let r = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", &s.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{v}");

    // Batches keep working.
    let r: Value = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", &s.token)
        .json(&json!([{"query": ops::DESTINATION_IDS}, {"query": "{ apiTokens { name } }"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r[0]["data"]["destinations"], json!([]), "{r}");
    assert_eq!(r[1]["data"]["apiTokens"][0]["name"], "test-admin", "{r}");
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// GraphQL limits
// ---------------------------------------------------------------------------------------

fn aliases(n: usize, field: &str) -> String {
    let mut q = String::from("{");
    for i in 0..n {
        q.push_str(&format!(" a{i}: {field}"));
    }
    q.push_str(" }");
    q
}

async fn code_of(s: &TestServer, query: &str) -> (String, String) {
    s.err(query, json!({})).await
}

async fn abusive_queries_are_refused_fast(db: TestDb) {
    let _measuring = MEASURING.lock().await;
    let s = TestServer::start(&db).await;
    let huge = aliases(
        1250,
        "alerts(input: {pageSize: 1000}) { edges { node { title description } } }",
    );
    let started = Instant::now();
    let (code, msg) = code_of(&s, &huge).await;
    assert_eq!(code, "QUERY_TOO_COMPLEX", "{msg}");
    assert!(msg.contains("1250 root fields"), "{msg}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // /healthz on its own first: this machine is shared, so what the abuse adds is judged
    // against what the machine gives anyway.
    let baseline = healthz_latencies(&s, 20).await;
    // Fired concurrently, while /healthz is measured.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut firing = Vec::new();
    for _ in 0..6 {
        let (client, url, token, q, stop) = (
            s.client.clone(),
            s.url.clone(),
            s.token.clone(),
            // Serialized once: the client should cost this process as little as possible.
            axum::body::Bytes::from(json!({ "query": huge }).to_string()),
            stop.clone(),
        );
        firing.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .post(format!("{url}/graphql"))
                    .header("x-api-key", &token)
                    .header("content-type", "application/json")
                    .body(q.clone())
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(r.contains("QUERY_TOO_COMPLEX"), "{r}");
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = healthz_latencies(&s, 20).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut fired = 0;
    for f in firing {
        fired += f.await.unwrap();
    }
    eprintln!("{fired} refused queries; /healthz latencies {health:?} (alone: {baseline:?})");
    assert!(fired > 0);
    let median = health[health.len() / 2];
    let worst = health[health.len() - 1];
    assert!(
        median < Duration::from_millis(100),
        "/healthz median {median:?}"
    );
    assert!(
        worst < Duration::from_millis(100) + baseline[baseline.len() - 1],
        "/healthz took {worst:?} (alone at worst {:?})",
        baseline[baseline.len() - 1]
    );

    // 120 aliases × pageSize 1000: refused, by the alias count and, with aliases allowed,
    // by complexity (page sizes multiply).
    let q120 = aliases(
        120,
        "alerts(input: {pageSize: 1000}) { edges { node { title } } }",
    );
    assert_eq!(code_of(&s, &q120).await.0, "QUERY_TOO_COMPLEX");
    // Aliases below the root count too.
    let nested = format!(
        "{{ destinations {{ {} }} }}",
        (0..31)
            .map(|i| format!("o{i}: outputId"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (code, msg) = code_of(&s, &nested).await;
    assert_eq!(code, "QUERY_TOO_COMPLEX");
    assert!(msg.contains("31 aliased"), "{msg}");
    // Fragments count where they are spread; root fields are counted too.
    let frag = format!(
        "{{ ...F ...F }} fragment F on Query {{ {} }}",
        (0..16)
            .map(|i| format!("f{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (code, msg) = code_of(&s, &frag).await;
    assert_eq!(code, "QUERY_TOO_COMPLEX", "{msg}");
    let roots = format!("{{ {} }}", vec!["__typename"; 21].join(" "));
    let (code, msg) = code_of(&s, &roots).await;
    assert_eq!(code, "QUERY_TOO_COMPLEX");
    assert!(msg.contains("21 root fields"), "{msg}");
    // A big but legitimate page is fine.
    s.ok(
        "{ alerts(input: {pageSize: 1000}) { edges { node { id title severity status createdAt description runbook reference tags detectionId } } pageInfo { endCursor hasNextPage } } }",
        json!({}),
    )
    .await;
    // A batch larger than the root-field limit is refused as a whole.
    let batch: Vec<Value> = (0..21)
        .map(|_| json!({"query": "{ __typename }"}))
        .collect();
    let r = s
        .client
        .post(format!("{}/graphql", s.url))
        .header("x-api-key", &s.token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{v}"
    );
    s.stop().await;
}

async fn complexity_depth_and_response_size_are_limited(db: TestDb) {
    let s = TestServer::start_with(&db, |a| {
        a.graphql_max_aliases = 10_000;
        a.graphql_max_root_fields = 10_000;
        a.graphql_max_depth = 4;
        a.graphql_max_response_bytes = 4096;
    })
    .await;
    let q120 = aliases(
        120,
        "alerts(input: {pageSize: 1000}) { edges { node { title } } }",
    );
    let (code, msg) = code_of(&s, &q120).await;
    assert_eq!(code, "QUERY_TOO_COMPLEX", "{msg}");
    assert!(msg.contains("complex") && msg.contains("pageSize"), "{msg}");
    // Page sizes given in variables count the same.
    let q = format!(
        "query($i: AlertsInput) {{ {} }}",
        (0..120)
            .map(|n| format!("a{n}: alerts(input: $i) {{ edges {{ node {{ title }} }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let r = s.gql(&q, json!({"i": {"pageSize": 1000}})).await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{r}"
    );
    let r = s.gql(&q, json!({"i": {"pageSize": 1}})).await;
    assert!(r.get("errors").is_none(), "{r}");
    let (code, msg) = code_of(
        &s,
        "{ alerts { edges { node { deliveries { status } } } } }",
    )
    .await;
    assert_eq!(code, "QUERY_TOO_DEEP", "{msg}");

    // Responses over the size limit are replaced by an error.
    for i in 0..10 {
        s.ok(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "size.rule", "title": format!("{i} {}", "t".repeat(900)), "severity": "LOW", "dedupString": format!("d{i}")}}),
        )
        .await;
    }
    let r = s
        .gql(
            "{ alerts(input: {pageSize: 10}) { edges { node { title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE",
        "{r}"
    );
    assert!(r["data"].is_null());
    s.ok(
        "{ alerts(input: {pageSize: 2}) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    s.stop().await;
}

/// A document sent again is taken from the parsed copy kept for its text: its limits
/// and the introspection switch are still checked each time, its variables are its own
/// each time, and a text that did not parse is refused each time.
async fn repeated_documents_are_checked_every_time(db: TestDb) {
    let s = TestServer::start_with(&db, |a| {
        a.graphql_max_aliases = 5;
        a.disable_introspection = true;
    })
    .await;
    let over = aliases(6, "destinations { outputId }");
    let under = aliases(5, "destinations { outputId }");
    for _ in 0..3 {
        let (code, msg) = code_of(&s, &over).await;
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{msg}");
        assert!(msg.contains("aliased"), "{msg}");
        s.ok(&under, json!({})).await;
        let (code, msg) = code_of(&s, "{ __schema { types { name } } }").await;
        assert_eq!(code, "FORBIDDEN", "{msg}");
        let (code, msg) = code_of(&s, "{ destinations { outputId ").await;
        assert_eq!(code, "GRAPHQL_VALIDATION_FAILED", "{msg}");
        assert!(msg.contains("expected"), "{msg}");
    }
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = s
            .ok(
                ops::CREATE_ALERT_DETAILED,
                json!({"input": {"detectionId": "cache.rule", "title": format!("t{i}"), "severity": "LOW", "dedupString": format!("d{i}")}}),
            )
            .await;
        assert_eq!(r["createAlert"]["title"], format!("t{i}"), "{r}");
        ids.push(r["createAlert"]["id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "each request's variables are its own");
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Alert input limits
// ---------------------------------------------------------------------------------------

async fn alert_input_is_bounded(db: TestDb) {
    let s = TestServer::start(&db).await;
    let base = json!({"detectionId": "limits.rule", "title": "ok", "severity": "LOW"});
    let with = |k: &str, v: Value| {
        let mut i = base.clone();
        i[k] = v;
        json!({ "input": i })
    };
    let big_context: serde_json::Map<String, Value> = (0..300)
        .map(|i| (format!("k{i}"), json!("v".repeat(1000))))
        .collect();
    let cases = [
        ("title", json!("t".repeat(1001)), "1000"),
        ("description", json!("d".repeat(10_001)), "10000"),
        ("runbook", json!("r".repeat(10_001)), "10000"),
        ("reference", json!("r".repeat(1001)), "1000"),
        ("dedupString", json!("x".repeat(1001)), "1000"),
        ("detectionId", json!("x".repeat(256)), "255"),
        (
            "tags",
            json!((0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()),
            "50",
        ),
        ("tags", json!(["x".repeat(201)]), "200"),
        (
            "generatedDestinations",
            json!((0..51).map(|i| format!("o{i}")).collect::<Vec<_>>()),
            "50",
        ),
        ("alertContext", Value::Object(big_context), "262144"),
    ];
    for (field, value, limit) in cases {
        let (code, msg) = s.err(ops::CREATE_ALERT, with(field, value)).await;
        assert_eq!(code, "BAD_USER_INPUT", "{field}: {msg}");
        assert!(msg.contains(field) && msg.contains(limit), "{field}: {msg}");
    }
    // At the limits: accepted.
    let mut i = base.clone();
    i["title"] = json!("é".repeat(1000));
    i["tags"] = json!((0..50)
        .map(|n| format!("{n}{}", "x".repeat(190)))
        .collect::<Vec<_>>());
    i["description"] = json!("d".repeat(10_000));
    s.ok(ops::CREATE_ALERT, json!({ "input": i })).await;
    s.stop().await;
}

/// PostgreSQL's text cannot hold U+0000. An alert with it is one caller's bad input on
/// both databases: concurrent callers whose alerts share its group commit are stored,
/// and the database is not reported unavailable. Elsewhere (a destination's name) the
/// database's refusal is the caller's bad input too, not `UNAVAILABLE`.
async fn a_nul_character_is_one_callers_bad_input(db: TestDb) {
    let s = TestServer::start(&db).await;
    let input = |title: String, key: String| json!({"input": {"detectionId": "nul.rule", "title": title, "severity": "LOW", "dedupString": key}});
    let good = (0..20).map(|i| s.gql(ops::CREATE_ALERT, input(format!("ok {i}"), format!("k{i}"))));
    let bad = s.gql(ops::CREATE_ALERT, input("a \u{0} b".into(), "bad".into()));
    let (bad, good) = tokio::join!(bad, futures::future::join_all(good));
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
    let msg = bad["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("title") && msg.contains("U+0000"), "{msg}");
    for r in &good {
        assert!(r.get("errors").is_none(), "{r}");
    }
    let page = s
        .ok(ops::ALERTS_PAGE, json!({"input": {"pageSize": 100}}))
        .await;
    assert_eq!(page["alerts"]["edges"].as_array().unwrap().len(), 20);
    for (field, value) in [
        ("tags", json!(["x", "\u{0}"])),
        ("dedupString", json!("\u{0}")),
        ("description", json!("d\u{0}")),
    ] {
        let mut i = input("t".into(), "k".into());
        i["input"][field] = value;
        let (code, msg) = s.err(ops::CREATE_ALERT, i).await;
        assert_eq!(code, "BAD_USER_INPUT", "{field}: {msg}");
        assert!(msg.contains(field), "{field}: {msg}");
    }
    // JSON is stored as text with U+0000 escaped: kept.
    let mut i = input("context".into(), "ctx".into());
    i["input"]["alertContext"] = json!({"raw": "a\u{0}b"});
    s.ok(ops::CREATE_ALERT, i).await;
    let added = s
        .gql(
            ops::ADD_DESTINATION,
            json!({"input": {"displayName": "x\u{0}y", "defaultForSeverity": ["HIGH"],
                "outputConfig": {"customWebhook": {"webhookURL": "http://127.0.0.1:9/x"}}}}),
        )
        .await;
    if db.is_postgres {
        assert_eq!(
            added["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{added}"
        );
    } else {
        assert!(added.get("errors").is_none(), "{added}");
    }
    let health = s
        .client
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

const NESTED: &str = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{{ title }}{% endfor %}{% endfor %}{% endfor %}";

async fn templates_render_within_a_budget(db: TestDb) {
    let _measuring = MEASURING.lock().await;
    let s = TestServer::start(&db).await;
    let reader = s
        .services()
        .tokens
        .create(
            "reader",
            &[herald::auth::Permission::DestinationRead],
            None,
            &[],
            "tests",
        )
        .await
        .unwrap()
        .value;
    let preview = "query($i: PreviewPayloadInput!) { previewPayload(input: $i) { body } }";
    // /healthz alone first (the machine is shared), then while templates are refused.
    let alone = *healthz_latencies(&s, 10).await.last().unwrap();
    let health = {
        let (client, url) = (s.client.clone(), s.url.clone());
        tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            for _ in 0..20 {
                let t = Instant::now();
                let r = client.get(format!("{url}/healthz")).send().await.unwrap();
                assert_eq!(r.status(), 200);
                worst = worst.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            worst
        })
    };
    for template in [NESTED, "{{ 'x' * 50000000 }}"] {
        let started = Instant::now();
        let r = s
            .gql_as(
                &reader,
                preview,
                json!({"i": {"outputConfig": {"customWebhook": {"webhookURL": "https://example.com/hook", "payloadTemplate": template}}}}),
            )
            .await;
        let took = started.elapsed();
        let e = &r["errors"][0];
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{r}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("template exceeded its budget"),
            "{r}"
        );
        assert!(took < Duration::from_secs(2), "{template}: {took:?}");
    }
    let worst = health.await.unwrap();
    eprintln!("/healthz worst latency while templates were refused: {worst:?} (alone: {alone:?})");
    assert!(
        worst < Duration::from_millis(100) + alone,
        "{worst:?} (alone: {alone:?})"
    );

    // Deliveries use the same budget: the delivery fails permanently, saying why.
    let receiver = crate::support::Receiver::start().await;
    let receiver_url = format!("{}/hook", receiver.url);
    let add = s
        .ok(
            ops::ADD_DESTINATION,
            json!({"input": {"displayName": "budget", "outputConfig": {"customWebhook": {"webhookURL": receiver_url, "payloadTemplate": NESTED}}, "defaultForSeverity": ["HIGH"]}}),
        )
        .await;
    assert!(add["addDestination"]["outputId"].is_string());
    let id = s
        .ok(
            ops::CREATE_ALERT,
            json!({"input": {"detectionId": "budget.rule", "title": "t", "severity": "HIGH"}}),
        )
        .await["createAlert"]["id"]
        .clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let a = s
            .ok(
                "query($id: ID!) { alert(id: $id) { deliveries { status message } } }",
                json!({"id": id}),
            )
            .await;
        let d = &a["alert"]["deliveries"][0];
        if d["status"] == "FAILED" {
            assert!(
                d["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("template exceeded its budget"),
                "{d}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "delivery not failed: {a}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// /metrics
// ---------------------------------------------------------------------------------------

async fn metrics_can_need_a_token_or_its_own_address(db: TestDb) {
    let s = TestServer::start_with(&db, |a| a.metrics_token = Some("scrape-me".into())).await;
    let get = |auth: Option<&str>| {
        let mut r = s.client.get(format!("{}/metrics", s.url));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(get(Some("Bearer wrong")).await.unwrap().status(), 401);
    assert_eq!(get(Some("Bearer scrape-mee")).await.unwrap().status(), 401);
    assert_eq!(
        get(Some(&format!("Bearer {}", s.token)))
            .await
            .unwrap()
            .status(),
        401
    );
    let r = get(Some("Bearer scrape-me")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("herald_"));
    s.stop().await;

    let s = TestServer::start_with(&db, |a| a.metrics_listen = Some("127.0.0.1:0".into())).await;
    let at = s
        .running
        .as_ref()
        .unwrap()
        .metrics_addr
        .expect("metrics address");
    let r = s
        .client
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "not on the main listener");
    let r = s
        .client
        .get(format!("http://{at}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(format!("http://{at}/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "only metrics on the metrics listener");
    s.stop().await;
}

// ---------------------------------------------------------------------------------------
// Logs (the real binary)
// ---------------------------------------------------------------------------------------

/// Run `herald serve` with this log format, create a token named with a newline, stop;
/// stderr.
async fn serve_and_log(format: &str) -> String {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt;
    let db = TestDb::sqlite().await;
    let secret = "log-test-secret";
    db.ensure_exists();
    let token = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["token", "create", "--name", "admin"])
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_JWT_SECRET", secret)
        .env("HERALD_ENCRYPTION_KEY", crate::support::TEST_ENCRYPTION_KEY)
        .env("HERALD_LOG", "warn,sqlx::query=error")
        .output()
        .await
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("serve")
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_JWT_SECRET", secret)
        .env("HERALD_ENCRYPTION_KEY", crate::support::TEST_ENCRYPTION_KEY)
        .env("HERALD_LISTEN", "127.0.0.1:0")
        .env("HERALD_LOG", "info")
        .env("HERALD_LOG_FORMAT", format)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("herald starts")
            .unwrap()
            .expect("stderr open");
        log.push_str(&line);
        log.push('\n');
        if line.contains("herald listening") {
            let at = line.find("127.0.0.1:").unwrap();
            let port: String = line[at + 10..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            break format!("127.0.0.1:{port}");
        }
    };
    let r: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .header("x-api-key", &token)
        .json(&json!({"query": ops::CREATE_TOKEN,
            "variables": {"input": {"name": "a\nFORGED line \u{1b}[2J\r", "permissions": ["AlertRead"]}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r.get("errors").is_none(), "{r}");
    // A refused token is logged too (with the peer address).
    let _ = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .header("x-api-key", "garbage")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.start_kill().unwrap();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
    {
        log.push_str(&line);
        log.push('\n');
    }
    let _ = child.wait().await;
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_cannot_be_forged() {
    let log = serve_and_log("text").await;
    assert!(log.contains("API token created"), "{log}");
    for line in log.lines() {
        assert!(!line.starts_with("FORGED"), "forged line in:\n{log}");
        assert!(
            !line.contains('\u{1b}') && !line.contains('\r'),
            "control character in {line:?}"
        );
    }
    assert!(log.contains(r"a\nFORGED line \u{1b}[2J"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let log = serve_and_log("json").await;
    let mut created = false;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(v.is_object(), "{line}");
        if v["fields"]["message"] == "API token created" {
            assert_eq!(v["fields"]["name"], "a\nFORGED line \u{1b}[2J", "{line}");
            created = true;
        }
    }
    assert!(created, "{log}");
}

on_both!(
    unauthenticated_bodies_are_never_read,
    bodies_are_capped_while_reading,
    abusive_queries_are_refused_fast,
    complexity_depth_and_response_size_are_limited,
    repeated_documents_are_checked_every_time,
    alert_input_is_bounded,
    a_nul_character_is_one_callers_bad_input,
    templates_render_within_a_budget,
    metrics_can_need_a_token_or_its_own_address,
);

/// `n` timed `/healthz` calls 20 ms apart (each must answer 200), sorted.
async fn healthz_latencies(s: &TestServer, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = s
            .client
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out.sort();
    out
}
