//! Secrets (bearer tokens, app secrets): the OS keyring where the platform has a persistent
//! one (Windows Credential Manager, macOS Keychain), an encrypted file otherwise.
//!
//! The encrypted file (`secrets.json`) holds one ChaCha20-Poly1305 box per name, with the name
//! as associated data so boxes cannot be swapped between names. Its key is derived with
//! Argon2id from the passphrase in `PACKBENCH_SECRETS_PASSPHRASE` when that is set, otherwise
//! it is a random key in `secrets.key` beside the file (mode 0600 on Unix). The second form
//! protects against the file being copied alone (a backup, a support bundle), not against
//! someone who can read the whole directory — say so to the integrator, and prefer the keyring
//! or a passphrase where that matters.
//!
//! Linux has no persistent keyring without a D-Bus secret service, so `Auto` picks the file
//! there (the kernel keyutils store is compiled in and can be chosen explicitly, but forgets
//! everything at reboot). CI machines without a keyring daemon therefore just work.
//!
//! A [`Secret`] never prints: `Debug` shows `***` and there is no `Display`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Environment variable holding the passphrase of the encrypted secrets file, if any.
pub const PASSPHRASE_ENV: &str = "PACKBENCH_SECRETS_PASSPHRASE";
/// Service name under which keyring entries are stored.
pub const KEYRING_SERVICE: &str = "packbench";

/// A secret value. Never logged: `Debug` prints `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(v: impl Into<String>) -> Secret {
        Secret(v.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Errors of the secret stores. They name the secret and the place, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The OS keyring refused.
    #[error("keyring entry {name}: {message}")]
    Keyring {
        /// Secret name.
        name: String,
        /// What the keyring said.
        message: String,
    },
    /// The secrets file or its key could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The secrets file is damaged, or the key/passphrase does not open it.
    #[error("{path}: {message}")]
    Corrupt {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Not available on this platform.
    #[error("{0}")]
    Unsupported(String),
}

/// Where secrets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The OS keyring on Windows and macOS, the encrypted file elsewhere.
    #[default]
    Auto,
    /// The OS keyring (on Linux: kernel keyutils, not persistent across reboots).
    Keyring,
    /// The encrypted file.
    File,
}

/// A place to keep secrets by name.
pub trait SecretStore: Send {
    /// Which backend this is (`keyring` or `file`).
    fn backend(&self) -> &'static str;
    /// Reads a secret.
    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError>;
    /// Stores a secret (replacing any earlier value).
    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError>;
    /// Removes a secret; removing a missing one is fine.
    fn delete(&self, name: &str) -> Result<(), SecretError>;
}

/// Opens the store for `backend`; the file store lives in `dir`.
pub fn open(backend: Backend, dir: &Path) -> Result<Box<dyn SecretStore>, SecretError> {
    let use_keyring = match backend {
        Backend::Keyring => true,
        Backend::File => false,
        Backend::Auto => cfg!(any(windows, target_os = "macos")),
    };
    if use_keyring {
        Ok(Box::new(KeyringStore {
            service: KEYRING_SERVICE.into(),
        }))
    } else {
        Ok(Box::new(FileStore::open(dir)?))
    }
}

/// Secrets in the OS keyring.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// A keyring store under `service`.
    pub fn new(service: &str) -> KeyringStore {
        KeyringStore {
            service: service.into(),
        }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, name).map_err(|e| SecretError::Keyring {
            name: name.into(),
            message: e.to_string(),
        })
    }
}

impl SecretStore for KeyringStore {
    fn backend(&self) -> &'static str {
        "keyring"
    }

    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        match self.entry(name)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Keyring {
                name: name.into(),
                message: e.to_string(),
            }),
        }
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        self.entry(name)?
            .set_password(value.expose())
            .map_err(|e| SecretError::Keyring {
                name: name.into(),
                message: e.to_string(),
            })
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError::Keyring {
                name: name.into(),
                message: e.to_string(),
            }),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileBody {
    version: u32,
    /// Hex of the Argon2 salt when the key comes from a passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    /// name → hex(nonce ‖ ciphertext).
    entries: BTreeMap<String, String>,
}

/// Secrets in an encrypted file.
pub struct FileStore {
    path: PathBuf,
    key: [u8; 32],
    salt: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SecretError> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

impl FileStore {
    /// Opens (or prepares) `dir/secrets.json`, keyed as the module docs describe.
    pub fn open(dir: &Path) -> Result<FileStore, SecretError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join("secrets.json");
        let body = Self::read_body(&path)?;
        match std::env::var(PASSPHRASE_ENV) {
            Ok(pass) if !pass.is_empty() => {
                let salt = match body.salt {
                    Some(s) => s,
                    None => hex::encode(rand::random::<[u8; 16]>()),
                };
                let salt_bytes = hex::decode(&salt).map_err(|e| SecretError::Corrupt {
                    path: path.clone(),
                    message: format!("salt: {e}"),
                })?;
                let mut key = [0u8; 32];
                argon2::Argon2::default()
                    .hash_password_into(pass.as_bytes(), &salt_bytes, &mut key)
                    .map_err(|e| SecretError::Corrupt {
                        path: path.clone(),
                        message: format!("key derivation: {e}"),
                    })?;
                Ok(FileStore {
                    path,
                    key,
                    salt: Some(salt),
                })
            }
            _ => {
                let key_path = dir.join("secrets.key");
                let key = match std::fs::read(&key_path) {
                    Ok(k) => {
                        <[u8; 32]>::try_from(k.as_slice()).map_err(|_| SecretError::Corrupt {
                            path: key_path.clone(),
                            message: format!("key file must hold 32 bytes, has {}", k.len()),
                        })?
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let k: [u8; 32] = rand::random();
                        write_private(&key_path, &k)?;
                        k
                    }
                    Err(e) => return Err(io(&key_path)(e)),
                };
                Ok(FileStore {
                    path,
                    key,
                    salt: None,
                })
            }
        }
    }

    fn read_body(path: &Path) -> Result<FileBody, SecretError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| SecretError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileBody {
                version: 1,
                ..FileBody::default()
            }),
            Err(e) => Err(io(path)(e)),
        }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.key))
    }

    fn save(&self, mut body: FileBody) -> Result<(), SecretError> {
        body.version = 1;
        body.salt.clone_from(&self.salt);
        let bytes = serde_json::to_vec_pretty(&body).map_err(|e| SecretError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_private(&self.path, &bytes)
    }
}

impl SecretStore for FileStore {
    fn backend(&self) -> &'static str {
        "file"
    }

    fn get(&self, name: &str) -> Result<Option<Secret>, SecretError> {
        let body = Self::read_body(&self.path)?;
        let Some(h) = body.entries.get(name) else {
            return Ok(None);
        };
        let corrupt = |message: String| SecretError::Corrupt {
            path: self.path.clone(),
            message: format!("entry {name}: {message}"),
        };
        let raw = hex::decode(h).map_err(|e| corrupt(e.to_string()))?;
        if raw.len() < 12 {
            return Err(corrupt("too short".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| corrupt("cannot decrypt (wrong key or passphrase, or tampered)".into()))?;
        String::from_utf8(plain)
            .map(|s| Some(Secret(s)))
            .map_err(|_| corrupt("not UTF-8".into()))
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), SecretError> {
        let mut body = Self::read_body(&self.path)?;
        let nonce: [u8; 12] = rand::random();
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.expose().as_bytes(),
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Corrupt {
                path: self.path.clone(),
                message: format!("entry {name}: encryption failed"),
            })?;
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&ct);
        body.entries.insert(name.to_string(), hex::encode(raw));
        self.save(body)
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        let mut body = Self::read_body(&self.path)?;
        if body.entries.remove(name).is_some() {
            self.save(body)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_store_round_trip_and_values_are_not_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let st = FileStore::open(dir.path()).unwrap();
        assert_eq!(st.get("oc.token").unwrap(), None);
        st.set("oc.token", &Secret::new("tok-123-secret")).unwrap();
        st.set("jst.app_secret", &Secret::new("s2")).unwrap();
        let again = FileStore::open(dir.path()).unwrap();
        assert_eq!(
            again.get("oc.token").unwrap(),
            Some(Secret::new("tok-123-secret"))
        );
        let raw = std::fs::read_to_string(dir.path().join("secrets.json")).unwrap();
        assert!(!raw.contains("tok-123-secret"));
        again.delete("oc.token").unwrap();
        again.delete("oc.token").unwrap();
        assert_eq!(again.get("oc.token").unwrap(), None);
        assert_eq!(
            again.get("jst.app_secret").unwrap(),
            Some(Secret::new("s2"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(dir.path().join("secrets.key")).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn swapped_or_tampered_entries_do_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let st = FileStore::open(dir.path()).unwrap();
        st.set("a", &Secret::new("one")).unwrap();
        st.set("b", &Secret::new("two")).unwrap();
        let p = dir.path().join("secrets.json");
        let mut body: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let a = body["entries"]["a"].clone();
        body["entries"]["b"] = a;
        std::fs::write(&p, serde_json::to_vec(&body).unwrap()).unwrap();
        let e = st.get("b").unwrap_err().to_string();
        assert!(e.contains("entry b") && e.contains("cannot decrypt"), "{e}");
        assert!(!e.contains("one"));
    }
}
