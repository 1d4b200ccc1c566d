//! What routing decided, as stored on an alert and shown by the API. The router
//! (`crate::routing`) computes it; it lives here, with [`RoutingStep`] and
//! [`ExclusionReason`], so that the domain never depends on the router.
use super::{ExclusionReason, RoutingStep, Severity};
use async_graphql::SimpleObject;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct RoutedDestination {
    pub output_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct ExcludedDestination {
    pub output_id: String,
    pub display_name: String,
    pub reasons: Vec<ExclusionReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct RoutingDecision {
    /// The precedence step that decided.
    pub step: RoutingStep,
    /// Severity used by destination configuration: generated, else override, else the alert's.
    pub effective_severity: Severity,
    /// Where the alert goes (empty when skipped or nothing matched).
    pub destinations: Vec<RoutedDestination>,
    /// Names that matched no destination, and similar notes.
    pub warnings: Vec<String>,
    /// Step 3 only: destinations left out, and why.
    pub excluded: Vec<ExcludedDestination>,
}

impl RoutingDecision {
    /// Routed somewhere, or deliberately skipped. False when nothing matched.
    pub fn is_routed(&self) -> bool {
        self.step == RoutingStep::Skipped || !self.destinations.is_empty()
    }
}
