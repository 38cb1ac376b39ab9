//! Rendered documents for viewers without a session: stream pages and feed exports, kept
//! until the store's content changes (`Store::version`) or a short lifetime passes. A hit
//! costs a map lookup instead of queries and rendering; every entry carries an ETag, so a
//! conditional request gets 304.
//!
//! Correctness rests on one ordering: the version is read *before* the data is, and an
//! entry is stored only under the version it was read with. A write that lands in between
//! makes the entry stale at once, never a stale page served as fresh.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::web::error::AppError;

/// The longest a page may be served from the cache. A page with relative times ("5
/// minutes ago") is kept only until the first of them would read differently.
pub const PAGE_TTL: Duration = Duration::from_secs(300);
/// How long an export may be served from the cache (it holds no relative times).
pub const FEED_TTL: Duration = Duration::from_secs(120);
/// Bytes of bodies kept at most; past it the oldest copies go until a quarter is free.
/// Sized for the pages an instance of 100 users serves most: each user's stream page,
/// friends page and Atom document come to about 18 MB. At 16 MB, serving them in turn
/// pushed each out before it was asked for again, and every round of requests began with
/// renders (a p99 of 38 ms instead of 7 ms for `/{user}` in `bench/run`).
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// A document larger than this is not kept.
const MAX_ENTRY_BYTES: usize = 2 * 1024 * 1024;
/// Cache renders at once (about one per core).
const MAX_RENDERS: usize = 2;
/// The longest a request waits for another one rendering the same page.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Headers of a cached 200 that are sent again with it.
const KEPT_HEADERS: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CACHE_CONTROL,
];

pub struct PageCache {
    inner: Mutex<Inner>,
    /// Renders for the cache at once. When many copies lapse together, rendering them all
    /// at once would starve the requests that are served from copies meanwhile.
    renders: tokio::sync::Semaphore,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            inner: Mutex::default(),
            renders: tokio::sync::Semaphore::new(MAX_RENDERS),
        }
    }
}

#[derive(Default)]
struct Inner {
    version: u64,
    bytes: usize,
    entries: HashMap<String, Entry>,
    /// Keys being rendered now; the sender lives in the renderer's [`Lead`] and closes
    /// when it is done (or gone), which wakes everyone waiting for that key.
    in_flight: HashMap<String, watch::Receiver<()>>,
}

#[derive(Clone)]
struct Entry {
    stored_at: Instant,
    ttl: Duration,
    doc: Arc<Doc>,
}

struct Doc {
    headers: HeaderMap,
    body: Bytes,
    /// The body compressed, made on the first request that accepts each encoding and
    /// kept with the copy: a hit costs no compression.
    brotli: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
}

impl Doc {
    fn new(headers: HeaderMap, body: Bytes) -> Doc {
        Doc {
            headers,
            body,
            brotli: OnceLock::new(),
            gzip: OnceLock::new(),
        }
    }

    /// The body in `encoding`, compressed once.
    fn encoded(&self, encoding: Encoding) -> Bytes {
        let cell = match encoding {
            Encoding::Brotli => &self.brotli,
            Encoding::Gzip => &self.gzip,
        };
        cell.get_or_init(|| match encoding.compress(&self.body) {
            Ok(bytes) => Bytes::from(bytes),
            // Writing into memory does not fail; should it, the plain body is no
            // worse than an error.
            Err(_) => self.body.clone(),
        })
        .clone()
    }
}

/// The encodings a cached copy is kept in besides its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn compress(self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoding::Brotli => brotli(body),
            Encoding::Gzip => gzip(body),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The quality both encoders use: the level `web::router` compresses other responses
/// with, so a page reads the same whether it came from the cache or not.
const COMPRESSION_LEVEL: u32 = 4;
/// Brotli's window (log2 bytes): 4 MB, more than a cached document can hold.
const BROTLI_WINDOW: u32 = 22;

fn brotli(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 4);
    {
        let mut writer =
            ::brotli::CompressorWriter::new(&mut out, 4096, COMPRESSION_LEVEL, BROTLI_WINDOW);
        writer.write_all(body)?;
    }
    Ok(out)
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut writer = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(COMPRESSION_LEVEL),
    );
    writer.write_all(body)?;
    writer.finish()
}

/// Whether `doc` is of a type that goes out compressed (`web::is_compressed_type`).
fn is_compressed_type(doc: &Doc) -> bool {
    doc.headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(crate::web::is_compressed_type)
}

/// The encoding to answer `request` in, brotli before gzip (as `tower-http` chooses), when
/// the document is of a compressed type and large enough; `None` for the body as it is.
fn chosen_encoding(doc: &Doc, request: &HeaderMap) -> Option<Encoding> {
    if !is_compressed_type(doc) || doc.body.len() < crate::web::MIN_COMPRESSED_BYTES {
        return None;
    }
    let mut brotli = false;
    let mut gzip = false;
    for accepted in request.get_all(header::ACCEPT_ENCODING) {
        for coding in accepted.to_str().unwrap_or_default().split(',') {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            // `q=0` means "not this one" (RFC 9110 section 12.5.3).
            let refused = parts.any(|param| {
                let param = param.trim().replace(' ', "");
                param
                    .strip_prefix("q=")
                    .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            match name.as_str() {
                "br" => brotli = !refused,
                "gzip" | "x-gzip" => gzip = !refused,
                _ => {}
            }
        }
    }
    if brotli {
        Some(Encoding::Brotli)
    } else if gzip {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

/// What a request does for a key.
enum Lookup {
    /// Serve this copy: it is fresh, or it is past its lifetime (same content version)
    /// while another request renders its successor.
    Hit(Arc<Doc>),
    /// The copy is past its lifetime (same content version) and nobody renders its
    /// successor: serve it, and render the successor in the background.
    Refresh(Arc<Doc>, Lead),
    /// Render it; the others wait for this one instead of rendering it too.
    Lead(Lead),
    /// Another request is rendering it and there is no copy yet: wait for that one.
    Wait(watch::Receiver<()>),
}

/// The right (and duty) to render one key; dropping it lets the waiters go.
struct Lead {
    cache: Arc<PageCache>,
    key: String,
    _done: watch::Sender<()>,
}

impl Drop for Lead {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        inner.in_flight.remove(&self.key);
    }
}

impl PageCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(self: &Arc<Self>, key: &str, version: u64) -> Lookup {
        let mut inner = self.lock();
        inner.sync(version);
        let rendering = inner.in_flight.get(key).cloned();
        let stale = match (inner.entries.get(key), rendering) {
            (Some(entry), _) if entry.stored_at.elapsed() <= entry.ttl => {
                return Lookup::Hit(entry.doc.clone());
            }
            (Some(entry), Some(_)) => return Lookup::Hit(entry.doc.clone()),
            (None, Some(rendering)) => return Lookup::Wait(rendering),
            (stale, None) => stale.map(|entry| entry.doc.clone()),
        };
        let (done, waiting) = watch::channel(());
        inner.in_flight.insert(key.to_owned(), waiting);
        let lead = Lead {
            cache: self.clone(),
            key: key.to_owned(),
            _done: done,
        };
        match stale {
            Some(doc) => Lookup::Refresh(doc, lead),
            None => Lookup::Lead(lead),
        }
    }

    fn put(&self, key: String, version: u64, ttl: Duration, doc: Arc<Doc>) {
        let size = doc.body.len() + key.len();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let mut inner = self.lock();
        inner.sync(version);
        if inner.version != version {
            // Read under an older version: already stale.
            return;
        }
        if inner.bytes + size > MAX_BYTES {
            inner.evict_oldest((MAX_BYTES * 3 / 4).saturating_sub(size));
        }
        let entry = Entry {
            stored_at: Instant::now(),
            ttl,
            doc,
        };
        if let Some(old) = inner.entries.insert(key.clone(), entry) {
            inner.bytes = inner.bytes.saturating_sub(old.doc.body.len() + key.len());
        }
        inner.bytes += size;
    }

    /// Number of documents held (for tests).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Drops the longest-kept copies until at most `keep_bytes` are held, so a burst of
    /// pages seen once (random item pages) does not push out every stream page at once.
    fn evict_oldest(&mut self, keep_bytes: usize) {
        let mut by_age: Vec<(Instant, String)> = self
            .entries
            .iter()
            .map(|(key, entry)| (entry.stored_at, key.clone()))
            .collect();
        by_age.sort_unstable();
        for (_, key) in by_age {
            if self.bytes <= keep_bytes {
                break;
            }
            if let Some(entry) = self.entries.remove(&key) {
                self.bytes = self.bytes.saturating_sub(entry.doc.body.len() + key.len());
            }
        }
    }

    /// Drops every copy when the content changed since they were stored.
    fn sync(&mut self, version: u64) {
        if version > self.version {
            self.entries.clear();
            self.bytes = 0;
            self.version = version;
        }
    }
}

/// Serves `key` from the cache when it holds a copy for `version`; otherwise runs
/// `render` (one request per key at a time; the others wait for it), keeps its answer
/// when it is a 200, and answers. A copy past its lifetime whose content version is
/// unchanged (only a relative time on it reads differently now) is served at once while
/// its successor renders in a background task: no request waits on a re-render once a
/// copy exists. `render` must not look at the request's conditional headers: the 304
/// decision is made here, from the cached ETag and Last-Modified.
pub async fn serve<F>(
    cache: &Arc<PageCache>,
    version: u64,
    key: String,
    ttl: Duration,
    request_headers: &HeaderMap,
    render: F,
) -> Result<Response, AppError>
where
    F: Future<Output = Result<Response, AppError>> + Send + 'static,
{
    loop {
        let lead = match cache.lookup(&key, version) {
            Lookup::Hit(doc) => return Ok(answer(&doc, request_headers)),
            Lookup::Refresh(doc, lead) => {
                tokio::spawn(async move {
                    if let Err(err) = render_and_keep(lead, version, ttl, render).await {
                        tracing::warn!("cannot refresh a cached page: {err:?}");
                    }
                });
                return Ok(answer(&doc, request_headers));
            }
            Lookup::Wait(mut rendering) => {
                // Closed when the renderer is done; a renderer that hangs is not waited
                // for longer than this.
                let _ = tokio::time::timeout(MAX_WAIT, rendering.changed()).await;
                continue;
            }
            Lookup::Lead(lead) => lead,
        };
        return match render_and_keep(lead, version, ttl, render).await? {
            Rendered::Kept(doc) => Ok(answer(&doc, request_headers)),
            Rendered::Other(response) => Ok(response),
        };
    }
}

/// What a render for the cache gave.
enum Rendered {
    /// A 200, now in the cache.
    Kept(Arc<Doc>),
    /// Any other answer, passed on as it is and not kept.
    Other(Response),
}

/// Renders the key `lead` holds, under one of the cache's render permits, and keeps a 200.
async fn render_and_keep<F>(
    lead: Lead,
    version: u64,
    ttl: Duration,
    render: F,
) -> Result<Rendered, AppError>
where
    F: Future<Output = Result<Response, AppError>>,
{
    let cache = lead.cache.clone();
    let permit = cache.renders.acquire().await;
    let _ = crate::web::views::take_label_change();
    let response = render.await?;
    // Taken in the same poll that finished the render, on the same thread.
    let ttl = crate::web::views::take_label_change().map_or(ttl, |change| change.min(ttl));
    drop(permit);
    if response.status() != StatusCode::OK {
        return Ok(Rendered::Other(response));
    }
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|err| AppError::Internal(format!("cannot collect a rendered page: {err}")))?;
    let mut headers = HeaderMap::new();
    for name in KEPT_HEADERS {
        if let Some(value) = parts.headers.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    if !headers.contains_key(header::ETAG) {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..16]));
        headers.insert(
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex is a valid header value"),
        );
    }
    let doc = Arc::new(Doc::new(headers, body));
    cache.put(lead.key.clone(), version, ttl, doc.clone());
    drop(lead);
    Ok(Rendered::Kept(doc))
}

/// The copy as the request accepts it. A compressed copy has its own ETag (the plain
/// one with the encoding appended): RFC 9110 section 8.8.3 gives each representation its
/// own strong validator.
fn answer(doc: &Doc, request: &HeaderMap) -> Response {
    let vary = HeaderValue::from_static("accept-encoding");
    let Some(encoding) = chosen_encoding(doc, request) else {
        let mut response = conditional(&doc.headers, doc.body.clone(), request);
        if is_compressed_type(doc) {
            response.headers_mut().append(header::VARY, vary);
        }
        return response;
    };
    let mut headers = doc.headers.clone();
    if let Some(etag) = headers.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        let tagged = format!("{}-{}\"", etag.trim_end_matches('"'), encoding.name());
        if let Ok(value) = HeaderValue::from_str(&tagged) {
            headers.insert(header::ETAG, value);
        }
    }
    let mut response = conditional(&headers, doc.encoded(encoding), request);
    response.headers_mut().append(header::VARY, vary);
    if response.status() == StatusCode::OK {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.name()),
        );
    }
    response
}

/// A document with its headers (ETag, Last-Modified, Cache-Control, Content-Type), as a
/// 200, or as a 304 with no body when the request's validators match (RFC 9110 §13.1:
/// If-None-Match wins; If-Modified-Since counts only without it).
pub fn conditional(headers: &HeaderMap, body: Bytes, request: &HeaderMap) -> Response {
    let etag = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let not_modified = match request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => etag_matches(tags, etag),
        None => match (
            request
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
            headers
                .get(header::LAST_MODIFIED)
                .and_then(|v| v.to_str().ok()),
        ) {
            (Some(since), Some(modified)) => match (
                httpdate::parse_http_date(since.trim()),
                httpdate::parse_http_date(modified.trim()),
            ) {
                (Ok(since), Ok(modified)) => modified <= since,
                _ => false,
            },
            _ => false,
        },
    };
    if not_modified {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [header::ETAG, header::LAST_MODIFIED, header::CACHE_CONTROL] {
            if let Some(value) = headers.get(&name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        return response;
    }
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = headers.clone();
    response
}

/// Weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored; `*` matches anything.
pub(crate) fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &'static str) -> Arc<Doc> {
        Arc::new(Doc::new(
            HeaderMap::new(),
            Bytes::from_static(body.as_bytes()),
        ))
    }

    fn is_hit(lookup: Lookup) -> bool {
        matches!(lookup, Lookup::Hit(_))
    }

    #[test]
    fn a_new_version_empties_the_cache() {
        let cache = Arc::new(PageCache::default());
        cache.put("/ana".into(), 1, PAGE_TTL, doc("one"));
        assert!(is_hit(cache.lookup("/ana", 1)));
        assert!(!is_hit(cache.lookup("/ana", 2)));
        assert!(cache.is_empty());
    }

    #[test]
    fn an_entry_read_under_an_older_version_is_not_kept() {
        let cache = Arc::new(PageCache::default());
        assert!(!is_hit(cache.lookup("/ana", 5)));
        cache.put("/ana".into(), 4, PAGE_TTL, doc("stale"));
        assert!(!is_hit(cache.lookup("/ana", 5)));
    }

    #[test]
    fn one_request_renders_while_the_others_wait_or_get_the_old_copy() {
        let cache = Arc::new(PageCache::default());
        let lead = cache.lookup("/ana", 1);
        assert!(matches!(lead, Lookup::Lead(_)));
        assert!(matches!(cache.lookup("/ana", 1), Lookup::Wait(_)));
        cache.put("/ana".into(), 1, Duration::ZERO, doc("one"));
        drop(lead);
        std::thread::sleep(Duration::from_millis(2));
        // Past its lifetime: the next request gets the old copy and renders anew in the
        // background; the rest get the old copy too.
        let again = cache.lookup("/ana", 1);
        assert!(matches!(again, Lookup::Refresh(..)));
        assert!(is_hit(cache.lookup("/ana", 1)));
        drop(again);
        assert!(matches!(cache.lookup("/ana", 1), Lookup::Refresh(..)));
        // A new content version is never answered with the old copy.
        assert!(matches!(cache.lookup("/ana", 2), Lookup::Lead(_)));
    }

    #[tokio::test]
    async fn waiters_wake_when_the_renderer_is_done_or_gone() {
        let cache = Arc::new(PageCache::default());
        let lead = cache.lookup("/ana", 1);
        let Lookup::Wait(mut waiting) = cache.lookup("/ana", 1) else {
            panic!("expected to wait");
        };
        drop(lead);
        tokio::time::timeout(Duration::from_secs(1), waiting.changed())
            .await
            .expect("woken")
            .expect_err("the renderer closed the channel");
    }

    #[test]
    fn the_byte_bound_holds() {
        let cache = Arc::new(PageCache::default());
        let big: &'static str = Box::leak("x".repeat(MAX_ENTRY_BYTES - 16).into_boxed_str());
        for n in 0..40 {
            cache.put(format!("/u{n}"), 1, PAGE_TTL, doc(big));
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= MAX_BYTES, "{} bytes held", inner.bytes);
        assert!(!inner.entries.is_empty());
        // The newest copies are the ones kept.
        assert!(inner.entries.contains_key("/u39"));
        assert!(!inner.entries.contains_key("/u0"));
    }

    fn html_doc() -> Doc {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Doc::new(headers, Bytes::from("<p>A card.</p>".repeat(200)))
    }

    #[track_caller]
    fn check_encoding(accept_encoding: &str, expected: Option<Encoding>) {
        let mut request = HeaderMap::new();
        request.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept_encoding).unwrap(),
        );
        assert_eq!(chosen_encoding(&html_doc(), &request), expected);
    }

    #[test]
    fn brotli_wins_gzip_follows_and_q0_refuses() {
        check_encoding("gzip, deflate, br", Some(Encoding::Brotli));
        check_encoding("gzip", Some(Encoding::Gzip));
        check_encoding("br;q=0, gzip", Some(Encoding::Gzip));
        check_encoding("gzip;q=0", None);
        check_encoding("identity", None);
    }

    #[test]
    fn a_copy_is_compressed_once_per_encoding() {
        let doc = html_doc();
        let first = doc.encoded(Encoding::Brotli);
        let again = doc.encoded(Encoding::Brotli);
        assert_eq!(first.as_ptr(), again.as_ptr(), "kept, not made again");
        assert!(first.len() * 10 < doc.body.len());
        let gzip = doc.encoded(Encoding::Gzip);
        assert_ne!(gzip, first);
    }

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches("W/\"a\", \"b\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
