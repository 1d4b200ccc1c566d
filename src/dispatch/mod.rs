//! The dispatcher owns delivery: it claims due deliveries from the outbox with a
//! lease, sends each through its destination type, records every attempt, and
//! schedules retries. Resolvers only enqueue (in the alert's transaction) and wake it.
pub mod retry;
pub mod sender;

use crate::destinations::{self, secrets, DeliveryContext};
use crate::domain::payload::{panther_payload, test_alert};
use crate::domain::{time::now_ms, DeliveryKind};
use crate::store::{self, deliveries::{Delivery, Next}};
use retry::{Class, RetryPolicy};
use sea_orm::{DatabaseConnection, DbErr};
use sender::Outcome;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
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

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    client: reqwest::Client,
    cfg: DispatchConfig,
    /// This process's lease holder id.
    claim_id: String,
    wake: Notify,
    cancel: CancellationToken,
    tracker: TaskTracker,
    permits: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, mut cfg: DispatchConfig) -> anyhow::Result<Self> {
        // A lease must outlive one request, or a slow send could be taken over and sent twice.
        cfg.lease = cfg.lease.max(cfg.request_timeout + Duration::from_secs(1));
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                db,
                client,
                claim_id: format!("herald-{}", uuid::Uuid::new_v4()),
                permits: Arc::new(Semaphore::new(cfg.workers.max(1))),
                cfg,
                wake: Notify::new(),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }),
        })
    }

    /// Start claiming and sending in the background.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.run().await })
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
        if tokio::time::timeout(grace, inner.tracker.wait()).await.is_err() {
            tracing::warn!("in-flight deliveries did not finish in time; releasing them");
        }
        match store::deliveries::release(&inner.db, std::slice::from_ref(&inner.claim_id), now_ms()).await {
            Ok(n) if n > 0 => tracing::info!(released = n, "released leased deliveries"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not release leased deliveries"),
        }
    }

    /// Send one delivery now, in the caller's task (`sendTestAlert`). The delivery row
    /// must already exist; this claims it, makes a single attempt and records it.
    pub async fn deliver_now(&self, delivery: Delivery) -> Result<AttemptReport, DbErr> {
        let (outcome, at) = self.inner.attempt(&delivery, false).await?;
        Ok(AttemptReport {
            output_id: delivery.output_id,
            success: outcome.class == Class::Success,
            status_code: outcome.status_code,
            message: outcome.message,
            dispatched_at: at,
        })
    }

    /// The lease holder id used for synchronous sends.
    pub fn claim_id(&self) -> &str {
        &self.inner.claim_id
    }
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
                match store::deliveries::claim(&self.db, now_ms(), lease_ms, free as u64, &self.claim_id).await {
                    Ok(rows) => {
                        claimed = rows.len();
                        for d in rows {
                            let Ok(permit) = self.permits.clone().acquire_owned().await else { break };
                            let me = self.clone();
                            self.tracker.spawn(async move {
                                if let Err(e) = me.attempt(&d, true).await {
                                    tracing::error!(delivery_id = %d.id, error = %e, "could not record delivery attempt; the lease will expire and it will be retried");
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

    /// Make one attempt at `d` (already leased to this process) and record it.
    /// With `retries` false a retryable failure is final (synchronous test sends).
    async fn attempt(&self, d: &Delivery, retries: bool) -> Result<(Outcome, i64), DbErr> {
        let number = d.attempt_count + 1;
        let dispatched_at = now_ms();
        let outcome = self.send(d).await?;
        let next = match outcome.class {
            Class::Success => Next::Succeeded,
            Class::Permanent => Next::Failed,
            Class::Retryable if retries && self.cfg.policy.may_retry(number as u32) => {
                let wait = self.cfg.policy.delay(number as u32, outcome.retry_after);
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
        if !store::deliveries::record_attempt(&self.db, &d.id, &self.claim_id, row, next, outcome.external.clone()).await? {
            tracing::warn!(delivery_id = %d.id, "lease lost before the attempt was recorded");
        }
        Ok((outcome, dispatched_at))
    }

    async fn send(&self, d: &Delivery) -> Result<Outcome, DbErr> {
        let Some(dest) = store::destinations::get(&self.db, &d.output_id).await? else {
            return Ok(Outcome::not_sent("the destination was deleted".into(), Class::Permanent));
        };
        let dest = dest.destination;
        let Some(integration) = destinations::integration(&dest.output_type) else {
            return Ok(Outcome::not_sent(format!("unsupported destination type {}", dest.output_type), Class::Permanent));
        };
        let kind = DeliveryKind::parse(&d.kind).unwrap_or(DeliveryKind::Routed);
        let alert = match (kind, d.alert_id.as_deref()) {
            (DeliveryKind::Test, _) => test_alert(now_ms()),
            (_, Some(id)) => match store::alerts::get(&self.db, id).await? {
                Some(a) => a,
                None => return Ok(Outcome::not_sent(format!("alert {id} no longer exists"), Class::Permanent)),
            },
            (_, None) => return Ok(Outcome::not_sent("delivery has no alert".into(), Class::Permanent)),
        };
        let prefix = if kind == DeliveryKind::Resend { "[Re-sent]: " } else { "" };
        let payload = panther_payload(&alert, &self.cfg.public_url, prefix);
        let ctx = DeliveryContext {
            delivery_id: &d.id,
            alert: &alert,
            payload: &payload,
            timestamp: now_ms() / 1000,
            kind,
        };
        let secret_values = secrets::values(&dest.config, integration.secret_paths());
        if let Some(custom) = integration.custom_sender() {
            let mut outcome = custom.send(&self.client, &dest.config, &ctx).await;
            outcome.message = sender::truncate(&secrets::scrub(&outcome.message, &secret_values));
            return Ok(outcome);
        }
        match integration.build_request(&dest.config, &ctx) {
            Ok(req) => Ok(sender::send(&self.client, integration, req, &d.id, &secret_values).await),
            Err(reason) => Ok(Outcome::not_sent(secrets::scrub(&reason, &secret_values), Class::Permanent)),
        }
    }
}
