//! Signed GETs as the instance actor (draft-cavage, `rsa-sha256` over
//! `(request-target) host date`, through `federation::signature`), for ActivityPub
//! servers that refuse unsigned reads (Mastodon's secure mode). No network of its own.

use http::{HeaderName, HeaderValue};
use url::Url;

use crate::federation::signature::{self, Scheme};
pub use crate::instance_key::{InstanceKeyCell, key_id};

/// The headers every signature covers, in this order.
pub const SIGNED_HEADERS: &str = "(request-target) host date";

/// Signs outbound requests as the instance actor.
#[derive(Clone)]
pub struct Signer {
    key: InstanceKeyCell,
    key_id: String,
}

impl Signer {
    /// `base_url` is the instance's public URL; the key id is `{base_url}/actor#main-key`.
    pub fn new(key: InstanceKeyCell, base_url: &str) -> Signer {
        Signer {
            key,
            key_id: key_id(base_url),
        }
    }

    /// Loads (or makes) the key; an error means requests cannot be signed.
    pub async fn ready(&self) -> Result<(), String> {
        self.key.get().await.map(|_| ())
    }

    /// The headers that sign a GET of `url` now: `Date` and `Signature` (and `Host`,
    /// which the client sends itself for the same URL).
    pub async fn headers(&self, url: &Url) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let key = self.key.get().await?;
        signature::sign_get(
            key.pair(),
            &self.key_id,
            url,
            Scheme::Cavage,
            std::time::SystemTime::now(),
        )
        .map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::signature::{Inbound, verify};

    #[tokio::test]
    async fn a_signed_get_covers_target_host_and_date_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = InstanceKeyCell::beside(&dir.path().join("t.db"));
        let signer = Signer::new(key.clone(), "http://127.0.0.1:8080/");
        let url = Url::parse("http://127.0.0.1:9090/users/ana/outbox?page=true").unwrap();
        let headers: http::HeaderMap = signer.headers(&url).await.unwrap().into_iter().collect();
        assert_eq!(headers["host"], "127.0.0.1:9090");
        let value = headers["signature"].to_str().unwrap();
        assert!(
            value.starts_with(
                "keyId=\"http://127.0.0.1:8080/actor#main-key\",algorithm=\"rsa-sha256\","
            ),
            "{value}"
        );
        assert!(
            value.contains(&format!("headers=\"{SIGNED_HEADERS}\"")),
            "{value}"
        );
        let public = key.get().await.unwrap().public_pem().to_owned();
        let inbound = Inbound {
            method: &http::Method::GET,
            target_uri: &url,
            headers: &headers,
            body: b"",
        };
        assert!(verify(&inbound, &public, std::time::SystemTime::now()).is_ok());
    }

    #[test]
    fn host_header_leaves_out_the_default_port() {
        let https = Url::parse("https://social.example:443/x").unwrap();
        assert_eq!(signature::host_header(&https), "social.example");
        let other = Url::parse("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(signature::host_header(&other), "127.0.0.1:8080");
    }
}
