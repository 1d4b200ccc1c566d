//! Standard Webhooks signatures: HMAC-SHA256 over `"{id}.{timestamp}.{body}"`, keyed by
//! the base64-decoded part of a `whsec_…` secret. Secrets follow the specification
//! (`whsec_` + base64 of 24 to 64 random bytes), so the official Standard Webhooks
//! libraries verify what Herald signs; anything else is refused when it is entered.
use super::{ConfigError, ConfigResult};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// The config field that holds the secret.
const FIELD: &str = "signingSecret";

/// The key bytes of a `whsec_…` secret, or what is wrong with it.
pub fn key_bytes(secret: &str) -> ConfigResult<Vec<u8>> {
    let b64 = secret.trim().strip_prefix(PREFIX).ok_or_else(|| {
        ConfigError::at(FIELD, "must be a Standard Webhooks secret: \"whsec_\" followed by base64 (generateSigningSecret makes one)")
    })?;
    let key = STANDARD
        .decode(b64)
        .map_err(|_| ConfigError::at(FIELD, "the part after \"whsec_\" is not valid base64"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(ConfigError::at(
            FIELD,
            format!("must hold 24 to 64 bytes of key, not {}", key.len()),
        ));
    }
    Ok(key)
}

/// A new random secret: `whsec_` + base64 of 32 bytes.
pub fn generate() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header value: `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> ConfigResult<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_bytes(secret)?)
        .map_err(|e| ConfigError::at(FIELD, e.to_string()))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // Example from the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets_outside_the_specification_are_refused() {
        for bad in [
            "abc",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_not base64!",
            "whsec_c2hvcnQ=",
        ] {
            assert!(key_bytes(bad).is_err(), "{bad}");
            assert!(sign(bad, "1", 1, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_secrets_are_valid_and_distinct() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(key_bytes(&a).unwrap().len(), 32);
    }
}
