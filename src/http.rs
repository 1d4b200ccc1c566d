//! HTTP surface: routes, token authentication in front of GraphQL, typed errors for
//! what async-graphql rejects itself, health, metrics and CORS.
use crate::app::AppState;
use crate::auth::Principal;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::ConnectionTrait;
use std::net::SocketAddr;

/// CORS for the console: the configured origins may call the API with their token headers.
pub fn cors_layer(origins: &[String]) -> anyhow::Result<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| {
                    anyhow::anyhow!("HERALD_CORS_ORIGINS: {o:?} is not a valid origin")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        AllowOrigin::list(list)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-api-key"),
        ]))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_handler))
        .route("/public/graphql", get(graphiql).post(graphql_handler))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Prometheus text format: counters since start, plus unfinished deliveries from the database.
async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = crate::telemetry::install() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response();
    };
    if let Ok(n) = crate::store::deliveries::count_unfinished(&state.services.db).await {
        crate::telemetry::set_unfinished(n);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        handle.render(),
    )
        .into_response()
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn healthz(State(state): State<AppState>) -> Response {
    let services = &state.services;
    let mut check = services.db.execute_unprepared("SELECT 1").await.map(|_| ());
    // While writes fail, reads alone would say "ok": probe a write until one succeeds.
    if check.is_ok() && services.writes.failing() {
        check = crate::store::probe_write(&services.db).await;
        match &check {
            Ok(()) => services.writes.ok(),
            Err(e) => {
                tracing::warn!(error = %e, "health check: the database refuses writes");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"status": "database refuses writes"})),
                )
                    .into_response();
            }
        }
    }
    match check {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unreachable"})),
            )
                .into_response()
        }
    }
}

/// The token of a request: `X-API-Key: <token>` or `Authorization: Bearer <token>`.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some(v);
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

fn unauthenticated() -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{"message": "a valid API token is required (X-API-Key or Authorization: Bearer)", "extensions": {"code": "UNAUTHENTICATED"}}]
    });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn graphql_handler(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    req: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Response {
    let Some(token) = presented_token(&headers).filter(|t| !t.is_empty()) else {
        tracing::info!(%remote, "request without an API token refused");
        return unauthenticated();
    };
    let principal: Principal = match state
        .services
        .tokens
        .authenticate(token, Some(remote.ip()))
        .await
    {
        Ok(p) => p,
        Err(reason) => {
            tracing::warn!(%remote, %reason, "API token refused");
            return unauthenticated();
        }
    };
    let req = match req {
        Ok(r) => r.into_inner(),
        Err(rejection) => return bad_request(&rejection.0),
    };
    let mut response = state.schema.execute(req.data(principal)).await;
    add_error_codes(&mut response);
    let status = status_of(&response);
    let mut http = GraphQLResponse::from(response).into_response();
    *http.status_mut() = status;
    http
}

/// 503 when the database could not serve the request and nothing came back (so nothing
/// was written): load balancers and clients retry on it. Otherwise 200, as GraphQL over
/// HTTP answers partial results.
fn status_of(response: &async_graphql::Response) -> StatusCode {
    let unavailable = response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from("UNAVAILABLE"))
    });
    if unavailable && response.data == async_graphql::Value::Null {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// A body that is not a GraphQL request (bad JSON, wrong shape): a typed 400.
fn bad_request(e: &async_graphql::ParseRequestError) -> Response {
    let (status, message) = match e {
        async_graphql::ParseRequestError::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large".to_string(),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            format!("the request body is not a GraphQL request: {other}"),
        ),
    };
    let body = serde_json::json!({"data": null, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]});
    (status, Json(body)).into_response()
}

/// Errors raised by async-graphql itself (parsing, validation, bad argument values)
/// carry no code; give them one so every error is typed.
fn add_error_codes(response: &mut async_graphql::Response) {
    for e in &mut response.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if has_code {
            continue;
        }
        // Resolver errors always carry a code (graphql::error), so a code-less error on
        // a field is an argument that failed to parse; without a path it comes from
        // validation, where bad values have their own wording.
        let bad_value = [
            "Invalid value",
            "Oneof",
            "invalid",
            "Failed to parse",
            "Expected input type",
        ]
        .iter()
        .any(|w| e.message.contains(w));
        let code = if !e.path.is_empty() || bad_value {
            "BAD_USER_INPUT"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}
