//! Console users and roles.
use super::entities::{role, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

pub use role::Model as RoleRow;
pub use user::Model as UserRow;

/// A role row as read, checked: its permissions are a JSON list of names.
fn checked_role(row: RoleRow) -> Result<RoleRow, DbErr> {
    super::json_column::<Vec<String>>("roles", &row.id, "permissions", &row.permissions)?;
    Ok(row)
}

// ------------------------------------------------------------------------------ users

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<UserRow>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

pub async fn get_many<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<UserRow>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await
}

/// The user with this e-mail, compared case-insensitively.
pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<UserRow>, DbErr> {
    user::Entity::find()
        .filter(user::Column::EmailKey.eq(email.trim().to_lowercase()))
        .one(db)
        .await
}

/// Every user, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<UserRow>, DbErr> {
    user::Entity::find()
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: UserRow) -> Result<(), DbErr> {
    user::Entity::insert(user::ActiveModel::from(row))
        .exec(db)
        .await?;
    Ok(())
}

/// Replace a user's row (every column but the id).
pub async fn update<C: ConnectionTrait>(db: &C, row: UserRow) -> Result<(), DbErr> {
    use sea_orm::ActiveModelTrait;
    let mut active: user::ActiveModel = row.into();
    active = active.reset_all();
    active.update(db).await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, DbErr> {
    let res = user::Entity::delete_by_id(id).exec(db).await?;
    Ok(res.rows_affected > 0)
}

/// Record a sign-in.
pub async fn touch_login<C: ConnectionTrait>(db: &C, id: &str, at: i64) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::LastLoggedInAt, Some(at).into())
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// How many users have this role.
pub async fn count_with_role<C: ConnectionTrait>(db: &C, role_id: &str) -> Result<u64, DbErr> {
    user::Entity::find()
        .filter(user::Column::RoleId.eq(role_id))
        .count(db)
        .await
}

// ------------------------------------------------------------------------------ roles

pub async fn role<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<RoleRow>, DbErr> {
    role::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(checked_role)
        .transpose()
}

pub async fn roles_by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<RoleRow>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    role::Entity::find()
        .filter(role::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(checked_role)
        .collect()
}

/// The role with this name, compared case-insensitively.
pub async fn role_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<RoleRow>, DbErr> {
    role::Entity::find()
        .filter(role::Column::NameKey.eq(name.trim().to_lowercase()))
        .one(db)
        .await?
        .map(checked_role)
        .transpose()
}

/// Roles whose name contains `name_contains` (case-insensitive), by name.
pub async fn roles<C: ConnectionTrait>(
    db: &C,
    name_contains: Option<&str>,
    descending: bool,
) -> Result<Vec<RoleRow>, DbErr> {
    let mut cond = Condition::all();
    if let Some(needle) = name_contains.map(str::trim).filter(|n| !n.is_empty()) {
        cond = cond.add(super::contains_ci(role::Column::Name, needle));
    }
    let q = role::Entity::find().filter(cond);
    let q = if descending {
        q.order_by_desc(role::Column::NameKey)
    } else {
        q.order_by_asc(role::Column::NameKey)
    };
    q.all(db).await?.into_iter().map(checked_role).collect()
}

pub async fn insert_role<C: ConnectionTrait>(db: &C, row: RoleRow) -> Result<(), DbErr> {
    role::Entity::insert(role::ActiveModel::from(row))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn update_role<C: ConnectionTrait>(db: &C, row: RoleRow) -> Result<(), DbErr> {
    use sea_orm::ActiveModelTrait;
    let mut active: role::ActiveModel = row.into();
    active = active.reset_all();
    active.update(db).await?;
    Ok(())
}

pub async fn delete_role<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, DbErr> {
    let res = role::Entity::delete_by_id(id).exec(db).await?;
    Ok(res.rows_affected > 0)
}
