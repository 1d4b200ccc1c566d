//! The audit log of configuration changes: who, what, when, before/after.
use super::alerts::PageInfo;
use super::error::GqlResultExt;
use super::guard::need;
use super::scalars::{AWSDateTime, AWSJSON};
use crate::auth::Permission;
use crate::domain::{AuditAction, AuditTargetType};
use crate::error::{bad_input, AppError};
use crate::service::{self, audit::AuditEntry as Entry, Services};
use crate::store::audit::AuditFilter;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// The largest `pageSize` (entries carry before/after snapshots).
pub const MAX_PAGE_SIZE: i32 = 200;

#[derive(InputObject, Default)]
pub struct AuditLogInput {
    /// `endCursor` of the previous page.
    pub cursor: Option<String>,
    /// Default 25, at most 200.
    pub page_size: Option<i32>,
    pub target_type: Option<AuditTargetType>,
    pub target_id: Option<ID>,
    /// The id of the API token that made the change.
    pub actor_id: Option<ID>,
    /// Entries at or after this time.
    pub from: Option<AWSDateTime>,
    /// Entries before this time.
    pub to: Option<AWSDateTime>,
}

/// Who made a change: the API token (its id and name at the time).
#[derive(SimpleObject)]
pub struct AuditActor {
    id: ID,
    name: String,
}

/// One recorded configuration change. Secrets in `before`/`after` are redacted; token
/// values are never recorded.
#[derive(SimpleObject)]
pub struct AuditEntry {
    id: ID,
    at: AWSDateTime,
    actor: AuditActor,
    action: AuditAction,
    target_type: AuditTargetType,
    target_id: ID,
    /// The target before the change (null when it was created).
    before: Option<AWSJSON>,
    /// The target after the change (null when it was deleted).
    after: Option<AWSJSON>,
}

impl From<Entry> for AuditEntry {
    fn from(e: Entry) -> Self {
        AuditEntry {
            id: ID(e.id),
            at: AWSDateTime::from_ms(e.at),
            actor: AuditActor {
                id: ID(e.actor_id),
                name: e.actor_name,
            },
            action: e.action,
            target_type: e.target_type,
            target_id: ID(e.target_id),
            before: e.before.map(AWSJSON),
            after: e.after.map(AWSJSON),
        }
    }
}

#[derive(SimpleObject)]
pub struct AuditLogPage {
    /// Newest first.
    entries: Vec<AuditEntry>,
    page_info: PageInfo,
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("audit:{seq}"))
}

fn decode_cursor(c: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("audit:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| bad_input("cursor is not an auditLog cursor this API returned"))
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Configuration changes, newest first. Cursors are keyset positions: following
    /// `endCursor` never repeats an entry, even while new changes are recorded.
    #[graphql(guard = "need(Permission::AuditLogRead)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        input: Option<AuditLogInput>,
    ) -> async_graphql::Result<AuditLogPage> {
        let s = ctx.data::<Services>()?;
        let input = input.unwrap_or_default();
        let page_size = input.page_size.unwrap_or(25);
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(bad_input(format!(
                "pageSize must be between 1 and {MAX_PAGE_SIZE}"
            )))
            .gql();
        }
        let before_seq = match input.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(decode_cursor(c).gql()?),
            None => None,
        };
        let filter = AuditFilter {
            before_seq,
            limit: page_size as u64,
            target_type: input.target_type,
            target_id: input.target_id.map(|t| t.0),
            actor_id: input.actor_id.map(|a| a.0),
            from: input.from.map(|t| t.ms()),
            to: input.to.map(|t| t.ms()),
        };
        let (entries, more) = service::audit::page(&s.db, &filter).await.gql()?;
        let page_info = PageInfo {
            has_next_page: more,
            end_cursor: entries
                .last()
                .map(|e| encode_cursor(e.seq))
                .or(input.cursor.clone()),
            has_previous_page: before_seq.is_some(),
            start_cursor: entries.first().map(|e| encode_cursor(e.seq)),
        };
        Ok(AuditLogPage {
            entries: entries.into_iter().map(Into::into).collect(),
            page_info,
        })
    }
}
