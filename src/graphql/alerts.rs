//! Alerts: ingestion, queries with keyset pagination, updates, re-sends and test sends.
use super::alert_api::{AlertEventsInput, AlertEventsOutput, AlertOrigin, OriginOf};
use super::error::GqlResultExt;
use super::guard::{actor, need, principal};
use super::scalars::{AWSDateTime, AWSJSON};
use crate::auth::Permission;
use crate::domain::RoutingDecision;
use crate::domain::{self, AlertId, AlertStatus, AlertType, DeliveryId, DeliveryStatus, Severity};
use crate::domain::{AlertListingType, CommentFormat};
use crate::error::{bad_input, AppError};
use crate::service::{self, alerts::NewAlert, Services};
use crate::store::{self, alerts::AlertFilter};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject, Union, ID};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::collections::HashMap;

#[derive(InputObject, Clone)]
pub struct CreateAlertInput {
    pub detection_id: ID,
    pub title: String,
    /// The detection's static severity.
    pub severity: Severity,
    /// Default `RULE`.
    #[graphql(name = "type")]
    pub alert_type: Option<AlertType>,
    pub log_type: Option<String>,
    pub dedup_string: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub tags: Option<Vec<String>>,
    pub alert_context: Option<AWSJSON>,
    pub event_time: Option<AWSDateTime>,
    /// What the detection's `destinations()` returned; null = not defined.
    pub generated_destinations: Option<Vec<String>>,
    /// What the detection's `severity()` returned.
    pub generated_severity: Option<Severity>,
    /// The events that matched (at most 100, each at most 64 KiB as JSON), stored with
    /// the alert; a match that joins an open alert appends its events to it.
    pub events: Option<Vec<AWSJSON>>,
    /// Panther's log source id of the matched events (`alerts(input: {logSources})`).
    pub log_source: Option<String>,
    /// The AWS resource type of a policy alert (`alerts(input: {resourceTypes})`).
    pub resource_type: Option<String>,
}

impl From<CreateAlertInput> for NewAlert {
    fn from(i: CreateAlertInput) -> Self {
        NewAlert {
            detection_id: i.detection_id.0,
            title: i.title,
            severity: Some(i.severity),
            alert_type: i.alert_type,
            log_type: i.log_type.filter(|l| !l.is_empty()),
            dedup_string: i.dedup_string,
            description: i.description,
            runbook: i.runbook,
            reference: i.reference,
            tags: i.tags,
            alert_context: i.alert_context.map(|j| j.0),
            event_time: i.event_time.map(|t| t.ms()),
            generated_destinations: i.generated_destinations,
            generated_severity: i.generated_severity,
            exclude_destinations: Vec::new(),
            events: i
                .events
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.0)
                .collect(),
            log_source: i.log_source,
            resource_type: i.resource_type,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Alert {
    id: ID,
    title: String,
    severity: Severity,
    status: AlertStatus,
    #[graphql(name = "type")]
    alert_type: AlertType,
    detection_id: ID,
    log_type: Option<String>,
    dedup_string: String,
    description: String,
    runbook: String,
    reference: String,
    tags: Vec<String>,
    alert_context: AWSJSON,
    created_at: AWSDateTime,
    updated_at: AWSDateTime,
    first_event_occurred_at: AWSDateTime,
    last_received_event_at: AWSDateTime,
    event_count: i64,
    assignee_id: Option<ID>,
    /// Where routing sent this alert, and why.
    routing: RoutingDecision,
    /// False when no destination matched (and it was not deliberately skipped).
    routed: bool,
    /// True when later matches were folded into this alert by dedup (`eventCount` > 1).
    /// On `createAlert`'s answer: this call joined an existing open alert instead of
    /// creating one, and nothing was routed or queued for it; `routing` is the decision
    /// made when the alert was created.
    deduplicated: bool,
    created_by: String,
    last_modified_by: String,
    /// The detection's name stored with the alert (for `origin`).
    #[graphql(skip)]
    detection_name: String,
}

impl From<domain::Alert> for Alert {
    fn from(a: domain::Alert) -> Self {
        Alert {
            id: ID(a.id.into_string()),
            title: a.title,
            severity: a.severity,
            status: a.status,
            alert_type: a.alert_type,
            detection_id: ID(a.detection_id),
            log_type: a.log_type,
            dedup_string: a.dedup_string,
            description: a.description,
            runbook: a.runbook,
            reference: a.reference,
            tags: a.tags,
            alert_context: AWSJSON(a.alert_context),
            created_at: AWSDateTime::from_ms(a.created_at),
            updated_at: AWSDateTime::from_ms(a.updated_at),
            first_event_occurred_at: AWSDateTime::from_ms(a.first_event_at),
            last_received_event_at: AWSDateTime::from_ms(a.last_received_event_at),
            event_count: a.event_count,
            assignee_id: a.assignee_id.map(ID),
            routing: a.routing,
            routed: a.routed,
            deduplicated: a.event_count > 1,
            created_by: a.created_by,
            last_modified_by: a.last_modified_by,
            detection_name: a.name,
        }
    }
}

/// One stored delivery attempt.
#[derive(SimpleObject, Clone)]
pub struct DeliveryAttempt {
    attempt_number: i32,
    dispatched_at: AWSDateTime,
    /// HTTP status; 0 for network errors and requests never sent.
    status_code: i32,
    success: bool,
    /// Error text or the response body (truncated).
    message: String,
    duration_ms: i64,
}

/// The delivery of an alert to one destination.
#[derive(SimpleObject, Clone)]
pub struct AlertDelivery {
    delivery_id: ID,
    /// The alert delivered (null for test sends).
    alert_id: Option<ID>,
    output_id: ID,
    /// The destination's display name.
    label: String,
    status: DeliveryStatus,
    success: bool,
    status_code: Option<i32>,
    message: Option<String>,
    dispatched_at: Option<AWSDateTime>,
    attempt_count: i32,
    /// When the next attempt is due (pending deliveries).
    next_attempt_at: Option<AWSDateTime>,
    /// Why it exists: ROUTED, RESEND, TEST or RESOLVE.
    kind: String,
    /// The id the destination gave it (Jira issue key, Slack ts, PagerDuty dedup key…).
    external_id: Option<String>,
    /// A link to it in the destination (GitHub issue URL…).
    url: Option<String>,
    attempts: Vec<DeliveryAttempt>,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AlertComment {
    id: ID,
    alert_id: ID,
    body: String,
    created_by: String,
    created_at: AWSDateTime,
    /// How `body` is to be read; an HTML body was sanitized when stored.
    format: CommentFormat,
    #[graphql(skip)]
    created_by_actor: Option<String>,
}

#[ComplexObject]
impl AlertComment {
    /// The user or token that wrote it (null once deleted). Panther's `createdBy`;
    /// Herald's `createdBy` is the author's name.
    async fn created_by_actor(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::actors::Actor>> {
        super::actors::actor(ctx, self.created_by_actor.as_deref()).await
    }

    /// The alert this comment was added to.
    async fn entity(&self, ctx: &Context<'_>) -> async_graphql::Result<CommentEntity> {
        let s = ctx.data::<Services>()?;
        let alert = store::alerts::get(&s.db, &AlertId::from(&self.alert_id.0))
            .await
            .gql()?
            .ok_or_else(|| AppError::NotFound(format!("no alert with id {}", self.alert_id.0)))
            .gql()?;
        Ok(CommentEntity::Alert(alert.into()))
    }
}

impl From<store::alerts::Comment> for AlertComment {
    fn from(c: store::alerts::Comment) -> Self {
        AlertComment {
            id: ID(c.id),
            alert_id: ID(c.alert_id),
            body: c.body,
            created_by: c.created_by,
            created_at: AWSDateTime::from_ms(c.created_at),
            format: c.format,
            created_by_actor: c.created_by_actor,
        }
    }
}

/// What a comment was added to (Panther's `CommentEntity`: alerts only).
#[derive(Union)]
pub enum CommentEntity {
    Alert(Alert),
}

/// Loads the deliveries and attempts of many alerts in two queries.
pub struct DeliveriesLoader(pub Services);

impl Loader<String> for DeliveriesLoader {
    type Value = Vec<AlertDelivery>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        alert_ids: &[String],
    ) -> Result<HashMap<String, Vec<AlertDelivery>>, Self::Error> {
        let alert_ids: Vec<AlertId> = alert_ids.iter().map(AlertId::from).collect();
        let rows = store::deliveries::for_alerts(&self.0.db, &alert_ids)
            .await
            .gql()?;
        let mut out: HashMap<String, Vec<AlertDelivery>> = HashMap::new();
        for d in with_attempts(&self.0, rows).await? {
            if let Some(alert_id) = d.alert_id.clone() {
                out.entry(alert_id.0).or_default().push(d);
            }
        }
        Ok(out)
    }
}

/// Delivery rows as `AlertDelivery`, each with its attempts (one query for them all).
pub async fn with_attempts(
    s: &Services,
    rows: Vec<store::deliveries::Delivery>,
) -> async_graphql::Result<Vec<AlertDelivery>> {
    let ids: Vec<DeliveryId> = rows.iter().map(|d| d.id.clone()).collect();
    let mut attempts: HashMap<DeliveryId, Vec<DeliveryAttempt>> = HashMap::new();
    for a in store::deliveries::attempts_for(&s.db, &ids).await.gql()? {
        attempts
            .entry(a.delivery_id.clone())
            .or_default()
            .push(DeliveryAttempt {
                attempt_number: a.attempt_number,
                dispatched_at: AWSDateTime::from_ms(a.dispatched_at),
                status_code: a.status_code,
                success: a.success,
                message: a.message,
                duration_ms: a.duration_ms,
            });
    }
    Ok(rows
        .into_iter()
        .map(|d| {
            let status = d.status;
            AlertDelivery {
                attempts: attempts.remove(&d.id).unwrap_or_default(),
                delivery_id: ID(d.id.into_string()),
                alert_id: d.alert_id.map(|a| ID(a.into_string())),
                output_id: ID(d.output_id.into_string()),
                label: d.label,
                success: status == DeliveryStatus::Succeeded,
                next_attempt_at: (status == DeliveryStatus::Pending)
                    .then(|| AWSDateTime::from_ms(d.next_attempt_at)),
                status,
                status_code: d.last_status_code,
                message: d.last_message,
                dispatched_at: d.last_dispatched_at.map(AWSDateTime::from_ms),
                attempt_count: d.attempt_count,
                kind: d.kind.as_str().to_string(),
                external_id: d.external_id,
                url: d.external_url,
            }
        })
        .collect())
}

#[ComplexObject]
impl Alert {
    /// One entry per delivery (routed, re-sent, resolve), with every attempt. Loaded for
    /// a whole page of alerts at once.
    #[graphql(complexity = "super::limits::unpaged(child_complexity)")]
    async fn deliveries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AlertDelivery>> {
        let loader = ctx.data::<DataLoader<DeliveriesLoader>>()?;
        Ok(loader
            .load_one(self.id.0.clone())
            .await?
            .unwrap_or_default())
    }

    /// The events of this alert (those of the match that created it, then those of the
    /// matches dedup joined to it), oldest first, cursor-paged.
    #[graphql(
        complexity = "super::limits::page_size(input.as_ref().and_then(|i| i.page_size), super::alert_api::EVENTS_PAGE_DEFAULT, super::alert_api::EVENTS_PAGE_MAX, child_complexity)"
    )]
    async fn events(
        &self,
        ctx: &Context<'_>,
        input: Option<AlertEventsInput>,
    ) -> async_graphql::Result<Option<AlertEventsOutput>> {
        // Nullable as in Panther's schema; Herald always answers.
        Ok(Some(
            super::alert_api::events(ctx, &self.id.0, input).await?,
        ))
    }

    /// What generated this alert: its detection (from the detection override when there
    /// is one), a deleted detection, or, for SYSTEM_ERROR alerts, a delivery error.
    async fn origin(&self, ctx: &Context<'_>) -> async_graphql::Result<AlertOrigin> {
        super::alert_api::origin(
            ctx,
            OriginOf {
                detection_id: &self.detection_id.0,
                alert_type: self.alert_type,
                name: &self.detection_name,
                description: &self.description,
                created_at: self.created_at,
            },
        )
        .await
    }

    /// The alert's page in the console (`<HERALD_PUBLIC_URL>/alerts/<id>`): the `link`
    /// every payload carries.
    async fn link(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let s = ctx.data::<Services>()?;
        Ok(domain::payload::alert_link(
            s.dispatcher.public_url(),
            &self.id.0,
        ))
    }

    /// The user the alert is assigned to (null when unassigned).
    async fn assignee(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::actors::User>> {
        super::actors::user(ctx, self.assignee_id.as_ref().map(|a| a.0.as_str())).await
    }

    /// The user or token that last changed the alert's status or assignee (null until
    /// one did, and once deleted).
    async fn updated_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::actors::Actor>> {
        super::actors::alert_updated_by(ctx, &self.id.0).await
    }

    #[graphql(complexity = "super::limits::unpaged(child_complexity)")]
    async fn comments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AlertComment>> {
        let s = ctx.data::<Services>()?;
        Ok(store::alerts::comments(&s.db, &AlertId::from(&self.id.0))
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirEnum {
    #[graphql(name = "ascending")]
    Ascending,
    #[default]
    #[graphql(name = "descending")]
    Descending,
}

/// Panther's sort fields of `alerts`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AlertsSortFieldsEnum {
    #[graphql(name = "createdAt")]
    CreatedAt,
}

#[derive(InputObject, Default)]
pub struct AlertsInput {
    /// `endCursor` of the previous page.
    pub cursor: Option<String>,
    /// Default 25, at most 1000.
    pub page_size: Option<i32>,
    pub created_at_after: Option<AWSDateTime>,
    pub created_at_before: Option<AWSDateTime>,
    pub detection_id: Option<ID>,
    pub severities: Option<Vec<Severity>>,
    pub statuses: Option<Vec<AlertStatus>>,
    #[graphql(deprecation = "Use `subtypes` (Panther's name).")]
    pub types: Option<Vec<AlertType>>,
    /// Alert types; with `type`, each must belong to it.
    pub subtypes: Option<Vec<AlertType>>,
    /// The family of alerts: `ALERT` (rules, scheduled rules, policies), `DETECTION_ERROR`
    /// or `SYSTEM_ERROR`. Null: every alert (unlike Panther, whose default is `ALERT`).
    #[graphql(name = "type")]
    pub listing_type: Option<AlertListingType>,
    pub log_types: Option<Vec<String>>,
    /// Log source ids (`CreateAlertInput.logSource`).
    pub log_sources: Option<Vec<String>>,
    /// AWS resource types (`CreateAlertInput.resourceType`).
    pub resource_types: Option<Vec<String>>,
    /// Only alerts with at least this many events (`eventCount`).
    pub event_count_min: Option<i32>,
    /// Only alerts with at most this many events (`eventCount`).
    pub event_count_max: Option<i32>,
    /// Null: commit order (what pollers follow). `createdAt`: by creation time.
    pub sort_by: Option<AlertsSortFieldsEnum>,
    /// Case-insensitive substring of the title.
    pub name_contains: Option<String>,
    /// Only alerts that were (true) or were not (false) routed to a destination.
    pub routed: Option<bool>,
    /// Only alerts assigned to one of these users.
    pub assignee_ids: Option<Vec<ID>>,
    /// Default `descending` (newest first); pollers use `ascending`.
    pub sort_dir: Option<SortDirEnum>,
}

#[derive(SimpleObject)]
pub struct AlertEdge {
    node: Alert,
    cursor: String,
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub(super) has_next_page: bool,
    pub(super) end_cursor: Option<String>,
    pub(super) has_previous_page: bool,
    pub(super) start_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct AlertsOutput {
    edges: Vec<AlertEdge>,
    page_info: PageInfo,
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

/// The cursor of an alert in `sortBy: createdAt` order.
fn encode_created_cursor(created_at: i64, seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("at:{created_at}:{seq}"))
}

fn decode_created_cursor(c: &str) -> Result<(i64, i64), AppError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (t, seq) = s.strip_prefix("at:")?.split_once(':')?;
            Some((t.parse().ok()?, seq.parse().ok()?))
        })
        .ok_or_else(|| bad_input("cursor is not a cursor this API returned for sortBy: createdAt"))
}

/// The alert types a listing asks for (empty: all): `subtypes` (or the deprecated
/// `types`), within the `type` family when given.
fn listing_types(
    listing: Option<AlertListingType>,
    subtypes: Option<Vec<AlertType>>,
    types: Option<Vec<AlertType>>,
) -> Result<Vec<AlertType>, AppError> {
    let subtypes = match (subtypes, types) {
        (Some(_), Some(_)) => {
            return Err(bad_input(
                "give subtypes or types (its deprecated name), not both",
            ))
        }
        (s, t) => s.or(t).unwrap_or_default(),
    };
    let Some(listing) = listing else {
        return Ok(subtypes);
    };
    let family = listing.subtypes();
    if let Some(t) = subtypes.iter().find(|t| !family.contains(t)) {
        let valid: Vec<&str> = family.iter().map(|f| f.as_str()).collect();
        return Err(bad_input(format!(
            "subtypes: {t} is not a subtype of type {}; valid: {}",
            async_graphql::InputType::to_value(&listing),
            valid.join(", ")
        )));
    }
    Ok(if subtypes.is_empty() {
        family.to_vec()
    } else {
        subtypes
    })
}

fn decode_cursor(c: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("seq:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| bad_input("cursor is not a cursor this API returned"))
}

#[derive(InputObject)]
pub struct UpdateAlertStatusByIdInput {
    pub ids: Vec<ID>,
    pub status: AlertStatus,
}

#[derive(InputObject)]
pub struct UpdateAlertsAssigneeByIdInput {
    pub ids: Vec<ID>,
    /// Null unassigns.
    pub assignee_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct AlertsMutationOutput {
    alerts: Vec<Alert>,
}

#[derive(InputObject)]
pub struct CreateAlertCommentInput {
    pub alert_id: ID,
    pub body: String,
    /// Default `PLAIN_TEXT`. An `HTML` body is sanitized before it is stored (scripts,
    /// event handlers and unsafe links removed).
    #[graphql(default_with = "Some(CommentFormat::PlainText)")]
    pub format: Option<CommentFormat>,
}

#[derive(SimpleObject)]
pub struct CreateAlertCommentOutput {
    comment: AlertComment,
}

#[derive(InputObject)]
pub struct DeliverAlertInput {
    pub alert_id: ID,
    /// Destinations by `outputId` or display name (case-insensitive, as routing matches names).
    pub output_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct SendTestAlertInput {
    /// Destinations by `outputId` or display name (case-insensitive, as routing matches names).
    pub output_ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct DeliveryResponse {
    output_id: ID,
    success: bool,
    status_code: i32,
    message: String,
    dispatched_at: AWSDateTime,
}

fn ids(v: Vec<ID>) -> Vec<String> {
    v.into_iter().map(|i| i.0).collect()
}

fn alert_ids(v: Vec<ID>) -> Vec<AlertId> {
    v.into_iter().map(|i| AlertId::from(i.0)).collect()
}

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    #[graphql(guard = "need(Permission::AlertRead)")]
    async fn alert(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Alert>> {
        let s = ctx.data::<Services>()?;
        Ok(store::alerts::get(&s.db, &AlertId::from(id.0))
            .await
            .gql()?
            .map(Into::into))
    }

    /// Alerts, newest first unless `sortDir: ascending`. Cursors are keyset positions on a
    /// commit-ordered key, so a poller following `endCursor` never misses or repeats one.
    #[graphql(
        guard = "need(Permission::AlertRead)",
        complexity = "super::limits::page_size(input.as_ref().and_then(|i| i.page_size), 25, 1000, child_complexity)"
    )]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        input: Option<AlertsInput>,
    ) -> async_graphql::Result<AlertsOutput> {
        let s = ctx.data::<Services>()?;
        let input = input.unwrap_or_default();
        let page_size = input.page_size.unwrap_or(25);
        if !(1..=1000).contains(&page_size) {
            return Err(bad_input("pageSize must be between 1 and 1000")).gql();
        }
        let by_created_at = input.sort_by == Some(AlertsSortFieldsEnum::CreatedAt);
        let cursor = input.cursor.as_deref().filter(|c| !c.is_empty());
        let (after_seq, after_created_at) = match cursor {
            Some(c) if by_created_at => (None, Some(decode_created_cursor(c).gql()?)),
            Some(c) => (Some(decode_cursor(c).gql()?), None),
            None => (None, None),
        };
        let types = listing_types(input.listing_type, input.subtypes, input.types).gql()?;
        let cursor_of = |a: &domain::Alert| {
            if by_created_at {
                encode_created_cursor(a.created_at, a.seq)
            } else {
                encode_cursor(a.seq)
            }
        };
        let filter = AlertFilter {
            after_seq,
            after_created_at,
            by_created_at,
            log_sources: input.log_sources.unwrap_or_default(),
            resource_types: input.resource_types.unwrap_or_default(),
            event_count_min: input.event_count_min.map(i64::from),
            event_count_max: input.event_count_max.map(i64::from),
            descending: input.sort_dir.unwrap_or_default() == SortDirEnum::Descending,
            limit: page_size as u64,
            created_at_after: input.created_at_after.map(|t| t.ms()),
            created_at_before: input.created_at_before.map(|t| t.ms()),
            detection_id: input.detection_id.map(|d| d.0),
            severities: input.severities.unwrap_or_default(),
            statuses: input.statuses.unwrap_or_default(),
            types,
            log_types: input.log_types.unwrap_or_default(),
            name_contains: input.name_contains,
            routed: input.routed,
            assignee_ids: ids(input.assignee_ids.unwrap_or_default()),
        };
        let (rows, more) = store::alerts::list(&s.db, &filter).await.gql()?;
        let page_info = PageInfo {
            has_next_page: more,
            end_cursor: rows.last().map(cursor_of).or(input.cursor.clone()),
            has_previous_page: cursor.is_some(),
            start_cursor: rows.first().map(cursor_of),
        };
        let edges = rows
            .into_iter()
            .map(|a| AlertEdge {
                cursor: cursor_of(&a),
                node: a.into(),
            })
            .collect();
        Ok(AlertsOutput { edges, page_info })
    }
}

#[derive(Default)]
pub struct AlertRouteQuery;

#[Object]
impl AlertRouteQuery {
    /// Routing dry-run: where would this alert go, and why? Stores nothing.
    #[graphql(guard = "need(Permission::AlertRead)")]
    async fn route_alert(
        &self,
        ctx: &Context<'_>,
        input: CreateAlertInput,
    ) -> async_graphql::Result<RoutingDecision> {
        let s = ctx.data::<Services>()?;
        service::alerts::route_preview(s, &input.into()).await.gql()
    }
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Ingest a detection match: dedup, route, and queue deliveries atomically.
    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn create_alert(
        &self,
        ctx: &Context<'_>,
        input: CreateAlertInput,
    ) -> async_graphql::Result<Alert> {
        let s = ctx.data::<Services>()?;
        Ok(service::alerts::create(s, input.into(), &actor(ctx)?)
            .await
            .gql()?
            .into())
    }

    /// Ingest a batch of detection matches (at most 1,000) in one transaction, each
    /// deduplicated and routed exactly as `createAlert` would, in order (a later input
    /// joins an earlier one with the same dedup key). An invalid input fails the whole
    /// batch, naming its index, and nothing is stored. The alerts come back in input
    /// order, each as it stood right after its input.
    #[graphql(
        guard = "need(Permission::AlertModify)",
        complexity = "super::limits::list_of(input.len(), child_complexity)"
    )]
    async fn create_alerts(
        &self,
        ctx: &Context<'_>,
        input: Vec<CreateAlertInput>,
    ) -> async_graphql::Result<Vec<Alert>> {
        let s = ctx.data::<Services>()?;
        let inputs = input.into_iter().map(NewAlert::from).collect();
        Ok(service::alerts::create_many(s, inputs, &actor(ctx)?)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Routing dry-run: where would this alert go, and why? Stores nothing.
    #[graphql(
        guard = "need(Permission::AlertRead)",
        deprecation = "A dry run reads: use the Query field routeAlert (same arguments and result)."
    )]
    async fn route_alert(
        &self,
        ctx: &Context<'_>,
        input: CreateAlertInput,
    ) -> async_graphql::Result<RoutingDecision> {
        let s = ctx.data::<Services>()?;
        service::alerts::route_preview(s, &input.into()).await.gql()
    }

    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn update_alert_status_by_id(
        &self,
        ctx: &Context<'_>,
        input: UpdateAlertStatusByIdInput,
    ) -> async_graphql::Result<AlertsMutationOutput> {
        let s = ctx.data::<Services>()?;
        let alerts =
            service::alerts::set_status(s, &alert_ids(input.ids), input.status, principal(ctx)?)
                .await
                .gql()?;
        Ok(AlertsMutationOutput {
            alerts: alerts.into_iter().map(Into::into).collect(),
        })
    }

    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn update_alerts_assignee_by_id(
        &self,
        ctx: &Context<'_>,
        input: UpdateAlertsAssigneeByIdInput,
    ) -> async_graphql::Result<AlertsMutationOutput> {
        let s = ctx.data::<Services>()?;
        let assignee = input.assignee_id.map(|a| a.0);
        let alerts = service::alerts::set_assignee(
            s,
            &alert_ids(input.ids),
            assignee.as_deref(),
            principal(ctx)?,
        )
        .await
        .gql()?;
        Ok(AlertsMutationOutput {
            alerts: alerts.into_iter().map(Into::into).collect(),
        })
    }

    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn create_alert_comment(
        &self,
        ctx: &Context<'_>,
        input: CreateAlertCommentInput,
    ) -> async_graphql::Result<CreateAlertCommentOutput> {
        let s = ctx.data::<Services>()?;
        let c = service::alerts::add_comment(
            s,
            &AlertId::from(input.alert_id.0),
            &input.body,
            input.format.unwrap_or(CommentFormat::PlainText),
            principal(ctx)?,
        )
        .await
        .gql()?;
        Ok(CreateAlertCommentOutput { comment: c.into() })
    }

    /// Re-send an alert to these destinations now (title prefixed `[Re-sent]: `), bypassing routing.
    #[graphql(guard = "need(Permission::AlertModify)")]
    async fn deliver_alert(
        &self,
        ctx: &Context<'_>,
        input: DeliverAlertInput,
    ) -> async_graphql::Result<Alert> {
        let s = ctx.data::<Services>()?;
        Ok(
            service::alerts::deliver(s, &AlertId::from(input.alert_id.0), &ids(input.output_ids))
                .await
                .gql()?
                .into(),
        )
    }

    /// Send a test alert to each destination and wait for the answers.
    #[graphql(guard = "need(Permission::DestinationModify)")]
    async fn send_test_alert(
        &self,
        ctx: &Context<'_>,
        input: SendTestAlertInput,
    ) -> async_graphql::Result<Vec<DeliveryResponse>> {
        let s = ctx.data::<Services>()?;
        let reports = service::alerts::send_test(s, &ids(input.output_ids))
            .await
            .gql()?;
        Ok(reports
            .into_iter()
            .map(|r| DeliveryResponse {
                output_id: ID(r.output_id.into_string()),
                success: r.success,
                status_code: r.status_code as i32,
                message: r.message,
                dispatched_at: AWSDateTime::from_ms(r.dispatched_at),
            })
            .collect())
    }
}
