//! The router: never panics; only configured destinations, each at most once; SKIP or
//! an empty generated list sends nowhere.
#![no_main]
use herald::domain::{AlertType, Destination, DetectionOverride, RoutingStep, Severity, SKIP};
use herald::routing::{route, RoutingInput};
use libfuzzer_sys::fuzz_target;

type Dest = (String, String, Vec<u8>, Option<Vec<u8>>, Vec<String>);
type Input = (
    Vec<Dest>,
    Option<Vec<String>>,
    Option<Vec<String>>,
    [u8; 4],
    Option<String>,
);

fn sev(b: u8) -> Option<Severity> {
    Severity::ALL
        .get(b as usize % (Severity::ALL.len() + 1))
        .copied()
}

fuzz_target!(|input: Input| {
    let (rows, generated, static_ids, picks, log_type) = input;
    let mut dests: Vec<Destination> = Vec::new();
    for (id, name, sevs, types, logs) in rows.into_iter().take(16) {
        let taken = dests.iter().any(|d| {
            d.id == id
                || herald::domain::name_key(&d.display_name) == herald::domain::name_key(&name)
        });
        if taken {
            continue;
        }
        dests.push(Destination {
            id,
            display_name: name,
            output_type: "customwebhook".into(),
            config: serde_json::json!({}),
            default_for_severity: sevs.iter().filter_map(|b| sev(*b)).collect(),
            alert_types: types.map(|t| {
                t.iter()
                    .map(|b| AlertType::ALL[*b as usize % AlertType::ALL.len()])
                    .collect()
            }),
            log_types: logs,
        });
    }
    let detection = static_ids.map(|ids| DetectionOverride {
        detection_id: "rule".into(),
        output_ids: Some(ids),
        severity: sev(picks[0]),
        ..Default::default()
    });
    let input = RoutingInput {
        alert_type: Some(AlertType::ALL[picks[1] as usize % AlertType::ALL.len()]),
        severity: sev(picks[2]),
        generated_severity: sev(picks[3]),
        log_type: log_type.as_deref(),
        generated_destinations: generated.as_deref(),
    };
    let d = route(&input, detection.as_ref(), &dests);
    let mut seen = std::collections::HashSet::new();
    for r in &d.destinations {
        assert!(dests.iter().any(|x| x.id == r.output_id));
        assert!(seen.insert(r.output_id.clone()));
    }
    if generated
        .as_ref()
        .is_some_and(|g| g.is_empty() || g.iter().any(|n| n == SKIP))
    {
        assert_eq!(d.step, RoutingStep::Skipped);
        assert!(d.destinations.is_empty());
    }
});
