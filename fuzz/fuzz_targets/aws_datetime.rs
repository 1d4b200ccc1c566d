//! The AWSDateTime parser: never panics; accepted strings round-trip through the output form.
#![no_main]
use herald::graphql::scalars::parse_aws_datetime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(dt) = parse_aws_datetime(s) {
        let out = dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let back = parse_aws_datetime(&out).expect("the output form parses");
        assert_eq!(back.timestamp_millis(), dt.timestamp_millis());
    }
});
