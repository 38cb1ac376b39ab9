//! The loopback fixture server: a real HTTP/1.1 server on `127.0.0.1:0` whose replies are
//! set per path by the test, and which records every request it receives. Listens on
//! loopback only and never makes a request itself.
//!
//! ```ignore
//! let server = FixtureServer::start().await;
//! server.set("/feed.xml", Reply::ok(ATOM).content_type("application/atom+xml").etag("\"v1\""));
//! let url = server.url("/feed.xml");
//! // … fetch `url` with `allowed_private_origins = vec![server.origin()]` …
//! assert_eq!(server.hits("/feed.xml"), 1);
//! ```
//!
//! Replies are matched on the path only (the query string is recorded, not matched);
//! unknown paths get 404. Replies can be replaced at any time, from any thread.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::DateTime;
use futures_util::stream;
use tokio::task::JoinHandle;

/// Size of the chunks in which generated bodies ([`Reply::huge`]) are streamed.
const HUGE_CHUNK_BYTES: usize = 64 * 1024;
/// Longest request body recorded; longer ones are recorded empty.
const MAX_RECORDED_BODY: usize = 1024 * 1024;
/// Uncompressed block written repeatedly to build a gzip bomb.
const BOMB_BLOCK_BYTES: usize = 64 * 1024;

/// A running fixture server; stops when dropped.
pub struct FixtureServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case header names; repeated headers are joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The request body (a POSTed form), up to [`MAX_RECORDED_BODY`] bytes.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// What the server answers on one path. Build with [`Reply::ok`], [`Reply::status`],
/// [`Reply::redirect`], [`Reply::huge`], [`Reply::gzip_bomb`] or [`Reply::drip`], then
/// add headers with the builder methods.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: ReplyBody,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Answer 401 unless the request carries a valid HTTP Signature by this key.
    signed_by: Option<rsa::RsaPublicKey>,
}

#[derive(Clone, Debug)]
enum ReplyBody {
    Bytes(Bytes),
    /// `n` bytes generated while streaming, without a Content-Length.
    Huge(u64),
    /// One byte every `interval`, `total` bytes in all.
    Drip {
        total: u64,
        interval: Duration,
    },
}

impl Reply {
    /// 200 with this body.
    pub fn ok(body: impl Into<Bytes>) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: ReplyBody::Bytes(body.into()),
            etag: None,
            last_modified: None,
            signed_by: None,
        }
    }

    /// Served only to requests signed (draft-cavage HTTP Signatures, `rsa-sha256` over at
    /// least `(request-target) host date`) by the key whose SPKI PEM is given; others get
    /// 401. The signature is really verified.
    pub fn signed_only(mut self, public_key_pem: &str) -> Reply {
        use rsa::pkcs8::DecodePublicKey;
        let key = rsa::RsaPublicKey::from_public_key_pem(public_key_pem)
            .expect("the fixture's public key is a valid SPKI PEM");
        self.signed_by = Some(key);
        self
    }

    /// This status with an empty body.
    pub fn status(code: u16) -> Reply {
        Reply {
            status: code,
            ..Reply::ok(Bytes::new())
        }
    }

    /// A redirect (301, 302, 303, 307, 308) to `location`, sent verbatim: it may be
    /// relative or point at another scheme.
    pub fn redirect(code: u16, location: &str) -> Reply {
        Reply::status(code).header("location", location)
    }

    /// 200 with `n_bytes` of `a` generated on the fly in chunks, without Content-Length
    /// (chunked transfer encoding): a body that only a streaming limit can stop. Add
    /// `.header("content-length", …)` to announce the size.
    pub fn huge(n_bytes: u64) -> Reply {
        Reply {
            body: ReplyBody::Huge(n_bytes),
            ..Reply::ok(Bytes::new())
        }
        .content_type("application/xml")
    }

    /// 200 with `Content-Encoding: gzip` whose body inflates to `decoded_bytes` zeros.
    /// Compressed once here (zeros shrink about a thousandfold), so the wire carries
    /// little and only a limit on decoded bytes stops the client.
    pub fn gzip_bomb(decoded_bytes: u64) -> Reply {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let block = vec![0u8; BOMB_BLOCK_BYTES];
        let mut remaining = decoded_bytes;
        while remaining > 0 {
            let n = remaining.min(BOMB_BLOCK_BYTES as u64) as usize;
            encoder
                .write_all(&block[..n])
                .expect("writing to a Vec cannot fail");
            remaining -= n as u64;
        }
        let compressed = encoder.finish().expect("writing to a Vec cannot fail");
        Reply::ok(compressed)
            .content_type("application/xml")
            .header("content-encoding", "gzip")
    }

    /// 200 whose body trickles out one byte per `interval` (a tarpit): headers arrive at
    /// once, the body takes `total_bytes × interval`.
    pub fn drip(total_bytes: u64, interval: Duration) -> Reply {
        Reply {
            body: ReplyBody::Drip {
                total: total_bytes,
                interval,
            },
            ..Reply::ok(Bytes::new())
        }
        .content_type("application/xml")
    }

    /// Replaces the status, keeping body and headers (e.g. a 503 with a body).
    pub fn with_status(mut self, code: u16) -> Reply {
        self.status = code;
        self
    }

    pub fn content_type(self, value: &str) -> Reply {
        self.header("content-type", value)
    }

    /// Adds a response header (repeatable; names are case-insensitive). Panics on a
    /// name or value HTTP cannot carry, so a broken fixture fails in the test itself.
    pub fn header(mut self, name: &str, value: impl ToString) -> Reply {
        let value = value.to_string();
        assert!(
            HeaderName::from_bytes(name.as_bytes()).is_ok()
                && HeaderValue::from_str(&value).is_ok(),
            "fixture reply has an invalid header: {name}: {value}"
        );
        self.headers.push((name.to_owned(), value));
        self
    }

    /// Sends this ETag (with quotes, e.g. `"\"v1\""`) and answers a matching
    /// If-None-Match with 304 and no body.
    pub fn etag(mut self, value: &str) -> Reply {
        self.etag = Some(value.to_owned());
        self
    }

    /// Sends this Last-Modified (an HTTP-date) and answers an If-Modified-Since at or
    /// after it with 304 and no body, unless the request also has If-None-Match.
    pub fn last_modified(mut self, value: &str) -> Reply {
        self.last_modified = Some(value.to_owned());
        self
    }
}

impl FixtureServer {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub async fn start() -> FixtureServer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind a loopback port for the fixture server");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                eprintln!("fixture server stopped: {err}");
            }
        });
        FixtureServer { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT{path}`; `path` starts with `/` (and may carry a query).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://127.0.0.1:PORT`, for `fetch.allowed_private_origins`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sets (or replaces) the reply for `path`.
    pub fn set(&self, path: &str, reply: Reply) {
        lock(&self.shared.replies).insert(path.to_owned(), reply);
    }

    /// Requests received on `path` (query ignored), oldest first.
    pub fn requests(&self, path: &str) -> Vec<RecordedRequest> {
        lock(&self.shared.requests)
            .iter()
            .filter(|request| request.path == path)
            .cloned()
            .collect()
    }

    /// Every request received, on any path, oldest first.
    pub fn all_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|request| request.path == path)
            .count()
    }

    /// Forgets the requests recorded so far (replies stay).
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// How many requests the server received in all.
    pub fn total_hits(&self) -> usize {
        lock(&self.shared.requests).len()
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct Shared {
    replies: Mutex<HashMap<String, Reply>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A test that panicked while holding a lock must not hide its own failure behind a
/// poisoned-mutex panic in the server.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_RECORDED_BODY)
        .await
        .unwrap_or_default();
    let recorded = record(&parts, body);
    let path = recorded.path.clone();
    let request_headers = parts.headers.clone();
    lock(&shared.requests).push(recorded);
    let reply = lock(&shared.replies).get(&path).cloned();
    match reply {
        Some(reply) if reply.signed_by.is_some() => {
            let key = reply.signed_by.as_ref().expect("checked above");
            match verify_signature(&parts, key) {
                Ok(()) => respond(reply, &request_headers),
                Err(why) => {
                    eprintln!("fixture server: refusing {path}: {why}");
                    plain(StatusCode::UNAUTHORIZED, "a valid signature is required")
                }
            }
        }
        Some(reply) => respond(reply, &request_headers),
        None => plain(StatusCode::NOT_FOUND, "no reply set for this path"),
    }
}

/// Checks a draft-cavage `Signature` header: `rsa-sha256`, covering `(request-target)`,
/// `host` and `date`, a `Date` within five minutes, and the signature itself.
fn verify_signature(
    request: &axum::http::request::Parts,
    key: &rsa::RsaPublicKey,
) -> Result<(), String> {
    use base64::Engine;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    let header_text = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let signature = header_text("signature").ok_or("no Signature header")?;
    let mut fields = HashMap::new();
    for part in signature.split(',') {
        let (name, value) = part.split_once('=').ok_or("malformed Signature")?;
        fields.insert(
            name.trim().to_owned(),
            value.trim().trim_matches('"').to_owned(),
        );
    }
    if fields.get("algorithm").map(String::as_str) != Some("rsa-sha256") {
        return Err("algorithm is not rsa-sha256".into());
    }
    let signed = fields.get("headers").ok_or("no headers list")?;
    let names: Vec<&str> = signed.split(' ').collect();
    for needed in ["(request-target)", "host", "date"] {
        if !names.contains(&needed) {
            return Err(format!("{needed} is not signed"));
        }
    }
    let date = header_text("date").ok_or("no Date header")?;
    let when = DateTime::parse_from_rfc2822(&date).map_err(|e| format!("bad Date: {e}"))?;
    if (chrono::Utc::now() - when.to_utc()).num_seconds().abs() > 300 {
        return Err("Date is not recent".into());
    }
    let mut lines = Vec::new();
    for name in names {
        if name == "(request-target)" {
            let target = request
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_default();
            lines.push(format!(
                "(request-target): {} {target}",
                request.method.as_str().to_ascii_lowercase()
            ));
        } else {
            let value = header_text(name).ok_or(format!("signed header {name} missing"))?;
            lines.push(format!("{name}: {value}"));
        }
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(fields.get("signature").ok_or("no signature")?)
        .map_err(|e| format!("signature is not base64: {e}"))?;
    let signature = Signature::try_from(bytes.as_slice()).map_err(|e| e.to_string())?;
    VerifyingKey::<sha2::Sha256>::new(key.clone())
        .verify(lines.join("\n").as_bytes(), &signature)
        .map_err(|_| "the signature does not verify".to_owned())
}

fn record(request: &axum::http::request::Parts, body: Bytes) -> RecordedRequest {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    RecordedRequest {
        method: request.method.as_str().to_owned(),
        path: request.uri.path().to_owned(),
        query: request.uri.query().map(str::to_owned),
        headers,
        body,
    }
}

fn respond(reply: Reply, request_headers: &HeaderMap) -> Response {
    let not_modified = is_not_modified(&reply, request_headers);
    let status = if not_modified { 304 } else { reply.status };
    let body = if not_modified {
        Body::empty()
    } else {
        match reply.body {
            ReplyBody::Bytes(bytes) => Body::from(bytes),
            ReplyBody::Huge(n_bytes) => huge_body(n_bytes),
            ReplyBody::Drip { total, interval } => drip_body(total, interval),
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    // RFC 9110 §15.4.5: a 304 repeats the validators a 200 would have carried.
    if let Some(etag) = &reply.etag {
        append(headers, "etag", etag);
    }
    if let Some(date) = &reply.last_modified {
        append(headers, "last-modified", date);
    }
    if !not_modified {
        for (name, value) in &reply.headers {
            append(headers, name, value);
        }
    }
    response
}

/// RFC 9110 §13.1.2 and §13.1.3: If-None-Match (weak comparison) wins; If-Modified-Since
/// only counts when there is no If-None-Match.
fn is_not_modified(reply: &Reply, request_headers: &HeaderMap) -> bool {
    if !(200..300).contains(&reply.status) {
        return false;
    }
    if let Some(if_none_match) = request_headers.get(header::IF_NONE_MATCH) {
        let Some(etag) = &reply.etag else {
            return false;
        };
        let if_none_match = if_none_match.to_str().unwrap_or("");
        return if_none_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || weak(tag) == weak(etag));
    }
    let (Some(since), Some(modified)) = (
        request_headers.get(header::IF_MODIFIED_SINCE),
        &reply.last_modified,
    ) else {
        return false;
    };
    let since = since.to_str().unwrap_or("");
    match (
        DateTime::parse_from_rfc2822(since),
        DateTime::parse_from_rfc2822(modified),
    ) {
        (Ok(since), Ok(modified)) => since >= modified,
        _ => since == modified,
    }
}

fn weak(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) {
    match (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        (Ok(name), Ok(value)) => {
            headers.append(name, value);
        }
        // Checked in `Reply::header`; an invalid ETag or Last-Modified is left out.
        _ => eprintln!("fixture server: skipping invalid header {name}: {value}"),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// Streams `n_bytes` of `a` in fixed chunks; only one chunk exists in memory at a time.
fn huge_body(n_bytes: u64) -> Body {
    let chunk = Bytes::from(vec![b'a'; HUGE_CHUNK_BYTES]);
    let chunks = stream::unfold(n_bytes, move |remaining| {
        let chunk = chunk.clone();
        async move {
            if remaining == 0 {
                return None;
            }
            let n = remaining.min(HUGE_CHUNK_BYTES as u64);
            Some((
                Ok::<Bytes, Infallible>(chunk.slice(..n as usize)),
                remaining - n,
            ))
        }
    });
    Body::from_stream(chunks)
}

/// Streams `total` bytes, sleeping `interval` before each one.
fn drip_body(total: u64, interval: Duration) -> Body {
    let drops = stream::unfold(total, move |remaining| async move {
        if remaining == 0 {
            return None;
        }
        tokio::time::sleep(interval).await;
        Some((
            Ok::<Bytes, Infallible>(Bytes::from_static(b"x")),
            remaining - 1,
        ))
    });
    Body::from_stream(drops)
}
