//! Alert ingestion (dedup, routing, outbox), queries and updates, re-sends and test sends.
use super::Services;
use crate::auth::Principal;
use crate::destinations::is_pull;
use crate::dispatch::AttemptReport;
use crate::domain::CommentFormat;
use crate::domain::RoutingDecision;
use crate::domain::{
    time::now_ms, Alert, AlertId, AlertStatus, AlertType, DeliveryKind, DeliveryStatus,
    DestinationId, Severity, DEFAULT_DEDUP_PERIOD_MINUTES,
};
use crate::error::{bad_input, AppError, AppResult};
use crate::routing::{route, RoutingInput};
use crate::store::{self, deliveries};
use sea_orm::{ConnectionTrait, TransactionTrait};
use std::sync::Arc;

/// A detection match, as `CreateAlertInput` carries it.
#[derive(Debug, Clone, Default)]
pub struct NewAlert {
    pub detection_id: String,
    pub title: String,
    pub severity: Option<Severity>,
    pub alert_type: Option<AlertType>,
    pub log_type: Option<String>,
    pub dedup_string: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub tags: Option<Vec<String>>,
    pub alert_context: Option<serde_json::Value>,
    pub event_time: Option<i64>,
    pub generated_destinations: Option<Vec<String>>,
    pub generated_severity: Option<Severity>,
    /// Destinations routing must never choose (internal: a failed destination does not
    /// receive the alert about its own failure).
    pub exclude_destinations: Vec<String>,
    /// The events that matched (stored with the alert, or appended to the alert this
    /// match joins).
    pub events: Vec<serde_json::Value>,
    /// Panther's log source id of the matched events.
    pub log_source: Option<String>,
    /// The AWS resource type a policy alert is about.
    pub resource_type: Option<String>,
}

impl NewAlert {
    /// The key dedup joins alerts by: the detection id without surrounding spaces, and
    /// the dedup string (empty when none).
    fn dedup_key(&self) -> (String, String) {
        (
            self.detection_id.trim().to_string(),
            self.dedup_string.clone().unwrap_or_default(),
        )
    }
}

/// Largest accepted values of an alert's fields (characters, or bytes of serialized
/// JSON for `alertContext`), so one alert cannot fill memory, the database or a page.
pub mod input_limits {
    pub const DETECTION_ID: usize = 255;
    pub const TITLE: usize = 1_000;
    pub const DESCRIPTION: usize = 10_000;
    pub const RUNBOOK: usize = 10_000;
    pub const REFERENCE: usize = 1_000;
    pub const DEDUP_STRING: usize = 1_000;
    pub const LOG_TYPE: usize = 255;
    pub const TAGS: usize = 50;
    pub const TAG: usize = 200;
    pub const ALERT_CONTEXT_BYTES: usize = 256 * 1024;
    pub const GENERATED_DESTINATIONS: usize = 50;
    pub const OUTPUT_ID: usize = 255;
    /// Events one input may carry, and the size of one as JSON.
    pub const EVENTS: usize = 100;
    pub const EVENT_BYTES: usize = 64 * 1024;
    pub const LOG_SOURCE: usize = 255;
    pub const RESOURCE_TYPE: usize = 255;
}

/// What is wrong with an input: the field (a path inside the input) and the problem.
struct Invalid {
    field: &'static str,
    /// How `createAlert`'s message names the field ("a tags entry").
    label: &'static str,
    problem: String,
}

impl Invalid {
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Invalid {
            field,
            label: field,
            problem: problem.into(),
        }
    }

    /// A problem with one entry of a list field.
    fn entry(field: &'static str, label: &'static str, problem: impl Into<String>) -> Self {
        Invalid {
            field,
            label,
            problem: problem.into(),
        }
    }
}

fn validate(a: &NewAlert) -> AppResult<()> {
    check(a).map_err(|e| bad_input(format!("{} {}", e.label, e.problem)))
}

/// [`validate`] for input `index` of a batch: `input[3].title: must not be empty`.
fn validate_at(index: usize, a: &NewAlert) -> AppResult<()> {
    check(a).map_err(|e| bad_input(format!("input[{index}].{}: {}", e.field, e.problem)))
}

fn check(a: &NewAlert) -> Result<(), Invalid> {
    use input_limits as max;
    fn longer(limit: usize) -> String {
        format!("is longer than {limit} characters")
    }
    fn at_most(field: &'static str, value: Option<&str>, limit: usize) -> Result<(), Invalid> {
        match value {
            Some(v) if v.chars().count() > limit => Err(Invalid::new(field, longer(limit))),
            _ => Ok(()),
        }
    }
    // PostgreSQL's text cannot hold U+0000: refused here, as one caller's bad input,
    // and alike on SQLite, rather than failing the whole group commit it would join.
    const NUL: &str = "must not contain the NUL character (U+0000)";
    let texts = [
        ("detectionId", Some(a.detection_id.as_str())),
        ("title", Some(a.title.as_str())),
        ("description", a.description.as_deref()),
        ("runbook", a.runbook.as_deref()),
        ("reference", a.reference.as_deref()),
        ("dedupString", a.dedup_string.as_deref()),
        ("logType", a.log_type.as_deref()),
        ("logSource", a.log_source.as_deref()),
        ("resourceType", a.resource_type.as_deref()),
    ];
    for (field, text) in texts {
        if text.is_some_and(|t| t.contains('\0')) {
            return Err(Invalid::new(field, NUL));
        }
    }
    if a.tags.iter().flatten().any(|t| t.contains('\0')) {
        return Err(Invalid::entry("tags", "a tags entry", NUL));
    }
    if a.generated_destinations
        .iter()
        .flatten()
        .any(|d| d.contains('\0'))
    {
        return Err(Invalid::entry(
            "generatedDestinations",
            "a generatedDestinations entry",
            NUL,
        ));
    }
    if a.detection_id.trim().is_empty() {
        return Err(Invalid::new("detectionId", "must not be empty"));
    }
    if a.title.trim().is_empty() {
        return Err(Invalid::new("title", "must not be empty"));
    }
    at_most("detectionId", Some(&a.detection_id), max::DETECTION_ID)?;
    at_most("title", Some(&a.title), max::TITLE)?;
    at_most("description", a.description.as_deref(), max::DESCRIPTION)?;
    at_most("runbook", a.runbook.as_deref(), max::RUNBOOK)?;
    at_most("reference", a.reference.as_deref(), max::REFERENCE)?;
    at_most("dedupString", a.dedup_string.as_deref(), max::DEDUP_STRING)?;
    at_most("logType", a.log_type.as_deref(), max::LOG_TYPE)?;
    let tags = a.tags.as_deref().unwrap_or_default();
    if tags.len() > max::TAGS {
        return Err(Invalid::new(
            "tags",
            format!(
                "has {} entries; at most {} are accepted",
                tags.len(),
                max::TAGS
            ),
        ));
    }
    if tags.iter().any(|t| t.chars().count() > max::TAG) {
        return Err(Invalid::entry("tags", "a tags entry", longer(max::TAG)));
    }
    let generated = a.generated_destinations.as_deref().unwrap_or_default();
    if generated.len() > max::GENERATED_DESTINATIONS {
        return Err(Invalid::new(
            "generatedDestinations",
            format!(
                "has {} entries; at most {} are accepted",
                generated.len(),
                max::GENERATED_DESTINATIONS
            ),
        ));
    }
    if generated.iter().any(|d| d.chars().count() > max::OUTPUT_ID) {
        return Err(Invalid::entry(
            "generatedDestinations",
            "a generatedDestinations entry",
            longer(max::OUTPUT_ID),
        ));
    }
    if a.alert_context
        .as_ref()
        .is_some_and(|c| !(c.is_object() || c.is_null()))
    {
        return Err(Invalid::new("alertContext", "must be a JSON object"));
    }
    at_most("logSource", a.log_source.as_deref(), max::LOG_SOURCE)?;
    at_most(
        "resourceType",
        a.resource_type.as_deref(),
        max::RESOURCE_TYPE,
    )?;
    if a.events.len() > max::EVENTS {
        return Err(Invalid::new(
            "events",
            format!(
                "has {} entries; at most {} are accepted",
                a.events.len(),
                max::EVENTS
            ),
        ));
    }
    for (i, e) in a.events.iter().enumerate() {
        let size = serde_json::to_vec(e).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > max::EVENT_BYTES {
            return Err(Invalid::entry(
                "events",
                "events",
                format!(
                    "entry {i} is {size} bytes as JSON; at most {} are accepted",
                    max::EVENT_BYTES
                ),
            ));
        }
    }
    if let Some(c) = &a.alert_context {
        let size = serde_json::to_vec(c).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > max::ALERT_CONTEXT_BYTES {
            return Err(Invalid::new(
                "alertContext",
                format!(
                    "is {size} bytes as JSON; at most {} are accepted",
                    max::ALERT_CONTEXT_BYTES
                ),
            ));
        }
    }
    Ok(())
}

struct Decided {
    decision: RoutingDecision,
    detection: Option<crate::domain::DetectionOverride>,
}

/// Pending delivery rows for the destinations a decision chose (`all`: the configured
/// destinations, which say which of them are polled).
fn deliveries_for(
    decision: &RoutingDecision,
    all: &[crate::domain::Destination],
    alert_id: &AlertId,
    kind: DeliveryKind,
    now: i64,
) -> Vec<deliveries::Delivery> {
    decision
        .destinations
        .iter()
        .map(|d| {
            let pull = all
                .iter()
                .any(|x| x.id == d.output_id && is_pull(&x.output_type));
            deliveries::new_delivery(
                Some(alert_id),
                &DestinationId::from(&d.output_id),
                &d.display_name,
                kind,
                pull,
                now,
            )
        })
        .collect()
}

/// The routing decision for an alert, read from the current configuration.
async fn decide<C: ConnectionTrait>(s: &Services, c: &C, a: &NewAlert) -> AppResult<Decided> {
    let config = s.routing.current(c).await?;
    let detection = config.detection(a.detection_id.trim()).cloned();
    Ok(route_among(a, detection, &config.destinations))
}

/// The routing decision for an alert whose detection override is loaded, among the
/// configured destinations `all` (less those the alert excludes).
fn route_among(
    a: &NewAlert,
    detection: Option<crate::domain::DetectionOverride>,
    all: &[crate::domain::Destination],
) -> Decided {
    let kept: Vec<crate::domain::Destination>;
    let destinations = if a.exclude_destinations.is_empty() {
        all
    } else {
        kept = all
            .iter()
            .filter(|d| !a.exclude_destinations.iter().any(|x| d.id == *x))
            .cloned()
            .collect();
        &kept
    };
    let input = RoutingInput {
        alert_type: a.alert_type,
        severity: a.severity,
        generated_severity: a.generated_severity,
        log_type: a.log_type.as_deref(),
        generated_destinations: a.generated_destinations.as_deref(),
    };
    let decision = route(&input, detection.as_ref(), destinations);
    Decided {
        decision,
        detection,
    }
}

/// Routing dry-run: where would this alert go? Writes nothing.
pub async fn route_preview(s: &Services, a: &NewAlert) -> AppResult<RoutingDecision> {
    validate(a)?;
    Ok(decide(s, &s.db, a).await?.decision)
}

/// Ingest a detection match: join an open alert with the same dedup key within the
/// dedup period, or create an alert and its deliveries. The call is queued to this
/// process's ingestion writer, which commits it with whatever else has queued (group
/// commit); the alert is returned only once it is committed.
pub async fn create(s: &Services, a: NewAlert, by: &str) -> AppResult<Alert> {
    create_with_period(s, a, by, None).await
}

/// Most inputs `createAlerts` takes in one request.
pub const MAX_BATCH_INPUTS: usize = 1_000;

/// Ingest a batch of detection matches in ONE transaction (on SQLite the ingestion
/// writer's, which may commit other calls' inputs with them), in order, each deduplicated
/// and routed exactly as [`create`] would (a later input joins an earlier one of the
/// batch with the same dedup key). Every input is validated first: an invalid one
/// fails the whole batch, naming its index, and nothing is stored. Returns the alerts
/// in input order, each as it stood right after its input was ingested.
pub async fn create_many(s: &Services, inputs: Vec<NewAlert>, by: &str) -> AppResult<Vec<Alert>> {
    if inputs.len() > MAX_BATCH_INPUTS {
        return Err(bad_input(format!(
            "input has {} alerts; at most {MAX_BATCH_INPUTS} are accepted in one request",
            inputs.len()
        )));
    }
    for (i, a) in inputs.iter().enumerate() {
        validate_at(i, a)?;
    }
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<Ingest> = inputs
        .into_iter()
        .map(|alert| Ingest {
            alert,
            by: by.to_string(),
            fixed_period: None,
        })
        .collect();
    if s.dispatcher.write_gate().queues() {
        // SQLite: one writer at a time anyway, so requests are merged into the
        // ingestion writer's transactions (fewer, larger commits).
        s.ingest.submit(items).await
    } else {
        // PostgreSQL: each request's own transaction, in parallel with the others
        // (they lock only their dedup keys). In a task of its own: a caller that goes
        // away (a client that disconnects) must not stop it between its commit and the
        // hand-off of what it leased, which would then wait out the lease before anyone
        // sends it.
        let s = s.clone();
        tokio::spawn(async move { commit_batch(&s, &items, &mut WriterState::default()).await })
            .await
            .unwrap_or_else(|_| Err(crate::error::unavailable()))
    }
}

/// `create` with a fixed dedup period in minutes (system alerts), else the override's.
///
/// An acknowledged alert is durable: the alert and its deliveries are committed before
/// the caller hears of it, and any database failure on the way (disk full, a dropped
/// connection, a busy file) rolls the whole batch back and answers `UNAVAILABLE` to
/// every caller in it, never an id for something not stored.
async fn create_with_period(
    s: &Services,
    a: NewAlert,
    by: &str,
    fixed_period: Option<i64>,
) -> AppResult<Alert> {
    validate(&a)?;
    let mut alerts = s
        .ingest
        .submit(vec![Ingest {
            alert: a,
            by: by.to_string(),
            fixed_period,
        }])
        .await?;
    alerts.pop().ok_or_else(crate::error::unavailable)
}

/// One detection match to ingest, as the ingestion writer receives it.
pub struct Ingest {
    pub alert: NewAlert,
    /// Who sends it (`createdBy`).
    pub by: String,
    /// A fixed dedup period in minutes (system alerts), else the override's.
    pub fixed_period: Option<i64>,
}

/// Most alerts the ingestion writer commits in one transaction.
pub const GROUP_COMMIT_MAX: usize = 500;
/// How long the ingestion writer waits for more calls after the first of a batch, when
/// the previous batch held more than one. Measured with 32 closed-loop `createAlert`
/// clients on SQLite: 2 ms gave 5,771 alerts/s, 1 ms 6,503 and 0.5 ms 6,584, while
/// `createAlerts` (merged by the same writer) gave 13,831, 14,613 and 13,419.
pub const GROUP_COMMIT_LINGER: std::time::Duration = std::time::Duration::from_millis(1);
/// On SQLite, the batch closes once no call has come for this long within the linger
/// (tokio's timer ticks in whole milliseconds, so the 1 ms linger slept 1 to 2 ms, most
/// of it after the last of 32 closed-loop callers had arrived, with the CPU idle).
/// Measured with 32 `createAlert` clients: 7,614–8,088 alerts/s waiting out the
/// linger, 9,039–9,448 with 150 µs (50 µs: 8,005–9,447; 300 µs: 8,565–8,893), and
/// `createAlerts` unchanged. Not on PostgreSQL, where a commit is several round trips
/// and fuller batches did better (2 processes: 3,771–3,953 with it, 4,204–4,262
/// without).
pub const GROUP_COMMIT_QUIET: std::time::Duration = std::time::Duration::from_micros(150);

type Reply = tokio::sync::oneshot::Sender<AppResult<Vec<Alert>>>;

/// One call's inputs (one for `createAlert`, a request's for `createAlerts`: they stay
/// together in one transaction) and where its answer goes.
type Job = (Vec<Ingest>, Reply);

/// The queue in front of this process's ingestion writer (see [`start_writer`]).
#[derive(Clone)]
pub struct IngestQueue {
    tx: tokio::sync::mpsc::Sender<Job>,
}

/// The receiving end of an [`IngestQueue`], consumed by [`start_writer`].
pub struct IngestReceiver(tokio::sync::mpsc::Receiver<Job>);

impl IngestQueue {
    /// A queue and its receiving end; hand the receiver to [`start_writer`].
    pub fn new() -> (IngestQueue, IngestReceiver) {
        let (tx, rx) = tokio::sync::mpsc::channel(4 * GROUP_COMMIT_MAX);
        (IngestQueue { tx }, IngestReceiver(rx))
    }

    /// Queue validated inputs and wait until the batch they join is committed (or
    /// failed); their alerts in input order.
    async fn submit(&self, items: Vec<Ingest>) -> AppResult<Vec<Alert>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self.tx.send((items, reply)).await.is_err() {
            // The writer has stopped (shutdown): nothing was stored.
            return Err(crate::error::unavailable());
        }
        answer.await.unwrap_or_else(|_| {
            // The writer went away without answering: its transaction never committed.
            Err(crate::error::unavailable())
        })
    }
}

/// Start the ingestion writer: it takes whatever has queued (up to
/// [`GROUP_COMMIT_MAX`] calls; when the previous batch held more than one call, also
/// what arrives within [`GROUP_COMMIT_LINGER`] of the first, on SQLite until
/// [`GROUP_COMMIT_QUIET`] passes with none), commits it in one
/// transaction and answers each caller after the commit. Calls that arrive while a
/// batch commits form the next one.
/// When `stop` is cancelled it stops taking calls, commits what is queued, and ends.
pub fn start_writer(
    s: &Services,
    queue: IngestReceiver,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let s = s.clone();
    use futures::FutureExt;
    let mut batches = crate::batching::Batcher::new(
        queue.0,
        crate::batching::BatchPolicy {
            max: GROUP_COMMIT_MAX,
            linger: GROUP_COMMIT_LINGER,
            quiet: (s.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite)
                .then_some(GROUP_COMMIT_QUIET),
        },
    )
    .weighed(|(items, _): &Job| items.len());
    tokio::spawn(async move {
        let mut stopping = false;
        let mut state = WriterState::default();
        loop {
            let first = if batches.has_carried() {
                batches.first().await
            } else if stopping {
                batches.queue().recv().await
            } else {
                tokio::select! {
                    got = batches.queue().recv() => got,
                    _ = stop.cancelled() => {
                        // Refuse new calls; what is queued is still committed below.
                        batches.queue().close();
                        stopping = true;
                        continue;
                    }
                }
            };
            let Some(first) = first else { break };
            let batch = batches.fill(first).await;
            let mut items: Vec<Ingest> = Vec::new();
            let mut replies: Vec<(Reply, usize)> = Vec::with_capacity(batch.len());
            for (job, reply) in batch {
                replies.push((reply, job.len()));
                items.extend(job);
            }
            // A panic fails this batch only (its transaction is dropped, so rolled back,
            // and its callers hear `UNAVAILABLE`); the writer goes on with the next.
            let committed = std::panic::AssertUnwindSafe(commit_batch(&s, &items, &mut state))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    state = WriterState::default();
                    tracing::error!(
                        alerts = items.len(),
                        "alert ingestion panicked; nothing stored"
                    );
                    Err(crate::error::unavailable())
                });
            match committed {
                Ok(alerts) => {
                    let mut alerts = alerts.into_iter();
                    for (reply, n) in replies {
                        let _ = reply.send(Ok(alerts.by_ref().take(n).collect()));
                    }
                }
                Err(e) => {
                    for (reply, _) in replies {
                        let _ = reply.send(Err(copy_error(&e)));
                    }
                }
            }
        }
    })
}

/// The same error for another caller of a failed batch.
fn copy_error(e: &AppError) -> AppError {
    match e {
        AppError::BadInput(m) => AppError::BadInput(m.clone()),
        AppError::NotFound(m) => AppError::NotFound(m.clone()),
        AppError::Conflict(m) => AppError::Conflict(m.clone()),
        AppError::Forbidden(m) => AppError::Forbidden(m.clone()),
        AppError::Unauthenticated(m) => AppError::Unauthenticated(m.clone()),
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        AppError::Internal(_) => crate::error::unavailable(),
    }
}

/// [`ingest_batch`], then telemetry and the dispatcher's wake-up; a database failure is
/// recorded in the write health and answered `UNAVAILABLE` (nothing was stored).
async fn commit_batch(
    s: &Services,
    items: &[Ingest],
    state: &mut WriterState,
) -> AppResult<Vec<Alert>> {
    match ingest_batch(s, items, state).await {
        Ok(Committed {
            per_input: outcomes,
            slots,
            version,
            work,
            queued,
        }) => {
            s.writes.ok();
            // Deliveries that found no room in the hand-off wait PENDING for a claim.
            let pending = slots.short();
            if !work.is_empty() {
                slots.hand_off(version, work);
            }
            let alerts: Vec<(Alert, bool)> = outcomes
                .into_iter()
                .map(|(alert, new)| {
                    if new {
                        crate::telemetry::alert_created(step_name(alert.routing.step), alert.routed);
                        if !alert.routed {
                            tracing::warn!(alert_id = %alert.id, detection_id = %alert.detection_id, "alert matched no destination");
                        }
                    } else {
                        crate::telemetry::alert_deduplicated();
                    }
                    (alert, new)
                })
                .collect();
            if pending {
                s.dispatcher.wake();
            }
            publish_ingested(s, &alerts);
            publish_queued(s, &queued);
            Ok(alerts.into_iter().map(|(alert, _)| alert).collect())
        }
        Err(AppError::Internal(e)) => {
            // Everything `ingest_batch` does is database work.
            tracing::error!(error = ?e, alerts = items.len(), "alert ingestion failed; nothing stored");
            s.writes.failed();
            Err(crate::error::unavailable())
        }
        Err(e @ AppError::Unavailable(_)) => {
            s.writes.failed();
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Announce a committed batch to live subscribers (nothing is built when nobody
/// listens): each alert once, as it stood after the batch's last input for it; created
/// when an input of the batch created it, else updated (events joined by dedup).
fn publish_ingested(s: &Services, outcomes: &[(Alert, bool)]) {
    use crate::domain::live::LiveEvent;
    if !s.live.is_watched() {
        return;
    }
    let mut seen: Vec<(&AlertId, bool, &Alert)> = Vec::new();
    for (alert, new) in outcomes {
        match seen.iter_mut().find(|(id, _, _)| *id == &alert.id) {
            Some(entry) => {
                entry.1 |= *new;
                entry.2 = alert;
            }
            None => seen.push((&alert.id, *new, alert)),
        }
    }
    for (_, new, alert) in seen {
        let alert = Arc::new(alert.clone());
        s.live.publish(|| {
            if new {
                LiveEvent::AlertCreated(alert)
            } else {
                LiveEvent::AlertUpdated(alert)
            }
        });
    }
}

/// Announce changed alerts to live subscribers.
fn publish_updated(s: &Services, alerts: &[Alert]) {
    s.live.publish_all(alerts, |a| {
        crate::domain::live::LiveEvent::AlertUpdated(Arc::new(a.clone()))
    });
}

/// Announce queued deliveries to live subscribers.
fn publish_queued(s: &Services, rows: &[deliveries::Delivery]) {
    s.live
        .publish_all(rows, |d| crate::domain::live::LiveEvent::DeliveryUpdated {
            delivery_id: d.id.clone(),
            alert_id: d.alert_id.clone(),
        });
}

/// An alert a batch creates, or a stored one its inputs may join: where it stands, and
/// how many events the batch adds to it (alerts already stored; none when no input
/// joined it, and then it is left as it is).
struct Target {
    alert: Alert,
    /// Created by this batch (inserted at the end), else stored before.
    new: bool,
    added_events: i64,
}

/// The index in `targets` of an alert stored before the batch, added once.
fn stored_target(targets: &mut Vec<Target>, existing: Alert) -> usize {
    if let Some(t) = targets
        .iter()
        .position(|t| !t.new && t.alert.seq == existing.seq)
    {
        return t;
    }
    targets.push(Target {
        alert: existing,
        new: false,
        added_events: 0,
    });
    targets.len() - 1
}

/// What the ingestion writer knows of its SQLite connection between batches: the
/// `data_version` it last read there and, when known, the routing configuration that was
/// current at that version (so a batch reads it only after another connection
/// committed). See [`store::ingest`].
#[derive(Default)]
struct WriterState {
    seen: Option<i64>,
    config: Option<Arc<super::snapshot::RoutingConfig>>,
}

/// Times the writer plans a batch again after another connection committed during its
/// reads, before it takes the write lock first instead (the sea-orm transaction).
const REPLANS: usize = 2;

/// Ingest validated inputs in order in ONE transaction: each input joins the open alert
/// with its dedup key (one stored before, or one an earlier input of the batch created)
/// or creates an alert routed against the configuration read once for the batch.
/// Returns, per input, the alert as it stood right after that input and whether the
/// input created it.
///
/// On SQLite (the writer's turn at the write gate) the batch is read, planned and then
/// written on the batch writers' own connection only if no other connection committed
/// meanwhile ([`store::ingest::write_if_unchanged`]); otherwise planned again. Elsewhere,
/// and when other writers keep committing, the transaction holds its dedup keys (dedup
/// cannot race; [`store::lock_dedup_keys`]) before reading; batches with other keys
/// commit side by side (`store::alerts::insert_many` says how `seq` still serves
/// pollers).
async fn ingest_batch(
    s: &Services,
    items: &[Ingest],
    state: &mut WriterState,
) -> AppResult<Committed> {
    let asked = std::time::Instant::now();
    let turn = s.dispatcher.write_gate().enter().await;
    tracing::debug!(
        alerts = items.len(),
        waited_ms = asked.elapsed().as_secs_f64() * 1e3,
        "ingesting a batch"
    );
    let now = now_ms();
    if let Some(turn) = turn.as_ref() {
        let writer: &sea_orm::DatabaseConnection = turn;
        let keys: Vec<(String, String)> = items.iter().map(|i| i.alert.dedup_key()).collect();
        let keys: Vec<(&str, &str)> = keys.iter().map(|(d, k)| (d.as_str(), k.as_str())).collect();
        for _ in 0..REPLANS {
            let seen = match state.seen {
                Some(v) => v,
                None => store::ingest::data_version(turn)?,
            };
            let config = match state.config.clone().filter(|_| state.seen == Some(seen)) {
                Some(held) => held,
                None => s.routing.current(writer).await?,
            };
            state.seen = Some(seen);
            state.config = Some(config.clone());
            let planning = std::time::Instant::now();
            // A burst of new alerts joins none: known from the dedup index on the
            // writers' own connection, with no read through sqlx.
            let none_open = turn.on_handle(|c| store::alerts::none_open_on_handle(c, &keys))?;
            let mut plan = plan_batch(s, writer, items, config, now, none_open).await?;
            let writing = std::time::Instant::now();
            match store::ingest::write_if_unchanged(turn, seen, &mut plan.writes)? {
                store::ingest::Written::Committed => {
                    tracing::debug!(
                        planned_ms = (writing - planning).as_secs_f64() * 1e3,
                        wrote_ms = writing.elapsed().as_secs_f64() * 1e3,
                        "ingested a batch"
                    );
                    return Ok(plan.committed());
                }
                store::ingest::Written::Changed { data_version } => {
                    tracing::debug!(
                        "another connection committed while a batch was read; reading it again"
                    );
                    state.seen = Some(data_version);
                    state.config = None;
                }
            }
        }
    }
    let txn = turn.as_deref().unwrap_or(&s.db).begin().await?;
    let version = store::lock_dedup_keys(&txn, items.iter().map(|i| i.alert.dedup_key())).await?;
    // No read (PostgreSQL: the version came with the lock) or one (the configuration
    // version) unless the configuration changed.
    let config = match version {
        Some(version) => s.routing.at_version(&txn, version).await?,
        None => s.routing.current(&txn).await?,
    };
    let mut plan = plan_batch(s, &txn, items, config, now, false).await?;
    plan.writes.write(&txn).await?;
    txn.commit().await?;
    Ok(plan.committed())
}

/// A batch read and decided, not yet written: what to write, and what to answer and
/// hand off once it is committed.
struct Plan {
    writes: store::ingest::BatchWrites,
    /// Per input, the alert as it will stand right after that input (a new alert's
    /// `seq` is known after the write), and whether the input creates it.
    per_input: Vec<(Alert, bool)>,
    slots: crate::dispatch::HandOffSlots,
    /// The deliveries leased for the hand-off.
    leased: Vec<deliveries::Delivery>,
    queued: Vec<deliveries::Delivery>,
    version: i64,
}

/// Read the open alerts the inputs may join (one lookup for the batch; none when the
/// caller knows that no open alert has any of their keys, `none_open`) and decide each
/// input in order against `config`: join, or create and route. Leases as many new
/// deliveries as the workers have room for.
async fn plan_batch<C: ConnectionTrait>(
    s: &Services,
    c: &C,
    items: &[Ingest],
    config: Arc<super::snapshot::RoutingConfig>,
    now: i64,
    none_open: bool,
) -> AppResult<Plan> {
    use std::collections::HashMap;
    let destinations = &config.destinations;
    let mut targets: Vec<Target> = Vec::new();
    // (detection id, dedup string) → the alert this batch created for it.
    let mut created: HashMap<(String, String), usize> = HashMap::new();
    let mut per_input: Vec<(Alert, bool)> = Vec::with_capacity(items.len());
    let mut events: Vec<store::alert_events::NewEvent> = Vec::new();
    // Each input's key, the oldest creation time its dedup period reaches back to, and
    // its detection override.
    let keyed: Vec<(
        (String, String),
        i64,
        Option<&crate::domain::DetectionOverride>,
    )> = items
        .iter()
        .map(|item| {
            let a = &item.alert;
            let (detection_id, dedup_string) = a.dedup_key();
            let detection = config.detection(&detection_id);
            let period = item.fixed_period.unwrap_or_else(|| {
                detection
                    .and_then(|d| d.dedup_period_minutes)
                    .unwrap_or(DEFAULT_DEDUP_PERIOD_MINUTES) as i64
            });
            (
                (detection_id, dedup_string),
                now - period * 60_000,
                detection,
            )
        })
        .collect();
    // The stored alerts those may join, read for the whole batch at once:
    // (detection id, dedup string, oldest creation time) → the target it joins.
    let mut lookups: Vec<(String, String, i64)> = keyed
        .iter()
        .map(|((d, s), since, _)| (d.clone(), s.clone(), *since))
        .collect();
    lookups.sort_unstable();
    lookups.dedup();
    let stored = if none_open {
        vec![None; lookups.len()]
    } else {
        store::alerts::find_dedup_targets(c, &lookups).await?
    };
    let found: HashMap<(String, String, i64), Option<usize>> = lookups
        .into_iter()
        .zip(stored)
        .map(|(lookup, existing)| (lookup, existing.map(|e| stored_target(&mut targets, e))))
        .collect();
    for (item, (key, since, detection)) in items.iter().zip(keyed) {
        let a = &item.alert;
        // An alert created earlier in this batch is the newest with its key and was
        // created now, so it is the one to join whatever the period.
        let target = match created.get(&key) {
            Some(&t) => Some(t),
            None => found[&(key.0.clone(), key.1.clone(), since)],
        };
        match target {
            Some(t) => {
                // Joining an open alert routes nothing, so routing is not even computed.
                let joined = &mut targets[t];
                joined.added_events += 1;
                joined.alert.event_count += 1;
                joined.alert.last_received_event_at = now;
                joined.alert.updated_at = now;
                per_input.push((joined.alert.clone(), false));
                events_of(a, &joined.alert.id, now, &mut events);
            }
            None => {
                let decided = route_among(a, detection.cloned(), destinations);
                let alert = build_alert(
                    a,
                    decided.decision,
                    decided.detection.as_ref(),
                    now,
                    &item.by,
                );
                targets.push(Target {
                    alert: alert.clone(),
                    new: true,
                    added_events: 0,
                });
                created.insert(key, targets.len() - 1);
                events_of(a, &alert.id, now, &mut events);
                per_input.push((alert, true));
            }
        }
    }
    let joined = targets
        .iter()
        .filter(|t| !t.new && t.added_events > 0)
        .map(|t| (t.alert.seq, t.added_events))
        .collect();
    // New alerts in the order the batch created them, so `seq` follows input order.
    let new_alerts: Vec<Alert> = targets
        .into_iter()
        .filter(|t| t.new)
        .map(|t| t.alert)
        .collect();
    let mut rows: Vec<deliveries::Delivery> = new_alerts
        .iter()
        .flat_map(|a| deliveries_for(&a.routing, destinations, &a.id, DeliveryKind::Routed, now))
        .collect();
    // As many as the workers have room for are leased to this process and handed to
    // them after the commit; the rest wait PENDING for the claim loop.
    let slots = s
        .dispatcher
        .reserve(rows.iter().filter(|d| !d.pull).count(), now);
    let mut leased: Vec<deliveries::Delivery> = Vec::with_capacity(slots.len());
    for d in rows.iter_mut().filter(|d| !d.pull).take(slots.len()) {
        slots.lease(d);
        leased.push(d.clone());
    }
    // Announced after the commit, and only listed when someone listens.
    let queued: Vec<deliveries::Delivery> = if s.live.is_watched() {
        rows.clone()
    } else {
        Vec::new()
    };
    Ok(Plan {
        writes: store::ingest::BatchWrites {
            alerts: new_alerts,
            deliveries: rows,
            events,
            joined,
            now,
        },
        per_input,
        slots,
        leased,
        queued,
        version: config.version,
    })
}

impl Plan {
    /// After the commit: each input's alert with its `seq`, and the leased deliveries
    /// grouped by alert for the hand-off.
    fn committed(self) -> Committed {
        use std::collections::HashMap;
        let new_alerts = &self.writes.alerts;
        let seqs: HashMap<&AlertId, i64> = new_alerts.iter().map(|a| (&a.id, a.seq)).collect();
        let per_input = self
            .per_input
            .into_iter()
            .map(|(mut alert, new)| {
                if let Some(seq) = seqs.get(&alert.id) {
                    alert.seq = *seq;
                }
                (alert, new)
            })
            .collect();
        let mut work: Vec<(Arc<Alert>, Vec<deliveries::Delivery>)> = Vec::new();
        let mut from = 0;
        for d in self.leased {
            let alert_id = d.alert_id.as_ref();
            match work.last_mut() {
                Some((a, ds)) if Some(&a.id) == alert_id => ds.push(d),
                _ => {
                    // Leased in the order of their alerts: look on from the last one.
                    let Some(i) = new_alerts[from..]
                        .iter()
                        .position(|a| Some(&a.id) == alert_id)
                    else {
                        continue;
                    };
                    from += i;
                    work.push((Arc::new(new_alerts[from].clone()), vec![d]));
                }
            }
        }
        Committed {
            per_input,
            slots: self.slots,
            version: self.version,
            work,
            queued: self.queued,
        }
    }
}

/// What an ingested batch committed: per input, the alert as it stood right after that
/// input and whether the input created it; and the deliveries leased for the hand-off.
struct Committed {
    per_input: Vec<(Alert, bool)>,
    slots: crate::dispatch::HandOffSlots,
    /// The configuration version the batch was routed at.
    version: i64,
    /// The leased deliveries, with their alert.
    work: Vec<(Arc<Alert>, Vec<deliveries::Delivery>)>,
    /// The deliveries queued, for live subscribers (empty when nobody listened).
    queued: Vec<deliveries::Delivery>,
}

/// Queue the events an input carries for the alert it created or joined.
fn events_of(
    a: &NewAlert,
    alert_id: &AlertId,
    now: i64,
    out: &mut Vec<store::alert_events::NewEvent>,
) {
    out.extend(a.events.iter().map(|e| store::alert_events::NewEvent {
        alert_id: alert_id.clone(),
        event: e.clone(),
        received_at: now,
    }));
}

/// The alert ingestion stores for an input and its routing decision: the detection
/// override supplies the name, a missing runbook and extra tags.
fn build_alert(
    a: &NewAlert,
    decision: RoutingDecision,
    detection: Option<&crate::domain::DetectionOverride>,
    now: i64,
    by: &str,
) -> Alert {
    let (detection_id, dedup_string) = a.dedup_key();
    let mut tags = a.tags.clone().unwrap_or_default();
    for t in detection.and_then(|d| d.tags.clone()).unwrap_or_default() {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    Alert {
        seq: 0,
        id: AlertId::new_ordered(),
        detection_id: detection_id.clone(),
        title: a.title.trim().to_string(),
        severity: decision.effective_severity,
        status: AlertStatus::Open,
        alert_type: a.alert_type.unwrap_or(AlertType::Rule),
        log_type: a.log_type.clone(),
        dedup_string,
        description: a.description.clone().unwrap_or_default(),
        runbook: a
            .runbook
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| detection.and_then(|d| d.runbook.clone()))
            .unwrap_or_default(),
        reference: a.reference.clone().unwrap_or_default(),
        tags,
        alert_context: a
            .alert_context
            .clone()
            .filter(|c| !c.is_null())
            .unwrap_or_else(|| serde_json::json!({})),
        created_at: now,
        updated_at: now,
        first_event_at: a.event_time.unwrap_or(now),
        last_received_event_at: now,
        event_count: 1,
        log_source: a.log_source.clone().filter(|l| !l.is_empty()),
        resource_type: a.resource_type.clone().filter(|r| !r.is_empty()),
        assignee_id: None,
        name: detection
            .and_then(|d| d.display_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| detection_id.clone()),
        routed: decision.is_routed(),
        routing: decision,
        created_by: by.to_string(),
        last_modified_by: by.to_string(),
    }
}

/// The alert `createAlert` would store for this input, routed against the current
/// configuration, without storing anything (previews).
pub async fn as_ingested(s: &Services, a: &NewAlert) -> AppResult<Alert> {
    validate(a)?;
    let decided = decide(s, &s.db, a).await?;
    let mut alert = build_alert(
        a,
        decided.decision,
        decided.detection.as_ref(),
        now_ms(),
        "preview",
    );
    alert.id = format!("preview-{}", uuid::Uuid::new_v4()).into();
    Ok(alert)
}

fn step_name(step: crate::domain::RoutingStep) -> &'static str {
    use crate::domain::RoutingStep as S;
    match step {
        S::GeneratedDestinations => "generated_destinations",
        S::DetectionOverride => "detection_override",
        S::DestinationConfiguration => "destination_configuration",
        S::Skipped => "skipped",
    }
}

fn check_ids(ids: &[AlertId]) -> AppResult<()> {
    if ids.is_empty() {
        return Err(bad_input("ids must not be empty"));
    }
    if ids.len() > 1000 {
        return Err(bad_input("at most 1000 ids at a time"));
    }
    Ok(())
}

async fn existing(s: &Services, ids: &[AlertId]) -> AppResult<Vec<Alert>> {
    let found = store::alerts::get_many(&s.db, ids).await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|a| &a.id == *id)) {
        return Err(AppError::NotFound(format!("no alert with id {missing}")));
    }
    Ok(found)
}

/// Change alert status. Moving an alert to RESOLVED or CLOSED queues a `Resolve`
/// delivery to each destination that opened something for it and can close it.
pub async fn set_status(
    s: &Services,
    ids: &[AlertId],
    status: AlertStatus,
    by: &Principal,
) -> AppResult<Vec<Alert>> {
    check_ids(ids)?;
    let before = existing(s, ids).await?;
    let now = now_ms();
    let mut queued = Vec::new();
    let txn = s.db.begin().await?;
    store::alerts::set_status(&txn, ids, status, &by.name, now).await?;
    store::alerts::set_updated_by(&txn, ids, &by.actor()).await?;
    if matches!(status, AlertStatus::Resolved | AlertStatus::Closed) {
        let closing: Vec<AlertId> = before
            .iter()
            .filter(|a| matches!(a.status, AlertStatus::Open | AlertStatus::Triaged))
            .map(|a| a.id.clone())
            .collect();
        let mut rows = Vec::new();
        let sent = deliveries::for_alerts(&txn, &closing).await?;
        let dests = store::destinations::list(&txn, &s.cipher).await?;
        for d in &sent {
            if !matches!(d.kind, DeliveryKind::Routed | DeliveryKind::Resend) {
                continue;
            }
            let Some(dest) = dests.iter().find(|r| r.destination.id == d.output_id) else {
                continue;
            };
            let resolvable = crate::destinations::integration(&dest.destination.output_type)
                .is_some_and(|i| i.supports_resolve());
            let already = rows.iter().any(|r: &deliveries::Delivery| {
                r.alert_id == d.alert_id && r.output_id == d.output_id
            });
            if resolvable && !already {
                rows.push(deliveries::new_delivery(
                    d.alert_id.as_ref(),
                    &d.output_id,
                    &d.label,
                    DeliveryKind::Resolve,
                    false,
                    now,
                ));
            }
        }
        deliveries::insert_many(&txn, rows.clone()).await?;
        queued = rows;
    }
    txn.commit().await?;
    s.dispatcher.wake();
    let after = store::alerts::get_many(&s.db, ids).await?;
    publish_updated(s, &after);
    publish_queued(s, &queued);
    Ok(after)
}

/// Assign alerts to a user (by id), or unassign them (`None`). The user must exist.
pub async fn set_assignee(
    s: &Services,
    ids: &[AlertId],
    assignee: Option<&str>,
    by: &Principal,
) -> AppResult<Vec<Alert>> {
    check_ids(ids)?;
    let assignee = assignee.filter(|a| !a.is_empty());
    if let Some(id) = assignee {
        if store::users::get(&s.db, id).await?.is_none() {
            return Err(AppError::NotFound(format!("no user with id {id}")));
        }
    }
    existing(s, ids).await?;
    let txn = s.db.begin().await?;
    store::alerts::set_assignee(&txn, ids, assignee, &by.name, now_ms()).await?;
    store::alerts::set_updated_by(&txn, ids, &by.actor()).await?;
    txn.commit().await?;
    let after = store::alerts::get_many(&s.db, ids).await?;
    publish_updated(s, &after);
    Ok(after)
}

/// Assign alerts to the user with this e-mail (case-insensitive), or unassign them.
pub async fn set_assignee_by_email(
    s: &Services,
    ids: &[AlertId],
    email: Option<&str>,
    by: &Principal,
) -> AppResult<Vec<Alert>> {
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let user = match email {
        Some(e) => Some(
            store::users::find_by_email(&s.db, e)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no user with e-mail {e}")))?,
        ),
        None => None,
    };
    set_assignee(s, ids, user.as_ref().map(|u| u.id.as_str()), by).await
}

/// Add a comment to an alert. An `HTML` body is sanitized before it is stored
/// (ammonia: scripts, event handlers and unsafe URLs removed; formatting kept).
pub async fn add_comment(
    s: &Services,
    alert_id: &AlertId,
    body: &str,
    format: CommentFormat,
    by: &Principal,
) -> AppResult<store::alerts::Comment> {
    if body.trim().is_empty() {
        return Err(bad_input("body must not be empty"));
    }
    existing(s, std::slice::from_ref(alert_id)).await?;
    let body = match format {
        CommentFormat::PlainText => body.to_string(),
        CommentFormat::Html => ammonia::clean(body),
    };
    if body.trim().is_empty() {
        return Err(bad_input("body is empty once its HTML is sanitized"));
    }
    let c = store::alerts::Comment {
        id: uuid::Uuid::new_v4().to_string(),
        alert_id: alert_id.to_string(),
        body,
        created_by: by.name.clone(),
        created_at: now_ms(),
        format,
        created_by_actor: Some(by.actor().encode()),
    };
    store::alerts::add_comment(&s.db, c.clone()).await?;
    if s.live.is_watched() {
        // Read once for every subscriber, and only when there is one.
        if let Some(alert) = store::alerts::get(&s.db, alert_id).await? {
            publish_updated(s, &[alert]);
        }
    }
    Ok(c)
}

/// The destinations named by ids or display names (as routing resolves names), each
/// once, in the order given. An unknown one is `NOT_FOUND`, naming it.
async fn destinations_named(
    s: &Services,
    refs: &[String],
) -> AppResult<Vec<store::destinations::DestinationRecord>> {
    if refs.is_empty() {
        return Err(bad_input("outputIds must not be empty"));
    }
    // Ids in one query; only what is left is looked up by name.
    let ids: Vec<DestinationId> = refs.iter().map(DestinationId::from).collect();
    let by_id = store::destinations::get_many(&s.db, &s.cipher, &ids).await?;
    let mut out: Vec<store::destinations::DestinationRecord> = Vec::with_capacity(refs.len());
    for r in refs {
        let d = match by_id.iter().find(|d| d.destination.id == *r) {
            Some(d) => d.clone(),
            None => store::destinations::find_by_name(&s.db, &s.cipher, r)
                .await?
                .ok_or_else(|| super::destinations::unknown(r))?,
        };
        if !out.iter().any(|o| o.destination.id == d.destination.id) {
            out.push(d);
        }
    }
    Ok(out)
}

/// Re-send an alert to chosen destinations (ids or display names) now, bypassing routing.
pub async fn deliver(s: &Services, alert_id: &AlertId, output_ids: &[String]) -> AppResult<Alert> {
    let alert = store::alerts::get(&s.db, alert_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no alert with id {alert_id}")))?;
    if output_ids.len() > 1000 {
        return Err(bad_input(
            "deliverAlert takes at most 1000 destinations at a time",
        ));
    }
    let dests = destinations_named(s, output_ids).await?;
    let now = now_ms();
    let rows = dests
        .iter()
        .map(|d| {
            let pull = is_pull(&d.destination.output_type);
            deliveries::new_delivery(
                Some(&alert.id),
                &d.destination.id,
                &d.destination.display_name,
                DeliveryKind::Resend,
                pull,
                now,
            )
        })
        .collect::<Vec<_>>();
    deliveries::insert_many(&s.db, rows.clone()).await?;
    s.dispatcher.wake();
    publish_queued(s, &rows);
    Ok(alert)
}

/// Send the test alert to each destination (ids or display names) synchronously;
/// attempts are stored. A destination named twice is sent to once, and every send goes
/// through the destination's limits.
pub async fn send_test(s: &Services, output_ids: &[String]) -> AppResult<Vec<AttemptReport>> {
    let mut unique: Vec<String> = Vec::with_capacity(output_ids.len());
    for id in output_ids {
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    if unique.len() > 100 {
        return Err(bad_input(
            "sendTestAlert takes at most 100 destinations at a time",
        ));
    }
    let dests = destinations_named(s, &unique).await?;
    let output_ids: Vec<&str> = dests.iter().map(|d| d.destination.id.as_str()).collect();
    // A destination saved before the SSRF guard was switched on is refused here too.
    for d in &dests {
        if let Some(kind) = crate::destinations::integration(&d.destination.output_type) {
            let policy = s.dispatcher.outbound().policy();
            crate::destinations::check_targets(kind, &d.destination.config, policy).map_err(
                |e| bad_input(format!("destination {:?}: {e}", d.destination.display_name)),
            )?;
        }
    }
    let now = now_ms();
    let mut rows = Vec::new();
    let mut queued = Vec::new();
    for d in &dests {
        if is_pull(&d.destination.output_type) {
            // Nothing to send: the test alert waits for the poller like any delivery.
            queued.push(deliveries::new_delivery(
                None,
                &d.destination.id,
                &d.destination.display_name,
                DeliveryKind::Test,
                true,
                now,
            ));
            continue;
        }
        let mut row = deliveries::new_delivery(
            None,
            &d.destination.id,
            &d.destination.display_name,
            DeliveryKind::Test,
            false,
            now,
        );
        // Leased to this process from the start, so no worker picks it up meanwhile.
        row.status = DeliveryStatus::InFlight;
        row.claimed_by = Some(s.dispatcher.claim_id().to_string());
        row.lease_until = Some(now + 10 * 60_000);
        rows.push(row);
    }
    let mut all = rows.clone();
    all.extend(queued.iter().cloned());
    deliveries::insert_many(&s.db, all).await?;
    let sends = rows.into_iter().map(|row| s.dispatcher.deliver_now(row));
    let results = futures::future::join_all(sends).await;
    let mut reports = results
        .into_iter()
        .map(|r| r.map_err(AppError::from))
        .collect::<AppResult<Vec<_>>>()?;
    reports.extend(queued.into_iter().map(|q| AttemptReport {
        output_id: q.output_id,
        success: true,
        status_code: 0,
        message: "queued for pickup by the poller".into(),
        dispatched_at: now,
    }));
    // Keep the caller's order.
    reports.sort_by_key(|r| output_ids.iter().position(|id| *id == r.output_id));
    Ok(reports)
}

/// The detection id of Herald's own delivery-failure alerts.
pub const DELIVERY_FAILURE_DETECTION: &str = "Herald.DeliveryFailure";

pub use crate::dispatch::{DispatchEvent, FailedDelivery};

/// The detection id of Herald's alerts about paused and resumed destinations.
pub const DESTINATION_PAUSED_DETECTION: &str = "Herald.DestinationPaused";

/// The SYSTEM_ERROR alert for a dispatcher event.
pub async fn raise_system_error(s: &Services, event: &DispatchEvent) -> AppResult<Option<Alert>> {
    match event {
        DispatchEvent::Failed(f) => raise_delivery_failure(s, f).await,
        DispatchEvent::Breaker {
            output_id,
            label,
            change,
            last_message,
        } => raise_breaker_change(s, output_id, label, change, last_message).await,
    }
}

/// A destination's circuit breaker opened or closed: one SYSTEM_ERROR alert each (the
/// resume names itself in the dedup key, so it never joins the pause alert), never
/// sent to the destination concerned.
async fn raise_breaker_change(
    s: &Services,
    output_id: &str,
    label: &str,
    change: &crate::store::deliveries::BreakerChange,
    last_message: &str,
) -> AppResult<Option<Alert>> {
    use crate::store::deliveries::BreakerChange;
    let (title, severity, description, dedup) = match change {
        BreakerChange::Paused { consecutive_failures } => (
            format!("Destination {label} paused after {consecutive_failures} consecutive failures"),
            Severity::High,
            format!(
                "Herald paused the destination {label} ({output_id}): its deliveries wait (none is dropped and none uses up attempts) and one probe is sent periodically; the first success resumes it. Last error: {last_message}"
            ),
            format!("{output_id}:paused:{}", now_ms()),
        ),
        BreakerChange::Resumed => (
            format!("Destination {label} resumed"),
            Severity::Info,
            format!("A probe to the destination {label} ({output_id}) succeeded: its waiting deliveries are being sent."),
            format!("{output_id}:resumed:{}", now_ms()),
        ),
    };
    let alert = NewAlert {
        detection_id: DESTINATION_PAUSED_DETECTION.into(),
        title,
        severity: Some(severity),
        alert_type: Some(AlertType::SystemError),
        dedup_string: Some(dedup),
        description: Some(description),
        runbook: Some("Check the destination's health in Herald (Destination.health); fix the receiving side or the configuration. Deliveries resume by themselves after a successful probe.".into()),
        alert_context: Some(serde_json::json!({
            "destination": {"outputId": output_id, "displayName": label},
            "lastMessage": last_message,
        })),
        exclude_destinations: vec![output_id.to_string()],
        ..Default::default()
    };
    create_with_period(s, alert, "herald", Some(60))
        .await
        .map(Some)
}

/// Raise Panther's system error for a failed delivery: a `SYSTEM_ERROR` alert, one per
/// destination per hour (dedup), routed by destination configuration — never to the
/// destination that failed, and never for failures of such alerts themselves.
pub async fn raise_delivery_failure(s: &Services, f: &FailedDelivery) -> AppResult<Option<Alert>> {
    if let Some(alert_id) = &f.alert_id {
        if let Some(a) = store::alerts::get(&s.db, alert_id).await? {
            if a.detection_id == DELIVERY_FAILURE_DETECTION {
                return Ok(None);
            }
        }
    }
    let alert = NewAlert {
        detection_id: DELIVERY_FAILURE_DETECTION.into(),
        title: format!("Alert delivery to {} failed", f.label),
        severity: Some(Severity::High),
        alert_type: Some(AlertType::SystemError),
        dedup_string: Some(f.output_id.to_string()),
        description: Some(format!(
            "Herald could not deliver an alert to the destination {} ({}). Last status {}: {}",
            f.label, f.output_id, f.status_code, f.message
        )),
        runbook: Some("Check the destination's configuration and health in Herald, fix it, then use retryFailedDeliveries to re-send.".into()),
        alert_context: Some(serde_json::json!({
            "destination": {"outputId": f.output_id, "displayName": f.label},
            "alertId": f.alert_id,
            "deliveryId": f.delivery_id,
            "lastStatusCode": f.status_code,
            "lastMessage": f.message,
        })),
        exclude_destinations: vec![f.output_id.to_string()],
        ..Default::default()
    };
    create_with_period(s, alert, "herald", Some(60))
        .await
        .map(Some)
}
