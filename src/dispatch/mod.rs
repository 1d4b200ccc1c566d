//! The dispatcher owns delivery: it claims due deliveries from the outbox with a
//! lease, sends each through its destination type, records every attempt, and
//! schedules retries. Resolvers only enqueue (in the alert's transaction) and wake it.
mod cache;
pub mod handoff;
pub mod limits;
pub mod recorder;
pub mod retry;

use crate::destinations::transport::{self, Outcome};
use crate::destinations::{self, DeliveryContext, DynIntegration};
use crate::domain::payload::{test_alert, Payload};
use crate::domain::{time::now_ms, AlertId, DeliveryId, DeliveryKind, DestinationId};
use crate::outbound::{Outbound, OutboundPolicy};
use crate::store::{
    self,
    deliveries::{
        AttemptRecord, BreakerChange, BreakerPolicy, Delivery, NewAttempt, Next, Recorded,
    },
};
pub use handoff::HandOffSlots;
use limits::{Limiters, Limits};
use recorder::{RecordFailed, Recorder};
use retry::{Class, RetryPolicy};
use sea_orm::{DatabaseConnection, DbErr};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub policy: RetryPolicy,
    pub request_timeout: Duration,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub workers: usize,
    /// Deliveries one destination may have in flight in this process.
    pub destination_workers: usize,
    /// Lost leases (the sending process died) after which a delivery is quarantined.
    pub max_lost_leases: u32,
    pub breaker: BreakerPolicy,
    pub public_url: String,
    /// What rendering a destination's templates may spend.
    pub template_budget: crate::destinations::template::Budget,
    /// Which addresses deliveries may reach (the SSRF guard).
    pub outbound: OutboundPolicy,
    /// Most bytes of a reply read.
    pub max_response_bytes: usize,
    /// Where deliveries leave from (proxy, bind address, the public IP shown).
    pub egress: crate::outbound::Egress,
}

/// The result of one attempt, as `sendTestAlert` reports it.
#[derive(Debug, Clone)]
pub struct AttemptReport {
    pub output_id: DestinationId,
    pub success: bool,
    pub status_code: u16,
    pub message: String,
    pub dispatched_at: i64,
}

/// What the dispatcher announces so that system error alerts can be raised.
#[derive(Debug, Clone)]
pub enum DispatchEvent {
    /// A delivery ended FAILED.
    Failed(FailedDelivery),
    /// A destination's circuit breaker opened (`Paused`) or closed (`Resumed`).
    Breaker {
        output_id: DestinationId,
        label: String,
        change: BreakerChange,
        last_message: String,
    },
}

/// A delivery that ended FAILED (announced so a system error alert can be raised).
#[derive(Debug, Clone)]
pub struct FailedDelivery {
    pub delivery_id: DeliveryId,
    pub alert_id: Option<AlertId>,
    pub output_id: DestinationId,
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
    outbound: Outbound,
    /// Opens the destination secrets read from the store.
    cipher: crate::crypto::Cipher,
    cfg: DispatchConfig,
    /// This process's lease holder id.
    claim_id: String,
    wake: Notify,
    cancel: CancellationToken,
    tracker: TaskTracker,
    /// Deliveries being sent (`workers`): held from load to the reply.
    permits: Arc<Semaphore>,
    /// Deliveries between being taken and being recorded: a worker frees its sending
    /// permit as soon as the reply is in, and waits for the batched record with this.
    unrecorded: Arc<Semaphore>,
    limiters: Limiters,
    /// Destinations as sent to, per configuration version.
    destinations: cache::DestinationCache,
    /// Deliveries this process committed and leased to itself, waiting for a worker.
    handoffs: handoff::HandOffs,
    /// Writes finished attempts in batches (started with the claim loop).
    recorder: OnceLock<Recorder>,
    events: mpsc::UnboundedSender<DispatchEvent>,
    /// Live updates: every recorded attempt is announced (built only when watched).
    live: crate::domain::live::LiveBus,
    /// Shared with `/healthz`: attempts that cannot be recorded mark writes failing.
    writes: Arc<store::WriteHealth>,
    /// Shared with the ingestion writer: this process's busy writers take turns.
    gate: Arc<store::WriteGate>,
    /// When expired leases were last looked for (see [`Inner::claim`]).
    leases_checked_at: std::sync::atomic::AtomicI64,
    /// When a claim that left destinations out last came back short.
    excluded_dry_at: std::sync::atomic::AtomicI64,
    /// The last claim came back with all it asked for: due deliveries are queued in
    /// the table (a backlog), so the next claim reads them off the due index in order
    /// ([`store::deliveries::claim`]'s `backlog`).
    backlog: std::sync::atomic::AtomicBool,
    /// Something may have become claimable since the last claim: new PENDING work (see
    /// [`Dispatcher::wake`]), a claim that came back full or failed. A claim that finds
    /// nothing is not repeated at every worker's wake-up while this is false.
    maybe_due: std::sync::atomic::AtomicBool,
    /// The earliest retry or deferral this process scheduled and has not claimed since.
    due_at: std::sync::atomic::AtomicI64,
    /// When the last claim ran (others' work and expired leases are looked for at least
    /// every `poll_interval`).
    claimed_at: std::sync::atomic::AtomicI64,
    /// Claim queries run (see [`Dispatcher::claims`]).
    claims: std::sync::atomic::AtomicU64,
}

/// What sending one delivery came to.
enum Sent {
    Done(Outcome),
    /// The destination's limiter said wait; the delivery goes back to PENDING.
    Deferred(Duration),
}

/// What [`Inner::load`] found for a delivery.
pub(crate) enum Loaded {
    Ready(Box<Prepared>),
    /// It can never be sent: its permanent outcome.
    Unsendable(Outcome),
}

/// Everything one attempt needs, loaded: handed from [`Inner::load`] to the later phases.
pub(crate) struct Prepared {
    record: Arc<store::destinations::DestinationRecord>,
    /// Masks the destination's secrets in what the attempt reports.
    scrubber: Arc<destinations::secrets::Scrubber>,
    integration: &'static dyn DynIntegration,
    alert: Arc<crate::domain::Alert>,
    /// Built once per alert and kind, shared by its deliveries.
    payload: Arc<Payload>,
}

/// A slot of the destination's limiter, held while the request is out
/// ([`Inner::acquire`] → [`Inner::make_call`]).
struct Admitted {
    limiter: Arc<limits::DestinationLimiter>,
    _slot: limits::InFlight,
}

/// How long a worker waits for its destination's limiter before deferring the
/// delivery: long enough for a concurrency slot to come free when several workers took
/// deliveries of one destination at once, short enough not to hold a worker for a
/// destination that is rate-limited.
const BRIEF_WAIT: Duration = Duration::from_millis(100);

/// How a send meets the destination's limits.
#[derive(Clone, Copy, PartialEq)]
enum Pace {
    /// A worker's send: it waits for the destination up to [`BRIEF_WAIT`] (a slot
    /// that comes free as a reply arrives), else the delivery is deferred.
    Defer,
    /// A caller waits (`sendTestAlert`), up to the request timeout.
    Wait,
}

impl Dispatcher {
    /// The dispatcher, and the stream of events that raise system error alerts. Each
    /// recorded attempt is also published on `live` (GraphQL `deliveryUpdated`).
    pub fn new(
        db: DatabaseConnection,
        cipher: crate::crypto::Cipher,
        cfg: DispatchConfig,
        live: crate::domain::live::LiveBus,
    ) -> anyhow::Result<(Self, mpsc::UnboundedReceiver<DispatchEvent>)> {
        // A lease must outlive one request, or a slow send could be taken over and sent
        // twice: the configuration refuses a shorter one when it is loaded.
        anyhow::ensure!(
            cfg.lease
                >= cfg.request_timeout + Duration::from_millis(crate::config::LEASE_MARGIN_MS),
            "the delivery lease ({:?}) must outlast the request timeout ({:?}) by {} ms",
            cfg.lease,
            cfg.request_timeout,
            crate::config::LEASE_MARGIN_MS
        );
        let outbound = Outbound::with_egress(
            cfg.outbound.clone(),
            cfg.request_timeout,
            cfg.max_response_bytes,
            cfg.egress.clone(),
        )?;
        let (events, events_rx) = mpsc::unbounded_channel();
        let gate = Arc::new(store::WriteGate::for_db(&db));
        let d = Dispatcher {
            inner: Arc::new(Inner {
                db,
                outbound,
                cipher,
                claim_id: format!("herald-{}", uuid::Uuid::new_v4()),
                permits: Arc::new(Semaphore::new(cfg.workers)),
                unrecorded: Arc::new(Semaphore::new(cfg.workers * UNRECORDED_PER_WORKER)),
                handoffs: handoff::HandOffs::new(cfg.workers * UNRECORDED_PER_WORKER),
                destinations: cache::DestinationCache::default(),
                recorder: OnceLock::new(),
                cfg,
                wake: Notify::new(),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
                limiters: Limiters::default(),
                events,
                live,
                writes: Arc::default(),
                gate,
                leases_checked_at: Default::default(),
                excluded_dry_at: Default::default(),
                backlog: Default::default(),
                maybe_due: std::sync::atomic::AtomicBool::new(true),
                due_at: std::sync::atomic::AtomicI64::new(i64::MAX),
                claimed_at: Default::default(),
                claims: Default::default(),
            }),
        };
        Ok((d, events_rx))
    }

    /// What this process sees of database writes (the dispatcher's failures included),
    /// for `/healthz`.
    pub fn write_health(&self) -> Arc<store::WriteHealth> {
        self.inner.writes.clone()
    }

    /// Start claiming and sending in the background. The claim loop is supervised: a
    /// panic restarts it (leased deliveries come back when their lease expires).
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        inner
            .recorder
            .get_or_init(|| Recorder::start(inner.db.clone(), inner.gate.clone()));
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

    /// The turn-taking of this process's busy writers (see [`store::WriteGate`]).
    pub fn write_gate(&self) -> &store::WriteGate {
        &self.inner.gate
    }

    /// How many claim queries this dispatcher has run (each reads the due deliveries).
    pub fn claims(&self) -> u64 {
        self.inner.claims.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// New PENDING work was enqueued: claim now rather than at the next poll.
    pub fn wake(&self) {
        self.inner
            .maybe_due
            .store(true, std::sync::atomic::Ordering::Release);
        self.inner.wake.notify_one();
    }

    /// The guarded client, the SSRF policy and the reply limits of deliveries.
    pub fn outbound(&self) -> &Outbound {
        &self.inner.outbound
    }

    pub fn public_url(&self) -> &str {
        &self.inner.cfg.public_url
    }

    pub fn template_budget(&self) -> crate::destinations::template::Budget {
        self.inner.cfg.template_budget
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
        let loaded = self.inner.load(&delivery).await?;
        let outcome = match self.inner.send(&delivery, loaded, Pace::Wait).await {
            Sent::Done(o) => o,
            Sent::Deferred(wait) => Outcome::not_sent(
                format!(
                    "not sent: the destination's rate limit allows the next request in {} ms; try again",
                    wait.as_millis()
                ),
                Class::Retryable,
            ),
        };
        let record = self
            .inner
            .attempt_record(&delivery, &outcome, dispatched_at, false, false);
        let next = record.next.clone();
        let recorded = store::deliveries::record_attempt(&self.inner.db, record).await?;
        self.inner
            .after_record(&delivery, &outcome, &next, recorded);
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

/// Time a whole send may take beyond the request timeout (token exchange, SMTP
/// dialogue, reading the reply) before it is abandoned as timed out.
const SEND_MARGIN: Duration = Duration::from_millis(500);

/// The number of the coming attempt within the retry budget, which counts from the
/// last (re-)queue so that a replay gets a full one.
fn attempt_in_budget(d: &Delivery) -> u32 {
    (d.attempt_count + 1 - d.attempts_base).max(1) as u32
}

/// A delivery's destination and alert, as loaded, ready to send, or why it never can be.
fn ready(
    record: Option<cache::Sendable>,
    alert: Result<(Arc<crate::domain::Alert>, Arc<Payload>), String>,
) -> Loaded {
    let unsendable = |msg: String| Loaded::Unsendable(Outcome::not_sent(msg, Class::Permanent));
    let Some((record, scrubber)) = record else {
        return unsendable("the destination was deleted".into());
    };
    let output_type = &record.destination.output_type;
    let Some(integration) = destinations::integration(output_type) else {
        return unsendable(format!("unsupported destination type {output_type}"));
    };
    match alert {
        Ok((alert, payload)) => Loaded::Ready(Box::new(Prepared {
            record,
            scrubber,
            integration,
            alert,
            payload,
        })),
        Err(msg) => unsendable(msg),
    }
}

/// Deliveries a worker may have taken but not yet recorded, per worker: sending
/// permits come free as soon as a reply is in, while records wait for their batch.
const UNRECORDED_PER_WORKER: usize = 4;

/// What a spawned worker holds: a sending permit (given back once the reply is in) and
/// a slot among the unrecorded deliveries (given back once recorded).
struct Slots {
    sending: OwnedSemaphorePermit,
    _unrecorded: OwnedSemaphorePermit,
}

impl Inner {
    async fn run(self: Arc<Self>) {
        tracing::info!(workers = self.cfg.workers, "dispatcher started");
        loop {
            if self.cancel.is_cancelled() {
                break;
            }
            // Deliveries this process just committed go first: no claim, no re-read.
            let mut idle = false;
            while let Some(slots) = self.try_slots() {
                let exclude = self.limiters.saturated();
                let stalled = if exclude.is_empty() {
                    Vec::new()
                } else {
                    self.limiters.stalled(BRIEF_WAIT)
                };
                let (next, stale) = self.handoffs.take(&exclude, &stalled, BRIEF_WAIT);
                if !stale.is_empty() {
                    let me = self.clone();
                    self.tracker.spawn(async move { me.put_back(stale).await });
                }
                let Some(h) = next else {
                    // Workers are free and nothing queued can start now.
                    idle = true;
                    break;
                };
                let me = self.clone();
                self.tracker.spawn(async move {
                    let id = h.delivery.id.clone();
                    if let Err(e) = me.process_queued(h, slots).await {
                        tracing::error!(delivery_id = %id, error = %e, "could not record delivery attempt; it is retried when its lease expires");
                    }
                    me.wake.notify_one();
                });
            }
            // Then due retries, expired leases, other processes' work and start-up: claimed
            // in batches into the same queue, whenever it runs short, as many as it has
            // room for (a claim's reads and its turn at the write gate cost about the
            // same for 500 rows as for 250, and in a backlog the claim loop's turns are
            // what paces the workers).
            let (room, queued) = self.handoffs.room();
            let want = room;
            let mut claimed = 0;
            if want > 0 && (queued < self.cfg.workers || idle) {
                match self.claim(want).await {
                    Ok(rows) => {
                        claimed = rows.len();
                        crate::telemetry::deliveries_taken("claim", claimed as u64);
                        self.handoffs.push_claimed(
                            rows.into_iter()
                                .map(|(delivery, probe, loaded)| handoff::HandOff {
                                    delivery,
                                    work: handoff::Work::Claimed { probe, loaded },
                                    queued_at: std::time::Instant::now(),
                                })
                                .collect(),
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming deliveries failed"),
                }
            }
            if claimed > 0 && self.permits.available_permits() > 0 {
                // Start what was just claimed.
                continue;
            }
            if claimed < want || (queued >= self.cfg.workers && !idle) {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.sleep_for()) => {}
                    _ = self.cancel.cancelled() => break,
                }
            }
        }
        tracing::info!("dispatcher stopped claiming");
    }

    /// A worker's slots if both are free now.
    fn try_slots(&self) -> Option<Slots> {
        let sending = self.permits.clone().try_acquire_owned().ok()?;
        let unrecorded = self.unrecorded.clone().try_acquire_owned().ok()?;
        Some(Slots {
            sending,
            _unrecorded: unrecorded,
        })
    }

    /// Lease due deliveries, leaving out destinations already at their concurrency in
    /// this process, and load what sending them needs in a few reads for all of them.
    /// Deliveries of a paused destination (circuit breaker open) whose probe is due
    /// come back flagged as the probe (one per interval, across processes); the others
    /// of that destination go back to wait for the next probe.
    async fn claim(&self, free: usize) -> Result<Vec<(Delivery, bool, Loaded)>, DbErr> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = now_ms();
        // Left out: stalled destinations (paused by a 429, or hanging), and those at
        // their concurrency that also have enough queued here to fill every slot they
        // have; claiming more of theirs would only wait. One that is merely busy (its
        // replies come back within milliseconds) is claimed for as usual: leaving it
        // out made every claim read past all of its due rows (the whole backlog, in a
        // burst to one destination) to find none, and left the workers idle while
        // claims waited out the pause below.
        let mut exclude = self.limiters.stalled(BRIEF_WAIT);
        let busy: Vec<DestinationId> = self
            .limiters
            .saturated()
            .into_iter()
            .filter(|id| !exclude.contains(id))
            .collect();
        exclude.extend(
            self.handoffs
                .enough_queued(busy, self.cfg.destination_workers),
        );
        let lease_ms = self.cfg.lease.as_millis() as i64;
        // Expired leases (a process died mid-send) are looked for a few times per lease,
        // not at every claim: the look reads every delivery in flight, which under a
        // burst is thousands. It reads first, without the write lock, and takes over
        // only when it found some.
        let expired = if now - self.leases_checked_at.load(Relaxed) >= (lease_ms / 4).min(1000) {
            self.leases_checked_at.store(now, Relaxed);
            store::deliveries::any_lease_expired(&self.db, now).await?
        } else {
            false
        };
        // Nothing left out and nothing new since a claim that found less than it asked
        // for: another would find the same (a worker's wake-up after each send, with
        // every delivery handed off in memory, made hundreds of dry claims a second,
        // each a turn at the write gate). Others' work and expired leases are looked for
        // every `poll_interval`.
        if exclude.is_empty() && !expired && !self.worth_claiming(now) {
            return Ok(Vec::new());
        }
        // With destinations left out (at their concurrency here), a claim that came back
        // short may have read past every due row of theirs to find none: it is not
        // repeated, with some left out, until BRIEF_WAIT has passed.
        let brief = BRIEF_WAIT.as_millis() as i64;
        if !exclude.is_empty() && !expired && now - self.excluded_dry_at.load(Relaxed) < brief {
            return Ok(Vec::new());
        }
        // Every destination left out (one busy destination, in a burst to it): a claim
        // could only read past all of their due rows, the whole backlog, to find none.
        if !exclude.is_empty() && !expired {
            let version = store::destinations::config_version(&self.db).await?;
            let push = self.destinations.push_ids(&self.db, version).await?;
            if push.iter().all(|id| exclude.contains(id)) {
                return Ok(Vec::new());
            }
        }
        // Nothing left out (the claim takes the first due rows it reads): the whole claim
        // runs in one turn on the writer connection, whose page cache the other writers'
        // commits keep (a pooled connection reads every page again after any commit), and
        // the lease is one statement. With some left out, the candidates are read first
        // on a pooled connection, outside the turn, as a read may pass many rows it
        // cannot take; the update then takes its turn.
        let turn = if exclude.is_empty() {
            self.gate.enter().await
        } else {
            None
        };
        let db = turn.as_deref().unwrap_or(&self.db);
        self.claimed_at.store(now, Relaxed);
        self.claims.fetch_add(1, Relaxed);
        let claimed = match &turn {
            Some(turn) => self.claim_in_turn(turn, now, lease_ms, free, expired).await,
            None => store::deliveries::claim(
                db,
                &self.gate,
                now,
                lease_ms,
                free as u64,
                &self.claim_id,
                &exclude,
                expired,
                self.backlog.load(Relaxed),
            )
            .await
            .map(|rows| (rows, None)),
        };
        let (rows, read) = claimed.inspect_err(|_| self.maybe_due.store(true, Relaxed))?;
        self.backlog.store(rows.len() >= free, Relaxed);
        if rows.len() >= free {
            self.maybe_due.store(true, Relaxed);
        }
        if !exclude.is_empty() && rows.len() < free {
            self.excluded_dry_at.store(now, Relaxed);
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let paused = match &read {
            Some(read) => read.paused.clone(),
            None => store::deliveries::paused(db).await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for d in rows {
            let Some((_, next_probe)) = paused.iter().find(|(id, _)| *id == d.output_id) else {
                out.push((d, false));
                continue;
            };
            let probe_ms = self.cfg.breaker.probe_ms;
            if store::deliveries::take_probe(db, &d.output_id, now, probe_ms).await? {
                tracing::info!(output_id = %d.output_id, delivery_id = %d.id, "destination paused; sending a probe");
                out.push((d, true));
            } else {
                let at = (*next_probe).max(now + probe_ms.min(1000));
                store::deliveries::defer(db, &d.id, &self.claim_id, at).await?;
                self.note_due(at);
            }
        }
        self.load_many(db, out, read).await
    }

    /// The claim with nothing left out, in this process's turn at the write gate, on
    /// the batch writers' own SQLite connection: the leases and, for what they took,
    /// the paused destinations, the configuration version and the alerts, in one hop
    /// and decoded by position (reading the claimed rows through sqlx, by column name,
    /// was most of a claim's CPU in a burst).
    async fn claim_in_turn(
        &self,
        turn: &store::Turn<'_>,
        now: i64,
        lease_ms: i64,
        free: usize,
        expired: bool,
    ) -> Result<(Vec<Delivery>, Option<ClaimRead>), DbErr> {
        let read = turn.on_handle(|c| {
            let leased = store::deliveries::claim_on_handle(
                c,
                now,
                lease_ms,
                free as u64,
                &self.claim_id,
                expired,
            )?;
            let rows = match leased {
                Ok(rows) if !rows.is_empty() => rows,
                other => return Ok((other, None)),
            };
            let paused = store::deliveries::paused_on_handle(c)?;
            let version = store::destinations::config_version_on_handle(c)?;
            let ids = alert_ids(&rows);
            let alerts = if ids.is_empty() {
                Ok(Vec::new())
            } else {
                store::alerts::get_many_on_handle(c, &ids)?
            };
            Ok((Ok(rows), Some((paused, version, alerts))))
        })?;
        let (rows, rest) = read;
        let rows = store::deliveries::checked(&**turn, rows).await?;
        let Some((paused, version, alerts)) = rest else {
            return Ok((rows, None));
        };
        let read = ClaimRead {
            paused: paused?,
            version: version?,
            alerts: store::alerts::rows(&**turn, alerts).await?,
        };
        Ok((rows, Some(read)))
    }

    /// Whether a claim with nothing left out may find something (see `maybe_due`):
    /// something new was flagged, a retry this process scheduled came due, or the last
    /// claim was `poll_interval` ago.
    fn worth_claiming(&self, now: i64) -> bool {
        use std::sync::atomic::Ordering::{AcqRel, Relaxed};
        let came_due = self
            .due_at
            .fetch_update(Relaxed, Relaxed, |at| (at <= now).then_some(i64::MAX))
            .is_ok();
        let flagged = self.maybe_due.swap(false, AcqRel);
        let polled =
            now - self.claimed_at.load(Relaxed) >= self.cfg.poll_interval.as_millis() as i64;
        came_due || flagged || polled
    }

    /// A delivery this process put back becomes due at `at` (the claim loop is woken to
    /// sleep no longer than that).
    fn note_due(&self, at: i64) {
        self.due_at
            .fetch_min(at, std::sync::atomic::Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// How long the claim loop may sleep: until the next poll, or sooner if something
    /// this process scheduled comes due first.
    fn sleep_for(&self) -> Duration {
        let due = self.due_at.load(std::sync::atomic::Ordering::Relaxed);
        let until_due = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
        self.cfg.poll_interval.min(Duration::from_millis(until_due))
    }

    /// Phase 1 for claimed deliveries: their destinations (from the copy kept per
    /// configuration version), their alerts (one read for all) and each alert's payload
    /// (built once per alert and kind).
    #[tracing::instrument(name = "load", skip_all, fields(deliveries = rows.len()))]
    async fn load_many(
        &self,
        db: &DatabaseConnection,
        rows: Vec<(Delivery, bool)>,
        read: Option<ClaimRead>,
    ) -> Result<Vec<(Delivery, bool, Loaded)>, DbErr> {
        let (version, alerts) = match read {
            Some(read) => (read.version, read.alerts),
            None => {
                let version = store::destinations::config_version(db).await?;
                let ids = alert_ids(rows.iter().map(|(d, _)| d));
                let alerts = if ids.is_empty() {
                    Vec::new()
                } else {
                    store::alerts::get_many(db, &ids).await?
                };
                (version, alerts)
            }
        };
        let alerts: HashMap<AlertId, Arc<crate::domain::Alert>> = alerts
            .into_iter()
            .map(|a| (a.id.clone(), Arc::new(a)))
            .collect();
        let mut payloads: HashMap<(AlertId, DeliveryKind), Arc<Payload>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for (d, probe) in rows {
            let record = self
                .destinations
                .get(db, &self.cipher, &d.output_id, version)
                .await?;
            let alert = match (d.kind, d.alert_id.as_ref()) {
                (DeliveryKind::Test, _) => {
                    Ok(self.with_payload(Arc::new(test_alert(now_ms())), d.kind))
                }
                (_, Some(id)) => match alerts.get(id) {
                    Some(a) => {
                        let payload = payloads
                            .entry((id.clone(), d.kind))
                            .or_insert_with(|| {
                                Arc::new(Payload::new(a, &self.cfg.public_url, d.kind))
                            })
                            .clone();
                        Ok((a.clone(), payload))
                    }
                    None => Err(format!("alert {id} no longer exists")),
                },
                (_, None) => Err("delivery has no alert".into()),
            };
            let loaded = ready(record, alert);
            out.push((d, probe, loaded));
        }
        Ok(out)
    }

    /// An alert with its payload for deliveries of `kind`.
    fn with_payload(
        &self,
        alert: Arc<crate::domain::Alert>,
        kind: DeliveryKind,
    ) -> (Arc<crate::domain::Alert>, Arc<Payload>) {
        let payload = Arc::new(Payload::new(&alert, &self.cfg.public_url, kind));
        (alert, payload)
    }

    /// Queued deliveries of destinations at their limit, back to PENDING for the claim
    /// (no attempt counted), due when the destination's share may have a free slot.
    async fn put_back(&self, items: Vec<handoff::HandOff>) {
        let at = now_ms() + BRIEF_WAIT.as_millis() as i64;
        for h in items {
            crate::telemetry::delivery_deferred(&h.delivery.label);
            if let Err(e) =
                store::deliveries::defer(&self.db, &h.delivery.id, &self.claim_id, at).await
            {
                tracing::warn!(delivery_id = %h.delivery.id, error = %e, "could not put a waiting delivery back; it is taken again when its lease expires");
            }
        }
        self.note_due(at);
    }

    /// A queued delivery (handed over by ingestion or claimed in a batch): its lease is
    /// renewed first if it waited so long that a whole send might outlast it (fenced: if
    /// the lease ran out and was taken again meanwhile, this copy is dropped and the new
    /// holder sends it).
    async fn process_queued(&self, h: handoff::HandOff, slots: Slots) -> Result<(), RecordFailed> {
        let mut d = h.delivery;
        let now = now_ms();
        let held_until = d.lease_until.unwrap_or(0);
        // A whole send (the request timeout and its margin) and half a second to record it.
        let needed = (self.cfg.request_timeout + SEND_MARGIN).as_millis() as i64 + 500;
        if held_until - now < needed {
            let until = now + self.cfg.lease.as_millis() as i64;
            let renewed =
                store::deliveries::renew(&self.db, &d.id, &self.claim_id, held_until, until)
                    .await
                    .map_err(|e| RecordFailed::of(&e))?;
            if !renewed {
                tracing::warn!(delivery_id = %d.id, "a queued delivery's lease ran out before a worker was free; its new holder sends it");
                return Ok(());
            }
            d.lease_until = Some(until);
        }
        let (probe, loaded) = match h.work {
            handoff::Work::Claimed { probe, loaded } => (probe, loaded),
            handoff::Work::Committed {
                alert,
                payload,
                version,
            } => {
                crate::telemetry::deliveries_taken("handoff", 1);
                let record = self
                    .destinations
                    .get(&self.db, &self.cipher, &d.output_id, version)
                    .await
                    .map_err(|e| RecordFailed::of(&e))?;
                (false, ready(record, Ok((alert, payload))))
            }
        };
        self.process(&d, probe, loaded, slots).await
    }

    /// One attempt at a leased delivery, recorded; or a deferral when rate-limited.
    async fn process(
        &self,
        d: &Delivery,
        probe: bool,
        loaded: Loaded,
        slots: Slots,
    ) -> Result<(), RecordFailed> {
        let dispatched_at = now_ms();
        if d.lost_leases as u32 >= self.cfg.max_lost_leases {
            // Each previous try died with its process (out of memory, killed): sending it
            // again could take this process down too.
            let outcome = Outcome::not_sent(
                format!(
                    "quarantined: the process sending this delivery stopped mid-send {} times; not retried (use retryFailedDeliveries once the cause is fixed)",
                    d.lost_leases
                ),
                Class::Permanent,
            );
            tracing::error!(delivery_id = %d.id, output_id = %d.output_id, lost_leases = d.lost_leases, "delivery quarantined");
            drop(slots.sending);
            return self
                .record_while_leased(d, &outcome, dispatched_at, false)
                .await;
        }
        let sent = self.send(d, loaded, Pace::Defer).await;
        // The reply is in: the sending permit goes to the next delivery while this one
        // waits for its batched record.
        drop(slots.sending);
        self.wake.notify_one();
        match sent {
            Sent::Deferred(wait) => {
                let at = now_ms() + wait.as_millis() as i64;
                tracing::debug!(delivery_id = %d.id, wait_ms = wait.as_millis() as u64, "rate-limited; deferred");
                store::deliveries::defer(&self.db, &d.id, &self.claim_id, at)
                    .await
                    .map_err(|e| RecordFailed::of(&e))?;
                self.note_due(at);
                Ok(())
            }
            Sent::Done(outcome) => {
                self.record_while_leased(d, &outcome, dispatched_at, probe)
                    .await
            }
        }
    }

    /// Record an attempt that was sent, retrying while the database cannot take the
    /// write (full disk, dropped connection) and the lease still holds: the attempt is
    /// not lost, and the delivery is not taken for one whose sender died.
    async fn record_while_leased(
        &self,
        d: &Delivery,
        outcome: &Outcome,
        dispatched_at: i64,
        probe: bool,
    ) -> Result<(), RecordFailed> {
        let lease_end = d.lease_until.unwrap_or(0) - 500;
        let mut wait = Duration::from_millis(100);
        loop {
            let record = self.attempt_record(d, outcome, dispatched_at, true, probe);
            let next = record.next.clone();
            let recorded = match self.recorder.get() {
                Some(recorder) => recorder.record(record).await,
                None => store::deliveries::record_attempt(&self.db, record)
                    .await
                    .map_err(|e| RecordFailed::of(&e)),
            };
            match recorded {
                Ok(recorded) => {
                    if let Next::RetryAt(at) | Next::Hold(at) = &next {
                        self.note_due(*at);
                    }
                    self.after_record(d, outcome, &next, recorded);
                    return Ok(());
                }
                Err(e) if e.unavailable && now_ms() + (wait.as_millis() as i64) < lease_end => {
                    self.writes.failed();
                    tracing::warn!(delivery_id = %d.id, error = %e, "could not record the attempt yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Phase 4 (account): the attempt to store and what comes next. With `retries`
    /// false a retryable failure is final (synchronous test sends). A failed `probe` of
    /// a paused destination waits for the next probe without using up the retry budget.
    fn attempt_record(
        &self,
        d: &Delivery,
        outcome: &Outcome,
        dispatched_at: i64,
        retries: bool,
        probe: bool,
    ) -> AttemptRecord {
        let number = d.attempt_count + 1;
        let in_budget = attempt_in_budget(d);
        let next = match outcome.class {
            Class::Success => Next::Succeeded,
            Class::Permanent => Next::Failed,
            Class::Retryable if probe => Next::Hold(now_ms() + self.cfg.breaker.probe_ms),
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
        AttemptRecord {
            attempt: NewAttempt {
                delivery_id: d.id.clone(),
                number,
                dispatched_at,
                status_code: outcome.status_code as i32,
                success: outcome.class == Class::Success,
                message: outcome.message.clone(),
                duration_ms: outcome.duration_ms,
            },
            output_id: d.output_id.clone(),
            claim_id: self.claim_id.clone(),
            next,
            external: outcome.external.clone(),
            // Test sends say nothing about the destination's steady state.
            breaker: retries.then_some(self.cfg.breaker),
        }
    }

    /// What a stored attempt announces: breaker changes, and a delivery failed for good.
    fn after_record(&self, d: &Delivery, outcome: &Outcome, next: &Next, recorded: Recorded) {
        let change = match recorded {
            Recorded::LeaseLost => {
                tracing::warn!(delivery_id = %d.id, "lease lost before the attempt was recorded");
                return;
            }
            Recorded::Stored(change) => change,
        };
        self.live
            .publish(|| crate::domain::live::LiveEvent::DeliveryUpdated {
                delivery_id: d.id.clone(),
                alert_id: d.alert_id.clone(),
            });
        if let Some(change) = change {
            match &change {
                BreakerChange::Paused {
                    consecutive_failures,
                } => {
                    tracing::warn!(output_id = %d.output_id, consecutive_failures, "destination paused (circuit breaker open); its deliveries wait")
                }
                BreakerChange::Resumed => {
                    tracing::info!(output_id = %d.output_id, "destination resumed (probe succeeded)")
                }
            }
            let _ = self.events.send(DispatchEvent::Breaker {
                output_id: d.output_id.clone(),
                label: d.label.clone(),
                change,
                last_message: outcome.message.clone(),
            });
        }
        if *next == Next::Failed && d.kind != DeliveryKind::Test {
            tracing::warn!(delivery_id = %d.id, output_id = %d.output_id, "delivery failed for good");
            let _ = self.events.send(DispatchEvent::Failed(FailedDelivery {
                delivery_id: d.id.clone(),
                alert_id: d.alert_id.clone(),
                output_id: d.output_id.clone(),
                label: d.label.clone(),
                status_code: outcome.status_code as i32,
                message: outcome.message.clone(),
            }));
        }
    }

    /// Send the loaded delivery `d` within the destination's limits (rate, concurrency,
    /// a 429 pause): per `pace`, deferred or waited for. The phases, each its own span:
    /// [`Inner::load`] (done by the caller) → [`Inner::acquire`] → [`Inner::make_call`];
    /// the caller then accounts for the outcome ([`Inner::attempt_record`]).
    async fn send(&self, d: &Delivery, loaded: Loaded, pace: Pace) -> Sent {
        let prepared = match loaded {
            Loaded::Ready(p) => p,
            Loaded::Unsendable(outcome) => return Sent::Done(outcome),
        };
        let admitted = match self.acquire(d, &prepared, pace).await {
            Ok(admitted) => admitted,
            Err(wait) => return Sent::Deferred(wait),
        };
        Sent::Done(self.make_call(d, &prepared, admitted).await)
    }

    /// Phase 1 for one delivery (test sends): the destination, its integration, the
    /// alert and the payload. A delivery that can never be sent (destination deleted,
    /// type unknown, alert gone) comes back as its permanent outcome.
    #[tracing::instrument(name = "load", skip_all, fields(delivery_id = %d.id, output_id = %d.output_id))]
    async fn load(&self, d: &Delivery) -> Result<Loaded, DbErr> {
        let version = store::destinations::config_version(&self.db).await?;
        let record = self
            .destinations
            .get(&self.db, &self.cipher, &d.output_id, version)
            .await?;
        let alert = match (d.kind, d.alert_id.as_ref()) {
            (DeliveryKind::Test, _) => Ok(Arc::new(test_alert(now_ms()))),
            (_, Some(id)) => match store::alerts::get(&self.db, id).await? {
                Some(a) => Ok(Arc::new(a)),
                None => Err(format!("alert {id} no longer exists")),
            },
            (_, None) => Err("delivery has no alert".into()),
        };
        Ok(ready(record, alert.map(|a| self.with_payload(a, d.kind))))
    }

    /// Phase 2: a slot of the destination's limiter (rate, concurrency, a 429 pause).
    /// `Err(wait)`: the destination cannot take the request now; a worker's send is
    /// deferred by `wait`, a waiting caller gives up past the request timeout.
    #[tracing::instrument(name = "acquire", skip_all, fields(delivery_id = %d.id, output_id = %d.output_id))]
    async fn acquire(
        &self,
        d: &Delivery,
        prepared: &Prepared,
        pace: Pace,
    ) -> Result<Admitted, Duration> {
        let record = &prepared.record;
        let (default_rps, default_conc) = prepared.integration.default_rate_limit();
        // Every destination gets at most its share of the workers, so a slow or hanging
        // one cannot hold them all.
        let share = self.cfg.destination_workers;
        let limiter = self.limiters.get(
            &record.destination.id,
            Limits {
                per_second: record.limits.max_requests_per_second.or(default_rps),
                concurrency: Some(
                    record
                        .limits
                        .max_concurrency
                        .map(|c| c.max(1) as usize)
                        .or(default_conc)
                        .map_or(share, |c| c.min(share)),
                ),
            },
        );
        let deadline = tokio::time::Instant::now()
            + match pace {
                Pace::Wait => self.cfg.request_timeout,
                Pace::Defer => BRIEF_WAIT,
            };
        match limiter.acquire_until(deadline).await {
            Ok(slot) => Ok(Admitted {
                limiter,
                _slot: slot,
            }),
            Err(wait) => {
                crate::telemetry::delivery_deferred(&record.destination.output_type);
                Err(wait)
            }
        }
    }

    /// Phase 3: build and send the request, holding the limiter slot; count the
    /// attempt in the metrics and pause the destination on a 429.
    #[tracing::instrument(name = "send", skip_all, fields(delivery_id = %d.id, output_id = %d.output_id))]
    async fn make_call(&self, d: &Delivery, prepared: &Prepared, admitted: Admitted) -> Outcome {
        let dest = &prepared.record.destination;
        let ctx = DeliveryContext {
            delivery_id: d.id.as_str(),
            alert: &prepared.alert,
            payload: &prepared.payload,
            public_url: &self.cfg.public_url,
            timestamp: now_ms() / 1000,
            kind: d.kind,
            template_budget: self.cfg.template_budget,
        };
        let outcome = self
            .send_built(prepared.integration, &dest.config, &prepared.scrubber, &ctx)
            .await;
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
            admitted.limiter.block_for(wait);
        }
        outcome
    }

    async fn send_built(
        &self,
        integration: &dyn DynIntegration,
        config: &serde_json::Value,
        scrubber: &destinations::secrets::Scrubber,
        ctx: &DeliveryContext<'_>,
    ) -> Outcome {
        let out = &self.outbound;
        let send = async {
            if let Some(sending) = integration.send_itself(out, config, ctx) {
                let mut outcome = sending.await;
                outcome.message = transport::truncate(&scrubber.scrub(&outcome.message));
                return outcome;
            }
            match integration.build_request(config, ctx) {
                Ok(req) => transport::send(out, integration, req, ctx.delivery_id, scrubber).await,
                Err(reason) => {
                    Outcome::not_sent(scrubber.scrub(&reason.to_string()), Class::Permanent)
                }
            }
        };
        // Nothing may hold a worker past the request timeout, whatever the sender does.
        let budget = out.timeout() + SEND_MARGIN;
        match tokio::time::timeout(budget, send).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::timed_out(budget),
        }
    }
}

/// What [`Inner::claim_in_turn`] read besides the leased rows.
struct ClaimRead {
    paused: Vec<(DestinationId, i64)>,
    version: i64,
    alerts: Vec<crate::domain::Alert>,
}

/// The alerts of `rows`, each once, in order.
fn alert_ids<'a>(rows: impl IntoIterator<Item = &'a Delivery>) -> Vec<AlertId> {
    let mut ids: Vec<AlertId> = rows
        .into_iter()
        .filter_map(|d| d.alert_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
