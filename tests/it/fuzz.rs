//! Property-based fuzzing (proptest, so it runs on stable inside `cargo test`) of the
//! code that takes untrusted input: the AWSDateTime parser, destination config
//! validation and request building, templates, and the router. Each target asserts
//! no panic, a time bound, and the invariants that must hold for every input.
//!
//! Bounded to a few seconds per target; `HERALD_FUZZ_CASES=20000 cargo test --test fuzz`
//! runs longer. A failure prints the shrunk input.

use crate::support::TEST_RSA_PRIVATE;
use herald::destinations::{registry, template, DeliveryContext};
use herald::domain::payload::{panther_payload, test_alert, Payload};
use herald::domain::{
    AlertType, DeliveryKind, Destination, DetectionOverride, RoutingStep, Severity, SKIP,
};
use herald::graphql::scalars::{parse_aws_datetime, AWSDateTime};
use herald::routing::{route, RoutingInput};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// Cases per target (per destination type for the config targets).
fn cases(default: u32) -> u32 {
    std::env::var("HERALD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        // Shrinking a hang would take forever; failures are reported as found.
        max_shrink_time: 10_000,
        // A failure prints its input; nothing is written next to the sources.
        failure_persistence: None,
        ..Config::default()
    }
}

/// A generous bound for one call in a debug build on a busy machine: what matters is
/// that nothing is quadratic or unbounded in these small inputs.
const SLOW: Duration = Duration::from_millis(500);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    if took > SLOW {
        return Err(TestCaseError::fail(format!("{what} took {took:?}")));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// AWSDateTime
// ---------------------------------------------------------------------------------------

/// Strings near the grammar: its own characters, and valid forms with one edit.
fn datetime_like() -> impl Strategy<Value = String> {
    let in_range = prop_oneof![
        Just((
            1u32..=12,
            1u32..=28,
            0u32..=23,
            0u32..=59,
            0u32..=59,
            "[0-9]{1,9}"
        )),
        Just((
            0u32..=13,
            0u32..=32,
            0u32..=24,
            0u32..=60,
            0u32..=60,
            "[0-9]{0,12}"
        )),
    ];
    // The ends of the year range matter: an offset moves the instant past them.
    let year = prop_oneof![0u32..=9999, 0u32..=1, 9998u32..=9999];
    let valid = (in_range, year)
        .prop_flat_map(|((mo, d, h, mi, s, frac), y)| {
            (
                Just(y),
                mo,
                d,
                h,
                mi,
                proptest::option::of(s),
                proptest::option::of(frac),
                prop_oneof![
                    3 => Just("Z".to_string()),
                    2 => "[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?",
                    1 => "[+-][0-9]{2}:[0-9]{2}(:[0-9]{2})?",
                    1 => "[+-][0-9]{1,6}",
                    1 => ".{0,3}",
                ],
            )
        })
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
            let mut t = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}");
            if let Some(s) = s {
                t.push_str(&format!(":{s:02}"));
                if let Some(f) = frac {
                    t.push('.');
                    t.push_str(&f);
                }
            }
            t.push_str(&off);
            t
        });
    let edited = (
        valid.clone(),
        any::<prop::sample::Index>(),
        ".{0,2}",
        0usize..3,
    )
        .prop_map(|(s, at, with, cut)| {
            let chars: Vec<char> = s.chars().collect();
            let i = at.index(chars.len() + 1);
            let end = (i + cut).min(chars.len());
            let mut out: String = chars[..i].iter().collect();
            out.push_str(&with);
            out.extend(&chars[end..]);
            out
        });
    // The ends of the representable range, with offsets that cross them.
    let edge = (
        proptest::sample::select(vec![
            "0000-01-01T00:00",
            "0000-01-01T23:59:59.999",
            "9999-12-31T23:59",
            "9999-12-31T00:00:00",
            "1970-01-01T00:00",
        ]),
        "[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?",
    )
        .prop_map(|(t, off)| format!("{t}{off}"));
    prop_oneof![
        1 => edge,
        3 => valid,
        3 => edited,
        2 => "[0-9TZtz:.+ -]{0,40}",
        2 => "\\PC{0,64}",
        1 => ".{0,300}",
    ]
}

#[test]
fn fuzz_aws_datetime_parser() {
    let mut runner = TestRunner::new(config(1000));
    let accepted = Cell::new(0u32);
    runner
        .run(&datetime_like(), |s| {
            let parsed = timed("parse", || parse_aws_datetime(&s))?;
            let Ok(dt) = parsed else { return Ok(()) };
            accepted.set(accepted.get() + 1);
            // Accepted strings round-trip: the output form (RFC 3339 UTC, milliseconds)
            // parses back to the same instant at millisecond precision, and is a fixpoint.
            let out = AWSDateTime(dt)
                .0
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let back = parse_aws_datetime(&out).map_err(|e| {
                TestCaseError::fail(format!(
                    "{s:?} was accepted, but its output {out:?} is not: {e}"
                ))
            })?;
            prop_assert_eq!(
                back.timestamp_millis(),
                dt.timestamp_millis(),
                "{:?} -> {:?}",
                s,
                out
            );
            let again = back.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            prop_assert_eq!(&again, &out);
            Ok(())
        })
        .unwrap();
    eprintln!(
        "AWSDateTime: {} of {} inputs accepted",
        accepted.get(),
        cases(1000)
    );
}

// ---------------------------------------------------------------------------------------
// Destination configs: validate, then build_request on whatever validates
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Ty {
    Named(String),
    List(Box<Ty>),
    NonNull(Box<Ty>),
}

fn parse_ty(s: &str) -> Ty {
    let s = s.trim();
    if let Some(inner) = s.strip_suffix('!') {
        Ty::NonNull(Box::new(parse_ty(inner)))
    } else if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Ty::List(Box::new(parse_ty(inner)))
    } else {
        Ty::Named(s.to_string())
    }
}

/// Input objects and enums of the exported SDL: the real field names and types of
/// every destination config.
#[derive(Default)]
struct Sdl {
    inputs: BTreeMap<String, Vec<(String, Ty)>>,
    enums: BTreeMap<String, Vec<String>>,
}

fn sdl() -> Sdl {
    let text = herald::graphql::sdl();
    // Drop descriptions ("""…""").
    let text: String = text
        .split("\"\"\"")
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, p)| p)
        .collect();
    let mut out = Sdl::default();
    let mut current: Option<(bool, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("input ") {
            current = Some((true, rest.split_whitespace().next().unwrap().to_string()));
        } else if let Some(rest) = line.strip_prefix("enum ") {
            current = Some((false, rest.split_whitespace().next().unwrap().to_string()));
        } else if line.starts_with('}') {
            current = None;
        } else if let Some((is_input, name)) = &current {
            if line.is_empty() {
                continue;
            }
            if *is_input {
                if let Some((field, ty)) = line.split_once(':') {
                    out.inputs.entry(name.clone()).or_default().push((
                        field.trim().to_string(),
                        parse_ty(ty.split('=').next().unwrap_or(ty)),
                    ));
                }
            } else {
                out.enums
                    .entry(name.clone())
                    .or_default()
                    .push(line.to_string());
            }
        }
    }
    out
}

fn any_service_account_key() -> String {
    json!({
        "client_email": "herald@project.iam.gserviceaccount.com",
        "private_key": TEST_RSA_PRIVATE,
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

/// Strings a field of this name might hold: well-formed, hostile and plain random.
fn string_for(field: &str) -> BoxedStrategy<String> {
    let f = field.to_lowercase();
    let random = prop_oneof!["\\PC{0,24}", ".{0,8}", Just(String::new())].boxed();
    let picked: Vec<&'static str> = if f.contains("url") || f.contains("uri") || f == "endpoint" {
        vec![
            "https://example.com/hook",
            "https://hooks.example.com/services/T0/B0/x",
            "http://127.0.0.1:9/x",
            "https://[::1]:443/",
            "http://0x7f.1/",
            "https://user:pass@example.com:8443/a?b=c#d",
            "smtp://mail.example.com:25",
            "smtps://mail.example.com:465",
            "smtp://mail.example.com:587?tls=required",
            "ftp://example.com/",
            "https://",
            "example.com",
            "https://exa mple.com/",
        ]
    } else if f.contains("template") {
        vec![
            "{{ title }}",
            "{\"t\": {{ title|tojson }}, \"c\": {{ alertContext|tojson }}}",
            "{% for t in tags %}{{ t }}{% endfor %}",
            "{{ alertContext.missing.deeper }}",
            "{{ ",
            "{% if severity == 'HIGH' %}x{% else %}y{% endif %}",
        ]
    } else if f == "from" || f == "to" || f.contains("email") || f.contains("address") {
        vec![
            "herald@example.com",
            "Herald <herald@example.com>",
            "a@b",
            "not an address",
            "x@example.com\r\nBcc: y@example.com",
        ]
    } else if f.contains("region") {
        vec!["us-east-1", "eu-west-3", "", "../../etc"]
    } else if f.contains("arn") {
        vec![
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:eu-west-1:123456789012:queue",
            "arn:aws:sns",
            "",
        ]
    } else if f.contains("serviceaccountkey") {
        let valid = any_service_account_key();
        let picked = vec![
            valid.clone(),
            "{}".into(),
            "not json".into(),
            valid.replace("BEGIN", "BEGN"),
        ];
        return prop_oneof![3 => proptest::sample::select(picked), 1 => random].boxed();
    } else if f.contains("integrationkey") {
        vec![
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcde!",
            "short",
        ]
    } else if f.contains("repo") {
        vec!["owner/repo", "owner", "a/b/c", "/"]
    } else if f.contains("secret") {
        vec![
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_!!notbase64",
            "plain",
        ]
    } else {
        vec![
            "abc",
            "PROJ",
            "10000",
            "key-123",
            "queue",
            "Bearer x",
            "a\r\nInjected: header",
        ]
    };
    prop_oneof![3 => proptest::sample::select(picked).prop_map(str::to_string), 1 => random].boxed()
}

/// Arbitrary JSON whose object keys come from `keys` (the real field names) or are random.
fn chaos(keys: Vec<String>) -> BoxedStrategy<Value> {
    let key = prop_oneof![3 => proptest::sample::select(keys), 1 => "[a-zA-Z]{0,8}"];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// A value of a GraphQL input type, shaped like a real config but with hostile content.
fn value_of(sdl: &Sdl, ty: &Ty, field: &str, depth: u32) -> BoxedStrategy<Value> {
    match ty {
        Ty::NonNull(inner) => value_of(sdl, inner, field, depth),
        Ty::List(inner) => proptest::collection::vec(value_of(sdl, inner, field, depth + 1), 0..4)
            .prop_map(Value::Array)
            .boxed(),
        Ty::Named(n) => match n.as_str() {
            "String" | "ID" => string_for(field).prop_map(Value::String).boxed(),
            "Int" => prop_oneof![-2i64..120, any::<i32>().prop_map(i64::from), any::<i64>()]
                .prop_map(|n| json!(n))
                .boxed(),
            "Float" => prop_oneof![0.0f64..100.0, any::<f64>()]
                .prop_map(|f| json!(f))
                .boxed(),
            "Boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            other => {
                if let Some(values) = sdl.enums.get(other) {
                    prop_oneof![
                        3 => proptest::sample::select(values.clone()).prop_map(Value::String),
                        1 => "[A-Za-z_]{0,8}".prop_map(Value::String),
                    ]
                    .boxed()
                } else if let (Some(fields), true) = (sdl.inputs.get(other), depth < 4) {
                    object_of(sdl, fields, depth + 1)
                } else {
                    Just(Value::Null).boxed()
                }
            }
        },
    }
}

/// An object with the input's fields: required ones mostly present, optional ones
/// sometimes, any of them sometimes null or of the wrong shape.
fn object_of(sdl: &Sdl, fields: &[(String, Ty)], depth: u32) -> BoxedStrategy<Value> {
    let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
        .iter()
        .map(|(name, ty)| {
            let required = matches!(ty, Ty::NonNull(_));
            let name = name.clone();
            let typed = value_of(sdl, ty, &name, depth);
            let wrong = prop_oneof![
                Just(Value::Null),
                "\\PC{0,8}".prop_map(Value::String),
                any::<i64>().prop_map(|n| json!(n)),
                Just(json!([])),
                Just(json!({})),
            ];
            let (present, absent) = if required { (12, 1) } else { (5, 4) };
            prop_oneof![
                present => typed.prop_map(Some),
                1 => wrong.prop_map(Some),
                absent => Just(None),
            ]
            .prop_map(move |v| v.map(|v| (name.clone(), v)))
            .boxed()
        })
        .collect();
    parts
        .prop_map(|kvs| Value::Object(kvs.into_iter().flatten().collect()))
        .boxed()
}

fn severity() -> impl Strategy<Value = Severity> {
    proptest::sample::select(Severity::ALL.to_vec())
}

fn alert_type() -> impl Strategy<Value = AlertType> {
    proptest::sample::select(AlertType::ALL.to_vec())
}

/// A stored alert with hostile text everywhere.
fn alert() -> impl Strategy<Value = herald::domain::Alert> {
    (
        (
            "\\PC{0,40}",
            "\\PC{0,40}",
            "\\PC{0,20}",
            proptest::collection::vec("\\PC{0,12}", 0..4),
        ),
        (
            severity(),
            alert_type(),
            chaos(vec!["ip".into(), "user".into(), "title".into()]),
            0i64..=4_102_444_800_000,
            "\\PC{0,20}",
        ),
    )
        .prop_map(
            |((title, description, detection_id, tags), (sev, ty, context, at, runbook))| {
                let mut a = test_alert(at);
                a.id = uuid::Uuid::new_v4().to_string().into();
                a.title = title;
                a.description = description;
                a.detection_id = detection_id.clone();
                a.name = detection_id;
                a.tags = tags;
                a.severity = sev;
                a.alert_type = ty;
                a.alert_context = context;
                a.runbook = runbook;
                a
            },
        )
}

fn kind() -> impl Strategy<Value = DeliveryKind> {
    proptest::sample::select(vec![
        DeliveryKind::Routed,
        DeliveryKind::Resend,
        DeliveryKind::Test,
        DeliveryKind::Resolve,
    ])
}

#[test]
fn fuzz_destination_configs() {
    let sdl = sdl();
    let mut report = Vec::new();
    for kind_impl in registry() {
        let output_type = kind_impl.output_type();
        let fields = sdl
            .inputs
            .iter()
            .find(|(name, _)| {
                name.strip_suffix("ConfigInput")
                    .is_some_and(|n| n.to_lowercase() == output_type)
            })
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("no config input in the schema for {output_type}"));
        let keys: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
        let strategy = (
            prop_oneof![
                4 => object_of(&sdl, &fields, 0),
                1 => chaos(keys),
            ],
            alert(),
            kind(),
            0i64..=4_102_444_800,
        );
        let mut runner = TestRunner::new(config(300));
        let (valid, built) = (Cell::new(0u32), Cell::new(0u32));
        runner
            .run(&strategy, |(config, alert, kind, timestamp)| {
                let verdict = timed("validate", || kind_impl.validate(&config))?;
                if verdict.is_err() {
                    return Ok(());
                }
                valid.set(valid.get() + 1);
                let payload = Payload::new(&alert, "https://herald.test", kind);
                let ctx = DeliveryContext {
                    delivery_id: "d-1",
                    alert: &alert,
                    payload: &payload,
                    public_url: "https://herald.test",
                    timestamp,
                    kind,
                    template_budget: Default::default(),
                };
                if timed("build_request", || kind_impl.build_request(&config, &ctx))?.is_ok() {
                    built.set(built.get() + 1);
                }
                // The secrets helpers see the same configs: every secret slot is masked.
                let paths = kind_impl.secret_paths();
                let redacted = herald::destinations::secrets::redact(&config, paths);
                for left in herald::destinations::secrets::values(&redacted, paths) {
                    prop_assert_eq!(
                        left.as_str(),
                        herald::destinations::secrets::MASK,
                        "{}: a secret survives redaction: {}",
                        output_type,
                        redacted
                    );
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{output_type}: {e}"));
        report.push(format!(
            "{output_type}: {} valid, {} built",
            valid.get(),
            built.get()
        ));
    }
    eprintln!(
        "destination configs ({} cases each):\n{}",
        cases(300),
        report.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

/// Not covered (not fixed yet; the first two were found by this target, the growth by
/// reading, all confirmed): work the fuel budget does not count. String repetition (`title * 1000000`) is capped by minijinja only at 100 MB per
/// operation, repeating an empty list (`[] * 100000000`) spins without using fuel, and
/// a value can grow geometrically (`~` on a `namespace` member in a loop, or through
/// macro recursion) in a few fuelled steps, and the output cap does not see values that
/// are never printed. Bounding that needs a memory budget minijinja does not offer.
/// The generator keeps repetition and growth small.
///
/// Template sources: random text, random sequences of minijinja syntax pieces, and
/// well-formed nestings of loops, conditions and expressions (which parse and run far
/// more often than random text does, loops over loops included).
fn template_source() -> impl Strategy<Value = String> {
    let pieces = vec![
        "{{ ",
        " }}",
        "{% ",
        " %}",
        "{# ",
        " #}",
        "title",
        "alertContext",
        "tags",
        "severity",
        "alertContext.ip",
        "alertContext.missing",
        "|tojson",
        "|length",
        "|upper",
        "|default('x')",
        "|join(',')",
        "|urlencode",
        "|replace('a','bb')",
        "for t in tags",
        "for k in alertContext",
        "for i in range(50)",
        "endfor",
        "if title",
        "elif",
        "else",
        "endif",
        "set x = title",
        "macro m()",
        "endmacro",
        "m()",
        "loop.index",
        "break",
        "continue",
        " ~ ",
        " + ",
        " * 3",
        "(",
        ")",
        "[",
        "]",
        "'s'",
        "1",
        "-1",
        "0",
        "x",
        "\n",
        "{% raw %}",
        "{% endraw %}",
        "filter upper",
        "endfilter",
    ];
    let expr = proptest::sample::select(vec![
        "title",
        "tags",
        "alertContext",
        "alertContext.ip",
        "alertContext.missing",
        "severity",
        "loop.index",
        "x",
        "1",
        "'s'",
        "range(100)",
        "range(10000)",
        "title * 3",
        "tags|length",
        "alertContext|tojson",
        "title|upper",
        "tags|join(',')",
        "title|urlencode",
        "alertContext.missing|default('n/a')",
        "x.y.z",
        "1/0",
        "title[0]",
        "tags[5]",
        "title * 100",
        "tags * 3",
        "alertContext|items",
        "'%s'|format(title)",
    ]);
    let leaf = prop_oneof![
        "\\PC{0,6}",
        expr.clone().prop_map(|e| format!("{{{{ {e} }}}}")),
    ];
    let nested = leaf.prop_recursive(4, 24, 4, move |inner| {
        let body = proptest::collection::vec(inner, 0..4).prop_map(|b| b.concat());
        prop_oneof![
            (expr.clone(), body.clone())
                .prop_map(|(e, b)| format!("{{% for x in {e} %}}{b}{{% endfor %}}")),
            (expr.clone(), body.clone(), body.clone())
                .prop_map(|(e, a, b)| format!("{{% if {e} %}}{a}{{% else %}}{b}{{% endif %}}")),
            (expr.clone(), body.clone()).prop_map(|(e, b)| format!("{{% set x = {e} %}}{b}")),
            body,
        ]
    });
    prop_oneof![
        1 => "\\PC{0,60}",
        2 => proptest::collection::vec(proptest::sample::select(pieces), 0..24)
            .prop_map(|p| p.concat()),
        4 => nested,
    ]
}

#[test]
fn fuzz_templates() {
    let strategy = (template_source(), alert(), kind());
    let mut runner = TestRunner::new(config(1000));
    let (compiled, rendered) = (Cell::new(0u32), Cell::new(0u32));
    runner
        .run(&strategy, |(source, alert, kind)| {
            let payload = panther_payload(&alert, "https://herald.test", kind);
            if timed("check", || template::check("payloadTemplate", &source))?.is_ok() {
                compiled.set(compiled.get() + 1);
            }
            if timed("render", || {
                template::render("payloadTemplate", &source, &payload, Default::default())
            })?
            .is_ok()
            {
                rendered.set(rendered.get() + 1);
            }
            // Random payloads too (the template sees whatever alertContext holds).
            timed("render_opt", || {
                template::render_opt(
                    "messageTemplate",
                    Some(&source),
                    &alert.alert_context,
                    Default::default(),
                )
            })?
            .ok();
            Ok(())
        })
        .unwrap();
    eprintln!(
        "templates: {} of {} compiled, {} rendered",
        compiled.get(),
        cases(1000),
        rendered.get()
    );
}

// ---------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------

/// Names that collide on purpose: ids, display names in other cases, SKIP, blanks.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "d1", "d2", "d3", "Alpha", "ALPHA", "alpha ", "Beta", "ß", "SS", "SKIP", "skip", "", " ",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ]
}

fn destinations() -> impl Strategy<Value = Vec<Destination>> {
    proptest::collection::vec(
        (
            name(),
            name(),
            proptest::collection::vec(severity(), 0..4),
            proptest::option::of(proptest::collection::vec(alert_type(), 0..3)),
            proptest::collection::vec(proptest::sample::select(vec!["A", "B", "AWS.S3"]), 0..3),
        ),
        0..6,
    )
    .prop_map(|rows| {
        // As the store keeps them: ids unique, display names unique by name_key.
        let mut out: Vec<Destination> = Vec::new();
        for (id, display_name, sev, types, logs) in rows {
            let id = format!("id-{id}");
            if out.iter().any(|d| {
                d.id == id
                    || herald::domain::name_key(&d.display_name)
                        == herald::domain::name_key(&display_name)
            }) {
                continue;
            }
            out.push(Destination {
                id: id.into(),
                display_name,
                output_type: "customwebhook".into(),
                config: json!({"webhookURL": "https://example.test/"}),
                default_for_severity: sev,
                alert_types: types,
                log_types: logs.into_iter().map(str::to_string).collect(),
            });
        }
        out
    })
}

fn display_name_lists() -> impl Strategy<Value = Vec<String>> {
    // Ids of generated destinations too ("id-…"), so they resolve sometimes.
    proptest::collection::vec(
        prop_oneof![name(), name().prop_map(|n| format!("id-{n}"))],
        0..5,
    )
}

#[test]
fn fuzz_router() {
    let strategy = (
        destinations(),
        proptest::option::of(display_name_lists()),
        proptest::option::of((
            proptest::option::of(display_name_lists()),
            proptest::option::of(severity()),
        )),
        (
            proptest::option::of(alert_type()),
            proptest::option::of(severity()),
            proptest::option::of(severity()),
            proptest::option::of(proptest::sample::select(vec!["A", "B", "C", ""])),
        ),
    );
    let mut runner = TestRunner::new(config(1000));
    let steps: RefCell<BTreeMap<String, u32>> = RefCell::default();
    runner
        .run(
            &strategy,
            |(dests, generated, ov, (ty, sev, gen_sev, log_type))| {
                let detection = ov.map(|(output_ids, severity)| DetectionOverride {
                    detection_id: "rule".into(),
                    output_ids,
                    severity,
                    ..Default::default()
                });
                let input = RoutingInput {
                    alert_type: ty,
                    severity: sev,
                    generated_severity: gen_sev,
                    log_type,
                    generated_destinations: generated.as_deref(),
                };
                let d = timed("route", || route(&input, detection.as_ref(), &dests))?;
                *steps
                    .borrow_mut()
                    .entry(format!("{:?}", d.step))
                    .or_default() += 1;

                // Severity precedence: generated, else override, else the alert's, else INFO.
                let want = gen_sev
                    .or(detection.as_ref().and_then(|o| o.severity))
                    .or(sev)
                    .unwrap_or(Severity::Info);
                prop_assert_eq!(d.effective_severity, want);

                // Only configured destinations, each at most once, with their own names.
                let mut seen = HashSet::new();
                for r in &d.destinations {
                    let Some(dest) = dests.iter().find(|x| x.id == r.output_id) else {
                        return Err(TestCaseError::fail(format!("routed to unknown {r:?}")));
                    };
                    prop_assert_eq!(&r.display_name, &dest.display_name);
                    prop_assert!(seen.insert(r.output_id.clone()), "{} twice", r.output_id);
                }

                // Generated destinations: [] or SKIP send nowhere, whatever else is set.
                if let Some(g) = &generated {
                    if g.is_empty() || g.iter().any(|n| n == SKIP) {
                        prop_assert_eq!(d.step, RoutingStep::Skipped);
                    }
                }
                match d.step {
                    RoutingStep::Skipped => {
                        prop_assert!(d.destinations.is_empty());
                        prop_assert!(d.is_routed());
                    }
                    RoutingStep::GeneratedDestinations => {
                        prop_assert!(!d.destinations.is_empty());
                        let g = generated.as_ref().unwrap();
                        for r in &d.destinations {
                            prop_assert!(g.iter().any(|n| herald::routing::resolve(n, &dests)
                                .is_some_and(|x| x.id == r.output_id)));
                        }
                    }
                    RoutingStep::DetectionOverride => {
                        prop_assert!(!d.destinations.is_empty());
                        let ids = detection
                            .as_ref()
                            .and_then(|o| o.output_ids.clone())
                            .unwrap();
                        prop_assert!(!ids.iter().any(|n| n == SKIP));
                        for r in &d.destinations {
                            prop_assert!(ids.iter().any(|n| herald::routing::resolve(n, &dests)
                                .is_some_and(|x| x.id == r.output_id)));
                        }
                    }
                    RoutingStep::DestinationConfiguration => {
                        // Every destination is either chosen or excluded with a reason, never both.
                        prop_assert_eq!(d.destinations.len() + d.excluded.len(), dests.len());
                        for e in &d.excluded {
                            prop_assert!(!e.reasons.is_empty());
                            prop_assert!(!seen.contains(&e.output_id));
                        }
                        for r in &d.destinations {
                            let dest = dests.iter().find(|x| x.id == r.output_id).unwrap();
                            prop_assert!(dest.default_for_severity.contains(&want));
                        }
                        prop_assert_eq!(d.is_routed(), !d.destinations.is_empty());
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    eprintln!(
        "router steps over {} cases: {:?}",
        cases(1000),
        steps.borrow()
    );
}
