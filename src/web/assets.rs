//! Static files embedded in the binary (the style sheet, the one page script, the icon), served at `/static/{hash}/{name}` with a content
//! hash in the URL so they can be cached for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// (name, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("static/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/app.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("static/icon.svg"),
    ),
];

static HASHES: LazyLock<Vec<String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(_, _, bytes)| {
            let digest = Sha256::digest(bytes);
            hex::encode(&digest[..6])
        })
        .collect()
});

/// The URL of an embedded file; changes whenever its content does.
pub fn url(name: &str) -> String {
    match FILES.iter().position(|(file, _, _)| *file == name) {
        Some(idx) => format!("/static/{}/{name}", HASHES[idx]),
        None => format!("/static/missing/{name}"),
    }
}

pub async fn static_get(Path((hash, name)): Path<(String, String)>) -> Response {
    let Some(idx) = FILES.iter().position(|(file, _, _)| *file == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, content_type, bytes) = FILES[idx];
    // An old hash still gets the current file, but not for keeps.
    let cache = if hash == HASHES[idx] {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
