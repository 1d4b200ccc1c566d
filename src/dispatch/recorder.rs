//! Attempt recording in batches: workers hand finished attempts to one recorder task
//! per dispatcher, which writes whatever has queued in one transaction
//! ([`store::deliveries::record_attempts`]) and answers each worker after the commit.
//! A worker still waits for its record, so nothing about a delivery changes except how
//! many commits a burst costs.
use crate::batching::{BatchPolicy, Batcher};
use crate::store::{
    self,
    deliveries::{AttemptRecord, Recorded},
};
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most attempts recorded in one transaction.
pub const RECORD_BATCH_MAX: usize = 256;
/// How long the recorder waits for more attempts under load. On SQLite a batch's turn
/// at the write gate cost about 1 ms whatever its size (from 10 to 90 attempts; much of
/// it, then, the hop to sqlx's thread for the handle), and ingestion waits for it:
/// fewer, fuller batches leave the writer to ingestion. Measured with 32 `createAlert`
/// clients, in alternating runs: 2 ms 8,242 / 8,679 / 8,593 alerts/s, 5 ms 8,354 /
/// 9,133 / 9,301. On PostgreSQL (a batch is six round trips) `createAlert` went from
/// 4,085 / 3,706 to 4,600 / 4,243 deliveries/s, `createAlerts` from 8,435 / 9,064 to
/// 9,220 / 9,131.
pub const RECORD_LINGER: Duration = Duration::from_millis(5);

/// Why an attempt was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RecordFailed {
    /// The database could not take the write (full disk, dropped connection, busy):
    /// worth trying again while the lease holds.
    pub unavailable: bool,
    pub message: String,
}

impl RecordFailed {
    pub fn of(e: &DbErr) -> Self {
        RecordFailed {
            unavailable: crate::error::is_unavailable(e),
            message: e.to_string(),
        }
    }
}

type Reply = oneshot::Sender<Result<Recorded, RecordFailed>>;

type Job = (AttemptRecord, Reply);

/// Each attempt's outcome to its worker.
fn answer(replies: Vec<Reply>, results: Vec<Recorded>) {
    for (reply, r) in replies.into_iter().zip(results) {
        let _ = reply.send(Ok(r));
    }
}

/// The queue in front of the recorder task.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Job>,
}

impl Recorder {
    /// Start the recorder task; it ends when every clone of the recorder is dropped.
    pub fn start(db: DatabaseConnection, gate: Arc<store::WriteGate>) -> Recorder {
        let (tx, rx) = mpsc::channel(4 * RECORD_BATCH_MAX);
        let mut batches = Batcher::new(
            rx,
            BatchPolicy {
                max: RECORD_BATCH_MAX,
                linger: RECORD_LINGER,
                quiet: None,
            },
        );
        tokio::spawn(async move {
            while let Some(batch) = batches.next().await {
                let asked = std::time::Instant::now();
                let attempts = batch.len();
                let (records, replies): (Vec<AttemptRecord>, Vec<_>) = batch.into_iter().unzip();
                // The ingestion writer may carry them in its transaction if it commits
                // before this turn comes; then no turn is needed.
                let mut turn = None;
                let carried = match gate.offer_attempts(records.clone()) {
                    None => None,
                    Some(mut carrier) => tokio::select! {
                        got = &mut carrier => got.ok().and_then(Result::ok),
                        // Offered, so the gate queues: entering it gives a turn.
                        t = gate.enter() => {
                            // Still offered: nobody carried them, and now nobody will.
                            let taken_back = t.as_ref().and_then(|t| t.take_ride()).is_some();
                            turn = t;
                            if taken_back {
                                None
                            } else {
                                carrier.await.ok().and_then(Result::ok)
                            }
                        }
                    },
                };
                if carried.is_none() && turn.is_none() {
                    turn = gate.enter().await;
                }
                let waited = asked.elapsed();
                match carried {
                    Some(results) => answer(replies, results),
                    None => write(turn.as_ref(), &db, records, replies).await,
                }
                tracing::debug!(
                    attempts,
                    waited_ms = waited.as_secs_f64() * 1e3,
                    wrote_ms = (asked.elapsed() - waited).as_secs_f64() * 1e3,
                    "recorded a batch of attempts"
                );
            }
        });
        Recorder { tx }
    }

    /// Record one attempt with whatever else is queued; answers after the commit.
    pub async fn record(&self, record: AttemptRecord) -> Result<Recorded, RecordFailed> {
        let (reply, answer) = oneshot::channel();
        let gone = || RecordFailed {
            unavailable: true,
            message: "the attempt recorder has stopped".into(),
        };
        self.tx.send((record, reply)).await.map_err(|_| gone())?;
        answer.await.unwrap_or_else(|_| Err(gone()))
    }
}

/// Write one batch and answer its workers. When the batch fails for a reason other than
/// the database being unavailable, each record is tried on its own, so one bad record
/// cannot fail the others.
async fn write(
    turn: Option<&store::Turn<'_>>,
    db: &DatabaseConnection,
    records: Vec<AttemptRecord>,
    replies: Vec<Reply>,
) {
    match store::deliveries::record_attempts_in_turn(turn, db, records.clone()).await {
        Ok(results) => answer(replies, results),
        Err(e) if records.len() > 1 && !crate::error::is_unavailable(&e) => {
            tracing::warn!(error = %e, attempts = records.len(), "recording a batch of attempts failed; recording them one by one");
            let db = turn.map_or(db, |t| &**t);
            for (record, reply) in records.into_iter().zip(replies) {
                let r = store::deliveries::record_attempt(db, record).await;
                let _ = reply.send(r.map_err(|e| RecordFailed::of(&e)));
            }
        }
        Err(e) => {
            let failed = RecordFailed::of(&e);
            for reply in replies {
                let _ = reply.send(Err(failed.clone()));
            }
        }
    }
}
