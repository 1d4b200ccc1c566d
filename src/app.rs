//! Builds the state, the HTTP router and the dispatcher; serves until SIGTERM/Ctrl-C.
use crate::auth::{Principal, Tokens};
use crate::config::ServeArgs;
use crate::dispatch::{retry::RetryPolicy, DispatchConfig, Dispatcher};
use crate::graphql::{self, HeraldSchema};
use crate::service::Services;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::ConnectionTrait;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: HeraldSchema,
}

/// A started server: its address and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub services: Services,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Graceful stop: stop accepting, stop claiming, finish or release in-flight work.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }
}

fn dispatch_config(args: &ServeArgs) -> DispatchConfig {
    DispatchConfig {
        policy: RetryPolicy {
            max_attempts: args.max_attempts.max(1),
            base_delay: Duration::from_millis(args.retry_base_delay_ms),
            max_delay: Duration::from_millis(args.retry_max_delay_ms.max(args.retry_base_delay_ms)),
        },
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        lease: Duration::from_millis(args.lease_ms),
        poll_interval: Duration::from_millis(args.poll_interval_ms.max(1)),
        workers: args.workers.max(1),
        public_url: args.public_url.clone(),
    }
}

/// Connect, migrate, bind and serve in the background.
pub async fn start(args: ServeArgs) -> anyhow::Result<Running> {
    crate::telemetry::install();
    let db = crate::store::connect(&args.db.database_url).await?;
    let tokens = Tokens::new(db.clone(), args.db.jwt_secret.as_deref()).await?;
    let (dispatcher, mut failures) = Dispatcher::new(db.clone(), dispatch_config(&args))?;
    let services = Services {
        db,
        dispatcher: dispatcher.clone(),
        tokens: tokens.clone(),
    };
    // Failed deliveries become SYSTEM_ERROR alerts (Panther's delivery failure alerts).
    let failure_alerts = {
        let services = services.clone();
        tokio::spawn(async move {
            while let Some(f) = failures.recv().await {
                if let Err(e) = crate::service::alerts::raise_delivery_failure(&services, &f).await
                {
                    tracing::error!(error = %e, output_id = %f.output_id, "could not raise the delivery failure alert");
                }
            }
        })
    };
    let schema = graphql::build(services.clone(), args.disable_introspection);
    let cors = cors_layer(&args.cors_origins)?;
    let state = AppState {
        services: services.clone(),
        schema,
    };
    let listener = TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "herald listening");
    let shutdown = CancellationToken::new();
    let dispatcher_task = dispatcher.start();
    let token_flusher = {
        let tokens = tokens.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => tokens.flush_last_used().await,
                    _ = stop.cancelled() => break,
                }
            }
            tokens.flush_last_used().await;
        })
    };
    let grace = Duration::from_millis(args.shutdown_grace_ms);
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let app = router(state)
            .layer(cors)
            .layer(tower_http::trace::TraceLayer::new_for_http());
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .await?;
        dispatcher.shutdown(grace).await;
        let _ = dispatcher_task.await;
        let _ = token_flusher.await;
        failure_alerts.abort();
        tracing::info!("herald stopped");
        Ok(())
    });
    Ok(Running {
        addr,
        services,
        shutdown,
        task,
    })
}

/// `herald serve`: run until SIGTERM or Ctrl-C.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let running = start(args).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// CORS for the console: the configured origins may call the API with their token headers.
fn cors_layer(origins: &[String]) -> anyhow::Result<tower_http::cors::CorsLayer> {
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
    match state.services.db.execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))).into_response(),
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
    GraphQLResponse::from(response).into_response()
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
