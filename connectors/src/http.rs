//! The Http port: what a connector may ask of the network, and what it gets back.
//!
//! The app implements [`Http`] (with reqwest, an SSRF guard, size and time limits); this
//! crate only describes requests and classifies responses.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use url::Url;

use crate::error::ConnectorError;

/// `Accept` for feed documents, most specific first.
pub const ACCEPT_FEEDS: &str = "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

#[async_trait::async_trait]
pub trait Http: Send + Sync {
    /// Sends a GET, following redirects within the app's limits. Any final HTTP status is
    /// `Ok`; `Err` means no usable response (refused address, size, time, network).
    async fn get(&self, req: FetchRequest) -> Result<FetchResponse, FetchError>;

    /// Whether the app lets connectors reach this URL's origin although it is not public
    /// (a test or intranet origin allowed in the config). Connectors use it to pick plain
    /// `http` where they would otherwise assume `https` (WebFinger on `user@host:port`).
    fn allows_private_origin(&self, url: &Url) -> bool {
        let _ = url;
        false
    }
}

/// Whether the app may sign a request with the instance's key (HTTP Signatures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Signing {
    /// Never signed.
    #[default]
    Never,
    /// Sent unsigned first; repeated once, signed, when the answer is 401 or 403.
    OnDenied,
}

#[derive(Clone, Debug)]
pub struct FetchRequest {
    pub url: Url,
    pub accept: &'static str,
    /// Sent as If-None-Match / If-Modified-Since.
    pub validators: Validators,
    /// A lower body limit than the app's default, if the connector wants one.
    pub max_bytes: Option<usize>,
    /// Whether the app may sign the request (ActivityPub servers in secure mode).
    pub sign: Signing,
    /// Extra request headers (a site's token, a descriptive User-Agent). The app refuses
    /// hop-by-hop, Host and the headers it sets itself.
    pub headers: Vec<(String, String)>,
}

impl FetchRequest {
    pub fn new(url: Url, accept: &'static str) -> FetchRequest {
        FetchRequest {
            url,
            accept,
            validators: Validators::default(),
            max_bytes: None,
            sign: Signing::Never,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> FetchRequest {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn with_validators(mut self, validators: Validators) -> FetchRequest {
        self.validators = validators;
        self
    }
}

#[derive(Clone, Debug)]
pub struct FetchResponse {
    pub status: u16,
    /// The URL after redirects.
    pub final_url: Url,
    /// Set when every redirect hop from the requested URL was permanent (301/308): the
    /// address to store instead of the old one.
    pub moved_permanently_to: Option<Url>,
    pub content_type: Option<String>,
    /// Decoded body; empty on 304.
    pub body: Bytes,
    /// Validators of this response (ETag, Last-Modified).
    pub validators: Validators,
    /// Earliest next request the origin asked for (Retry-After, max-age, Expires).
    pub hint: PollHint,
    /// A few headers connectors may need (lower-case names), e.g. `x-poll-interval`.
    pub headers: Vec<(String, String)>,
}

impl FetchResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Classifies the status: `Ok(self)` for 2xx and 304, a [`ConnectorError`] otherwise.
    pub fn check_status(self) -> Result<FetchResponse, ConnectorError> {
        match self.status {
            200..=299 | 304 => Ok(self),
            410 => Err(ConnectorError::Gone),
            429 | 503 => Err(ConnectorError::RateLimited {
                retry_after: self.hint.not_before,
            }),
            401 | 403 => Err(ConnectorError::Blocked(format!(
                "the server refused access (HTTP {})",
                self.status
            ))),
            status => Err(ConnectorError::Status(status)),
        }
    }
}

/// Conditional-GET validators of one URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// When the origin would like to be asked again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollHint {
    pub not_before: Option<DateTime<Utc>>,
}

impl PollHint {
    /// The later of two hints.
    pub fn max(self, other: PollHint) -> PollHint {
        PollHint {
            not_before: match (self.not_before, other.not_before) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// Loopback, private, link-local… or a scheme other than http(s).
    #[error("forbidden address: {0}")]
    Forbidden(String),
    /// The decoded body passed the limit.
    #[error("body over {limit} bytes")]
    TooLarge { limit: usize },
    /// The whole request (connect, redirects, body) took longer than the deadline.
    #[error("timed out after {secs} s")]
    Timeout { secs: u64 },
    /// No request slot for the host came free within this wait; nothing was sent.
    #[error("no free request slot for the host within {secs} s")]
    HostBusy { secs: u64 },
    #[error("more than {max} redirects")]
    TooManyRedirects { max: usize },
    #[error("bad URL: {0}")]
    BadUrl(String),
    #[error("{0}")]
    Network(String),
}

/// Asks for `request`'s URL and reads the answer as a re-check: 404 or 410 is
/// [`crate::Recheck::Gone`], 2xx is `Present` (or `Gone` when `tombstone` says the body is
/// a deletion notice), anything else, or a failed request, is `Unknown`.
pub async fn recheck_url(
    http: &dyn Http,
    request: FetchRequest,
    tombstone: fn(&[u8]) -> bool,
) -> crate::Recheck {
    match http.get(request).await {
        Ok(response) => match response.status {
            404 | 410 => crate::Recheck::Gone,
            200..=299 if tombstone(&response.body) => crate::Recheck::Gone,
            200..=299 => crate::Recheck::Present,
            _ => crate::Recheck::Unknown,
        },
        Err(_) => crate::Recheck::Unknown,
    }
}
