//! HTTP Signatures (draft-cavage-http-signatures, `rsa-sha256` over
//! `(request-target) host date`) with the instance key, for ActivityPub servers that
//! refuse unsigned reads (Mastodon's secure mode).

use base64::Engine;
use url::Url;

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

    /// The `Date` and `Signature` header values for a GET of `url`.
    pub async fn headers(&self, url: &Url) -> Result<(String, String), String> {
        let key = self.key.get().await?;
        let date = http_date();
        let text = signing_string("get", url, &date);
        let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(text.as_bytes()));
        Ok((
            date,
            format!(
                "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"{SIGNED_HEADERS}\",signature=\"{signature}\"",
                self.key_id
            ),
        ))
    }
}

/// The `Host` header a client sends for `url`: the host, with the port when it is not
/// the scheme's default.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The text that is signed: one `name: value` line per signed header.
pub fn signing_string(method: &str, url: &Url, date: &str) -> String {
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    format!(
        "(request-target): {} {target}\nhost: {}\ndate: {date}",
        method.to_ascii_lowercase(),
        host_header(url)
    )
}

/// An IMF-fixdate (RFC 9110 §5.6.7).
pub fn http_date() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_string_covers_target_host_and_date() {
        let url = Url::parse("http://127.0.0.1:8080/users/ana/outbox?page=true").unwrap();
        assert_eq!(
            signing_string("GET", &url, "Tue, 01 Dec 2026 10:00:00 GMT"),
            "(request-target): get /users/ana/outbox?page=true\nhost: 127.0.0.1:8080\ndate: Tue, 01 Dec 2026 10:00:00 GMT"
        );
        let https = Url::parse("https://social.example:443/x").unwrap();
        assert_eq!(host_header(&https), "social.example");
    }
}
