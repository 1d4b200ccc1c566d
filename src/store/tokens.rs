//! API tokens table.
use super::entities::api_token::{self, Column, Entity};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

pub use api_token::Model as TokenRow;

pub async fn insert<C: ConnectionTrait>(db: &C, row: TokenRow) -> Result<(), DbErr> {
    Entity::insert(api_token::ActiveModel::from(row))
        .exec(db)
        .await?;
    Ok(())
}

/// A row as read, checked: its permission names and CIDR blocks are JSON string lists
/// (a damaged one is an error naming the row, so no token is ever read as holding no
/// permissions or no CIDR restriction in place of what was stored).
fn checked(row: TokenRow) -> Result<TokenRow, DbErr> {
    super::json_column::<Vec<String>>("api_tokens", &row.id, "permissions", &row.permissions)?;
    super::json_column::<Vec<String>>("api_tokens", &row.id, "allowed_cidrs", &row.allowed_cidrs)?;
    Ok(row)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<TokenRow>, DbErr> {
    Entity::find_by_id(id)
        .one(db)
        .await?
        .map(checked)
        .transpose()
}

/// Tokens that are not revoked, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<TokenRow>, DbErr> {
    Entity::find()
        .filter(Column::RevokedAt.is_null())
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(checked)
        .collect()
}

pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    id: &str,
    jti: &str,
    now: i64,
    by: Option<String>,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::CurrentJti, jti.into())
        .col_expr(Column::RotatedAt, Some(now).into())
        .col_expr(Column::RotatedByActor, by.into())
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn revoke<C: ConnectionTrait>(db: &C, id: &str, now: i64) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::RevokedAt, Some(now).into())
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Revoke `id` and, recursively, every token minted by it (`parent_id`); call inside a
/// transaction. True when `id` itself was revoked by this call.
pub async fn revoke_with_descendants<C: ConnectionTrait>(
    db: &C,
    id: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let mut all: Vec<String> = vec![id.to_string()];
    let mut frontier: Vec<String> = all.clone();
    while !frontier.is_empty() {
        let children: Vec<String> = Entity::find()
            .filter(Column::ParentId.is_in(frontier.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.id)
            .filter(|c| !all.contains(c))
            .collect();
        all.extend(children.iter().cloned());
        frontier = children;
    }
    let root = revoke(db, id, now).await?;
    if root {
        for chunk in all[1..].chunks(500) {
            Entity::update_many()
                .col_expr(Column::RevokedAt, Some(now).into())
                .filter(Column::Id.is_in(chunk.to_vec()))
                .filter(Column::RevokedAt.is_null())
                .exec(db)
                .await?;
        }
    }
    Ok(root)
}

pub async fn touch<C: ConnectionTrait>(db: &C, id: &str, at: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LastUsedAt, Some(at).into())
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Tokens by id (revoked ones included), checked.
pub async fn get_many<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<TokenRow>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(checked)
        .collect()
}
