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
