//! Console sign-in over plain HTTP: `/auth/login`, `/auth/logout`, `/auth/me`,
//! `/auth/set-password` (the one-time link of an invitation) and single sign-on
//! (`/auth/oidc/login`, `/auth/oidc/callback`). A signed-in browser carries the
//! `herald_session` cookie (HttpOnly, SameSite=Strict, Secure behind https) and calls
//! `/graphql` with it, adding `X-Herald-CSRF: 1` to every POST. `/auth/me` also answers
//! for an API token (the console's fallback sign-in), and `/auth/options` tells the
//! sign-in page which ways of signing in exist.
use super::{refuse, AppState};
use crate::auth::sessions::COOKIE;
use crate::auth::AuthError;
use crate::service::people::{self, LoginError, SignedIn};
use crate::store::users::{RoleRow, UserRow};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;

/// The header a cookie-authenticated POST must carry (a cross-site form cannot).
pub const CSRF_HEADER: &str = "x-herald-csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/options", get(options))
        .route(
            "/auth/set-password",
            get(set_password_page).post(set_password),
        )
        .route("/auth/oidc/login", get(oidc_login))
        .route("/auth/oidc/callback", get(oidc_callback))
}

/// The session cookie's value in a request, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

fn cookie_header(state: &AppState, value: &str, max_age_s: i64) -> HeaderValue {
    let c = cookie::Cookie::build((COOKIE, value.to_string()))
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .secure(state.services.people.secure_cookies)
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn user_json(user: &UserRow, role: &RoleRow) -> serde_json::Value {
    json!({
        "user": {
            "id": user.id,
            "email": user.email,
            "givenName": user.given_name,
            "familyName": user.family_name,
            "enabled": user.enabled,
            "status": user.status,
            "lastLoggedInAt": user.last_logged_in_at.map(crate::domain::time::to_rfc3339),
        },
        "role": {"id": role.id, "name": role.name},
        "permissions": crate::auth::sessions::role_permissions(role)
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>(),
    })
}

/// A JSON answer about who is signed in: never cached.
fn private(body: serde_json::Value) -> Response {
    let mut r = Json(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn signed_in(state: &AppState, s: SignedIn) -> Response {
    let max_age = state.services.sessions.max_ms() / 1000;
    let mut r = private(user_json(&s.user, &s.role));
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookie_header(state, &s.session.value, max_age),
    );
    r
}

fn login_refused(e: LoginError) -> Response {
    match e {
        LoginError::Invalid => refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string()),
        LoginError::Disabled => refuse(StatusCode::FORBIDDEN, "FORBIDDEN", e.to_string()),
        LoginError::RateLimited(wait) => {
            let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", e.to_string());
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        LoginError::Sso(m) => refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", m),
        LoginError::App(e) => app_error(e),
    }
}

fn app_error(e: crate::error::AppError) -> Response {
    use crate::error::AppError as E;
    let status = match &e {
        E::BadInput(_) => StatusCode::BAD_REQUEST,
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Conflict(_) => StatusCode::CONFLICT,
        E::Forbidden(_) => StatusCode::FORBIDDEN,
        E::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        E::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        E::Internal(inner) => {
            tracing::error!(error = ?inner, "internal error");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    refuse(status, e.code(), e.to_string())
}

fn bad_body(e: axum::extract::rejection::JsonRejection) -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
        format!(
            "the request body is not the expected JSON: {}",
            e.body_text()
        ),
    )
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    match people::login(&state.services, &body.email, &body.password, remote.ip()).await {
        Ok(s) => signed_in(&state, s),
        Err(e) => login_refused(e),
    }
}

fn cleared(state: &AppState, status: StatusCode) -> Response {
    let mut r = (status, Json(json!({"signedOut": true}))).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie_header(state, "", 0));
    r
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(value) = session_cookie(&headers) {
        if let Err(e) = state.services.sessions.end(&value).await {
            return app_error(e);
        }
    }
    cleared(&state, StatusCode::OK)
}

fn no_session() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "no valid console session: sign in at POST /auth/login",
    )
}

/// How one may sign in here: always with a password (people invited by an admin) or an
/// API token; with single sign-on when an issuer is configured.
async fn options(State(state): State<AppState>) -> Response {
    Json(json!({"password": true, "sso": state.services.people.oidc.is_some(), "token": true}))
        .into_response()
}

/// Who an API token is: its id, name and permissions (the console signed in with a token).
async fn token_me(state: &AppState, remote: SocketAddr, headers: &HeaderMap) -> Response {
    let principal = match super::authenticate(state, remote, headers, false).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    private(json!({
        "token": {
            "id": principal.id(),
            "name": principal.name,
            "expiresAt": principal.expires_at.map(crate::domain::time::to_rfc3339),
        },
        "permissions": principal.permissions.iter().map(|p| p.name()).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize)]
struct MeQuery {
    /// `?optional=true`: no session is an answer (200, `"user": null`), not a 401, so
    /// the console's first look does not log a failed request in the browser.
    #[serde(default)]
    optional: bool,
}

async fn me(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Query(q): Query<MeQuery>,
    headers: HeaderMap,
) -> Response {
    if super::presented_token(&headers).is_some_and(|t| !t.is_empty()) {
        return token_me(&state, remote, &headers).await;
    }
    let signed_out = || {
        if q.optional {
            private(json!({"user": null, "role": null, "permissions": []}))
        } else {
            no_session()
        }
    };
    let Some(value) = session_cookie(&headers) else {
        return signed_out();
    };
    let (_, user) = match state.services.sessions.user_of(&value).await {
        Ok(found) => found,
        Err(AuthError::Refused(reason)) => {
            tracing::info!(%reason, "console session refused");
            return signed_out();
        }
        Err(AuthError::Unavailable(_)) => return app_error(crate::error::unavailable()),
    };
    match crate::store::users::role(&state.services.db, &user.role_id).await {
        Ok(Some(role)) => private(user_json(&user, &role)),
        Ok(None) => signed_out(),
        Err(e) => app_error(e.into()),
    }
}

#[derive(Deserialize)]
struct SetPasswordBody {
    token: String,
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    body: Result<Json<SetPasswordBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    match people::set_password(&state.services, &body.token, &body.password).await {
        Ok(user) => Json(json!({"user": {"id": user.id, "email": user.email}})).into_response(),
        Err(e) => app_error(e),
    }
}

/// The page the set-password link opens: a form that posts to `/auth/set-password`.
async fn set_password_page() -> Response {
    let mut r = Html(SET_PASSWORD_PAGE).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'"),
    );
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

const SET_PASSWORD_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Herald: set your password</title>
<style>body{font-family:sans-serif;max-width:28em;margin:4em auto}input{width:100%;margin:.3em 0 1em}</style></head>
<body><h1>Set your Herald password</h1>
<form id="f"><label>New password (at least 12 characters)<input id="p" type="password" minlength="12" required autocomplete="new-password"></label>
<button>Set password</button></form><p id="m" role="status"></p>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = new URLSearchParams(location.search).get("token") || "";
  const r = await fetch("/auth/set-password", {method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({token, password: document.getElementById("p").value})});
  const body = await r.json().catch(() => ({}));
  document.getElementById("m").textContent = r.ok ? "Password set: you can sign in now."
    : ((body.errors && body.errors[0] && body.errors[0].message) || ("HTTP " + r.status));
});
</script></body></html>"#;

async fn oidc_login(State(state): State<AppState>) -> Response {
    if state.services.people.oidc.is_none() {
        return refuse(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "single sign-on is not configured (HERALD_OIDC_ISSUER)",
        );
    }
    match people::oidc_begin(&state.services).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(LoginError::Sso(m)) => {
            tracing::error!(reason = %m, "could not start an SSO sign-in");
            refuse(StatusCode::BAD_GATEWAY, "UNAVAILABLE", m)
        }
        Err(e) => login_refused(e),
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn oidc_callback(State(state): State<AppState>, Query(q): Query<Callback>) -> Response {
    if let Some(error) = q.error {
        let text = format!(
            "the identity provider refused the sign-in: {error} {}",
            q.error_description.unwrap_or_default()
        );
        return refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", text.trim());
    }
    let (Some(code), Some(st)) = (q.code, q.state) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the callback needs code and state",
        );
    };
    match people::oidc_callback(&state.services, &code, &st).await {
        Ok(s) => {
            let max_age = state.services.sessions.max_ms() / 1000;
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                cookie_header(&state, &s.session.value, max_age),
            );
            r
        }
        Err(e) => login_refused(e),
    }
}
