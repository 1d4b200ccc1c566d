//! Builds the state, the HTTP router and the dispatcher; serves until SIGTERM/Ctrl-C.
use crate::auth::Tokens;
use crate::config::ServeArgs;
use crate::dispatch::{retry::RetryPolicy, DispatchConfig, Dispatcher};
use crate::graphql;
use crate::http::{cors_layer, metrics_router, router, AppState, HttpSettings};
use crate::outbound::OutboundPolicy;
use crate::service::Services;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A started server: its address and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served when `HERALD_METRICS_LISTEN` is set.
    pub metrics_addr: Option<SocketAddr>,
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

fn dispatch_config(args: &ServeArgs) -> anyhow::Result<DispatchConfig> {
    Ok(DispatchConfig {
        policy: RetryPolicy {
            max_attempts: args.max_attempts,
            base_delay: Duration::from_millis(args.retry_base_delay_ms),
            max_delay: Duration::from_millis(args.retry_max_delay_ms),
        },
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        lease: Duration::from_millis(args.lease_ms),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        workers: args.workers,
        destination_workers: args.destination_workers(),
        max_lost_leases: args.max_lost_leases,
        breaker: crate::store::deliveries::BreakerPolicy {
            failures: args.breaker_failures as i32,
            probe_ms: args.breaker_probe_ms as i64,
        },
        public_url: args.public_url.clone(),
        template_budget: crate::destinations::template::Budget {
            fuel: args.template_fuel,
            max_bytes: args.template_max_bytes,
        },
        outbound: OutboundPolicy::new(args.allow_private_networks, &args.outbound_allowlist)
            .map_err(anyhow::Error::msg)?,
        max_response_bytes: args.max_response_bytes,
        egress: crate::outbound::Egress::new(
            args.outbound_proxy.as_deref(),
            args.outbound_bind_address,
            args.gateway_public_ip.as_deref(),
        )
        .map_err(anyhow::Error::msg)?,
    })
}

/// Bind, then connect and migrate (retrying while the database is unreachable, with
/// `/healthz` answering 503 meanwhile), then serve in the background. Returns once the
/// API is served.
pub async fn start(args: ServeArgs) -> anyhow::Result<Running> {
    args.validate()?;
    crate::telemetry::install();
    // Configuration mistakes stop start-up at once, before anything is bound.
    let dispatch_config = dispatch_config(&args)?;
    let cors = cors_layer(&args.cors_origins)?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("HERALD_LISTEN {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        database = %crate::store::describe(&args.db.database_url),
        "opening the database (/healthz answers 503 until it is open)"
    );
    let shutdown = CancellationToken::new();
    let gate = Gate::default();
    let grace = Duration::from_millis(args.shutdown_grace_ms);
    let server = {
        let app = gate.router();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        })
    };
    let started = async {
        let (db, cipher) = open_store(&args, &gate, &shutdown).await?;
        let tokens = Tokens::new(db.clone(), &cipher, args.db.jwt_secret.as_deref()).await?;
        let live = crate::domain::live::LiveBus::default();
        let (dispatcher, events) =
            Dispatcher::new(db.clone(), cipher.clone(), dispatch_config, live.clone())?;
        let (ingest, ingest_queue) = crate::service::alerts::IngestQueue::new();
        let people = &args.people;
        let sessions = crate::auth::sessions::Sessions::new(
            db.clone(),
            people.session_idle_minutes as i64 * 60_000,
            people.session_max_hours as i64 * 3_600_000,
        );
        let oidc = people
            .oidc()
            .map(|o| {
                crate::auth::oidc::Oidc::new(
                    o,
                    &args.public_url,
                    Duration::from_millis(args.request_timeout_ms),
                )
            })
            .transpose()?;
        let people = crate::service::people::People::new(
            crate::service::people::LinkSettings {
                public_url: args.public_url.clone(),
                ttl_ms: people.invite_ttl_hours as i64 * 3_600_000,
            },
            people.login_attempts_per_minute,
            oidc,
        )?;
        let services = Services {
            db,
            cipher,
            writes: dispatcher.write_health(),
            dispatcher,
            tokens,
            ingest,
            routing: Default::default(),
            sessions,
            people,
            live,
        };
        let schema = graphql::build(
            services.clone(),
            args.disable_introspection,
            graphql::limits::Limits::from_args(&args),
        );
        let state = AppState {
            services: services.clone(),
            schema,
            http: std::sync::Arc::new(HttpSettings::from_args(&args)),
        };
        let metrics_addr = match args.metrics_listen.as_deref().filter(|a| !a.is_empty()) {
            Some(at) => Some(serve_metrics(at, state.clone(), shutdown.clone()).await?),
            None => None,
        };
        anyhow::Ok((services, state, events, ingest_queue, metrics_addr))
    };
    let (services, state, mut events, ingest_queue, metrics_addr) = match started.await {
        Ok(s) => s,
        Err(e) => {
            shutdown.cancel();
            let _ = server.await;
            return Err(e);
        }
    };
    // Failed deliveries and paused destinations become SYSTEM_ERROR alerts (Panther's
    // delivery failure alerts).
    let failure_alerts = {
        let services = services.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let Err(e) = crate::service::alerts::raise_system_error(&services, &event).await
                {
                    tracing::error!(error = %e, ?event, "could not raise the system error alert");
                }
            }
        })
    };
    let dispatcher = services.dispatcher.clone();
    let dispatcher_task = dispatcher.start();
    // The ingestion writer (group commit of `createAlert`), stopped once the API is.
    let ingest_stop = CancellationToken::new();
    let ingest_writer =
        crate::service::alerts::start_writer(&services, ingest_queue, ingest_stop.clone());
    let token_flusher = {
        let tokens = services.tokens.clone();
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
    let live_stop = state.http.live_stop.clone();
    gate.open(
        router(state)
            .layer(cors)
            .layer(tower_http::trace::TraceLayer::new_for_http()),
    );
    tracing::info!(%addr, "herald listening");
    let task = tokio::spawn(async move {
        server.await??;
        // Subscription connections (upgraded, so not waited for by the server) close.
        live_stop.cancel();
        // What is queued is committed (and handed to the dispatcher) before it stops.
        ingest_stop.cancel();
        let _ = ingest_writer.await;
        dispatcher.shutdown(grace).await;
        let _ = dispatcher_task.await;
        let _ = token_flusher.await;
        failure_alerts.abort();
        tracing::info!("herald stopped");
        Ok(())
    });
    Ok(Running {
        addr,
        metrics_addr,
        services,
        shutdown,
        task,
    })
}

/// What the listener serves: until the database is up, `503` for everything (`/healthz`
/// included, with the reason); then the API.
#[derive(Clone, Default)]
struct Gate {
    app: Arc<OnceLock<Router>>,
    waiting_for: Arc<Mutex<String>>,
}

impl Gate {
    fn router(&self) -> Router {
        let gate = self.clone();
        Router::new().fallback(move |req: axum::extract::Request| {
            let gate = gate.clone();
            async move {
                if let Some(app) = gate.app.get() {
                    return match tower::ServiceExt::oneshot(app.clone(), req).await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                }
                let reason = gate
                    .waiting_for
                    .lock()
                    .map(|r| r.clone())
                    .unwrap_or_default();
                let status = if reason.is_empty() {
                    "starting".to_string()
                } else {
                    format!("database unreachable: {reason}")
                };
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, "1")],
                    Json(serde_json::json!({ "status": status })),
                )
                    .into_response()
            }
        })
    }

    fn waiting(&self, reason: String) {
        if let Ok(mut r) = self.waiting_for.lock() {
            *r = reason;
        }
    }

    fn open(&self, app: Router) {
        let _ = self.app.set(app);
    }
}

/// [`crate::store::open`], retried with backoff (up to 30 s apart) while the database
/// is unreachable; any other error (a wrong key, a failed migration) stops start-up.
async fn open_store(
    args: &ServeArgs,
    gate: &Gate,
    stop: &CancellationToken,
) -> anyhow::Result<(sea_orm::DatabaseConnection, crate::crypto::Cipher)> {
    let mut delay = Duration::from_millis(500);
    loop {
        match crate::store::open(&args.db, crate::store::Create::AsUrlSays).await {
            Ok(opened) => return Ok(opened),
            Err(e) if crate::store::is_unreachable(&e) => {
                tracing::warn!(
                    retry_in_ms = delay.as_millis() as u64,
                    "{e:#}; /healthz answers 503 until it is reachable"
                );
                gate.waiting(format!("{e:#}"));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => return Err(e.context("stopped before the database was reachable")),
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(e) => return Err(e),
        }
    }
}

/// `/metrics` on its own listener (`HERALD_METRICS_LISTEN`), until shutdown.
async fn serve_metrics(
    at: &str,
    state: AppState,
    stop: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(at)
        .await
        .map_err(|e| anyhow::anyhow!("HERALD_METRICS_LISTEN {at}: {e}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "metrics listening");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, metrics_router(state))
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    Ok(addr)
}

/// `herald serve`: run until SIGTERM or Ctrl-C (which also ends the wait for an
/// unreachable database).
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let running = tokio::select! {
        r = start(args) => r?,
        _ = shutdown_signal() => {
            tracing::info!("stopped while waiting for the database");
            return Ok(());
        }
    };
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
