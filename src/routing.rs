//! The router: a pure function from (alert, detection override, destinations) to a
//! decision, following Panther's precedence. The first step that applies decides.
//!
//! 1. The detection's generated destinations (`destinations()`): `[]` or a list with
//!    `"SKIP"` sends nowhere; `null` is "not defined". If every name is unknown, fall through.
//! 2. The detection override's static `outputIds`: `"SKIP"` sends nowhere.
//! 3. Destination configuration: severity (generated, else override, else the alert's),
//!    alert type, and for `RULE` alerts the log-type filter.
use crate::domain::{
    name_key, AlertType, Destination, DetectionOverride, ExclusionReason, RoutingStep, Severity,
    SKIP,
};
pub use crate::domain::{ExcludedDestination, RoutedDestination, RoutingDecision};

/// The alert facts routing looks at.
#[derive(Debug, Clone, Default)]
pub struct RoutingInput<'a> {
    pub alert_type: Option<AlertType>,
    pub severity: Option<Severity>,
    pub generated_severity: Option<Severity>,
    pub log_type: Option<&'a str>,
    pub generated_destinations: Option<&'a [String]>,
}

/// Find a destination by id, or by display name matched the way names are unique
/// ([`name_key`]: case-insensitive in full Unicode).
pub fn resolve<'d>(name: &str, destinations: &'d [Destination]) -> Option<&'d Destination> {
    destinations.iter().find(|d| d.id == name).or_else(|| {
        let key = name_key(name);
        destinations
            .iter()
            .find(|d| name_key(&d.display_name) == key)
    })
}

fn routed(d: &Destination) -> RoutedDestination {
    RoutedDestination {
        output_id: d.id.clone(),
        display_name: d.display_name.clone(),
    }
}

/// Resolve a list of names; unknown names become warnings. Duplicates are removed.
fn resolve_all(
    names: &[String],
    destinations: &[Destination],
    source: &str,
    warnings: &mut Vec<String>,
) -> Vec<RoutedDestination> {
    let mut out: Vec<RoutedDestination> = Vec::new();
    for name in names {
        match resolve(name, destinations) {
            Some(d) if !out.iter().any(|o| o.output_id == d.id) => out.push(routed(d)),
            Some(_) => {}
            None => warnings.push(format!("{source} names unknown destination {name:?}")),
        }
    }
    out
}

/// Decide where an alert goes.
pub fn route(
    input: &RoutingInput<'_>,
    detection: Option<&DetectionOverride>,
    destinations: &[Destination],
) -> RoutingDecision {
    let alert_type = input.alert_type.unwrap_or(AlertType::Rule);
    let effective_severity = input
        .generated_severity
        .or(detection.and_then(|o| o.severity))
        .or(input.severity)
        .unwrap_or(Severity::Info);
    let mut warnings = Vec::new();
    let decided = |step, destinations, warnings| RoutingDecision {
        step,
        effective_severity,
        destinations,
        warnings,
        excluded: Vec::new(),
    };

    // 1. Generated destinations.
    if let Some(generated) = input.generated_destinations {
        if generated.is_empty() || generated.iter().any(|n| n == SKIP) {
            return decided(RoutingStep::Skipped, Vec::new(), warnings);
        }
        let chosen = resolve_all(generated, destinations, "destinations()", &mut warnings);
        if !chosen.is_empty() {
            return decided(RoutingStep::GeneratedDestinations, chosen, warnings);
        }
    }

    // 2. Static destination overrides.
    if let Some(ids) = detection
        .and_then(|o| o.output_ids.as_deref())
        .filter(|ids| !ids.is_empty())
    {
        if ids.iter().any(|n| n == SKIP) {
            return decided(RoutingStep::Skipped, Vec::new(), warnings);
        }
        let chosen = resolve_all(ids, destinations, "detection override", &mut warnings);
        if !chosen.is_empty() {
            return decided(RoutingStep::DetectionOverride, chosen, warnings);
        }
    }

    // 3. Destination configuration.
    let mut chosen = Vec::new();
    let mut excluded = Vec::new();
    for d in destinations {
        let reasons = exclusion_reasons(d, effective_severity, alert_type, input.log_type);
        if reasons.is_empty() {
            chosen.push(routed(d));
        } else {
            excluded.push(ExcludedDestination {
                output_id: d.id.clone(),
                display_name: d.display_name.clone(),
                reasons,
            });
        }
    }
    RoutingDecision {
        step: RoutingStep::DestinationConfiguration,
        effective_severity,
        destinations: chosen,
        warnings,
        excluded,
    }
}

/// Why destination configuration would not send an alert to `d` (empty = it would).
pub fn exclusion_reasons(
    d: &Destination,
    severity: Severity,
    alert_type: AlertType,
    log_type: Option<&str>,
) -> Vec<ExclusionReason> {
    let mut reasons = Vec::new();
    if !d.default_for_severity.contains(&severity) {
        reasons.push(ExclusionReason::Severity);
    }
    if let Some(types) = &d.alert_types {
        if !types.contains(&alert_type) {
            reasons.push(ExclusionReason::AlertType);
        }
    }
    // The log-type filter applies to RULE alerts only.
    if alert_type == AlertType::Rule
        && !d.log_types.is_empty()
        && !log_type.is_some_and(|lt| d.log_types.iter().any(|f| f == lt))
    {
        reasons.push(ExclusionReason::LogType);
    }
    reasons
}

#[cfg(test)]
mod tests;
