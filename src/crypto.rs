//! Encryption of secrets at rest: XChaCha20-Poly1305 (an AEAD) under one 32-byte key,
//! a fresh random 24-byte nonce per value. A sealed value is the text
//! `enc:v1:<base64(nonce | ciphertext+tag)>`. Each value is bound to where it is kept
//! (the `context`, e.g. a destination id and field) as associated data, so a sealed
//! value copied into another row or field does not open.
//!
//! Also where the key comes from: `HERALD_ENCRYPTION_KEY`, or for SQLite a key file
//! beside the database (generated on first start).
use crate::config::DbArgs;
use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The prefix of every sealed value (version 1 of the format).
pub const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// A 32-byte encryption key. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A new random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Key(k)
    }

    /// Parse the base64 (standard alphabet, padding optional) of exactly 32 bytes.
    pub fn parse(b64: &str) -> Result<Self, String> {
        let b64 = b64.trim();
        let raw = STANDARD
            .decode(b64)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64))
            .map_err(|_| {
                "the encryption key is not valid base64 (generate one with `openssl rand -base64 32`)"
                    .to_string()
            })?;
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
            format!(
                "the encryption key must be the base64 of exactly 32 bytes, got {} bytes \
                 (generate one with `openssl rand -base64 32`)",
                raw.len()
            )
        })?;
        Ok(Key(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn cipher(&self) -> Cipher {
        Cipher {
            aead: Arc::new(XChaCha20Poly1305::new((&self.0).into())),
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("not a sealed value (no {PREFIX} prefix)")]
    NotSealed,
    #[error("the sealed value is damaged (bad base64 or too short)")]
    Malformed,
    #[error("the value does not decrypt under this key (wrong key, or the value was altered)")]
    WrongKeyOrTampered,
}

/// Seals and opens values under one key; cheap to clone.
#[derive(Clone)]
pub struct Cipher {
    aead: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// Whether `value` is sealed (rather than a legacy plaintext value).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// Seal `plain`, bound to `context`.
    pub fn encrypt(&self, plain: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory string cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Open a value sealed by [`Cipher::encrypt`] with the same `context`.
    pub fn decrypt(&self, sealed: &str, context: &str) -> Result<String, DecryptError> {
        let b64 = sealed.strip_prefix(PREFIX).ok_or(DecryptError::NotSealed)?;
        let raw = STANDARD.decode(b64).map_err(|_| DecryptError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(DecryptError::Malformed);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError::Malformed)?;
        let plain = self
            .aead
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| DecryptError::WrongKeyOrTampered)?;
        String::from_utf8(plain).map_err(|_| DecryptError::Malformed)
    }

    /// Open a sealed value; a legacy plaintext value (written before encryption at rest,
    /// sealed by the next start) is returned as it is.
    pub fn open(&self, stored: &str, context: &str) -> Result<String, DecryptError> {
        if Self::is_sealed(stored) {
            self.decrypt(stored, context)
        } else {
            Ok(stored.to_string())
        }
    }
}

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `HERALD_ENCRYPTION_KEY`.
    Configured,
    /// Read from this key file.
    File(PathBuf),
    /// Generated just now for this key file, which does not exist yet: write it with
    /// [`write_key_file`] once the database is known not to hold values sealed under
    /// another key.
    NewFile(PathBuf),
    /// An in-memory SQLite database: a key for this process only.
    Ephemeral,
}

/// The key to use for `db`, and where it comes from. PostgreSQL requires
/// `HERALD_ENCRYPTION_KEY`; SQLite falls back to the key file (default: the database
/// file path + `.key`), generating a key when there is none.
pub fn resolve_key(db: &DbArgs) -> anyhow::Result<(Key, KeySource)> {
    if let Some(k) = db
        .encryption_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
    {
        let key = Key::parse(k).map_err(|e| anyhow::anyhow!("HERALD_ENCRYPTION_KEY: {e}"))?;
        return Ok((key, KeySource::Configured));
    }
    let url = db.database_url.as_str();
    if !url.starts_with("sqlite:") {
        bail!(
            "HERALD_ENCRYPTION_KEY is required with PostgreSQL: it encrypts destination \
             secrets and the JWT signing secret in the database. Generate one with \
             `openssl rand -base64 32`, keep it safe (losing it loses the secrets) and set it \
             in the environment of every Herald process and CLI command"
        );
    }
    let path = match db.encryption_key_file.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => match sqlite_file(url) {
            Some(file) => PathBuf::from(format!("{file}.key")),
            None => return Ok((Key::generate(), KeySource::Ephemeral)),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = Key::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(m) = std::fs::metadata(&path) {
                    if m.permissions().mode() & 0o077 != 0 {
                        tracing::warn!(key_file = %path.display(), "the encryption key file is readable by other users: chmod 600 it");
                    }
                }
            }
            Ok((key, KeySource::File(path)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((Key::generate(), KeySource::NewFile(path)))
        }
        Err(e) => {
            Err(e).with_context(|| format!("reading the encryption key file {}", path.display()))
        }
    }
}

/// The database file of a `sqlite:` URL; `None` for an in-memory database.
pub fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = path.is_empty()
        || path == ":memory:"
        || query
            .split('&')
            .any(|kv| kv == "mode=memory" || kv.starts_with("mode=memory"));
    (!memory).then(|| path.to_string())
}

/// Create the key file holding `key` (mode 0600); fails if it already exists.
pub fn create_key_file(path: &Path, key: &Key) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(format!("{}\n", key.to_base64()).as_bytes())?;
    f.sync_all()
}

/// The file a rotation writes the new key to before it commits (renamed over the key
/// file afterwards): if the process dies in between, the new key is still there.
pub fn pending_key_file(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

/// Write the key file for a fresh key, or adopt the one a concurrent start just wrote.
pub fn write_key_file(path: &Path, key: &Key) -> anyhow::Result<Key> {
    match create_key_file(path, key) {
        Ok(()) => Ok(key.clone()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the encryption key file {}", path.display()))?;
            Key::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) => {
            Err(e).with_context(|| format!("writing the encryption key file {}", path.display()))
        }
    }
}

/// Replace the key file by `pending` (see [`pending_key_file`]) atomically.
pub fn replace_key_file(pending: &Path, path: &Path) -> std::io::Result<()> {
    std::fs::rename(pending, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fresh_nonces() {
        let c = Key::generate().cipher();
        let a = c.encrypt("s3cret", "dest-1/apiKey");
        let b = c.encrypt("s3cret", "dest-1/apiKey");
        assert!(a.starts_with(PREFIX));
        assert_ne!(a, b, "each value gets its own nonce");
        assert!(!a.contains("s3cret"));
        assert_eq!(c.decrypt(&a, "dest-1/apiKey").unwrap(), "s3cret");
        assert_eq!(c.decrypt(&b, "dest-1/apiKey").unwrap(), "s3cret");
        assert_eq!(c.encrypt("", "x").len(), c.encrypt("", "x").len());
        assert_eq!(c.decrypt(&c.encrypt("", "x"), "x").unwrap(), "");
    }

    #[test]
    fn wrong_key_context_or_tampering_fails() {
        let k = Key::generate();
        let c = k.cipher();
        let s = c.encrypt("s3cret", "dest-1/apiKey");
        assert_eq!(
            Key::generate().cipher().decrypt(&s, "dest-1/apiKey"),
            Err(DecryptError::WrongKeyOrTampered)
        );
        assert_eq!(
            c.decrypt(&s, "dest-2/apiKey"),
            Err(DecryptError::WrongKeyOrTampered)
        );
        let mut raw = STANDARD.decode(s.strip_prefix(PREFIX).unwrap()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("{PREFIX}{}", STANDARD.encode(&raw));
        assert_eq!(
            c.decrypt(&tampered, "dest-1/apiKey"),
            Err(DecryptError::WrongKeyOrTampered)
        );
        assert_eq!(c.decrypt("enc:v1:AAAA", "x"), Err(DecryptError::Malformed));
        assert_eq!(c.decrypt("enc:v1:!!", "x"), Err(DecryptError::Malformed));
        assert_eq!(c.decrypt("plain", "x"), Err(DecryptError::NotSealed));
        assert_eq!(c.open("plain", "x").unwrap(), "plain");
        assert_eq!(
            k.clone().cipher().open(&s, "dest-1/apiKey").unwrap(),
            "s3cret"
        );
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let k = Key::generate();
        assert_eq!(Key::parse(&k.to_base64()).unwrap(), k);
        assert_eq!(Key::parse(&format!(" {}\n", k.to_base64())).unwrap(), k);
        assert!(Key::parse(&STANDARD.encode([0u8; 16]))
            .unwrap_err()
            .contains("exactly 32 bytes, got 16"));
        assert!(Key::parse("not base64!").unwrap_err().contains("base64"));
        assert_eq!(format!("{k:?}"), "Key(..)");
    }

    #[test]
    fn sqlite_files_from_urls() {
        assert_eq!(
            sqlite_file("sqlite://herald.db?mode=rwc").as_deref(),
            Some("herald.db")
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/herald/h.db").as_deref(),
            Some("/var/lib/herald/h.db")
        );
        assert_eq!(sqlite_file("sqlite:data.db").as_deref(), Some("data.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }

    fn args(url: &str, key: Option<&str>, file: Option<&str>) -> DbArgs {
        DbArgs {
            database_url: url.into(),
            jwt_secret: None,
            encryption_key: key.map(Into::into),
            encryption_key_file: file.map(Into::into),
        }
    }

    #[test]
    fn key_resolution() {
        let err = resolve_key(&args("postgres://h/db", None, None)).unwrap_err();
        assert!(err
            .to_string()
            .contains("HERALD_ENCRYPTION_KEY is required"));
        let err = resolve_key(&args("postgres://h/db", Some("c2hvcnQ="), None)).unwrap_err();
        assert!(err.to_string().contains("exactly 32 bytes"), "{err}");
        let k = Key::generate();
        let (got, src) = resolve_key(&args("postgres://h/db", Some(&k.to_base64()), None)).unwrap();
        assert_eq!((got, src), (k.clone(), KeySource::Configured));
        assert_eq!(
            resolve_key(&args("sqlite::memory:", None, None)).unwrap().1,
            KeySource::Ephemeral
        );

        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let (fresh, src) = resolve_key(&args(&url, None, None)).unwrap();
        let path = dir.path().join("h.db.key");
        assert_eq!(src, KeySource::NewFile(path.clone()));
        assert!(!path.exists(), "nothing written before the caller says so");
        assert_eq!(write_key_file(&path, &fresh).unwrap(), fresh);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second writer adopts the existing file.
        assert_eq!(write_key_file(&path, &Key::generate()).unwrap(), fresh);
        let (again, src) = resolve_key(&args(&url, None, None)).unwrap();
        assert_eq!((again, src), (fresh, KeySource::File(path.clone())));

        std::fs::write(&path, "garbage").unwrap();
        let err = resolve_key(&args(&url, None, None)).unwrap_err();
        assert!(err.to_string().contains("h.db.key"), "{err}");
        let other = dir.path().join("other.key");
        assert_eq!(
            resolve_key(&args(&url, None, Some(other.to_str().unwrap())))
                .unwrap()
                .1,
            KeySource::NewFile(other)
        );
    }
}
