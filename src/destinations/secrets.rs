//! Secret fields in destination configs: redaction on read, keep-on-empty on update,
//! and scrubbing from messages. Paths are `field` or `list[key].field` (elements of
//! `list` matched by their `key` member).
use serde_json::Value;

/// What reads show in place of a stored secret.
pub const MASK: &str = "********";

enum Path<'a> {
    Field(&'a str),
    Keyed {
        list: &'a str,
        key: &'a str,
        field: &'a str,
    },
}

fn parse(path: &str) -> Path<'_> {
    if let Some((head, field)) = path.split_once("].") {
        if let Some((list, key)) = head.split_once('[') {
            return Path::Keyed { list, key, field };
        }
    }
    Path::Field(path)
}

/// Visit every secret string slot of `config`, with the key of its list element.
pub(crate) fn for_each_slot(
    config: &mut Value,
    paths: &[&str],
    mut f: impl FnMut(&mut Value, Option<&str>),
) {
    for path in paths {
        match parse(path) {
            Path::Field(field) => {
                if let Some(slot) = config.get_mut(field) {
                    f(slot, None);
                }
            }
            Path::Keyed { list, key, field } => {
                if let Some(Value::Array(items)) = config.get_mut(list) {
                    for item in items {
                        let k = item.get(key).and_then(Value::as_str).map(str::to_owned);
                        if let Some(slot) = item.get_mut(field) {
                            f(slot, k.as_deref());
                        }
                    }
                }
            }
        }
    }
}

fn is_set(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

/// A copy of `config` with every set secret replaced by [`MASK`].
pub fn redact(config: &Value, paths: &[&str]) -> Value {
    let mut out = config.clone();
    for_each_slot(&mut out, paths, |slot, _| {
        if is_set(slot) {
            *slot = Value::String(MASK.into());
        }
    });
    out
}

/// Secrets left empty (or sent back as the mask) in `new` take their value from `old`.
/// Returns the secrets so carried over from `old` (`apiKey`, `headers[X-Token].value`).
pub fn keep_unchanged(new: &mut Value, old: &Value, paths: &[&str]) -> Vec<String> {
    let mut old = old.clone();
    let mut previous: Vec<(String, Option<String>, Value)> = Vec::new();
    for path in paths {
        for_each_slot(&mut old, &[path], |slot, key| {
            previous.push((path.to_string(), key.map(str::to_owned), slot.clone()));
        });
    }
    let mut carried = Vec::new();
    for path in paths {
        for_each_slot(new, &[path], |slot, key| {
            let unchanged =
                slot.is_null() || slot.as_str().is_some_and(|s| s.is_empty() || s == MASK);
            if unchanged {
                if let Some((_, _, v)) = previous
                    .iter()
                    .find(|(p, k, _)| p == path && k.as_deref() == key)
                {
                    *slot = v.clone();
                    if is_set(v) {
                        carried.push(slot_name(path, key));
                    }
                }
            }
        });
    }
    carried
}

/// `path` with the list element's key filled in: `headers[X-Token].value`.
pub fn slot_name(path: &str, key: Option<&str>) -> String {
    match (parse(path), key) {
        (Path::Keyed { list, field, .. }, Some(k)) => format!("{list}[{k}].{field}"),
        _ => path.to_string(),
    }
}

/// Every non-empty secret value, for scrubbing from messages and logs.
pub fn values(config: &Value, paths: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut copy = config.clone();
    for_each_slot(&mut copy, paths, |slot, _| {
        if let Some(s) = slot.as_str().filter(|s| s.len() >= 4) {
            out.push(s.to_string());
        }
    });
    out
}

/// Replace every occurrence of a secret in `text` by the mask.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PATHS: &[&str] = &["webhookURL", "headers[key].value"];

    #[test]
    fn redacts_fields_and_keyed_list_members() {
        let c = json!({"webhookURL": "https://x/y", "headers": [{"key": "A", "value": "s1"}, {"key": "B", "value": ""}]});
        let r = redact(&c, PATHS);
        assert_eq!(r["webhookURL"], MASK);
        assert_eq!(r["headers"][0]["value"], MASK);
        assert_eq!(r["headers"][1]["value"], "");
        assert_eq!(r["headers"][0]["key"], "A");
    }

    #[test]
    fn empty_or_masked_secrets_keep_the_stored_value() {
        let old = json!({"webhookURL": "https://old", "headers": [{"key": "A", "value": "s1"}, {"key": "B", "value": "s2"}]});
        let mut new = json!({"webhookURL": "", "headers": [{"key": "B", "value": MASK}, {"key": "A", "value": "new"}, {"key": "C", "value": ""}]});
        let carried = keep_unchanged(&mut new, &old, PATHS);
        assert_eq!(carried, ["webhookURL", "headers[B].value"]);
        assert_eq!(new["webhookURL"], "https://old");
        assert_eq!(new["headers"][0]["value"], "s2");
        assert_eq!(new["headers"][1]["value"], "new");
        assert_eq!(new["headers"][2]["value"], "");
    }

    #[test]
    fn scrubs_secret_values_from_text() {
        let c = json!({"webhookURL": "https://hooks.example/T0/secret"});
        let v = values(&c, PATHS);
        assert_eq!(
            scrub(
                "error sending to https://hooks.example/T0/secret: refused",
                &v
            ),
            format!("error sending to {MASK}: refused")
        );
    }
}
