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
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::http::{FetchRequest, FetchResponse, PollHint};
use crate::item::{ItemKind, RawAuthor, RawItem};
use crate::{ConnectorError, Http, Poll, PollState, Registry};

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

/// What a person pasted, when it is a URL on `host` (with or without `www.` or `m.`).
pub fn site_url(input: &str, host: &str) -> Option<Url> {
    loose_url(input).filter(|url| bare_host(url) == host)
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

/// The parameters of a site that follows one person by user name (GitHub, Hacker News,
/// Lobsters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserParams {
    #[serde(default)]
    pub user: String,
}

impl UserParams {
    pub fn new(user: &str) -> UserParams {
        UserParams {
            user: user.to_owned(),
        }
    }

    /// The name trimmed and without the `sigils` people write before it (`@`, `~`),
    /// refused unless `is_user` accepts it. `site` and `example` make the messages.
    pub(crate) fn checked(
        self,
        sigils: &[char],
        is_user: fn(&str) -> bool,
        site: &str,
        example: &str,
    ) -> Result<UserParams, ConnectorError> {
        let user = self.user.trim().trim_start_matches(sigils);
        if user.is_empty() {
            return Err(ConnectorError::Unsupported(format!(
                "needs a `user` parameter: {example}"
            )));
        }
        if !is_user(user) {
            return Err(ConnectorError::Unsupported(format!(
                "`{user}` is not a {site} user name"
            )));
        }
        Ok(UserParams::new(user))
    }
}

/// Sends `request`; a 2xx body is parsed as JSON. 304 gives `Ok((response, Null))`. Other
/// statuses are classified (429/503 with Retry-After become `RateLimited`).
pub async fn get_json(
    http: &dyn Http,
    mut request: FetchRequest,
) -> Result<(FetchResponse, Value), ConnectorError> {
    request.max_bytes = Some(request.max_bytes.unwrap_or(MAX_API_BYTES));
    json_of(http.get(request).await?)
}

/// [`get_json`]'s classification, for a response already in hand.
pub(crate) fn json_of(response: FetchResponse) -> Result<(FetchResponse, Value), ConnectorError> {
    if response.status == 304 {
        return Ok((response, Value::Null));
    }
    let response = response.check_status()?;
    let value = serde_json::from_slice(&response.body)
        .map_err(|err| ConnectorError::Invalid(format!("the API answered with bad JSON: {err}")))?;
    Ok((response, value))
}

/// Where a site's answer keeps its list of posts, and the words its warnings use.
pub(crate) struct ListShape {
    /// JSON pointer to the list; empty when the answer is the list.
    pub pointer: &'static str,
    /// What one element is called in a warning ("hit", "story").
    pub element: &'static str,
    /// What a skipped element lacks ("has no id or date").
    pub missing: &'static str,
    /// The refusal when there is no list.
    pub no_list: &'static str,
}

/// One answer of a site's list of posts, read into a poll.
pub(crate) struct Listed {
    pub poll: Poll,
    pub response: FetchResponse,
    pub body: Value,
    /// Elements in the list (mapped or skipped).
    pub n_listed: usize,
}

/// Sends `request` with the validators of `state` (a page of history passes the default
/// state) and reads its list of posts with [`read_list`].
pub(crate) async fn poll_list(
    http: &dyn Http,
    mut request: FetchRequest,
    state: &PollState,
    shape: &ListShape,
    map: impl Fn(&Value) -> Option<RawItem>,
) -> Result<Listed, ConnectorError> {
    request = request.with_validators(state.validators.clone());
    request.max_bytes = Some(request.max_bytes.unwrap_or(MAX_API_BYTES));
    let response = http.get(request).await?;
    let hint = response.hint;
    read_list(response, hint, state, shape, map)
}

/// A response of a site's list of posts as a poll with `hint`: a 304 keeps `state` (with
/// any fresher validator), a 2xx has each element of the list at `shape.pointer` mapped
/// by `map` (one it cannot use is a warning), and other statuses are classified.
pub(crate) fn read_list(
    response: FetchResponse,
    hint: PollHint,
    state: &PollState,
    shape: &ListShape,
    map: impl Fn(&Value) -> Option<RawItem>,
) -> Result<Listed, ConnectorError> {
    let (response, body) = json_of(response)?;
    let mut poll = Poll {
        hint,
        state: PollState {
            validators: response.validators.clone(),
            cursor: None,
        },
        ..Poll::default()
    };
    if response.status == 304 {
        poll.not_modified = true;
        poll.state = state.not_modified(&response.validators);
        return Ok(Listed {
            poll,
            response,
            body,
            n_listed: 0,
        });
    }
    let list = body
        .pointer(shape.pointer)
        .and_then(Value::as_array)
        .ok_or_else(|| ConnectorError::Invalid(shape.no_list.into()))?;
    push_mapped(&mut poll, list, shape.element, shape.missing, map);
    let n_listed = list.len();
    Ok(Listed {
        poll,
        response,
        body,
        n_listed,
    })
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

/// The token of the page after `page`, when the site says there is more and `max` is not
/// reached.
pub(crate) fn next_page(has_more: bool, page: u64, max: u64) -> Option<Value> {
    (has_more && page < max).then(|| serde_json::json!({ "page": page + 1 }))
}

/// A person on a site, by name and profile page.
pub(crate) fn author(name: &str, profile: Option<Url>) -> RawAuthor {
    RawAuthor {
        name: Some(name.to_owned()),
        url: profile,
        avatar: None,
    }
}

/// A post of a link aggregator (Hacker News, Lobsters): a link when it has one, else a
/// note whose link is its discussion; points, comments and the discussion go to `extra`.
pub(crate) fn story_into(
    item: &mut RawItem,
    link: Option<Url>,
    discussion: Option<Url>,
    points: Option<i64>,
    comments: Option<i64>,
) {
    for (key, count) in [("points", points), ("comments", comments)] {
        if let Some(count) = count {
            item.extra.insert(key.into(), count.into());
        }
    }
    if let Some(discussion) = &discussion {
        item.extra
            .insert("discussion_url".into(), discussion.as_str().into());
    }
    match link {
        Some(link) => {
            item.kind = ItemKind::Link;
            item.url = Some(link);
        }
        None => {
            item.kind = ItemKind::Note;
            item.url = discussion;
        }
    }
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
