//! Who did something: users, roles, API tokens and the `Actor` union over them, as
//! Panther's API names them, with the loaders that batch their look-ups for a page.
//! The types refer to each other (`Actor = APIToken | User`, `APIToken.updatedBy:
//! Actor`, `User.role: Role`), so they live together here; the queries and mutations
//! over them are in `people` and `tokens`, which, like `alerts`, only use this module.
use super::error::GqlResultExt;
use super::scalars::AWSDateTime;
use crate::auth::{self, sessions::role_permissions, IssuedToken, Permission};
use crate::domain::{actor::ActorRef, AlertId};
use crate::service::people;
use crate::service::Services;
use crate::store::{
    self,
    tokens::TokenRow,
    users::{RoleRow, UserRow},
};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, Enum, InputValueError, InputValueResult, Object, Scalar, ScalarType, Union, Value, ID,
};
use std::collections::HashMap;

/// An e-mail address (checked when given as input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(pub String);

#[Scalar(name = "Email")]
impl ScalarType for Email {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => people::checked_email(&s)
                .map(Email)
                .map_err(|e| InputValueError::custom(e.to_string())),
            other => Err(InputValueError::custom(format!(
                "invalid Email {other}: expected a string such as \"ana@example.com\""
            ))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

// ----------------------------------------------------------------------- the objects

/// A console user.
#[derive(Clone)]
pub struct User(pub UserRow);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn email(&self) -> Email {
        Email(self.0.email.clone())
    }
    async fn given_name(&self) -> Option<&str> {
        self.0.given_name.as_deref()
    }
    async fn family_name(&self) -> Option<&str> {
        self.0.family_name.as_deref()
    }
    /// Whether the user is active or deactivated (a disabled user cannot sign in).
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// `FORCE_CHANGE_PASSWORD` until the user has set a password (or signed in through
    /// SSO), then `CONFIRMED`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Role> {
        let loaders = ctx.data::<PeopleLoaders>()?;
        let row = loaders.roles.load_one(self.0.role_id.clone()).await?;
        row.map(Role).ok_or_else(|| {
            super::error::to_gql(crate::error::AppError::Internal(anyhow::anyhow!(
                "user {} has no role {}",
                self.0.id,
                self.0.role_id
            )))
        })
    }
    async fn created_at(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.created_at)
    }
    async fn last_logged_in_at(&self) -> Option<AWSDateTime> {
        self.0.last_logged_in_at.map(AWSDateTime::from_ms)
    }
}

/// A role: a name for a set of permissions that users hold.
#[derive(Clone)]
pub struct Role(pub RoleRow);

#[Object]
impl Role {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn permissions(&self) -> Vec<Permission> {
        role_permissions(&self.0)
    }
    async fn created_at(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.created_at)
    }
    async fn updated_at(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.updated_at)
    }
    /// Always `ALLOW_ALL`: Herald has no data lake to restrict (Panther's field).
    async fn log_type_access_kind(&self) -> LogTypeAccessKind {
        LogTypeAccessKind::AllowAll
    }
    /// Always null (see `logTypeAccessKind`).
    async fn log_type_access(&self) -> Option<Vec<String>> {
        None
    }
    /// Who last changed the role (null for the built-in roles, and once deleted).
    async fn updated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Actor>> {
        actor(ctx, self.0.updated_by_actor.as_deref()).await
    }
}

/// Who performed a change: a console user or an API token.
#[derive(Union)]
pub enum Actor {
    ApiToken(ApiToken),
    User(User),
}

/// The actor a stored reference (`user:<id>`, `token:<id>`) names; null when absent,
/// unreadable, or deleted since.
pub async fn actor(
    ctx: &Context<'_>,
    stored: Option<&str>,
) -> async_graphql::Result<Option<Actor>> {
    let Some(r) = stored.and_then(ActorRef::parse) else {
        return Ok(None);
    };
    let s = ctx.data::<Services>()?;
    let loaders = ctx.data::<PeopleLoaders>()?;
    Ok(match loaders.actors.load_one(r.encode()).await? {
        Some(people::Actor::User(u)) => Some(Actor::User(User(u))),
        Some(people::Actor::Token(t)) => Some(Actor::ApiToken(ApiToken::stored(s, t))),
        None => None,
    })
}

/// The user with this id (null when there is none, e.g. deleted since).
pub async fn user(ctx: &Context<'_>, id: Option<&str>) -> async_graphql::Result<Option<User>> {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let loaders = ctx.data::<PeopleLoaders>()?;
    Ok(loaders.users.load_one(id.to_string()).await?.map(User))
}

/// Who last changed an alert (null before any change by a user or token).
pub async fn alert_updated_by(
    ctx: &Context<'_>,
    alert_id: &str,
) -> async_graphql::Result<Option<Actor>> {
    let loaders = ctx.data::<PeopleLoaders>()?;
    let stored = loaders.alert_actors.load_one(alert_id.to_string()).await?;
    actor(ctx, stored.as_deref()).await
}

// --------------------------------------------------------------------------- loaders

pub struct UserLoader(Services);
pub struct RoleLoader(Services);
pub struct ActorLoader(Services);
pub struct AlertActorLoader(Services);

impl Loader<String> for UserLoader {
    type Value = UserRow;
    type Error = async_graphql::Error;
    async fn load(&self, ids: &[String]) -> Result<HashMap<String, UserRow>, Self::Error> {
        let rows = store::users::get_many(&self.0.db, ids).await.gql()?;
        Ok(rows.into_iter().map(|u| (u.id.clone(), u)).collect())
    }
}

impl Loader<String> for RoleLoader {
    type Value = RoleRow;
    type Error = async_graphql::Error;
    async fn load(&self, ids: &[String]) -> Result<HashMap<String, RoleRow>, Self::Error> {
        let rows = store::users::roles_by_ids(&self.0.db, ids).await.gql()?;
        Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
    }
}

impl Loader<String> for ActorLoader {
    type Value = people::Actor;
    type Error = async_graphql::Error;
    async fn load(&self, refs: &[String]) -> Result<HashMap<String, people::Actor>, Self::Error> {
        let refs: Vec<ActorRef> = refs.iter().filter_map(|r| ActorRef::parse(r)).collect();
        let found = people::actors(&self.0.db, &refs).await.gql()?;
        Ok(found.into_iter().map(|(r, a)| (r.encode(), a)).collect())
    }
}

impl Loader<String> for AlertActorLoader {
    type Value = String;
    type Error = async_graphql::Error;
    async fn load(&self, ids: &[String]) -> Result<HashMap<String, String>, Self::Error> {
        let ids: Vec<AlertId> = ids.iter().map(AlertId::from).collect();
        let rows = store::alerts::updated_by(&self.0.db, &ids).await.gql()?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, a)| Some((id.into_string(), a?)))
            .collect())
    }
}

/// The batching loaders of this module (schema data).
pub struct PeopleLoaders {
    users: DataLoader<UserLoader>,
    roles: DataLoader<RoleLoader>,
    actors: DataLoader<ActorLoader>,
    alert_actors: DataLoader<AlertActorLoader>,
}

impl PeopleLoaders {
    pub fn new(s: &Services) -> Self {
        PeopleLoaders {
            users: DataLoader::new(UserLoader(s.clone()), tokio::spawn),
            roles: DataLoader::new(RoleLoader(s.clone()), tokio::spawn),
            actors: DataLoader::new(ActorLoader(s.clone()), tokio::spawn),
            alert_actors: DataLoader::new(AlertActorLoader(s.clone()), tokio::spawn),
        }
    }
}

// ---------------------------------------------------------------------------- inputs

/// An API token. `value` is only present in the result of `createAPIToken` and
/// `rotateAPIToken`; it is never shown again.
pub struct ApiToken {
    row: TokenRow,
    last_used_at: Option<i64>,
    value: Option<String>,
}

impl ApiToken {
    pub(super) fn stored(s: &Services, row: TokenRow) -> Self {
        let last_used_at = s.tokens.last_used_at(&row);
        ApiToken {
            row,
            last_used_at,
            value: None,
        }
    }
    pub(super) fn issued(issued: IssuedToken) -> Self {
        ApiToken {
            last_used_at: issued.row.last_used_at,
            row: issued.row,
            value: Some(issued.value),
        }
    }
}

#[Object(name = "APIToken")]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn permissions(&self) -> Vec<Permission> {
        auth::permissions_of(&self.row)
    }
    async fn created_at(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.row.created_at)
    }
    /// Name of the token (or `herald-cli`) that created it.
    async fn created_by(&self) -> &str {
        &self.row.created_by
    }
    async fn expires_at(&self) -> Option<AWSDateTime> {
        self.row.expires_at.map(AWSDateTime::from_ms)
    }
    async fn last_used_at(&self) -> Option<AWSDateTime> {
        self.last_used_at.map(AWSDateTime::from_ms)
    }
    async fn rotated_at(&self) -> Option<AWSDateTime> {
        self.row.rotated_at.map(AWSDateTime::from_ms)
    }
    #[graphql(name = "allowedCIDRBlocks")]
    async fn allowed_cidr_blocks(&self) -> Vec<String> {
        store::from_json(&self.row.allowed_cidrs)
    }
    /// The secret value: only in `createAPIToken` and `rotateAPIToken` results.
    async fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
    /// The user or token that created it (null for the command line, or once deleted).
    /// Panther's `createdBy`; Herald's `createdBy` is the creator's name.
    async fn created_by_actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Actor>> {
        actor(ctx, self.row.created_by_actor.as_deref()).await
    }
    /// The user or token that last rotated it (null if never rotated, or once deleted).
    async fn rotated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Actor>> {
        actor(ctx, self.row.rotated_by_actor.as_deref()).await
    }
    /// When it last changed: its rotation (tokens change no other way).
    async fn updated_at(&self) -> Option<AWSDateTime> {
        self.row.rotated_at.map(AWSDateTime::from_ms)
    }
    /// Who last changed it: whoever rotated it.
    async fn updated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Actor>> {
        actor(ctx, self.row.rotated_by_actor.as_deref()).await
    }
}

/// Panther's data-lake access of a role. Herald has no data lake: every role is
/// `ALLOW_ALL`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum LogTypeAccessKind {
    #[graphql(name = "ALLOW")]
    Allow,
    #[graphql(name = "ALLOW_ALL")]
    AllowAll,
    #[graphql(name = "DENY")]
    Deny,
    #[graphql(name = "DENY_ALL")]
    DenyAll,
}
