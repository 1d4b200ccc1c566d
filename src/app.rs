//! Builds the state, the HTTP router and the dispatcher; serves until SIGTERM/Ctrl-C.
use crate::auth::Tokens;
use crate::config::ServeArgs;
use crate::dispatch::{retry::RetryPolicy, DispatchConfig, Dispatcher};
use crate::graphql::{self, HeraldSchema};
use crate::http::{cors_layer, router};
use crate::service::Services;
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
    let (db, cipher) = crate::store::open(&args.db).await?;
    let tokens = Tokens::new(db.clone(), &cipher, args.db.jwt_secret.as_deref()).await?;
    let (dispatcher, mut failures) =
        Dispatcher::new(db.clone(), cipher.clone(), dispatch_config(&args))?;
    let services = Services {
        db,
        cipher,
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
