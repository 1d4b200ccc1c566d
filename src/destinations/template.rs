//! User templates (`payloadTemplate`, `messageTemplate`), rendered with minijinja against
//! the Panther payload (every payload field, `alertContext` included).
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Rendering budget, so no template can hang a worker or fill memory: minijinja fuel
/// (instructions) and the largest output. The defaults of `HERALD_TEMPLATE_FUEL` and
/// `HERALD_TEMPLATE_MAX_BYTES`.
pub const FUEL: u64 = 200_000;
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

/// Collects output and refuses to grow past a limit.
struct Limited {
    buf: Vec<u8>,
    limit: usize,
    exceeded: bool,
}

impl std::io::Write for Limited {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::other("template output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // Printing or iterating an undefined value is an error, `{% if x.missing %}` is not.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_keep_trailing_newline(true);
    env
}

fn describe(field: &str, what: &str, e: &minijinja::Error) -> String {
    let reason = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    match e.line() {
        Some(line) => format!("{field}: {what} on line {line}: {reason}"),
        None => format!("{field}: {what}: {reason}"),
    }
}

/// Parse a template; the error names the line and the reason.
pub fn check(field: &str, source: &str) -> Result<(), String> {
    let env = env();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| describe(field, "syntax error", &e))
}

/// Check an optional template (unset or empty is fine).
pub fn check_opt(field: &str, source: Option<&str>) -> Result<(), String> {
    match source.filter(|s| !s.trim().is_empty()) {
        Some(s) => check(field, s),
        None => Ok(()),
    }
}

/// Render against the payload; a failure names the line and the reason.
pub fn render(field: &str, source: &str, payload: &Value) -> Result<String, String> {
    let env = env();
    let tmpl = env
        .template_from_str(source)
        .map_err(|e| describe(field, "syntax error", &e))?;
    let mut out = Limited {
        buf: Vec::new(),
        limit: MAX_OUTPUT_BYTES,
        exceeded: false,
    };
    let rendered = tmpl
        .render_captured_to(minijinja::Value::from_serialize(payload), &mut out)
        .map(drop);
    match rendered {
        Ok(()) => Ok(String::from_utf8_lossy(&out.buf).into_owned()),
        Err(_) if out.exceeded => Err(format!(
            "{field}: render error: the output is larger than {MAX_OUTPUT_BYTES} bytes"
        )),
        Err(e) if e.kind() == minijinja::ErrorKind::OutOfFuel => Err(format!(
            "{field}: render error: the template does too much work (more than {FUEL} steps)"
        )),
        Err(e) => Err(describe(field, "render error", &e)),
    }
}

/// Render an optional template: `None` when unset.
pub fn render_opt(
    field: &str,
    source: Option<&str>,
    payload: &Value,
) -> Result<Option<String>, String> {
    match source.filter(|s| !s.trim().is_empty()) {
        Some(s) => render(field, s, payload).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_payload_fields_and_context() {
        let p = json!({"title": "T", "alertContext": {"ip": "1.2.3.4"}, "tags": ["a", "b"]});
        let out = render(
            "payloadTemplate",
            r#"{"t": {{ title|tojson }}, "ip": "{{ alertContext.ip }}", "n": {{ tags|length }}}"#,
            &p,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            json!({"t": "T", "ip": "1.2.3.4", "n": 2})
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = check("payloadTemplate", "line one\n{{ title ").unwrap_err();
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
        )
        .unwrap_err();
        assert!(e.contains("render error"), "{e}");
    }

    #[test]
    fn rendering_is_bounded_in_work_and_output() {
        let p = json!({"title": "x".repeat(100)});
        let e = render(
            "t",
            "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
            &p,
        )
        .unwrap_err();
        assert!(e.contains("too much work"), "{e}");
        let e = render("t", "{% for a in range(5000) %}{{ title }}{% endfor %}", &p).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn missing_values_fail_when_printed_but_not_in_tests() {
        let p = json!({"alertContext": {}});
        assert!(render("t", "{{ alertContext.missing }}", &p).is_err());
        assert_eq!(
            render("t", "{% if alertContext.missing %}x{% endif %}-", &p).unwrap(),
            "-"
        );
        assert_eq!(
            render("t", "{{ alertContext.missing|default('n/a') }}", &p).unwrap(),
            "n/a"
        );
    }
}
