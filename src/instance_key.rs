//! The instance actor's RSA key pair. Generated on first use and kept as PKCS#8 PEM beside
//! the database (`tributary.db` → `tributary.actor.pem`, mode 0600); `fetch::signing`
//! signs with it and `/actor` publishes its public half.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// Size of the instance key.
pub const KEY_BITS: usize = 2048;
/// `tributary.db` → `tributary.actor.pem`.
pub fn key_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("actor.pem")
}

/// The instance's key pair.
pub struct InstanceKey {
    signing: SigningKey<Sha256>,
    public_pem: String,
}

impl InstanceKey {
    /// Reads the key at `path`, or generates and stores one when there is none.
    pub fn load_or_create(path: &Path) -> std::io::Result<InstanceKey> {
        match std::fs::read_to_string(path) {
            Ok(pem) => return InstanceKey::from_pem(&pem, path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(|err| std::io::Error::other(format!("cannot generate a key: {err}")))?;
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| std::io::Error::other(format!("cannot encode the key: {err}")))?;
        write_new(path, pem.as_bytes())?;
        // Another process may have won the race: whatever is on disk now is the key.
        let pem = std::fs::read_to_string(path)?;
        InstanceKey::from_pem(&pem, path)
    }

    fn from_pem(pem: &str, path: &Path) -> std::io::Result<InstanceKey> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|err| {
            std::io::Error::other(format!(
                "{} is not a PKCS#8 RSA key ({err}); remove it to make a new one",
                path.display()
            ))
        })?;
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|err| std::io::Error::other(format!("cannot encode the key: {err}")))?;
        Ok(InstanceKey {
            signing: SigningKey::<Sha256>::new(private),
            public_pem,
        })
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        self.signing.sign(data).to_vec()
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
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;

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
        let again = InstanceKey::load_or_create(&path).unwrap();
        assert_eq!(key.public_pem(), again.public_pem());
        let public = RsaPublicKey::from_public_key_pem(key.public_pem()).unwrap();
        let signature = Signature::try_from(again.sign(b"text").as_slice()).unwrap();
        assert!(
            VerifyingKey::<Sha256>::new(public)
                .verify(b"text", &signature)
                .is_ok()
        );
    }

    #[test]
    fn a_broken_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.actor.pem");
        std::fs::write(&path, "junk").unwrap();
        assert!(InstanceKey::load_or_create(&path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "junk");
    }
}
