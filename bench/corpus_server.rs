//! A loopback HTTP server for the benchmark corpus: every file of a folder, held in memory,
//! with ETag and Last-Modified validators that honour conditional requests. `POST /_bump`
//! gives every file new validators with the same bytes (the E3 case); `GET /_stats` counts
//! requests, conditional requests and 304s, so the report can show both sides sent
//! If-None-Match or If-Modified-Since.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    conditional: AtomicU64,
    not_modified: AtomicU64,
}

struct Corpus {
    files: HashMap<String, (Bytes, &'static str)>,
    generation: AtomicU64,
    stats: Stats,
}

/// Serves `dir` on every address in `addrs` (the same port on several loopback addresses,
/// so that feeds live on several hosts as they do in the wild). Never returns.
pub async fn run(dir: &Path, addrs: Vec<SocketAddr>) -> anyhow::Result<()> {
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let kind = if name.contains(".atom") {
            "application/atom+xml"
        } else if name.ends_with(".json") {
            "application/feed+json"
        } else {
            "application/rss+xml"
        };
        files.insert(name, (Bytes::from(std::fs::read(&path)?), kind));
    }
    let corpus = Arc::new(Corpus {
        files,
        generation: AtomicU64::new(1),
        stats: Stats::default(),
    });
    let app = Router::new()
        .route("/_bump", post(bump))
        .route("/_stats", get(stats))
        .route("/_stats/reset", post(reset))
        .route("/{file}", get(file))
        .with_state(corpus);
    let mut servers = Vec::new();
    for addr in addrs {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        servers.push(tokio::spawn(
            axum::serve(listener, app.clone()).into_future(),
        ));
    }
    println!("ready");
    for server in servers {
        server.await??;
    }
    Ok(())
}

fn validators(name: &str, generation: u64) -> (String, String) {
    let etag = format!(
        "\"{:x}-{generation}\"",
        name.len() * 7919 + name.bytes().map(usize::from).sum::<usize>()
    );
    let at: DateTime<Utc> = DateTime::from_timestamp(1_700_000_000 + generation as i64 * 3600, 0)
        .expect("a valid time");
    (etag, at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

async fn file(
    State(corpus): State<Arc<Corpus>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    corpus.stats.requests.fetch_add(1, Ordering::Relaxed);
    let Some((body, kind)) = corpus.files.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (etag, last_modified) = validators(&name, corpus.generation.load(Ordering::Relaxed));
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    if inm.is_some() || ims.is_some() {
        corpus.stats.conditional.fetch_add(1, Ordering::Relaxed);
    }
    let fresh = match (inm, ims) {
        (Some(inm), _) => inm.split(',').any(|tag| tag.trim() == etag),
        (None, Some(ims)) => ims == last_modified,
        (None, None) => false,
    };
    let mut response = if fresh {
        corpus.stats.not_modified.fetch_add(1, Ordering::Relaxed);
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.clone().into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ascii"));
    headers.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified).expect("ascii"),
    );
    response
}

async fn bump(State(corpus): State<Arc<Corpus>>) -> String {
    (corpus.generation.fetch_add(1, Ordering::SeqCst) + 1).to_string()
}

async fn stats(State(corpus): State<Arc<Corpus>>) -> String {
    let s = &corpus.stats;
    format!(
        "{{\"requests\":{},\"conditional\":{},\"not_modified\":{}}}",
        s.requests.load(Ordering::Relaxed),
        s.conditional.load(Ordering::Relaxed),
        s.not_modified.load(Ordering::Relaxed)
    )
}

async fn reset(State(corpus): State<Arc<Corpus>>) -> &'static str {
    let s = &corpus.stats;
    s.requests.store(0, Ordering::Relaxed);
    s.conditional.store(0, Ordering::Relaxed);
    s.not_modified.store(0, Ordering::Relaxed);
    "ok"
}
