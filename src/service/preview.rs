//! `previewPayload`: exactly what a destination would be sent for an alert — method,
//! URL, headers and body — with secrets masked, without sending anything.
use super::alerts::NewAlert;
use super::destinations::prepared_config;
use super::Services;
use crate::destinations::{secrets, DeliveryContext, OutboundRequest};
use crate::domain::payload::{test_alert, Payload};
use crate::domain::{time::now_ms, DeliveryKind};
use crate::error::{bad_input, AppResult};
use base64::{engine::general_purpose::STANDARD, Engine};

/// What would be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The destination to preview: a stored one (`output_id`: its id or display name), a config not yet saved
/// (`config` = outputType and config), or a stored one with a changed config.
pub struct PreviewRequest {
    pub output_id: Option<String>,
    pub config: Option<(String, serde_json::Value)>,
    /// The alert to render; `None` previews the test alert.
    pub alert: Option<NewAlert>,
}

pub async fn preview(s: &Services, req: PreviewRequest) -> AppResult<Preview> {
    let stored = match req.output_id.as_deref() {
        Some(id_or_name) => Some(super::destinations::named(s, id_or_name).await?),
        None => None,
    };
    let old = stored.as_ref().map(|o| &o.destination);
    let (kind, config) = match (req.config, old) {
        (Some((output_type, config)), old) => prepared_config(&output_type, config, old)?,
        (None, Some(old)) => prepared_config(&old.output_type, old.config.clone(), None)?,
        (None, None) => return Err(bad_input("previewPayload needs outputId or outputConfig")),
    };
    crate::destinations::check_targets(kind, &config, s.dispatcher.outbound().policy())
        .map_err(bad_input)?;
    let output_type = kind.output_type();
    let alert = match req.alert {
        Some(a) => super::alerts::as_ingested(s, &a).await?,
        None => test_alert(now_ms()),
    };
    let payload = Payload::new(&alert, s.dispatcher.public_url(), DeliveryKind::Routed);
    let delivery_id = format!("preview-{}", uuid::Uuid::new_v4());
    let ctx = DeliveryContext {
        delivery_id: &delivery_id,
        alert: &alert,
        payload: &payload,
        public_url: s.dispatcher.public_url(),
        timestamp: now_ms() / 1000,
        kind: DeliveryKind::Routed,
        template_budget: s.dispatcher.template_budget(),
    };
    let secret_values = secret_forms(&secrets::values(&config, kind.secret_paths()));
    let built = kind.build_request(&config, &ctx).map_err(|e| {
        bad_input(format!(
            "the {output_type} request cannot be built: {}",
            secrets::scrub(&e.to_string(), &secret_values)
        ))
    })?;
    Ok(redact(built, &secret_values))
}

/// Each secret as written, and as it appears inside a JSON string.
fn secret_forms(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let json = serde_json::to_string(v).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        for form in [v.clone(), json] {
            if !out.contains(&form) {
                out.push(form);
            }
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// Mask secrets in the URL, headers and body; Basic credentials are derived from a
/// secret, so they are masked whole.
fn redact(req: OutboundRequest, secret_values: &[String]) -> Preview {
    let headers = req
        .headers
        .into_iter()
        .map(|(k, v)| {
            let v = secrets::scrub(&v, secret_values);
            let v = match v.strip_prefix("Basic ") {
                Some(creds) if k.eq_ignore_ascii_case("authorization") => {
                    match STANDARD.decode(creds) {
                        Ok(raw) => {
                            let raw = String::from_utf8_lossy(&raw).into_owned();
                            let user = raw.split_once(':').map(|(u, _)| u).unwrap_or_default();
                            format!("Basic base64({user}:{})", secrets::MASK)
                        }
                        Err(_) => format!("Basic {}", secrets::MASK),
                    }
                }
                _ => v,
            };
            (k, v)
        })
        .collect();
    Preview {
        method: req.method.to_string(),
        url: secrets::scrub(&req.url, secret_values),
        headers,
        body: secrets::scrub(&req.body, secret_values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_basic_credentials() {
        let req = OutboundRequest {
            method: reqwest::Method::POST,
            url: "https://hooks.example/s3cr3t-path".into(),
            headers: vec![
                (
                    "authorization".into(),
                    crate::destinations::common::basic_auth("bob", "hunter22"),
                ),
                ("x-key".into(), "s3cr3t-path".into()),
            ],
            body: r#"{"k":"s3cr3t-path","q":"a\"quoted\"b"}"#.into(),
        };
        let p = redact(
            req,
            &secret_forms(&[
                "s3cr3t-path".into(),
                "a\"quoted\"b".into(),
                "hunter22".into(),
            ]),
        );
        assert_eq!(p.url, format!("https://hooks.example/{}", secrets::MASK));
        assert_eq!(
            p.headers[0].1,
            format!("Basic base64(bob:{})", secrets::MASK)
        );
        assert_eq!(p.headers[1].1, secrets::MASK);
        assert!(
            !p.body.contains("s3cr3t") && !p.body.contains("quoted"),
            "{}",
            p.body
        );
    }
}
