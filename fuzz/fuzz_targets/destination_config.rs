//! Destination configs: the first byte picks a type, the rest is its config as JSON.
//! `validate` never panics; `build_request` never panics on a config that validates.
#![no_main]
use herald::destinations::{registry, DeliveryContext};
use herald::domain::payload::{panther_payload, test_alert};
use herald::domain::DeliveryKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let kind = registry()[pick as usize % registry().len()];
    let Ok(config) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    if kind.validate(&config).is_err() {
        return;
    }
    let alert = test_alert(1_700_000_000_000);
    let payload = panther_payload(&alert, "https://herald.test", DeliveryKind::Routed);
    let ctx = DeliveryContext {
        delivery_id: "d-1",
        alert: &alert,
        payload: &payload,
        timestamp: 1_700_000_000,
        kind: DeliveryKind::Routed,
    };
    let _ = kind.build_request(&config, &ctx);
});
