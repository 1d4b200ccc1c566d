//! People: the queries and mutations over users and roles, named as in Panther's API.
//! The types (`User`, `Role`, the `Actor` union) and their loaders are in `actors`; the
//! use cases live in `service::people`.
use super::actors::{Email, LogTypeAccessKind, Role, User};
use super::alerts::{Alert, SortDirEnum};
use super::error::GqlResultExt;
use super::guard::{need, principal};
use crate::auth::Permission;
use crate::domain::AlertId;
use crate::service::people::{self as people, NewUser, RoleRef, UserChanges};
use crate::service::{self, Services};
use crate::store;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

/// Input of Panther's data-lake access: only `ALLOW_ALL` (or nothing) is accepted.
fn check_log_type_access(
    kind: Option<LogTypeAccessKind>,
    log_types: Option<&[String]>,
) -> async_graphql::Result<()> {
    let all = kind.is_none_or(|k| k == LogTypeAccessKind::AllowAll);
    if all && log_types.is_none_or(<[String]>::is_empty) {
        return Ok(());
    }
    Err(super::error::to_gql(crate::error::AppError::BadInput(
        "Herald has no data lake: logTypeAccessKind can only be ALLOW_ALL, without logTypeAccess"
            .into(),
    )))
}

/// The role field to search by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum UserRoleInputKind {
    #[graphql(name = "ID")]
    Id,
    #[graphql(name = "NAME")]
    Name,
}

/// A role by id or by name (case-insensitive).
#[derive(InputObject)]
pub struct UserRoleInput {
    pub kind: UserRoleInputKind,
    pub value: String,
}

impl From<UserRoleInput> for RoleRef {
    fn from(r: UserRoleInput) -> Self {
        match r.kind {
            UserRoleInputKind::Id => RoleRef::Id(r.value),
            UserRoleInputKind::Name => RoleRef::Name(r.value),
        }
    }
}

#[derive(InputObject)]
pub struct InviteUserInput {
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub role: UserRoleInput,
}

#[derive(SimpleObject)]
pub struct InviteUserOutput {
    user: User,
    /// The one-time link where the user sets a password
    /// (`<HERALD_PUBLIC_URL>/auth/set-password?token=…`). Shown only here; it expires
    /// after `HERALD_INVITE_TTL_HOURS`.
    set_password_link: String,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    pub email: Option<Email>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub role: Option<UserRoleInput>,
    /// Herald: false disables the user (their sessions end at once), true enables them.
    pub enabled: Option<bool>,
}

#[derive(SimpleObject)]
pub struct UpdateUserOutput {
    user: User,
}

#[derive(InputObject)]
pub struct ResetUserPasswordInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct ResetUserPasswordOutput {
    user: User,
    /// A new one-time link where the user sets a password; earlier links stop working.
    set_password_link: String,
}

#[derive(InputObject)]
pub struct DeleteUserInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteUserOutput {
    id: ID,
}

#[derive(InputObject, Default)]
pub struct RolesInput {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// By name; default ascending.
    pub sort_dir: Option<SortDirEnum>,
}

#[derive(InputObject)]
pub struct CreateRoleInput {
    pub name: String,
    pub permissions: Vec<Permission>,
    /// Only `ALLOW_ALL` (Herald has no data lake).
    pub log_type_access_kind: Option<LogTypeAccessKind>,
    /// Must be omitted or empty.
    pub log_type_access: Option<Vec<String>>,
}

#[derive(SimpleObject)]
pub struct CreateRoleOutput {
    role: Role,
}

#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub id: ID,
    pub name: Option<String>,
    pub permissions: Option<Vec<Permission>>,
    /// Only `ALLOW_ALL` (Herald has no data lake).
    pub log_type_access_kind: Option<LogTypeAccessKind>,
    /// Must be omitted or empty.
    pub log_type_access: Option<Vec<String>>,
}

#[derive(SimpleObject)]
pub struct UpdateRoleOutput {
    role: Role,
}

#[derive(InputObject)]
pub struct DeleteRoleInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteRoleOutput {
    id: ID,
}

#[derive(InputObject)]
pub struct UpdateAlertsAssigneeByEmailInput {
    /// Omitted or null: the alerts become unassigned.
    pub assignee_email: Option<String>,
    pub ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct UpdateAlertsAssigneeByEmailOutput {
    alerts: Vec<Alert>,
}

// ---------------------------------------------------------------------- the operations

#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// Every user, oldest first.
    #[graphql(
        guard = "need(Permission::UserRead)",
        complexity = "super::limits::unpaged(child_complexity)"
    )]
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let s = ctx.data::<Services>()?;
        let rows = store::users::list(&s.db).await.gql()?;
        Ok(rows.into_iter().map(User).collect())
    }

    #[graphql(guard = "need(Permission::UserRead)")]
    async fn user_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<User> {
        let s = ctx.data::<Services>()?;
        Ok(User(people::user(s, &id).await.gql()?))
    }

    /// The user with this e-mail (case-insensitive).
    #[graphql(guard = "need(Permission::UserRead)")]
    async fn user_by_email(&self, ctx: &Context<'_>, email: String) -> async_graphql::Result<User> {
        let s = ctx.data::<Services>()?;
        Ok(User(people::user_by_email(s, &email).await.gql()?))
    }

    /// Roles, by name.
    #[graphql(
        guard = "need(Permission::UserRead)",
        complexity = "super::limits::unpaged(child_complexity)"
    )]
    async fn roles(
        &self,
        ctx: &Context<'_>,
        input: Option<RolesInput>,
    ) -> async_graphql::Result<Vec<Role>> {
        let s = ctx.data::<Services>()?;
        let input = input.unwrap_or_default();
        let descending = input.sort_dir == Some(SortDirEnum::Descending);
        let rows = store::users::roles(&s.db, input.name_contains.as_deref(), descending)
            .await
            .gql()?;
        Ok(rows.into_iter().map(Role).collect())
    }

    #[graphql(guard = "need(Permission::UserRead)")]
    async fn role_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Role> {
        let s = ctx.data::<Services>()?;
        Ok(Role(people::role(s, &id).await.gql()?))
    }

    /// The role with this name (case-insensitive).
    #[graphql(guard = "need(Permission::UserRead)")]
    async fn role_by_name(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<Role> {
        let s = ctx.data::<Services>()?;
        Ok(Role(people::role_by_name(s, &name).await.gql()?))
    }
}

#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    /// Invite a user: the result carries a one-time link where they set a password.
    #[graphql(guard = "need(Permission::UserModify)")]
    async fn invite_user(
        &self,
        ctx: &Context<'_>,
        input: InviteUserInput,
    ) -> async_graphql::Result<InviteUserOutput> {
        let s = ctx.data::<Services>()?;
        let new = NewUser {
            email: input.email.0,
            given_name: Some(input.given_name),
            family_name: Some(input.family_name),
            role: input.role.into(),
        };
        let (row, link) = people::invite(s, principal(ctx)?, new).await.gql()?;
        Ok(InviteUserOutput {
            user: User(row),
            set_password_link: link,
        })
    }

    /// Change a user's names, e-mail, role, or whether they may sign in.
    #[graphql(guard = "need(Permission::UserModify)")]
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserInput,
    ) -> async_graphql::Result<UpdateUserOutput> {
        let s = ctx.data::<Services>()?;
        let changes = UserChanges {
            email: input.email.map(|e| e.0),
            given_name: input.given_name,
            family_name: input.family_name,
            role: input.role.map(Into::into),
            enabled: input.enabled,
        };
        let row = people::update_user(s, principal(ctx)?, &input.id, changes)
            .await
            .gql()?;
        Ok(UpdateUserOutput { user: User(row) })
    }

    /// Herald: a new one-time set-password link for a user who forgot their password.
    #[graphql(guard = "need(Permission::UserModify)")]
    async fn reset_user_password(
        &self,
        ctx: &Context<'_>,
        input: ResetUserPasswordInput,
    ) -> async_graphql::Result<ResetUserPasswordOutput> {
        let s = ctx.data::<Services>()?;
        let (row, link) = people::reset_password(s, principal(ctx)?, &input.id)
            .await
            .gql()?;
        Ok(ResetUserPasswordOutput {
            user: User(row),
            set_password_link: link,
        })
    }

    /// Delete a user; their sessions end at once.
    #[graphql(guard = "need(Permission::UserModify)")]
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        input: DeleteUserInput,
    ) -> async_graphql::Result<DeleteUserOutput> {
        let s = ctx.data::<Services>()?;
        people::delete_user(s, principal(ctx)?, &input.id)
            .await
            .gql()?;
        Ok(DeleteUserOutput { id: input.id })
    }

    #[graphql(guard = "need(Permission::UserModify)")]
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        input: CreateRoleInput,
    ) -> async_graphql::Result<CreateRoleOutput> {
        let s = ctx.data::<Services>()?;
        check_log_type_access(input.log_type_access_kind, input.log_type_access.as_deref())?;
        let row = people::create_role(s, principal(ctx)?, &input.name, &input.permissions)
            .await
            .gql()?;
        Ok(CreateRoleOutput { role: Role(row) })
    }

    /// Rename a role or change its permissions (its users hold the new ones at once).
    #[graphql(guard = "need(Permission::UserModify)")]
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateRoleInput,
    ) -> async_graphql::Result<UpdateRoleOutput> {
        let s = ctx.data::<Services>()?;
        check_log_type_access(input.log_type_access_kind, input.log_type_access.as_deref())?;
        let row = people::update_role(
            s,
            principal(ctx)?,
            &input.id,
            input.name.as_deref(),
            input.permissions.as_deref(),
        )
        .await
        .gql()?;
        Ok(UpdateRoleOutput { role: Role(row) })
    }

    /// Delete a role that no user has (`CONFLICT` naming how many users have it).
    #[graphql(guard = "need(Permission::UserModify)")]
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        input: DeleteRoleInput,
    ) -> async_graphql::Result<DeleteRoleOutput> {
        let s = ctx.data::<Services>()?;
        people::delete_role(s, principal(ctx)?, &input.id)
            .await
            .gql()?;
        Ok(DeleteRoleOutput { id: input.id })
    }

    /// Assign alerts to the user with this e-mail (case-insensitive); without one, the
    /// alerts become unassigned.
    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn update_alerts_assignee_by_email(
        &self,
        ctx: &Context<'_>,
        input: UpdateAlertsAssigneeByEmailInput,
    ) -> async_graphql::Result<UpdateAlertsAssigneeByEmailOutput> {
        let s = ctx.data::<Services>()?;
        let ids: Vec<AlertId> = input.ids.into_iter().map(|i| AlertId::from(i.0)).collect();
        let alerts = service::alerts::set_assignee_by_email(
            s,
            &ids,
            input.assignee_email.as_deref(),
            principal(ctx)?,
        )
        .await
        .gql()?;
        Ok(UpdateAlertsAssigneeByEmailOutput {
            alerts: alerts.into_iter().map(Into::into).collect(),
        })
    }
}
