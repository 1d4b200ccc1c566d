//! API token use cases: create, rotate and revoke, each checked against what the
//! calling token may hand out ([`crate::auth::grant`]) and written to the audit log.
use super::{audit, Services};
use crate::auth::{self, grant, IssuedToken, Permission, Principal};
use crate::domain::AuditAction::{CreateApiToken, DeleteApiToken, RotateApiToken};
use crate::error::{bad_input, AppError, AppResult};
use crate::store::tokens::TokenRow;

/// What a caller asks for when creating a token.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub permissions: &'a [Permission],
    pub expires_at: Option<i64>,
    /// CIDR blocks or single addresses, as typed; empty means anywhere.
    pub allowed_cidr_blocks: &'a [String],
}

pub fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no API token with id {id}"))
}

/// Every token that is not revoked, oldest first.
pub async fn list(s: &Services) -> AppResult<Vec<TokenRow>> {
    s.tokens.list().await
}

/// One token by id.
pub async fn get(s: &Services, id: &str) -> AppResult<TokenRow> {
    s.tokens.get(id).await?.ok_or_else(|| not_found(id))
}

/// A token minted by `caller`, within what the caller may grant.
pub async fn create(s: &Services, caller: &Principal, t: NewToken<'_>) -> AppResult<IssuedToken> {
    grant::check_grantable(caller, t.permissions, "grant")?;
    let cidrs = t
        .allowed_cidr_blocks
        .iter()
        .map(|c| auth::parse_cidr(c))
        .collect::<Result<Vec<_>, _>>()?;
    grant::check_bounds(caller, t.expires_at, &cidrs)?;
    let issued = s
        .tokens
        .create_child(
            t.name,
            t.permissions,
            t.expires_at,
            &cidrs,
            &caller.name,
            caller.token_id(),
            Some(&caller.actor()),
        )
        .await?;
    tracing::info!(token = %issued.row.id, name = %issued.row.name, by = %caller.name, "API token created");
    let after = Some(audit::api_token(&issued.row));
    audit::record_committed(&s.db, caller, CreateApiToken, &issued.row.id, None, after).await;
    Ok(issued)
}

/// A new value for token `id`; the old value is refused at once here and within a
/// second by other processes (their token caches expire entries after one second).
pub async fn rotate(s: &Services, caller: &Principal, id: &str) -> AppResult<IssuedToken> {
    let before = within_reach(s, caller, id, "rotate a token holding").await?;
    let issued = s.tokens.rotate_by(id, Some(&caller.actor())).await?;
    tracing::info!(token = %issued.row.id, by = %caller.name, "API token rotated");
    let (before, after) = (audit::api_token(&before), audit::api_token(&issued.row));
    audit::record_committed(&s.db, caller, RotateApiToken, id, Some(before), Some(after)).await;
    Ok(issued)
}

/// A new value for the calling token itself (Panther's `rotateAPIToken` without an
/// argument): no permission beyond being that token is needed, so nothing is checked
/// against what the caller may grant. A caller that is not an API token cannot rotate
/// itself (`BAD_USER_INPUT`).
pub async fn rotate_own(s: &Services, caller: &Principal) -> AppResult<IssuedToken> {
    let id = own_token_id(caller)?;
    let before = get(s, id).await?;
    let issued = s.tokens.rotate(id).await?;
    tracing::info!(token = %issued.row.id, "API token rotated by itself");
    let (before, after) = (audit::api_token(&before), audit::api_token(&issued.row));
    audit::record_committed(&s.db, caller, RotateApiToken, id, Some(before), Some(after)).await;
    Ok(issued)
}

/// The id of the API token that is calling; a signed-in person has no token to rotate.
fn own_token_id(caller: &Principal) -> AppResult<&str> {
    caller.token_id().ok_or_else(|| {
        bad_input(
            "rotateAPIToken without an id rotates the calling API token, and this caller is a signed-in user: name the token to rotate",
        )
    })
}

/// Revoke token `id` and every token it minted (recursively).
pub async fn revoke(s: &Services, caller: &Principal, id: &str) -> AppResult<()> {
    let before = within_reach(s, caller, id, "revoke a token holding").await?;
    if !s.tokens.revoke(id).await? {
        return Err(not_found(id));
    }
    tracing::info!(token = %id, by = %caller.name, "API token revoked");
    let before = Some(audit::api_token(&before));
    audit::record_committed(&s.db, caller, DeleteApiToken, id, before, None).await;
    Ok(())
}

/// The token `id`, if the caller holds every permission it holds (to rotate or revoke it).
async fn within_reach(
    s: &Services,
    caller: &Principal,
    id: &str,
    what: &str,
) -> AppResult<TokenRow> {
    let row = get(s, id).await?;
    grant::check_grantable(caller, &auth::permissions_of(&row), what)?;
    Ok(row)
}
