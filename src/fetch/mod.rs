//! The one place Tributary opens outbound connections: implements `connectors::Http` with
//! reqwest, an SSRF guard, size and time limits and per-host concurrency.

use std::sync::Arc;

use connectors::{FetchError, FetchRequest, FetchResponse, Http};

use crate::config::FetchConfig;

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct FetchSetupError(String);

#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    #[allow(dead_code)]
    cfg: FetchConfig,
}

impl HttpClient {
    pub fn new(cfg: &FetchConfig) -> Result<HttpClient, FetchSetupError> {
        Ok(HttpClient {
            inner: Arc::new(Inner { cfg: cfg.clone() }),
        })
    }
}

#[async_trait::async_trait]
impl Http for HttpClient {
    async fn get(&self, _req: FetchRequest) -> Result<FetchResponse, FetchError> {
        let _ = &self.inner;
        Err(FetchError::Network("not yet".into()))
    }
}
