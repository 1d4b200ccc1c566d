//! Alert metrics (`metrics`): totals, alerts per severity in time buckets, and the
//! detections with most alerts, counted by the database ([`crate::store::metrics`]).
//! Herald ingests no logs, so Panther's log, byte and latency metrics have nothing to
//! count: the API answers them with empty lists and zeros.
use super::Services;
use crate::domain::{DeliveryStatus, DestinationId, Severity};
use crate::error::{bad_input, AppResult};
use crate::store::{self, metrics::DetectionCount};
use std::collections::BTreeMap;

/// Most buckets one request may ask for.
pub const MAX_BUCKETS: i64 = 1_000;
/// An automatic interval is the first of these (minutes) giving at most
/// [`AUTO_BUCKETS`] buckets; longer ranges use whole days.
const NICE_INTERVALS: [i64; 12] = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080];
const AUTO_BUCKETS: i64 = 100;
/// Detections listed in `alertsPerRule`.
pub const TOP_DETECTIONS: u64 = 10;

const MINUTE_MS: i64 = 60_000;

/// The alerts of one severity: how many, and how many per bucket.
#[derive(Debug, Clone)]
pub struct SeveritySeries {
    pub severity: Severity,
    pub total: i64,
    /// (bucket start in ms, alerts created in it), every bucket of the range in order.
    pub breakdown: Vec<(i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct AlertMetrics {
    pub interval_minutes: i64,
    /// One series per severity (all of them, zeros included), lowest first.
    pub per_severity: Vec<SeveritySeries>,
    pub per_detection: Vec<DetectionCount>,
    pub total: i64,
}

fn buckets(from: i64, to: i64, interval_minutes: i64) -> i64 {
    let ms = interval_minutes * MINUTE_MS;
    (to - from + ms - 1) / ms
}

/// The interval to use: the one asked for (checked), or an automatic one.
pub fn interval(from: i64, to: i64, asked: Option<i64>) -> AppResult<i64> {
    if to <= from {
        return Err(bad_input("toDate must be after fromDate"));
    }
    match asked {
        Some(m) if m < 1 => Err(bad_input("intervalInMinutes must be at least 1")),
        Some(m) => {
            let n = buckets(from, to, m);
            if n > MAX_BUCKETS {
                Err(bad_input(format!(
                    "intervalInMinutes {m} makes {n} buckets between fromDate and toDate; at most {MAX_BUCKETS} are accepted (choose a larger interval or a shorter range)"
                )))
            } else {
                Ok(m)
            }
        }
        None => Ok(NICE_INTERVALS
            .into_iter()
            .find(|&m| buckets(from, to, m) <= AUTO_BUCKETS)
            .unwrap_or_else(|| {
                let per_bucket = AUTO_BUCKETS * 1440 * MINUTE_MS;
                let days = (to - from + per_bucket - 1) / per_bucket;
                days * 1440
            })),
    }
}

/// Alert metrics for alerts created in `[from, to)`.
pub async fn alerts(
    s: &Services,
    from: i64,
    to: i64,
    interval_minutes: Option<i64>,
) -> AppResult<AlertMetrics> {
    let interval_minutes = interval(from, to, interval_minutes)?;
    let interval_ms = interval_minutes * MINUTE_MS;
    let n = buckets(from, to, interval_minutes);
    let counted = store::metrics::per_severity(&s.db, from, to, interval_ms).await?;
    let per_severity: Vec<SeveritySeries> = Severity::ALL
        .iter()
        .map(|&severity| {
            let mut breakdown: Vec<(i64, i64)> =
                (0..n).map(|b| (from + b * interval_ms, 0)).collect();
            for c in counted.iter().filter(|c| c.severity == severity) {
                if let Some(slot) = breakdown.get_mut(c.bucket as usize) {
                    slot.1 += c.count;
                }
            }
            SeveritySeries {
                severity,
                total: breakdown.iter().map(|b| b.1).sum(),
                breakdown,
            }
        })
        .collect();
    let total = per_severity.iter().map(|s| s.total).sum();
    let per_detection = store::metrics::per_detection(&s.db, from, to, TOP_DETECTIONS).await?;
    Ok(AlertMetrics {
        interval_minutes,
        per_severity,
        per_detection,
        total,
    })
}

/// What became of the deliveries to one destination queued in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationOutcomes {
    pub output_id: DestinationId,
    /// The destination's display name; None once it was deleted.
    pub name: Option<String>,
    pub succeeded: i64,
    pub failed: i64,
    /// Waiting for a (next) attempt or being sent.
    pub pending: i64,
}

/// Deliveries queued in `[from, to)` (test sends left out) per destination: the ones
/// with failures first (most failed first), then by name.
pub async fn deliveries(s: &Services, from: i64, to: i64) -> AppResult<Vec<DestinationOutcomes>> {
    if to <= from {
        return Err(bad_input("toDate must be after fromDate"));
    }
    let counted = store::metrics::deliveries_per_destination(&s.db, from, to).await?;
    let mut per: BTreeMap<DestinationId, DestinationOutcomes> = BTreeMap::new();
    for c in counted {
        let o = per
            .entry(c.output_id.clone())
            .or_insert_with(|| DestinationOutcomes {
                output_id: c.output_id.clone(),
                name: None,
                succeeded: 0,
                failed: 0,
                pending: 0,
            });
        match c.status {
            DeliveryStatus::Succeeded => o.succeeded += c.count,
            DeliveryStatus::Failed => o.failed += c.count,
            DeliveryStatus::Pending | DeliveryStatus::InFlight => o.pending += c.count,
        }
    }
    let names = store::metrics::destination_names(&s.db, per.keys().cloned().collect()).await?;
    for (id, name) in names {
        if let Some(o) = per.get_mut(&id) {
            o.name = Some(name);
        }
    }
    let mut out: Vec<DestinationOutcomes> = per.into_values().collect();
    out.sort_by(|a, b| {
        b.failed.cmp(&a.failed).then_with(|| {
            a.name
                .as_deref()
                .unwrap_or(&a.output_id)
                .cmp(b.name.as_deref().unwrap_or(&b.output_id))
        })
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let hour = 60 * MINUTE_MS;
        assert_eq!(interval(0, hour, None).unwrap(), 1);
        assert_eq!(interval(0, 24 * hour, None).unwrap(), 15);
        assert_eq!(interval(0, 1000 * 24 * hour, None).unwrap(), 10 * 1440);
        assert_eq!(interval(0, 10 * hour, Some(1)).unwrap(), 1);
        assert!(interval(0, 17 * hour, Some(1)).is_err());
        assert!(interval(hour, hour, None).is_err());
        assert!(interval(0, hour, Some(0)).is_err());
        assert_eq!(buckets(0, hour + 1, 60), 2);
    }
}
