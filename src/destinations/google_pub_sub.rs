//! `googlePubSub`: publish the payload to a topic. A service-account JWT (RS256) is
//! exchanged for an OAuth2 token first, cached until shortly before it expires, so this
//! type sends through its own [`Sender`]; `build_request` is the publish request. The
//! token cache belongs to the instance (one per process, in the registry).
use super::common::{base_url, bearer, require, validate_opt_url};
use super::secrets::Scrubber;
use super::transport::{self, classify, excerpt, status_message, truncate, Class, Outcome};
use super::{
    ConfigError, ConfigResult, DeliveryContext, ExternalRef, Integration, OutboundRequest,
    SendFuture, Sender,
};
use crate::outbound::Outbound;
use async_graphql::{InputObject, SimpleObject};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize, SimpleObject, InputObject)]
#[graphql(input_name = "GooglePubSubConfigInput")]
#[serde(rename_all = "camelCase")]
pub struct GooglePubSubConfig {
    pub project_id: String,
    pub topic_id: String,
    /// The service account's JSON key. Secret: shown redacted.
    pub service_account_key: String,
    /// Pub/Sub API base URL (default `https://pubsub.googleapis.com`).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Token endpoint (default: the key's `token_uri`, else `https://oauth2.googleapis.com/token`).
    #[serde(default)]
    pub token_uri: Option<String>,
}

#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

const SCOPE: &str = "https://www.googleapis.com/auth/pubsub";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Placeholder for the token in previews; replaced at send time.
const TOKEN_PLACEHOLDER: &str = "<OAuth2 access token>";

fn key(c: &GooglePubSubConfig) -> ConfigResult<ServiceAccountKey> {
    let k: ServiceAccountKey = serde_json::from_str(&c.service_account_key).map_err(|e| {
        ConfigError::at(
            "serviceAccountKey",
            format!("is not a service account JSON key: {e}"),
        )
    })?;
    require("serviceAccountKey.client_email", &k.client_email)?;
    jsonwebtoken::EncodingKey::from_rsa_pem(k.private_key.as_bytes()).map_err(|e| {
        ConfigError::at(
            "serviceAccountKey.private_key",
            format!("is not an RSA private key: {e}"),
        )
    })?;
    Ok(k)
}

fn token_uri(c: &GooglePubSubConfig, k: &ServiceAccountKey) -> String {
    c.token_uri
        .as_deref()
        .or(k.token_uri.as_deref())
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(DEFAULT_TOKEN_URI)
        .to_string()
}

fn valid_id(field: &str, id: &str) -> ConfigResult<()> {
    require(field, id)?;
    if !id
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '%'))
    {
        return Err(ConfigError::at(
            field,
            format!("{id:?} contains characters Pub/Sub does not allow"),
        ));
    }
    Ok(())
}

/// The claims of the token request (members in the order Herald has always sent them).
#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    iat: i64,
    iss: &'a str,
    scope: &'static str,
}

/// The signed JWT assertion for the token exchange.
fn assertion(k: &ServiceAccountKey, aud: &str, now: i64) -> Result<String, String> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = k.private_key_id.clone();
    let claims = Claims {
        aud,
        exp: now + 3600,
        iat: now,
        iss: &k.client_email,
        scope: SCOPE,
    };
    let enc = jsonwebtoken::EncodingKey::from_rsa_pem(k.private_key.as_bytes())
        .map_err(|e| format!("serviceAccountKey: {e}"))?;
    jsonwebtoken::encode(&header, &claims, &enc)
        .map_err(|e| format!("cannot sign the token request: {e}"))
}

/// Publishes to Pub/Sub; owns the access tokens it obtained.
#[derive(Default)]
pub struct GooglePubSub {
    /// Access tokens by `client_email|token_uri`, with when to stop using them.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl GooglePubSub {
    fn cached(&self, cache_key: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let (token, until) = tokens.get(cache_key)?;
        (*until > Instant::now()).then(|| token.clone())
    }

    fn remember(&self, cache_key: String, token: &str, until: Instant) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cache_key, (token.to_string(), until));
    }

    fn forget_token(&self, k: &ServiceAccountKey, uri: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&format!("{}|{uri}", k.client_email));
    }

    /// A cached or fresh access token; `Err` is the outcome to record.
    async fn access_token(
        &self,
        out: &Outbound,
        scrubber: &Scrubber,
        k: &ServiceAccountKey,
        uri: &str,
        now: i64,
    ) -> Result<String, Outcome> {
        let cache_key = format!("{}|{uri}", k.client_email);
        if let Some(token) = self.cached(&cache_key) {
            return Ok(token);
        }
        let jwt = assertion(k, uri, now).map_err(|e| Outcome::not_sent(e, Class::Permanent))?;
        let started = Instant::now();
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt.as_str()),
        ];
        let failed = |status: u16, class: Class, message: String| Outcome {
            status_code: status,
            class,
            message: truncate(&message),
            duration_ms: started.elapsed().as_millis() as i64,
            retry_after: None,
            external: None,
        };
        if let Err(b) = out.check_url(uri) {
            return Err(Outcome::blocked(&b, started));
        }
        let resp = match out.client().post(uri).form(&form).send().await {
            Ok(r) => r,
            Err(e) => {
                let mut o = transport::request_error(e, scrubber, started);
                o.message = format!("token exchange failed: {}", o.message);
                return Err(o);
            }
        };
        let http_status = resp.status();
        let status = http_status.as_u16();
        let (body, truncated) = match out.read(resp).await {
            Ok(b) => (b.text(), b.truncated),
            Err(_) => (String::new(), false),
        };
        if classify(Some(status)) != Class::Success {
            let text = excerpt(&scrubber.scrub(&body), truncated);
            return Err(failed(
                status,
                classify(Some(status)),
                format!(
                    "token exchange failed: {}",
                    status_message(http_status, &text)
                ),
            ));
        }
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(token) = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return Err(failed(
                status,
                Class::Permanent,
                "token exchange reply has no access_token".into(),
            ));
        };
        let ttl = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        // Stop using a token a minute before it expires.
        let until = Instant::now() + Duration::from_secs(ttl.saturating_sub(60));
        self.remember(cache_key, token, until);
        Ok(token.to_string())
    }
}

/// `POST …:publish` (members in the order Herald has always sent them).
#[derive(Debug, Serialize)]
struct Publish<'a> {
    messages: [PubsubMessage<'a>; 1],
}

#[derive(Debug, Serialize)]
struct PubsubMessage<'a> {
    attributes: Attributes<'a>,
    data: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Attributes<'a> {
    alert_id: &'a str,
    detection_id: &'a str,
    severity: &'static str,
}

impl Integration for GooglePubSub {
    type Config = GooglePubSubConfig;
    const OUTPUT_TYPE: &'static str = "googlepubsub";
    const TARGET_PATHS: &'static [&'static str] = &["apiUrl", "tokenUri"];
    const SECRET_PATHS: &'static [&'static str] = &["serviceAccountKey"];

    fn validate(&self, c: &GooglePubSubConfig) -> ConfigResult<()> {
        valid_id("projectId", &c.project_id)?;
        valid_id("topicId", &c.topic_id)?;
        require("serviceAccountKey", &c.service_account_key)?;
        let k = key(c)?;
        validate_opt_url("apiUrl", c.api_url.as_deref())?;
        validate_opt_url("tokenUri", Some(&token_uri(c, &k)))
    }

    fn build_request(
        &self,
        c: &GooglePubSubConfig,
        ctx: &DeliveryContext<'_>,
    ) -> ConfigResult<OutboundRequest> {
        let url = format!(
            "{}/v1/projects/{}/topics/{}:publish",
            base_url(c.api_url.as_deref(), "https://pubsub.googleapis.com"),
            c.project_id.trim(),
            c.topic_id.trim()
        );
        let a = ctx.alert;
        let body = Publish {
            messages: [PubsubMessage {
                data: STANDARD.encode(ctx.payload.json()),
                attributes: Attributes {
                    alert_id: &a.id,
                    detection_id: &a.detection_id,
                    severity: a.severity.as_str(),
                },
            }],
        };
        Ok(OutboundRequest::post_json(url, &body)
            .with_header("authorization", bearer(TOKEN_PLACEHOLDER)))
    }

    fn reply_reference(&self, body: &str) -> Option<ExternalRef> {
        let v: Value = serde_json::from_str(body).ok()?;
        let id = v.get("messageIds")?.get(0)?.as_str()?;
        Some(ExternalRef {
            id: id.to_string(),
            url: None,
        })
    }

    fn sender(&self) -> Option<&dyn Sender<GooglePubSubConfig>> {
        Some(self)
    }
}

impl Sender<GooglePubSubConfig> for GooglePubSub {
    fn send<'a>(
        &'a self,
        out: &'a Outbound,
        c: &'a GooglePubSubConfig,
        ctx: &'a DeliveryContext<'a>,
        mut scrubber: Scrubber,
    ) -> SendFuture<'a> {
        Box::pin(async move {
            let prepared = key(c).and_then(|k| {
                let uri = token_uri(c, &k);
                let req = Integration::build_request(self, c, ctx)?;
                Ok((k, uri, req))
            });
            let (k, uri, mut req) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    return Outcome::not_sent(scrubber.scrub(&e.to_string()), Class::Permanent)
                }
            };
            let token = match self.access_token(out, &scrubber, &k, &uri, ctx.timestamp).await {
                Ok(t) => t,
                Err(mut outcome) => {
                    outcome.message = truncate(&scrubber.scrub(&outcome.message));
                    return outcome;
                }
            };
            scrubber.add_secret(&token);
            for h in req.headers.iter_mut().filter(|(k, _)| k == "authorization") {
                h.1 = bearer(&token);
            }
            let outcome = transport::send(out, self, req, ctx.delivery_id, &scrubber).await;
            if outcome.status_code == 401 {
                self.forget_token(&k, &uri);
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_owns_its_token_cache() {
        let k = ServiceAccountKey {
            client_email: "herald@p.iam.gserviceaccount.com".into(),
            private_key: String::new(),
            private_key_id: None,
            token_uri: None,
        };
        let cache_key = format!("{}|{DEFAULT_TOKEN_URI}", k.client_email);
        let a = GooglePubSub::default();
        let b = GooglePubSub::default();
        a.remember(cache_key.clone(), "tok", Instant::now() + Duration::from_secs(60));
        assert_eq!(a.cached(&cache_key).as_deref(), Some("tok"));
        assert_eq!(b.cached(&cache_key), None);
        a.forget_token(&k, DEFAULT_TOKEN_URI);
        assert_eq!(a.cached(&cache_key), None);
        // An expired token is not used.
        a.remember(cache_key.clone(), "old", Instant::now());
        assert_eq!(a.cached(&cache_key), None);
    }
}
