//! Single sign-on against a local OpenID Connect issuer started by the test: discovery,
//! JWKS, `/authorize` (redirects back with a code) and `/token` (an RS256-signed ID
//! token, with PKCE and client authentication checked). New users get the default role,
//! existing ones are matched by verified e-mail, and a wrong nonce, a foreign signature,
//! an unverified e-mail or a replayed state are refused.
use crate::people::{invite, Console};
use crate::support::{TestDb, TestServer};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const CLIENT_ID: &str = "herald-test";
const CLIENT_SECRET: &str = "issuer-secret";

/// Two RSA keys, made once per test process: the issuer's, and a stranger's.
fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        (
            RsaPrivateKey::new(&mut rng, 2048).expect("RSA key"),
            RsaPrivateKey::new(&mut rng, 2048).expect("RSA key"),
        )
    })
}

/// What the issuer will say about the next sign-in.
#[derive(Clone)]
struct Scenario {
    email: String,
    email_verified: bool,
    /// Put this nonce in the ID token instead of the one Herald sent.
    nonce: Option<String>,
    /// Sign with a key the JWKS does not hold (under the published kid).
    foreign_key: bool,
}

/// An issued code: the nonce, the PKCE challenge and the redirect URI it was made for.
type Pending = (String, String, String);

#[derive(Clone)]
struct Issuer {
    url: String,
    scenario: Arc<Mutex<Scenario>>,
    /// code → (nonce, code_challenge, redirect_uri)
    codes: Arc<Mutex<HashMap<String, Pending>>>,
}

async fn discovery(State(i): State<Issuer>) -> Json<Value> {
    Json(json!({
        "issuer": i.url,
        "authorization_endpoint": format!("{}/authorize", i.url),
        "token_endpoint": format!("{}/token", i.url),
        "jwks_uri": format!("{}/jwks", i.url),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks() -> Json<Value> {
    let public = keys().0.to_public_key();
    Json(json!({"keys": [{
        "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]}))
}

async fn authorize(State(i): State<Issuer>, Query(q): Query<HashMap<String, String>>) -> Response {
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"), "{q:?}");
    let code = uuid::Uuid::new_v4().to_string();
    i.codes.lock().unwrap().insert(
        code.clone(),
        (
            q["nonce"].clone(),
            q["code_challenge"].clone(),
            q["redirect_uri"].clone(),
        ),
    );
    let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"]);
    Redirect::to(back.as_str()).into_response()
}

async fn token(
    State(i): State<Issuer>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    use sha2::{Digest, Sha256};
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some((nonce, challenge, redirect_uri)) = i.codes.lock().unwrap().remove(&f["code"]) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier_ok =
        URL_SAFE_NO_PAD.encode(Sha256::digest(f["code_verifier"].as_bytes())) == challenge;
    if !verifier_ok || f["redirect_uri"] != redirect_uri || f["grant_type"] != "authorization_code"
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let sc = i.scenario.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": i.url, "aud": CLIENT_ID, "sub": format!("sub-{}", sc.email),
        "iat": now, "exp": now + 300, "nonce": sc.nonce.unwrap_or(nonce),
        "email": sc.email, "email_verified": sc.email_verified,
        "given_name": "Sso", "family_name": "User",
    });
    let key = if sc.foreign_key { &keys().1 } else { &keys().0 };
    let der = key.to_pkcs1_der().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    let id_token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
    )
    .unwrap();
    Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}))
        .into_response()
}

/// Start the issuer on 127.0.0.1; it serves until the test's runtime ends.
async fn start_issuer(email: &str) -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = Issuer {
        url,
        scenario: Arc::new(Mutex::new(Scenario {
            email: email.into(),
            email_verified: true,
            nonce: None,
            foreign_key: false,
        })),
        codes: Arc::default(),
    };
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(issuer.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

async fn herald_with_sso(db: &TestDb, issuer: &Issuer, default_role: Option<&str>) -> TestServer {
    let (url, role) = (issuer.url.clone(), default_role.map(str::to_owned));
    TestServer::start_with(db, move |a| {
        a.people.oidc_issuer = Some(url);
        a.people.oidc_client_id = Some(CLIENT_ID.into());
        a.people.oidc_client_secret = Some(CLIENT_SECRET.into());
        a.people.oidc_default_role = role;
        // The issuer answers at once, but on a loaded CI machine (the whole suite on
        // two cores) its three calls (discovery, token, keys) have taken longer than
        // the suite's 2 s: a flake (401), not a refusal.
        a.request_timeout_ms = 10_000;
        a.lease_ms = 12_000; // a lease outlives a request
    })
    .await
}

/// Walk a browser through the sign-in: Herald → issuer → Herald's callback. The
/// callback's answer, and the callback URL (to replay it).
async fn sso(s: &TestServer, issuer: &Issuer) -> (reqwest::Response, String) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser
        .get(format!("{}/auth/oidc/login", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let to_issuer = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to_issuer.starts_with(&format!("{}/authorize?", issuer.url)),
        "{to_issuer}"
    );
    assert!(to_issuer.contains("code_challenge="), "{to_issuer}");
    let r = browser.get(&to_issuer).send().await.unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    // The test server's public URL is https://herald.test: the browser would go there.
    let callback = back.replace("https://herald.test", &s.url);
    assert!(
        callback.starts_with(&format!("{}/auth/oidc/callback?", s.url)),
        "{back}"
    );
    (browser.get(&callback).send().await.unwrap(), callback)
}

fn console_of(s: &TestServer, r: &reqwest::Response) -> Console {
    let c = crate::people::session_cookie(r.headers()).expect("a session cookie");
    Console {
        base: s.url.clone(),
        http: reqwest::Client::new(),
        cookie: c.value().to_string(),
    }
}

async fn a_new_user_signs_in_with_the_default_role(db: TestDb) {
    let issuer = start_issuer("new.person@example.com").await;
    let s = herald_with_sso(&db, &issuer, Some("Analyst")).await;
    let (r, _) = sso(&s, &issuer).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let console = console_of(&s, &r);
    let (status, me) = console.me().await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["email"], "new.person@example.com");
    assert_eq!(me["user"]["givenName"], "Sso");
    assert_eq!(me["user"]["status"], "CONFIRMED");
    assert_eq!(me["role"]["name"], "Analyst");
    // The session works like any other: guarded by the role.
    console.ok(crate::ops::DESTINATION_IDS, json!({})).await;
    // A second sign-in finds the same user.
    let (r, _) = sso(&s, &issuer).await;
    assert_eq!(r.status(), 303);
    let users = s.ok("{ users { email } }", json!({})).await["users"].clone();
    assert_eq!(users, json!([{"email": "new.person@example.com"}]));
    s.stop().await;
}

async fn an_existing_user_is_matched_by_verified_email(db: TestDb) {
    let issuer = start_issuer("known@example.com").await;
    // No default role: only existing users may sign in.
    let s = herald_with_sso(&db, &issuer, None).await;
    let (id, _) = invite(&s, "Known@Example.com", "AnalystReadOnly").await;
    let (r, _) = sso(&s, &issuer).await;
    assert_eq!(r.status(), 303);
    let (_, me) = console_of(&s, &r).me().await;
    assert_eq!(me["user"]["id"], id.as_str());
    assert_eq!(me["role"]["name"], "AnalystReadOnly");
    // Someone else, with no default role configured: refused, and not created.
    issuer.scenario.lock().unwrap().email = "stranger@example.com".into();
    let (r, _) = sso(&s, &issuer).await;
    assert_eq!(r.status(), 401);
    assert!(crate::people::session_cookie(r.headers()).is_none());
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("HERALD_OIDC_DEFAULT_ROLE"),
        "{body}"
    );
    assert_eq!(
        s.ok("{ users { id } }", json!({})).await["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A disabled user is refused.
    issuer.scenario.lock().unwrap().email = "known@example.com".into();
    s.ok(
        crate::ops::UPDATE_USER,
        json!({"input": {"id": id, "enabled": false}}),
    )
    .await;
    let (r, _) = sso(&s, &issuer).await;
    assert_eq!(r.status(), 403);
    s.stop().await;
}

async fn bad_id_tokens_and_replayed_states_are_refused(db: TestDb) {
    let issuer = start_issuer("victim@example.com").await;
    let s = herald_with_sso(&db, &issuer, Some("Admin")).await;
    let refused = |what: &'static str| {
        let s = &s;
        let issuer = &issuer;
        async move {
            let (r, _) = sso(s, issuer).await;
            assert_eq!(r.status(), 401, "{what}");
            assert!(
                crate::people::session_cookie(r.headers()).is_none(),
                "{what}"
            );
            let body: Value = r.json().await.unwrap();
            body["errors"][0]["message"].as_str().unwrap().to_string()
        }
    };
    issuer.scenario.lock().unwrap().nonce = Some("not-the-nonce".into());
    let m = refused("a wrong nonce").await;
    assert!(m.contains("nonce"), "{m}");
    issuer.scenario.lock().unwrap().nonce = None;
    issuer.scenario.lock().unwrap().foreign_key = true;
    let m = refused("a foreign signature").await;
    assert!(m.to_lowercase().contains("signature"), "{m}");
    issuer.scenario.lock().unwrap().foreign_key = false;
    issuer.scenario.lock().unwrap().email_verified = false;
    let m = refused("an unverified e-mail").await;
    assert!(m.contains("not verified"), "{m}");
    issuer.scenario.lock().unwrap().email_verified = true;
    // Nothing was created by the refused sign-ins.
    assert!(s.ok("{ users { id } }", json!({})).await["users"]
        .as_array()
        .unwrap()
        .is_empty());
    // A good sign-in works once; replaying its callback (same state) does not.
    let (r, callback) = sso(&s, &issuer).await;
    assert_eq!(r.status(), 303);
    let again = reqwest::Client::new().get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 401);
    // Without SSO configured, the endpoints say so.
    let plain = TestServer::start(&TestDb::sqlite().await).await;
    let r = plain
        .client
        .get(format!("{}/auth/oidc/login", plain.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    plain.stop().await;
    s.stop().await;
}

on_both!(
    a_new_user_signs_in_with_the_default_role,
    an_existing_user_is_matched_by_verified_email,
    bad_id_tokens_and_replayed_states_are_refused,
);
