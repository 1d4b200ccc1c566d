//! Destinations table. The secret fields of each config (the type's `secret_paths`)
//! are sealed with the [`Cipher`] on the way in and opened on the way out, here and
//! nowhere else: the rest of the code sees plain values.
use super::entities::destination::{self, Column, Entity};
use super::{json_column, to_json};
use crate::crypto::Cipher;
use crate::destinations::{integration, secrets};
use crate::domain::{AlertType, Destination, DestinationId, Severity};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::Value;

/// Per-destination send limits (`None` = the type's default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    pub max_requests_per_second: Option<f64>,
    pub max_concurrency: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct DestinationRecord {
    pub destination: Destination,
    pub limits: RateLimits,
    pub created_by: String,
    pub created_at: i64,
    pub last_modified_by: String,
    pub last_modified_at: i64,
}

/// What a sealed secret is bound to: its destination and field.
fn context(id: &str, path: &str, key: Option<&str>) -> String {
    format!("destination/{id}/{}", secrets::slot_name(path, key))
}

/// Apply `f` to every set secret of a stored config: `f(value, context)` returns the
/// replacement (`None` keeps it). Returns whether anything changed.
pub(crate) fn map_secrets(
    id: &str,
    output_type: &str,
    config: &mut Value,
    mut f: impl FnMut(&str, &str) -> Result<Option<String>, DbErr>,
) -> Result<bool, DbErr> {
    let Some(kind) = integration(output_type) else {
        return Ok(false);
    };
    let mut changed = false;
    let mut err = None;
    for path in kind.secret_paths() {
        secrets::for_each_slot(config, &[path], |slot, key| {
            let Some(v) = slot.as_str().filter(|v| !v.is_empty()) else {
                return;
            };
            if err.is_some() {
                return;
            }
            match f(v, &context(id, path, key)) {
                Ok(Some(new)) => {
                    *slot = Value::String(new);
                    changed = true;
                }
                Ok(None) => {}
                Err(e) => err = Some(e),
            }
        });
    }
    match err {
        Some(e) => Err(e),
        None => Ok(changed),
    }
}

/// The error for a secret that does not open: names the destination, never empty.
pub(crate) fn undecryptable(id: &str, ctx: &str, e: crate::crypto::DecryptError) -> DbErr {
    let field = ctx.rsplit_once(&format!("{id}/")).map_or(ctx, |(_, f)| f);
    DbErr::Custom(format!(
        "destination {id}: the secret {field} cannot be decrypted: {e} \
         (is HERALD_ENCRYPTION_KEY / the key file the one it was encrypted with?)"
    ))
}

fn open_secrets(id: &str, output_type: &str, config: &mut Value, c: &Cipher) -> Result<(), DbErr> {
    map_secrets(id, output_type, config, |v, ctx| {
        if Cipher::is_sealed(v) {
            c.decrypt(v, ctx)
                .map(Some)
                .map_err(|e| undecryptable(id, ctx, e))
        } else {
            Ok(None)
        }
    })?;
    Ok(())
}

fn seal_secrets(d: &Destination, c: &Cipher) -> Value {
    let mut config = d.config.clone();
    let _ = map_secrets(&d.id, &d.output_type, &mut config, |v, ctx| {
        Ok(Some(c.encrypt(v, ctx)))
    });
    config
}

const TABLE: &str = "destinations";

/// The routing columns of a row: severities, alert types and log types.
type RoutingColumns = (Vec<Severity>, Option<Vec<AlertType>>, Vec<String>);

fn routing_columns(m: &destination::Model) -> Result<RoutingColumns, DbErr> {
    let default_for_severity: Vec<Severity> = json_column(
        TABLE,
        &m.id,
        "default_for_severity",
        &m.default_for_severity,
    )?;
    let alert_types: Option<Vec<AlertType>> = m
        .alert_types
        .as_deref()
        .map(|t| json_column(TABLE, &m.id, "alert_types", t))
        .transpose()?;
    let log_types: Vec<String> = json_column(TABLE, &m.id, "log_types", &m.log_types)?;
    Ok((default_for_severity, alert_types, log_types))
}

fn to_record(m: destination::Model, c: &Cipher) -> Result<DestinationRecord, DbErr> {
    let (default_for_severity, alert_types, log_types) = routing_columns(&m)?;
    let mut config: Value = json_column(TABLE, &m.id, "config", &m.config)?;
    open_secrets(&m.id, &m.output_type, &mut config, c)?;
    Ok(DestinationRecord {
        destination: Destination {
            id: m.id,
            display_name: m.display_name,
            output_type: m.output_type,
            config,
            default_for_severity,
            alert_types,
            log_types,
        },
        limits: RateLimits {
            max_requests_per_second: m.max_requests_per_second,
            max_concurrency: m.max_concurrency,
        },
        created_by: m.created_by,
        created_at: m.created_at,
        last_modified_by: m.last_modified_by,
        last_modified_at: m.last_modified_at,
    })
}

fn to_active(r: &DestinationRecord, c: &Cipher) -> destination::ActiveModel {
    let d = &r.destination;
    destination::ActiveModel {
        id: Set(d.id.clone()),
        display_name: Set(d.display_name.clone()),
        display_name_key: Set(name_key(&d.display_name)),
        output_type: Set(d.output_type.clone()),
        config: Set(seal_secrets(d, c).to_string()),
        default_for_severity: Set(to_json(
            &d.default_for_severity
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
        )),
        alert_types: Set(d
            .alert_types
            .as_ref()
            .map(|t| to_json(&t.iter().map(|s| s.as_str()).collect::<Vec<_>>()))),
        log_types: Set(to_json(&d.log_types)),
        max_requests_per_second: Set(r.limits.max_requests_per_second),
        max_concurrency: Set(r.limits.max_concurrency),
        created_by: Set(r.created_by.clone()),
        created_at: Set(r.created_at),
        last_modified_by: Set(r.last_modified_by.clone()),
        last_modified_at: Set(r.last_modified_at),
    }
}

pub use crate::domain::name_key;

pub async fn list<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
) -> Result<Vec<DestinationRecord>, DbErr> {
    Entity::find()
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_record(m, cipher))
        .collect()
}

/// Every destination as routing sees it, in [`list`]'s order: without its config
/// (`Value::Null`), so no secret is opened or held. A damaged routing column is an
/// error naming the row, as in [`list`].
pub async fn list_for_routing<C: ConnectionTrait>(db: &C) -> Result<Vec<Destination>, DbErr> {
    Entity::find()
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            let (default_for_severity, alert_types, log_types) = routing_columns(&m)?;
            Ok(Destination {
                id: m.id,
                display_name: m.display_name,
                output_type: m.output_type,
                config: Value::Null,
                default_for_severity,
                alert_types,
                log_types,
            })
        })
        .collect()
}

/// The `locks` row holding the configuration version: a counter every write to the
/// destinations or detection overrides tables moves on in its own transaction
/// ([`bump_config_version`]), so a process holding a copy of the routing
/// configuration knows, with one primary-key read, whether it is still current. (A row
/// of its own, not the `config` lock's: taking that lock is not a configuration write.)
pub const CONFIG_VERSION: &str = "config_version";

/// The configuration version as `db` sees it (0 before the first configuration write).
pub async fn config_version<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    Ok(version_row().one(db).await?.map_or(0, |row| row.n))
}

/// [`config_version`] on a raw SQLite handle.
pub fn config_version_on_handle(c: &rusqlite::Connection) -> rusqlite::Result<Result<i64, DbErr>> {
    use sea_orm::QueryTrait;
    let statement = version_row().build(sea_orm::DatabaseBackend::Sqlite);
    Ok(
        super::rows::models_on_handle::<super::entities::lock::Entity>(c, &statement)?
            .map(|rows| rows.first().map_or(0, |row| row.n)),
    )
}

fn version_row() -> sea_orm::Select<super::entities::lock::Entity> {
    super::entities::lock::Entity::find_by_id(CONFIG_VERSION)
}

/// Move the configuration version on; call in the transaction of every write to the
/// destinations or detection overrides tables, as its last statement (on PostgreSQL
/// the row stays locked until commit, so concurrent writers take turns only here).
pub async fn bump_config_version<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "INSERT INTO locks (name, n) VALUES ('{CONFIG_VERSION}', 1) \
         ON CONFLICT (name) DO UPDATE SET n = locks.n + 1"
    );
    db.execute(sea_orm::Statement::from_string(backend, sql))
        .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    id: &DestinationId,
) -> Result<Option<DestinationRecord>, DbErr> {
    Entity::find_by_id(id.clone())
        .one(db)
        .await?
        .map(|m| to_record(m, cipher))
        .transpose()
}

pub async fn get_many<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    ids: &[DestinationId],
) -> Result<Vec<DestinationRecord>, DbErr> {
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| to_record(m, cipher))
        .collect()
}

/// The destination holding a display name (case-insensitive), if any.
pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    name: &str,
) -> Result<Option<DestinationRecord>, DbErr> {
    Entity::find()
        .filter(Column::DisplayNameKey.eq(name_key(name)))
        .one(db)
        .await?
        .map(|m| to_record(m, cipher))
        .transpose()
}

/// A destination named by its id or, failing that, by its display name matched as
/// routing and overrides match names ([`name_key`]; see `routing::resolve`).
pub async fn get_by_id_or_name<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    id_or_name: &str,
) -> Result<Option<DestinationRecord>, DbErr> {
    match get(db, cipher, &DestinationId::from(id_or_name)).await? {
        Some(d) => Ok(Some(d)),
        None => find_by_name(db, cipher, id_or_name).await,
    }
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    r: &DestinationRecord,
) -> Result<(), DbErr> {
    Entity::insert(to_active(r, cipher)).exec(db).await?;
    Ok(())
}

pub async fn update<C: ConnectionTrait>(
    db: &C,
    cipher: &Cipher,
    r: &DestinationRecord,
) -> Result<(), DbErr> {
    Entity::update(to_active(r, cipher)).exec(db).await?;
    Ok(())
}

/// Every row as stored (secrets sealed): id, type and config text.
pub(crate) async fn raw_configs<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<(DestinationId, String, String)>, DbErr> {
    Ok(Entity::find()
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.output_type, m.config))
        .collect())
}

/// Overwrite the stored config text of one row (already sealed).
pub(crate) async fn set_raw_config<C: ConnectionTrait>(
    db: &C,
    id: &DestinationId,
    config: String,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Config, sea_orm::sea_query::Expr::value(config))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: &DestinationId) -> Result<bool, DbErr> {
    Ok(Entity::delete_by_id(id.clone())
        .exec(db)
        .await?
        .rows_affected
        > 0)
}
