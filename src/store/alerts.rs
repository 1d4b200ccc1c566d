//! Alerts and comments.
use super::entities::{alert, alert_comment};
use super::rows::ArrayColumn;
use super::{json_column, locate_damaged, to_json, EnumColumn};
use crate::domain::{Alert, AlertId, AlertStatus, AlertType, Severity};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

const TABLE: &str = "alerts";

/// The enum columns of the table (see [`locate_damaged`]).
const ENUMS: [EnumColumn; 3] = [
    ("severity", Severity::SPELLINGS),
    ("status", AlertStatus::SPELLINGS),
    ("alert_type", AlertType::SPELLINGS),
];

/// Rows as read (through sea-orm, or on a raw handle: [`get_many_on_handle`]) as
/// alerts, or the error naming a row whose enum column or JSON is damaged.
pub async fn rows<C: ConnectionTrait>(
    db: &C,
    read: Result<Vec<alert::Model>, DbErr>,
) -> Result<Vec<Alert>, DbErr> {
    locate_damaged(db, read, TABLE, "id", &ENUMS)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

fn to_domain(m: alert::Model) -> Result<Alert, DbErr> {
    let json = |column: &str, text: &str| -> Result<serde_json::Value, DbErr> {
        json_column(TABLE, &m.id, column, text)
    };
    let tags = json_column(TABLE, &m.id, "tags", &m.tags)?;
    let alert_context = json("alert_context", &m.alert_context)?;
    let routing = json_column(TABLE, &m.id, "routing", &m.routing)?;
    Ok(Alert {
        seq: m.seq,
        id: m.id,
        detection_id: m.detection_id,
        title: m.title,
        severity: m.severity,
        status: m.status,
        alert_type: m.alert_type,
        log_type: m.log_type,
        dedup_string: m.dedup_string,
        description: m.description,
        runbook: m.runbook,
        reference: m.reference,
        tags,
        alert_context,
        created_at: m.created_at,
        updated_at: m.updated_at,
        first_event_at: m.first_event_at,
        last_received_event_at: m.last_received_event_at,
        event_count: m.event_count,
        log_source: m.log_source,
        resource_type: m.resource_type,
        assignee_id: m.assignee_id,
        name: m.name,
        routing,
        routed: m.routed,
        created_by: m.created_by,
        last_modified_by: m.last_modified_by,
    })
}

pub(super) fn active(a: &Alert) -> alert::ActiveModel {
    alert::ActiveModel {
        seq: sea_orm::NotSet,
        id: Set(a.id.clone()),
        detection_id: Set(a.detection_id.clone()),
        title: Set(a.title.clone()),
        severity: Set(a.severity),
        status: Set(a.status),
        alert_type: Set(a.alert_type),
        log_type: Set(a.log_type.clone()),
        dedup_string: Set(a.dedup_string.clone()),
        description: Set(a.description.clone()),
        runbook: Set(a.runbook.clone()),
        reference: Set(a.reference.clone()),
        tags: Set(to_json(&a.tags)),
        alert_context: Set(a.alert_context.to_string()),
        created_at: Set(a.created_at),
        updated_at: Set(a.updated_at),
        first_event_at: Set(a.first_event_at),
        last_received_event_at: Set(a.last_received_event_at),
        event_count: Set(a.event_count),
        log_source: Set(a.log_source.clone()),
        resource_type: Set(a.resource_type.clone()),
        assignee_id: Set(a.assignee_id.clone()),
        name: Set(a.name.clone()),
        routing: Set(to_json(&a.routing)),
        routed: Set(a.routed),
        created_by: Set(a.created_by.clone()),
        last_modified_by: Set(a.last_modified_by.clone()),
        updated_by_actor: sea_orm::NotSet,
    }
}

/// Rows per multi-row `INSERT` (27 columns each: well under SQLite's and PostgreSQL's
/// bound on statement parameters).
const INSERT_CHUNK: usize = 200;

/// How an alert's `seq` follows commit order, which is what a poller's cursor needs
/// (it must never pass an alert that commits later with a smaller `seq`):
/// - SQLite: one writer at a time, so the table's own counter follows commit order.
/// - PostgreSQL: `seq` is the inserting transaction's id × 2^20 plus the alert's
///   position in that transaction. Transactions run side by side (two processes'
///   writers commit together, with no lock held through PostgreSQL's WAL flush), so
///   they may commit out of id order; readers therefore list only the alerts of
///   transactions older than every transaction still running ([`SETTLED_BELOW`]), and
///   any alert that commits later has a larger `seq`. (Transaction ids are 64-bit and
///   never wrap; 2^43 of them, 2^20 alerts per transaction, fit a `bigint`.)
const POSITION_KEY: super::rows::PositionKey = super::rows::PositionKey {
    column: "seq",
    base: "pg_current_xact_id()::text::bigint * 1048576",
};

/// PostgreSQL: the smallest `seq` a transaction still running could insert (every
/// alert below it has settled: committed, visible, and no later commit can come
/// before it). The statement's own snapshot; an earlier snapshot's answer is lower and
/// equally safe.
const SETTLED_BELOW: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576";

/// Insert new alerts, in order, with as few statements as the parameter bounds allow;
/// sets each alert's `seq`, returned by the inserting statement itself (on PostgreSQL
/// at most one call per transaction: see [`POSITION_KEY`]).
pub async fn insert_many<C: ConnectionTrait>(db: &C, alerts: &mut [Alert]) -> Result<(), DbErr> {
    let models: Vec<alert::ActiveModel> = alerts.iter().map(active).collect();
    let rows =
        super::rows::insert_keyed(db, models, INSERT_CHUNK, &["id", "seq"], Some(POSITION_KEY))
            .await?;
    let mut seqs = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        seqs.insert(
            row.try_get_by_index::<String>(0)?,
            row.try_get_by_index::<i64>(1)?,
        );
    }
    for a in alerts.iter_mut() {
        a.seq = *seqs.get(a.id.as_str()).ok_or(DbErr::RecordNotInserted)?;
    }
    Ok(())
}

/// Keys per dedup lookup statement (two parameters each).
const DEDUP_CHUNK: usize = 200;

/// The open alerts with one of `keys` (detection id, dedup string) created since
/// `since`: each pair looked up in `alerts_dedup`, however large the table (public for
/// the plan tests).
pub fn dedup_select(
    backend: sea_orm::DatabaseBackend,
    keys: &[(&str, &str)],
    since: i64,
) -> sea_orm::Statement {
    use sea_orm::QueryTrait;
    if backend == sea_orm::DatabaseBackend::Postgres {
        // Each pair looked up on its own (`LATERAL`, kept a subquery by `OFFSET 0`: the
        // only plans are per-pair scans, and the index is the cheap one whatever the
        // statistics). Planned before the table had statistics (a new database in its
        // first burst), a row-value `IN` list was read as a filter over the whole index
        // (100 ms per batch at 45,000 alerts), and a plain join as a hash join over the
        // whole table. Every connection plans it for its parameters (see
        // `store::connect_with`), not once for a table that was still empty.
        // The pairs as two array parameters: the same statement whatever their number
        // (see [`super::rows::insert_arrays`]).
        const KEY: [ArrayColumn; 2] = [ArrayColumn::of("text[]"), ArrayColumn::of("text[]")];
        let mut arrays = super::rows::ColumnArrays::new(&KEY);
        for (d, s) in keys {
            // Text, never NULL: always an element.
            let _ = arrays.row([Some((*d).into()), Some((*s).into())]);
        }
        let sql = format!(
            "SELECT a.* FROM {} AS k(d, s) CROSS JOIN LATERAL \
             (SELECT * FROM alerts WHERE detection_id = k.d AND dedup_string = k.s \
             AND status = $3 AND created_at >= $4 OFFSET 0) AS a",
            super::rows::ColumnArrays::unnest(1, &KEY)
        );
        let mut values = arrays.finish();
        values.extend([AlertStatus::Open.into(), since.into()]);
        return sea_orm::Statement::from_sql_and_values(backend, sql, values);
    }
    // SQLite reads a row-value `IN` over a list of pairs by scanning: it took the
    // `created_at` range instead, every alert of the dedup period for each batch (226 ms
    // per batch at 200,000 alerts). Over a `VALUES` subquery it looks each pair up.
    let values = keys
        .iter()
        .flat_map(|(d, s)| [sea_orm::Value::from(*d), sea_orm::Value::from(*s)]);
    let pairs = vec!["(?, ?)"; keys.len()].join(", ");
    let keyed = Expr::cust_with_values(
        format!(
            "(\"detection_id\", \"dedup_string\") IN \
             (SELECT column1, column2 FROM (VALUES {pairs}))"
        ),
        values,
    );
    alert::Entity::find()
        .filter(keyed)
        .filter(alert::Column::Status.eq(AlertStatus::Open))
        .filter(alert::Column::CreatedAt.gte(since))
        .build(backend)
}

/// Whether no open alert has any of `keys` (detection id, dedup string): then a batch
/// with those keys joins none, and needs no read of the stored alerts it may join
/// ([`find_dedup_targets`]). On a raw SQLite handle, the batch writers' own connection
/// in their turn ([`super::Turn::on_handle`]), where the read needs no hop to sqlx's
/// thread; a burst of new alerts answers here.
pub fn none_open_on_handle(
    c: &rusqlite::Connection,
    keys: &[(&str, &str)],
) -> rusqlite::Result<bool> {
    use sea_orm::ActiveEnum;
    let open = AlertStatus::Open.to_value();
    for chunk in keys.chunks(DEDUP_CHUNK) {
        let mut any = c.prepare_cached(&open_keys_sql(chunk.len()))?;
        let mut values: Vec<&str> = chunk.iter().flat_map(|(d, s)| [*d, *s]).collect();
        values.push(&open);
        if any.query_row(rusqlite::params_from_iter(values), |r| r.get::<_, bool>(0))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// [`none_open_on_handle`]'s statement for `n` keys: each pair looked up in
/// `alerts_dedup`, as in [`dedup_select`] (plan test below).
fn open_keys_sql(n: usize) -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM alerts WHERE (detection_id, dedup_string) IN \
         (SELECT column1, column2 FROM (VALUES {})) AND status = ?{})",
        (0..n)
            .map(|i| format!("(?{}, ?{})", 2 * i + 1, 2 * i + 2))
            .collect::<Vec<_>>()
            .join(", "),
        2 * n + 1
    )
}

/// Per lookup (detection id, dedup string, created since), the open alert a new match
/// with that key joins, if any: the newest open alert with the key created since then.
/// One statement per [`DEDUP_CHUNK`] keys, not one per lookup.
pub async fn find_dedup_targets<C: ConnectionTrait>(
    db: &C,
    lookups: &[(String, String, i64)],
) -> Result<Vec<Option<Alert>>, DbErr> {
    let mut keys: Vec<(&str, &str)> = lookups
        .iter()
        .map(|(d, s, _)| (d.as_str(), s.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let Some(since) = lookups.iter().map(|l| l.2).min() else {
        return Ok(Vec::new());
    };
    let mut candidates: Vec<Alert> = Vec::new();
    for chunk in keys.chunks(DEDUP_CHUNK) {
        let read = alert::Entity::find()
            .from_raw_sql(dedup_select(db.get_database_backend(), chunk, since))
            .all(db)
            .await;
        candidates.extend(rows(db, read).await?);
    }
    // Newest first, so each lookup takes the first of its key created since its bound.
    candidates.sort_unstable_by_key(|a| std::cmp::Reverse(a.seq));
    let mut by_key: std::collections::HashMap<(&str, &str), Vec<&Alert>> = Default::default();
    for a in &candidates {
        by_key
            .entry((a.detection_id.as_str(), a.dedup_string.as_str()))
            .or_default()
            .push(a);
    }
    Ok(lookups
        .iter()
        .map(|(d, s, since)| {
            by_key
                .get(&(d.as_str(), s.as_str()))
                .and_then(|open| open.iter().find(|a| a.created_at >= *since))
                .map(|a| (*a).clone())
        })
        .collect())
}

/// Count one more matching event on an existing alert.
pub async fn add_event<C: ConnectionTrait>(db: &C, seq: i64, now: i64) -> Result<(), DbErr> {
    add_events(db, seq, 1, now).await
}

/// Count `n` more matching events on an existing alert.
pub async fn add_events<C: ConnectionTrait>(
    db: &C,
    seq: i64,
    n: i64,
    now: i64,
) -> Result<(), DbErr> {
    alert::Entity::update_many()
        .col_expr(
            alert::Column::EventCount,
            Expr::col(alert::Column::EventCount).add(n),
        )
        .col_expr(alert::Column::LastReceivedEventAt, now.into())
        .col_expr(alert::Column::UpdatedAt, now.into())
        .filter(alert::Column::Seq.eq(seq))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &AlertId) -> Result<Option<Alert>, DbErr> {
    let read = alert::Entity::find()
        .filter(alert::Column::Id.eq(id))
        .limit(1)
        .all(db)
        .await;
    Ok(rows(db, read).await?.pop())
}

pub async fn get_many<C: ConnectionTrait>(db: &C, ids: &[AlertId]) -> Result<Vec<Alert>, DbErr> {
    let read = get_many_query(db.get_database_backend(), ids).all(db).await;
    rows(db, read).await
}

/// The alerts `select` reads: on SQLite on a pooled connection's raw handle, decoded by
/// position (sqlx's decoding of 28 columns by name was half of the CPU of a page of
/// 100, measured); elsewhere through sea-orm.
async fn read_pooled(
    db: &sea_orm::DatabaseConnection,
    select: sea_orm::Select<alert::Entity>,
) -> Result<Vec<Alert>, DbErr> {
    use sea_orm::QueryTrait;
    let read = if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        let statement = select.build(sea_orm::DatabaseBackend::Sqlite);
        super::on_sqlite_handle(db, |c| {
            super::rows::models_on_handle::<alert::Entity>(c, &statement)
        })
        .await?
        .expect("a SQLite connection")
    } else {
        select.all(db).await
    };
    rows(db, read).await
}

/// The alerts with these ids, in `seq` order. On PostgreSQL the ids are one array
/// parameter: one statement for any number of them (a claim reads its deliveries'
/// alerts; see `rows::insert_arrays`).
fn get_many_query(
    backend: sea_orm::DatabaseBackend,
    ids: &[AlertId],
) -> sea_orm::Select<alert::Entity> {
    let by_id = if backend == sea_orm::DatabaseBackend::Postgres {
        let mut array = super::rows::ColumnArrays::new(&[ArrayColumn::of("text[]")]);
        for id in ids {
            // Text, never NULL: always an element.
            let _ = array.row([Some(id.as_str().into())]);
        }
        Expr::cust_with_values("\"alerts\".\"id\" = ANY($1::text[])", array.finish())
    } else {
        alert::Column::Id.is_in(ids.iter().cloned())
    };
    alert::Entity::find()
        .filter(by_id)
        .order_by_asc(alert::Column::Seq)
}

/// [`get_many`] on a raw SQLite handle, decoded by position; the inner error, a row
/// that cannot be read, goes to [`rows`].
pub fn get_many_on_handle(
    c: &rusqlite::Connection,
    ids: &[AlertId],
) -> rusqlite::Result<Result<Vec<alert::Model>, DbErr>> {
    use sea_orm::QueryTrait;
    let statement = get_many_query(sea_orm::DatabaseBackend::Sqlite, ids)
        .build(sea_orm::DatabaseBackend::Sqlite);
    super::rows::models_on_handle::<alert::Entity>(c, &statement)
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Keyset position: only alerts after (ascending) or before (descending) this seq.
    pub after_seq: Option<i64>,
    pub descending: bool,
    pub limit: u64,
    pub created_at_after: Option<i64>,
    pub created_at_before: Option<i64>,
    pub detection_id: Option<String>,
    pub severities: Vec<Severity>,
    pub statuses: Vec<AlertStatus>,
    pub types: Vec<AlertType>,
    pub log_types: Vec<String>,
    pub name_contains: Option<String>,
    pub routed: Option<bool>,
    pub log_sources: Vec<String>,
    pub resource_types: Vec<String>,
    pub event_count_min: Option<i64>,
    pub event_count_max: Option<i64>,
    /// Order by (created_at, seq) instead of seq (`sortBy: createdAt`); the keyset
    /// position is then `after_created_at`, not `after_seq`.
    pub by_created_at: bool,
    pub after_created_at: Option<(i64, i64)>,
    /// Only alerts assigned to one of these user ids (empty: any).
    pub assignee_ids: Vec<String>,
}

/// How long a page in `seq` order on PostgreSQL waits for alerts committed before it
/// was asked to settle (see [`list`]): transactions older than them still running.
/// Herald's own last milliseconds; a transaction left open elsewhere on the cluster
/// holds the newest alerts back from pages for as long as it stays open, and a page
/// waits this long for it at most.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// One page in `seq` order (or `created_at` order); fetches `limit + 1` rows to tell
/// whether more exist.
///
/// On PostgreSQL a page in `seq` order holds only settled alerts ([`POSITION_KEY`]),
/// so a poller's cursor never passes an alert that commits later. When some visible
/// alerts have not settled yet and the page would reach them (ascending and not full,
/// or the newest-first first page), it waits for the transactions older than them,
/// usually a few milliseconds, up to [`SETTLE_WAIT`], then reads again: a page shows
/// every alert committed before it was asked, unless a transaction stays open longer.
pub async fn list(
    db: &sea_orm::DatabaseConnection,
    f: &AlertFilter,
) -> Result<(Vec<Alert>, bool), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres || f.by_created_at {
        return list_below(db, f, None).await;
    }
    let (mut below, newest) = settled(db).await?;
    let page = list_below(db, f, Some(below)).await?;
    let Some(newest) = newest.filter(|n| *n >= below) else {
        return Ok(page);
    };
    let reaches_unsettled = if f.descending {
        f.after_seq.is_none()
    } else {
        !page.1
    };
    if !reaches_unsettled {
        return Ok(page);
    }
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    let mut pause = std::time::Duration::from_micros(250);
    while below <= newest && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(16));
        below = settled(db).await?.0;
    }
    list_below(db, f, Some(below)).await
}

/// PostgreSQL: ([`SETTLED_BELOW`], the largest visible `seq`).
async fn settled(db: &sea_orm::DatabaseConnection) -> Result<(i64, Option<i64>), DbErr> {
    let row = db
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT {SETTLED_BELOW}, (SELECT max(seq) FROM alerts)"),
        ))
        .await?
        .ok_or(DbErr::RecordNotFound("the settled position".into()))?;
    Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))
}

/// [`list`]'s page, with `seq` below `settled_below` when set.
async fn list_below(
    db: &sea_orm::DatabaseConnection,
    f: &AlertFilter,
    settled_below: Option<i64>,
) -> Result<(Vec<Alert>, bool), DbErr> {
    use alert::Column as C;
    let mut cond = Condition::all();
    if let Some(below) = settled_below {
        cond = cond.add(C::Seq.lt(below));
    }
    if let Some(seq) = f.after_seq {
        cond = cond.add(if f.descending {
            C::Seq.lt(seq)
        } else {
            C::Seq.gt(seq)
        });
    }
    if let Some(t) = f.created_at_after {
        cond = cond.add(C::CreatedAt.gte(t));
    }
    if let Some(t) = f.created_at_before {
        cond = cond.add(C::CreatedAt.lt(t));
    }
    if let Some(d) = &f.detection_id {
        cond = cond.add(C::DetectionId.eq(d.as_str()));
    }
    if !f.severities.is_empty() {
        cond = cond.add(C::Severity.is_in(f.severities.iter().copied()));
    }
    if !f.statuses.is_empty() {
        cond = cond.add(C::Status.is_in(f.statuses.iter().copied()));
    }
    if !f.types.is_empty() {
        cond = cond.add(C::AlertType.is_in(f.types.iter().copied()));
    }
    if !f.log_types.is_empty() {
        cond = cond.add(C::LogType.is_in(f.log_types.iter().cloned()));
    }
    if let Some(needle) = f.name_contains.as_deref().filter(|n| !n.is_empty()) {
        cond = cond.add(super::contains_ci(C::Title, needle));
    }
    if let Some(r) = f.routed {
        cond = cond.add(C::Routed.eq(r));
    }
    if !f.log_sources.is_empty() {
        cond = cond.add(C::LogSource.is_in(f.log_sources.iter().cloned()));
    }
    if !f.resource_types.is_empty() {
        cond = cond.add(C::ResourceType.is_in(f.resource_types.iter().cloned()));
    }
    if let Some(n) = f.event_count_min {
        cond = cond.add(C::EventCount.gte(n));
    }
    if let Some(n) = f.event_count_max {
        cond = cond.add(C::EventCount.lte(n));
    }
    if let Some((t, seq)) = f.after_created_at {
        cond = cond.add(if f.descending {
            Condition::any()
                .add(C::CreatedAt.lt(t))
                .add(C::CreatedAt.eq(t).and(C::Seq.lt(seq)))
        } else {
            Condition::any()
                .add(C::CreatedAt.gt(t))
                .add(C::CreatedAt.eq(t).and(C::Seq.gt(seq)))
        });
    }
    if !f.assignee_ids.is_empty() {
        cond = cond.add(C::AssigneeId.is_in(f.assignee_ids.iter().cloned()));
    }
    let query = alert::Entity::find().filter(cond);
    // `sortBy: createdAt`: by creation time first, `seq` breaking ties.
    let query = match (f.by_created_at, f.descending) {
        (false, _) => query,
        (true, true) => query.order_by_desc(C::CreatedAt),
        (true, false) => query.order_by_asc(C::CreatedAt),
    };
    let query = if f.descending {
        query.order_by_desc(C::Seq)
    } else {
        query.order_by_asc(C::Seq)
    };
    let mut rows = read_pooled(db, query.limit(f.limit + 1)).await?;
    let more = rows.len() as u64 > f.limit;
    rows.truncate(f.limit as usize);
    Ok((rows, more))
}

pub async fn set_status<C: ConnectionTrait>(
    db: &C,
    ids: &[AlertId],
    status: AlertStatus,
    by: &str,
    now: i64,
) -> Result<(), DbErr> {
    alert::Entity::update_many()
        .col_expr(alert::Column::Status, status.into())
        .col_expr(alert::Column::LastModifiedBy, by.into())
        .col_expr(alert::Column::UpdatedAt, now.into())
        .filter(alert::Column::Id.is_in(ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_assignee<C: ConnectionTrait>(
    db: &C,
    ids: &[AlertId],
    assignee: Option<&str>,
    by: &str,
    now: i64,
) -> Result<(), DbErr> {
    alert::Entity::update_many()
        .col_expr(
            alert::Column::AssigneeId,
            assignee.map(str::to_owned).into(),
        )
        .col_expr(alert::Column::LastModifiedBy, by.into())
        .col_expr(alert::Column::UpdatedAt, now.into())
        .filter(alert::Column::Id.is_in(ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

pub use alert_comment::Model as Comment;

pub async fn add_comment<C: ConnectionTrait>(db: &C, c: Comment) -> Result<(), DbErr> {
    alert_comment::Entity::insert(alert_comment::ActiveModel::from(c))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn comments<C: ConnectionTrait>(
    db: &C,
    alert_id: &AlertId,
) -> Result<Vec<Comment>, DbErr> {
    let read = alert_comment::Entity::find()
        .filter(alert_comment::Column::AlertId.eq(alert_id.as_str()))
        .order_by_asc(alert_comment::Column::CreatedAt)
        .order_by_asc(alert_comment::Column::Id)
        .all(db)
        .await;
    // A damaged `format` is an error naming the comment, never a default.
    let formats: [EnumColumn; 1] = [("format", crate::domain::CommentFormat::SPELLINGS)];
    locate_damaged(db, read, "alert_comments", "id", &formats).await
}

/// Record who last changed these alerts (a user or a token).
pub async fn set_updated_by<C: ConnectionTrait>(
    db: &C,
    ids: &[AlertId],
    actor: &crate::domain::actor::ActorRef,
) -> Result<(), DbErr> {
    alert::Entity::update_many()
        .col_expr(alert::Column::UpdatedByActor, Some(actor.encode()).into())
        .filter(alert::Column::Id.is_in(ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Who last changed each of these alerts (as stored: `user:<id>` / `token:<id>`).
pub async fn updated_by<C: ConnectionTrait>(
    db: &C,
    ids: &[AlertId],
) -> Result<Vec<(AlertId, Option<String>)>, DbErr> {
    alert::Entity::find()
        .select_only()
        .column(alert::Column::Id)
        .column(alert::Column::UpdatedByActor)
        .filter(alert::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{plan, temp_sqlite};

    #[tokio::test]
    async fn the_dedup_lookup_reads_the_dedup_index_not_the_period() {
        let (_dir, db) = temp_sqlite().await;
        let keys = [("rule.a", "k1"), ("rule.a", "k2"), ("rule.b", "")];
        let st = dedup_select(sea_orm::DatabaseBackend::Sqlite, &keys, 0);
        let plan = plan(&db, st).await;
        assert!(plan.contains("USING INDEX alerts_dedup"), "{plan}");
        assert!(!plan.contains("SCAN alerts"), "{plan}");
        assert!(!plan.contains("alerts_created_at_seq"), "{plan}");
    }

    #[tokio::test]
    async fn the_check_for_open_keys_reads_the_dedup_index_and_finds_only_open_alerts() {
        let (_dir, db) = temp_sqlite().await;
        let values: Vec<sea_orm::Value> = ["rule.a", "k1", "rule.b", "", "OPEN"]
            .into_iter()
            .map(Into::into)
            .collect();
        let st = sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Sqlite,
            open_keys_sql(2),
            values,
        );
        let plan = plan(&db, st).await;
        assert!(
            plan.contains("INDEX alerts_dedup (detection_id=? AND dedup_string=? AND status=?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN alerts"), "{plan}");

        let mut open = crate::domain::payload::test_alert(1_000);
        open.dedup_string = "k1".into();
        let mut closed = open.clone();
        closed.id = crate::domain::AlertId::new_ordered();
        closed.dedup_string = "k2".into();
        closed.status = AlertStatus::Resolved;
        insert_many(&db, &mut [open.clone(), closed]).await.unwrap();
        let d = open.detection_id.clone();
        let none_open = |keys: Vec<(String, String)>| {
            let db = db.clone();
            async move {
                let keys: Vec<(&str, &str)> =
                    keys.iter().map(|(d, s)| (d.as_str(), s.as_str())).collect();
                crate::store::on_sqlite_handle(&db, |c| none_open_on_handle(c, &keys))
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let key = |s: &str| (d.clone(), s.to_string());
        assert!(
            !none_open(vec![("x".into(), "y".into()), key("k1")]).await,
            "an open alert"
        );
        assert!(
            none_open(vec![key("k2")]).await,
            "a resolved alert is not joined"
        );
        assert!(none_open(vec![key("k3"), ("other".into(), "k1".into())]).await);
        // More keys than one statement takes.
        let many: Vec<(String, String)> = (0..DEDUP_CHUNK + 5)
            .map(|i| key(&format!("n{i}")))
            .chain([key("k1")])
            .collect();
        assert!(!none_open(many).await);
    }
}
