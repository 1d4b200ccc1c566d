//! The dispatcher owns delivery: it claims due deliveries from the outbox with a
//! lease, sends each through its destination type, records every attempt, and
//! schedules retries. Resolvers only enqueue (in the alert's transaction) and wake it.
pub mod limits;
pub mod retry;
pub mod sender;

use crate::destinations::{self, secrets, DeliveryContext, Integration};
use crate::domain::payload::{panther_payload, test_alert};
use crate::domain::{time::now_ms, DeliveryKind};
use crate::store::{
    self,
    deliveries::{Delivery, Next},
};
use limits::{Limiters, Limits};
use retry::{Class, RetryPolicy};
use sea_orm::{DatabaseConnection, DbErr};
use sender::Outcome;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub policy: RetryPolicy,
    pub request_timeout: Duration,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub workers: usize,
    pub public_url: String,
}

/// The result of one attempt, as `sendTestAlert` reports it.
#[derive(Debug, Clone)]
pub struct AttemptReport {
    pub output_id: String,
    pub success: bool,
    pub status_code: u16,
    pub message: String,
    pub dispatched_at: i64,
}

/// A delivery that ended FAILED (announced so a system error alert can be raised).
#[derive(Debug, Clone)]
pub struct FailedDelivery {
    pub delivery_id: String,
    pub alert_id: Option<String>,
    pub output_id: String,
    pub label: String,
    pub status_code: i32,
    pub message: String,
}

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    /// Opens the destination secrets read from the store.
    cipher: crate::crypto::Cipher,
    client: reqwest::Client,
    cfg: DispatchConfig,
    /// This process's lease holder id.
    claim_id: String,
    wake: Notify,
    cancel: CancellationToken,
    tracker: TaskTracker,
    permits: Arc<Semaphore>,
    limiters: Limiters,
    failures: mpsc::UnboundedSender<FailedDelivery>,
}

/// What sending one delivery came to.
enum Sent {
    Done(Outcome),
    /// The destination's limiter said wait; the delivery goes back to PENDING.
    Deferred(Duration),
}

impl Dispatcher {
    /// The dispatcher, and the stream of deliveries that ended FAILED.
    pub fn new(
        db: DatabaseConnection,
        cipher: crate::crypto::Cipher,
        mut cfg: DispatchConfig,
    ) -> anyhow::Result<(Self, mpsc::UnboundedReceiver<FailedDelivery>)> {
        // A lease must outlive one request, or a slow send could be taken over and sent twice.
        cfg.lease = cfg.lease.max(cfg.request_timeout + Duration::from_secs(1));
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (failures, failed_rx) = mpsc::unbounded_channel();
        let d = Dispatcher {
            inner: Arc::new(Inner {
                db,
                cipher,
                client,
                claim_id: format!("herald-{}", uuid::Uuid::new_v4()),
                permits: Arc::new(Semaphore::new(cfg.workers.max(1))),
                cfg,
                wake: Notify::new(),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
                limiters: Limiters::default(),
                failures,
            }),
        };
        Ok((d, failed_rx))
    }

    /// Start claiming and sending in the background. The claim loop is supervised: a
    /// panic restarts it (leased deliveries come back when their lease expires).
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                let me = inner.clone();
                match tokio::spawn(async move { me.run().await }).await {
                    Err(e) if e.is_panic() && !inner.cancel.is_cancelled() => {
                        tracing::error!("dispatcher loop panicked; restarting it");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    _ => break,
                }
            }
        })
    }

    /// New work was enqueued: look now rather than at the next poll.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub fn public_url(&self) -> &str {
        &self.inner.cfg.public_url
    }

    /// Stop claiming, wait up to `grace` for in-flight sends, hand back the rest.
    pub async fn shutdown(&self, grace: Duration) {
        let inner = &self.inner;
        inner.cancel.cancel();
        inner.tracker.close();
        if tokio::time::timeout(grace, inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("in-flight deliveries did not finish in time; releasing them");
        }
        match store::deliveries::release(&inner.db, std::slice::from_ref(&inner.claim_id), now_ms())
            .await
        {
            Ok(n) if n > 0 => tracing::info!(released = n, "released leased deliveries"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not release leased deliveries"),
        }
    }

    /// Send one delivery now, in the caller's task (`sendTestAlert`): a single attempt,
    /// recorded. The row must already be leased to [`Dispatcher::claim_id`].
    pub async fn deliver_now(&self, delivery: Delivery) -> Result<AttemptReport, DbErr> {
        let dispatched_at = now_ms();
        let outcome = match self.inner.send(&delivery, false).await? {
            Sent::Done(o) => o,
            Sent::Deferred(_) => unreachable!("synchronous sends bypass the limiter"),
        };
        self.inner
            .record(&delivery, &outcome, dispatched_at, false)
            .await?;
        Ok(AttemptReport {
            output_id: delivery.output_id,
            success: outcome.class == Class::Success,
            status_code: outcome.status_code,
            message: outcome.message,
            dispatched_at,
        })
    }

    /// The lease holder id of this process.
    pub fn claim_id(&self) -> &str {
        &self.inner.claim_id
    }
}

/// The number of the coming attempt within the retry budget, which counts from the
/// last (re-)queue so that a replay gets a full one.
fn attempt_in_budget(d: &Delivery) -> u32 {
    (d.attempt_count + 1 - d.attempts_base).max(1) as u32
}

impl Inner {
    async fn run(self: Arc<Self>) {
        tracing::info!(workers = self.cfg.workers, "dispatcher started");
        let lease_ms = self.cfg.lease.as_millis() as i64;
        loop {
            if self.cancel.is_cancelled() {
                break;
            }
            let free = self.permits.available_permits();
            let mut claimed = 0;
            if free > 0 {
                match store::deliveries::claim(
                    &self.db,
                    now_ms(),
                    lease_ms,
                    free as u64,
                    &self.claim_id,
                )
                .await
                {
                    Ok(rows) => {
                        claimed = rows.len();
                        for d in rows {
                            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                                break;
                            };
                            let me = self.clone();
                            self.tracker.spawn(async move {
                                if let Err(e) = me.process(&d).await {
                                    tracing::error!(delivery_id = %d.id, error = %e, "could not record delivery attempt; it is retried when its lease expires");
                                }
                                drop(permit);
                                me.wake.notify_one();
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming deliveries failed"),
                }
            }
            if claimed == 0 || claimed < free {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                    _ = self.cancel.cancelled() => break,
                }
            }
        }
        tracing::info!("dispatcher stopped claiming");
    }

    /// One attempt at a claimed delivery, recorded; or a deferral when rate-limited.
    async fn process(&self, d: &Delivery) -> Result<(), DbErr> {
        let dispatched_at = now_ms();
        match self.send(d, true).await? {
            Sent::Deferred(wait) => {
                let at = now_ms() + wait.as_millis() as i64;
                tracing::debug!(delivery_id = %d.id, wait_ms = wait.as_millis() as u64, "rate-limited; deferred");
                store::deliveries::defer(&self.db, &d.id, &self.claim_id, at).await?;
                Ok(())
            }
            Sent::Done(outcome) => self.record(d, &outcome, dispatched_at, true).await,
        }
    }

    /// Store the attempt and decide what comes next. With `retries` false a
    /// retryable failure is final (synchronous test sends).
    async fn record(
        &self,
        d: &Delivery,
        outcome: &Outcome,
        dispatched_at: i64,
        retries: bool,
    ) -> Result<(), DbErr> {
        let number = d.attempt_count + 1;
        let in_budget = attempt_in_budget(d);
        let next = match outcome.class {
            Class::Success => Next::Succeeded,
            Class::Permanent => Next::Failed,
            Class::Retryable if retries && self.cfg.policy.may_retry(in_budget) => {
                let wait = self.cfg.policy.delay(in_budget, outcome.retry_after);
                Next::RetryAt(now_ms() + wait.as_millis() as i64)
            }
            Class::Retryable => Next::Failed,
        };
        tracing::info!(
            delivery_id = %d.id, output_id = %d.output_id, attempt = number,
            status = outcome.status_code, outcome = ?next, "delivery attempt"
        );
        let row = store::deliveries::attempt_row(
            &d.id,
            number,
            dispatched_at,
            outcome.status_code as i32,
            outcome.class == Class::Success,
            outcome.message.clone(),
            outcome.duration_ms,
        );
        let recorded = store::deliveries::record_attempt(
            &self.db,
            &d.id,
            &d.output_id,
            &self.claim_id,
            row,
            next.clone(),
            outcome.external.clone(),
        )
        .await?;
        if !recorded {
            tracing::warn!(delivery_id = %d.id, "lease lost before the attempt was recorded");
            return Ok(());
        }
        if next == Next::Failed && DeliveryKind::parse(&d.kind) != Some(DeliveryKind::Test) {
            tracing::warn!(delivery_id = %d.id, output_id = %d.output_id, "delivery failed for good");
            let _ = self.failures.send(FailedDelivery {
                delivery_id: d.id.clone(),
                alert_id: d.alert_id.clone(),
                output_id: d.output_id.clone(),
                label: d.label.clone(),
                status_code: outcome.status_code as i32,
                message: outcome.message.clone(),
            });
        }
        Ok(())
    }

    /// Build and send the request for `d`. With `limited`, the destination's limiter
    /// may defer it instead.
    async fn send(&self, d: &Delivery, limited: bool) -> Result<Sent, DbErr> {
        let done = |msg: String| Ok(Sent::Done(Outcome::not_sent(msg, Class::Permanent)));
        let Some(record) = store::destinations::get(&self.db, &self.cipher, &d.output_id).await?
        else {
            return done("the destination was deleted".into());
        };
        let dest = &record.destination;
        let Some(integration) = destinations::integration(&dest.output_type) else {
            return done(format!("unsupported destination type {}", dest.output_type));
        };
        let kind = DeliveryKind::parse(&d.kind).unwrap_or(DeliveryKind::Routed);
        let alert = match (kind, d.alert_id.as_deref()) {
            (DeliveryKind::Test, _) => test_alert(now_ms()),
            (_, Some(id)) => match store::alerts::get(&self.db, id).await? {
                Some(a) => a,
                None => return done(format!("alert {id} no longer exists")),
            },
            (_, None) => return done("delivery has no alert".into()),
        };
        let (default_rps, default_conc) = integration.default_rate_limit();
        let limiter = self.limiters.get(
            &dest.id,
            Limits {
                per_second: record.limits.max_requests_per_second.or(default_rps),
                concurrency: record
                    .limits
                    .max_concurrency
                    .map(|c| c.max(1) as usize)
                    .or(default_conc),
            },
        );
        let _slot = if limited {
            match limiter.try_acquire() {
                Ok(slot) => Some(slot),
                Err(wait) => {
                    crate::telemetry::delivery_deferred(&dest.output_type);
                    return Ok(Sent::Deferred(wait));
                }
            }
        } else {
            None
        };
        let payload = panther_payload(&alert, &self.cfg.public_url, kind);
        let ctx = DeliveryContext {
            delivery_id: &d.id,
            alert: &alert,
            payload: &payload,
            timestamp: now_ms() / 1000,
            kind,
        };
        let outcome = self.send_built(integration, &dest.config, &ctx).await;
        let label = match outcome.class {
            Class::Success => "success",
            Class::Retryable => "retry",
            Class::Permanent => "failed",
        };
        crate::telemetry::delivery_attempt(
            &dest.output_type,
            label,
            Duration::from_millis(outcome.duration_ms.max(0) as u64),
        );
        if outcome.status_code == 429 {
            let attempt = attempt_in_budget(d);
            let wait = outcome
                .retry_after
                .unwrap_or_else(|| self.cfg.policy.ceiling(attempt));
            tracing::warn!(output_id = %dest.id, wait_ms = wait.as_millis() as u64, "destination answered 429; pausing it");
            limiter.block_for(wait);
        }
        Ok(Sent::Done(outcome))
    }

    async fn send_built(
        &self,
        integration: &dyn Integration,
        config: &serde_json::Value,
        ctx: &DeliveryContext<'_>,
    ) -> Outcome {
        let secret_values = secrets::values(config, integration.secret_paths());
        if let Some(custom) = integration.custom_sender() {
            let mut outcome = custom.send(&self.client, config, ctx).await;
            outcome.message = sender::truncate(&secrets::scrub(&outcome.message, &secret_values));
            return outcome;
        }
        match integration.build_request(config, ctx) {
            Ok(req) => {
                sender::send(
                    &self.client,
                    integration,
                    req,
                    ctx.delivery_id,
                    &secret_values,
                )
                .await
            }
            Err(reason) => {
                Outcome::not_sent(secrets::scrub(&reason, &secret_values), Class::Permanent)
            }
        }
    }
}
