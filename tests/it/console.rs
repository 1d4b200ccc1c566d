//! The web console's shell: how its files are served (headers, caching, page paths,
//! nothing outside `console/web/`), `/auth/options` and `/auth/me` for a token, and in
//! headless Chromium: signing in with a password or a token, the way back to an alert
//! link after signing in, navigation that follows the principal's permissions, and
//! signing out. The pages have their own files (`console_*.rs`).
use crate::people::{invite, link_token, post_auth, PASSWORD};
use crate::support::browser::Browser;
use crate::support::*;
use serde_json::json;

/// A server whose cookies work on plain http (the browser talks to 127.0.0.1).
pub async fn console_server(db: &TestDb) -> TestServer {
    TestServer::start_with(db, |a| a.public_url = "http://herald.test".into()).await
}

/// A person with this role and the tests' password.
pub async fn person(s: &TestServer, email: &str, role: &str) -> String {
    let (id, link) = invite(s, email, role).await;
    let (status, _, body) = post_auth(
        s,
        "/auth/set-password",
        json!({"token": link_token(&link), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    id
}

/// A browser signed in as a new person with this role, on the page after sign-in.
#[allow(dead_code)] // for the pages' tests (console_*.rs)
pub async fn signed_in(s: &TestServer, email: &str, role: &str, test: &str) -> Option<Browser> {
    person(s, email, role).await;
    let b = Browser::open(&s.url, test).await?;
    b.goto("/signin").await;
    b.sign_in(email, PASSWORD).await;
    Some(b)
}

async fn files_are_served_with_their_headers_and_pages_share_one_document(db: TestDb) {
    let s = TestServer::start(&db).await;
    let get = |path: &str| s.client.get(format!("{}{path}", s.url)).send();
    for path in [
        "/",
        "/alerts/some-alert-id",
        "/destinations",
        "/settings/tokens",
        "/signin",
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = r.text().await.unwrap();
        assert!(
            body.contains(r#"<script type="module" src="/ui/app.js">"#),
            "{body}"
        );
        assert!(
            !body.contains("<script>"),
            "no inline script (the CSP forbids it)"
        );
    }
    let r = get("/ui/app.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let again = s
        .client
        .get(format!("{}/ui/app.js", s.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    for path in [
        "/ui/vendor/preact-htm.js",
        "/ui/vendor/graphql-ws.js",
        "/ui/vendor/chart.umd.min.js",
        "/ui/app.css",
    ] {
        assert_eq!(get(path).await.unwrap().status(), 200, "{path}");
    }
    for path in [
        "/ui/nothing.js",
        "/ui/../Cargo.toml",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/index.html",
        "/no-such-page",
    ] {
        assert_eq!(get(path).await.unwrap().status(), 404, "{path}");
    }
    // The API's own paths are unchanged.
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
}

async fn auth_options_and_me_for_a_token(db: TestDb) {
    let s = TestServer::start(&db).await;
    let r: serde_json::Value = s
        .client
        .get(format!("{}/auth/options", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"password": true, "sso": false, "token": true}));
    let me = |token: &str| {
        s.client
            .get(format!("{}/auth/me", s.url))
            .header("x-api-key", token.to_string())
            .send()
    };
    let r = me(&s.token).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token"]["name"], "test-admin");
    assert!(
        body["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "DestinationModify"),
        "{body}"
    );
    let r = me("not-a-token").await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn an_alert_link_asks_to_sign_in_then_opens_the_alert(db: TestDb) {
    let s = console_server(&db).await;
    let id = s
        .create_alert(NewAlert {
            title: "Link target",
            ..Default::default()
        })
        .await;
    person(&s, "ada@example.com", "Admin").await;
    let Some(b) = Browser::open(&s.url, "an_alert_link_asks_to_sign_in_then_opens_the_alert").await
    else {
        return;
    };
    b.goto(&format!("/alerts/{id}")).await;
    b.see("Sign in to Herald").await;
    assert_eq!(b.path().await, format!("/signin?next=%2Falerts%2F{id}"));
    b.shot("console-sign-in").await;
    b.fill("E-mail", "ada@example.com").await;
    b.fill("Password", "not the password").await;
    b.click("Sign in").await;
    b.see("UNAUTHENTICATED").await;
    b.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(b.path().await, format!("/alerts/{id}"));
    b.see("ada@example.com").await;
    b.see("Admin").await;
    // A reload keeps the session (the cookie) and the page.
    b.goto(&format!("/alerts/{id}")).await;
    b.see("ada@example.com").await;
    assert_eq!(b.path().await, format!("/alerts/{id}"));
    b.click("Sign out").await;
    b.see("Sign in to Herald").await;
    b.goto("/destinations").await;
    b.see("Sign in to Herald").await;
    b.assert_no_console_errors(&["401", "/auth/login"]).await;
    b.close().await;
}

async fn a_token_signs_in_and_sees_only_the_pages_it_may(db: TestDb) {
    let s = console_server(&db).await;
    let issued = s
        .token_with("alerts-only", &[herald::auth::Permission::AlertRead])
        .await;
    let Some(b) = Browser::open(&s.url, "a_token_signs_in_and_sees_only_the_pages_it_may").await
    else {
        return;
    };
    b.goto("/").await;
    b.sign_in_with_token(&issued).await;
    b.see("API token alerts-only").await;
    // The dashboard needs SummaryRead: the landing page is the first one it may see.
    assert_eq!(b.path().await, "/alerts");
    let nav = b
        .client
        .execute(
            "return document.querySelector('nav.top ul').innerText",
            vec![],
        )
        .await
        .unwrap();
    let nav = nav.as_str().unwrap();
    assert!(
        nav.contains("Alerts") && !nav.contains("Destinations") && !nav.contains("Dashboard"),
        "{nav}"
    );
    b.goto("/destinations").await;
    b.see("needs the DestinationRead permission").await;
    // The phone layout: the navigation folds behind a Menu button.
    b.resize(390, 844).await;
    b.click("Menu").await;
    b.click("Alerts").await;
    assert_eq!(b.path().await, "/alerts");
    b.shot("console-token-phone").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

/// What a page must be at any width: one heading, every control labelled, every button
/// named, nothing wider than the window (tables scroll inside their own box), no
/// positive tabindex (keyboard order is the document's). Answers the problems found.
const PAGE_CHECK: &str = r#"
const problems = [];
const visible = (e) => e.checkVisibility({visibilityProperty: true});
if (document.querySelectorAll('main h1').length !== 1) problems.push(`${document.querySelectorAll('main h1').length} h1 headings in main`);
for (const c of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (!visible(c)) continue;
  const named = (c.labels && c.labels.length) || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
  if (!named) problems.push(`unlabelled ${c.tagName.toLowerCase()} ${c.name || c.id || c.outerHTML.slice(0, 80)}`);
}
for (const b of document.querySelectorAll('button, a[href]')) {
  if (!visible(b)) continue;
  if (!(b.innerText.trim() || b.getAttribute('aria-label') || b.getAttribute('title'))) problems.push(`unnamed ${b.tagName.toLowerCase()} ${b.outerHTML.slice(0, 80)}`);
}
for (const e of document.querySelectorAll('[tabindex]')) if (e.tabIndex > 0) problems.push(`tabindex ${e.tabIndex}`);
const over = document.documentElement.scrollWidth - window.innerWidth;
if (over > 1) problems.push(`the page is ${over}px wider than the window`);
return problems;
"#;

async fn every_page_is_labelled_and_fits_1280_and_390_wide(db: TestDb) {
    let s = console_server(&db).await;
    let receiver = Receiver::start().await;
    let dest = s.add_webhook("Sweep hook", &receiver.url, &["HIGH"]).await;
    let alert = s
        .create_alert(NewAlert {
            title: "Sweep alert",
            ..Default::default()
        })
        .await;
    s.settled(&alert, std::time::Duration::from_secs(20)).await;
    s.put_override(json!({"detectionId": "Test.Detection", "outputIds": [dest.clone()]}))
        .await;
    person(&s, "sweep@example.com", "Admin").await;
    let Some(b) = Browser::open(&s.url, "every_page_is_labelled_and_fits_1280_and_390_wide").await
    else {
        return;
    };
    b.goto("/signin").await;
    b.sign_in("sweep@example.com", crate::people::PASSWORD)
        .await;
    let pages = [
        "/".to_string(),
        "/alerts".into(),
        format!("/alerts/{alert}"),
        "/destinations".into(),
        format!("/destinations/{dest}"),
        "/destinations/new".into(),
        "/overrides".into(),
        "/overrides/Test.Detection".into(),
        "/overrides/new".into(),
        "/settings/general".into(),
        "/settings/tokens".into(),
        "/settings/users".into(),
        "/settings/roles".into(),
    ];
    for (w, h) in [(1280, 800), (390, 844)] {
        b.resize(w, h).await;
        for page in &pages {
            b.goto(page).await;
            b.wait_until(
                &format!("{page} loaded"),
                "return !!document.querySelector('main h1') && !document.body.innerText.includes('Loading…')",
            )
            .await;
            let problems = b.client.execute(PAGE_CHECK, vec![]).await.unwrap();
            assert_eq!(problems, json!([]), "{page} at {w}px");
            assert!(
                !b.text().await.contains("Not built yet"),
                "{page} is a placeholder"
            );
        }
    }
    b.shot("console-sweep-phone").await;
    b.assert_no_console_errors(&[]).await;
    b.close().await;
}

on_both!(
    every_page_is_labelled_and_fits_1280_and_390_wide,
    files_are_served_with_their_headers_and_pages_share_one_document,
    auth_options_and_me_for_a_token,
    an_alert_link_asks_to_sign_in_then_opens_the_alert,
    a_token_signs_in_and_sees_only_the_pages_it_may,
);
