//! Prometheus metrics (`GET /metrics`). The recorder is installed once per process
//! (tests start many servers in one process, so it is guarded by a `OnceLock`).
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the recorder (first call) and return the handle that renders metrics.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

/// An alert was created; `routed` is false when no destination matched.
pub fn alert_created(step: &'static str, routed: bool) {
    counter!("herald_alerts_created_total", "step" => step, "routed" => if routed { "true" } else { "false" }).increment(1);
    if !routed {
        counter!("herald_alerts_unrouted_total").increment(1);
    }
}

/// A match joined an open alert (dedup).
pub fn alert_deduplicated() {
    counter!("herald_alerts_deduplicated_total").increment(1);
}

/// One delivery attempt and how it went (`success`, `retry`, `failed`).
pub fn delivery_attempt(output_type: &str, outcome: &'static str, duration: Duration) {
    counter!("herald_delivery_attempts_total", "output_type" => output_type.to_string(), "outcome" => outcome).increment(1);
    histogram!("herald_delivery_duration_seconds", "output_type" => output_type.to_string())
        .record(duration.as_secs_f64());
}

/// A worker took a delivery: `handoff` (committed by this process and handed over in
/// memory) or `claim` (found by the claim query: retries, expired leases, other
/// processes' work).
pub fn deliveries_taken(source: &'static str, n: u64) {
    counter!("herald_deliveries_taken_total", "source" => source).increment(n);
}

/// A delivery waited for its destination's rate limit.
pub fn delivery_deferred(output_type: &str) {
    counter!("herald_deliveries_deferred_total", "output_type" => output_type.to_string())
        .increment(1);
}

/// Deliveries not finished yet, read from the database at scrape time.
pub fn set_unfinished(n: u64) {
    gauge!("herald_deliveries_unfinished").set(n as f64);
}
