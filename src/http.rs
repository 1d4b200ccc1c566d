//! HTTP surface: routes, token authentication in front of GraphQL, typed errors for
//! what async-graphql rejects itself, health, metrics and CORS.
use crate::auth::{AuthError, Principal};
use crate::graphql::HeraldSchema;
use crate::service::Services;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql_axum::GraphQLResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::ConnectionTrait;
use std::net::SocketAddr;

pub mod console;
pub mod live;
pub mod web;

/// What every request handler shares: the services, the schema and the HTTP settings.
/// It lives here, beside the router it is handed to; `app` only assembles it.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: HeraldSchema,
    pub http: std::sync::Arc<HttpSettings>,
}

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

/// Request and response bounds of the HTTP surface, and who may read `/metrics`.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body, enforced while reading (after the token check).
    pub max_body_bytes: usize,
    /// Largest GraphQL response body (a batch's responses together).
    pub max_response_bytes: usize,
    /// Most requests in one batch (each holds at least one root field, so this is
    /// `HERALD_GRAPHQL_MAX_ROOT_FIELDS`).
    pub max_batch: usize,
    /// `Authorization: Bearer <token>` required by `/metrics` when set.
    pub metrics_token: Option<String>,
    /// Whether `/metrics` is on the main listener (not when it has its own address).
    pub metrics_on_main: bool,
    /// Queries parsed at once (half the CPUs, at least one): a flood of large queries
    /// then queues here instead of taking every core from the async workers.
    pub parse_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Documents parsed lately, by their text (see [`ParsedQueries`]).
    pub parsed: std::sync::Arc<ParsedQueries>,
    /// Subscription (WebSocket) connections still accepted (see [`live`]).
    pub live_connections: std::sync::Arc<tokio::sync::Semaphore>,
    /// Cancelled when the server stops: open subscription connections are closed.
    pub live_stop: tokio_util::sync::CancellationToken,
}

impl HttpSettings {
    pub fn from_args(a: &crate::config::ServeArgs) -> Self {
        HttpSettings {
            max_body_bytes: a.max_body_bytes,
            max_response_bytes: a.graphql_max_response_bytes,
            max_batch: a.graphql_max_root_fields,
            metrics_token: a.metrics_token.clone().filter(|t| !t.is_empty()),
            metrics_on_main: a.metrics_listen.as_deref().is_none_or(str::is_empty),
            parse_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism()
                    .map(|n| n.get() / 2)
                    .unwrap_or(1)
                    .max(1),
            )),
            parsed: Default::default(),
            live_connections: live::connection_slots(),
            live_stop: Default::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let mut r = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_handler))
        .route("/public/graphql", get(graphql_get).post(graphql_handler))
        .route("/graphiql/{name}", get(crate::graphiql::asset))
        .route("/healthz", get(healthz))
        .merge(console::routes())
        .merge(web::routes());
    if state.http.metrics_on_main {
        r = r.route("/metrics", get(metrics));
    }
    r.with_state(state)
}

/// `/metrics` alone, for `HERALD_METRICS_LISTEN`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Equal without an early exit (both sides hashed first, so lengths leak nothing either).
fn constant_time_eq(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// Prometheus text format: counters since start, plus unfinished deliveries from the database.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = state.http.metrics_token.as_deref() {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .unwrap_or_default();
        if !constant_time_eq(presented, expected) {
            return (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                "a valid metrics token is required (Authorization: Bearer)",
            )
                .into_response();
        }
    }
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

/// A request refused before GraphQL: `{"data": null, "errors": [{message, code}]}`.
fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{"message": message.into(), "extensions": {"code": code}}]
    });
    (status, Json(body)).into_response()
}

fn unauthenticated() -> Response {
    refuse(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "a valid API token is required (X-API-Key or Authorization: Bearer)",
    )
}

fn too_large(limit: usize) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("the request body is larger than {limit} bytes (HERALD_MAX_BODY_BYTES)"),
    )
}

/// The caller, from the headers alone: an API token (`X-API-Key`, `Authorization:
/// Bearer`) or else a console session cookie; the refusal to send otherwise. A POST
/// authenticated by the cookie must carry `X-Herald-CSRF: 1`, which a cross-site form
/// cannot send (a token in a header needs no such proof).
async fn authenticate(
    state: &AppState,
    remote: SocketAddr,
    headers: &HeaderMap,
    post: bool,
) -> Result<Principal, Response> {
    let Some(token) = presented_token(headers).filter(|t| !t.is_empty()) else {
        if let Some(session) = console::session_cookie(headers) {
            return authenticate_session(state, remote, headers, &session, post).await;
        }
        tracing::info!(%remote, "request without an API token refused");
        return Err(unauthenticated());
    };
    match state
        .services
        .tokens
        .authenticate(token, Some(remote.ip()))
        .await
    {
        Ok(p) => Ok(p),
        Err(AuthError::Refused(reason)) => {
            tracing::warn!(%remote, %reason, "API token refused");
            Err(unauthenticated())
        }
        Err(AuthError::Unavailable(reason)) => {
            tracing::error!(%remote, %reason, "API token could not be checked: store unavailable");
            Err(store_unavailable())
        }
    }
}

fn store_unavailable() -> Response {
    let mut r = refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "the token store is unavailable; retry shortly",
    );
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    r
}

/// A console session from its cookie (see [`authenticate`]).
async fn authenticate_session(
    state: &AppState,
    remote: SocketAddr,
    headers: &HeaderMap,
    session: &str,
    post: bool,
) -> Result<Principal, Response> {
    let principal = match state.services.sessions.authenticate(session).await {
        Ok(p) => p,
        Err(AuthError::Refused(reason)) => {
            tracing::info!(%remote, %reason, "console session refused");
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "the console session is not valid (signed out, expired or disabled): sign in again, or send an API token",
            ));
        }
        Err(AuthError::Unavailable(reason)) => {
            tracing::error!(%remote, %reason, "console session could not be checked: store unavailable");
            return Err(store_unavailable());
        }
    };
    let csrf = headers
        .get(console::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if post && csrf != Some("1") {
        tracing::warn!(%remote, user = %principal.name, "cookie POST without the CSRF header refused");
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "CSRF_HEADER_REQUIRED",
            "a request signed in with the session cookie must send the header X-Herald-CSRF: 1 with every POST",
        ));
    }
    Ok(principal)
}

/// GraphQL over HTTP GET (the GraphQL-over-HTTP spec): `?query=…&variables=…&operationName=…`
/// runs a query with the same token check, limits and error codes as POST; a mutation
/// is refused with 405 (GET must not change anything). A browser (`Accept: text/html`)
/// asking without a `query` gets GraphiQL instead, and `Upgrade: websocket` runs
/// subscriptions ([`live`]).
async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    if live::is_upgrade(request.headers()) {
        return live::upgrade(state, remote, request).await;
    }
    let (parts, _) = request.into_parts();
    let raw = parts.uri.query().unwrap_or_default();
    let params = || url::form_urlencoded::parse(raw.as_bytes());
    let wants_html = parts
        .headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    if wants_html && !params().any(|(k, _)| k == "query") {
        return crate::graphiql::page_response();
    }
    let principal = match authenticate(&state, remote, &parts.headers, false).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let limit = state.http.max_body_bytes;
    if raw.len() > limit {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the query string is larger than {limit} bytes (HERALD_MAX_BODY_BYTES)"),
        );
    }
    let (mut query, mut variables, mut operation_name) = (None, None, None);
    for (k, v) in params() {
        match k.as_ref() {
            "query" => query = Some(v.into_owned()),
            "variables" => variables = Some(v.into_owned()),
            "operationName" => operation_name = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(query) = query else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "a GET request needs a query parameter (?query=…); browsers asking for text/html get GraphiQL",
        );
    };
    let mut req = async_graphql::Request::new(query);
    if let Some(name) = operation_name.filter(|n| !n.is_empty()) {
        req = req.operation_name(name);
    }
    if let Some(v) = variables.filter(|v| !v.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(&v) {
            Ok(serde_json::Value::Null) => {}
            Ok(v @ serde_json::Value::Object(_)) => {
                req = req.variables(async_graphql::Variables::from_json(v))
            }
            Ok(_) | Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "the variables parameter is not a JSON object",
                )
            }
        }
    }
    let response = match parse(&state, req).await {
        Ok(mut req) => {
            if is_mutation(&mut req) {
                let mut r = refuse(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "METHOD_NOT_ALLOWED",
                    "mutations are not accepted over GET; send them with POST",
                );
                r.headers_mut().insert(
                    axum::http::header::ALLOW,
                    axum::http::HeaderValue::from_static("POST"),
                );
                return r;
            }
            state.schema.execute(req.data(principal)).await
        }
        Err(error) => error,
    };
    let mut http = respond(async_graphql::BatchResponse::Single(finish(
        &state, response,
    )));
    // The answer depends on the token: no shared cache may keep it.
    http.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    http
}

/// Whether the operation a parsed request would run is a mutation (or a subscription).
/// Without an operation name any such operation counts: a document with several
/// operations and no name runs none of them anyway.
fn is_mutation(req: &mut async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let name = req.operation_name.clone();
    let Ok(doc) = req.parsed_query() else {
        return false;
    };
    doc.operations.iter().any(|(op_name, op)| {
        let selected = match (&name, op_name) {
            (Some(wanted), Some(n)) => n.as_str() == wanted,
            (Some(_), None) => false,
            (None, _) => true,
        };
        selected && op.node.ty != OperationType::Query
    })
}

/// The token is checked from the headers alone, before a byte of the body is read, so
/// an unauthenticated caller costs no memory; the body is then read up to the limit
/// (a declared `Content-Length` over it is refused without reading) and parsed as JSON
/// (one request or a batch). Multipart uploads are not accepted.
async fn graphql_handler(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let principal = match authenticate(&state, remote, headers, true).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "multipart requests are not accepted; send the GraphQL request as application/json",
        );
    }
    let limit = state.http.max_body_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit exceeded");
            if over {
                return too_large(limit);
            }
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the request body could not be read: {e}"),
            );
        }
    };
    let batch: async_graphql::BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the request body is not a GraphQL request: {e}"),
            )
        }
    };
    drop(bytes);
    execute(&state, batch, principal).await
}

/// Run one request or a batch (one request at a time, so a batch costs no more memory
/// than its largest member), and refuse a response larger than the limit.
async fn execute(
    state: &AppState,
    batch: async_graphql::BatchRequest,
    principal: Principal,
) -> Response {
    let limit = state.http.max_response_bytes;
    let too_large = || response_too_large(limit);
    let response = match batch {
        async_graphql::BatchRequest::Single(req) => {
            async_graphql::BatchResponse::Single(finish(state, run(state, req, principal).await))
        }
        async_graphql::BatchRequest::Batch(requests) => {
            if requests.len() > state.http.max_batch {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    crate::graphql::limits::TOO_COMPLEX,
                    format!(
                        "a batch holds {} requests; at most {} are accepted (HERALD_GRAPHQL_MAX_ROOT_FIELDS)",
                        requests.len(),
                        state.http.max_batch
                    ),
                );
            }
            let mut total = 0usize;
            let mut responses = Vec::with_capacity(requests.len());
            for req in requests {
                let mut response = if total > limit {
                    too_large()
                } else {
                    run(state, req, principal.clone()).await
                };
                add_error_codes(&mut response);
                let size = serialized_len(&response);
                if size > limit.saturating_sub(total) {
                    response = too_large();
                    total = limit.saturating_add(1);
                } else {
                    total += size;
                }
                responses.push(response);
            }
            async_graphql::BatchResponse::Batch(responses)
        }
    };
    respond(response)
}

/// A response over `HERALD_GRAPHQL_MAX_RESPONSE_BYTES`, replaced by this typed error.
fn response_too_large(limit: usize) -> async_graphql::Response {
    let mut e = async_graphql::ServerError::new(
        format!(
            "the response is larger than {limit} bytes (HERALD_GRAPHQL_MAX_RESPONSE_BYTES); ask for fewer fields or a smaller pageSize"
        ),
        None,
    );
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", "RESPONSE_TOO_LARGE");
    let mut r = async_graphql::Response::from_errors(vec![e]);
    r.data = async_graphql::Value::Null;
    r
}

/// Give every error a code and refuse a single response larger than the limit.
fn finish(state: &AppState, mut response: async_graphql::Response) -> async_graphql::Response {
    let limit = state.http.max_response_bytes;
    add_error_codes(&mut response);
    let size = serialized_len(&response);
    if size > limit {
        tracing::warn!(
            size,
            limit,
            "GraphQL response over the size limit replaced by an error"
        );
        return response_too_large(limit);
    }
    response
}

/// The HTTP response: 503 when the database could not serve it (see [`status_of`]).
fn respond(response: async_graphql::BatchResponse) -> Response {
    let status = match &response {
        async_graphql::BatchResponse::Single(r) => status_of(r),
        async_graphql::BatchResponse::Batch(rs)
            if !rs.is_empty()
                && rs
                    .iter()
                    .all(|r| status_of(r) == StatusCode::SERVICE_UNAVAILABLE) =>
        {
            StatusCode::SERVICE_UNAVAILABLE
        }
        async_graphql::BatchResponse::Batch(_) => StatusCode::OK,
    };
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

/// Execute one request. The query is parsed on a blocking thread first (a few at a
/// time): parsing is the one step whose cost grows with the body (up to
/// `HERALD_MAX_BODY_BYTES`) before any limit can refuse it, and it must not hold up the
/// async workers that answer `/healthz` and cheap requests. The cost limits then run
/// on the parsed document.
async fn run(
    state: &AppState,
    req: async_graphql::Request,
    principal: Principal,
) -> async_graphql::Response {
    match parse(state, req).await {
        Ok(req) => state.schema.execute(req.data(principal)).await,
        Err(error) => error,
    }
}

/// Documents parsed lately, by their exact text. Automation sends the same few
/// operations again and again with new variables (a detection engine's `createAlert`),
/// and for such a small request parsing was the costliest step, with a hop to the
/// blocking pool and back. Only short documents are kept, and only so many (least
/// recently used first out), so a client sending ever-new queries costs a bounded
/// amount of memory and simply misses.
pub struct ParsedQueries(std::sync::Mutex<lru::LruCache<Box<str>, ExecutableDocument>>);

/// Documents kept by [`ParsedQueries`].
const PARSED_KEPT: usize = 64;
/// Longest query text [`ParsedQueries`] keeps the document of.
const PARSED_MAX_BYTES: usize = 4 * 1024;

impl std::fmt::Debug for ParsedQueries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedQueries").finish_non_exhaustive()
    }
}

impl Default for ParsedQueries {
    fn default() -> Self {
        ParsedQueries(std::sync::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(PARSED_KEPT).expect("not zero"),
        )))
    }
}

impl ParsedQueries {
    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        if query.len() > PARSED_MAX_BYTES {
            return None;
        }
        self.0.lock().ok()?.get(query).cloned()
    }

    /// Keep the document of a request just parsed (a short one).
    fn keep(&self, req: &mut async_graphql::Request) {
        if req.query.len() > PARSED_MAX_BYTES {
            return;
        }
        let Ok(doc) = req.parsed_query().cloned() else {
            return;
        };
        if let Ok(mut kept) = self.0.lock() {
            kept.put(req.query.as_str().into(), doc);
        }
    }
}

/// Parse a request on a blocking thread, holding one of the parse slots while it
/// parses (a document parsed lately is taken from [`ParsedQueries`] instead). The slot
/// is released before execution: executing is bounded by the cost limits, and holding
/// it would run one GraphQL request at a time per slot (so concurrent `createAlert`s
/// could never share a group commit).
async fn parse(
    state: &AppState,
    mut req: async_graphql::Request,
) -> Result<async_graphql::Request, async_graphql::Response> {
    if let Some(doc) = state.http.parsed.get(&req.query) {
        req.set_parsed_query(doc);
        return Ok(req);
    }
    let _slot = state.http.parse_slots.acquire().await;
    let parsed = tokio::task::spawn_blocking(move || match req.parsed_query() {
        Ok(_) => Ok(req),
        Err(e) => Err(e),
    })
    .await;
    match parsed {
        Ok(Ok(mut req)) => {
            state.http.parsed.keep(&mut req);
            Ok(req)
        }
        Ok(Err(e)) => Err(async_graphql::Response::from_errors(vec![e])),
        Err(e) => {
            tracing::error!(error = %e, "query parsing task failed");
            let mut err = async_graphql::ServerError::new("internal error", None);
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", "INTERNAL_SERVER_ERROR");
            Err(async_graphql::Response::from_errors(vec![err]))
        }
    }
}

/// The size of a response as it will be sent.
fn serialized_len(r: &async_graphql::Response) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, r);
    c.0
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
        if let Some(better) = crate::graphql::error::reword(&e.message) {
            e.message = better;
        }
        // Resolver errors always carry a code (graphql::error), so a code-less error on
        // a field is an argument that failed to parse; without a path it comes from
        // validation, where bad values have their own wording.
        let bad_value = [
            "Invalid value",
            "must have exactly one field",
            "is not a destination type",
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
