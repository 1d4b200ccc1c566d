//! Panther's alert API around `Alert`: its events (cursor-paged), its origin (the
//! detection, a deleted detection, or a system error), and the entity of a comment.
use super::error::GqlResultExt;
use super::scalars::AWSDateTime;
use crate::domain::{AlertId, AlertType, DetectionType};
use crate::error::{bad_input, AppError};
use crate::service::Services;
use crate::store::{self, overrides::OverrideRecord};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, InputObject, Json, SimpleObject, Union, ID};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::collections::HashMap;

/// Default and largest page of `Alert.events`.
pub const EVENTS_PAGE_DEFAULT: i32 = 25;
pub const EVENTS_PAGE_MAX: i32 = 100;

#[derive(InputObject, Default)]
pub struct AlertEventsInput {
    /// `endCursor` of the previous page.
    pub cursor: Option<String>,
    /// Default 25, at most 100.
    #[graphql(default_with = "Some(EVENTS_PAGE_DEFAULT)")]
    pub page_size: Option<i32>,
}

#[derive(SimpleObject)]
pub struct AlertEventsOutputEdge {
    /// An event, as it was ingested.
    node: Json<serde_json::Value>,
}

/// Panther's page metadata of cursor-paged lists.
#[derive(SimpleObject)]
pub struct CursorBasedPaginationPageInfo {
    /// Where the next page starts (on an empty page: the cursor it was asked from).
    end_cursor: Option<String>,
    has_next_page: bool,
    /// Whether this page is not the first.
    has_previous_page: bool,
    /// The cursor this page started from, null on the first page.
    start_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct AlertEventsOutput {
    edges: Vec<AlertEventsOutputEdge>,
    page_info: CursorBasedPaginationPageInfo,
}

fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("event:{seq}"))
}

fn decode_cursor(c: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("event:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| bad_input("cursor is not an events cursor this API returned"))
}

/// One page of an alert's events, oldest first.
pub async fn events(
    ctx: &Context<'_>,
    alert_id: &str,
    input: Option<AlertEventsInput>,
) -> async_graphql::Result<AlertEventsOutput> {
    let s = ctx.data::<Services>()?;
    let input = input.unwrap_or_default();
    let page_size = input.page_size.unwrap_or(EVENTS_PAGE_DEFAULT);
    if !(1..=EVENTS_PAGE_MAX).contains(&page_size) {
        return Err(bad_input(format!(
            "pageSize must be between 1 and {EVENTS_PAGE_MAX}"
        )))
        .gql();
    }
    let start = input.cursor.filter(|c| !c.is_empty());
    let after = start.as_deref().map(decode_cursor).transpose().gql()?;
    let (rows, more) =
        store::alert_events::page(&s.db, &AlertId::from(alert_id), after, page_size as u64)
            .await
            .gql()?;
    Ok(AlertEventsOutput {
        page_info: CursorBasedPaginationPageInfo {
            // An empty page keeps the cursor it was asked from, so a reader following
            // an alert's events can come back for those appended later.
            end_cursor: rows.last().map(|e| encode_cursor(e.seq)).or(start.clone()),
            has_next_page: more,
            has_previous_page: start.is_some(),
            start_cursor: start,
        },
        edges: rows
            .into_iter()
            .map(|e| AlertEventsOutputEdge {
                node: Json(e.event),
            })
            .collect(),
    })
}

/// A detection as Panther describes it, from Herald's detection override when there is
/// one, else from the alert.
#[derive(SimpleObject)]
pub struct Detection {
    id: ID,
    /// The override's display name, else the name stored on the alert.
    name: String,
    /// From the alert's type (a rule error comes from a rule).
    #[graphql(name = "type")]
    detection_type: DetectionType,
    /// The alert's description (Herald keeps none on the detection); null without an
    /// override.
    description: Option<String>,
    /// When the override was created; without one, when the alert was.
    created_at: AWSDateTime,
    /// When the override was last changed; null without one.
    updated_at: Option<AWSDateTime>,
}

/// The detection's override existed and was deleted.
#[derive(SimpleObject)]
pub struct DeletedDetection {
    id: ID,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum SystemErrorType {
    AlertDelivery,
    DetectionAlertLimitExceeded,
    SourceClassificationFailures,
    SourceLogProcessingErrors,
    SourceNoData,
    SourcePermissionsChecks,
    SourceScanningErrors,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RelatedComponent {
    CloudAccount,
    Destination,
    Detection,
    Enrichment,
    LogSource,
    LookupTable,
    SavedQuery,
}

/// Herald's system errors are about deliveries to destinations (failed, paused).
#[derive(SimpleObject)]
pub struct SystemError {
    #[graphql(name = "type")]
    error_type: SystemErrorType,
    related_component: RelatedComponent,
}

/// What generated an alert.
#[derive(Union)]
pub enum AlertOrigin {
    Detection(Detection),
    DeletedDetection(DeletedDetection),
    SystemError(SystemError),
}

/// What an alert's origin is built from: the alert's own fields.
pub struct OriginOf<'a> {
    pub detection_id: &'a str,
    pub alert_type: AlertType,
    /// The detection name stored on the alert.
    pub name: &'a str,
    pub description: &'a str,
    pub created_at: AWSDateTime,
}

/// A detection's override (if any) and whether an override of it was deleted.
#[derive(Clone, Default)]
pub struct DetectionState {
    found: Option<OverrideRecord>,
    deleted: bool,
}

/// Loads the overrides and deletions of a page of alerts' detections in two queries.
pub struct OriginLoader(pub Services);

impl Loader<String> for OriginLoader {
    type Value = DetectionState;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        detection_ids: &[String],
    ) -> Result<HashMap<String, DetectionState>, Self::Error> {
        let db = &self.0.db;
        let mut out: HashMap<String, DetectionState> = HashMap::new();
        for r in store::overrides::get_many(db, detection_ids).await.gql()? {
            let id = r.value.detection_id.clone();
            out.entry(id).or_default().found = Some(r);
        }
        for id in store::deleted_detections::among(db, detection_ids)
            .await
            .gql()?
        {
            out.entry(id).or_default().deleted = true;
        }
        Ok(out)
    }
}

/// The origin of an alert.
pub async fn origin(ctx: &Context<'_>, a: OriginOf<'_>) -> async_graphql::Result<AlertOrigin> {
    let Some(detection_type) = a.alert_type.detection_type() else {
        return Ok(AlertOrigin::SystemError(SystemError {
            error_type: SystemErrorType::AlertDelivery,
            related_component: RelatedComponent::Destination,
        }));
    };
    let state = ctx
        .data::<DataLoader<OriginLoader>>()?
        .load_one(a.detection_id.to_string())
        .await?
        .unwrap_or_default();
    let id = ID(a.detection_id.to_string());
    Ok(match state.found {
        Some(r) => AlertOrigin::Detection(Detection {
            id,
            name: r
                .value
                .display_name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| a.name.to_string()),
            detection_type,
            description: Some(a.description.to_string()).filter(|d| !d.is_empty()),
            created_at: AWSDateTime::from_ms(r.created_at),
            updated_at: Some(AWSDateTime::from_ms(r.last_modified_at)),
        }),
        None if state.deleted => AlertOrigin::DeletedDetection(DeletedDetection { id }),
        None => AlertOrigin::Detection(Detection {
            id,
            name: a.name.to_string(),
            detection_type,
            description: None,
            created_at: a.created_at,
            updated_at: None,
        }),
    })
}
