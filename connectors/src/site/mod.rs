//! Site connectors: one file per site API that has more structure than its feed (GitHub
//! events, Hacker News points, Bluesky reposts…). Each turns a handle or profile URL into
//! requests to the site's public API and maps the answers into [`RawItem`]s.
//!
//! They reach the network only through the [`Http`] port, and every host they talk to is
//! a constant here: no user parameter can send a request (or a token) elsewhere.

pub mod bluesky;
pub mod github;
pub mod hackernews;
pub mod lobsters;
pub mod stackexchange;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use url::Url;

use crate::http::{FetchRequest, FetchResponse, PollHint};
use crate::item::RawItem;
use crate::{ConnectorError, Http, Poll, Registry};

/// Longest title built from a post's text, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest wait a site's own pacing headers or fields may impose, so a typo upstream
/// cannot stop a source for weeks.
pub const MAX_SITE_WAIT_SECS: i64 = 2 * 86_400;
/// A 200 body larger than this is refused by site connectors (API pages are small).
pub const MAX_API_BYTES: usize = 4 * 1024 * 1024;

/// Settings the app passes to the site connectors (from its config).
#[derive(Clone, Debug, Default)]
pub struct SiteSettings {
    /// A GitHub token: raises the rate limit from 60 to 5,000 requests an hour.
    pub github_token: Option<String>,
}

/// Registers the site connectors, the built-in recipes and the generic `json` and `html`
/// connectors
/// before `feed`. Called again with the app's settings, it replaces them in place.
pub fn register_all(registry: &mut Registry, settings: &SiteSettings) {
    registry.register_before_feed(Arc::new(github::GitHubConnector::with_token(
        settings.github_token.clone(),
    )));
    registry.register_before_feed(Arc::new(hackernews::HackerNewsConnector));
    registry.register_before_feed(Arc::new(bluesky::BlueskyConnector));
    registry.register_before_feed(Arc::new(lobsters::LobstersConnector));
    registry.register_before_feed(Arc::new(stackexchange::StackExchangeConnector));
    for recipe in crate::recipe::embedded() {
        registry.register_before_feed(Arc::new(crate::recipe::RecipeConnector::new(
            recipe.clone(),
        )));
    }
    registry.register_before_feed(Arc::new(crate::protocol::json::JsonConnector));
    registry.register_before_feed(Arc::new(crate::protocol::html::HtmlConnector));
}

/// Parses what a person pasted as a URL: with or without `http(s)://`, never with
/// user-info (handles like `a@b.example` are not URLs).
pub fn loose_url(input: &str) -> Option<Url> {
    let input = input.trim();
    if input.is_empty() || input.chars().any(char::is_whitespace) {
        return None;
    }
    let url = if input.contains("://") {
        Url::parse(input).ok()?
    } else {
        let authority = input.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') || !authority.contains('.') {
            return None;
        }
        Url::parse(&format!("https://{input}")).ok()?
    };
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return None;
    }
    url.host_str()?;
    Some(url)
}

/// The URL's host without a leading `www.` or `m.`, lower-case.
pub fn bare_host(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    host.strip_prefix("www.")
        .or_else(|| host.strip_prefix("m."))
        .map(str::to_owned)
        .unwrap_or(host)
}

/// The non-empty path segments of a URL.
pub fn segments(url: &Url) -> Vec<String> {
    url.path_segments()
        .map(|parts| {
            parts
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A query parameter's value.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A required string parameter.
pub fn str_param<'a>(params: &'a Value, name: &str, what: &str) -> Result<&'a str, ConnectorError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| ConnectorError::Unsupported(format!("needs a \"{name}\" parameter: {what}")))
}

/// Sends `request`; a 2xx body is parsed as JSON. 304 gives `Ok((response, Null))`. Other
/// statuses are classified (429/503 with Retry-After become `RateLimited`).
pub async fn get_json(
    http: &dyn Http,
    mut request: FetchRequest,
) -> Result<(FetchResponse, Value), ConnectorError> {
    request.max_bytes = Some(request.max_bytes.unwrap_or(MAX_API_BYTES));
    let response = http.get(request).await?;
    if response.status == 304 {
        return Ok((response, Value::Null));
    }
    let response = response.check_status()?;
    let value = serde_json::from_slice(&response.body)
        .map_err(|err| ConnectorError::Invalid(format!("the API answered with bad JSON: {err}")))?;
    Ok((response, value))
}

/// A hint `secs` from now, clamped to [`MAX_SITE_WAIT_SECS`].
pub fn hint_in(secs: i64, now: DateTime<Utc>) -> PollHint {
    let secs = secs.clamp(0, MAX_SITE_WAIT_SECS);
    PollHint {
        not_before: Some(now + TimeDelta::seconds(secs)),
    }
}

/// A hint at unix time `at` (seconds), clamped to [`MAX_SITE_WAIT_SECS`] from now.
pub fn hint_at_unix(at: i64, now: DateTime<Utc>) -> PollHint {
    hint_in(at.saturating_sub(now.timestamp()), now)
}

/// RFC 3339 (what JSON APIs send).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Unix seconds.
pub fn unix_time(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// The first line of `text`, cut at `max_chars` characters with an ellipsis.
pub fn title_from_text(text: &str, max_chars: usize) -> Option<String> {
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    if line.chars().count() <= max_chars {
        return Some(line.to_owned());
    }
    let cut: String = line.chars().take(max_chars.saturating_sub(1)).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Plain text as HTML paragraphs, line breaks kept.
pub fn text_to_html(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|para| !para.is_empty())
        .map(|para| format!("<p>{}</p>", escape_html(para).replace('\n', "<br>")))
        .collect()
}

/// An http(s) URL from an API field, or `None`.
pub fn http_url(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Joins `path` onto a constant API base.
pub fn api_url(base: &str, path: &str) -> Result<Url, ConnectorError> {
    Url::parse(&format!("{base}{path}"))
        .map_err(|err| ConnectorError::Unsupported(format!("cannot build the API address: {err}")))
}

/// A string field of a JSON object.
pub fn s<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

/// An integer field of a JSON object.
pub fn n(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer).and_then(Value::as_i64)
}

/// The number of a paging token (`{"page": N}`) from an earlier poll, if it is one of
/// `pages`: a token is stored data, so it is checked like any other input.
pub(crate) fn page_number(
    page: &Value,
    pages: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConnectorError> {
    page.get("page")
        .and_then(Value::as_u64)
        .filter(|n| pages.contains(n))
        .ok_or_else(|| ConnectorError::Unsupported("no such page".into()))
}

/// Maps each element of a site's list of posts into `poll`; an element `map` cannot use is
/// skipped with the warning "{what} {index} {missing}; skipped".
pub(crate) fn push_mapped(
    poll: &mut Poll,
    list: &[Value],
    what: &str,
    missing: &str,
    map: impl Fn(&Value) -> Option<RawItem>,
) {
    for (idx, element) in list.iter().enumerate() {
        match map(element) {
            Some(item) => poll.items.push(item),
            None => poll
                .warnings
                .push(format!("{what} {idx} {missing}; skipped")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_urls() {
        assert_eq!(
            loose_url("github.com/ana").unwrap().as_str(),
            "https://github.com/ana"
        );
        assert!(loose_url("ana@mastodon.social").is_none());
        assert!(loose_url("ftp://x.example/").is_none());
        assert!(loose_url("https://u:p@x.example/").is_none());
        assert!(loose_url("not a url").is_none());
        assert!(loose_url("localhost").is_none());
    }

    #[test]
    fn titles_are_cut_at_characters() {
        assert_eq!(title_from_text("\n  héllo\nworld", 10).unwrap(), "héllo");
        assert_eq!(title_from_text("ééééééééééé", 5).unwrap(), "éééé…");
        assert!(title_from_text("  \n ", 5).is_none());
    }

    #[test]
    fn hints_are_clamped() {
        let now = Utc::now();
        let far = hint_in(i64::MAX, now).not_before.unwrap();
        assert_eq!(far, now + TimeDelta::seconds(MAX_SITE_WAIT_SECS));
        assert_eq!(hint_in(-5, now).not_before.unwrap(), now);
        assert!(hint_at_unix(i64::MIN, now).not_before.is_some());
    }
}
