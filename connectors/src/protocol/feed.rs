//! The `feed` connector: reads RSS 0.9x/1.0/1.1/2.0, Atom 0.3/1.0 and JSON Feed into raw items.
//! Fetches only through the [`Http`] port; parsing is a pure function of the bytes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use feed_rs::model::{self, Entry, FeedType, MediaObject};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use crate::http::{self, FetchRequest, FetchResponse, PollHint};
use crate::item::{Content, ItemKind, Media, RawAuthor, RawItem};
use crate::params::{HttpUrl, required};
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, SourceMeta,
    TypedConnector,
};

mod lift;
mod title;

use lift::{Dialect, LiftError, Plan};

/// Entries beyond this many in one document are dropped with a warning.
pub const MAX_ITEMS_PER_DOCUMENT: usize = 1000;
/// Media attachments kept per item; the rest are dropped with a warning.
pub const MAX_MEDIA_PER_ITEM: usize = 32;
/// Warnings kept per document, so one broken feed cannot flood the fetch log.
pub const MAX_WARNINGS: usize = 100;
/// A feed's `<ttl>` above this is clamped, so a typo cannot stop polling for years.
pub const MAX_TTL_MINUTES: u32 = 7 * 24 * 60;
/// Ids longer than this are replaced by their SHA-256, to keep the store's keys small.
pub const MAX_EXTERNAL_ID_BYTES: usize = 1024;
/// An item with an image and at most this many characters of visible text is a photo.
pub const PHOTO_MAX_TEXT_CHARS: usize = 200;
/// How much of a parser error message is kept.
const MAX_ERROR_CHARS: usize = 300;
/// How far into a document we look for an HTML root or an XML declaration.
const SNIFF_BYTES: usize = 1024;
/// The most of an entry's page a re-check reads (only its status matters).
const RECHECK_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Hex digits of the hash that tells apart entries sharing one guid.
const SHORT_HASH_CHARS: usize = 12;

/// Everything a feed document yields, independent of HTTP.
#[derive(Debug, Default)]
pub struct ParsedFeed {
    pub items: Vec<RawItem>,
    pub meta: SourceMeta,
    pub warnings: Vec<String>,
    /// RSS `<ttl>`: minutes the document may be cached.
    pub ttl_minutes: Option<u32>,
    /// RFC 5005 `<link rel="prev-archive">`: the next older archive document.
    pub prev_archive: Option<Url>,
    /// RFC 6721 `<at:deleted-entry ref="…">`: ids of entries deleted upstream.
    pub deleted: Vec<String>,
}

pub struct FeedConnector;

/// A feed source, and a feed's page of history: the document's address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    pub url: HttpUrl,
}

#[async_trait::async_trait]
impl TypedConnector for FeedConnector {
    type Params = FeedParams;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "feed",
            title: "Feed",
            description: "RSS, Atom or JSON Feed",
            params: vec![required("url", "Address of the feed (http or https)")],
            default_schedule: None,
            can_backfill: true,
            example_input: "https://blog.example/feed.xml",
        }
    }

    fn recognize(&self, input: &str) -> Option<FeedParams> {
        recognize_url(input).map(|url| FeedParams { url: HttpUrl(url) })
    }

    fn check(&self, params: FeedParams) -> Result<FeedParams, ConnectorError> {
        Ok(params)
    }

    /// The feed itself.
    fn addresses(&self, params: &FeedParams) -> SourceAddresses {
        SourceAddresses {
            feed: Some(params.url.0.clone()),
            page: None,
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &FeedParams,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let request = FetchRequest::new(params.url.0.clone(), http::ACCEPT_FEEDS);
        poll_request(http, request, state).await
    }

    /// An entry's page on the feed's own host: 404 or 410 means it was deleted. Links to
    /// other sites (a link blog's entries) say nothing of the entry and are not asked.
    async fn recheck(
        &self,
        http: &dyn Http,
        params: &FeedParams,
        item: &crate::ItemRef,
    ) -> Result<crate::Recheck, ConnectorError> {
        let Some(url) = item.url.clone().filter(|url| {
            url.host_str() == params.url.0.host_str() && matches!(url.scheme(), "http" | "https")
        }) else {
            return Ok(crate::Recheck::Unknown);
        };
        let mut request = FetchRequest::new(url, "text/html, */*;q=0.5");
        request.max_bytes = Some(RECHECK_MAX_BYTES);
        Ok(http::recheck_url(http, request, |_| false).await)
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        _params: &FeedParams,
        page: &serde_json::Value,
    ) -> Result<Poll, ConnectorError> {
        let page: FeedParams = crate::params::read(page)?;
        poll_page_request(http, FetchRequest::new(page.url.0, http::ACCEPT_FEEDS)).await
    }
}

/// One poll of the feed `request` names (its URL and any extra headers), with the
/// validators and body digest of `state`. Recipes over feeds call this with their own URL.
pub async fn poll_request(
    http: &dyn Http,
    request: FetchRequest,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    let request = request.with_validators(state.validators.clone());
    let response = http.get(request).await?;
    let new_params = response
        .moved_permanently_to
        .as_ref()
        .map(|moved| json!({ "url": moved.as_str() }));

    if response.status == 304 {
        return Ok(Poll {
            not_modified: true,
            state: state.not_modified(&response.validators),
            hint: response.hint,
            new_params,
            ..Poll::default()
        });
    }

    let response = response.check_status()?;
    // A server that sends new validators (or none) with the very same bytes: nothing
    // to parse, sanitize or store. The RSS `ttl` seen with those bytes still applies.
    let digest = body_digest(&response.body);
    let seen = state.cursor.as_ref().and_then(BodySeen::from_cursor);
    if let Some(seen) = seen.filter(|seen| seen.sha256 == digest) {
        let ttl_hint = seen.ttl_minutes.map(ttl_hint);
        return Ok(Poll {
            not_modified: true,
            state: PollState {
                validators: response.validators.clone(),
                cursor: state.cursor.clone(),
            },
            hint: response.hint.max(ttl_hint.unwrap_or_default()),
            new_params,
            ..Poll::default()
        });
    }
    let (mut poll, ttl_minutes) = poll_from_document(&response)?;
    poll.state = PollState {
        validators: response.validators.clone(),
        cursor: Some(
            BodySeen {
                sha256: digest,
                ttl_minutes,
            }
            .to_cursor(),
        ),
    };
    poll.new_params = new_params;
    Ok(poll)
}

/// One older page of a feed: an RFC 5005 archive document, fetched without validators.
pub async fn poll_page_request(
    http: &dyn Http,
    request: FetchRequest,
) -> Result<Poll, ConnectorError> {
    let response = http.get(request).await?;
    if response.status == 304 {
        // No validators were sent, so a 304 is the origin's oddity; it means no items.
        return Ok(Poll {
            not_modified: true,
            hint: response.hint,
            ..Poll::default()
        });
    }
    let response = response.check_status()?;
    Ok(poll_from_document(&response)?.0)
}

/// What the feed connector remembers of the last document it parsed: its SHA-256 (hex)
/// and its RSS `ttl`. Kept in the source's connector-private cursor.
struct BodySeen {
    sha256: String,
    ttl_minutes: Option<u32>,
}

impl BodySeen {
    fn from_cursor(cursor: &serde_json::Value) -> Option<BodySeen> {
        Some(BodySeen {
            sha256: cursor.get("body_sha256")?.as_str()?.to_owned(),
            ttl_minutes: cursor
                .get("ttl_minutes")
                .and_then(serde_json::Value::as_u64)
                .and_then(|m| u32::try_from(m).ok()),
        })
    }

    fn to_cursor(&self) -> serde_json::Value {
        json!({ "body_sha256": self.sha256, "ttl_minutes": self.ttl_minutes })
    }
}

fn body_digest(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(body))
}

fn ttl_hint(minutes: u32) -> PollHint {
    PollHint {
        not_before: Utc::now().checked_add_signed(chrono::Duration::minutes(i64::from(
            minutes.min(MAX_TTL_MINUTES),
        ))),
    }
}

/// Parses a feed document; `base` is the address it was fetched from (its final URL), used
/// to resolve relative links and to derive ids for entries that have none.
pub fn parse(bytes: &[u8], base: &Url) -> Result<ParsedFeed, ConnectorError> {
    parse_with_charset(bytes, base, None)
}

/// [`parse`] with the charset of the HTTP `Content-Type`, used when the bytes are not UTF-8
/// and the XML declaration names no encoding.
pub fn parse_with_charset(
    bytes: &[u8],
    base: &Url,
    http_charset: Option<&str>,
) -> Result<ParsedFeed, ConnectorError> {
    let utf8 = to_utf8(bytes, http_charset);
    let document: &[u8] = utf8.as_ref();
    if document.iter().all(u8::is_ascii_whitespace) {
        return Err(ConnectorError::Invalid("the document is empty".into()));
    }

    let mut warnings = Warnings::default();
    // feed-rs rejects a whole JSON Feed over one ill-typed field, so JSON is cleaned first.
    let cleaned_json = clean_json_feed(document, &mut warnings);
    let (document, json_extras): (&[u8], JsonFeedExtras) = match &cleaned_json {
        Some((cleaned, extras)) => (cleaned.as_slice(), extras.clone()),
        None => (document, JsonFeedExtras::default()),
    };
    let json_images = &json_extras.images;

    let (mut feed, dialect) = read_document(document, base, &mut warnings)?;
    if dialect.is_rdf() {
        rdf_about_as_id(&mut feed);
    }

    let mut meta = source_meta(&feed, base);
    if cleaned_json.is_some() {
        // JSON Feed 1.1: `hubs` (feed-rs does not read it) and `feed_url` (which it
        // keeps as a link without a relation).
        meta.hubs = json_extras
            .hubs
            .iter()
            .filter_map(|href| http_url(href, base))
            .collect();
        meta.self_url = json_extras
            .feed_url
            .as_deref()
            .and_then(|href| http_url(href, base));
    }
    let ttl_minutes = feed.ttl.filter(|ttl| *ttl > 0);
    let prev_archive = feed
        .links
        .iter()
        .find(|link| link.rel.as_deref() == Some("prev-archive"))
        .and_then(|link| http_url(&link.href, base));

    let n_entries = feed.entries.len();
    if n_entries > MAX_ITEMS_PER_DOCUMENT {
        warnings.push(format!(
            "the document has {n_entries} entries; only the first {MAX_ITEMS_PER_DOCUMENT} are read"
        ));
    }

    let mut dedup = Dedup::default();
    let mut items = Vec::new();
    for (entry_idx, entry) in feed.entries.iter().take(MAX_ITEMS_PER_DOCUMENT).enumerate() {
        let images = json_images.get(entry_idx).map(Vec::as_slice).unwrap_or(&[]);
        let Some(item) = map_entry(&feed, entry, entry_idx, images, base, &mut warnings) else {
            continue;
        };
        if let Some(item) = dedup.admit(item, &mut warnings) {
            items.push(item);
        }
    }

    if items.is_empty() {
        let n_entries = match dialect {
            Dialect::Other => n_entries,
            _ => std::str::from_utf8(document)
                .ok()
                .and_then(|text| lift::split(text, dialect))
                .map_or(n_entries, |split| split.entries.len().max(n_entries)),
        };
        if n_entries > 0 {
            let reason = warnings
                .first()
                .unwrap_or("none is in a form the feed reader knows")
                .to_owned();
            warnings.push_front(format!(
                "{n_entries} entries in the document, none readable: {reason}"
            ));
        } else {
            warnings.push_front("the document has no entries".to_owned());
        }
    }

    let deleted = std::str::from_utf8(document)
        .map(lift::deleted_entries)
        .unwrap_or_default();
    Ok(ParsedFeed {
        items,
        meta,
        warnings: warnings.finish(),
        ttl_minutes,
        prev_archive,
        deleted,
    })
}

/// Turns pasted text into a canonical feed address: an absolute http(s) URL, or a bare
/// `host/path` that gets `https://`.
fn recognize_url(input: &str) -> Option<Url> {
    let input = input.trim();
    if input.is_empty() || input.starts_with('@') || input.chars().any(char::is_whitespace) {
        return None;
    }
    if input.contains("://") {
        return Url::parse(input).ok().and_then(canonical_http_url);
    }
    // A bare address: refuse user-info, which is how handles (`a@b.example`) and
    // `mailto:` would otherwise sneak through as `https://user@host`.
    let authority = input.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return None;
    }
    let url = Url::parse(&format!("https://{input}")).ok()?;
    let host = url.host_str()?;
    let looks_like_host = host.contains('.') && !host.ends_with('.') && !host.starts_with('.');
    if !looks_like_host {
        return None;
    }
    canonical_http_url(url)
}

/// Keeps http(s) URLs with a host, without the fragment (never sent to the server).
fn canonical_http_url(url: Url) -> Option<Url> {
    HttpUrl::parse(url.as_str()).ok().map(|url| url.0)
}

/// Builds a poll result from a successful response's body.
/// The poll of a fetched document, and the document's RSS `ttl`.
fn poll_from_document(response: &FetchResponse) -> Result<(Poll, Option<u32>), ConnectorError> {
    let charset = response.content_type.as_deref().and_then(charset_of);
    let parsed = parse_with_charset(&response.body, &response.final_url, charset)?;
    let mut warnings = parsed.warnings;
    let ttl_minutes = parsed.ttl_minutes;
    let hint = response
        .hint
        .max(ttl_minutes.map(ttl_hint).unwrap_or_default());
    // An archive that names itself (or the page we came from) as older would loop forever.
    let next_page = match parsed.prev_archive {
        Some(prev) if prev == response.final_url => {
            warnings.push(format!(
                "ignored prev-archive {prev}: it is this same document"
            ));
            None
        }
        Some(prev) => Some(json!({ "url": prev.as_str() })),
        None => None,
    };
    let poll = Poll {
        items: parsed.items,
        deleted: parsed.deleted,
        state: PollState {
            validators: response.validators.clone(),
            cursor: None,
        },
        hint,
        not_modified: false,
        warnings,
        new_params: None,
        meta: parsed.meta,
        base_url: Some(response.final_url.clone()),
        next_page,
    };
    Ok((poll, ttl_minutes))
}

/// The `charset` parameter of a Content-Type header value.
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// Reads a document with feed-rs. What feed-rs cannot read is lifted into what it can
/// first (`lift`: Atom 0.3, RSS 0.90, Userland RSS, RDF items without a link, internal
/// entities). When the whole document fails, the text constructs feed-rs refuses are
/// repaired; when it still fails, each entry is read on its own and the ones that fail
/// cost a warning, not the document. RSS items that lack a title, link, date or text get
/// the fallbacks of `lift::lift` (a second read, only for such documents).
fn read_document(
    document: &[u8],
    base: &Url,
    warnings: &mut Warnings,
) -> Result<(model::Feed, Dialect), ConnectorError> {
    let sniffed = std::str::from_utf8(document)
        .ok()
        .and_then(|text| Some((text, lift::sniff(text)?)));
    let Some((text, sniff)) = sniffed else {
        let feed =
            parse_with_patch(document, base).map_err(|err| classify_parse_error(document, &err))?;
        return Ok((feed, Dialect::Other));
    };
    let dialect = sniff.dialect;
    let plan = Plan::needed(sniff);
    let lifted = if plan.is_empty() {
        None
    } else {
        match lift::lift(text, dialect, plan) {
            Ok(bytes) => Some(bytes),
            Err(LiftError::Entities(reason)) => {
                return Err(ConnectorError::Invalid(format!(
                    "the document is refused: {reason}"
                )));
            }
            // Not well-formed: feed-rs gives its own verdict below.
            Err(LiftError::Xml(_)) => None,
        }
    };
    let first = lifted.as_deref().unwrap_or(document);
    match parse_with_patch(first, base) {
        Ok(feed) => {
            // RSS items without a title, link, date or text may have them elsewhere; Atom
            // entries without any text may hold it as markup feed-rs skips.
            let second = match dialect {
                Dialect::Rss
                    if !plan.items && feed.entries.iter().any(lacks_what_a_fallback_gives) =>
                {
                    Some(Plan {
                        items: true,
                        ..plan
                    })
                }
                Dialect::Atom | Dialect::Atom03
                    if !plan.repair_text && feed.entries.iter().any(has_no_text) =>
                {
                    Some(Plan {
                        repair_text: true,
                        ..plan
                    })
                }
                _ => None,
            };
            if let Some(second) = second
                && let Ok(bytes) = lift::lift(text, dialect, second)
                && let Ok(lifted) = parse_with_patch(&bytes, base)
            {
                return Ok((lifted, dialect));
            }
            Ok((feed, dialect))
        }
        Err(err) => {
            let repair = Plan {
                repair_text: true,
                items: dialect.is_rss(),
                ..plan
            };
            let Ok(repaired) = lift::lift(text, dialect, repair) else {
                return Err(classify_parse_error(document, &err));
            };
            if let Ok(feed) = parse_with_patch(&repaired, base) {
                return Ok((feed, dialect));
            }
            let repaired = String::from_utf8(repaired).unwrap_or_default();
            read_entry_by_entry(&repaired, dialect, base, warnings)
                .map(|feed| (feed, dialect))
                .ok_or_else(|| classify_parse_error(document, &err))
        }
    }
}

/// Whether an RSS entry lacks something `lift` might find elsewhere in its item.
fn lacks_what_a_fallback_gives(entry: &Entry) -> bool {
    let no_title = entry
        .title
        .as_ref()
        .is_none_or(|title| title.content.trim().is_empty());
    no_title || entry.links.is_empty() || entry.published.is_none() || has_no_text(entry)
}

/// Whether an entry has neither content nor summary with any text.
fn has_no_text(entry: &Entry) -> bool {
    let no_content = entry
        .content
        .as_ref()
        .and_then(|content| content.body.as_deref())
        .is_none_or(|body| body.trim().is_empty());
    let no_summary = entry
        .summary
        .as_ref()
        .is_none_or(|summary| summary.content.trim().is_empty());
    no_content && no_summary
}

/// The feed with each entry read on its own (the document's head and tail around it);
/// an entry that cannot be read is a warning. `None` when the head and tail alone cannot
/// be read either.
fn read_entry_by_entry(
    text: &str,
    dialect: Dialect,
    base: &Url,
    warnings: &mut Warnings,
) -> Option<model::Feed> {
    let split = lift::split(text, dialect)?;
    let mut feed = parse_with_patch(split.document(text, None).as_bytes(), base).ok()?;
    for entry_idx in 0..split.entries.len() {
        let one = split.document(text, Some(entry_idx));
        match parse_with_patch(one.as_bytes(), base) {
            Ok(one) => feed.entries.extend(one.entries),
            Err(err) => {
                // An `xml:base` that is no URL costs the entry its base, not the entry.
                if let Some(without) = without_xml_base(&one)
                    && let Ok(read) = parse_with_patch(without.as_bytes(), base)
                {
                    warnings.push(format!(
                        "entry {}: its xml:base is not a URL and is ignored",
                        entry_idx + 1
                    ));
                    feed.entries.extend(read.entries);
                    continue;
                }
                warnings.push(format!(
                    "entry {}: skipped, it cannot be read: {}",
                    entry_idx + 1,
                    one_line(&err.to_string(), MAX_ERROR_CHARS)
                ));
            }
        }
    }
    Some(feed)
}

/// `document` with its `xml:base` attributes left out, or `None` when it has none.
fn without_xml_base(document: &str) -> Option<String> {
    static XML_BASE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = XML_BASE.get_or_init(|| {
        regex::Regex::new(r#"\s+xml:base\s*=\s*(?:"[^"]*"|'[^']*')"#).expect("a valid pattern")
    });
    match pattern.replace_all(document, "") {
        Cow::Owned(without) => Some(without),
        Cow::Borrowed(_) => None,
    }
}

/// In RDF, an item's `rdf:about` names it (RSS 1.0 "5.5"); `lift` makes it the link of
/// items that have none. One that is not an http(s) URL is the item's id instead.
fn rdf_about_as_id(feed: &mut model::Feed) {
    for entry in &mut feed.entries {
        let only_other_links = !entry.links.is_empty()
            && entry
                .links
                .iter()
                .all(|link| !lift::is_http_url(&link.href));
        if entry.id.trim().is_empty() && only_other_links {
            entry.id = entry.links.remove(0).href;
            entry.links.clear();
        }
    }
}

/// feed-rs, and for an `<rss>` root whose version feed-rs refuses, again as RSS 2.0: feeds
/// that call themselves RSS 0.93, 0.94 or give no version are a subset of it.
fn parse_with_patch(
    document: &[u8],
    base: &Url,
) -> Result<model::Feed, feed_rs::parser::ParseFeedError> {
    match parse_with_feed_rs(document, base) {
        Ok(feed) => Ok(feed),
        Err(err) => match patch_rss_version(document) {
            Some(patched) => parse_with_feed_rs(&patched, base).map_err(|_| err),
            None => Err(err),
        },
    }
}

fn parse_with_feed_rs(
    document: &[u8],
    base: &Url,
) -> Result<model::Feed, feed_rs::parser::ParseFeedError> {
    // The builder is `!Send`, so it lives and dies inside this synchronous call. The id
    // generator leaves missing ids empty: feed-rs's default hashes link + title, or returns a
    // random UUID, and we derive stable ids ourselves in `external_id`.
    feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_links, _title, _base| String::new())
        .timestamp_parser(timestamps::parse)
        .sanitize_content(false)
        .build()
        .parse(document)
}

/// Dates of entries. A well-formed RFC 3339 or RFC 2822 date is read as it is; anything
/// else gets the repairs feed-rs's own parser makes (trailing ` Z`, `UTC`, long month and
/// weekday names, month before day, hour 24, one-digit hours, a missing colon in the offset
/// or a date without a time), in the same order and with the same outcome. feed-rs applies
/// those rewrites to every date before trying it: about 3% of the time of P1 in bench/run.
mod timestamps {
    use std::sync::OnceLock;

    use chrono::{DateTime, Utc};
    use regex::Regex;

    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        let trimmed = text.trim();
        DateTime::parse_from_rfc3339(trimmed)
            .or_else(|_| DateTime::parse_from_rfc2822(trimmed))
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| repaired(trimmed))
            .or_else(|| w3c_dtf(trimmed))
            .or_else(|| twelve_hour(trimmed))
    }

    /// RFC 822 dates written with a 12-hour clock, the month before the day, or no zone
    /// (`Sat, Dec 16 2023 02:02:33 PM`, `Mon, 21 Jan 2008 8:56 am PST`). No zone is UTC.
    fn twelve_hour(text: &str) -> Option<DateTime<Utc>> {
        static SHAPE: OnceLock<Regex> = OnceLock::new();
        let shape = SHAPE.get_or_init(|| {
            Regex::new(
                r"(?i)^(?:[a-z]+,?\s+)?(?:(\d{1,2})\s+([a-z]{3})[a-z]*\.?|([a-z]{3})[a-z]*\.?\s+(\d{1,2}),?)\s+(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])\.?m\.?(?:\s+([a-z]{1,5}|[+-]\d{4}))?$",
            )
            .expect("a valid pattern")
        });
        let captures = shape.captures(text)?;
        let day = captures.get(1).or(captures.get(4))?.as_str();
        let month = captures.get(2).or(captures.get(3))?.as_str();
        let mut hour: u32 = captures[6].parse().ok()?;
        if !(1..=12).contains(&hour) {
            return None;
        }
        let pm = captures[9].eq_ignore_ascii_case("p");
        hour = match (hour, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (hour, true) => hour + 12,
            (hour, false) => hour,
        };
        let zone = captures.get(10).map_or("+0000", |zone| zone.as_str());
        let rewritten = format!(
            "{day} {month} {year} {hour:02}:{minute}:{second} {zone}",
            year = &captures[5],
            minute = &captures[7],
            second = captures.get(8).map_or("00", |second| second.as_str()),
        );
        DateTime::parse_from_rfc2822(&rewritten)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The shapes of W3C-DTF and ISO 8601 that feeds use beyond RFC 3339 (a year, a month,
    /// no seconds, no zone, which is UTC, the basic format without separators, spaces
    /// around the `T`). A field out of range is no date: rolling it over would invent one.
    fn w3c_dtf(text: &str) -> Option<DateTime<Utc>> {
        static SHAPE: OnceLock<Regex> = OnceLock::new();
        let shape = SHAPE.get_or_init(|| {
            Regex::new(
                r"^(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?(?:\s*[T ]\s*(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
            )
            .expect("a valid pattern")
        });
        let captures = shape.captures(text)?;
        let number = |idx: usize, default: u32| {
            captures
                .get(idx)
                .map_or(Some(default), |m| m.as_str().parse::<u32>().ok())
        };
        let year = captures.get(1)?.as_str().parse::<i32>().ok()?;
        let date = chrono::NaiveDate::from_ymd_opt(year, number(2, 1)?, number(3, 1)?)?;
        let time = chrono::NaiveTime::from_hms_opt(number(4, 0)?, number(5, 0)?, number(6, 0)?)?;
        let offset_secs = match captures.get(7).map(|m| m.as_str()) {
            None | Some("Z") => 0,
            Some(zone) => {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
                let hours: i32 = digits.get(..2)?.parse().ok()?;
                let minutes: i32 = digits
                    .get(2..)
                    .filter(|m| !m.is_empty())
                    .map_or(Some(0), |m| m.parse().ok())?;
                if hours > 23 || minutes > 59 {
                    return None;
                }
                sign * (hours * 3600 + minutes * 60)
            }
        };
        let offset = chrono::FixedOffset::east_opt(offset_secs)?;
        date.and_time(time)
            .and_local_timezone(offset)
            .single()
            .map(|t| t.with_timezone(&Utc))
    }

    fn repaired(text: &str) -> Option<DateTime<Utc>> {
        let rewrite = |fixes: &[(Regex, &str)]| {
            fixes.iter().fold(text.to_owned(), |text, (pattern, with)| {
                pattern.replace(&text, *with).into_owned()
            })
        };
        DateTime::parse_from_rfc3339(rewrite(rfc3339()).trim())
            .or_else(|_| DateTime::parse_from_rfc2822(&rewrite(rfc2822())))
            .or_else(|_| DateTime::parse_from_str(&rewrite(rfc1123()), "%d %b %Y %H:%M:%S %z"))
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    fn compile(fixes: &[(&str, &'static str)]) -> Vec<(Regex, &'static str)> {
        fixes
            .iter()
            .map(|(pattern, with)| (Regex::new(pattern).expect("a valid pattern"), *with))
            .collect()
    }

    fn rfc3339() -> &'static [(Regex, &'static str)] {
        static FIXES: OnceLock<Vec<(Regex, &str)>> = OnceLock::new();
        FIXES.get_or_init(|| {
            compile(&[
                (r"(\+|-)(\d{2})(\d{2})", "${1}${2}:${3}"),
                // Seconds written with one digit: `12:35:9+01:00`.
                (r"(T\d{2}:\d{2}):(\d)([.Z+-]|$)", "${1}:0${2}${3}"),
                // A zone cut short by one digit: `+00:0`.
                (r"([+-]\d{2}):(\d)$", "${1}:${2}0"),
                (r"-\d{2}$", "${0}T00:00:00+00:00"),
            ])
        })
    }

    fn rfc2822() -> &'static [(Regex, &'static str)] {
        static FIXES: OnceLock<Vec<(Regex, &str)>> = OnceLock::new();
        FIXES.get_or_init(|| {
            compile(&[
                ("(UTC|-0000$)", "+0000"),
                ("(Sun|Mon|Tue|Wed|Thu|Fri|Sat)[a-z]*, ", ""),
                (
                    "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*",
                    "$1",
                ),
                (
                    "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\\d{1,2}) (\\d{4})",
                    "$2 $1 $3",
                ),
                (" 24:", " 00:"),
                (" ([0-9]):", " 0${1}:"),
            ])
        })
    }

    fn rfc1123() -> &'static [(Regex, &'static str)] {
        static FIXES: OnceLock<Vec<(Regex, &str)>> = OnceLock::new();
        FIXES.get_or_init(|| compile(&[(" Z$", " +0000"), ("^[[:alpha:]]{3}, ", "")]))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[track_caller]
        fn check(text: &str, expected: Option<&str>) {
            assert_eq!(
                parse(text).map(|t| t.to_rfc3339()),
                expected.map(str::to_owned),
                "{text}"
            );
        }

        #[test]
        fn well_formed_dates() {
            check("2023-11-14T23:13:20Z", Some("2023-11-14T23:13:20+00:00"));
            check(
                " 2023-11-14T23:13:20.5+01:00 ",
                Some("2023-11-14T22:13:20.500+00:00"),
            );
            check(
                "Tue, 14 Nov 2023 23:13:20 +0000",
                Some("2023-11-14T23:13:20+00:00"),
            );
            check(
                "Tue, 14 Nov 2023 23:13:20 GMT",
                Some("2023-11-14T23:13:20+00:00"),
            );
        }

        #[test]
        fn twelve_hour_clocks_and_month_first() {
            check(
                "Sat, Dec 16 2023 02:02:33 PM",
                Some("2023-12-16T14:02:33+00:00"),
            );
            check(
                "Mon, 21 Jan 2008 8:56 am PST",
                Some("2008-01-21T16:56:00+00:00"),
            );
            check("Jan 1, 2020 12:05 AM", Some("2020-01-01T00:05:00+00:00"));
            check("Jan 1, 2020 13:05 PM", None);
            check(
                "2006-01-17T12:35:9+01:00",
                Some("2006-01-17T11:35:09+00:00"),
            );
            check(
                "2017-06-13T03:18:00+00:0",
                Some("2017-06-13T03:18:00+00:00"),
            );
        }

        #[test]
        fn repaired_dates() {
            check(
                "2023-11-14T23:13:20+0100",
                Some("2023-11-14T22:13:20+00:00"),
            );
            check("2023-11-14", Some("2023-11-14T00:00:00+00:00"));
            check(
                "Tue, 14 Nov 2023 23:13:20 UTC",
                Some("2023-11-14T23:13:20+00:00"),
            );
            check(
                "Sat, 14 Nov 2023 23:13:20 -0000",
                Some("2023-11-14T23:13:20+00:00"),
            );
            check(
                "Thurs, 13 Jul 2011 07:38:00 GMT",
                Some("2011-07-13T07:38:00+00:00"),
            );
            check(
                "Tue, 14 November 2023 23:13:20 +0000",
                Some("2023-11-14T23:13:20+00:00"),
            );
            check(
                "Tue, Nov 14 2023 23:13:20 +0000",
                Some("2023-11-14T23:13:20+00:00"),
            );
            check(
                "Tue, 14 Nov 2023 24:13:20 +0000",
                Some("2023-11-14T00:13:20+00:00"),
            );
            check(
                "Tue, 14 Nov 2023 3:13:20 +0000",
                Some("2023-11-14T03:13:20+00:00"),
            );
            check(
                "Tue, 15 Nov 2022 20:15:04 Z",
                Some("2022-11-15T20:15:04+00:00"),
            );
            check("yesterday", None);
            check("", None);
        }

        #[test]
        fn w3c_dtf_and_iso_8601_shapes() {
            check("2001-01-01T00:00+00:00", Some("2001-01-01T00:00:00+00:00"));
            check("2003-12-13T18:30:02", Some("2003-12-13T18:30:02+00:00"));
            check(
                "2003-07-01 T 01:55:07-05:00",
                Some("2003-07-01T06:55:07+00:00"),
            );
            check(
                "2003-07-01 01:55:07 -05:00",
                Some("2003-07-01T06:55:07+00:00"),
            );
            check("20030701T015507-0500", Some("2003-07-01T06:55:07+00:00"));
            check("2003", Some("2003-01-01T00:00:00+00:00"));
            check("2003-07", Some("2003-07-01T00:00:00+00:00"));
            check("2003-07-32T01:00:00Z", None);
            check("2003-07-01T25:00:00Z", None);
        }
    }
}

/// Turns a feed-rs failure into a one-line reason a person can act on.
fn classify_parse_error(document: &[u8], err: &feed_rs::parser::ParseFeedError) -> ConnectorError {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    if looks_like_html(document) {
        return ConnectorError::Invalid(
            "this is an HTML page, not a feed; look for its RSS or Atom link".into(),
        );
    }
    let reason = match err {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            "not a feed: no <rss>, <feed> or <rdf:RDF> root element and no JSON Feed object"
                .to_string()
        }
        ParseFeedError::JsonUnsupportedVersion(version) => format!(
            "not a JSON Feed: version \"{version}\" is not https://jsonfeed.org/version/1.x"
        ),
        other => other.to_string(),
    };
    ConnectorError::Invalid(one_line(&reason, MAX_ERROR_CHARS))
}

/// Whether the document starts like an HTML page rather than a feed.
fn looks_like_html(document: &[u8]) -> bool {
    let head = &document[..document.len().min(SNIFF_BYTES)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let html_at = head.find("<!doctype html").or_else(|| head.find("<html"));
    let feed_at = ["<rss", "<feed", "<rdf:rdf", "<rdf"]
        .iter()
        .filter_map(|tag| head.find(tag))
        .min();
    match (html_at, feed_at) {
        (Some(html), Some(feed)) => html < feed,
        (Some(_), None) => true,
        _ => false,
    }
}

fn one_line(text: &str, max_chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        flat
    } else {
        let mut cut: String = flat.chars().take(max_chars).collect();
        cut.push('…');
        cut
    }
}

// --- Encoding ---------------------------------------------------------------------------

/// Returns the document as UTF-8 with an XML declaration that says so.
///
/// Follows miniflux `internal/reader/encoding`: bytes that are valid UTF-8 are UTF-8 whatever
/// the prolog claims (prologs often lie after a CMS migration); otherwise the prolog's
/// encoding, then the HTTP charset, then Windows-1252 (the web's legacy default, a superset
/// of ISO-8859-1) decode them.
fn to_utf8<'a>(bytes: &'a [u8], http_charset: Option<&str>) -> Cow<'a, [u8]> {
    let (bom_encoding, without_bom) = match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => (Some(encoding), bytes.get(bom_len..).unwrap_or_default()),
        None => (None, bytes),
    };
    let decoded: Cow<'a, str> = match bom_encoding {
        Some(encoding) if encoding != encoding_rs::UTF_8 => {
            encoding.decode_without_bom_handling(without_bom).0
        }
        _ => match std::str::from_utf8(without_bom) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => {
                let declared = declared_encoding(without_bom)
                    .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
                    .or_else(|| {
                        http_charset
                            .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
                    });
                // UTF-8 with some bad bytes: each bad byte becomes U+FFFD and the rest of
                // the text stays as written. That is a document that says it is UTF-8 (or
                // says nothing: XML's default) and is mostly UTF-8. One that is mostly not
                // is Windows-1252 whatever it says, the usual legacy encoding of feeds that
                // declare UTF-8 by habit.
                let encoding = match declared {
                    Some(encoding) if encoding != encoding_rs::UTF_8 => encoding,
                    _ if mostly_utf8(without_bom) => encoding_rs::UTF_8,
                    _ => encoding_rs::WINDOWS_1252,
                };
                encoding.decode_without_bom_handling(without_bom).0
            }
        },
    };
    // Leading whitespace before the XML declaration makes the document not well-formed, but
    // it is common and harmless.
    let trimmed = match decoded {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim_start()),
        Cow::Owned(text) => Cow::Owned(text.trim_start().to_string()),
    };
    match rewrite_declared_encoding(&trimmed) {
        Some(rewritten) => Cow::Owned(rewritten.into_bytes()),
        None => match trimmed {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        },
    }
}

/// Whether `bytes` are mostly UTF-8: at least as many well-formed multi-byte sequences as
/// bad bytes. (Latin-1 text forms a valid sequence now and then, `é` followed by `\u{a0}`, say.)
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut sequences, mut bad) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        sequences += chunk.valid().chars().filter(|ch| !ch.is_ascii()).count();
        bad += chunk.invalid().len();
    }
    sequences > 0 && sequences >= bad
}

/// The `encoding` pseudo-attribute of a leading XML declaration, read as ASCII.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let head = String::from_utf8_lossy(head);
    let declaration = xml_declaration(head.trim_start())?;
    let (_, value, _) = encoding_attribute(declaration)?;
    Some(value.to_string())
}

/// The text of `<?xml … ?>` at the start of `text`, if any.
fn xml_declaration(text: &str) -> Option<&str> {
    if !text.starts_with("<?xml") {
        return None;
    }
    let end = text.find("?>")?;
    text.get(..end + 2)
}

/// Finds `encoding="…"` in an XML declaration: (start of value, value, end of value).
fn encoding_attribute(declaration: &str) -> Option<(usize, &str, usize)> {
    let at = declaration.find("encoding")?;
    let rest = declaration.get(at + "encoding".len()..)?;
    let after_eq = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = after_eq
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')?;
    let value_start = declaration.len() - after_eq.len() + quote.len_utf8();
    let value_len = declaration.get(value_start..)?.find(quote)?;
    let value = declaration.get(value_start..value_start + value_len)?;
    Some((value_start, value, value_start + value_len))
}

/// Rewrites the declared encoding to UTF-8 so the XML reader does not decode twice.
fn rewrite_declared_encoding(text: &str) -> Option<String> {
    let declaration = xml_declaration(text)?;
    let (start, value, end) = encoding_attribute(declaration)?;
    if value.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let mut rewritten = String::with_capacity(text.len());
    rewritten.push_str(text.get(..start)?);
    rewritten.push_str("UTF-8");
    rewritten.push_str(text.get(end..)?);
    Some(rewritten)
}

/// Gives an `<rss>` root whose version feed-rs does not accept the version 2.0, or `None`
/// when there is no such root.
fn patch_rss_version(document: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(document).ok()?;
    let mut search_from = 0;
    let tag_start = loop {
        let found = search_from + text.get(search_from..)?.find("<rss")?;
        let next = text.get(found + 4..)?.chars().next()?;
        if next.is_whitespace() || next == '>' || next == '/' {
            break found;
        }
        search_from = found + 4;
    };
    let tag_end = tag_start + text.get(tag_start..)?.find('>')?;
    let tag = text.get(tag_start..tag_end)?;
    let patched_tag = match tag.find(" version") {
        Some(at) => {
            let rest = tag.get(at + " version".len()..)?;
            let after_eq = rest.trim_start().strip_prefix('=')?.trim_start();
            let quote = after_eq
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')?;
            let value_start = tag.len() - after_eq.len() + 1;
            let value_len = tag.get(value_start..)?.find(quote)?;
            let value = tag.get(value_start..value_start + value_len)?;
            if matches!(value, "2.0" | "0.91" | "0.92" | "") {
                return None;
            }
            format!(
                "{}2.0{}",
                tag.get(..value_start)?,
                tag.get(value_start + value_len..)?
            )
        }
        None => format!("<rss version=\"2.0\"{}", tag.get(4..)?),
    };
    let mut patched = String::with_capacity(text.len() + 16);
    patched.push_str(text.get(..tag_start)?);
    patched.push_str(&patched_tag);
    patched.push_str(text.get(tag_end..)?);
    Some(patched.into_bytes())
}

// --- Entries ----------------------------------------------------------------------------

/// Maps one feed-rs entry; `None` (with a warning) when it has nothing to show.
fn map_entry(
    feed: &model::Feed,
    entry: &Entry,
    entry_idx: usize,
    json_images: &[String],
    base: &Url,
    warnings: &mut Warnings,
) -> Option<RawItem> {
    let label = entry_label(entry, entry_idx);
    let is_json = feed.feed_type == FeedType::JSON;

    let url = permalink(entry, is_json, base, &label, warnings);
    // Titles are read as HTML downstream. An Atom title of type "text" (the default) is
    // literal text (RFC 4287 3.1.1.1), so its markup characters are escaped to stay text.
    // Ids derive from the title as written, so escaping changes no id.
    let written_title = entry
        .title
        .as_ref()
        .map(|text| text.content.trim().to_string())
        .filter(|text| !text.is_empty());
    // An RSS title is literal text too unless it looks like HTML (`title`).
    let literal_title = match feed.feed_type {
        FeedType::Atom => entry.title.as_ref().is_some_and(|text| {
            text.content_type.ty() == "text" && text.content_type.subty() == "plain"
        }),
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => written_title
            .as_deref()
            .is_some_and(|text| !title::looks_like_html(text)),
        FeedType::JSON => false,
    };
    let title = match &written_title {
        Some(text) if literal_title => Some(crate::site::escape_html(text)),
        other => other.clone(),
    };
    let content = entry.content.as_ref().and_then(|content| {
        let body = content.body.as_deref()?.trim();
        if body.is_empty() {
            return None;
        }
        let mime = content
            .content_type
            .essence()
            .to_string()
            .to_ascii_lowercase();
        match mime.as_str() {
            "text/html" | "application/xhtml+xml" | "application/xhtml" => {
                Some(Content::Html(body.to_string()))
            }
            _ if mime.starts_with("text/") => Some(Content::Text(body.to_string())),
            // RFC 4287 4.1.3.3: Atom content of any other non-XML type is base64. Text
            // that decodes to UTF-8 is shown; anything else is not.
            _ if feed.feed_type == FeedType::Atom && !mime.ends_with("xml") => {
                match lift::decode_base64_text(body) {
                    Some(text) if mime.contains("html") => Some(Content::Html(text)),
                    Some(text) => Some(Content::Text(text)),
                    None => {
                        warnings.push(format!("{label}: content of type {mime} is not shown"));
                        None
                    }
                }
            }
            _ => {
                warnings.push(format!("{label}: content of type {mime} is not shown"));
                None
            }
        }
    });
    // An iTunes summary or a Media RSS description (feed-rs keeps both on the media
    // object) stands in for a missing description.
    let summary = entry
        .summary
        .as_ref()
        .and_then(text_to_content)
        .or_else(|| {
            if content.is_some() {
                return None;
            }
            entry
                .media
                .iter()
                .filter_map(|object| object.description.as_ref())
                .find_map(text_to_content)
        });
    let is_atom = feed.feed_type == FeedType::Atom;
    let media = entry_media(entry, is_json, is_atom, json_images, base, &label, warnings);

    if entry.id.trim().is_empty()
        && url.is_none()
        && title.is_none()
        && content.is_none()
        && summary.is_none()
        && media.is_empty()
    {
        warnings.push(format!(
            "{label}: dropped, it has no id, link, title or text"
        ));
        return None;
    }

    let external_id = external_id(
        entry,
        url.as_ref(),
        written_title.as_deref(),
        content.as_ref(),
        summary.as_ref(),
        base,
    );
    let mut item = RawItem::new(external_id);
    item.media = media;
    item.url = url;
    item.title = title;
    item.content = content;
    item.summary = summary;
    item.published = entry.published;
    item.updated = entry.updated;
    item.author = entry
        .authors
        .iter()
        .chain(feed.authors.iter())
        .find_map(|person| person_to_author(person, base));
    item.tags = entry_tags(entry);
    item.kind = item_kind(&item);
    Some(item)
}

/// How an entry is named in warnings: its id, or its position.
fn entry_label(entry: &Entry, entry_idx: usize) -> String {
    let id = entry.id.trim();
    if id.is_empty() {
        format!("entry {}", entry_idx + 1)
    } else {
        format!("entry {}", one_line(id, 80))
    }
}

/// The entry's permalink: a `rel="alternate"` link, else the first link that is not about
/// the feed machinery (self, edit, enclosure…). JSON Feed attachments are media, not links.
fn permalink(
    entry: &Entry,
    is_json: bool,
    base: &Url,
    label: &str,
    warnings: &mut Warnings,
) -> Option<Url> {
    const NOT_PERMALINKS: [&str; 9] = [
        "self",
        "edit",
        "edit-media",
        "enclosure",
        "replies",
        "license",
        "hub",
        "via",
        "related",
    ];
    let candidates: Vec<&model::Link> = entry
        .links
        .iter()
        .filter(|link| link.target.is_none())
        .filter(|link| !(is_json && link.media_type.is_some()))
        .collect();
    let is_alternate = |link: &&&model::Link| {
        link.rel
            .as_deref()
            .is_none_or(|rel| rel.eq_ignore_ascii_case("alternate"))
    };
    // Of several alternates, the web page (RFC 4287 4.2.7.2 lets them differ by type).
    let is_page = |link: &&&model::Link| {
        link.media_type.as_deref().is_none_or(|media_type| {
            let media_type = media_type.trim();
            media_type.is_empty()
                || media_type.eq_ignore_ascii_case("text/html")
                || media_type.eq_ignore_ascii_case("application/xhtml+xml")
        })
    };
    let chosen = candidates
        .iter()
        .filter(is_alternate)
        .find(is_page)
        .or_else(|| candidates.iter().find(is_alternate))
        .or_else(|| {
            candidates.iter().find(|link| {
                link.rel.as_deref().is_none_or(|rel| {
                    !NOT_PERMALINKS
                        .iter()
                        .any(|skip| rel.eq_ignore_ascii_case(skip))
                })
            })
        })?;
    let href = chosen.href.trim();
    if href.is_empty() {
        return None;
    }
    let url = http_url(href, base);
    if url.is_none() {
        warnings.push(format!(
            "{label}: dropped link \"{}\": not an http(s) address",
            one_line(href, 120)
        ));
    }
    url
}

/// A stable, never-empty id: the entry's id or guid, else its permalink, else a SHA-256 of
/// the feed address, title, text and first media URL (feed-rs would hand out a random UUID
/// here).
fn external_id(
    entry: &Entry,
    url: Option<&Url>,
    title: Option<&str>,
    content: Option<&Content>,
    summary: Option<&Content>,
    base: &Url,
) -> String {
    let id = entry.id.trim();
    let id = if !id.is_empty() {
        id.to_string()
    } else if let Some(url) = url {
        url.to_string()
    } else {
        let first_media = entry
            .media
            .iter()
            .flat_map(|media| media.content.iter())
            .find_map(|content| content.url.as_ref().map(Url::as_str))
            .unwrap_or_default();
        sha256_hex(&[
            base.as_str(),
            title.unwrap_or_default(),
            content.or(summary).map(content_text).unwrap_or_default(),
            first_media,
        ])
    };
    if id.len() > MAX_EXTERNAL_ID_BYTES {
        format!("sha256:{}", sha256_hex(&[&id]))
    } else {
        id
    }
}

fn content_text(content: &Content) -> &str {
    match content {
        Content::Html(text) | Content::Text(text) => text,
    }
}

fn text_to_content(text: &model::Text) -> Option<Content> {
    let body = text.content.trim();
    if body.is_empty() {
        return None;
    }
    let mime = text.content_type.essence().to_string().to_ascii_lowercase();
    Some(match mime.as_str() {
        "text/html" | "application/xhtml+xml" | "application/xhtml" => {
            Content::Html(body.to_string())
        }
        _ => Content::Text(body.to_string()),
    })
}

fn person_to_author(person: &model::Person, base: &Url) -> Option<RawAuthor> {
    let name = person
        .name
        .as_deref()
        .map(str::trim)
        // RSS `<author>` is `email (Name)`; feed-rs keeps the parentheses.
        .map(|name| {
            name.strip_prefix('(')
                .and_then(|inner| inner.strip_suffix(')'))
                .unwrap_or(name)
                .trim()
        })
        .filter(|name| !name.is_empty())
        .map(str::to_string);
    let url = person.uri.as_deref().and_then(|uri| http_url(uri, base));
    if name.is_none() && url.is_none() {
        return None;
    }
    Some(RawAuthor {
        name,
        url,
        avatar: None,
    })
}

/// Category labels (or terms), trimmed, without repeats.
fn entry_tags(entry: &Entry) -> Vec<String> {
    let mut seen = HashSet::new();
    entry
        .categories
        .iter()
        .filter_map(|category| {
            let label = category
                .label
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty());
            let tag = label.unwrap_or(category.term.trim());
            (!tag.is_empty()).then(|| tag.to_string())
        })
        .filter(|tag| seen.insert(tag.to_lowercase()))
        .collect()
}

/// Enclosures, Media RSS content and thumbnails, iTunes images, Atom `rel="enclosure"`
/// links, JSON Feed attachments and images; absolute http(s) only, without repeats.
/// A type that makes out-of-line content a page rather than a media file.
fn is_page_type(declared: &str) -> bool {
    matches!(
        declared.trim().to_ascii_lowercase().as_str(),
        "text" | "html" | "xhtml" | "text/html" | "application/xhtml+xml" | "text/plain"
    )
}

fn entry_media(
    entry: &Entry,
    is_json: bool,
    is_atom: bool,
    json_images: &[String],
    base: &Url,
    label: &str,
    warnings: &mut Warnings,
) -> Vec<Media> {
    let mut media = Vec::new();
    let mut dropped = Vec::new();
    for object in &entry.media {
        media_from_object(object, base, &mut media, &mut dropped);
    }
    for link in &entry.links {
        let is_enclosure = link
            .rel
            .as_deref()
            .is_some_and(|rel| rel.eq_ignore_ascii_case("enclosure"));
        let is_attachment = is_json && link.media_type.is_some();
        if !(is_enclosure || is_attachment) {
            continue;
        }
        match http_url(&link.href, base) {
            Some(url) => media.push(Media {
                url,
                media_type: link
                    .media_type
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
                width: None,
                height: None,
                length: link.length.filter(|length| *length > 0),
                thumbnail: None,
                alt: link.title.clone().filter(|title| !title.trim().is_empty()),
            }),
            None => dropped.push(link.href.clone()),
        }
    }
    // Out-of-line Atom content (RFC 4287 4.1.3.2) that is not a page is the entry's media.
    // (feed-rs fills `src` of RSS content with the `xml:base`, which is no content at all.)
    if is_atom
        && let Some(content) = &entry.content
        && let Some(src) = &content.src
        && !src.media_type.as_deref().is_some_and(is_page_type)
    {
        match http_url(&src.href, base) {
            Some(url) => media.push(Media {
                media_type: src
                    .media_type
                    .as_deref()
                    .map(str::trim)
                    .filter(|mime| mime.contains('/'))
                    .map(str::to_string),
                ..Media::at(url)
            }),
            None => dropped.push(src.href.clone()),
        }
    }
    for image in json_images {
        match http_url(image, base) {
            Some(url) => media.push(image_media(url, None, None, None)),
            None => dropped.push(image.clone()),
        }
    }

    for href in dropped {
        warnings.push(format!(
            "{label}: dropped media \"{}\": not an http(s) address",
            one_line(&href, 120)
        ));
    }
    let mut seen = HashSet::new();
    media.retain(|item| seen.insert(item.url.to_string()));
    if media.len() > MAX_MEDIA_PER_ITEM {
        warnings.push(format!(
            "{label}: kept {MAX_MEDIA_PER_ITEM} of {} media",
            media.len()
        ));
        media.truncate(MAX_MEDIA_PER_ITEM);
    }
    media
}

fn media_from_object(
    object: &MediaObject,
    base: &Url,
    media: &mut Vec<Media>,
    dropped: &mut Vec<String>,
) {
    let alt = object
        .description
        .as_ref()
        .or(object.title.as_ref())
        .map(|text| one_line(&text.content, 1000))
        .filter(|text| !text.is_empty());
    let thumbnails: Vec<(Url, &model::Image)> = object
        .thumbnails
        .iter()
        .filter_map(|thumbnail| match http_url(&thumbnail.image.uri, base) {
            Some(url) => Some((url, &thumbnail.image)),
            None => {
                dropped.push(thumbnail.image.uri.clone());
                None
            }
        })
        .collect();
    let first_thumbnail = thumbnails.first().map(|(url, _)| url.clone());

    let mut n_content = 0;
    for content in &object.content {
        let Some(url) = content.url.as_ref() else {
            continue;
        };
        let Some(url) = http_url(url.as_str(), base) else {
            dropped.push(url.to_string());
            continue;
        };
        n_content += 1;
        media.push(Media {
            url,
            media_type: content.content_type.as_ref().map(|mime| mime.to_string()),
            width: content.width,
            height: content.height,
            length: content.size.filter(|size| *size > 0),
            thumbnail: first_thumbnail.clone(),
            alt: alt.clone(),
        });
    }
    // Thumbnails without content (YouTube, iTunes episode art) are pictures in their own right.
    if n_content == 0 {
        for (url, image) in thumbnails {
            media.push(image_media(url, image.width, image.height, alt.clone()));
        }
    }
}

fn image_media(url: Url, width: Option<u32>, height: Option<u32>, alt: Option<String>) -> Media {
    Media {
        media_type: guess_image_type(&url).map(str::to_string),
        url,
        width,
        height,
        length: None,
        thumbnail: None,
        alt,
    }
}

/// The image type implied by a URL's extension, for pictures the feed gives no type for.
fn guess_image_type(url: &Url) -> Option<&'static str> {
    let path = url.path().to_ascii_lowercase();
    let extension = path.rsplit_once('.')?.1;
    Some(match extension {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// What the item is, decided in this order:
/// 1. the first audio or video attachment makes it Audio or Video;
/// 2. an image with at most [`PHOTO_MAX_TEXT_CHARS`] of visible text makes it a Photo;
/// 3. no title makes it a Note;
/// 4. a title with text (content or summary) makes it an Article;
/// 5. a title alone is a Link.
fn item_kind(item: &RawItem) -> ItemKind {
    let main = item.media.iter().find_map(|media| {
        let mime = media.media_type.as_deref()?.to_ascii_lowercase();
        if mime.starts_with("audio/") {
            Some(ItemKind::Audio)
        } else if mime.starts_with("video/") {
            Some(ItemKind::Video)
        } else {
            None
        }
    });
    if let Some(kind) = main {
        return kind;
    }
    let body = item.content.as_ref().or(item.summary.as_ref());
    let has_more_text_than =
        |limit: usize| body.is_some_and(|body| visible_text_chars(body, limit + 1) > limit);
    let has_image = item.media.iter().any(|media| {
        media
            .media_type
            .as_deref()
            .is_some_and(|mime| mime.to_ascii_lowercase().starts_with("image/"))
    });
    if has_image && !has_more_text_than(PHOTO_MAX_TEXT_CHARS) {
        return ItemKind::Photo;
    }
    match (&item.title, has_more_text_than(0)) {
        (None, _) => ItemKind::Note,
        (Some(_), true) => ItemKind::Article,
        (Some(_), false) => ItemKind::Link,
    }
}

/// Characters outside HTML tags, ignoring whitespace: a rough measure of how much there is
/// to read. Counting stops at `stop`: callers only ask whether there is more than some amount.
fn visible_text_chars(content: &Content, stop: usize) -> usize {
    match content {
        Content::Text(text) => text
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(stop)
            .count(),
        Content::Html(html) => {
            let mut in_tag = false;
            let mut n_chars = 0;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag && !c.is_whitespace() => {
                        n_chars += 1;
                        if n_chars == stop {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            n_chars
        }
    }
}

/// Resolves `href` against `base` and keeps it only if it is http(s) with a host.
fn http_url(href: &str, base: &Url) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = base.join(href).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|host| !host.is_empty()))
    .then_some(url)
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // A separator keeps ("ab", "c") and ("a", "bc") apart.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

// --- Feed-level facts --------------------------------------------------------------------

fn source_meta(feed: &model::Feed, base: &Url) -> SourceMeta {
    let title = feed
        .title
        .as_ref()
        .map(|text| one_line(&text.content, 500))
        .filter(|title| !title.is_empty());
    let site_url = feed
        .links
        .iter()
        .filter(|link| {
            link.rel
                .as_deref()
                .is_none_or(|rel| rel.eq_ignore_ascii_case("alternate"))
        })
        .filter(|link| {
            // JSON Feed's feed_url arrives as a plain link; the site is home_page_url.
            link.media_type.is_none()
                || link
                    .media_type
                    .as_deref()
                    .is_some_and(|t| t.contains("html"))
        })
        .find_map(|link| http_url(&link.href, base))
        .filter(|url| url != base);
    let icon = feed
        .icon
        .iter()
        .chain(feed.logo.iter())
        .find_map(|image| http_url(&image.uri, base));
    let with_rel = |wanted: &'static str| {
        feed.links.iter().filter(move |link| {
            link.rel
                .as_deref()
                .is_some_and(|rel| rel.eq_ignore_ascii_case(wanted))
        })
    };
    // W3C WebSub section 4: the hub and self links, in Atom or as atom:link in RSS.
    let mut hubs: Vec<Url> = Vec::new();
    for url in with_rel("hub").filter_map(|link| http_url(&link.href, base)) {
        if !hubs.contains(&url) {
            hubs.push(url);
        }
    }
    let self_url = with_rel("self").find_map(|link| http_url(&link.href, base));
    SourceMeta {
        title,
        site_url,
        icon,
        hubs,
        self_url,
    }
}

/// What a JSON Feed says that feed-rs does not read: each kept item's `image` and
/// `banner_image`, and the feed's WebSub `hubs` and `feed_url`.
#[derive(Clone, Debug, Default)]
struct JsonFeedExtras {
    images: Vec<Vec<String>>,
    hubs: Vec<String>,
    feed_url: Option<String>,
}

/// Rewrites a JSON Feed so that feed-rs's strict types accept it: fields of the wrong type
/// are removed (numeric ids become strings), items that are not objects are dropped, and
/// attachments without a `mime_type` get `application/octet-stream`. Also returns what
/// feed-rs does not read ([`JsonFeedExtras`]). `None` when the document is not a JSON
/// object; feed-rs then reports why.
fn clean_json_feed(document: &[u8], warnings: &mut Warnings) -> Option<(Vec<u8>, JsonFeedExtras)> {
    use serde_json::Value;
    const FEED_STRINGS: [&str; 8] = [
        "version",
        "title",
        "home_page_url",
        "feed_url",
        "description",
        "icon",
        "favicon",
        "language",
    ];
    const ITEM_STRINGS: [&str; 11] = [
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "date_published",
        "date_modified",
        "image",
        "banner_image",
    ];

    if document.first() != Some(&b'{') {
        return None;
    }
    let Ok(Value::Object(mut feed)) = serde_json::from_slice::<Value>(document) else {
        return None;
    };
    keep_strings(&mut feed, &FEED_STRINGS, "the feed", warnings);
    if !matches!(feed.get("title"), Some(Value::String(_))) {
        feed.insert("title".into(), Value::String(String::new()));
    }
    clean_json_authors(&mut feed);

    let raw_items = match feed.remove("items") {
        Some(Value::Array(items)) => items,
        Some(_) => {
            warnings.push("the feed's \"items\" is not a list; no items read".into());
            Vec::new()
        }
        None => Vec::new(),
    };
    let mut items = Vec::with_capacity(raw_items.len());
    let mut images = Vec::with_capacity(raw_items.len());
    for (item_idx, raw_item) in raw_items.into_iter().enumerate() {
        let Value::Object(mut item) = raw_item else {
            warnings.push(format!(
                "entry {}: dropped, it is not a JSON object",
                item_idx + 1
            ));
            continue;
        };
        if let Some(Value::Number(number)) = item.get("id") {
            let id = number.to_string();
            item.insert("id".into(), Value::String(id));
        }
        let label = format!("entry {}", item_idx + 1);
        keep_strings(&mut item, &ITEM_STRINGS, &label, warnings);
        clean_json_authors(&mut item);
        if let Some(tags) = item.get_mut("tags") {
            match tags {
                Value::Array(list) => list.retain(Value::is_string),
                _ => *tags = Value::Array(Vec::new()),
            }
        }
        if let Some(attachments) = item.get_mut("attachments") {
            match attachments {
                Value::Array(list) => {
                    list.retain(|attachment| attachment.get("url").is_some_and(Value::is_string));
                    for attachment in list.iter_mut() {
                        let Value::Object(fields) = attachment else {
                            continue;
                        };
                        if !fields.get("mime_type").is_some_and(Value::is_string) {
                            fields.insert(
                                "mime_type".into(),
                                Value::String("application/octet-stream".into()),
                            );
                        }
                        if fields.get("title").is_some_and(|title| !title.is_string()) {
                            fields.remove("title");
                        }
                        if fields
                            .get("size_in_bytes")
                            .is_some_and(|size| !size.is_u64())
                        {
                            fields.remove("size_in_bytes");
                        }
                    }
                }
                _ => *attachments = Value::Array(Vec::new()),
            }
        }
        images.push(
            ["image", "banner_image"]
                .iter()
                .filter_map(|key| item.get(*key).and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
        );
        items.push(Value::Object(item));
    }
    feed.insert("items".into(), Value::Array(items));
    let hubs = match feed.get("hubs") {
        Some(Value::Array(hubs)) => hubs
            .iter()
            .filter_map(|hub| hub.get("url").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let feed_url = feed
        .get("feed_url")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let cleaned = serde_json::to_vec(&Value::Object(feed)).ok()?;
    Some((
        cleaned,
        JsonFeedExtras {
            images,
            hubs,
            feed_url,
        },
    ))
}

/// Removes fields that should be strings but are not, with a warning each.
fn keep_strings(
    object: &mut serde_json::Map<String, serde_json::Value>,
    keys: &[&str],
    label: &str,
    warnings: &mut Warnings,
) {
    for key in keys {
        if object
            .get(*key)
            .is_some_and(|value| !value.is_string() && !value.is_null())
        {
            object.remove(*key);
            warnings.push(format!("{label}: ignored \"{key}\", it is not text"));
        }
    }
}

/// Keeps `author` and `authors` only as objects whose `name` and `url` are strings.
fn clean_json_authors(object: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    fn clean(author: &mut Value) -> bool {
        let Value::Object(fields) = author else {
            return false;
        };
        for key in ["name", "url"] {
            if fields.get(key).is_some_and(|value| !value.is_string()) {
                fields.remove(key);
            }
        }
        true
    }
    if let Some(author) = object.get_mut("author")
        && !clean(author)
    {
        object.remove("author");
    }
    if let Some(authors) = object.get_mut("authors") {
        match authors {
            Value::Array(list) => list.retain_mut(clean),
            _ => {
                object.remove("authors");
            }
        }
    }
}

// --- Bookkeeping -------------------------------------------------------------------------

/// Warnings with a cap, so the last line says how many were left out.
#[derive(Default)]
struct Warnings {
    kept: Vec<String>,
    n_dropped: usize,
}

impl Warnings {
    fn push(&mut self, warning: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(warning);
        } else {
            self.n_dropped += 1;
        }
    }

    fn first(&self) -> Option<&str> {
        self.kept.first().map(String::as_str)
    }

    /// Puts a warning first, as the summary of the ones after it.
    fn push_front(&mut self, warning: String) {
        self.kept.insert(0, warning);
    }

    fn finish(mut self) -> Vec<String> {
        if self.n_dropped > 0 {
            self.kept
                .push(format!("… and {} more warnings", self.n_dropped));
        }
        self.kept
    }
}

/// Keeps ids unique within one document. Real feeds reuse one guid for different posts:
/// those are kept apart with a `#hash` suffix; exact repeats are dropped.
#[derive(Default)]
struct Dedup {
    /// Fingerprints of what was admitted under each original id: a keyed 64-bit hash
    /// (SipHash with this document's random keys), so a hostile feed cannot make two
    /// different entries collide, at a fraction of the cost of SHA-256.
    by_id: HashMap<String, Vec<u64>>,
    keys: std::hash::RandomState,
    /// Every id handed out, suffixed or not.
    used: HashSet<String>,
}

impl Dedup {
    fn admit(&mut self, mut item: RawItem, warnings: &mut Warnings) -> Option<RawItem> {
        let fingerprint = std::hash::BuildHasher::hash_one(
            &self.keys,
            (
                item.url.as_ref().map(Url::as_str).unwrap_or_default(),
                item.title.as_deref().unwrap_or_default(),
                item.content.as_ref().map(content_text).unwrap_or_default(),
                item.summary.as_ref().map(content_text).unwrap_or_default(),
            ),
        );
        let original = item.external_id.clone();
        let seen = self.by_id.entry(original.clone()).or_default();
        if seen.contains(&fingerprint) {
            warnings.push(format!(
                "entry {}: dropped, an exact repeat of an earlier entry",
                one_line(&original, 80)
            ));
            return None;
        }
        seen.push(fingerprint);

        if self.used.contains(&original) {
            let link_hash = item.url.as_ref().map(|url| sha256_hex(&[url.as_str()]));
            let text_hash = sha256_hex(&[
                item.title.as_deref().unwrap_or_default(),
                item.content
                    .as_ref()
                    .or(item.summary.as_ref())
                    .map(content_text)
                    .unwrap_or_default(),
            ]);
            let mut candidates: Vec<String> = link_hash
                .into_iter()
                .chain(std::iter::once(text_hash))
                .map(|hash| {
                    format!(
                        "{original}#{}",
                        hash.get(..SHORT_HASH_CHARS).unwrap_or(&hash)
                    )
                })
                .collect();
            let mut n_suffix = 2;
            let new_id = loop {
                if let Some(candidate) = candidates.iter().find(|c| !self.used.contains(*c)) {
                    break candidate.clone();
                }
                // Same link and text, different summary: fall back to a counter.
                candidates = vec![format!("{original}#{n_suffix}")];
                n_suffix += 1;
            };
            warnings.push(format!(
                "entry {}: another entry uses the same id; this one is kept as {}",
                one_line(&original, 80),
                one_line(&new_id, 120)
            ));
            item.external_id = new_id;
        }
        self.used.insert(item.external_id.clone());
        Some(item)
    }
}
