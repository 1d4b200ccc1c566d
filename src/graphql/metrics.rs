//! Panther's `metrics`: alerts in a time range, in total, per severity (with a time
//! breakdown) and per detection. Herald ingests no logs: the log, byte and latency
//! series answer empty lists and zeros.
use super::error::GqlResultExt;
use super::guard::need;
use super::scalars::AWSDateTime;
use crate::auth::Permission;
use crate::service::{self, Services};
use async_graphql::{ComplexObject, Context, InputObject, Json, Object, SimpleObject, ID};

#[derive(InputObject)]
pub struct MetricsInput {
    /// Start of the range (included).
    pub from_date: AWSDateTime,
    /// End of the range (excluded).
    pub to_date: AWSDateTime,
    /// Width of the breakdown's buckets; null chooses one (at most 100 buckets). At
    /// most 1,000 buckets are accepted.
    pub interval_in_minutes: Option<i32>,
}

#[derive(SimpleObject)]
pub struct Series {
    label: String,
    value: f64,
}

#[derive(SimpleObject)]
pub struct SeriesWithBreakdown {
    /// Bucket start (RFC 3339) → the part of `value` in that bucket, every bucket of the
    /// range included.
    breakdown: Json<serde_json::Map<String, serde_json::Value>>,
    label: String,
    value: f64,
}

#[derive(SimpleObject)]
#[graphql(name = "SeriesWithEntityID")]
pub struct SeriesWithEntityId {
    /// The detection id.
    #[graphql(name = "entityId")]
    entity_id: ID,
    /// The detection's name.
    label: String,
    value: f64,
}

/// What became of the deliveries to one destination queued in the range.
#[derive(SimpleObject)]
pub struct DestinationDeliveryOutcomes {
    /// The destination's id (`outputId`).
    #[graphql(name = "outputId")]
    output_id: ID,
    /// The destination's display name (its id once it was deleted).
    label: String,
    /// Whether the destination still exists.
    exists: bool,
    /// Delivered.
    succeeded: i32,
    /// Given up on (every attempt failed, or refused for good).
    failed: i32,
    /// Waiting for a (next) attempt, or being sent.
    pending: i32,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MetricsOutput {
    #[graphql(skip)]
    from: i64,
    #[graphql(skip)]
    to: i64,
    /// Alerts per detection (Herald's system errors left out), the 10 with most first.
    alerts_per_rule: Option<Vec<SeriesWithEntityId>>,
    /// Alerts per severity (every severity), broken down in time buckets.
    alerts_per_severity: Vec<SeriesWithBreakdown>,
    /// Herald ingests no logs: always empty.
    bytes_ingested_per_source: Option<Vec<Series>>,
    /// Always empty (no logs).
    bytes_processed_per_source: Vec<SeriesWithBreakdown>,
    /// Always empty (no logs).
    bytes_queried_per_source: Vec<SeriesWithBreakdown>,
    /// Always empty (no logs).
    events_processed_per_log_type: Vec<SeriesWithBreakdown>,
    /// Always empty (no logs).
    latency_per_log_type: Option<Vec<Series>>,
    /// Alerts created in the range.
    total_alerts: f64,
    /// Always 0 (no logs).
    total_bytes_ingested: f64,
    /// Always 0 (no logs).
    total_bytes_processed: f64,
    /// Always 0 (no logs).
    total_bytes_queried: f64,
    /// Always 0 (no logs).
    total_events_processed: f64,
}

#[ComplexObject]
impl MetricsOutput {
    /// Deliveries queued in the range (routed, re-sent and resolve notices; test sends
    /// left out) per destination and outcome: destinations with failures first (most
    /// failed first), then by name. Counted by the database when asked for.
    async fn deliveries_per_destination(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<DestinationDeliveryOutcomes>> {
        let s = ctx.data::<Services>()?;
        let n = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
        Ok(service::metrics::deliveries(s, self.from, self.to)
            .await
            .gql()?
            .into_iter()
            .map(|o| DestinationDeliveryOutcomes {
                label: o.name.clone().unwrap_or_else(|| o.output_id.to_string()),
                exists: o.name.is_some(),
                output_id: ID(o.output_id.into()),
                succeeded: n(o.succeeded),
                failed: n(o.failed),
                pending: n(o.pending),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct MetricsQuery;

#[Object]
impl MetricsQuery {
    /// Alert metrics between two dates, counted by the database.
    #[graphql(guard = "need(Permission::SummaryRead)")]
    async fn metrics(
        &self,
        ctx: &Context<'_>,
        input: MetricsInput,
    ) -> async_graphql::Result<MetricsOutput> {
        let s = ctx.data::<Services>()?;
        let (from, to) = (input.from_date.ms(), input.to_date.ms());
        let m = service::metrics::alerts(s, from, to, input.interval_in_minutes.map(i64::from))
            .await
            .gql()?;
        Ok(MetricsOutput {
            from,
            to,
            alerts_per_rule: Some(
                m.per_detection
                    .into_iter()
                    .map(|d| SeriesWithEntityId {
                        entity_id: ID(d.detection_id),
                        label: d.name,
                        value: d.count as f64,
                    })
                    .collect(),
            ),
            alerts_per_severity: m
                .per_severity
                .into_iter()
                .map(|s| SeriesWithBreakdown {
                    breakdown: Json(
                        s.breakdown
                            .into_iter()
                            .map(|(at, n)| {
                                (crate::domain::time::to_rfc3339(at), serde_json::json!(n))
                            })
                            .collect(),
                    ),
                    label: s.severity.as_str().to_string(),
                    value: s.total as f64,
                })
                .collect(),
            bytes_ingested_per_source: Some(Vec::new()),
            bytes_processed_per_source: Vec::new(),
            bytes_queried_per_source: Vec::new(),
            events_processed_per_log_type: Vec::new(),
            latency_per_log_type: Some(Vec::new()),
            total_alerts: m.total as f64,
            total_bytes_ingested: 0.0,
            total_bytes_processed: 0.0,
            total_bytes_queried: 0.0,
            total_events_processed: 0.0,
        })
    }
}
