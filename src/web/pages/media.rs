//! `GET /media/{hash}`: a file from the media store, streamed with the type sniffed when
//! it was stored (never guessed from a name), `nosniff` and a sandboxing CSP, so even a
//! file whose bytes also read as HTML is never run as a page. Reads only through
//! `media::MediaStore`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::media::MediaError;
use crate::web::AppState;
use crate::web::error::AppError;

/// Stricter than the pages' policy: nothing loads, and the document gets a unique origin
/// with no scripts, forms or plugins (CSP3 `sandbox`), whatever a browser makes of it.
pub const MEDIA_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; sandbox";
/// The bytes of a hash never change: a year, and `immutable` (RFC 8246).
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

pub async fn media_get(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    request: HeaderMap,
) -> Result<Response, AppError> {
    let (row, file) = match state.media.open(&hash).await {
        Ok(found) => found,
        Err(MediaError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(AppError::Internal(err.to_string())),
    };
    let etag = format!("\"{}\"", row.hash);
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| crate::web::cache::etag_matches(tags, &etag));
    let mut response = if not_modified {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response =
            Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(file)));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&row.mime).map_err(|err| AppError::Internal(err.to_string()))?,
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(row.size));
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header value"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(MEDIA_CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
