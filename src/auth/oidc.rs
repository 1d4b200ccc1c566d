//! OpenID Connect single sign-on (authorization code flow with PKCE): discovery, the
//! authorization URL, the code exchange, and the ID token's verification (signature
//! by the issuer's JWKS, issuer, audience, expiry, nonce). Keys and tokens are checked
//! with `jsonwebtoken`; the issuer is operator configuration, so it is reached directly
//! (the SSRF guard of deliveries is for user-entered URLs).
use crate::config::OidcSettings;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::Duration;

/// Why a sign-in through the issuer failed (the text is for logs and the error page).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer could not be reached or answered something unusable.
    #[error("the identity provider: {0}")]
    Issuer(String),
    /// The ID token (or the answer carrying it) is not acceptable.
    #[error("the ID token was refused: {0}")]
    Refused(String),
}

/// What `/.well-known/openid-configuration` says (the parts used).
#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The sign-in to redirect to, and what the callback will need (kept server-side).
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the issuer says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

/// Asymmetric signatures only: a symmetric (`HS*`) or unsigned ID token is refused.
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Clone)]
pub struct Oidc {
    pub settings: OidcSettings,
    redirect_uri: String,
    http: reqwest::Client,
}

fn pkce_challenge(verifier: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Oidc {
    /// `public_url` is Herald's own base URL: the callback is `<public_url>/auth/oidc/callback`.
    pub fn new(
        settings: OidcSettings,
        public_url: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(Oidc {
            redirect_uri: format!("{}/auth/oidc/callback", public_url.trim_end_matches('/')),
            settings,
            http,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let issuer = |e: String| OidcError::Issuer(format!("GET {url}: {e}"));
        let r = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| issuer(e.to_string()))?;
        if !r.status().is_success() {
            return Err(issuer(format!("HTTP {}", r.status())));
        }
        r.json().await.map_err(|e| issuer(e.to_string()))
    }

    async fn metadata(&self) -> Result<Metadata, OidcError> {
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let m: Metadata = self.get_json(&url).await?;
        if m.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(OidcError::Issuer(format!(
                "the discovery document names issuer {:?}, not the configured {:?}",
                m.issuer, self.settings.issuer
            )));
        }
        Ok(m)
    }

    /// The issuer's authorization URL for a new sign-in, with fresh state, nonce and
    /// PKCE verifier (S256).
    pub async fn begin(&self) -> Result<Started, OidcError> {
        let m = self.metadata().await?;
        let state = super::sessions::random_secret();
        let nonce = super::sessions::random_secret();
        let pkce_verifier = super::sessions::random_secret();
        let mut url = url::Url::parse(&m.authorization_endpoint)
            .map_err(|e| OidcError::Issuer(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&pkce_verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(Started {
            url: url.into(),
            state,
            nonce,
            pkce_verifier,
        })
    }

    /// Exchange the code and verify the ID token; who signed in.
    pub async fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, OidcError> {
        let m = self.metadata().await?;
        let r = self
            .http
            .post(&m.token_endpoint)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("client_id", &self.settings.client_id),
                ("code_verifier", pkce_verifier),
            ])
            .send()
            .await
            .map_err(|e| OidcError::Issuer(format!("token endpoint: {e}")))?;
        if !r.status().is_success() {
            return Err(OidcError::Issuer(format!(
                "token endpoint answered HTTP {}",
                r.status()
            )));
        }
        let tokens: TokenResponse = r
            .json()
            .await
            .map_err(|e| OidcError::Issuer(format!("token endpoint: {e}")))?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| OidcError::Refused("the token endpoint returned no id_token".into()))?;
        self.verify(&m, &id_token, nonce).await
    }

    async fn verify(
        &self,
        m: &Metadata,
        id_token: &str,
        nonce: &str,
    ) -> Result<Identity, OidcError> {
        let refused = OidcError::Refused;
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| refused(format!("malformed: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(refused(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let keys: JwkSet = self.get_json(&m.jwks_uri).await?;
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| refused("signed with a key the issuer does not publish".into()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| refused(format!("issuer key: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[m.issuer.as_str()]);
        validation.set_audience(&[self.settings.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|e| refused(e.to_string()))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(refused("the nonce does not match this sign-in".into()));
        }
        let email = claims
            .email
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| refused("it carries no e-mail (ask for the `email` scope)".into()))?;
        let verified = match claims.email_verified {
            Some(serde_json::Value::Bool(b)) => b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        if !verified {
            return Err(refused(format!("the e-mail {email} is not verified")));
        }
        Ok(Identity {
            subject: claims.sub,
            email,
            given_name: claims.given_name,
            family_name: claims.family_name,
        })
    }
}
