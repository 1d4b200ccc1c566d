//! Detection overrides: the per-detection settings Panther keeps in detection metadata.
use super::error::GqlResultExt;
use super::guard::{need, principal};
use super::scalars::AWSDateTime;
use crate::auth::Permission;
use crate::domain::{DetectionOverride as Override, Severity};
use crate::service::{self, Services};
use crate::store::{self, overrides::OverrideRecord};
use async_graphql::{Context, InputObject, Object, ID};

#[derive(InputObject)]
pub struct DetectionOverrideInput {
    pub detection_id: ID,
    pub display_name: Option<String>,
    /// Static destination overrides: ids or display names, or `["SKIP"]`.
    pub output_ids: Option<Vec<String>>,
    pub severity: Option<Severity>,
    pub dedup_period_minutes: Option<i32>,
    pub runbook: Option<String>,
    pub tags: Option<Vec<String>>,
}

pub struct DetectionOverride(pub OverrideRecord);

#[Object]
impl DetectionOverride {
    async fn detection_id(&self) -> ID {
        ID(self.0.value.detection_id.clone())
    }
    async fn display_name(&self) -> Option<&str> {
        self.0.value.display_name.as_deref()
    }
    /// Destination ids (names are resolved when saved), or `["SKIP"]`.
    async fn output_ids(&self) -> Vec<String> {
        self.0.value.output_ids.clone().unwrap_or_default()
    }
    async fn severity(&self) -> Option<Severity> {
        self.0.value.severity
    }
    /// Minutes within which matches with the same dedup string join one alert (default 60).
    async fn dedup_period_minutes(&self) -> i32 {
        self.0
            .value
            .dedup_period_minutes
            .unwrap_or(crate::domain::DEFAULT_DEDUP_PERIOD_MINUTES)
    }
    async fn runbook(&self) -> Option<&str> {
        self.0.value.runbook.as_deref()
    }
    async fn tags(&self) -> Vec<String> {
        self.0.value.tags.clone().unwrap_or_default()
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn creation_time(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.created_at)
    }
    async fn last_modified_by(&self) -> &str {
        &self.0.last_modified_by
    }
    async fn last_modified_time(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.0.last_modified_at)
    }
}

#[derive(Default)]
pub struct OverrideQuery;

#[Object]
impl OverrideQuery {
    #[graphql(
        guard = "need(Permission::RuleRead)",
        complexity = "super::limits::unpaged(child_complexity)"
    )]
    async fn detection_overrides(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<DetectionOverride>> {
        let s = ctx.data::<Services>()?;
        Ok(store::overrides::list(&s.db)
            .await
            .gql()?
            .into_iter()
            .map(DetectionOverride)
            .collect())
    }

    #[graphql(guard = "need(Permission::RuleRead)")]
    async fn detection_override(
        &self,
        ctx: &Context<'_>,
        detection_id: ID,
    ) -> async_graphql::Result<Option<DetectionOverride>> {
        let s = ctx.data::<Services>()?;
        Ok(store::overrides::get(&s.db, detection_id.trim())
            .await
            .gql()?
            .map(DetectionOverride))
    }
}

#[derive(Default)]
pub struct OverrideMutation;

#[Object]
impl OverrideMutation {
    /// Create or replace the override of a detection.
    #[graphql(guard = "need(Permission::RuleModify)")]
    async fn put_detection_override(
        &self,
        ctx: &Context<'_>,
        input: DetectionOverrideInput,
    ) -> async_graphql::Result<DetectionOverride> {
        let s = ctx.data::<Services>()?;
        let value = Override {
            detection_id: input.detection_id.0,
            display_name: input.display_name,
            output_ids: input.output_ids,
            severity: input.severity,
            dedup_period_minutes: input.dedup_period_minutes,
            runbook: input.runbook,
            tags: input.tags,
        };
        Ok(DetectionOverride(
            service::overrides::put(s, value, principal(ctx)?)
                .await
                .gql()?,
        ))
    }

    #[graphql(guard = "need(Permission::RuleModify)")]
    async fn delete_detection_override(
        &self,
        ctx: &Context<'_>,
        detection_id: ID,
    ) -> async_graphql::Result<bool> {
        let s = ctx.data::<Services>()?;
        service::overrides::delete(s, &detection_id, principal(ctx)?)
            .await
            .gql()?;
        Ok(true)
    }
}
