//! Templates: source and payload (JSON) separated by a NUL byte; never panics.
#![no_main]
use herald::destinations::template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (source, payload) = s.split_once('\0').unwrap_or((s, "{}"));
    let payload = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
    let _ = template::check("payloadTemplate", source);
    let _ = template::render("payloadTemplate", source, &payload);
});
