//! GraphQL over HTTP GET and the self-hosted GraphiQL: queries run over GET with the
//! token check of POST, mutations are refused (405) and write nothing, browsers get a
//! GraphiQL page whose assets all come from Herald itself, and (when Chromium is
//! installed) a headless browser with no network beyond 127.0.0.1 renders it.

use crate::ops;
use crate::support::{TestDb, TestServer};
use serde_json::{json, Value};

async fn get(
    s: &TestServer,
    path: &str,
    token: Option<&str>,
    params: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = s.client.get(format!("{}{path}", s.url)).query(params);
    if let Some(t) = token {
        req = req.header("x-api-key", t);
    }
    let r = req.send().await.expect("GET");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.expect("body"))
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

const ADD: &str =
    r#"mutation Add($input: DestinationInput!) { addDestination(input: $input) { outputId } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_runs_queries_and_refuses_mutations() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let token = s.token.clone();

    // A query with variables and an operation name, on both paths.
    for path in ["/graphql", "/public/graphql"] {
        let (status, headers, body) = get(
            &s,
            path,
            Some(&token),
            &[
                (
                    "query",
                    "query Q($n: String!) { __type(name: $n) { name } } query Other { __typename }",
                ),
                ("variables", r#"{"n": "Query"}"#),
                ("operationName", "Q"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(json_of(&body)["data"]["__type"]["name"], "Query", "{body}");
        assert_eq!(headers["cache-control"], "no-store");
    }
    let (status, _, body) = get(
        &s,
        "/graphql",
        Some(&token),
        &[("query", ops::DESTINATION_IDS)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["data"]["destinations"], json!([]));

    // A mutation over GET: 405 with a typed error, and nothing written.
    let input = r#"{"input": {"displayName": "over-get", "outputConfig": {"customWebhook": {"webhookURL": "https://example.com/hook"}}, "defaultForSeverity": ["HIGH"]}}"#;
    for params in [
        vec![("query", ADD), ("variables", input)],
        // The mutation chosen by name from a document that also holds a query.
        vec![
            ("query", &*format!("{ADD} query Q {{ __typename }}")),
            ("variables", input),
            ("operationName", "Add"),
        ],
    ] {
        let (status, headers, body) = get(&s, "/graphql", Some(&token), &params).await;
        assert_eq!(status, 405, "{body}");
        assert_eq!(headers["allow"], "POST");
        let v = json_of(&body);
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "METHOD_NOT_ALLOWED",
            "{body}"
        );
        assert!(v["data"].is_null());
    }
    let data = s.ok(ops::DESTINATION_IDS, json!({})).await;
    assert_eq!(
        data["destinations"],
        json!([]),
        "a GET mutation wrote something"
    );

    // No token, a wrong token: 401 as over POST, before the query is looked at.
    for t in [None, Some("not-a-token")] {
        let (status, _, body) = get(&s, "/graphql", t, &[("query", ops::DESTINATION_IDS)]).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            json_of(&body)["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
    }

    // Errors carry the codes POST gives them.
    let (status, _, body) = get(&s, "/graphql", Some(&token), &[("query", "{ nope }")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json_of(&body)["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    let (status, _, body) = get(
        &s,
        "/graphql",
        Some(&token),
        &[("query", "{ __typename }"), ("variables", "[1]")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        json_of(&body)["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
    let (status, _, body) = get(&s, "/graphql", Some(&token), &[]).await;
    assert_eq!(status, 400, "{body}");

    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_query_string_is_bounded_like_a_body() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start_with(&db, |a| a.max_body_bytes = 1024).await;
    let long = format!("{{ __typename {} }}", "__typename ".repeat(200));
    let (status, _, body) = get(&s, "/graphql", Some(&s.token.clone()), &[("query", &long)]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        json_of(&body)["errors"][0]["extensions"]["code"],
        "PAYLOAD_TOO_LARGE"
    );
    s.stop().await;
}

/// The `src`/`href` values of a page.
fn references(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = page;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').expect("closing quote");
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_graphiql_with_same_origin_assets_only() {
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    for path in ["/graphql", "/public/graphql"] {
        // No token needed for the page itself; the API behind it still checks one.
        let r = s
            .client
            .get(format!("{}{path}", s.url))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        let page = r.text().await.unwrap();
        assert!(
            !page.contains("cdn") && !page.contains("://"),
            "external reference in {page}"
        );
        let refs = references(&page);
        assert_eq!(refs.len(), 5, "{refs:?}");
        for url in refs {
            assert!(
                url.starts_with("/graphiql/"),
                "{url} is not a same-origin asset"
            );
            let a = s
                .client
                .get(format!("{}{url}", s.url))
                .send()
                .await
                .unwrap();
            assert_eq!(a.status(), 200, "{url}");
            let ct = a.headers()["content-type"].to_str().unwrap().to_string();
            let want = if url.contains(".css") {
                "text/css"
            } else {
                "text/javascript"
            };
            assert!(ct.starts_with(want), "{url}: {ct}");
            let cache = a.headers()["cache-control"].to_str().unwrap().to_string();
            assert!(cache.contains("max-age=31536000"), "{url}: {cache}");
            assert!(a.bytes().await.unwrap().len() > 1000, "{url} is empty");
        }
    }
    // Without Accept: text/html a GET is an API request (a token and a query needed).
    let (status, _, _) = get(&s, "/graphql", None, &[]).await;
    assert_eq!(status, 401);
    let missing = s
        .client
        .get(format!("{}/graphiql/nope.js", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    s.stop().await;
}

/// Chromium, if it is installed (`.ci/run` installs Debian's `chromium`).
fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

/// Headless Chromium loads the page with every host name unresolvable except
/// 127.0.0.1 and every non-loopback connection sent to a dead proxy: GraphiQL must
/// render from Herald's own assets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_renders_in_a_browser_without_network() {
    let Some(browser) = chromium() else {
        // Straight to stderr, past the test harness's capture, so the skip shows.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED graphiql_renders_in_a_browser_without_network: chromium is not installed (apt-get install -y chromium)"
        );
        return;
    };
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{}/graphql", s.url);
    let out = tokio::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(90), out)
        .await
        .expect("chromium finished within 90 s")
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("graphiql-container") && dom.contains("CodeMirror"),
        "GraphiQL did not render; stderr:\n{}\nDOM:\n{dom}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dom.contains("herald-token"),
        "the token field is missing:\n{dom}"
    );
    // Herald's own script ran (it reports that no token is set yet).
    assert!(
        dom.contains("no token"),
        "herald-graphiql.js did not run:\n{dom}"
    );
    s.stop().await;
}

/// A DevTools-protocol session with one page of a headless Chromium.
struct Cdp {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next: u64,
    _browser: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Cdp {
    async fn launch(browser: &str) -> Cdp {
        let profile = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--proxy-server=127.0.0.1:9",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        // With port 0 Chromium writes the port it chose into the profile.
        let port_file = profile.path().join("DevToolsActivePort");
        let port: u16 = crate::support::eventually(
            std::time::Duration::from_secs(30),
            "DevToolsActivePort",
            || async {
                std::fs::read_to_string(&port_file)
                    .ok()
                    .and_then(|s| s.lines().next()?.trim().parse().ok())
            },
        )
        .await;
        let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ws_url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_string();
        let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
        Cdp {
            ws,
            next: 0,
            _browser: child,
            _profile: profile,
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        use futures::{SinkExt, StreamExt};
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(msg.into()))
            .await
            .unwrap();
        loop {
            let m = self.ws.next().await.expect("DevTools closed").unwrap();
            if let Ok(text) = m.to_text() {
                let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                if v["id"] == id {
                    return v;
                }
            }
        }
    }

    async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        r["result"]["result"]["value"].clone()
    }

    /// Evaluate `expr` until it is `true` (20 s at most).
    async fn wait_for(&mut self, expr: &str) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < until {
            if self.eval(expr).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let dom = self
            .eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
            .await;
        panic!("timed out waiting for {expr}; page text: {dom}");
    }
}

/// In the browser: a token typed into the field is kept across reloads, sent as
/// `X-API-Key`, and GraphiQL fetches the schema again with it (its docs then show the
/// root types).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_token_field_refetches_the_schema_in_a_browser() {
    let Some(browser) = chromium() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED graphiql_token_field_refetches_the_schema_in_a_browser: chromium is not installed (apt-get install -y chromium)"
        );
        return;
    };
    let db = TestDb::sqlite().await;
    let s = TestServer::start(&db).await;
    let mut cdp = Cdp::launch(&browser).await;
    cdp.call(
        "Page.navigate",
        json!({"url": format!("{}/graphql", s.url)}),
    )
    .await;
    cdp.wait_for("!!document.querySelector('.graphiql-container') && document.getElementById('herald-token-state').textContent.startsWith('no token')").await;
    // Record what GraphiQL sends from now on.
    cdp.eval("window.__sent = []; const f = window.fetch; window.fetch = (u, o) => { window.__sent.push({key: JSON.stringify((o && o.headers) || {}).includes(\"X-API-Key\"), body: String(o && o.body)}); return f(u, o); }; true").await;
    let token = serde_json::to_string(&s.token).unwrap();
    cdp.eval(&format!("document.getElementById('herald-token').value = {token}; document.getElementById('herald-token-form').requestSubmit(); true")).await;
    cdp.wait_for("window.__sent.some(c => c.key && c.body.includes('IntrospectionQuery'))")
        .await;
    cdp.eval(
        "document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click(); true",
    )
    .await;
    cdp.wait_for("!!document.querySelector('.graphiql-doc-explorer') && document.querySelector('.graphiql-doc-explorer').innerText.includes('query: Query')").await;
    // Kept across a reload.
    cdp.call("Page.reload", json!({})).await;
    cdp.wait_for(&format!(
        "!!document.getElementById('herald-token') && document.getElementById('herald-token').value === {token} && document.getElementById('herald-token-state').textContent === 'token set'"
    ))
    .await;
    s.stop().await;
}
