//! A source's site icon: for a source whose service has no embedded icon (a plain feed, a
//! recipe without a known service), the icon the feed names, else the site's
//! `/favicon.ico`, fetched through the app's fetcher (SSRF guard, size cap), sniffed and
//! kept in the media store, and looked for again after [`REFRESH_DAYS`] (or
//! [`RETRY_DAYS`] when none was found). Cards and filter chips show it as
//! `/media/{hash}`.

use std::io::Cursor;

use chrono::{DateTime, TimeDelta, Utc};
use connectors::{FetchRequest, Http, SourceMeta};
use url::Url;

use crate::media::{MediaError, MediaStore};
use crate::model::Source;

/// Largest icon fetched, in bytes; a favicon is a few kilobytes.
pub const MAX_ICON_BYTES: usize = 256 * 1024;
/// A found icon is fetched again after this many days (sites change theirs).
pub const REFRESH_DAYS: i64 = 30;
/// A source with no usable icon is asked again after this many days.
pub const RETRY_DAYS: i64 = 7;

const ACCEPT_IMAGES: &str =
    "image/avif,image/webp,image/png,image/x-icon,image/gif,image/jpeg;q=0.9,*/*;q=0.5";

/// Whether `source` should look for its icon now: never looked, or looked long enough ago.
pub fn is_due(source: &Source, now: DateTime<Utc>) -> bool {
    let wait = if source.icon_hash.is_some() {
        REFRESH_DAYS
    } else {
        RETRY_DAYS
    };
    source
        .icon_checked_at
        .is_none_or(|at| now - at >= TimeDelta::days(wait))
}

/// Where to look, best first: the icon the feed names, then `/favicon.ico` at the origin
/// of the site the feed belongs to, then at the feed's own origin. Only http(s).
pub fn candidates(meta: &SourceMeta, feed_url: Option<&Url>) -> Vec<Url> {
    let mut found: Vec<Url> = Vec::new();
    let mut push = |url: Url| {
        if matches!(url.scheme(), "http" | "https") && !found.contains(&url) {
            found.push(url);
        }
    };
    if let Some(icon) = &meta.icon {
        push(icon.clone());
    }
    for site in [meta.site_url.as_ref(), feed_url].into_iter().flatten() {
        if let Ok(favicon) = site.join("/favicon.ico") {
            push(favicon);
        }
    }
    found
}

/// Fetches the first candidate that answers 200 with an image the media store accepts, and
/// stores it for `source`'s owner. `None` when none did; each refusal is logged, never
/// an error of the poll.
pub async fn fetch(
    http: &dyn Http,
    media: &MediaStore,
    source: &Source,
    candidates: Vec<Url>,
) -> Option<String> {
    for url in candidates {
        let mut request = FetchRequest::new(url.clone(), ACCEPT_IMAGES);
        request.max_bytes = Some(MAX_ICON_BYTES);
        let response = match http.get(request).await {
            Ok(response) if response.status == 200 && !response.body.is_empty() => response,
            Ok(response) => {
                tracing::debug!(source_id = %source.id, %url, status = response.status, "no icon there");
                continue;
            }
            Err(err) => {
                tracing::debug!(source_id = %source.id, %url, error = %err, "icon not fetched");
                continue;
            }
        };
        match media
            .put(source.user_id, Cursor::new(response.body), url.as_str())
            .await
        {
            Ok(stored) => return Some(stored.hash),
            Err(err @ (MediaError::Refused { .. } | MediaError::TooLarge { .. })) => {
                tracing::debug!(source_id = %source.id, error = %err, "icon refused");
            }
            Err(err) => {
                tracing::warn!(source_id = %source.id, error = %err, "icon not stored");
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_feeds_icon_comes_first_then_the_sites_and_the_feeds_favicon() {
        let meta = SourceMeta {
            title: None,
            site_url: Some(url("https://blog.example/about/")),
            icon: Some(url("https://cdn.example/icon.png")),
            ..SourceMeta::default()
        };
        let feed = url("https://feeds.example/blog.xml");
        assert_eq!(
            candidates(&meta, Some(&feed)),
            vec![
                url("https://cdn.example/icon.png"),
                url("https://blog.example/favicon.ico"),
                url("https://feeds.example/favicon.ico"),
            ]
        );
    }

    #[test]
    fn one_origin_is_asked_once_and_only_web_addresses() {
        let meta = SourceMeta {
            title: None,
            site_url: Some(url("https://blog.example/")),
            icon: Some(url("data:image/png;base64,AAAA")),
            ..SourceMeta::default()
        };
        let feed = url("https://blog.example/feed.xml");
        assert_eq!(
            candidates(&meta, Some(&feed)),
            vec![url("https://blog.example/favicon.ico")]
        );
        assert!(candidates(&SourceMeta::default(), None).is_empty());
    }
}
