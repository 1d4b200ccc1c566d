//! Multi-row inserts of the batch paths (ingested alerts, their deliveries and events),
//! chunked to the databases' bounds on parameters, optionally returning columns of the
//! inserted rows (an alert's `seq` comes back from its `INSERT`, not from a second
//! read of the rows just written).
//!
//! Tried and measured: on SQLite, the rows as ONE JSON parameter read by a fixed
//! `INSERT … SELECT value->>0, … FROM json_each(?)` (prepared once whatever the row
//! count) took about twice as long per batch: each `->>` parses the row's JSON again.
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryResult, QueryTrait};

/// Insert `models` in order, `chunk` rows per statement at most (the bound on
/// parameters). Every model must set the same columns. With `returning` non-empty, returns those columns of the inserted rows (in
/// no particular order: pair them by a key).
pub async fn insert<C, A>(
    db: &C,
    models: Vec<A>,
    chunk: usize,
    returning: &[&str],
) -> Result<Vec<QueryResult>, DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
{
    let mut out = Vec::new();
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let mut insert = <A::Entity as EntityTrait>::insert_many(models.by_ref().take(chunk));
        if returning.is_empty() {
            db.execute(insert.build(db.get_database_backend())).await?;
        } else {
            insert
                .query()
                .returning(Query::returning().columns(returning.iter().map(|c| Alias::new(*c))));
            out.extend(
                db.query_all(insert.build(db.get_database_backend()))
                    .await?,
            );
        }
    }
    Ok(out)
}

/// [`insert`] on a raw SQLite handle ([`super::on_sqlite_handle`]): one prepared
/// `INSERT` executed per model, its values bound as sea-orm binds them for SQLite (so
/// enums, JSON text and booleans are stored alike on both paths). Every model must set
/// the same columns. Returns each row's rowid, in order (an alert's `seq`).
pub fn insert_on_handle<A>(
    c: &rusqlite::Connection,
    models: impl IntoIterator<Item = A>,
) -> rusqlite::Result<Vec<i64>>
where
    A: ActiveModelTrait,
{
    use sea_orm::{IdenStatic, Iterable};
    type Column<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Column;
    let mut models = models.into_iter().peekable();
    let Some(first) = models.peek() else {
        return Ok(Vec::new());
    };
    let columns: Vec<Column<A>> = Column::<A>::iter()
        .filter(|col| !first.get(*col).is_not_set())
        .collect();
    let names: Vec<&str> = columns.iter().map(|col| col.as_str()).collect();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let table = <A::Entity as Default>::default();
    let mut statement = c.prepare_cached(&format!(
        "INSERT INTO {} ({}) VALUES ({})",
        sea_orm::EntityName::table_name(&table),
        names.join(", "),
        marks.join(", ")
    ))?;
    let mut ids = Vec::with_capacity(models.size_hint().0);
    for mut model in models {
        for (i, col) in columns.iter().enumerate() {
            let value = model.take(*col).into_value();
            statement.raw_bind_parameter(i + 1, sqlite_value(value)?)?;
        }
        statement.raw_execute()?;
        ids.push(c.last_insert_rowid());
    }
    Ok(ids)
}

/// A sea-orm value as sea-orm's SQLite driver (sqlx) binds it.
fn sqlite_value(v: Option<sea_orm::Value>) -> rusqlite::Result<rusqlite::types::Value> {
    use rusqlite::types::Value as Sql;
    use sea_orm::Value as V;
    let integer = |n: Option<i64>| n.map_or(Sql::Null, Sql::Integer);
    Ok(match v {
        None => Sql::Null,
        Some(V::Bool(b)) => integer(b.map(i64::from)),
        Some(V::TinyInt(n)) => integer(n.map(i64::from)),
        Some(V::SmallInt(n)) => integer(n.map(i64::from)),
        Some(V::Int(n)) => integer(n.map(i64::from)),
        Some(V::BigInt(n)) => integer(n),
        Some(V::TinyUnsigned(n)) => integer(n.map(i64::from)),
        Some(V::SmallUnsigned(n)) => integer(n.map(i64::from)),
        Some(V::Unsigned(n)) => integer(n.map(i64::from)),
        Some(V::BigUnsigned(n)) => integer(
            n.map(i64::try_from)
                .transpose()
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
        ),
        Some(V::Float(n)) => n.map_or(Sql::Null, |n| Sql::Real(n.into())),
        Some(V::Double(n)) => n.map_or(Sql::Null, Sql::Real),
        Some(V::String(s)) => s.map_or(Sql::Null, |s| Sql::Text(*s)),
        Some(V::Char(c)) => c.map_or(Sql::Null, |c| Sql::Text(c.to_string())),
        Some(V::Bytes(b)) => b.map_or(Sql::Null, |b| Sql::Blob(*b)),
        Some(other) => {
            return Err(rusqlite::Error::ToSqlConversionFailure(
                format!("no SQLite binding for {other:?}").into(),
            ))
        }
    })
}

/// Models of `E` read on a raw SQLite handle by `statement` (built for SQLite), which
/// returns every column of `E` in `E::Column::iter()` order (as `E::find()` selects
/// them, and [`returning_all`]), decoded by position: no column looked up by name and
/// no copy of the row before decoding, where sqlx's decoding by name was most of a
/// claim's CPU in a burst. The outer error is the database's; the inner one a stored
/// value that fits no field, `DbErr::Type` as sea-orm's own decoding gives it (see
/// [`super::locate_damaged`]).
pub fn models_on_handle<E>(
    c: &rusqlite::Connection,
    statement: &sea_orm::Statement,
) -> rusqlite::Result<Result<Vec<E::Model>, DbErr>>
where
    E: EntityTrait,
    E::ActiveModel: sea_orm::TryIntoModel<E::Model>,
{
    use sea_orm::{ColumnTrait, Iterable, TryIntoModel};
    let types: Vec<(E::Column, sea_orm::ColumnType)> = E::Column::iter()
        .map(|col| (col, col.def().get_column_type().clone()))
        .collect();
    let mut prepared = c.prepare_cached(&statement.sql)?;
    if let Some(values) = &statement.values {
        for (i, v) in values.0.iter().enumerate() {
            prepared.raw_bind_parameter(i + 1, sqlite_value(Some(v.clone()))?)?;
        }
    }
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut model = <E::ActiveModel as ActiveModelTrait>::default();
        for (i, (col, ty)) in types.iter().enumerate() {
            let value = match sea_value(ty, row.get_ref(i)?) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            if let Err(e) = model.try_set(*col, value) {
                return Ok(Err(e));
            }
        }
        match model.try_into_model() {
            Ok(m) => out.push(m),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(out))
}

/// `RETURNING` every column of `E`, in `E::Column::iter()` order (what
/// [`models_on_handle`] reads).
pub fn returning_all<E: EntityTrait>() -> sea_orm::sea_query::ReturningClause {
    use sea_orm::Iterable;
    Query::returning().columns(E::Column::iter())
}

/// A stored SQLite value as the sea-orm value of a column of type `ty` (the inverse
/// of [`sqlite_value`]).
fn sea_value(
    ty: &sea_orm::ColumnType,
    v: rusqlite::types::ValueRef<'_>,
) -> Result<sea_orm::Value, DbErr> {
    use rusqlite::types::ValueRef as Sql;
    use sea_orm::{ColumnType as T, Value as V};
    let integer = |n: Option<i64>| -> Result<V, DbErr> {
        fn narrow<N: TryFrom<i64>>(n: Option<i64>, ty: &T) -> Result<Option<N>, DbErr> {
            n.map(|n| N::try_from(n).map_err(|_| DbErr::Type(format!("{n} does not fit {ty:?}"))))
                .transpose()
        }
        Ok(match ty {
            T::Boolean => V::Bool(n.map(|n| n != 0)),
            T::Integer => V::Int(narrow(n, ty)?),
            T::SmallInteger => V::SmallInt(narrow(n, ty)?),
            T::TinyInteger => V::TinyInt(narrow(n, ty)?),
            _ => V::BigInt(n),
        })
    };
    match v {
        Sql::Integer(n) => integer(Some(n)),
        Sql::Real(x) => Ok(V::Double(Some(x))),
        Sql::Text(t) => std::str::from_utf8(t)
            .map(|s| V::String(Some(Box::new(s.to_owned()))))
            .map_err(|e| DbErr::Type(format!("text that is not UTF-8 ({e})"))),
        Sql::Blob(b) => Ok(V::Bytes(Some(Box::new(b.to_vec())))),
        Sql::Null => match ty {
            T::Boolean | T::Integer | T::SmallInteger | T::TinyInteger | T::BigInteger => {
                integer(None)
            }
            T::Double | T::Float | T::Decimal(_) => Ok(V::Double(None)),
            T::Blob | T::Binary(_) | T::VarBinary(_) => Ok(V::Bytes(None)),
            _ => Ok(V::String(None)),
        },
    }
}
