//! Console passwords: argon2id (the `argon2` crate's PHC strings, its default
//! parameters), checked off the async workers. A sign-in for an unknown e-mail still
//! verifies against a dummy hash, so it takes as long as a wrong password.
use crate::error::{AppError, AppResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// Shortest password accepted.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted (hashing cost must not be the caller's to choose).
pub const MAX_CHARS: usize = 1024;

/// Whether a new password is acceptable: a clear `BAD_USER_INPUT` otherwise.
pub fn check_new(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(AppError::BadInput(format!(
            "the password must be at least {MIN_CHARS} characters long (it has {n})"
        )));
    }
    if n > MAX_CHARS {
        return Err(AppError::BadInput(format!(
            "the password must be at most {MAX_CHARS} characters long"
        )));
    }
    Ok(())
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing a password: {e}")))
}

fn verify_now(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when there is no user: same algorithm and cost.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("herald-dummy-password").unwrap_or_default())
}

/// The argon2id PHC string of a new password (checked with [`check_new`] first).
pub async fn hash(password: &str) -> AppResult<String> {
    check_new(password)?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

/// Whether `password` matches `phc`; with no hash (unknown user, or no password set),
/// a dummy is checked so the answer takes the same time, and it is false.
pub async fn verify(password: &str, phc: Option<&str>) -> bool {
    let password = password.to_string();
    let phc = phc.map(str::to_owned);
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_now(&password, &phc),
        None => {
            let _ = verify_now(&password, dummy());
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused_with_the_minimum_named() {
        let e = check_new("short").unwrap_err().to_string();
        assert!(e.contains("at least 12 characters"), "{e}");
        assert!(check_new("twelve chars").is_ok());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)).await);
        assert!(!verify("wrong horse battery", Some(&h)).await);
        assert!(!verify("correct horse battery", None).await);
    }
}
