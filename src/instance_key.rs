//! The instance actor's RSA key pair (a `federation::signature::KeyPair`). Generated on
//! first use and kept as PKCS#8 PEM beside the database (`tributary.db` →
//! `tributary.actor.pem`, mode 0600); `fetch::signing` signs with it and `/actor`
//! publishes its public half. No network, no signing of its own.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::federation::signature::KeyPair;

/// Size of the instance key (what `KeyPair::generate` makes).
pub const KEY_BITS: usize = 2048;
/// `tributary.db` → `tributary.actor.pem`.
pub fn key_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("actor.pem")
}

/// The instance's key pair.
pub struct InstanceKey {
    pair: KeyPair,
}

impl InstanceKey {
    /// Reads the key at `path`, or generates and stores one when there is none.
    pub fn load_or_create(path: &Path) -> std::io::Result<InstanceKey> {
        match std::fs::read_to_string(path) {
            Ok(pem) => return InstanceKey::from_pem(&pem, path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let pem = KeyPair::generate()
            .map_err(|err| std::io::Error::other(err.to_string()))?
            .private_pem();
        write_new(path, pem.as_bytes())?;
        // Another process may have won the race: whatever is on disk now is the key.
        let pem = std::fs::read_to_string(path)?;
        InstanceKey::from_pem(&pem, path)
    }

    fn from_pem(pem: &str, path: &Path) -> std::io::Result<InstanceKey> {
        let pair = KeyPair::from_private_pem(pem).map_err(|err| {
            std::io::Error::other(format!(
                "{} is not a PKCS#8 RSA key ({err}); remove it to make a new one",
                path.display()
            ))
        })?;
        Ok(InstanceKey { pair })
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_pem(&self) -> &str {
        self.pair.public_pem()
    }

    /// The key pair, to sign with (`federation::signature::sign_get`, `sign_post`).
    pub fn pair(&self) -> &KeyPair {
        &self.pair
    }
}

/// Writes a new file with mode 0600 without ever replacing one: a temp file, then a hard
/// link, which fails if the name exists.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("pem.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = options
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| match std::fs::hard_link(&tmp, path) {
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        });
    let _ = std::fs::remove_file(&tmp);
    result
}

/// The instance key, loaded (or generated) once, on first use, and shared.
#[derive(Clone)]
pub struct InstanceKeyCell {
    path: PathBuf,
    cell: Arc<OnceLock<Result<Arc<InstanceKey>, String>>>,
}

impl InstanceKeyCell {
    /// The key kept beside the database at `db_path`.
    pub fn beside(db_path: &Path) -> InstanceKeyCell {
        InstanceKeyCell {
            path: key_path(db_path),
            cell: Arc::default(),
        }
    }

    /// Blocking: may read the file or generate a key.
    pub fn get_blocking(&self) -> Result<Arc<InstanceKey>, String> {
        self.cell
            .get_or_init(|| {
                InstanceKey::load_or_create(&self.path)
                    .map(Arc::new)
                    .map_err(|err| format!("instance key {}: {err}", self.path.display()))
            })
            .clone()
    }

    pub async fn get(&self) -> Result<Arc<InstanceKey>, String> {
        if let Some(done) = self.cell.get() {
            return done.clone();
        }
        let cell = self.clone();
        tokio::task::spawn_blocking(move || cell.get_blocking())
            .await
            .map_err(|err| format!("instance key: {err}"))?
    }
}

/// `{base_url}/actor#main-key`.
pub fn key_id(base_url: &str) -> String {
    format!("{}/actor#main-key", base_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::signature::{Inbound, Scheme, sign_get, verify};

    #[test]
    fn key_is_created_once_reused_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tributary.db");
        let path = key_path(&db);
        assert_eq!(path.file_name().unwrap(), "tributary.actor.pem");
        let key = InstanceKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let file = std::fs::read_to_string(&path).unwrap();
        assert!(file.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{file}");
        assert!(!file.contains('\r'));
        let again = InstanceKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_pem(), again.public_pem());
        assert!(key.public_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));

        // What the reloaded key signs verifies with the public key first published.
        let url = url::Url::parse("https://social.example/users/bob/outbox").unwrap();
        let now = std::time::SystemTime::now();
        let signed = sign_get(
            again.pair(),
            "https://t.example/actor#main-key",
            &url,
            Scheme::Cavage,
            now,
        )
        .unwrap();
        let headers: http::HeaderMap = signed.into_iter().collect();
        let inbound = Inbound {
            method: &http::Method::GET,
            target_uri: &url,
            headers: &headers,
            body: b"",
        };
        assert!(verify(&inbound, key.public_pem(), now).is_ok());
    }

    /// A key file as earlier versions wrote it (the `rsa` crate's PKCS#8 PEM, LF line
    /// ends) is read, and gives the same public key.
    #[test]
    fn a_key_file_of_earlier_versions_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.actor.pem");
        std::fs::write(&path, OLD_KEY_FILE).unwrap();
        let key = InstanceKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_pem(), OLD_PUBLIC_PEM);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), OLD_KEY_FILE);
    }

    /// A PKCS#8 PEM key file as `openssl genpkey` and the `rsa` crate of earlier versions
    /// write it, and its public half as `openssl pkey -pubout` writes it.
    const OLD_KEY_FILE: &str =
        include_str!("../tests/it/fixtures/federation/instance_key_pkcs8.pem");
    const OLD_PUBLIC_PEM: &str =
        include_str!("../tests/it/fixtures/federation/instance_key_pkcs8.pub.pem");

    #[test]
    fn a_broken_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.actor.pem");
        std::fs::write(&path, "junk").unwrap();
        assert!(InstanceKey::load_or_create(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "junk");
    }
}
