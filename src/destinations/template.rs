//! User templates (`payloadTemplate`, `messageTemplate`), rendered with minijinja against
//! the Panther payload (every payload field, `alertContext` included).
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

fn env() -> Environment<'static> {
    let mut env = Environment::new();
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
    tmpl.render(minijinja::Value::from_serialize(payload))
        .map_err(|e| describe(field, "render error", &e))
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
