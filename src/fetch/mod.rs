//! The one place Tributary opens outbound connections: implements `connectors::Http` with
//! reqwest, an SSRF guard, size and time limits and per-host concurrency. Knows nothing of
//! feeds, the store or the scheduler.

pub mod guard;
pub mod headers;
pub mod signing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use connectors::{FetchError, FetchRequest, FetchResponse, Http, Signing, Validators};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::FetchConfig;
use guard::{Answers, ForbiddenAddress, GuardPolicy, GuardedResolver};
use signing::Signer;

/// Longest wait for a TCP (and TLS) connection, within the whole-request deadline.
const CONNECT_TIMEOUT_SECS: u64 = 10;
/// Response headers handed to connectors: at most this many…
const MAX_KEPT_HEADERS: usize = 64;
/// …each at most this long; longer values are dropped rather than cut, since a cut `Link`
/// or `ETag` would be wrong rather than short.
const MAX_KEPT_HEADER_BYTES: usize = 4096;
/// Headers kept first, whatever else the response carries, so junk headers cannot push
/// them out.
const IMPORTANT_HEADERS: [&str; 11] = [
    "content-type",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "etag",
    "last-modified",
    "cache-control",
    "expires",
    "retry-after",
    "x-poll-interval",
    "link",
    "date",
];
/// Bytes of a POST's reply that are read (and dropped) before the connection is reused.
const POST_REPLY_LIMIT: usize = 64 * 1024;
/// Past this many hosts the per-host semaphore map drops entries nobody is using.
const HOST_MAP_PRUNE_AT: usize = 256;
/// Initial body buffer, grown as the body arrives; never the advertised length, which a
/// server could lie about.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct FetchSetupError(String);

#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
    /// Signs requests that may be signed ([`Signing::OnDenied`]) when a server refuses them.
    signer: Option<Arc<Signer>>,
}

struct Inner {
    /// Refuses every private DNS answer (unless `allow_private_networks`).
    client: reqwest::Client,
    /// Lets the private answers of allowed names through; used only for URLs whose whole
    /// origin is allowed, so its pooled connections are to allowed origins alone. `None`
    /// when no allowed origin is a name.
    allowed_client: Option<reqwest::Client>,
    cfg: FetchConfig,
    policy: Arc<GuardPolicy>,
    /// Host → semaphore of `cfg.max_per_host` permits.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HttpClient {
    pub fn new(cfg: &FetchConfig) -> Result<HttpClient, FetchSetupError> {
        let policy = Arc::new(
            GuardPolicy::new(cfg.allow_private_networks, &cfg.allowed_private_origins)
                .map_err(FetchSetupError)?,
        );
        let client = build_client(
            cfg,
            GuardedResolver::new(Arc::clone(&policy), Answers::Public),
        )?;
        let allowed_client = if policy.allowed_hosts.is_empty() || policy.allow_private_networks {
            None
        } else {
            Some(build_client(
                cfg,
                GuardedResolver::new(Arc::clone(&policy), Answers::AllowListed),
            )?)
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                allowed_client,
                cfg: cfg.clone(),
                policy,
                hosts: Mutex::new(HashMap::new()),
            }),
            signer: None,
        })
    }

    /// Signs, as the instance actor, the requests that allow it and were refused unsigned.
    pub fn with_signer(mut self, signer: Signer) -> HttpClient {
        self.signer = Some(Arc::new(signer));
        self
    }
}

/// A reqwest client with the guard's resolver and the fetcher's fixed settings.
fn build_client(
    cfg: &FetchConfig,
    resolver: GuardedResolver,
) -> Result<reqwest::Client, FetchSetupError> {
    let connect_timeout = CONNECT_TIMEOUT_SECS.min(cfg.timeout_secs.max(1));
    reqwest::Client::builder()
        .user_agent(cfg.user_agent.as_str())
        // Redirects are followed by hand so every hop is checked by the guard and
        // counted; reqwest's policy would skip the resolver for IP-literal hops.
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        // A proxy would resolve the target name itself, out of the guard's reach.
        .no_proxy()
        .dns_resolver(resolver)
        .connect_timeout(Duration::from_secs(connect_timeout))
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .build()
        .map_err(|err| FetchSetupError(error_chain(&err)))
}

impl HttpClient {
    /// Sends a form POST (a WebSub publish ping) under the same guard, per-host permits,
    /// slot wait and deadline as GETs. Redirects are not followed; the reply body is read
    /// up to a small limit and dropped. Any final status is `Ok`.
    pub async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<u16, FetchError> {
        self.inner.post_form(url, form).await
    }
}

/// The answer to a signed POST: its status, and when the server asked us to come back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostReply {
    pub status: u16,
    pub retry_after: Option<chrono::DateTime<chrono::Utc>>,
}

impl HttpClient {
    /// POSTs `body` (an ActivityPub delivery) with `headers` (its signature), under the
    /// same guard, per-host permits, slot wait and deadline as GETs. Redirects are not
    /// followed; the reply body is read up to a small limit and dropped.
    pub async fn post_signed(
        &self,
        url: &Url,
        body: Bytes,
        headers: Vec<(header::HeaderName, header::HeaderValue)>,
    ) -> Result<PostReply, FetchError> {
        self.inner.post_signed(url, body, headers).await
    }
}

#[async_trait::async_trait]
impl Http for HttpClient {
    async fn get(&self, req: FetchRequest) -> Result<FetchResponse, FetchError> {
        let started = Instant::now();
        let url = req.url.clone();
        let signer = self.signer.as_deref();
        let result = self.inner.fetch(req, signer).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(response) => tracing::debug!(
                url = %url,
                status = response.status,
                final_url = %response.final_url,
                n_bytes = response.body.len(),
                elapsed_ms,
                "fetched"
            ),
            Err(err) => tracing::debug!(url = %url, error = %err, elapsed_ms, "fetch failed"),
        }
        result
    }

    fn allows_private_origin(&self, url: &Url) -> bool {
        // Only origins named in the config: `allow_private_networks` says nothing about
        // whether a server speaks plain http.
        self.inner.policy.origin_allowed(url)
    }
}

/// A response after redirects: the response, its URL, the hops and whether all were
/// permanent.
type Followed = (reqwest::Response, Url, usize, bool);

impl Inner {
    async fn fetch(
        &self,
        req: FetchRequest,
        signer: Option<&Signer>,
    ) -> Result<FetchResponse, FetchError> {
        guard::check_url(&req.url, &self.policy)?;
        let _permit = self.permit(&req.url).await?;
        // The deadline starts once the host's slot is ours, when the request is sent: the
        // caller gets an answer within `timeout_secs` of that whatever the server does
        // (slow headers, dripping bodies, redirect chains), and a wait behind another
        // source's slow request never counts against this one.
        let secs = self.cfg.timeout_secs;
        tokio::time::timeout(Duration::from_secs(secs), self.fetch_sent(req, signer))
            .await
            .unwrap_or(Err(FetchError::Timeout { secs }))
    }

    /// [`Inner::fetch`] once the host's slot is held.
    async fn fetch_sent(
        &self,
        req: FetchRequest,
        signer: Option<&Signer>,
    ) -> Result<FetchResponse, FetchError> {
        let limit = req
            .max_bytes
            .unwrap_or(self.cfg.max_body_bytes)
            .min(self.cfg.max_body_bytes);

        let mut followed = self.follow(&req, None).await?;
        // A server in secure mode refuses unsigned reads: ask once more, signed, every
        // hop signed for its own URL.
        if let (Signing::OnDenied, Some(signer)) = (req.sign, signer)
            && matches!(followed.0.status().as_u16(), 401 | 403)
        {
            match signer.ready().await {
                Ok(()) => {
                    tracing::debug!(url = %req.url, "refused unsigned; retrying with a signature");
                    followed = self.follow(&req, Some(signer)).await?;
                }
                // Without a key the refusal stands, and the connector hears it as such.
                Err(err) => tracing::warn!(url = %req.url, error = %err, "cannot sign"),
            }
        }
        let (mut response, current, n_hops, all_permanent) = followed;

        let status = response.status().as_u16();
        let kept_headers = keep_headers(response.headers());
        let content_type = header_str(response.headers(), &header::CONTENT_TYPE);
        let mut validators = Validators {
            etag: header_str(response.headers(), &header::ETAG),
            last_modified: header_str(response.headers(), &header::LAST_MODIFIED),
        };
        let body = if status == 304 {
            // RFC 9111 §4.3.4: a 304 updates the stored response; validators it does not
            // repeat stay as they were.
            validators.etag = validators.etag.or(req.validators.etag);
            validators.last_modified = validators.last_modified.or(req.validators.last_modified);
            Bytes::new()
        } else {
            read_body(&mut response, limit, &current).await?
        };
        let hint = headers::hint_for(status, &kept_headers, Utc::now());
        Ok(FetchResponse {
            status,
            moved_permanently_to: (n_hops > 0 && all_permanent).then(|| current.clone()),
            final_url: current,
            content_type,
            body,
            validators,
            hint,
            headers: kept_headers,
        })
    }

    async fn post_form(&self, url: &Url, form: &[(&str, &str)]) -> Result<u16, FetchError> {
        guard::check_url(url, &self.policy)?;
        let _permit = self.permit(url).await?;
        let secs = self.cfg.timeout_secs;
        let post = async {
            let mut response = self
                .client_for(url)
                .post(url.clone())
                .form(form)
                .send()
                .await
                .map_err(|err| request_error(&err, url))?;
            let status = response.status().as_u16();
            // Only the status matters; a reply too large or cut short changes nothing.
            let _ = read_body(&mut response, POST_REPLY_LIMIT, url).await;
            Ok(status)
        };
        tokio::time::timeout(Duration::from_secs(secs), post)
            .await
            .unwrap_or(Err(FetchError::Timeout { secs }))
    }

    async fn post_signed(
        &self,
        url: &Url,
        body: Bytes,
        headers: Vec<(header::HeaderName, header::HeaderValue)>,
    ) -> Result<PostReply, FetchError> {
        guard::check_url(url, &self.policy)?;
        let _permit = self.permit(url).await?;
        let secs = self.cfg.timeout_secs;
        let post = async {
            // A fan-out reaches each inbox once: kept-alive connections to a thousand
            // hosts would hold about 21 KB each until the pool let them go (measured with
            // `tributary-bench fanout`: 120 MB at 5,000 inboxes, 23 MB without).
            let mut request = self
                .client_for(url)
                .post(url.clone())
                .header(header::CONNECTION, "close")
                .body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let mut response = request
                .send()
                .await
                .map_err(|err| request_error(&err, url))?;
            let status = response.status().as_u16();
            let retry_after = header_str(response.headers(), &header::RETRY_AFTER)
                .and_then(|value| headers::parse_retry_after(&value, chrono::Utc::now()));
            let _ = read_body(&mut response, POST_REPLY_LIMIT, url).await;
            Ok(PostReply {
                status,
                retry_after,
            })
        };
        tokio::time::timeout(Duration::from_secs(secs), post)
            .await
            .unwrap_or(Err(FetchError::Timeout { secs }))
    }

    /// The client for this URL (each hop chooses again): the one that lets allowed
    /// names resolve to private addresses only when the URL's whole origin is allowed.
    fn client_for(&self, url: &Url) -> &reqwest::Client {
        match &self.allowed_client {
            Some(allowed) if self.policy.allow_listed_name(url) => allowed,
            _ => &self.client,
        }
    }

    /// Sends the request and follows redirects by hand, each hop checked by the guard.
    async fn follow(
        &self,
        req: &FetchRequest,
        signer: Option<&Signer>,
    ) -> Result<Followed, FetchError> {
        let mut current = req.url.clone();
        let mut n_hops = 0;
        let mut all_permanent = true;
        let response = loop {
            let response = self.send(&current, req, signer).await?;
            let status = response.status().as_u16();
            if !is_redirect(status) {
                break response;
            }
            // A 3xx without Location is a final answer (RFC 9110 §15.4).
            let Some(location) = response.headers().get(header::LOCATION) else {
                break response;
            };
            let location = location.to_str().map_err(|_| {
                FetchError::BadUrl(format!("{current} redirects to a non-ASCII Location"))
            })?;
            // RFC 9110 §10.2.2: Location may be relative to the URL that was requested.
            let next = current.join(location).map_err(|err| {
                FetchError::BadUrl(format!("{current} redirects to `{location}`: {err}"))
            })?;
            if n_hops >= self.cfg.max_redirects {
                return Err(FetchError::TooManyRedirects {
                    max: self.cfg.max_redirects,
                });
            }
            guard::check_url(&next, &self.policy)?;
            n_hops += 1;
            all_permanent &= matches!(status, 301 | 308);
            tracing::debug!(from = %current, to = %next, status, "following redirect");
            current = next;
        };
        Ok((response, current, n_hops, all_permanent))
    }

    /// Sends one GET, without following redirects.
    async fn send(
        &self,
        url: &Url,
        req: &FetchRequest,
        signer: Option<&Signer>,
    ) -> Result<reqwest::Response, FetchError> {
        let mut request = self
            .client_for(url)
            .get(url.clone())
            .header(header::ACCEPT, req.accept);
        if let Some(signer) = signer {
            let signed = signer.headers(url).await.map_err(FetchError::Network)?;
            // reqwest writes the same Host for the URL itself.
            for (name, value) in signed.into_iter().filter(|(name, _)| name != header::HOST) {
                request = request.header(name, value);
            }
        }
        // Stored validators came from a response header, but a stored value that is not
        // a valid header any more is skipped rather than failing the poll.
        if let Some(etag) = req.validators.etag.as_deref()
            && let Ok(value) = HeaderValue::from_str(etag)
        {
            request = request.header(header::IF_NONE_MATCH, value);
        }
        if let Some(date) = req.validators.last_modified.as_deref()
            && let Ok(value) = HeaderValue::from_str(date)
        {
            request = request.header(header::IF_MODIFIED_SINCE, value);
        }
        let same_origin = url.origin() == req.url.origin();
        for (name, value) in &req.headers {
            if let Some((name, value)) = extra_header(name, value, same_origin) {
                request = request.header(name, value);
            }
        }
        request.send().await.map_err(|err| request_error(&err, url))
    }

    /// Waits for one of the `max_per_host` permits of the URL's host, at most
    /// `slot_wait_secs` (else [`FetchError::HostBusy`]: nothing was sent); held by the
    /// caller for the whole request, redirects and body included.
    async fn permit(&self, url: &Url) -> Result<Option<OwnedSemaphorePermit>, FetchError> {
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            if hosts.len() >= HOST_MAP_PRUNE_AT {
                // A count of one is the map's own reference: nobody holds or awaits a permit.
                hosts.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
            }
            let max_per_host = self.cfg.max_per_host.max(1);
            Arc::clone(
                hosts
                    .entry(host)
                    .or_insert_with(|| Arc::new(Semaphore::new(max_per_host))),
            )
        };
        let secs = self.cfg.slot_wait_secs;
        // The semaphore is never closed, so acquiring cannot fail; if it somehow did, the
        // request goes ahead unthrottled rather than failing.
        tokio::time::timeout(Duration::from_secs(secs), semaphore.acquire_owned())
            .await
            .map(Result::ok)
            .map_err(|_| FetchError::HostBusy { secs })
    }
}

/// Request headers a connector may not set: hop-by-hop ones, framing, Host, and the ones
/// this client sets itself.
const REFUSED_REQUEST_HEADERS: [&str; 20] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
    "accept",
    "accept-encoding",
    "if-none-match",
    "if-modified-since",
    "cookie",
    "referer",
    // Set by the instance's signer alone.
    "date",
    "signature",
];

/// A connector's extra request header, checked: refused names and values that are not
/// valid header text are dropped, and `Authorization` is only sent to the origin it was
/// meant for, never to a redirect target elsewhere.
fn extra_header(name: &str, value: &str, same_origin: bool) -> Option<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
    if REFUSED_REQUEST_HEADERS.contains(&name.as_str()) {
        return None;
    }
    if !same_origin && name == header::AUTHORIZATION {
        return None;
    }
    let mut value = HeaderValue::from_str(value.trim()).ok()?;
    if name == header::AUTHORIZATION {
        value.set_sensitive(true);
    }
    Some((name, value))
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Reads the decoded body, refusing it as soon as it passes `limit`. reqwest decodes
/// gzip/brotli/deflate while streaming, so a compression bomb is cut at the limit instead
/// of being inflated whole.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
    url: &Url,
) -> Result<Bytes, FetchError> {
    // Content-Length counts encoded bytes; reqwest removes it when it decodes, and it is
    // only trusted when no Content-Encoding is left.
    let encoded = response.headers().contains_key(header::CONTENT_ENCODING);
    let advertised = header_str(response.headers(), &header::CONTENT_LENGTH)
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let (false, Some(length)) = (encoded, advertised)
        && length > limit as u64
    {
        return Err(FetchError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(INITIAL_BODY_CAPACITY.min(limit));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| request_error(&err, url))?
    {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// Turns a reqwest error into a `FetchError`: a refusal by the guarded resolver becomes
/// `Forbidden`, anything else one readable line ending with the root cause.
fn request_error(err: &reqwest::Error, url: &Url) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<ForbiddenAddress>() {
            return FetchError::Forbidden(forbidden.0.clone());
        }
        source = cause.source();
    }
    let host = url.host_str().unwrap_or("the server");
    let what = if err.is_connect() {
        "cannot connect to"
    } else if err.is_timeout() {
        "timed out talking to"
    } else if err.is_decode() {
        "cannot decode the response from"
    } else if err.is_body() {
        "error reading the response from"
    } else if err.is_builder() {
        "cannot build the request to"
    } else {
        "request failed to"
    };
    FetchError::Network(format!("{what} {host}: {}", root_cause(err)))
}

/// The innermost error's message, e.g. "Connection refused (os error 111)".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// Every message of an error chain on one line, for setup errors.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn header_str(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The response headers passed on to connectors: lower-case names (the `http` crate
/// stores them so), the important ones first, capped in number and length.
fn keep_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    let mut push = |name: &HeaderName, value: &HeaderValue| {
        if kept.len() < MAX_KEPT_HEADERS && value.len() <= MAX_KEPT_HEADER_BYTES {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            kept.push((name.as_str().to_owned(), value));
        }
    };
    for name in IMPORTANT_HEADERS {
        for value in headers.get_all(name) {
            push(&HeaderName::from_static(name), value);
        }
    }
    for (name, value) in headers {
        if !IMPORTANT_HEADERS.contains(&name.as_str()) {
            push(name, value);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_headers_put_important_ones_first_and_drop_long_values() {
        let mut headers = HeaderMap::new();
        for idx in 0..100 {
            let name = HeaderName::from_bytes(format!("x-junk-{idx}").as_bytes())
                .expect("valid header name");
            headers.insert(name, HeaderValue::from_static("junk"));
        }
        headers.insert(header::ETAG, HeaderValue::from_static("\"v1\""));
        let long = "a".repeat(MAX_KEPT_HEADER_BYTES + 1);
        headers.insert(
            header::LINK,
            HeaderValue::from_str(&long).expect("valid value"),
        );
        let kept = keep_headers(&headers);
        assert_eq!(kept.len(), MAX_KEPT_HEADERS);
        assert_eq!(kept[0], ("etag".to_owned(), "\"v1\"".to_owned()));
        assert!(kept.iter().all(|(name, _)| name != "link"));
    }

    #[test]
    fn extra_headers_refuse_hop_by_hop_and_keep_tokens_on_their_origin() {
        assert!(extra_header("Host", "evil.example", true).is_none());
        assert!(extra_header("Transfer-Encoding", "chunked", true).is_none());
        assert!(extra_header("Connection", "close", true).is_none());
        assert!(extra_header("X-Bad\nName", "v", true).is_none());
        assert!(extra_header("X-Ok", "line\nbreak", true).is_none());
        let (name, value) = extra_header("Authorization", "Bearer t", true).unwrap();
        assert_eq!(name, header::AUTHORIZATION);
        assert!(value.is_sensitive());
        assert!(extra_header("Authorization", "Bearer t", false).is_none());
        let (name, _) = extra_header("User-Agent", "Tributary test", false).unwrap();
        assert_eq!(name, header::USER_AGENT);
    }

    #[test]
    fn default_config_builds() {
        assert!(HttpClient::new(&FetchConfig::default()).is_ok());
    }

    #[test]
    fn invalid_allowed_origin_fails_setup() {
        let cfg = FetchConfig {
            allowed_private_origins: vec!["127.0.0.1:8080".to_owned()],
            ..FetchConfig::default()
        };
        assert!(HttpClient::new(&cfg).is_err());
    }
}
