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

/// Every form in which Herald itself may have written `secret` into a request, so a
/// reply that echoes the request back cannot leak it: verbatim, JSON-escaped, base64
/// (standard and URL-safe, padded and unpadded, and the part that is the same wherever
/// the secret sits inside a longer base64 text), and percent-encoded (form and path
/// style, upper- and lower-case hex).
pub fn forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;
    let mut out = vec![secret.to_string()];
    if let Ok(json) = serde_json::to_string(secret) {
        let inner = json.strip_prefix('"').and_then(|j| j.strip_suffix('"'));
        out.extend(inner.map(str::to_string));
    }
    let raw = secret.as_bytes();
    for engine in [&STANDARD, &URL_SAFE] {
        out.push(engine.encode(raw));
    }
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(raw));
        // Inside a longer encoded text the secret starts at byte offset 0, 1 or 2 of a
        // 3-byte group; the characters made only of its bits are then always the same.
        for offset in 0..3usize {
            let mut buf = vec![0u8; offset];
            buf.extend_from_slice(raw);
            let enc = engine.encode(&buf);
            let start = (offset * 8).div_ceil(6);
            let end = (buf.len() * 8) / 6;
            if end > start && end - start >= 6 {
                out.push(enc[start..end].to_string());
            }
        }
    }
    out.push(url::form_urlencoded::byte_serialize(raw).collect());
    let upper = percent_encode(raw);
    out.push(upper.to_lowercase_hex());
    out.push(upper);
    out.retain(|f| f.len() >= 4);
    out
}

/// Every byte but RFC 3986 unreserved characters as `%XX`.
fn percent_encode(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len() * 3);
    for &b in raw {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

trait LowerHex {
    fn to_lowercase_hex(&self) -> String;
}

impl LowerHex for String {
    /// `%2F` → `%2f`, leaving other characters alone.
    fn to_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut left = 0;
        for c in self.chars() {
            if c == '%' {
                left = 2;
                out.push(c);
            } else if left > 0 {
                left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// What a send must mask from anything it reports: every secret of the destination in
/// every form Herald wrote it ([`forms`]), and the credential headers actually sent.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    /// Longest first, so a secret that contains another is masked whole.
    masks: Vec<String>,
}

impl Scrubber {
    /// The secrets at `paths` of `config`.
    pub fn for_config(config: &Value, paths: &[&str]) -> Self {
        let mut s = Scrubber::default();
        for v in values(config, paths) {
            s.add_secret(&v);
        }
        s
    }

    /// One more secret (e.g. an OAuth token obtained while sending).
    pub fn add_secret(&mut self, secret: &str) {
        if secret.len() >= 4 {
            let forms = forms(secret);
            self.add_masks(forms);
        }
    }

    /// The header values of a request about to be sent: each `Authorization` (and
    /// `Proxy-Authorization`) value and its credential part (`Basic base64(user:key)`
    /// is derived from a secret without containing it), and every value that contains
    /// a secret, whole.
    pub fn add_sent_headers(&mut self, headers: &[(String, String)]) {
        let mut extra = Vec::new();
        for (name, value) in headers {
            let credential = name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("proxy-authorization");
            if credential || self.masks.iter().any(|m| value.contains(m.as_str())) {
                extra.push(value.trim().to_string());
                if let Some((_, cred)) = value.trim().split_once(' ') {
                    extra.push(cred.trim().to_string());
                }
            }
        }
        extra.retain(|v| v.len() >= 4);
        // The values are secrets in their own right: mask their encodings too.
        let all = extra.iter().flat_map(|v| forms(v)).collect();
        self.add_masks(all);
    }

    fn add_masks(&mut self, more: Vec<String>) {
        for m in more {
            if !self.masks.contains(&m) {
                self.masks.push(m);
            }
        }
        self.masks.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every mask replaced by [`MASK`].
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.masks)
    }

    /// Every string masked, longest first.
    pub fn masks(&self) -> &[String] {
        &self.masks
    }
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

    fn scrubber(secret: &str) -> Scrubber {
        let mut s = Scrubber::default();
        s.add_secret(secret);
        s
    }

    #[test]
    fn every_encoding_of_a_secret_is_scrubbed() {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        use base64::Engine;
        let secret = "pd-Key/with+odd?chars=&ü~";
        let s = scrubber(secret);
        let encoded = [
            ("verbatim", secret.to_string()),
            ("json", serde_json::to_string(secret).unwrap()),
            ("base64", STANDARD.encode(secret)),
            ("base64 unpadded", STANDARD_NO_PAD.encode(secret)),
            ("base64url", URL_SAFE.encode(secret)),
            ("base64url unpadded", URL_SAFE_NO_PAD.encode(secret)),
            (
                "form-urlencoded",
                url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            ),
            ("percent", percent_encode(secret.as_bytes())),
            (
                "percent lower",
                percent_encode(secret.as_bytes()).to_lowercase_hex(),
            ),
        ];
        for (what, form) in encoded {
            let text = format!("echo: <{form}> end");
            let out = s.scrub(&text);
            println!("{what}: {text} -> {out}");
            assert!(!out.contains(&form), "{what} survived: {out}");
            assert!(out.contains(MASK), "{what}: {out}");
        }
    }

    #[test]
    fn a_secret_inside_a_longer_base64_text_is_scrubbed_at_any_offset() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let secret = "R0uting-Key-0123456789abcdef";
        let s = scrubber(secret);
        for prefix in ["", "a", "ab", "abc", "{\"routing_key\":\""] {
            let blob = STANDARD.encode(format!("{prefix}{secret}\",\"x\":1}}"));
            let out = s.scrub(&blob);
            assert!(
                out.contains(MASK),
                "offset {}: {blob} -> {out}",
                prefix.len()
            );
            // What is left cannot be decoded back to the secret.
            assert!(!String::from_utf8_lossy(
                &STANDARD.decode(out.replace(MASK, "")).unwrap_or_default()
            )
            .contains(secret));
        }
    }

    #[test]
    fn credential_headers_as_sent_are_scrubbed() {
        use base64::Engine;
        let mut s = scrubber("api-key-123456");
        let basic = crate::destinations::common::basic_auth("bob@example.com", "api-key-123456");
        let cred = basic.strip_prefix("Basic ").unwrap().to_string();
        s.add_sent_headers(&[
            ("authorization".into(), basic.clone()),
            ("x-custom".into(), "prefix-api-key-123456".into()),
            ("content-type".into(), "application/json".into()),
        ]);
        for (what, text) in [
            ("header value", format!("you sent {basic}")),
            ("credential", format!("token {cred} invalid")),
            ("custom header", "got prefix-api-key-123456".to_string()),
            (
                "base64 of the header",
                format!(
                    "echo {}",
                    base64::engine::general_purpose::STANDARD.encode(&basic)
                ),
            ),
        ] {
            let out = s.scrub(&text);
            println!("{what}: {text} -> {out}");
            assert!(
                !out.contains(&cred) && !out.contains("api-key-123456"),
                "{out}"
            );
        }
        assert_eq!(s.scrub("application/json"), "application/json");
    }
}
