//! The delivery outbox and its attempts. Deliveries are inserted in the same
//! transaction as their alert; workers claim due rows with a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL; SQLite's single writer makes the `UPDATE … RETURNING` atomic).
use super::entities::{delivery, delivery_attempt, destination_health};
use super::rows::ArrayColumn;
use crate::domain::{AlertId, DeliveryId, DeliveryKind, DeliveryStatus, DestinationId};
pub use destination_health::Model as Health;
use sea_orm::sea_query::{Expr, LockBehavior, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

pub use delivery::Model as Delivery;
pub use delivery_attempt::Model as Attempt;

/// The enum columns of the deliveries table (see [`super::locate_damaged`]).
const ENUMS: [super::EnumColumn; 2] = [
    ("kind", DeliveryKind::SPELLINGS),
    ("status", DeliveryStatus::SPELLINGS),
];

/// Not finished yet: pending or in flight.
fn unfinished() -> sea_orm::sea_query::SimpleExpr {
    delivery::Column::Status.is_in(DeliveryStatus::UNFINISHED)
}

/// In flight, but the lease ran out: the worker holding it is gone.
fn lease_expired(now: i64) -> Condition {
    Condition::all()
        .add(delivery::Column::Status.eq(DeliveryStatus::InFlight))
        .add(delivery::Column::LeaseUntil.lt(now))
}

/// Updates of delivery rows that hand the lease back.
trait ClearLease {
    /// No lease and no holder: any worker may take the delivery when it is due.
    fn clear_lease(self) -> Self;
}

impl ClearLease for sea_orm::UpdateMany<delivery::Entity> {
    fn clear_lease(self) -> Self {
        self.col_expr(delivery::Column::LeaseUntil, Option::<i64>::None.into())
            .col_expr(delivery::Column::ClaimedBy, Option::<String>::None.into())
    }
}

/// Delivery rows as read (through sea-orm, or on a raw handle: [`claim_on_handle`]),
/// or the error naming a row whose enum column is damaged.
pub async fn checked<C: ConnectionTrait>(
    db: &C,
    read: Result<Vec<Delivery>, DbErr>,
) -> Result<Vec<Delivery>, DbErr> {
    super::locate_damaged(db, read, "deliveries", "id", &ENUMS).await
}

/// A new pending delivery row.
/// `pull`: the destination is polled (the delivery waits for pickup, see [`claim_pull`]).
pub fn new_delivery(
    alert_id: Option<&AlertId>,
    output_id: &DestinationId,
    label: &str,
    kind: DeliveryKind,
    pull: bool,
    now: i64,
) -> Delivery {
    Delivery {
        id: DeliveryId::new_ordered(),
        alert_id: alert_id.cloned(),
        output_id: output_id.clone(),
        label: label.into(),
        kind,
        status: DeliveryStatus::Pending,
        pull,
        attempt_count: 0,
        attempts_base: 0,
        next_attempt_at: now,
        lease_until: None,
        claimed_by: None,
        last_status_code: None,
        last_message: None,
        last_dispatched_at: None,
        external_id: None,
        external_url: None,
        created_at: now,
        updated_at: now,
        lost_leases: 0,
    }
}

/// Rows per multi-row `INSERT` (about 20 columns each: well under SQLite's and
/// PostgreSQL's bound on statement parameters, whatever the size of an ingested batch).
const INSERT_CHUNK: usize = 500;

pub async fn insert_many<C: ConnectionTrait>(db: &C, rows: Vec<Delivery>) -> Result<(), DbErr> {
    let rows = rows.into_iter().map(delivery::ActiveModel::from).collect();
    super::rows::insert(db, rows, INSERT_CHUNK, &[]).await?;
    Ok(())
}

/// Is some sendable delivery in flight with its lease run out (its process died)?
/// A read: see [`claim`]'s `expired`.
pub async fn any_lease_expired<C: ConnectionTrait>(db: &C, now: i64) -> Result<bool, DbErr> {
    use sea_orm::{PaginatorTrait, QuerySelect};
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::Pull.eq(false))
        .filter(lease_expired(now))
        .limit(1)
        .count(db)
        .await?
        > 0)
}

/// Lease up to `limit` due deliveries to `claim_id`: pending ones whose time has come,
/// and, when `expired`, in-flight ones whose lease ran out (their worker died;
/// `lost_leases` counts it). Deliveries of the destinations in `exclude` (at their
/// concurrency in this process) and of paused destinations whose next probe is not due
/// are left alone. `backlog`: many deliveries are likely due (the caller's last claim
/// filled up), so on PostgreSQL the due rows are read off the index in its order
/// whatever the planner's statistics say (see [`lease`]).
#[allow(clippy::too_many_arguments)]
pub async fn claim<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    gate: &super::WriteGate,
    now: i64,
    lease_ms: i64,
    limit: u64,
    claim_id: &str,
    exclude: &[DestinationId],
    expired: bool,
    backlog: bool,
) -> Result<Vec<Delivery>, DbErr> {
    let mut rows = Vec::new();
    if expired {
        rows = lease(
            db,
            gate,
            claim_lease(true, now, lease_ms, limit, claim_id, exclude),
            backlog,
        )
        .await?;
    }
    let room = limit.saturating_sub(rows.len() as u64);
    if room > 0 {
        rows.extend(
            lease(
                db,
                gate,
                claim_lease(false, now, lease_ms, room, claim_id, exclude),
                backlog,
            )
            .await?,
        );
    }
    Ok(rows)
}

/// One of [`claim`]'s two leases, each a range of the `(pull, status,
/// next_attempt_at)` index (one query with `OR` between them could use only the index's
/// `pull` prefix, scanning and sorting every delivery ever made per claim): with
/// `expired`, in-flight deliveries whose lease ran out (the leases of dead processes:
/// few); else due PENDING deliveries in due order, read off the index up to `limit`.
fn claim_lease<'a>(
    expired: bool,
    now: i64,
    lease_ms: i64,
    limit: u64,
    claim_id: &'a str,
    exclude: &[DestinationId],
) -> Lease<'a> {
    let sendable = sendable(now, exclude);
    Lease {
        due: if expired {
            sendable.add(lease_expired(now))
        } else {
            pending_due(sendable, now)
        },
        order: &[delivery::Column::NextAttemptAt],
        limit,
        claim_id,
        now,
        until: now + lease_ms,
        count_lost: true,
    }
}

/// [`claim`] with nothing left out, on the batch writers' own SQLite connection in the
/// caller's turn ([`super::Turn::on_handle`]): the same leases, each one statement,
/// their rows decoded by position. The inner error: a leased row that cannot be read
/// (pass it to [`checked`]).
pub fn claim_on_handle(
    c: &rusqlite::Connection,
    now: i64,
    lease_ms: i64,
    limit: u64,
    claim_id: &str,
    expired: bool,
) -> rusqlite::Result<Result<Vec<Delivery>, DbErr>> {
    let run = |l: Lease<'_>| {
        let statement = DatabaseBackend::Sqlite.build(&sqlite_lease(l));
        super::rows::models_on_handle::<delivery::Entity>(c, &statement)
    };
    let mut rows = Vec::new();
    if expired {
        match run(claim_lease(true, now, lease_ms, limit, claim_id, &[]))? {
            Ok(r) => rows = r,
            Err(e) => return Ok(Err(e)),
        }
    }
    let room = limit.saturating_sub(rows.len() as u64);
    if room > 0 {
        match run(claim_lease(false, now, lease_ms, room, claim_id, &[]))? {
            Ok(r) => rows.extend(r),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(rows))
}

/// The paused destinations and when each may next be probed ([`paused`]), on a raw
/// SQLite handle.
pub fn paused_on_handle(
    c: &rusqlite::Connection,
) -> rusqlite::Result<Result<Vec<(DestinationId, i64)>, DbErr>> {
    use sea_orm::QueryTrait;
    let statement = paused_query().build(DatabaseBackend::Sqlite);
    Ok(
        super::rows::models_on_handle::<destination_health::Entity>(c, &statement)?
            .map(|rows| rows.into_iter().map(paused_entry).collect()),
    )
}

/// Deliveries the claim may send now: pushed (not polled), not of a destination in
/// `exclude`, nor of a paused one whose next probe is not due.
fn sendable(now: i64, exclude: &[DestinationId]) -> Condition {
    use delivery::Column as D;
    use destination_health::Column as H;
    let mut paused = Query::select();
    paused
        .column(H::OutputId)
        .from(destination_health::Entity)
        .and_where(H::PausedAt.is_not_null())
        .and_where(H::NextProbeAt.gt(now));
    let mut sendable = Condition::all()
        .add(D::Pull.eq(false))
        .add(D::OutputId.not_in_subquery(paused));
    if !exclude.is_empty() {
        sendable = sendable.add(D::OutputId.is_not_in(exclude.iter().cloned()));
    }
    sendable
}

/// Of `sendable`, the PENDING deliveries whose time has come: a range of the
/// `deliveries_due` index, `(pull, status, next_attempt_at)`.
fn pending_due(sendable: Condition, now: i64) -> Condition {
    use delivery::Column as D;
    sendable
        .add(D::Status.eq(DeliveryStatus::Pending))
        .add(D::NextAttemptAt.lte(now))
}

/// Sent, in the transaction of a PostgreSQL claim in a backlog, before its statement:
/// read the due rows off the index in its order, up to the limit. Left to itself the
/// planner, trusting statistics taken before a burst (few due rows), chose a bitmap scan
/// of EVERY due row and a sort: 30 ms per claim of 335 at 40,000 due, against 1 ms read
/// off the index. `SET LOCAL` scopes the choice to that transaction.
pub const READ_DUE_IN_INDEX_ORDER: &str =
    "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off";

/// The PostgreSQL statement of the claim's lease of due PENDING deliveries, for the
/// plan tests (`tests/it/plans.rs`): what [`claim`] sends, nothing left out.
pub fn pending_claim_statement(now: i64, limit: u64, claim_id: &str) -> sea_orm::Statement {
    pg_lease_statement(claim_lease(false, now, 60_000, limit, claim_id, &[]))
}

/// What a lease takes: up to `limit` rows matching `due`, in `order` (which should be
/// what an index already gives, so no sort is needed), leased at `now` to `claim_id`
/// until `until`. `count_lost`: taking over an IN_FLIGHT row counts in `lost_leases`.
struct Lease<'a> {
    due: Condition,
    order: &'a [delivery::Column],
    limit: u64,
    claim_id: &'a str,
    now: i64,
    until: i64,
    count_lost: bool,
}

/// PostgreSQL: one statement that picks the ids `FOR UPDATE SKIP LOCKED` in a
/// materialized CTE (evaluated once, so never more than `limit`) and updates exactly
/// those. (A plain `UPDATE … WHERE id IN (SELECT … LIMIT n SKIP LOCKED)` may re-run the
/// subquery and lease more than `n`.)
fn pg_lease_statement(l: Lease<'_>) -> sea_orm::Statement {
    use sea_orm::{QuerySelect, QueryTrait};
    let mut select = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(l.due);
    for col in l.order {
        select = select.order_by_asc(*col);
    }
    let picked = select
        .limit(l.limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .build(DatabaseBackend::Postgres);
    let mut values = picked.values.map(|v| v.0).unwrap_or_default();
    let n = values.len();
    values.extend([
        DeliveryStatus::InFlight.into(),
        Some(l.until).into(),
        Some(l.claim_id.to_string()).into(),
        l.now.into(),
    ]);
    // Taking over an IN_FLIGHT row means the process that sent it died mid-send (SET
    // expressions read the row as it was).
    let lost = if l.count_lost {
        format!(
            ", lost_leases = deliveries.lost_leases + \
             CASE WHEN deliveries.status = ${} THEN 1 ELSE 0 END",
            n + 1
        )
    } else {
        String::new()
    };
    let sql = format!(
        "WITH picked AS MATERIALIZED ({}) UPDATE deliveries SET status = ${}, \
         lease_until = ${}, claimed_by = ${}, updated_at = ${}{lost} FROM picked \
         WHERE deliveries.id = picked.id RETURNING deliveries.*",
        picked.sql,
        n + 1,
        n + 2,
        n + 3,
        n + 4
    );
    sea_orm::Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

/// The deliveries [`pg_lease_statement`]'s `statement` leased, as it returns them.
async fn leased_rows<C: ConnectionTrait>(
    c: &C,
    statement: sea_orm::Statement,
) -> Result<Vec<Delivery>, DbErr> {
    let rows = delivery::Entity::find()
        .from_raw_sql(statement)
        .all(c)
        .await;
    checked(c, rows).await
}

/// Take the rows of a [`Lease`]. `index_ordered`: its `order` is what the
/// `deliveries_due` index gives for its `due`, and PostgreSQL must read it so (at the
/// cost of three more round trips: worth it only in a backlog).
///
/// PostgreSQL: [`pg_lease_statement`] (with `index_ordered`, after
/// [`READ_DUE_IN_INDEX_ORDER`] in a transaction of its own). SQLite: one
/// `UPDATE … RETURNING`, atomic under its single writer, or for the claim loop a read
/// and then the update of what is still due (see below).
async fn lease<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    gate: &super::WriteGate,
    l: Lease<'_>,
    index_ordered: bool,
) -> Result<Vec<Delivery>, DbErr> {
    use delivery::Column as D;
    use sea_orm::QuerySelect;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let statement = pg_lease_statement(l);
        if !index_ordered {
            return leased_rows(db, statement).await;
        }
        let txn = db.begin().await?;
        txn.execute_unprepared(READ_DUE_IN_INDEX_ORDER).await?;
        let rows = leased_rows(&txn, statement).await?;
        txn.commit().await?;
        return Ok(rows);
    }
    if !gate.queues() {
        // SQLite, one statement: atomic under its single writer, so concurrent callers
        // (two pollers) never both pass over the same rows.
        return leased_rows(db, DatabaseBackend::Sqlite.build(&sqlite_lease(l))).await;
    }
    // SQLite, for the claim loop (this process's only caller behind the gate) with
    // destinations left out: the candidates are read first, without the write lock (a
    // read may have to pass many rows it cannot take); the update then takes those
    // still due, in its turn among this process's writers.
    let mut select = delivery::Entity::find()
        .select_only()
        .column(D::Id)
        .filter(l.due.clone());
    for col in l.order {
        select = select.order_by_asc(*col);
    }
    let ids: Vec<String> = select.limit(l.limit).into_tuple().all(db).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let update = set_lease(delivery::Entity::update_many(), &l)
        .filter(D::Id.is_in(ids))
        .filter(only_checks(l.due));
    let rows = match gate.enter().await {
        Some(turn) => update.exec_with_returning(&*turn).await,
        None => update.exec_with_returning(db).await,
    };
    checked(db, rows).await
}

/// SQLite: a [`Lease`] as one `UPDATE … WHERE id IN (the first due ids) … RETURNING`
/// every column (in the order [`super::rows::models_on_handle`] reads).
fn sqlite_lease(l: Lease<'_>) -> sea_orm::sea_query::UpdateStatement {
    use delivery::Column as D;
    use sea_orm::QueryTrait;
    let mut ids = Query::select();
    ids.column(D::Id)
        .from(delivery::Entity)
        .cond_where(l.due.clone());
    for col in l.order {
        ids.order_by(*col, sea_orm::Order::Asc);
    }
    ids.limit(l.limit);
    let mut update = set_lease(delivery::Entity::update_many(), &l)
        .filter(D::Id.in_subquery(ids))
        .filter(only_checks(l.due))
        .into_query();
    update.returning(super::rows::returning_all::<delivery::Entity>());
    update
}

/// The columns a lease sets.
fn set_lease(
    u: sea_orm::UpdateMany<delivery::Entity>,
    l: &Lease<'_>,
) -> sea_orm::UpdateMany<delivery::Entity> {
    use delivery::Column as D;
    let u = if l.count_lost {
        // Taking over an IN_FLIGHT row means the process that sent it died mid-send.
        u.col_expr(
            D::LostLeases,
            Expr::col(D::LostLeases)
                .add(Expr::case(Expr::col(D::Status).eq(DeliveryStatus::InFlight), 1).finally(0)),
        )
    } else {
        u
    };
    u.col_expr(D::Status, DeliveryStatus::InFlight.into())
        .col_expr(D::LeaseUntil, Some(l.until).into())
        .col_expr(D::ClaimedBy, Some(l.claim_id.to_string()).into())
        .col_expr(D::UpdatedAt, l.now.into())
}

/// `due` as a test of the rows an id lookup finds, never a way to find rows: given
/// `id IN (…) AND due`, SQLite's planner read the `deliveries_due` range (every due row:
/// the whole backlog in a burst, 5 to 14 ms per claim at 200,000) and tested each
/// against the ids, where looking up the ids reads only the rows leased.
fn only_checks(due: Condition) -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Expr::case(due, 1).finally(0)).eq(1)
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Succeeded,
    Failed,
    RetryAt(i64),
    /// Back to PENDING until then without using up the retry budget (a failed probe of
    /// a paused destination: its deliveries wait, they do not burn attempts).
    Hold(i64),
}

/// When a destination's circuit breaker opens, and how often it probes while open.
#[derive(Debug, Clone, Copy)]
pub struct BreakerPolicy {
    /// Consecutive failed attempts that pause the destination.
    pub failures: i32,
    pub probe_ms: i64,
}

/// A change of a destination's breaker caused by a recorded attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum BreakerChange {
    Paused { consecutive_failures: i32 },
    Resumed,
}

/// What recording an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Another worker owns the delivery now; nothing was written.
    LeaseLost,
    Stored(Option<BreakerChange>),
}

/// An attempt to record and what it decides for its delivery.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt: NewAttempt,
    /// The destination, whose health and circuit breaker the attempt counts towards.
    pub output_id: DestinationId,
    /// Nothing is written unless this lease holder still holds the delivery.
    pub claim_id: String,
    pub next: Next,
    /// What the destination called the thing it created, if anything.
    pub external: Option<crate::destinations::ExternalRef>,
    /// `None`: the attempt does not count towards the breaker (test sends).
    pub breaker: Option<BreakerPolicy>,
}

/// Record one attempt and move the delivery on, if `claim_id` still holds its lease,
/// and fold it into the destination's health and circuit breaker.
pub async fn record_attempt<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    record: AttemptRecord,
) -> Result<Recorded, DbErr> {
    Ok(record_attempts(db, vec![record])
        .await?
        .pop()
        .unwrap_or(Recorded::LeaseLost))
}

/// Record finished attempts in ONE transaction, in order: each moves its delivery on if
/// its lease holder still holds it (else it is `LeaseLost` and nothing of it is
/// written); the attempt rows go in with multi-row inserts, and each destination's
/// health and circuit breaker take the batch's attempts as if recorded one by one, with
/// one upsert per destination. Returns, per record, what came of it.
pub async fn record_attempts<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    records: Vec<AttemptRecord>,
) -> Result<Vec<Recorded>, DbErr> {
    let txn = db.begin().await?;
    let mut out = Vec::with_capacity(records.len());
    let mut rows = Vec::with_capacity(records.len());
    let mut health: Vec<HealthFold> = Vec::new();
    let moves: Vec<Move> = records
        .iter()
        .map(|r| Move {
            delivery_id: &r.attempt.delivery_id,
            claim_id: &r.claim_id,
            next: &r.next,
            attempt_number: r.attempt.number,
            dispatched_at: r.attempt.dispatched_at,
            status_code: r.attempt.status_code,
            message: &r.attempt.message,
            external: r.external.as_ref(),
        })
        .collect();
    let moved = move_on_many(&txn, &moves).await?;
    drop(moves);
    for ((i, record), moved) in records.into_iter().enumerate().zip(moved) {
        let AttemptRecord {
            attempt,
            output_id,
            breaker,
            ..
        } = record;
        let attempt = attempt_row(attempt);
        if !moved {
            out.push(Recorded::LeaseLost);
            continue;
        }
        HealthFold::fold(&mut health, output_id, i, &attempt, breaker);
        out.push(Recorded::Stored(None));
        rows.push(attempt);
    }
    let rows = rows
        .into_iter()
        .map(delivery_attempt::ActiveModel::from)
        .collect();
    super::rows::insert(&txn, rows, INSERT_CHUNK, &[]).await?;
    for fold in &health {
        let stored = record_health(&txn, fold).await?;
        for (i, change) in update_breaker(&txn, fold, &stored).await? {
            out[i] = Recorded::Stored(Some(change));
        }
    }
    txn.commit().await?;
    Ok(out)
}

/// [`record_attempts`] for the attempt recorder, which holds its `turn` at the write
/// gate: on SQLite the whole transaction runs on a raw handle, the batch writers' own
/// connection ([`super::Turn::on_handle`]) or, with no turn (an in-memory database),
/// one of `db`'s ([`super::on_sqlite_handle`]), one prepared statement per kind
/// executed per record; elsewhere, [`record_attempts`].
pub async fn record_attempts_in_turn(
    turn: Option<&super::Turn<'_>>,
    db: &sea_orm::DatabaseConnection,
    records: Vec<AttemptRecord>,
) -> Result<Vec<Recorded>, DbErr> {
    if turn.is_none() && db.get_database_backend() != DatabaseBackend::Sqlite {
        return record_attempts(db, records).await;
    }
    let write = |c: &rusqlite::Connection| super::immediate(c, |c| record_on_handle(c, records));
    if let Some(turn) = turn {
        return turn.on_handle(write);
    }
    let done = super::on_sqlite_handle(db, write).await?;
    Ok(done.expect("an SQLite database"))
}

/// Attempts offered to ride in another writer's transaction
/// ([`super::WriteGate::offer_attempts`]) and where their outcome goes.
pub struct AttemptRide {
    records: Vec<AttemptRecord>,
    done: tokio::sync::oneshot::Sender<Result<Vec<Recorded>, DbErr>>,
}

impl AttemptRide {
    pub(super) fn new(
        records: Vec<AttemptRecord>,
        done: tokio::sync::oneshot::Sender<Result<Vec<Recorded>, DbErr>>,
    ) -> Self {
        AttemptRide { records, done }
    }

    /// Record the attempts inside the caller's open transaction, under a savepoint (a
    /// failure leaves the carrier's own writes as they were). Answer with
    /// [`RideOutcome::answer`] once the carrier's transaction has ended.
    pub fn record_on(self, c: &rusqlite::Connection) -> RideOutcome {
        let result = (|| {
            c.execute_batch("SAVEPOINT ride")?;
            match record_on_handle(c, self.records) {
                Ok(done) => {
                    c.execute_batch("RELEASE ride")?;
                    Ok(done)
                }
                Err(e) => {
                    c.execute_batch("ROLLBACK TO ride; RELEASE ride")?;
                    Err(e)
                }
            }
        })();
        RideOutcome {
            result,
            done: self.done,
        }
    }
}

/// Attempts recorded in a carrier's transaction, not yet answered.
pub struct RideOutcome {
    result: rusqlite::Result<Vec<Recorded>>,
    done: tokio::sync::oneshot::Sender<Result<Vec<Recorded>, DbErr>>,
}

impl RideOutcome {
    /// Answer the owner: what was recorded when the carrier committed, else an error
    /// (the owner then records the attempts itself).
    pub fn answer(self, committed: bool) {
        let out = match self.result {
            Ok(_) if !committed => Err(DbErr::Custom(
                "the transaction carrying the attempts did not commit".into(),
            )),
            Ok(done) => Ok(done),
            Err(e) => Err(super::from_rusqlite(e)),
        };
        let _ = self.done.send(out);
    }
}

/// The statements of [`record_attempts`], in SQLite's dialect, inside the caller's
/// transaction: each record in order moves its delivery on if its lease holder still
/// holds it (so a delivery named twice moves twice, in order), and stores its attempt;
/// then each destination's health and breaker take the batch's attempts as if recorded
/// one by one.
fn record_on_handle(
    c: &rusqlite::Connection,
    records: Vec<AttemptRecord>,
) -> rusqlite::Result<Vec<Recorded>> {
    use rusqlite::params;
    let mut move_on = c.prepare_cached(
        "UPDATE deliveries SET status = ?3, attempt_count = ?4, next_attempt_at = ?5, \
         attempts_base = attempts_base + ?6, \
         external_id = CASE WHEN ?7 IS NULL THEN external_id ELSE ?7 END, \
         external_url = CASE WHEN ?7 IS NULL THEN external_url ELSE ?8 END, \
         lease_until = NULL, claimed_by = NULL, last_status_code = ?9, last_message = ?10, \
         last_dispatched_at = ?11, updated_at = ?11 \
         WHERE id = ?1 AND claimed_by = ?2",
    )?;
    let mut insert = c.prepare_cached(
        "INSERT INTO delivery_attempts (id, delivery_id, attempt_number, dispatched_at, \
         status_code, success, message, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut out = Vec::with_capacity(records.len());
    let mut health: Vec<HealthFold> = Vec::new();
    for (i, record) in records.into_iter().enumerate() {
        let AttemptRecord {
            attempt,
            output_id,
            claim_id,
            next,
            external,
            breaker,
        } = record;
        let (status, next_at, hold) = match next {
            Next::Succeeded => (DeliveryStatus::Succeeded, attempt.dispatched_at, 0),
            Next::Failed => (DeliveryStatus::Failed, attempt.dispatched_at, 0),
            Next::RetryAt(t) => (DeliveryStatus::Pending, t, 0),
            Next::Hold(t) => (DeliveryStatus::Pending, t, 1),
        };
        let moved = move_on.execute(params![
            attempt.delivery_id.as_str(),
            claim_id,
            status_text(status),
            attempt.number,
            next_at,
            hold,
            external.as_ref().map(|r| r.id.as_str()),
            external.as_ref().and_then(|r| r.url.as_deref()),
            attempt.status_code,
            attempt.message,
            attempt.dispatched_at,
        ])?;
        if moved == 0 {
            out.push(Recorded::LeaseLost);
            continue;
        }
        let row = attempt_row(attempt);
        insert.execute(params![
            row.id,
            row.delivery_id.as_str(),
            row.attempt_number,
            row.dispatched_at,
            row.status_code,
            row.success,
            row.message,
            row.duration_ms,
        ])?;
        HealthFold::fold(&mut health, output_id, i, &row, breaker);
        out.push(Recorded::Stored(None));
    }
    for fold in &health {
        let stored = health_on_handle(c, fold)?;
        for (i, change) in breaker_on_handle(c, fold, stored)? {
            out[i] = Recorded::Stored(Some(change));
        }
    }
    Ok(out)
}

/// A delivery status as stored.
fn status_text(s: DeliveryStatus) -> String {
    use sea_orm::ActiveEnum;
    s.to_value()
}

/// [`record_health`] on a raw SQLite handle: the health row as stored after it, that
/// is whether the destination is paused and its failures in a row.
fn health_on_handle(c: &rusqlite::Connection, fold: &HealthFold) -> rusqlite::Result<(bool, i32)> {
    let mut set = vec!["last_attempt_at = ?2"];
    if fold.last_success.is_some() {
        set.extend(["last_success_at = ?3", "consecutive_failures = ?5"]);
    } else {
        set.push("consecutive_failures = destination_health.consecutive_failures + ?5");
    }
    if fold.last_error.is_some() {
        set.push("last_error = ?4");
    }
    c.prepare_cached(&format!(
        "INSERT INTO destination_health (output_id, last_attempt_at, last_success_at, \
             last_error, consecutive_failures, paused_at, next_probe_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL) \
             ON CONFLICT (output_id) DO UPDATE SET {} \
             RETURNING paused_at IS NOT NULL, consecutive_failures",
        set.join(", ")
    ))?
    .query_row(
        rusqlite::params![
            fold.output_id.as_str(),
            fold.last_attempt_at,
            fold.last_success.map(|(at, _)| at),
            fold.last_error.as_ref().map(|(m, _)| m.as_str()),
            fold.failures_since_success,
        ],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// [`update_breaker`] on a raw SQLite handle; `stored`: the health row
/// [`health_on_handle`] returned (paused, failures in a row). As there, a statement
/// that could change nothing is not sent.
fn breaker_on_handle(
    c: &rusqlite::Connection,
    fold: &HealthFold,
    (paused_before, failures): (bool, i32),
) -> rusqlite::Result<Vec<(usize, BreakerChange)>> {
    let Some(policy) = fold.breaker else {
        return Ok(Vec::new());
    };
    let output_id = fold.output_id.as_str();
    let mut changes = Vec::new();
    let mut paused_now = paused_before;
    if let Some((_, index)) = fold.last_success.filter(|_| paused_now) {
        paused_now = false;
        let resumed = c
            .prepare_cached(
                "UPDATE destination_health SET paused_at = NULL, next_probe_at = NULL \
                 WHERE output_id = ?1 AND paused_at IS NOT NULL",
            )?
            .execute([output_id])?;
        if resumed > 0 {
            changes.push((index, BreakerChange::Resumed));
        }
    }
    let Some((_, index)) = fold
        .last_error
        .as_ref()
        .filter(|_| fold.ends_failing() && !paused_now && failures >= policy.failures)
    else {
        return Ok(changes);
    };
    let at = fold.last_attempt_at;
    let paused = c
        .prepare_cached(
            "UPDATE destination_health SET paused_at = ?2, next_probe_at = ?3 \
             WHERE output_id = ?1 AND paused_at IS NULL AND consecutive_failures >= ?4",
        )?
        .execute(rusqlite::params![
            output_id,
            at,
            at + policy.probe_ms,
            policy.failures
        ])?;
    if paused == 0 {
        return Ok(changes);
    }
    changes.push((
        *index,
        BreakerChange::Paused {
            consecutive_failures: failures,
        },
    ));
    Ok(changes)
}

/// One delivery to move on after an attempt (see [`move_on_many`]).
struct Move<'a> {
    delivery_id: &'a DeliveryId,
    claim_id: &'a str,
    next: &'a Next,
    attempt_number: i32,
    dispatched_at: i64,
    status_code: i32,
    message: &'a str,
    external: Option<&'a crate::destinations::ExternalRef>,
}

/// Records per statement of [`move_on_many`] (eleven parameters each).
const MOVE_CHUNK: usize = 256;

/// Move deliveries on after their attempts, each only if its `claim_id` still holds it,
/// as if one by one in order: true per move that took. One `UPDATE … FROM (VALUES …)
/// RETURNING` per [`MOVE_CHUNK`] moves instead of a statement each; a delivery named
/// again later in the list is moved in a later round (the first move has by then let
/// go of its lease).
async fn move_on_many<C: ConnectionTrait>(txn: &C, moves: &[Move<'_>]) -> Result<Vec<bool>, DbErr> {
    use std::collections::HashSet;
    let mut moved = vec![false; moves.len()];
    let backend = txn.get_database_backend();
    let mut left: Vec<usize> = (0..moves.len()).collect();
    while !left.is_empty() {
        let mut first: HashSet<&str> = HashSet::with_capacity(left.len());
        let (round, later): (Vec<usize>, Vec<usize>) = left
            .into_iter()
            .partition(|&i| first.insert(moves[i].delivery_id.as_str()));
        left = later;
        for chunk in round.chunks(MOVE_CHUNK) {
            let rows: Vec<[sea_orm::Value; 11]> = chunk
                .iter()
                .map(|&i| {
                    let m = &moves[i];
                    let (status, next_at, hold) = match m.next {
                        Next::Succeeded => (DeliveryStatus::Succeeded, m.dispatched_at, 0),
                        Next::Failed => (DeliveryStatus::Failed, m.dispatched_at, 0),
                        Next::RetryAt(t) => (DeliveryStatus::Pending, *t, 0),
                        Next::Hold(t) => (DeliveryStatus::Pending, *t, 1),
                    };
                    [
                        m.delivery_id.as_str().into(),
                        m.claim_id.into(),
                        status.into(),
                        m.attempt_number.into(),
                        next_at.into(),
                        hold.into(),
                        m.external.map(|r| r.id.clone()).into(),
                        m.external.and_then(|r| r.url.clone()).into(),
                        m.status_code.into(),
                        m.message.into(),
                        m.dispatched_at.into(),
                    ]
                })
                .collect();
            let (source, values) = value_rows(backend, rows, MOVE_TYPES)?;
            // The rows' columns are column1… on both SQLite and PostgreSQL.
            let sql = format!(
            "UPDATE deliveries SET status = v.column3, attempt_count = v.column4, \
             next_attempt_at = v.column5, attempts_base = deliveries.attempts_base + v.column6, \
             external_id = CASE WHEN v.column7 IS NULL THEN deliveries.external_id ELSE v.column7 END, \
             external_url = CASE WHEN v.column7 IS NULL THEN deliveries.external_url ELSE v.column8 END, \
             lease_until = NULL, claimed_by = NULL, last_status_code = v.column9, \
             last_message = v.column10, last_dispatched_at = v.column11, updated_at = v.column11 \
             FROM {source} \
             WHERE deliveries.id = v.column1 AND deliveries.claimed_by = v.column2 \
             RETURNING deliveries.id"
        );
            let updated: HashSet<String> = txn
                .query_all(sea_orm::Statement::from_sql_and_values(
                    backend, sql, values,
                ))
                .await?
                .into_iter()
                .map(|row| row.try_get_by_index::<String>(0))
                .collect::<Result<_, _>>()?;
            for &i in chunk {
                moved[i] = updated.contains(moves[i].delivery_id.as_str());
            }
        }
    }
    Ok(moved)
}

/// The PostgreSQL types of a move's values ([`move_on_many`]), in order.
const MOVE_TYPES: [ArrayColumn; 11] = [
    ArrayColumn::of("text[]"),
    ArrayColumn::of("text[]"),
    ArrayColumn::of("text[]"),
    ArrayColumn::of("int4[]"),
    ArrayColumn::of("int8[]"),
    ArrayColumn::of("int4[]"),
    // The external reference, when the destination gave one.
    ArrayColumn::nullable("text[]"),
    ArrayColumn::nullable("text[]"),
    ArrayColumn::of("int4[]"),
    ArrayColumn::of("text[]"),
    ArrayColumn::of("int8[]"),
];

/// Rows of `N` values as a table `v` for a statement's `FROM`, its columns named
/// column1… of the given PostgreSQL array `types`. SQLite: `(VALUES (…), …) AS v`.
/// PostgreSQL: each column's values as ONE parameter read back by `unnest`, so that the
/// statement's text is the same for any number of rows (see
/// [`super::rows::insert_arrays`]).
fn value_rows<const N: usize>(
    backend: DatabaseBackend,
    rows: Vec<[sea_orm::Value; N]>,
    types: [ArrayColumn; N],
) -> Result<(String, Vec<sea_orm::Value>), DbErr> {
    if backend == DatabaseBackend::Postgres {
        let mut arrays = super::rows::ColumnArrays::new(&types);
        for row in rows {
            arrays.row(row.into_iter().map(Some))?;
        }
        let names: Vec<String> = (1..=N).map(|i| format!("column{i}")).collect();
        return Ok((
            format!(
                "{} AS v({})",
                super::rows::ColumnArrays::unnest(1, &types),
                names.join(", ")
            ),
            arrays.finish(),
        ));
    }
    let mut values = Vec::with_capacity(rows.len() * N);
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        values.extend(row);
        tuples.push(format!("({})", vec!["?"; N].join(", ")));
    }
    Ok((format!("(VALUES {}) AS v", tuples.join(", ")), values))
}

/// What a batch of attempts does to one destination's health, as if they were folded
/// in one by one.
struct HealthFold {
    output_id: DestinationId,
    last_attempt_at: i64,
    /// The last success: when, and the index of its record.
    last_success: Option<(i64, usize)>,
    /// The last failure's message and the index of its record.
    last_error: Option<(String, usize)>,
    /// Failures after the last success (all of them when none succeeded).
    failures_since_success: i32,
    /// The breaker policy, when some attempt of the batch counts towards it.
    breaker: Option<BreakerPolicy>,
}

impl HealthFold {
    fn new(output_id: DestinationId) -> Self {
        HealthFold {
            output_id,
            last_attempt_at: 0,
            last_success: None,
            last_error: None,
            failures_since_success: 0,
            breaker: None,
        }
    }

    /// Fold record `index`'s stored attempt into its destination's fold in `health`
    /// (started when the batch's first attempt for that destination comes).
    fn fold(
        health: &mut Vec<HealthFold>,
        output_id: DestinationId,
        index: usize,
        a: &Attempt,
        breaker: Option<BreakerPolicy>,
    ) {
        let fold = match health.iter().position(|h| h.output_id == output_id) {
            Some(f) => &mut health[f],
            None => {
                health.push(HealthFold::new(output_id));
                health.last_mut().expect("just pushed")
            }
        };
        fold.add(index, a, breaker);
    }

    fn add(&mut self, index: usize, a: &Attempt, breaker: Option<BreakerPolicy>) {
        self.last_attempt_at = self.last_attempt_at.max(a.dispatched_at);
        if a.success {
            self.last_success = Some((a.dispatched_at, index));
            self.failures_since_success = 0;
        } else {
            self.last_error = Some((a.message.clone(), index));
            self.failures_since_success += 1;
        }
        self.breaker = self.breaker.or(breaker);
    }

    /// The last attempt of the batch failed.
    fn ends_failing(&self) -> bool {
        self.failures_since_success > 0
    }
}

/// Fold a batch's attempts into the destination's health row (an upsert, safe under
/// concurrency); the row as it now stands, locked by the caller's transaction.
async fn record_health<C: ConnectionTrait>(
    db: &C,
    fold: &HealthFold,
) -> Result<destination_health::Model, DbErr> {
    use destination_health::Column as H;
    let row = destination_health::ActiveModel {
        output_id: Set(fold.output_id.clone()),
        last_attempt_at: Set(Some(fold.last_attempt_at)),
        last_success_at: Set(fold.last_success.map(|(at, _)| at)),
        last_error: Set(fold.last_error.as_ref().map(|(m, _)| m.clone())),
        consecutive_failures: Set(fold.failures_since_success),
        paused_at: Set(None),
        next_probe_at: Set(None),
    };
    let mut on_conflict = OnConflict::column(H::OutputId);
    on_conflict.value(H::LastAttemptAt, Expr::value(fold.last_attempt_at));
    if let Some((at, _)) = fold.last_success {
        on_conflict.value(H::LastSuccessAt, Expr::value(at)).value(
            H::ConsecutiveFailures,
            Expr::value(fold.failures_since_success),
        );
    } else {
        on_conflict.value(
            H::ConsecutiveFailures,
            Expr::col((destination_health::Entity, H::ConsecutiveFailures))
                .add(fold.failures_since_success),
        );
    }
    if let Some((message, _)) = &fold.last_error {
        on_conflict.value(H::LastError, Expr::value(message.clone()));
    }
    destination_health::Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_with_returning(db)
        .await
}

/// Close the breaker when the batch had a success, then open it when the failures
/// since (now in the health row) reached the threshold. Each change is paired with the
/// index of the record that caused it. `stored` is the health row [`record_health`]
/// returned (locked since): a statement that could change nothing is not sent, so a
/// healthy destination's batch costs no statement here.
async fn update_breaker<C: ConnectionTrait>(
    db: &C,
    fold: &HealthFold,
    stored: &destination_health::Model,
) -> Result<Vec<(usize, BreakerChange)>, DbErr> {
    use destination_health::Column as H;
    let Some(policy) = fold.breaker else {
        return Ok(Vec::new());
    };
    let output_id = &fold.output_id;
    let base = || destination_health::Entity::update_many().filter(H::OutputId.eq(output_id));
    let mut changes = Vec::new();
    let mut paused_now = stored.paused_at.is_some();
    if let Some((_, index)) = fold.last_success.filter(|_| paused_now) {
        paused_now = false;
        let resumed = base()
            .col_expr(H::PausedAt, Option::<i64>::None.into())
            .col_expr(H::NextProbeAt, Option::<i64>::None.into())
            .filter(H::PausedAt.is_not_null())
            .exec(db)
            .await?;
        if resumed.rows_affected > 0 {
            changes.push((index, BreakerChange::Resumed));
        }
    }
    let Some((_, index)) = fold.last_error.as_ref().filter(|_| {
        fold.ends_failing() && !paused_now && stored.consecutive_failures >= policy.failures
    }) else {
        return Ok(changes);
    };
    let at = fold.last_attempt_at;
    let paused = base()
        .col_expr(H::PausedAt, Some(at).into())
        .col_expr(H::NextProbeAt, Some(at + policy.probe_ms).into())
        .filter(H::PausedAt.is_null())
        .filter(H::ConsecutiveFailures.gte(policy.failures))
        .exec(db)
        .await?;
    if paused.rows_affected == 0 {
        return Ok(changes);
    }
    changes.push((
        *index,
        BreakerChange::Paused {
            consecutive_failures: stored.consecutive_failures,
        },
    ));
    Ok(changes)
}

/// Paused destinations (circuit breaker open) and when each may be probed next.
pub async fn paused<C: ConnectionTrait>(db: &C) -> Result<Vec<(DestinationId, i64)>, DbErr> {
    Ok(paused_query()
        .all(db)
        .await?
        .into_iter()
        .map(paused_entry)
        .collect())
}

/// The health rows of paused destinations.
fn paused_query() -> sea_orm::Select<destination_health::Entity> {
    destination_health::Entity::find().filter(destination_health::Column::PausedAt.is_not_null())
}

fn paused_entry(h: Health) -> (DestinationId, i64) {
    (h.output_id, h.next_probe_at.unwrap_or(0))
}

/// Take the probe turn of a paused destination: true for exactly one caller per probe
/// interval, across processes.
pub async fn take_probe<C: ConnectionTrait>(
    db: &C,
    output_id: &DestinationId,
    now: i64,
    probe_ms: i64,
) -> Result<bool, DbErr> {
    use destination_health::Column as H;
    Ok(destination_health::Entity::update_many()
        .col_expr(H::NextProbeAt, Some(now + probe_ms).into())
        .filter(H::OutputId.eq(output_id))
        .filter(H::PausedAt.is_not_null())
        .filter(H::NextProbeAt.lte(now))
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Health of destinations, with the number of unfinished deliveries: two queries for any number of ids.
pub async fn health<C: ConnectionTrait>(
    db: &C,
    output_ids: &[DestinationId],
) -> Result<Vec<(DestinationId, Option<destination_health::Model>, i64)>, DbErr> {
    use sea_orm::{FromQueryResult, QuerySelect};
    #[derive(FromQueryResult)]
    struct Pending {
        output_id: DestinationId,
        n: i64,
    }
    let rows = destination_health::Entity::find()
        .filter(destination_health::Column::OutputId.is_in(output_ids.iter().cloned()))
        .all(db)
        .await?;
    let pending: Vec<Pending> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::OutputId)
        .column_as(delivery::Column::Id.count(), "n")
        .filter(delivery::Column::OutputId.is_in(output_ids.iter().cloned()))
        .filter(unfinished())
        .group_by(delivery::Column::OutputId)
        .into_model::<Pending>()
        .all(db)
        .await?;
    Ok(output_ids
        .iter()
        .map(|id| {
            let h = rows.iter().find(|r| &r.output_id == id).cloned();
            let n = pending
                .iter()
                .find(|p| &p.output_id == id)
                .map_or(0, |p| p.n);
            (id.clone(), h, n)
        })
        .collect())
}

/// Lease up to `limit` deliveries of a polling destination for `visibility_ms`:
/// pending ones, and leased ones whose visibility timeout passed without an ack.
pub async fn claim_pull<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    output_id: &DestinationId,
    now: i64,
    visibility_ms: i64,
    limit: u64,
    claim_id: &str,
) -> Result<Vec<Delivery>, DbErr> {
    use delivery::Column as D;
    let due = Condition::all()
        .add(D::Pull.eq(true))
        .add(D::OutputId.eq(output_id))
        .add(
            Condition::any()
                .add(D::Status.eq(DeliveryStatus::Pending))
                .add(lease_expired(now)),
        );
    let pull = Lease {
        due,
        order: &[D::CreatedAt, D::Id],
        limit,
        claim_id,
        now,
        until: now + visibility_ms,
        count_lost: false,
    };
    let mut rows = lease(db, &super::WriteGate::OPEN, pull, false).await?;
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(rows)
}

/// The message of an attempt that is a poller's acknowledgement.
const ACKNOWLEDGED: &str = "acknowledged by poller";

/// Mark picked-up deliveries of a polling destination as delivered, recording an
/// attempt for each. Unknown, foreign or finished ids are skipped. Returns how many.
pub async fn acknowledge<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    output_id: &DestinationId,
    ids: &[DeliveryId],
    now: i64,
) -> Result<u64, DbErr> {
    use delivery::Column as D;
    let txn = db.begin().await?;
    let rows = delivery::Entity::find()
        .filter(D::Id.is_in(ids.iter().cloned()))
        .filter(D::OutputId.eq(output_id))
        .filter(D::Pull.eq(true))
        .filter(unfinished())
        .all(&txn)
        .await;
    let rows = checked(&txn, rows).await?;
    let mut done = 0;
    let mut fold = HealthFold::new(output_id.clone());
    for d in rows {
        let number = d.attempt_count + 1;
        let updated = delivery::Entity::update_many()
            .col_expr(D::Status, DeliveryStatus::Succeeded.into())
            .col_expr(D::AttemptCount, number.into())
            .clear_lease()
            .col_expr(D::LastStatusCode, Some(200).into())
            .col_expr(D::LastMessage, Some(ACKNOWLEDGED.to_string()).into())
            .col_expr(D::LastDispatchedAt, Some(now).into())
            .col_expr(D::UpdatedAt, now.into())
            .filter(D::Id.eq(d.id.clone()))
            .filter(unfinished())
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            continue;
        }
        let attempt = attempt_row(NewAttempt {
            delivery_id: d.id.clone(),
            number,
            dispatched_at: now,
            status_code: 200,
            success: true,
            message: ACKNOWLEDGED.into(),
            duration_ms: 0,
        });
        fold.add(0, &attempt, None);
        delivery_attempt::Entity::insert(delivery_attempt::ActiveModel::from(attempt))
            .exec(&txn)
            .await?;
        done += 1;
    }
    if done > 0 {
        record_health(&txn, &fold).await?;
    }
    txn.commit().await?;
    Ok(done)
}

/// Re-queue the FAILED deliveries of a destination that failed at or after `since`;
/// attempt numbering continues, the retry budget starts afresh and a quarantine is
/// lifted (the lost-lease count starts again).
pub async fn requeue_failed<C: ConnectionTrait>(
    db: &C,
    output_id: &DestinationId,
    since: i64,
    now: i64,
) -> Result<u64, DbErr> {
    use delivery::Column as D;
    Ok(delivery::Entity::update_many()
        .col_expr(D::Status, DeliveryStatus::Pending.into())
        .col_expr(D::NextAttemptAt, now.into())
        .col_expr(D::AttemptsBase, Expr::col(D::AttemptCount).into())
        .col_expr(D::LostLeases, 0.into())
        .col_expr(D::UpdatedAt, now.into())
        .filter(D::OutputId.eq(output_id))
        .filter(D::Status.eq(DeliveryStatus::Failed))
        .filter(D::Kind.ne(DeliveryKind::Test))
        .filter(D::UpdatedAt.gte(since))
        .exec(db)
        .await?
        .rows_affected)
}

/// Put a leased delivery back to PENDING until `at` without counting an attempt
/// (rate limits: waiting for the limiter never fails a delivery).
pub async fn defer<C: ConnectionTrait>(
    db: &C,
    delivery_id: &DeliveryId,
    claim_id: &str,
    at: i64,
) -> Result<bool, DbErr> {
    use delivery::Column as D;
    Ok(delivery::Entity::update_many()
        .col_expr(D::Status, DeliveryStatus::Pending.into())
        .col_expr(D::NextAttemptAt, at.into())
        .clear_lease()
        .filter(D::Id.eq(delivery_id))
        .filter(D::ClaimedBy.eq(claim_id))
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Extend a lease this holder still has, fenced by when it ends now: a lease that ran
/// out and was taken again (even by the same process) ends at another time, so a stale
/// holder cannot renew it. False when the lease is no longer this one.
pub async fn renew<C: ConnectionTrait>(
    db: &C,
    delivery_id: &DeliveryId,
    claim_id: &str,
    held_until: i64,
    until: i64,
) -> Result<bool, DbErr> {
    use delivery::Column as D;
    Ok(delivery::Entity::update_many()
        .col_expr(D::LeaseUntil, Some(until).into())
        .filter(D::Id.eq(delivery_id))
        .filter(D::ClaimedBy.eq(claim_id))
        .filter(D::LeaseUntil.eq(held_until))
        .filter(D::Status.eq(DeliveryStatus::InFlight))
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Hand leased deliveries back (graceful shutdown) so another worker takes them now.
pub async fn release<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[String],
    now: i64,
) -> Result<u64, DbErr> {
    use delivery::Column as D;
    if claim_ids.is_empty() {
        return Ok(0);
    }
    Ok(delivery::Entity::update_many()
        .col_expr(D::Status, DeliveryStatus::Pending.into())
        .clear_lease()
        .col_expr(D::NextAttemptAt, now.into())
        .filter(D::Status.eq(DeliveryStatus::InFlight))
        .filter(D::ClaimedBy.is_in(claim_ids.iter().cloned()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deliveries of some alerts, oldest first.
pub async fn for_alerts<C: ConnectionTrait>(
    db: &C,
    alert_ids: &[AlertId],
) -> Result<Vec<Delivery>, DbErr> {
    let read = delivery::Entity::find()
        .filter(delivery::Column::AlertId.is_in(alert_ids.iter().cloned()))
        .order_by_asc(delivery::Column::CreatedAt)
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await;
    checked(db, read).await
}

/// Deliveries by id (those that exist), in no particular order.
pub async fn get_many<C: ConnectionTrait>(
    db: &C,
    ids: &[DeliveryId],
) -> Result<Vec<Delivery>, DbErr> {
    let read = delivery::Entity::find()
        .filter(delivery::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await;
    checked(db, read).await
}

/// Attempts of some deliveries, in attempt order.
pub async fn attempts_for<C: ConnectionTrait>(
    db: &C,
    delivery_ids: &[DeliveryId],
) -> Result<Vec<Attempt>, DbErr> {
    delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.is_in(delivery_ids.iter().cloned()))
        .order_by_asc(delivery_attempt::Column::AttemptNumber)
        .all(db)
        .await
}

/// Deliveries not finished yet (pending or in flight).
pub async fn count_unfinished<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    delivery::Entity::find()
        .filter(unfinished())
        .count(db)
        .await
}

/// One attempt at a delivery, as it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttempt {
    pub delivery_id: DeliveryId,
    /// Counts every attempt of the delivery (1 for the first).
    pub number: i32,
    pub dispatched_at: i64,
    pub status_code: i32,
    pub success: bool,
    pub message: String,
    pub duration_ms: i64,
}

/// A new attempt record.
pub fn attempt_row(a: NewAttempt) -> Attempt {
    Attempt {
        // Time-ordered, as delivery ids are (see `DeliveryId::new_ordered`).
        id: uuid::Uuid::now_v7().to_string(),
        delivery_id: a.delivery_id,
        attempt_number: a.number,
        dispatched_at: a.dispatched_at,
        status_code: a.status_code,
        success: a.success,
        message: a.message,
        duration_ms: a.duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lease_updates_the_rows_it_names_not_every_due_row() {
        use crate::store::tests::{plan, temp_sqlite};
        use delivery::Column as D;
        use sea_orm::QueryTrait;
        let (_dir, db) = temp_sqlite().await;
        let due = Condition::all()
            .add(D::Pull.eq(false))
            .add(D::Status.eq(DeliveryStatus::Pending))
            .add(D::NextAttemptAt.lte(5));
        let named = delivery::Entity::update_many()
            .col_expr(D::Status, DeliveryStatus::InFlight.into())
            .filter(D::Id.is_in(["a", "b", "c"]))
            .filter(only_checks(due.clone()));
        let leased = plan(&db, named.build(DatabaseBackend::Sqlite)).await;
        assert!(leased.contains("sqlite_autoindex_deliveries_1"), "{leased}");
        assert!(!leased.contains("deliveries_due"), "{leased}");
        // Given the condition as is, the planner reads the due range instead.
        let plain = delivery::Entity::update_many()
            .col_expr(D::Status, DeliveryStatus::InFlight.into())
            .filter(D::Id.is_in(["a", "b", "c"]))
            .filter(due);
        let plain = plan(&db, plain.build(DatabaseBackend::Sqlite)).await;
        assert!(plain.contains("deliveries_due"), "{plain}");
    }

    #[tokio::test]
    async fn the_claim_on_the_raw_handle_reads_what_sqlx_reads_and_names_a_damaged_row() {
        use crate::store::tests::temp_sqlite;
        use sea_orm::{ActiveModelTrait, IntoActiveModel};
        let (_dir, db) = temp_sqlite().await;
        let mut alert = crate::domain::payload::test_alert(1_000);
        alert.id = AlertId::new_ordered();
        crate::store::alerts::insert_many(&db, &mut [alert.clone()])
            .await
            .unwrap();
        let out = DestinationId::from("d1");
        let mut rows = Vec::new();
        for (i, label) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let mut d = new_delivery(
                Some(&alert.id),
                &out,
                label,
                DeliveryKind::Routed,
                false,
                10,
            );
            d.next_attempt_at = 10 + i as i64;
            d.last_message = (i == 1).then(|| "é \"quoted\"".to_string());
            d.last_status_code = (i == 1).then_some(503);
            rows.push(d);
        }
        insert_many(&db, rows.clone()).await.unwrap();
        // Two by sqlx, two on the handle, from the same state of the table.
        let by_handle = |limit: u64| {
            let db = db.clone();
            async move {
                crate::store::on_sqlite_handle(&db, |c| {
                    claim_on_handle(c, 100, 60_000, limit, "p2", true)
                })
                .await
                .unwrap()
                .unwrap()
            }
        };
        let gate = super::super::WriteGate::OPEN;
        let first = claim(&db, &gate, 100, 60_000, 2, "p1", &[], true, false)
            .await
            .unwrap();
        let second = by_handle(2).await.unwrap();
        let mut leased = first.clone();
        leased.extend(second.clone());
        let labels: Vec<&str> = leased.iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["a", "b", "c", "d"], "due order, each once");
        for (got, made) in leased.iter().zip(&rows) {
            let mut want = made.clone();
            want.status = DeliveryStatus::InFlight;
            want.lease_until = Some(100 + 60_000);
            want.claimed_by = Some(got.claimed_by.clone().unwrap());
            want.updated_at = 100;
            assert_eq!(got, &want);
        }
        assert!(second.iter().all(|d| d.claimed_by.as_deref() == Some("p2")));
        // The alerts of the leased rows, read on the handle, as sqlx reads them.
        let ids = [alert.id.clone()];
        let raw = crate::store::on_sqlite_handle(&db, |c| {
            crate::store::alerts::get_many_on_handle(c, &ids)
        })
        .await
        .unwrap()
        .unwrap();
        let on_handle = crate::store::alerts::rows(&db, raw).await.unwrap();
        let by_sqlx = crate::store::alerts::get_many(&db, &ids).await.unwrap();
        assert_eq!(format!("{on_handle:?}"), format!("{by_sqlx:?}"));

        // A due row whose kind no variant spells: the claim's error names it.
        let mut damaged = new_delivery(Some(&alert.id), &out, "e", DeliveryKind::Routed, false, 10);
        damaged.id = DeliveryId::from("damaged-1");
        damaged
            .clone()
            .into_active_model()
            .insert(&db)
            .await
            .unwrap();
        db.execute_unprepared("UPDATE deliveries SET kind = 'BOGUS' WHERE id = 'damaged-1'")
            .await
            .unwrap();
        let read = by_handle(5).await;
        assert!(matches!(read, Err(DbErr::Type(_))), "{read:?}");
        let e = checked(&db, read).await.unwrap_err().to_string();
        for part in ["deliveries", "damaged-1", "kind", "BOGUS"] {
            assert!(e.contains(part), "{part:?} missing from {e:?}");
        }
    }
}
