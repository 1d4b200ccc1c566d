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

/// Insert `models` in order, `chunk` rows per statement at most (on SQLite the bound
/// on parameters). Every model must set the same columns.
/// With `returning` non-empty, returns those columns of the inserted rows (in no
/// particular order: pair them by a key).
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
    insert_keyed(db, models, chunk, returning, None).await
}

/// A column that a PostgreSQL insert fills itself: `base` (an SQL expression, the
/// same for every row of the transaction) plus the row's position among the rows this
/// call inserts, from 0. See `alerts::insert_many`.
#[derive(Debug, Clone, Copy)]
pub struct PositionKey {
    pub column: &'static str,
    pub base: &'static str,
}

/// [`insert`], with on PostgreSQL `key` filled by the statement (its models leave it
/// unset). Elsewhere `key` is ignored: the column's own default fills it.
pub async fn insert_keyed<C, A>(
    db: &C,
    models: Vec<A>,
    chunk: usize,
    returning: &[&str],
    key: Option<PositionKey>,
) -> Result<Vec<QueryResult>, DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
{
    let mut out = Vec::new();
    let mut models = models.into_iter().peekable();
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Chunked too: the same statement for every chunk, and a bound on the size of
        // one statement's parameters (alerts carry up to 256 KiB of context each).
        let mut inserted = 0i64;
        while models.peek().is_some() {
            let rows: Vec<A> = models.by_ref().take(chunk).collect();
            let n = rows.len() as i64;
            let key = key.map(|k| (k, inserted));
            let Some(insert) = insert_arrays::<A>(rows, returning, key)? else {
                break;
            };
            inserted += n;
            if returning.is_empty() {
                db.execute(insert).await?;
            } else {
                out.extend(db.query_all(insert).await?);
            }
        }
        return Ok(out);
    }
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

/// [`insert`]'s statement on PostgreSQL: each column's values as ONE array parameter
/// ([`ColumnArrays`]: typed, or a literal `{"a","b",NULL}` for a column that may hold
/// NULL) read back as a table by `unnest` and inserted in row order. The statement's
/// text is the same whatever the number of rows, so it is parsed once per connection
/// and planned without a tree of thousands of parameters: a `VALUES` list of 100 rows
/// was a new statement for every batch size, and PostgreSQL spent more on parsing,
/// planning and copying those trees than on inserting the rows. (Tried: the rows as one `jsonb` array of objects, read by
/// `jsonb_populate_recordset`; parsing the JSON, sorting each object's keys, was 14%
/// of PostgreSQL's CPU in a burst.) `None` when there is nothing to insert.
/// With `key`, its column is `base + offset + (the row's position, from 0)`, the offset
/// being the last parameter.
pub fn insert_arrays<A>(
    models: Vec<A>,
    returning: &[&str],
    key: Option<(PositionKey, i64)>,
) -> Result<Option<sea_orm::Statement>, DbErr>
where
    A: ActiveModelTrait,
{
    use sea_orm::{ColumnTrait, IdenStatic, Iterable};
    type Column<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Column;
    let Some(first) = models.first() else {
        return Ok(None);
    };
    let columns: Vec<Column<A>> = Column::<A>::iter()
        .filter(|col| !first.get(*col).is_not_set())
        .collect();
    let types: Vec<ArrayColumn> = columns
        .iter()
        .map(|c| {
            let def = c.def();
            ArrayColumn {
                pg_type: pg_array_type(def.get_column_type()),
                nullable: def.is_null(),
            }
        })
        .collect();
    let mut arrays = ColumnArrays::new(&types);
    for mut model in models {
        arrays.row(columns.iter().map(|col| model.take(*col).into_value()))?;
    }
    let entity = <A::Entity as Default>::default();
    let table = sea_orm::EntityName::table_name(&entity);
    fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
        names
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }
    let cols = quoted(columns.iter().map(|c| c.as_str()));
    let unnest = ColumnArrays::unnest(1, &types);
    let mut values = arrays.finish();
    let mut sql = match key {
        None => format!(
            "INSERT INTO \"{table}\" ({cols}) SELECT {cols} FROM {unnest} WITH ORDINALITY \
             AS r({cols}, ord) ORDER BY ord"
        ),
        Some((key, offset)) => {
            values.push(offset.into());
            format!(
                "INSERT INTO \"{table}\" ({cols}, \"{column}\") SELECT {cols}, \
                 {base} + ${offset_param}::int8 + ord - 1 FROM {unnest} WITH ORDINALITY \
                 AS r({cols}, ord) ORDER BY ord",
                column = key.column,
                base = key.base,
                offset_param = values.len(),
            )
        }
    };
    if !returning.is_empty() {
        sql.push_str(" RETURNING ");
        sql.push_str(&quoted(returning.iter().copied()));
    }
    Ok(Some(sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        sql,
        values,
    )))
}

/// The PostgreSQL array type a column's values are sent as (see [`insert_arrays`]):
/// text for everything that is not a number or a boolean (ids, enums, JSON text).
fn pg_array_type(ty: &sea_orm::ColumnType) -> &'static str {
    use sea_orm::ColumnType as T;
    match ty {
        T::BigInteger | T::BigUnsigned | T::Unsigned => "int8[]",
        T::Integer | T::SmallUnsigned => "int4[]",
        T::SmallInteger | T::TinyInteger | T::TinyUnsigned => "int2[]",
        T::Boolean => "bool[]",
        T::Double | T::Float => "float8[]",
        _ => "text[]",
    }
}

/// Rows as one array parameter per column, read back as a table by
/// `unnest($1::text[], $2::int8[], …)` (see [`insert_arrays`]): the statement is the
/// same for any number of rows.
///
/// A column that never holds NULL is bound as a typed array (sent in PostgreSQL's
/// binary form, decoded once when bound, and counted by the planner from the bound
/// value). One that may is bound as an array literal in one text parameter
/// (`{"a",NULL}`): the binder takes typed arrays only without NULL elements. The
/// literal is parsed by PostgreSQL when planning (to size `unnest`) and again when
/// executing; in a PostgreSQL burst, that parsing (`array_in`) was 7% of the machine's
/// CPU. A column's form depends only on its declaration, never on a batch's values, so
/// each statement's parameter types stay the same for the prepared statement.
pub struct ColumnArrays {
    columns: Vec<ColumnArray>,
}

enum ColumnArray {
    Literal(String),
    Typed(sea_orm::sea_query::ArrayType, Vec<sea_orm::Value>),
}

/// A column of [`ColumnArrays`]: its PostgreSQL array type (`text[]`, `int8[]`…) and
/// whether it may hold NULL.
#[derive(Debug, Clone, Copy)]
pub struct ArrayColumn {
    pub pg_type: &'static str,
    pub nullable: bool,
}

impl ArrayColumn {
    /// A column that never holds NULL.
    pub const fn of(pg_type: &'static str) -> Self {
        ArrayColumn {
            pg_type,
            nullable: false,
        }
    }

    /// A column that may hold NULL.
    pub const fn nullable(pg_type: &'static str) -> Self {
        ArrayColumn {
            pg_type,
            nullable: true,
        }
    }

    fn typed(self) -> Option<sea_orm::sea_query::ArrayType> {
        use sea_orm::sea_query::ArrayType as A;
        if self.nullable {
            return None;
        }
        Some(match self.pg_type {
            "text[]" => A::String,
            "int8[]" => A::BigInt,
            "int4[]" => A::Int,
            "int2[]" => A::SmallInt,
            "bool[]" => A::Bool,
            "float8[]" => A::Double,
            _ => return None,
        })
    }
}

impl ColumnArrays {
    pub fn new(columns: &[ArrayColumn]) -> Self {
        ColumnArrays {
            columns: columns
                .iter()
                .map(|c| match c.typed() {
                    Some(ty) => ColumnArray::Typed(ty, Vec::new()),
                    None => ColumnArray::Literal(String::from("{")),
                })
                .collect(),
        }
    }

    /// `unnest(…)` of the arrays bound from parameter `$first` on, of these columns.
    pub fn unnest(first: usize, columns: &[ArrayColumn]) -> String {
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}", first + i, c.pg_type))
            .collect();
        format!("unnest({})", arrays.join(", "))
    }

    /// One row: its values in column order.
    pub fn row(
        &mut self,
        values: impl IntoIterator<Item = Option<sea_orm::Value>>,
    ) -> Result<(), DbErr> {
        for (column, value) in self.columns.iter_mut().zip(values) {
            match column {
                ColumnArray::Literal(literal) => {
                    if literal.len() > 1 {
                        literal.push(',');
                    }
                    array_element(literal, value)?;
                }
                ColumnArray::Typed(ty, elements) => elements.push(typed_element(ty, value)?),
            }
        }
        Ok(())
    }

    /// The arrays, as the statement's parameters.
    pub fn finish(self) -> Vec<sea_orm::Value> {
        self.columns
            .into_iter()
            .map(|c| match c {
                ColumnArray::Literal(mut l) => {
                    l.push('}');
                    l.into()
                }
                ColumnArray::Typed(ty, elements) => {
                    sea_orm::Value::Array(ty, Some(Box::new(elements)))
                }
            })
            .collect()
    }
}

/// A sea-orm value as an element of a typed array: exactly the variant the binder
/// expects for `ty` (it panics on any other), never NULL.
fn typed_element(
    ty: &sea_orm::sea_query::ArrayType,
    v: Option<sea_orm::Value>,
) -> Result<sea_orm::Value, DbErr> {
    use sea_orm::sea_query::ArrayType as A;
    use sea_orm::Value as V;
    let integer = |v: &V| -> Option<i64> {
        match *v {
            V::TinyInt(Some(n)) => Some(n.into()),
            V::SmallInt(Some(n)) => Some(n.into()),
            V::Int(Some(n)) => Some(n.into()),
            V::BigInt(Some(n)) => Some(n),
            V::TinyUnsigned(Some(n)) => Some(n.into()),
            V::SmallUnsigned(Some(n)) => Some(n.into()),
            V::Unsigned(Some(n)) => Some(n.into()),
            V::BigUnsigned(Some(n)) => i64::try_from(n).ok(),
            _ => None,
        }
    };
    let element = match (ty, v) {
        (A::String, Some(V::String(Some(s)))) => Some(V::String(Some(s))),
        (A::String, Some(V::Char(Some(c)))) => Some(V::String(Some(Box::new(c.to_string())))),
        (A::Bool, Some(V::Bool(Some(b)))) => Some(V::Bool(Some(b))),
        (A::Double, Some(V::Double(Some(x)))) => Some(V::Double(Some(x))),
        (A::Double, Some(V::Float(Some(x)))) => Some(V::Double(Some(x.into()))),
        (A::BigInt, Some(v)) => integer(&v).map(|n| V::BigInt(Some(n))),
        (A::Int, Some(v)) => integer(&v)
            .and_then(|n| i32::try_from(n).ok())
            .map(|n| V::Int(Some(n))),
        (A::SmallInt, Some(v)) => integer(&v)
            .and_then(|n| i16::try_from(n).ok())
            .map(|n| V::SmallInt(Some(n))),
        _ => None,
    };
    element.ok_or_else(|| {
        DbErr::Custom(format!(
            "a NULL or a value of another type in a PostgreSQL {ty:?} array that holds none"
        ))
    })
}

/// A sea-orm value as an element of a PostgreSQL array literal: `NULL`, a number,
/// `t`/`f`, or text in double quotes with `"` and `\` escaped.
fn array_element(out: &mut String, v: Option<sea_orm::Value>) -> Result<(), DbErr> {
    use sea_orm::Value as V;
    use std::fmt::Write;
    let number = |out: &mut String, n: &dyn std::fmt::Display| {
        let _ = write!(out, "{n}");
    };
    match v {
        None
        | Some(
            V::Bool(None)
            | V::TinyInt(None)
            | V::SmallInt(None)
            | V::Int(None)
            | V::BigInt(None)
            | V::TinyUnsigned(None)
            | V::SmallUnsigned(None)
            | V::Unsigned(None)
            | V::BigUnsigned(None)
            | V::Float(None)
            | V::Double(None)
            | V::String(None)
            | V::Char(None),
        ) => out.push_str("NULL"),
        Some(V::Bool(Some(b))) => out.push(if b { 't' } else { 'f' }),
        Some(V::TinyInt(Some(n))) => number(out, &n),
        Some(V::SmallInt(Some(n))) => number(out, &n),
        Some(V::Int(Some(n))) => number(out, &n),
        Some(V::BigInt(Some(n))) => number(out, &n),
        Some(V::TinyUnsigned(Some(n))) => number(out, &n),
        Some(V::SmallUnsigned(Some(n))) => number(out, &n),
        Some(V::Unsigned(Some(n))) => number(out, &n),
        Some(V::BigUnsigned(Some(n))) => number(out, &n),
        Some(V::Float(Some(x))) => number(out, &x),
        Some(V::Double(Some(x))) => number(out, &x),
        Some(V::String(Some(s))) => quoted(out, &s),
        Some(V::Char(Some(c))) => quoted(out, c.encode_utf8(&mut [0; 4])),
        Some(other) => {
            return Err(DbErr::Custom(format!(
                "no PostgreSQL array element for {other:?}"
            )))
        }
    }
    Ok(())
}

fn quoted(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
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

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Value;

    #[test]
    fn nullable_columns_are_literals_that_quote_text_and_spell_nulls_numbers_and_booleans() {
        let columns = [
            ArrayColumn::nullable("text[]"),
            ArrayColumn::nullable("int8[]"),
            ArrayColumn::nullable("bool[]"),
            ArrayColumn::nullable("text[]"),
        ];
        let mut arrays = ColumnArrays::new(&columns);
        arrays
            .row([
                Some(Value::from(r#"a "b" \c, {d}"#)),
                Some(Value::from(7i64)),
                Some(Value::from(true)),
                Some(Value::String(None)),
            ])
            .unwrap();
        arrays
            .row([
                Some(Value::from("NULL")),
                Some(Value::BigInt(None)),
                Some(Value::from(false)),
                None,
            ])
            .unwrap();
        let literals: Vec<Value> = arrays.finish();
        assert_eq!(
            literals,
            [
                Value::from(r#"{"a \"b\" \\c, {d}","NULL"}"#),
                Value::from("{7,NULL}"),
                Value::from("{t,f}"),
                Value::from("{NULL,NULL}"),
            ]
        );
        assert_eq!(
            ColumnArrays::unnest(3, &columns[..2]),
            "unnest($3::text[], $4::int8[])"
        );
    }

    /// Columns that never hold NULL are typed arrays of exactly the variant the binder
    /// expects (it panics on another); a NULL or a value of another type there is an
    /// error, never a panic.
    #[test]
    fn columns_without_null_are_typed_arrays_of_the_binders_variant() {
        use sea_orm::sea_query::ArrayType as A;
        let columns = [
            ArrayColumn::of("text[]"),
            ArrayColumn::of("int8[]"),
            ArrayColumn::of("int4[]"),
            ArrayColumn::of("bool[]"),
        ];
        let mut arrays = ColumnArrays::new(&columns);
        arrays
            .row([
                Some(Value::from("é \"{x}\"")),
                Some(Value::Int(Some(7))),
                Some(Value::BigInt(Some(-3))),
                Some(Value::from(true)),
            ])
            .unwrap();
        assert_eq!(
            arrays.finish(),
            [
                Value::Array(A::String, Some(Box::new(vec![Value::from("é \"{x}\"")]))),
                Value::Array(A::BigInt, Some(Box::new(vec![Value::BigInt(Some(7))]))),
                Value::Array(A::Int, Some(Box::new(vec![Value::Int(Some(-3))]))),
                Value::Array(A::Bool, Some(Box::new(vec![Value::Bool(Some(true))]))),
            ]
        );
        for bad in [
            [None, Some(Value::from(1i64))],
            [Some(Value::String(None)), Some(Value::from(1i64))],
            [Some(Value::from("a")), Some(Value::from("1"))],
            [
                Some(Value::from("a")),
                Some(Value::BigUnsigned(Some(u64::MAX))),
            ],
        ] {
            let mut arrays = ColumnArrays::new(&columns[..2]);
            arrays.row(bad.clone()).expect_err(&format!("{bad:?}"));
        }
        let mut narrow = ColumnArrays::new(&columns[2..3]);
        narrow
            .row([Some(Value::BigInt(Some(i64::from(i32::MAX) + 1)))])
            .expect_err("out of an int4's range");
    }
}
