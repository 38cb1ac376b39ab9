//! The classified errors a connector returns; the app turns each into a next attempt and
//! a message a person reads.

use chrono::{DateTime, Utc};

use crate::http::FetchError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// The origin answered 304; nothing changed. Not a failure.
    #[error("not modified")]
    NotModified,
    /// 410 Gone: the source should be disabled.
    #[error("the server says this address is gone for good (HTTP 410)")]
    Gone,
    /// The resource moved permanently and the connector did not follow.
    #[error("moved permanently to {0}")]
    Moved(url::Url),
    /// 429 or 503, possibly with Retry-After.
    #[error("rate limited by the server{}", retry_after.map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M:%S UTC"))).unwrap_or_default())]
    RateLimited { retry_after: Option<DateTime<Utc>> },
    /// 401/403 or a bot-challenge page.
    #[error("blocked: {0}")]
    Blocked(String),
    /// The document could not be read; the message is the parser's reason.
    #[error("invalid document: {0}")]
    Invalid(String),
    /// Any other HTTP status.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// DNS, TCP, TLS, timeouts.
    #[error("network error: {0}")]
    Network(String),
    /// The app's request slots for the host stayed taken (by other sources) for this
    /// long, so nothing was sent. Not the source's failure: it is simply tried again soon.
    #[error("not polled: the host's request slots stayed busy for {secs} s")]
    HostBusy { secs: u64 },
    /// The body was over the configured limit.
    #[error("the response is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The address is private, loopback or otherwise not allowed.
    #[error("refused to fetch a forbidden address: {0}")]
    Forbidden(String),
    /// Bad parameters, or an operation the connector does not offer.
    #[error("{0}")]
    Unsupported(String),
}

impl ConnectorError {
    /// A short stable name for logs and the fetch log.
    pub fn class(&self) -> &'static str {
        match self {
            ConnectorError::NotModified => "not_modified",
            ConnectorError::Gone => "gone",
            ConnectorError::Moved(_) => "moved",
            ConnectorError::RateLimited { .. } => "rate_limited",
            ConnectorError::Blocked(_) => "blocked",
            ConnectorError::Invalid(_) => "invalid",
            ConnectorError::Status(_) => "status",
            ConnectorError::Network(_) => "network",
            ConnectorError::HostBusy { .. } => "host_busy",
            ConnectorError::TooLarge { .. } => "too_large",
            ConnectorError::Forbidden(_) => "forbidden",
            ConnectorError::Unsupported(_) => "unsupported",
        }
    }
}

impl From<FetchError> for ConnectorError {
    fn from(err: FetchError) -> Self {
        match err {
            FetchError::Forbidden(why) => ConnectorError::Forbidden(why),
            FetchError::TooLarge { limit } => ConnectorError::TooLarge { limit },
            FetchError::Timeout { secs } => {
                ConnectorError::Network(format!("no complete answer within {secs} s"))
            }
            FetchError::HostBusy { secs } => ConnectorError::HostBusy { secs },
            FetchError::TooManyRedirects { max } => {
                ConnectorError::Network(format!("more than {max} redirects"))
            }
            FetchError::BadUrl(why) => ConnectorError::Unsupported(why),
            FetchError::Network(why) => ConnectorError::Network(why),
        }
    }
}
