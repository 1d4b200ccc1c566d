//! Hostile receivers and inward-pointing destinations, with real sockets on 127.0.0.1:
//! endless replies, hanging and resetting receivers, redirects to the metadata address,
//! the SSRF guard in every notation, SMTP servers that are refused or stall, and
//! receivers echoing the request back to fish for secrets. Each test prints what it
//! injected and what survived.

use crate::ops;
use crate::support::{eventually, NewAlert, NewDestination, Receiver, Reply, TestDb, TestServer};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-second request timeout and three attempts keep every test to seconds.
async fn server(db: &TestDb, allow_private: bool, allowlist: &[&str]) -> TestServer {
    let allowlist: Vec<String> = allowlist.iter().map(|s| s.to_string()).collect();
    TestServer::start_with(db, move |a| {
        a.request_timeout_ms = 1000;
        a.max_attempts = 3;
        a.allow_private_networks = allow_private;
        a.outbound_allowlist = allowlist;
    })
    .await
}

/// A new alert (its own detection, so it is not merged into an earlier one) routed to `ids`.
async fn alert_to(s: &TestServer, ids: &[&str]) -> String {
    let detection = format!("Outbound.{}", uuid::Uuid::new_v4().simple());
    s.create_alert(NewAlert {
        detection_id: &detection,
        destinations: Some(ids),
        ..Default::default()
    })
    .await
}

fn by_label<'a>(d: &'a [Value], label: &str) -> &'a Value {
    d.iter().find(|x| x["label"] == label).unwrap()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Read one request's head (up to the blank line) from a raw socket.
async fn read_head(sock: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
}

// ---------------------------------------------------------------- hostile receivers

async fn endless_body_is_cut_off(db: TestDb) {
    let s = server(&db, true, &[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/endless", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    {
        let (written, dropped) = (written.clone(), dropped.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (written, dropped) = (written.clone(), dropped.clone());
                tokio::spawn(async move {
                    read_head(&mut sock).await;
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n")
                        .await;
                    let chunk = vec![b'A'; 64 * 1024];
                    // Forever, until Herald hangs up.
                    while sock.write_all(&chunk).await.is_ok() {
                        written.fetch_add(chunk.len(), Ordering::Relaxed);
                    }
                    dropped.store(true, Ordering::Relaxed);
                });
            }
        });
    }
    let id = s
        .add_destination(NewDestination::of(
            "Endless",
            "customWebhook",
            json!({"webhookURL": url}),
        ))
        .await;
    let before = rss_kib();
    let started = Instant::now();
    let alert = alert_to(&s, &[&id]).await;
    let d = s.settled(&alert, Duration::from_secs(10)).await;
    let took = started.elapsed();
    let after = rss_kib();
    eventually(
        Duration::from_secs(5),
        "the receiver to see the hang-up",
        || async { dropped.load(Ordering::Relaxed).then_some(()) },
    )
    .await;
    let msg = d[0]["message"].as_str().unwrap();
    println!(
        "injected: 200 + endless body ({} bytes written before the hang-up); survived: status {} in {took:?}, message {} chars {msg:?}, RSS {before} KiB -> {after} KiB",
        written.load(Ordering::Relaxed),
        d[0]["status"],
        msg.len()
    );
    assert_eq!(d[0]["status"], "SUCCEEDED", "{d:#?}");
    assert_eq!(d[0]["statusCode"], 200);
    assert_eq!(d[0]["attemptCount"], 1);
    assert!(
        msg.starts_with("HTTP 200 OK: AAAA") && msg.ends_with('…'),
        "{msg}"
    );
    assert!(msg.len() < 300, "{msg}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        after.saturating_sub(before) < 100 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    s.stop().await;
}

async fn hanging_receiver_times_out_and_others_are_unaffected(db: TestDb) {
    let s = server(&db, true, &[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hang", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    {
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::Relaxed);
                held.push(sock); // never answered
            }
        });
    }
    let ok = Receiver::start().await;
    let hang_id = s
        .add_destination(NewDestination::of(
            "Hang",
            "customWebhook",
            json!({"webhookURL": url}),
        ))
        .await;
    let ok_id = s
        .add_destination(NewDestination::of(
            "Ok",
            "customWebhook",
            json!({"webhookURL": ok.url}),
        ))
        .await;
    let started = Instant::now();
    let alert = alert_to(&s, &[&hang_id, &ok_id]).await;
    ok.wait_for(1, Duration::from_secs(2)).await;
    let ok_after = started.elapsed();
    let d = s.settled(&alert, Duration::from_secs(15)).await;
    let hang = by_label(&d, "Hang");
    println!(
        "injected: a receiver that accepts and never answers ({} connections); survived: the other destination got its request after {ok_after:?}; hanging one {} after {} attempts: {:?}",
        accepted.load(Ordering::Relaxed),
        hang["status"],
        hang["attemptCount"],
        hang["attempts"]
    );
    assert_eq!(by_label(&d, "Ok")["status"], "SUCCEEDED");
    assert!(ok_after < Duration::from_secs(2), "{ok_after:?}");
    assert_eq!(hang["status"], "FAILED");
    assert_eq!(hang["attemptCount"], 3, "timeouts are retried");
    for a in hang["attempts"].as_array().unwrap() {
        assert_eq!(a["statusCode"], 0);
        assert!(a["message"].as_str().unwrap().contains("timeout"), "{a}");
        assert!(a["durationMs"].as_i64().unwrap() < 2500, "{a}");
    }
    s.stop().await;
}

async fn reset_connections_are_retried(db: TestDb) {
    let s = server(&db, true, &[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/reset", listener.local_addr().unwrap());
    let resets = Arc::new(AtomicUsize::new(0));
    {
        let resets = resets.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                sock.set_zero_linger().unwrap();
                drop(sock); // RST
                resets.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let id = s
        .add_destination(NewDestination::of(
            "Reset",
            "customWebhook",
            json!({"webhookURL": url}),
        ))
        .await;
    let alert = alert_to(&s, &[&id]).await;
    let d = s.settled(&alert, Duration::from_secs(10)).await;
    println!(
        "injected: accept then RST ({} connections reset); survived: {} after {} attempts, last message {:?}",
        resets.load(Ordering::Relaxed),
        d[0]["status"],
        d[0]["attemptCount"],
        d[0]["message"]
    );
    assert_eq!(d[0]["status"], "FAILED");
    assert_eq!(d[0]["attemptCount"], 3, "a reset is retried");
    assert!(resets.load(Ordering::Relaxed) >= 3);
    assert_eq!(d[0]["statusCode"], 0);
    s.stop().await;
}

async fn redirects_are_not_followed(db: TestDb) {
    let s = server(&db, true, &[]).await;
    let target = Receiver::start().await;
    let rx = Receiver::start().await;
    rx.push(Reply::status(302).header("location", "http://169.254.169.254/latest/meta-data"));
    rx.push(Reply::status(302).header("location", &format!("{}/followed", target.url)));
    let id = s
        .add_destination(NewDestination::of(
            "Redirect",
            "customWebhook",
            json!({"webhookURL": rx.url}),
        ))
        .await;
    let sent = s.send_test_alert(&[&id]).await[0].clone();
    let sent2 = s.send_test_alert(&[&id]).await[0].clone();
    println!("injected: 302 to the metadata address, then 302 to another receiver; survived: {sent} / {sent2}; requests at the redirect target: {}", target.requests().len());
    for r in [&sent, &sent2] {
        assert_eq!(r["success"], false);
        assert_eq!(r["statusCode"], 302);
        assert!(
            r["message"].as_str().unwrap().starts_with("HTTP 302 Found"),
            "{r}"
        );
    }
    assert_eq!(rx.requests().len(), 2);
    assert!(target.requests().is_empty(), "a redirect was followed");
    s.stop().await;
}

// ---------------------------------------------------------------- the SSRF guard

/// Loopback, metadata and private addresses in the notations the URL standard accepts.
const BLOCKED_URLS: &[&str] = &[
    "http://127.0.0.1:9/x",
    "http://2130706433/x",
    "http://0x7f000001/x",
    "http://0x7f.1/x",
    "http://0177.0.0.1/x",
    "http://127.1/x",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:7f00:1]/x",
    "http://0.0.0.0/x",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/x",
    "http://192.168.1.1/x",
    "http://172.16.0.1/x",
    "http://100.64.0.1/x",
    "http://[fd00::1]/x",
    "http://[fe80::1]/x",
];

async fn literal_blocked_addresses_are_refused_on_input(db: TestDb) {
    let s = server(&db, false, &[]).await;
    for url in BLOCKED_URLS {
        let (code, msg) = s
            .err(ops::ADD_DESTINATION, json!({"input": {"displayName": format!("d {url}"), "outputConfig": {"customWebhook": {"webhookURL": url}}, "defaultForSeverity": []}}))
            .await;
        println!("injected: addDestination webhookURL {url}; survived: {code} {msg}");
        assert_eq!(code, "BAD_USER_INPUT", "{url}: {msg}");
        assert!(
            msg.starts_with("outputConfig.customwebhook.webhookURL: blocked: "),
            "{url}: {msg}"
        );
    }
    // Other types name their own field; the SMTP host too.
    let (code, msg) = s
        .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "pd", "outputConfig": {"pagerDuty": {"integrationKey": "0123456789abcdef0123456789abcdef", "apiUrl": "http://0x7f.1:8080"}}, "defaultForSeverity": []}}))
        .await;
    println!("injected: pagerDuty apiUrl http://0x7f.1:8080; survived: {code} {msg}");
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("apiUrl: blocked: 127.0.0.1"), "{msg}");
    let (code, msg) = s
        .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "mail", "outputConfig": {"email": {"smtpUrl": "smtp://2130706433:25", "from": "h@example.com", "to": ["a@example.com"]}}, "defaultForSeverity": []}}))
        .await;
    println!("injected: email smtpUrl smtp://2130706433:25; survived: {code} {msg}");
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("smtpUrl: blocked: 127.0.0.1"), "{msg}");
    // updateDestination and previewPayload refuse the same.
    let id = s
        .add_destination(NewDestination::of(
            "Public",
            "customWebhook",
            json!({"webhookURL": "https://hooks.example.com/x"}),
        ))
        .await;
    let (code, msg) = s
        .err(ops::UPDATE_DESTINATION, json!({"input": {"outputId": id, "displayName": "Public", "outputConfig": {"customWebhook": {"webhookURL": "http://[::ffff:169.254.169.254]/"}}, "defaultForSeverity": []}}))
        .await;
    println!("injected: updateDestination to [::ffff:169.254.169.254]; survived: {code} {msg}");
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(msg.contains("webhookURL: blocked"), "{msg}");
    let (code, msg) = s
        .err(
            ops::PREVIEW_PAYLOAD,
            json!({"input": {"outputConfig": {"customWebhook": {"webhookURL": "http://127.1/"}}}}),
        )
        .await;
    println!("injected: previewPayload for http://127.1/; survived: {code} {msg}");
    assert_eq!(code, "BAD_USER_INPUT");
    s.stop().await;
}

async fn names_resolving_inward_fail_permanently_unless_allowlisted(db: TestDb) {
    let rx = Receiver::start().await;
    let port = rx.url.rsplit(':').next().unwrap().to_string();
    let url = format!("http://localhost.:{port}/hook");
    {
        let s = server(&db, false, &[]).await;
        let id = s
            .add_destination(NewDestination::of(
                "Named",
                "customWebhook",
                json!({"webhookURL": url}),
            ))
            .await;
        let alert = alert_to(&s, &[&id]).await;
        let d = s.settled(&alert, Duration::from_secs(10)).await;
        let test = s.send_test_alert(&[&id]).await[0].clone();
        println!(
            "injected: webhook {url} with the guard on; survived: {} after {} attempt(s): {:?}; sendTestAlert: {test}; requests received: {}",
            d[0]["status"],
            d[0]["attemptCount"],
            d[0]["message"],
            rx.requests().len()
        );
        assert_eq!(d[0]["status"], "FAILED");
        assert_eq!(d[0]["attemptCount"], 1, "a blocked address is not retried");
        let msg = d[0]["message"].as_str().unwrap();
        assert!(
            msg.starts_with("blocked: localhost. resolves only to non-public addresses"),
            "{msg}"
        );
        assert!(msg.contains("HERALD_ALLOW_PRIVATE_NETWORKS"), "{msg}");
        assert_eq!(test["success"], false);
        assert!(
            test["message"].as_str().unwrap().starts_with("blocked: "),
            "{test}"
        );
        assert!(rx.requests().is_empty(), "a blocked request arrived");
        s.stop().await;
    }
    {
        let s = server(&db, false, &["127.0.0.0/8"]).await;
        let id = s
            .add_destination(NewDestination::of(
                "Named2",
                "customWebhook",
                json!({"webhookURL": url}),
            ))
            .await;
        let alert = alert_to(&s, &[&id]).await;
        let d = s.settled(&alert, Duration::from_secs(10)).await;
        println!(
            "injected: the same with HERALD_OUTBOUND_ALLOWLIST=127.0.0.0/8; survived: {} {:?}",
            d[0]["status"], d[0]["message"]
        );
        assert_eq!(d[0]["status"], "SUCCEEDED", "{d:#?}");
        assert_eq!(rx.requests().len(), 1);
        s.stop().await;
    }
}

async fn stored_literal_destinations_are_refused_once_the_guard_is_on(db: TestDb) {
    let rx = Receiver::start().await;
    let id = {
        let s = server(&db, true, &[]).await;
        let id = s
            .add_destination(NewDestination::of(
                "Loopback",
                "customWebhook",
                json!({"webhookURL": rx.url}),
            ))
            .await;
        s.stop().await;
        id
    };
    let s = server(&db, false, &[]).await;
    let (code, msg) = s.err(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    let alert = alert_to(&s, &[&id]).await;
    let d = s.settled(&alert, Duration::from_secs(10)).await;
    println!(
        "injected: a destination on {} saved while private networks were allowed, then the guard on; survived: sendTestAlert {code} {msg}; routed delivery {} after {} attempt(s): {:?}",
        rx.url, d[0]["status"], d[0]["attemptCount"], d[0]["message"]
    );
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        msg.contains("webhookURL: blocked: 127.0.0.1 is a loopback address"),
        "{msg}"
    );
    assert_eq!(d[0]["status"], "FAILED");
    assert_eq!(d[0]["attemptCount"], 1);
    assert!(d[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("blocked: 127.0.0.1"));
    assert!(rx.requests().is_empty());
    s.stop().await;
}

// ---------------------------------------------------------------- SMTP

/// An SMTP "server" that accepts and never says anything; counts connections.
async fn silent_smtp() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            held.push(sock);
        }
    });
    (format!("{port}"), accepted)
}

async fn smtp_is_guarded_and_time_boxed(db: TestDb) {
    let (port, accepted) = silent_smtp().await;
    {
        let s = server(&db, false, &[]).await;
        let (code, msg) = s
            .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "mail", "outputConfig": {"email": {"smtpUrl": format!("smtp://127.0.0.1:{port}"), "from": "h@example.com", "to": ["a@example.com"]}}, "defaultForSeverity": []}}))
            .await;
        println!(
            "injected: email to smtp://127.0.0.1:{port} with the guard on; survived: {code} {msg}"
        );
        assert_eq!(code, "BAD_USER_INPUT");
        let id = s.add_destination(NewDestination::of("Mail", "email", json!({"smtpUrl": format!("smtp://localhost:{port}"), "from": "h@example.com", "to": ["a@example.com"]}))).await;
        let alert = alert_to(&s, &[&id]).await;
        let d = s.settled(&alert, Duration::from_secs(10)).await;
        println!(
            "injected: email to smtp://localhost:{port}; survived: {} after {} attempt(s): {:?}; connections: {}",
            d[0]["status"],
            d[0]["attemptCount"],
            d[0]["message"],
            accepted.load(Ordering::Relaxed)
        );
        assert_eq!(d[0]["status"], "FAILED");
        assert_eq!(d[0]["attemptCount"], 1);
        assert!(d[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("blocked: localhost"));
        assert_eq!(
            accepted.load(Ordering::Relaxed),
            0,
            "the SMTP server was reached"
        );
        s.stop().await;
    }
    let s = server(&db, true, &[]).await;
    let id = s.add_destination(NewDestination::of("Stall", "email", json!({"smtpUrl": format!("smtp://127.0.0.1:{port}"), "from": "h@example.com", "to": ["a@example.com"]}))).await;
    let ok = Receiver::start().await;
    let ok_id = s
        .add_destination(NewDestination::of(
            "Ok",
            "customWebhook",
            json!({"webhookURL": ok.url}),
        ))
        .await;
    let started = Instant::now();
    let test = s.send_test_alert(&[&id]).await[0].clone();
    let test_took = started.elapsed();
    let alert = alert_to(&s, &[&id, &ok_id]).await;
    ok.wait_for(1, Duration::from_secs(2)).await;
    let d = s.settled(&alert, Duration::from_secs(15)).await;
    let stall = by_label(&d, "Stall");
    println!(
        "injected: an SMTP server that accepts and stalls; survived: sendTestAlert returned in {test_took:?}: {test}; routed: {} after {} attempts {:?}",
        stall["status"], stall["attemptCount"], stall["attempts"]
    );
    assert!(test_took < Duration::from_secs(3), "{test_took:?}");
    assert_eq!(test["success"], false);
    assert!(
        test["message"].as_str().unwrap().contains("timeout"),
        "{test}"
    );
    assert_eq!(stall["status"], "FAILED");
    assert_eq!(
        stall["attemptCount"], 3,
        "a stalled SMTP exchange is retried"
    );
    for a in stall["attempts"].as_array().unwrap() {
        assert!(a["durationMs"].as_i64().unwrap() < 2500, "{a}");
    }
    assert_eq!(by_label(&d, "Ok")["status"], "SUCCEEDED");
    s.stop().await;
}

// ---------------------------------------------------------------- secrets echoed back

/// A receiver answering 400 with parts of the request it got, raw and encoded: one
/// echo style per request, in turn (the attempt message keeps only an excerpt, so each
/// style puts its material first).
async fn echo_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let echoed: Arc<Mutex<Vec<String>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let log = echoed.clone();
    let app = axum::Router::new().fallback(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (log, count) = (log.clone(), count.clone());
            async move {
                let n = count.fetch_add(1, Ordering::Relaxed);
                let boring = [
                    "content-type",
                    "content-length",
                    "host",
                    "user-agent",
                    "accept",
                    "webhook-id",
                ];
                let mut values: Vec<String> = headers
                    .iter()
                    .filter(|(k, _)| !boring.contains(&k.as_str()))
                    .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                values.sort_by_key(|v| v.len());
                let body = String::from_utf8_lossy(&body).into_owned();
                // Short string fields of a JSON body (routing keys, tokens), shortest first.
                let mut fields: Vec<String> = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    .map(|o| {
                        o.values()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .filter(|s| s.len() < 100)
                            .collect()
                    })
                    .unwrap_or_default();
                fields.sort_by_key(|v| v.len());
                let reply = match n % 7 {
                    0 => format!("headers {}", values.join(" | ")),
                    1 => format!(
                        "b64 headers {}",
                        values
                            .iter()
                            .map(|v| STANDARD.encode(v))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    2 => format!(
                        "b64url headers {}",
                        values
                            .iter()
                            .map(|v| URL_SAFE_NO_PAD.encode(v))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    3 => format!("fields {}", fields.join(" | ")),
                    4 => format!(
                        "b64 fields {}",
                        fields
                            .iter()
                            .map(|v| STANDARD.encode(v))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    5 => format!(
                        "urlenc fields {}",
                        fields
                            .iter()
                            .map(|v| url::form_urlencoded::byte_serialize(v.as_bytes())
                                .collect::<String>())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    _ => format!("b64 body {}", STANDARD.encode(&body)),
                };
                log.lock().unwrap().push(reply.clone());
                (axum::http::StatusCode::BAD_REQUEST, reply)
            }
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, echoed)
}

/// Every form of a secret a leak could take.
fn leak_forms(secret: &str) -> Vec<String> {
    let mut v = vec![secret.to_string()];
    for e in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        v.push(e.encode(secret));
    }
    v.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    v
}

async fn echoed_secrets_never_come_back(db: TestDb) {
    let s = server(&db, true, &[]).await;
    let (rx, echoed) = echo_receiver().await;
    let basic = format!("Basic {}", STANDARD.encode("bot@acme.com:jira-echo-secret"));
    let cases: Vec<(&str, Value, Vec<String>)> = vec![
        (
            "jira",
            json!({"orgDomain": "acme.atlassian.net", "projectKey": "SEC", "userName": "bot@acme.com", "apiKey": "jira-echo-secret", "apiUrl": rx}),
            {
                let mut v = leak_forms("jira-echo-secret");
                v.extend(leak_forms(&basic));
                v.extend(leak_forms(basic.trim_start_matches("Basic ")));
                v
            },
        ),
        (
            "pagerDuty",
            json!({"integrationKey": "fedcba9876543210fedcba9876543210", "apiUrl": rx}),
            leak_forms("fedcba9876543210fedcba9876543210"),
        ),
        (
            "opsgenie",
            json!({"apiKey": "og-echo-secret", "apiUrl": rx}),
            leak_forms("og-echo-secret"),
        ),
        (
            "customWebhook",
            json!({"webhookURL": format!("{rx}/cw"), "headers": [{"key": "X-Key", "value": "cw echo/secret+?&"}]}),
            leak_forms("cw echo/secret+?&"),
        ),
        (
            "github",
            json!({"repoName": "acme/alerts", "token": "ghp_echo_secret", "apiUrl": rx}),
            leak_forms("ghp_echo_secret"),
        ),
    ];
    for (field, config, forms) in cases {
        let id = s
            .add_destination(NewDestination::of(&format!("Echo {field}"), field, config))
            .await;
        let mut seen = Vec::new();
        for _ in 0..7 {
            let r = s.send_test_alert(&[&id]).await[0].clone();
            seen.push(r["message"].as_str().unwrap().to_string());
        }
        let alert = alert_to(&s, &[&id]).await;
        let d = s.settled(&alert, Duration::from_secs(10)).await;
        for a in d[0]["attempts"].as_array().unwrap() {
            seen.push(a["message"].as_str().unwrap().to_string());
        }
        let health = s.ok(ops::DESTINATION_HEALTH, json!({})).await;
        let last = health["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["outputId"] == id.as_str())
            .unwrap()["health"]["lastError"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        seen.push(last);
        let sent = echoed.lock().unwrap().clone();
        let injected = sent
            .iter()
            .filter(|e| forms.iter().any(|f| e.contains(f.as_str())))
            .count();
        println!(
            "{field}: injected {injected} echoes holding the secret (of {}); survived:",
            sent.len()
        );
        for m in &seen {
            println!("  {m}");
            for f in &forms {
                assert!(!m.contains(f.as_str()), "{field}: {f:?} leaked in {m:?}");
            }
        }
        assert!(
            injected > 0,
            "{field}: the echo never held the secret: {sent:#?}"
        );
        echoed.lock().unwrap().clear();
    }
    s.stop().await;
}

/// An SMTP server that refuses AUTH by quoting the client's AUTH line back.
async fn echoing_smtp() -> String {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 smtp.test ESMTP\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-smtp.test\r\n250 AUTH PLAIN\r\n".to_string()
                    } else if upper.starts_with("AUTH") {
                        format!("535 5.7.8 rejected: {line}\r\n")
                    } else if upper == "QUIT" {
                        "221 bye\r\n".to_string()
                    } else {
                        "250 ok\r\n".to_string()
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() || upper == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    url
}

async fn smtp_replies_echoing_credentials_are_scrubbed(db: TestDb) {
    let s = server(&db, true, &[]).await;
    let url = echoing_smtp().await;
    let id = s.add_destination(NewDestination::of("Mail echo", "email", json!({"smtpUrl": url, "from": "h@example.com", "to": ["a@example.com"], "username": "mailer", "password": "smtp-echo-secret"}))).await;
    let r = s.send_test_alert(&[&id]).await[0].clone();
    let auth_plain = STANDARD.encode("\0mailer\0smtp-echo-secret");
    let msg = r["message"].as_str().unwrap();
    println!("injected: an SMTP server quoting `AUTH PLAIN {auth_plain}` in its 535 reply; survived: {r}");
    assert_eq!(r["success"], false);
    assert!(msg.contains("535") || msg.contains("rejected"), "{msg}");
    for leak in [auth_plain.as_str(), "smtp-echo-secret"] {
        assert!(!msg.contains(leak), "{leak} leaked in {msg}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_bad_allowlist_entry_stops_start_up() {
    let db = TestDb::sqlite().await;
    let mut args = crate::support::test_args(&db);
    args.outbound_allowlist = vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()];
    let err = match herald::app::start(args).await {
        Ok(_) => panic!("started with a bad HERALD_OUTBOUND_ALLOWLIST"),
        Err(e) => e.to_string(),
    };
    println!("injected: HERALD_OUTBOUND_ALLOWLIST=10.0.0.0/8,10.0.0.0/33; survived: start-up error {err:?}");
    assert!(
        err.contains("HERALD_OUTBOUND_ALLOWLIST") && err.contains("10.0.0.0/33"),
        "{err}"
    );
}

on_both!(
    endless_body_is_cut_off,
    hanging_receiver_times_out_and_others_are_unaffected,
    reset_connections_are_retried,
    redirects_are_not_followed,
    literal_blocked_addresses_are_refused_on_input,
    names_resolving_inward_fail_permanently_unless_allowlisted,
    stored_literal_destinations_are_refused_once_the_guard_is_on,
    smtp_is_guarded_and_time_boxed,
    echoed_secrets_never_come_back,
    smtp_replies_echoing_credentials_are_scrubbed,
);

// ---------------------------------------------------------------- egress

/// A tiny HTTP proxy on 127.0.0.1: absolute-form requests (`POST http://host/path`) are
/// forwarded, `CONNECT host:port` is tunnelled. Records each request line and the
/// address the connection came from.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<(std::net::SocketAddr, String)>>>,
}

impl Proxy {
    async fn start() -> Self {
        Self::forwarding_to(None).await
    }

    /// A proxy sending every request to `upstream` whatever its target (so a public
    /// destination can be stood in for by a local receiver).
    async fn forwarding_to(upstream: Option<String>) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<(std::net::SocketAddr, String)>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut client, peer)) = l.accept().await {
                let log = log.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    // The request head, byte by byte up to the blank line.
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if client.read(&mut b).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(b[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let line = head.lines().next().unwrap_or_default().to_string();
                    log.lock().unwrap().push((peer, line.clone()));
                    let mut parts = line.split(' ');
                    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    if method == "CONNECT" {
                        let Ok(mut up) = tokio::net::TcpStream::connect(target).await else {
                            return;
                        };
                        client
                            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .await
                            .ok();
                        tokio::io::copy_bidirectional(&mut client, &mut up)
                            .await
                            .ok();
                        return;
                    }
                    let Ok(url) = url::Url::parse(target) else {
                        return;
                    };
                    let addr = upstream.unwrap_or_else(|| {
                        format!(
                            "{}:{}",
                            url.host_str().unwrap(),
                            url.port_or_known_default().unwrap()
                        )
                    });
                    let Ok(mut up) = tokio::net::TcpStream::connect(addr).await else {
                        return;
                    };
                    // Origin form upstream; one request per connection.
                    let path = &url[url::Position::BeforePath..];
                    let rest = head.split_once("\r\n").map(|(_, r)| r).unwrap_or_default();
                    let rest = rest.replace("connection: keep-alive", "connection: close");
                    up.write_all(
                        format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n{rest}")
                            .as_bytes(),
                    )
                    .await
                    .ok();
                    tokio::io::copy_bidirectional(&mut client, &mut up)
                        .await
                        .ok();
                });
            }
        });
        Proxy { url, seen }
    }

    fn seen(&self) -> Vec<(std::net::SocketAddr, String)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn add_hook(s: &TestServer, url: &str) -> String {
    let d = s
        .ok(ops::ADD_DESTINATION, json!({"input": {"displayName": format!("hook {}", uuid::Uuid::new_v4()), "outputConfig": {"customWebhook": {"webhookURL": url}}, "defaultForSeverity": []}}))
        .await;
    d["addDestination"]["outputId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `HERALD_OUTBOUND_PROXY`: deliveries (test sends and routed alerts) reach the receiver
/// through the proxy; with `HERALD_OUTBOUND_BIND_ADDRESS` the proxy sees that address.
#[tokio::test]
async fn deliveries_go_through_the_configured_proxy() {
    let proxy = Proxy::start().await;
    let rx = Receiver::start().await;
    let db = TestDb::sqlite().await;
    let proxy_url = proxy.url.clone();
    let s = TestServer::start_with(&db, move |a| {
        a.outbound_proxy = Some(proxy_url);
        a.outbound_bind_address = Some("127.0.0.2".parse().unwrap());
    })
    .await;
    let id = add_hook(&s, &format!("{}/hook", rx.url)).await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], true, "{r:#}");
    let a = s
        .ok(ops::CREATE_ALERT, json!({"input": {"detectionId": "egress", "title": "through the proxy", "severity": "HIGH", "generatedDestinations": [id]}}))
        .await;
    let alert_id = a["createAlert"]["id"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(10), "the routed delivery", || async {
        let d = s.deliveries(&alert_id).await;
        (d[0]["status"] == "SUCCEEDED").then_some(())
    })
    .await;
    let got = rx.requests();
    assert_eq!(got.len(), 2);
    let seen = proxy.seen();
    println!("the proxy saw {seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (peer, line) in &seen {
        assert_eq!(line, &format!("POST {}/hook HTTP/1.1", rx.url), "{seen:?}");
        assert_eq!(peer.ip().to_string(), "127.0.0.2", "from the bind address");
    }
    s.stop().await;
}

/// `https://` destinations go through the proxy's `CONNECT` (TLS end to end: the
/// plain-HTTP receiver here makes the handshake fail, but the tunnel was asked for).
#[tokio::test]
async fn https_deliveries_tunnel_through_the_proxy() {
    let proxy = Proxy::start().await;
    let rx = Receiver::start().await;
    let target = rx.url.trim_start_matches("http://").to_string();
    let db = TestDb::sqlite().await;
    let proxy_url = proxy.url.clone();
    let s = TestServer::start_with(&db, move |a| {
        a.outbound_proxy = Some(proxy_url);
    })
    .await;
    let id = add_hook(&s, &format!("https://{target}/hook")).await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], false, "{r:#}");
    let seen = proxy.seen();
    assert_eq!(seen[0].1, format!("CONNECT {target} HTTP/1.1"), "{seen:?}");
    s.stop().await;
}

/// With a proxy, the SSRF guard still refuses non-public IP literals (names are
/// resolved by the proxy).
#[tokio::test]
async fn the_guard_still_applies_through_a_proxy() {
    let proxy = Proxy::start().await;
    let db = TestDb::sqlite().await;
    let proxy_url = proxy.url.clone();
    let s = TestServer::start_with(&db, move |a| {
        a.allow_private_networks = false;
        a.outbound_proxy = Some(proxy_url);
    })
    .await;
    for url in ["http://169.254.169.254/latest", "http://127.1:9/x"] {
        let (code, message) = s
            .err(ops::ADD_DESTINATION, json!({"input": {"displayName": "inward", "outputConfig": {"customWebhook": {"webhookURL": url}}, "defaultForSeverity": []}}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{url}: {message}");
        assert!(message.contains("blocked"), "{url}: {message}");
    }
    assert!(proxy.seen().is_empty());
    s.stop().await;
}

/// With the guard on, the proxy itself may be on a private address and named (its name
/// is resolved without the guard), while public destinations are reached through it.
#[tokio::test]
async fn a_named_private_proxy_is_allowed_with_the_guard_on() {
    let rx = Receiver::start().await;
    let upstream = rx.url.trim_start_matches("http://").to_string();
    let proxy = Proxy::forwarding_to(Some(upstream)).await;
    let port = proxy.url.rsplit(':').next().unwrap().to_string();
    let db = TestDb::sqlite().await;
    let s = TestServer::start_with(&db, move |a| {
        a.allow_private_networks = false;
        a.outbound_proxy = Some(format!("http://localhost:{port}"));
    })
    .await;
    let id = add_hook(&s, "http://93.184.216.34/hook").await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], true, "{r:#}");
    assert_eq!(proxy.seen()[0].1, "POST http://93.184.216.34/hook HTTP/1.1");
    assert_eq!(rx.requests().len(), 1);
    s.stop().await;
}

/// `HERALD_OUTBOUND_BIND_ADDRESS`: the receiver sees connections from that address.
#[tokio::test]
async fn deliveries_leave_from_the_bind_address() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let peers: Arc<Mutex<Vec<std::net::SocketAddr>>> = Arc::default();
    let log = peers.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, peer)) = l.accept().await {
            log.lock().unwrap().push(peer);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                )
                .await
                .ok();
            });
        }
    });
    let db = TestDb::sqlite().await;
    let s = TestServer::start_with(&db, |a| {
        a.outbound_bind_address = Some("127.0.0.2".parse().unwrap());
    })
    .await;
    let id = add_hook(&s, &url).await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], true, "{r:#}");
    let peers = peers.lock().unwrap().clone();
    assert!(!peers.is_empty());
    for p in &peers {
        assert_eq!(p.ip().to_string(), "127.0.0.2", "{peers:?}");
    }
    s.stop().await;
}

/// `generalSettings` shows `HERALD_GATEWAY_PUBLIC_IP` and Herald's version.
#[tokio::test]
async fn general_settings_show_the_gateway_public_ip() {
    const Q: &str = "{ generalSettings { gatewayPublicIp version pantherVersion } }";
    let db = TestDb::sqlite().await;
    let s = TestServer::start_with(&db, |a| {
        a.gateway_public_ip = Some("203.0.113.7".into());
    })
    .await;
    let g = s.ok(Q, json!({})).await;
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        g["generalSettings"],
        json!({"gatewayPublicIp": "203.0.113.7", "version": version, "pantherVersion": version})
    );
    s.stop().await;
    let s = TestServer::start(&db).await;
    let g = s.ok(Q, json!({})).await;
    assert_eq!(g["generalSettings"]["gatewayPublicIp"], Value::Null);
    s.stop().await;
}

/// A minimal SMTP server: accepts every message; records each connection's peer
/// address and each message's text.
async fn recording_smtp() -> (
    String,
    Arc<Mutex<Vec<std::net::SocketAddr>>>,
    Arc<Mutex<Vec<String>>>,
) {
    use tokio::io::AsyncBufReadExt;
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", l.local_addr().unwrap());
    let peers: Arc<Mutex<Vec<std::net::SocketAddr>>> = Arc::default();
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let (p, m) = (peers.clone(), mails.clone());
    tokio::spawn(async move {
        while let Ok((sock, peer)) = l.accept().await {
            p.lock().unwrap().push(peer);
            let m = m.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = tokio::io::BufReader::new(r).lines();
                w.write_all(b"220 smtp.test ESMTP\r\n").await.ok();
                let (mut data, mut in_data) = (String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            m.lock().unwrap().push(std::mem::take(&mut data));
                            w.write_all(b"250 queued\r\n").await.ok();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250 smtp.test\r\n"
                    } else if upper == "DATA" {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if upper == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).await.ok();
                }
            });
        }
    });
    (url, peers, mails)
}

/// E-mail leaves from the bind address, and through the proxy's CONNECT when a proxy is set.
#[tokio::test]
async fn email_leaves_from_the_bind_address_and_through_the_proxy() {
    let (smtp_url, peers, mails) = recording_smtp().await;
    let db = TestDb::sqlite().await;
    let mail = json!({"smtpUrl": smtp_url, "from": "h@example.com", "to": ["a@example.com"]});

    let s = TestServer::start_with(&db, |a| {
        a.outbound_bind_address = Some("127.0.0.2".parse().unwrap());
    })
    .await;
    let id = s
        .add_destination(NewDestination::of("Mail bound", "email", mail.clone()))
        .await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], true, "{r:#}");
    assert_eq!(mails.lock().unwrap().len(), 1);
    assert_eq!(peers.lock().unwrap()[0].ip().to_string(), "127.0.0.2");
    s.stop().await;

    let proxy = Proxy::start().await;
    let proxy_url = proxy.url.clone();
    let s = TestServer::start_with(&db, move |a| {
        a.outbound_proxy = Some(proxy_url);
        a.outbound_bind_address = Some("127.0.0.2".parse().unwrap());
    })
    .await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], true, "{r:#}");
    assert_eq!(mails.lock().unwrap().len(), 2);
    let seen = proxy.seen();
    println!("the proxy saw {seen:?}");
    let target = smtp_url.trim_start_matches("smtp://");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1, format!("CONNECT {target} HTTP/1.1"));
    assert_eq!(
        seen[0].0.ip().to_string(),
        "127.0.0.2",
        "to the proxy from the bind address"
    );
    // The SMTP server saw the proxy's connection, not Herald's.
    assert_eq!(peers.lock().unwrap()[1].ip().to_string(), "127.0.0.1");
    // Implicit TLS cannot be tunnelled: refused, not sent around the proxy.
    let smtps = s.add_destination(NewDestination::of("Mail smtps", "email", json!({"smtpUrl": format!("smtps://{target}"), "from": "h@example.com", "to": ["a@example.com"]})))
    .await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [smtps]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], false, "{r:#}");
    let message = r["sendTestAlert"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("smtps:// cannot go through HERALD_OUTBOUND_PROXY"),
        "{message}"
    );
    assert_eq!(proxy.seen().len(), 1);
    assert_eq!(peers.lock().unwrap().len(), 2);
    s.stop().await;

    // An https:// proxy cannot tunnel SMTP here: refused, never sent around the proxy.
    let https_proxy = proxy.url.replacen("http://", "https://", 1);
    let s = TestServer::start_with(&db, move |a| a.outbound_proxy = Some(https_proxy)).await;
    let r = s.ok(ops::SEND_TEST_ALERT, json!({"ids": [id]})).await;
    assert_eq!(r["sendTestAlert"][0]["success"], false, "{r:#}");
    let message = r["sendTestAlert"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot go through an https://"),
        "{message}"
    );
    assert_eq!(
        peers.lock().unwrap().len(),
        2,
        "nothing reached the SMTP server"
    );
    s.stop().await;
}
