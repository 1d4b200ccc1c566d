//! Console sessions, one-time set-password links and SSO sign-ins under way. Every
//! secret value is stored as its SHA-256: the store never holds a usable cookie, link
//! or state.
use super::entities::{oidc_login, password_link, session};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub use oidc_login::Model as OidcLoginRow;
pub use password_link::Model as PasswordLinkRow;
pub use session::Model as SessionRow;

pub async fn insert<C: ConnectionTrait>(db: &C, row: SessionRow) -> Result<(), DbErr> {
    session::Entity::insert(session::ActiveModel::from(row))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn get<C: ConnectionTrait>(db: &C, id_hash: &str) -> Result<Option<SessionRow>, DbErr> {
    session::Entity::find_by_id(id_hash).one(db).await
}

/// Note a request on the session (its idle timeout restarts).
pub async fn touch<C: ConnectionTrait>(db: &C, id_hash: &str, at: i64) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, at.into())
        .filter(session::Column::IdHash.eq(id_hash))
        .exec(db)
        .await?;
    Ok(())
}

/// End one session. True when it was live.
pub async fn revoke<C: ConnectionTrait>(db: &C, id_hash: &str, at: i64) -> Result<bool, DbErr> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(at).into())
        .filter(session::Column::IdHash.eq(id_hash))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// End every session of a user; how many were live.
pub async fn revoke_user<C: ConnectionTrait>(db: &C, user_id: &str, at: i64) -> Result<u64, DbErr> {
    let res = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Some(at).into())
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Forget sessions that ended before `before` (expired or revoked).
pub async fn purge<C: ConnectionTrait>(db: &C, before: i64) -> Result<u64, DbErr> {
    let res = session::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(session::Column::ExpiresAt.lt(before))
                .add(session::Column::RevokedAt.lt(before)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

// --------------------------------------------------------------- set-password links

pub async fn insert_link<C: ConnectionTrait>(db: &C, row: PasswordLinkRow) -> Result<(), DbErr> {
    password_link::Entity::insert(password_link::ActiveModel::from(row))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn link<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<PasswordLinkRow>, DbErr> {
    password_link::Entity::find_by_id(token_hash).one(db).await
}

/// Use a link: true only for the one caller that marks it used.
pub async fn use_link<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    at: i64,
) -> Result<bool, DbErr> {
    let res = password_link::Entity::update_many()
        .col_expr(password_link::Column::UsedAt, Some(at).into())
        .filter(password_link::Column::TokenHash.eq(token_hash))
        .filter(password_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Links of a user that were not used yet are void (a new one was made, or the user
/// was deleted).
pub async fn void_links<C: ConnectionTrait>(db: &C, user_id: &str, at: i64) -> Result<(), DbErr> {
    password_link::Entity::update_many()
        .col_expr(password_link::Column::UsedAt, Some(at).into())
        .filter(password_link::Column::UserId.eq(user_id))
        .filter(password_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

// ------------------------------------------------------------------- SSO sign-ins

pub async fn insert_oidc<C: ConnectionTrait>(db: &C, row: OidcLoginRow) -> Result<(), DbErr> {
    oidc_login::Entity::insert(oidc_login::ActiveModel::from(row))
        .exec(db)
        .await?;
    Ok(())
}

/// Take a sign-in under way: read and delete it, so its state is used once. Expired
/// ones are dropped on the way.
pub async fn take_oidc<C: ConnectionTrait>(
    db: &C,
    state_hash: &str,
    now: i64,
) -> Result<Option<OidcLoginRow>, DbErr> {
    oidc_login::Entity::delete_many()
        .filter(oidc_login::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    let Some(row) = oidc_login::Entity::find_by_id(state_hash).one(db).await? else {
        return Ok(None);
    };
    let res = oidc_login::Entity::delete_by_id(state_hash)
        .exec(db)
        .await?;
    Ok((res.rows_affected == 1).then_some(row))
}
