//! The federation service: Tributary's side of ActivityPub. Users' actors and keys, the
//! inbox (verify, then follow, comment, like, share, delete, move), the outbox queue
//! (new and changed items become activities) and the delivery queue (signed POSTs to
//! followers' inboxes, retried with back-off). Web pages and the CLI reach federation
//! only through [`Federation`].

pub mod actors;
pub mod controls;
pub mod delivery;
pub mod documents;
pub mod inbox;
pub mod keys;
pub mod outbox;
pub mod receive;
pub mod signature;

use std::sync::Arc;

use crate::config::Config;
use crate::fetch::HttpClient;
use crate::model::UserId;
use crate::store::{Store, StoreError};

/// Why a federation step failed.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot make or read a key: {0}")]
    Key(String),
    #[error("{0}")]
    Setup(String),
}

/// The federation service; cheap to clone.
#[derive(Clone)]
pub struct Federation {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: Arc<Config>,
    http: HttpClient,
    keys: keys::KeyCache,
    /// Wakes the delivery worker when something is queued.
    wake: tokio::sync::Notify,
    /// Keys fetched again after a failed check.
    refetches: receive::Refetches,
}

impl Federation {
    pub fn new(store: Store, config: Arc<Config>, http: HttpClient) -> Federation {
        Federation {
            inner: Arc::new(Inner {
                keys: keys::KeyCache::new(store.clone()),
                store,
                config,
                http,
                wake: tokio::sync::Notify::new(),
                refetches: receive::Refetches::default(),
            }),
        }
    }

    /// The service with its own fetcher (key fetches, deliveries): the config's guard
    /// and limits, signing reads as the instance actor when a server refuses unsigned
    /// ones.
    pub fn for_instance(
        store: Store,
        config: Arc<Config>,
        instance_key: crate::instance_key::InstanceKeyCell,
    ) -> Result<Federation, FederationError> {
        let http = HttpClient::new(&config.fetch)
            .map_err(|err| FederationError::Setup(format!("cannot set up the fetcher: {err}")))?
            .with_signer(crate::fetch::signing::Signer::new(
                instance_key,
                &config.base_url(),
            ));
        Ok(Federation::new(store, config, http))
    }

    /// The instance's public URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.inner.config.base_url()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The user's public key (SPKI PEM), made on first use.
    pub async fn public_key_pem(&self, user: UserId) -> Result<String, FederationError> {
        Ok(self.inner.keys.get(user).await?.public_pem.clone())
    }

    /// The user's key pair, made on first use.
    pub async fn user_key(&self, user: UserId) -> Result<Arc<keys::UserKey>, FederationError> {
        self.inner.keys.get(user).await
    }
}

impl Federation {
    /// Stores an outgoing activity and its deliveries, in the caller's transaction (call
    /// [`Federation::wake`] after the commit).
    pub fn queue_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        user: UserId,
        uri: &str,
        body: &serde_json::Value,
        inboxes: &[String],
    ) -> Result<usize, StoreError> {
        let dead_after =
            chrono::TimeDelta::days(self.inner.config.federation.dead_host_days as i64);
        crate::store::federation::queue_activity(
            tx,
            user,
            uri,
            &body.to_string(),
            inboxes,
            dead_after,
            chrono::Utc::now(),
        )
    }
}

/// `B/{user}`: a user's actor id.
pub fn actor_uri(base: &str, user: &str) -> String {
    format!("{base}/{user}")
}

/// `B/{user}#main-key`: a user's key id.
pub fn key_id(base: &str, user: &str) -> String {
    format!("{base}/{user}#main-key")
}
