//! User templates (`payloadTemplate`, `messageTemplate`), rendered with minijinja against
//! the Panther payload (every payload field, `alertContext` included).
//!
//! Rendering has a budget ([`Budget`]): minijinja fuel bounds the work (a nested loop
//! runs out of it) and the output is written into a writer that stops at a size cap, so
//! a template can neither stall a worker nor fill memory, in previews and deliveries
//! alike.
use super::{ConfigError, ConfigResult};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value;

/// What one render may spend (`HERALD_TEMPLATE_FUEL`, `HERALD_TEMPLATE_MAX_BYTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// minijinja fuel: roughly the number of instructions executed.
    pub fuel: u64,
    /// Largest rendered output, in bytes.
    pub max_bytes: usize,
}

impl Default for Budget {
    /// The documented defaults of the settings.
    fn default() -> Self {
        Budget {
            fuel: 200_000,
            max_bytes: 256 * 1024,
        }
    }
}

/// A writer that refuses to grow past `cap` bytes (and remembers that it did).
struct Capped {
    out: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.cap {
            self.overflowed = true;
            return Err(std::io::Error::other(
                "template output over its size budget",
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    // Printing or iterating an undefined value is an error, `{% if x.missing %}` is not.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_keep_trailing_newline(true);
    env
}

fn describe(field: &str, what: &str, e: &minijinja::Error) -> ConfigError {
    let reason = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    match e.line() {
        Some(line) => ConfigError::at(field, format!("{what} on line {line}: {reason}")),
        None => ConfigError::at(field, format!("{what}: {reason}")),
    }
}

/// Parse a template; the error names the line and the reason.
pub fn check(field: &str, source: &str) -> ConfigResult<()> {
    let env = env();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| describe(field, "syntax error", &e))
}

/// Check an optional template (unset or empty is fine).
pub fn check_opt(field: &str, source: Option<&str>) -> ConfigResult<()> {
    match source.filter(|s| !s.trim().is_empty()) {
        Some(s) => check(field, s),
        None => Ok(()),
    }
}

/// Render against the payload within the budget; a failure names the line and the
/// reason, and going over the budget says so (a permanent error: the same template
/// will go over it again).
pub fn render(field: &str, source: &str, payload: &Value, budget: Budget) -> ConfigResult<String> {
    let mut env = env();
    env.set_fuel(Some(budget.fuel));
    let tmpl = env
        .template_from_str(source)
        .map_err(|e| describe(field, "syntax error", &e))?;
    let mut out = Capped {
        out: Vec::new(),
        cap: budget.max_bytes,
        overflowed: false,
    };
    let result = tmpl
        .render_captured_to(minijinja::Value::from_serialize(payload), &mut out)
        .map(|_| ());
    match result {
        Ok(_) => String::from_utf8(out.out)
            .map_err(|_| ConfigError::at(field, "render error: the output is not UTF-8")),
        Err(_) if out.overflowed => Err(ConfigError::at(field, format!(
            "template exceeded its budget: the output is larger than {} bytes (HERALD_TEMPLATE_MAX_BYTES)",
            budget.max_bytes
        ))),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(ConfigError::at(field, format!(
            "template exceeded its budget: it ran more than {} steps (HERALD_TEMPLATE_FUEL)",
            budget.fuel
        ))),
        Err(e) => Err(describe(field, "render error", &e)),
    }
}

/// Render an optional template: `None` when unset.
pub fn render_opt(
    field: &str,
    source: Option<&str>,
    payload: &Value,
    budget: Budget,
) -> ConfigResult<Option<String>> {
    match source.filter(|s| !s.trim().is_empty()) {
        Some(s) => render(field, s, payload, budget).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const B: Budget = Budget {
        fuel: 200_000,
        max_bytes: 256 * 1024,
    };

    #[test]
    fn nested_loops_run_out_of_fuel_quickly() {
        let started = std::time::Instant::now();
        let e = render(
            "payloadTemplate",
            "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}",
            &json!({}),
            Budget { fuel: 200_000, max_bytes: usize::MAX },
        )
        .unwrap_err().to_string();
        assert!(e.contains("template exceeded its budget"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn output_is_capped() {
        let e = render(
            "t",
            "{{ 'x' * 5000 }}",
            &json!({}),
            Budget {
                fuel: 1_000_000,
                max_bytes: 1000,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("template exceeded its budget") && e.contains("1000 bytes"),
            "{e}"
        );
        let e = render(
            "t",
            "{% for i in range(100) %}{{ 'y' * 100 }}{% endfor %}",
            &json!({}),
            Budget {
                fuel: 1_000_000,
                max_bytes: 5000,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("template exceeded its budget"), "{e}");
        assert_eq!(
            render(
                "t",
                "{{ 'x' * 10 }}",
                &json!({}),
                Budget {
                    fuel: 1_000,
                    max_bytes: 10
                }
            )
            .unwrap(),
            "xxxxxxxxxx"
        );
    }

    #[test]
    fn renders_payload_fields_and_context() {
        let p = json!({"title": "T", "alertContext": {"ip": "1.2.3.4"}, "tags": ["a", "b"]});
        let out = render(
            "payloadTemplate",
            r#"{"t": {{ title|tojson }}, "ip": "{{ alertContext.ip }}", "n": {{ tags|length }}}"#,
            &p,
            B,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            json!({"t": "T", "ip": "1.2.3.4", "n": 2})
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = check("payloadTemplate", "line one\n{{ title ")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("payloadTemplate: syntax error on line 2"),
            "{e}"
        );
    }

    #[test]
    fn render_errors_are_reported() {
        let e = render(
            "messageTemplate",
            "{{ alertContext.nope.deeper }}",
            &json!({"alertContext": {}}),
            B,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("render error"), "{e}");
    }

    #[test]
    fn rendering_is_bounded_in_work_and_output() {
        let p = json!({"title": "x".repeat(100)});
        let e = render(
            "t",
            "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
            &p,
            B,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("exceeded its budget"), "{e}");
        let e = render(
            "t",
            "{% for a in range(5000) %}{{ title }}{% endfor %}",
            &p,
            B,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn missing_values_fail_when_printed_but_not_in_tests() {
        let p = json!({"alertContext": {}});
        assert!(render("t", "{{ alertContext.missing }}", &p, B).is_err());
        assert_eq!(
            render("t", "{% if alertContext.missing %}x{% endif %}-", &p, B).unwrap(),
            "-"
        );
        assert_eq!(
            render("t", "{{ alertContext.missing|default('n/a') }}", &p, B).unwrap(),
            "n/a"
        );
    }
}
