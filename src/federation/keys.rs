//! Users' key pairs: RSA 2048, made on first use and kept in `user_keys`, cached in
//! memory once read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::FederationError;
use super::signature::KeyPair;
use crate::model::UserId;
use crate::store::{Store, federation as db};

/// A user's key pair, read, and its public half as PEM text.
pub struct UserKey {
    pub pair: KeyPair,
    pub public_pem: String,
}

/// Keys read (or made) so far.
pub struct KeyCache {
    store: Store,
    keys: Mutex<HashMap<UserId, Arc<UserKey>>>,
}

impl KeyCache {
    pub fn new(store: Store) -> KeyCache {
        KeyCache {
            store,
            keys: Mutex::default(),
        }
    }

    pub async fn get(&self, user: UserId) -> Result<Arc<UserKey>, FederationError> {
        if let Some(key) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
        {
            return Ok(key.clone());
        }
        let stored = self
            .store
            .read(move |conn| db::user_key(conn, user))
            .await?;
        let (private_pem, public_pem) = match stored {
            Some(pair) => pair,
            None => {
                let (private_pem, public_pem) = tokio::task::spawn_blocking(generate)
                    .await
                    .map_err(|err| FederationError::Key(err.to_string()))??;
                // Two requests may race: the first stored pair is the one kept.
                self.store
                    .write_quiet(move |tx| {
                        db::put_user_key(tx, user, &private_pem, &public_pem, chrono::Utc::now())
                    })
                    .await?
            }
        };
        let pair = KeyPair::from_private_pem(&private_pem)
            .map_err(|err| FederationError::Key(err.to_string()))?;
        let key = Arc::new(UserKey { pair, public_pem });
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user, key.clone());
        Ok(key)
    }
}

/// A new RSA 2048 key pair: (PKCS#8 PEM, SPKI PEM).
fn generate() -> Result<(String, String), FederationError> {
    let pair = KeyPair::generate().map_err(|err| FederationError::Key(err.to_string()))?;
    Ok((pair.private_pem(), pair.public_pem().to_owned()))
}
