//! Turns connector output into storable items. Pure: no IO, no SQL.

pub mod sanitize;
pub mod text;
pub mod urls;

use chrono::{DateTime, TimeDelta, Utc};
use connectors::{Content, Media, RawItem};
use sha2::{Digest, Sha256};
use url::Url;

use crate::model::{NewItem, SafeHtml};

pub use sanitize::{sanitize, sanitize_with};
pub use text::{html_to_text, plain_line, plain_title, text_to_html, truncate_chars};
pub use urls::{absolutize, canonical_url, dedup_key};

/// Titles longer than this are cut with "…".
pub const MAX_TITLE_CHARS: usize = 300;
/// Item HTML is cut to this many bytes before sanitizing, so the sanitizer closes open tags.
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;
/// Plain text kept for search and excerpts.
pub const MAX_SUMMARY_CHARS: usize = 4_000;
/// Tags beyond this many are dropped.
pub const MAX_TAGS: usize = 30;
pub const MAX_TAG_CHARS: usize = 64;
/// Attachments beyond this many are dropped.
pub const MAX_MEDIA: usize = 20;
pub const MAX_AUTHOR_CHARS: usize = 200;
pub const MAX_ALT_CHARS: usize = 1_000;
pub const MAX_MEDIA_TYPE_CHARS: usize = 100;
/// Longer ids are replaced by `sha256:<hex>` of themselves, which is stable across polls.
pub const MAX_EXTERNAL_ID_BYTES: usize = 512;
/// `extra` whose JSON is larger than this is dropped: it is meant for small site facts.
pub const MAX_EXTRA_JSON_BYTES: usize = 16 * 1024;
/// Dates further ahead of the fetch than this are feed bugs or attempts to stay on top.
pub const MAX_FUTURE_SKEW: TimeDelta = TimeDelta::minutes(10);

/// How many characters of an untrusted id go into a warning.
const MAX_ID_CHARS_IN_WARNING: usize = 80;

#[derive(Clone, Debug)]
pub struct NormalizeCtx {
    /// Relative links in content resolve against this (the feed's final URL).
    pub base_url: Option<Url>,
    pub fetched_at: DateTime<Utc>,
    /// Try the sanitizer's fast path before the full parser (`[normalize]
    /// sanitize_fast_path`); the output is the same either way.
    pub sanitize_fast_path: bool,
}

/// Sanitizes, absolutizes, clamps and caps one item. Cannot fail: problems become warnings.
pub fn normalize(raw: RawItem, ctx: &NormalizeCtx) -> (NewItem, Vec<String>) {
    let mut warnings = Vec::new();
    let label = format!(
        "item {:?}",
        truncate_chars(raw.external_id.trim(), MAX_ID_CHARS_IN_WARNING)
    );
    let mut warn = |message: String| warnings.push(format!("{label}: {message}"));

    let url = web_url(raw.url.as_ref(), "link", &mut warn);
    let canonical = url.as_ref().map(canonical_url);
    let in_reply_to = web_url(raw.in_reply_to.as_ref(), "in-reply-to link", &mut warn);

    let title = raw.title.as_deref().map(plain_title).unwrap_or_default();
    let (author_name, author_url) = match &raw.author {
        Some(author) => (
            author
                .name
                .as_deref()
                .map(|name| plain_line(name, MAX_AUTHOR_CHARS))
                .filter(|name| !name.is_empty()),
            web_url(author.url.as_ref(), "author link", &mut warn),
        ),
        None => (None, None),
    };

    let content = match raw.content.as_ref().or(raw.summary.as_ref()) {
        Some(body) => content_html(body, ctx, &mut warn),
        None => SafeHtml::default(),
    };
    let summary_text = truncate_chars(
        &text::sanitized_html_to_text(content.as_str()),
        MAX_SUMMARY_CHARS,
    );

    let external_id = external_id(&raw.external_id, canonical.as_ref(), &mut warn);
    let dedup_key = dedup_key(canonical.as_ref(), &external_id);
    let media = media(raw.media, ctx.base_url.as_ref(), &mut warn);
    let tags = tags(&raw.tags, &mut warn);

    let published_from_feed = raw
        .published
        .or(raw.updated)
        .and_then(|date| not_in_future(date, ctx, "publication date", &mut warn));
    let updated_from_feed = raw
        .updated
        .and_then(|date| not_in_future(date, ctx, "update date", &mut warn));
    let updated_at = raw
        .updated
        .map(|_| updated_from_feed.unwrap_or(ctx.fetched_at));

    let mut raw_extra = raw.extra;
    // A share's original author is a small fact of the item, kept as plain strings.
    if let Some(original) = &raw.shared_from {
        let mut from = serde_json::Map::new();
        if let Some(name) = original
            .name
            .as_deref()
            .map(|name| plain_line(name, MAX_AUTHOR_CHARS))
            && !name.is_empty()
        {
            from.insert("name".into(), name.into());
        }
        if let Some(url) = web_url(original.url.as_ref(), "shared-from link", &mut warn) {
            from.insert("url".into(), url.as_str().into());
        }
        if !from.is_empty() {
            raw_extra.insert("shared_from".into(), serde_json::Value::Object(from));
        }
    }
    let extra = if json_len(&raw_extra) > MAX_EXTRA_JSON_BYTES {
        warn(format!(
            "extra data over {MAX_EXTRA_JSON_BYTES} bytes dropped"
        ));
        serde_json::Map::new()
    } else {
        raw_extra
    };

    let mut item = NewItem {
        external_id,
        url,
        canonical_url: canonical,
        dedup_key,
        title,
        author_name,
        author_url,
        content,
        summary_text,
        kind: raw.kind,
        media,
        tags,
        in_reply_to,
        extra,
        published_at: published_from_feed.unwrap_or(ctx.fetched_at),
        updated_at,
        content_hash: [0; 32],
    };
    item.content_hash = content_hash(&item, published_from_feed, updated_from_feed);
    (item, warnings)
}

/// SHA-256 over an unambiguous serialization (tag, length, bytes) of every stored field.
/// Dates enter only when the feed gave them: a date that fell back or was clamped to the fetch
/// time changes on every poll, and re-polling unchanged content must give the same hash.
fn content_hash(
    item: &NewItem,
    published_from_feed: Option<DateTime<Utc>>,
    updated_from_feed: Option<DateTime<Utc>>,
) -> [u8; 32] {
    let mut hasher = FieldHasher(Sha256::new());
    hasher.field("external_id", item.external_id.as_bytes());
    hasher.optional("url", item.url.as_ref().map(|url| url.as_str().as_bytes()));
    hasher.optional(
        "canonical_url",
        item.canonical_url
            .as_ref()
            .map(|url| url.as_str().as_bytes()),
    );
    hasher.field("dedup_key", item.dedup_key.as_bytes());
    hasher.field("title", item.title.as_bytes());
    hasher.optional(
        "author_name",
        item.author_name.as_deref().map(str::as_bytes),
    );
    hasher.optional(
        "author_url",
        item.author_url.as_ref().map(|url| url.as_str().as_bytes()),
    );
    hasher.field("content", item.content.as_str().as_bytes());
    hasher.field("summary_text", item.summary_text.as_bytes());
    hasher.field("kind", item.kind.as_str().as_bytes());
    hasher.count("media", item.media.len());
    for media in &item.media {
        hasher.field("media_item", json_string(media).as_bytes());
    }
    hasher.count("tags", item.tags.len());
    for tag in &item.tags {
        hasher.field("tag", tag.as_bytes());
    }
    hasher.optional(
        "in_reply_to",
        item.in_reply_to.as_ref().map(|url| url.as_str().as_bytes()),
    );
    hasher.field("extra", json_string(&item.extra).as_bytes());
    hasher.optional(
        "published_at",
        published_from_feed
            .map(|date| date.to_rfc3339())
            .as_deref()
            .map(str::as_bytes),
    );
    hasher.optional(
        "updated_at",
        updated_from_feed
            .map(|date| date.to_rfc3339())
            .as_deref()
            .map(str::as_bytes),
    );
    hasher.0.finalize().into()
}

/// Writes each field as name, length and bytes, so no two different items serialize alike.
struct FieldHasher(Sha256);

impl FieldHasher {
    fn field(&mut self, name: &str, value: &[u8]) {
        self.0.update((name.len() as u64).to_be_bytes());
        self.0.update(name.as_bytes());
        self.0.update((value.len() as u64).to_be_bytes());
        self.0.update(value);
    }

    fn optional(&mut self, name: &str, value: Option<&[u8]>) {
        match value {
            Some(value) => {
                self.0.update([1]);
                self.field(name, value);
            }
            None => {
                self.0.update([0]);
                self.field(name, b"");
            }
        }
    }

    fn count(&mut self, name: &str, count: usize) {
        self.field(name, &(count as u64).to_be_bytes());
    }
}

/// Keeps an already-parsed URL only if it is http(s); anything else is dropped with a warning
/// naming only the scheme, so hostile URLs do not reach logs.
fn web_url(url: Option<&Url>, what: &str, warn: &mut impl FnMut(String)) -> Option<Url> {
    let url = url?;
    if urls::is_web_url(url) {
        Some(url.clone())
    } else {
        warn(format!("{what} with scheme {:?} dropped", url.scheme()));
        None
    }
}

fn content_html(body: &Content, ctx: &NormalizeCtx, warn: &mut impl FnMut(String)) -> SafeHtml {
    let (raw, is_html) = match body {
        Content::Html(html) => (html.as_str(), true),
        Content::Text(text) => (text.as_str(), false),
    };
    let cut = text::truncate_bytes(raw, MAX_CONTENT_BYTES);
    if cut.len() < raw.len() {
        warn(format!(
            "content of {} bytes cut to {MAX_CONTENT_BYTES}",
            raw.len()
        ));
    }
    if is_html {
        sanitize_with(cut, ctx.base_url.as_ref(), ctx.sanitize_fast_path)
    } else {
        text_to_html(cut)
    }
}

/// Trimmed; an over-long id becomes `sha256:<hex>` of itself; an empty id (a connector bug)
/// falls back to the canonical URL.
fn external_id(raw: &str, canonical: Option<&Url>, warn: &mut impl FnMut(String)) -> String {
    let trimmed = raw.trim();
    let id = if trimmed.is_empty() {
        warn("empty id replaced by the item's URL".to_string());
        canonical.map(Url::to_string).unwrap_or_default()
    } else {
        trimmed.to_string()
    };
    if id.len() > MAX_EXTERNAL_ID_BYTES {
        format!("sha256:{:x}", Sha256::digest(id.as_bytes()))
    } else {
        id
    }
}

fn media(raw_media: Vec<Media>, base: Option<&Url>, warn: &mut impl FnMut(String)) -> Vec<Media> {
    let mut kept: Vec<Media> = Vec::new();
    for raw in raw_media {
        let Some(url) = absolutize(raw.url.as_str(), base) else {
            warn(format!(
                "attachment with scheme {:?} dropped",
                raw.url.scheme()
            ));
            continue;
        };
        if kept.iter().any(|media| media.url == url) {
            continue;
        }
        if kept.len() == MAX_MEDIA {
            warn(format!("attachments beyond {MAX_MEDIA} dropped"));
            break;
        }
        let thumbnail = raw.thumbnail.as_ref().and_then(|thumbnail| {
            let absolute = absolutize(thumbnail.as_str(), base);
            if absolute.is_none() {
                warn(format!(
                    "thumbnail with scheme {:?} dropped",
                    thumbnail.scheme()
                ));
            }
            absolute
        });
        kept.push(Media {
            url,
            media_type: raw.media_type.as_deref().and_then(media_type),
            width: raw.width,
            height: raw.height,
            length: raw.length,
            thumbnail,
            alt: raw
                .alt
                .as_deref()
                .map(|alt| plain_line(alt, MAX_ALT_CHARS))
                .filter(|alt| !alt.is_empty()),
        });
    }
    kept
}

/// A MIME type (`type/subtype`, optional parameters) in lower case, or nothing.
fn media_type(raw: &str) -> Option<String> {
    let trimmed = raw.trim().to_ascii_lowercase();
    let essence = trimmed.split(';').next().unwrap_or_default().trim();
    let (kind, subtype) = essence.split_once('/')?;
    let is_token = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    (is_token(kind) && is_token(subtype) && trimmed.len() <= MAX_MEDIA_TYPE_CHARS)
        .then_some(trimmed)
}

/// Plain, trimmed, deduplicated ignoring case (the first spelling wins), empty ones dropped.
fn tags(raw_tags: &[String], warn: &mut impl FnMut(String)) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for raw in raw_tags {
        let tag = plain_line(raw, MAX_TAG_CHARS);
        if tag.is_empty() {
            continue;
        }
        let lower = tag.to_lowercase();
        if kept.iter().any(|seen| seen.to_lowercase() == lower) {
            continue;
        }
        if kept.len() == MAX_TAGS {
            warn(format!("tags beyond {MAX_TAGS} dropped"));
            break;
        }
        kept.push(tag);
    }
    kept
}

/// The date if it is not more than `MAX_FUTURE_SKEW` after the fetch, else nothing (the caller
/// then uses the fetch time).
fn not_in_future(
    date: DateTime<Utc>,
    ctx: &NormalizeCtx,
    what: &str,
    warn: &mut impl FnMut(String),
) -> Option<DateTime<Utc>> {
    if date > ctx.fetched_at + MAX_FUTURE_SKEW {
        warn(format!(
            "{what} {} is in the future; using the fetch time",
            date.to_rfc3339()
        ));
        None
    } else {
        Some(date)
    }
}

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |json| json.len())
}

fn json_string<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use connectors::{ItemKind, RawAuthor};

    fn fetched_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("valid test date")
    }

    fn ctx() -> NormalizeCtx {
        NormalizeCtx {
            base_url: Some(Url::parse("https://blog.example.com/feed.xml").expect("test URL")),
            fetched_at: fetched_at(),
            sanitize_fast_path: true,
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL parses")
    }

    fn raw_item() -> RawItem {
        let mut raw = RawItem::new("post-1");
        raw.url = Some(url("https://Blog.example.com/post-1?utm_source=rss#top"));
        raw.title = Some("Hello <b>world</b>".to_string());
        raw.content = Some(Content::Html(
            "<p>Body <a href=\"/about\">about</a><script>alert(1)</script></p>".to_string(),
        ));
        raw.published = Some(fetched_at() - TimeDelta::days(1));
        raw.kind = ItemKind::Article;
        raw
    }

    #[track_caller]
    fn check(raw: RawItem, expected: impl Fn(&NewItem)) {
        let (item, _warnings) = normalize(raw, &ctx());
        expected(&item);
    }

    #[track_caller]
    fn check_warns(raw: RawItem, fragment: &str) {
        let (_item, warnings) = normalize(raw, &ctx());
        assert!(
            warnings.iter().any(|warning| warning.contains(fragment)),
            "no warning containing {fragment:?} in {warnings:?}"
        );
    }

    #[test]
    fn typical_item_is_normalized() {
        check(raw_item(), |item| {
            assert_eq!(item.title, "Hello world");
            assert_eq!(
                item.content.as_str(),
                "<p>Body <a href=\"https://blog.example.com/about\" referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">about</a></p>"
            );
            assert_eq!(item.summary_text, "Body about");
            assert_eq!(
                item.canonical_url.as_ref().map(Url::as_str),
                Some("https://blog.example.com/post-1")
            );
            assert_eq!(item.dedup_key, "url:https://blog.example.com/post-1");
            assert_eq!(item.kind, ItemKind::Article);
        });
    }

    // See: #16
    #[test]
    fn issue_16_sanitize_fast_path_switch_reaches_the_sanitizer() {
        let mut raw = raw_item();
        raw.content = Some(Content::Html(
            "<p>Body <a href=\"/about\">about</a> &amp; <em>more</em></p>".to_string(),
        ));
        let answers = || sanitize::FAST_PATH_ANSWERS.get();
        let before = answers();
        let (fast, _) = normalize(raw.clone(), &ctx());
        assert!(
            answers() > before,
            "the fast path did not answer with the switch on"
        );
        let after_on = answers();
        let off = NormalizeCtx {
            sanitize_fast_path: false,
            ..ctx()
        };
        let (full, _) = normalize(raw, &off);
        assert_eq!(
            answers(),
            after_on,
            "the fast path answered with the switch off"
        );
        assert_eq!(fast.content, full.content);
    }

    #[test]
    fn title_html_becomes_plain_text() {
        let mut raw = raw_item();
        raw.title = Some("<script>alert(1)</script>Tom &amp; <i>Jerry</i>".to_string());
        check(raw, |item| assert_eq!(item.title, "Tom & Jerry"));
    }

    #[test]
    fn summary_is_used_when_there_is_no_content() {
        let mut raw = raw_item();
        raw.content = None;
        raw.summary = Some(Content::Html(
            "<p>Short <img src=x onerror=alert(1)></p>".to_string(),
        ));
        check(raw, |item| {
            assert_eq!(
                item.content.as_str(),
                "<p>Short <img src=\"https://blog.example.com/x\" referrerpolicy=\"no-referrer\"></p>"
            );
            assert_eq!(item.summary_text, "Short");
        });
    }

    #[test]
    fn text_content_is_escaped() {
        let mut raw = raw_item();
        raw.content = Some(Content::Text("a <b> & c\n\nnext".to_string()));
        check(raw, |item| {
            assert_eq!(
                item.content.as_str(),
                "<p>a &lt;b&gt; &amp; c</p><p>next</p>"
            );
            assert_eq!(item.summary_text, "a <b> & c\nnext");
        });
    }

    #[test]
    fn missing_content_is_empty() {
        let mut raw = raw_item();
        raw.content = None;
        check(raw, |item| {
            assert!(item.content.is_empty());
            assert_eq!(item.summary_text, "");
        });
    }

    #[test]
    fn long_content_is_cut_and_closed() {
        let mut raw = raw_item();
        raw.content = Some(Content::Html(format!(
            "<p><b>{}",
            "é".repeat(MAX_CONTENT_BYTES)
        )));
        check(raw, |item| {
            assert!(item.content.as_str().ends_with("</b></p>"));
            assert!(item.content.as_str().len() < MAX_CONTENT_BYTES + 20);
            assert_eq!(item.summary_text.chars().count(), MAX_SUMMARY_CHARS);
        });
    }

    #[test]
    fn javascript_item_link_is_dropped() {
        let mut raw = raw_item();
        raw.url = Some(url("javascript:alert(1)"));
        check(raw, |item| {
            assert_eq!(item.url, None);
            assert_eq!(item.canonical_url, None);
            assert_eq!(item.dedup_key, "id:post-1");
        });
    }

    #[test]
    fn javascript_item_link_warns() {
        let mut raw = raw_item();
        raw.url = Some(url("javascript:alert(1)"));
        check_warns(raw, "link with scheme \"javascript\" dropped");
    }

    #[test]
    fn author_is_plain_and_author_link_is_http() {
        let mut raw = raw_item();
        raw.author = Some(RawAuthor {
            name: Some("<img src=x onerror=alert(1)>Ann &lt;3".to_string()),
            url: Some(url("data:text/html,hi")),
            avatar: None,
        });
        check(raw, |item| {
            assert_eq!(item.author_name.as_deref(), Some("Ann <3"));
            assert_eq!(item.author_url, None);
        });
    }

    #[test]
    fn in_reply_to_must_be_http() {
        let mut raw = raw_item();
        raw.in_reply_to = Some(url("vbscript:msgbox(1)"));
        check(raw, |item| assert_eq!(item.in_reply_to, None));
    }

    #[test]
    fn media_with_bad_scheme_is_dropped() {
        let mut raw = raw_item();
        raw.media = vec![
            media_at("javascript:alert(1)"),
            Media {
                thumbnail: Some(url("data:image/png;base64,AAAA")),
                alt: Some("<b>cat</b>".to_string()),
                media_type: Some(" Image/JPEG ".to_string()),
                ..media_at("https://cdn.example.com/cat.jpg")
            },
        ];
        check(raw, |item| {
            assert_eq!(item.media.len(), 1);
            assert_eq!(
                item.media[0].url.as_str(),
                "https://cdn.example.com/cat.jpg"
            );
            assert_eq!(item.media[0].thumbnail, None);
            assert_eq!(item.media[0].alt.as_deref(), Some("cat"));
            assert_eq!(item.media[0].media_type.as_deref(), Some("image/jpeg"));
        });
    }

    #[test]
    fn bogus_media_type_is_dropped() {
        assert_eq!(media_type("text/html\"><script>"), None);
        assert_eq!(
            media_type("audio/mpeg; codecs=mp3"),
            Some("audio/mpeg; codecs=mp3".to_string())
        );
    }

    #[test]
    fn media_count_is_capped() {
        let mut raw = raw_item();
        raw.media = (0..MAX_MEDIA + 5)
            .map(|media_idx| media_at(&format!("https://cdn.example.com/{media_idx}.jpg")))
            .collect();
        check(raw, |item| assert_eq!(item.media.len(), MAX_MEDIA));
    }

    #[test]
    fn tags_are_plain_trimmed_and_deduplicated() {
        let mut raw = raw_item();
        raw.tags = [
            "  Rust ",
            "rust",
            "<b>web</b>",
            "",
            "   ",
            "RUST",
            "a&amp;b",
        ]
        .map(String::from)
        .to_vec();
        check(raw, |item| assert_eq!(item.tags, ["Rust", "web", "a&b"]));
    }

    #[test]
    fn tag_count_and_length_are_capped() {
        let mut raw = raw_item();
        raw.tags = (0..MAX_TAGS + 5)
            .map(|tag_idx| format!("tag{tag_idx}"))
            .collect();
        raw.tags[0] = "x".repeat(MAX_TAG_CHARS * 2);
        check(raw, |item| {
            assert_eq!(item.tags.len(), MAX_TAGS);
            assert_eq!(item.tags[0].chars().count(), MAX_TAG_CHARS);
        });
    }

    #[test]
    fn future_date_is_clamped_to_fetch_time() {
        let mut raw = raw_item();
        raw.published = Some(fetched_at() + TimeDelta::days(365));
        raw.updated = Some(fetched_at() + TimeDelta::hours(1));
        check(raw, |item| {
            assert_eq!(item.published_at, fetched_at());
            assert_eq!(item.updated_at, Some(fetched_at()));
        });
    }

    #[test]
    fn future_date_warns() {
        let mut raw = raw_item();
        raw.published = Some(fetched_at() + TimeDelta::days(365));
        check_warns(raw, "in the future");
    }

    #[test]
    fn small_clock_skew_is_kept() {
        let mut raw = raw_item();
        raw.published = Some(fetched_at() + TimeDelta::minutes(5));
        check(raw, |item| {
            assert_eq!(item.published_at, fetched_at() + TimeDelta::minutes(5));
        });
    }

    #[test]
    fn missing_date_uses_fetch_time() {
        let mut raw = raw_item();
        raw.published = None;
        check(raw, |item| {
            assert_eq!(item.published_at, fetched_at());
            assert_eq!(item.updated_at, None);
        });
    }

    #[test]
    fn missing_published_uses_updated() {
        let mut raw = raw_item();
        let updated = fetched_at() - TimeDelta::hours(3);
        raw.published = None;
        raw.updated = Some(updated);
        check(raw, |item| {
            assert_eq!(item.published_at, updated);
            assert_eq!(item.updated_at, Some(updated));
        });
    }

    #[test]
    fn external_id_is_trimmed() {
        let mut raw = raw_item();
        raw.external_id = "  post-1 \n".to_string();
        check(raw, |item| assert_eq!(item.external_id, "post-1"));
    }

    #[test]
    fn long_external_id_is_hashed_stably() {
        let long_id = "x".repeat(MAX_EXTERNAL_ID_BYTES + 1);
        let mut raw = raw_item();
        raw.external_id = long_id.clone();
        let (first, _) = normalize(raw.clone(), &ctx());
        let (second, _) = normalize(raw, &ctx());
        assert_eq!(first.external_id, second.external_id);
        assert_eq!(
            first.external_id,
            format!("sha256:{:x}", Sha256::digest(long_id.as_bytes()))
        );
        assert_eq!(first.external_id.len(), "sha256:".len() + 64);
    }

    #[test]
    fn id_at_the_cap_is_kept() {
        let mut raw = raw_item();
        raw.external_id = "x".repeat(MAX_EXTERNAL_ID_BYTES);
        check(raw, |item| {
            assert_eq!(item.external_id.len(), MAX_EXTERNAL_ID_BYTES)
        });
    }

    #[test]
    fn large_extra_is_dropped() {
        let mut raw = raw_item();
        raw.extra
            .insert("blob".to_string(), "x".repeat(MAX_EXTRA_JSON_BYTES).into());
        check(raw, |item| assert!(item.extra.is_empty()));
    }

    #[test]
    fn shared_from_becomes_plain_extra() {
        let mut raw = raw_item();
        raw.shared_from = Some(connectors::RawAuthor {
            name: Some("<b>Bo</b>".into()),
            url: Some(url("https://bsky.app/profile/bo.example")),
            avatar: None,
        });
        check(raw, |item| {
            let from = item.extra.get("shared_from").expect("kept");
            assert_eq!(from["url"], "https://bsky.app/profile/bo.example");
            assert!(!from["name"].as_str().unwrap().contains('<'));
        });
    }

    #[test]
    fn small_extra_passes_through() {
        let mut raw = raw_item();
        raw.extra.insert("score".to_string(), 42.into());
        check(raw, |item| {
            assert_eq!(item.extra.get("score"), Some(&42.into()))
        });
    }

    #[test]
    fn unchanged_item_has_same_hash() {
        let (first, _) = normalize(raw_item(), &ctx());
        let later = NormalizeCtx {
            fetched_at: fetched_at() + TimeDelta::hours(2),
            ..ctx()
        };
        let (second, _) = normalize(raw_item(), &later);
        assert_eq!(first.content_hash, second.content_hash);
    }

    #[test]
    fn undated_item_has_same_hash_across_fetches() {
        let mut raw = raw_item();
        raw.published = None;
        let (first, _) = normalize(raw.clone(), &ctx());
        let later = NormalizeCtx {
            fetched_at: fetched_at() + TimeDelta::hours(2),
            ..ctx()
        };
        let (second, _) = normalize(raw, &later);
        assert_ne!(first.published_at, second.published_at);
        assert_eq!(first.content_hash, second.content_hash);
    }

    #[test]
    fn changed_content_changes_hash() {
        let (first, _) = normalize(raw_item(), &ctx());
        let mut raw = raw_item();
        raw.content = Some(Content::Html("<p>Edited</p>".to_string()));
        let (second, _) = normalize(raw, &ctx());
        assert_ne!(first.content_hash, second.content_hash);
    }

    #[test]
    fn every_field_changes_hash() {
        let (base, _) = normalize(raw_item(), &ctx());
        let edits: Vec<fn(&mut RawItem)> = vec![
            |raw| raw.title = Some("Other".to_string()),
            |raw| raw.url = Some(url("https://blog.example.com/other")),
            |raw| raw.tags = vec!["new".to_string()],
            |raw| raw.kind = ItemKind::Note,
            |raw| raw.media = vec![media_at("https://cdn.example.com/a.png")],
            |raw| raw.in_reply_to = Some(url("https://other.example.com/")),
            |raw| {
                raw.extra.insert("score".to_string(), 1.into());
            },
            |raw| raw.published = Some(fetched_at() - TimeDelta::days(2)),
            |raw| raw.updated = Some(fetched_at() - TimeDelta::hours(1)),
            |raw| raw.external_id = "post-2".to_string(),
            |raw| {
                raw.author = Some(RawAuthor {
                    name: Some("Ann".to_string()),
                    ..RawAuthor::default()
                })
            },
        ];
        for (edit_idx, edit) in edits.iter().enumerate() {
            let mut raw = raw_item();
            edit(&mut raw);
            let (edited, _) = normalize(raw, &ctx());
            assert_ne!(base.content_hash, edited.content_hash, "edit {edit_idx}");
        }
    }

    #[test]
    fn hostile_payloads_normalize_harmlessly() {
        for payload in sanitize::tests::HOSTILE_PAYLOADS {
            let mut raw = raw_item();
            raw.title = Some((*payload).to_string());
            raw.content = Some(Content::Html((*payload).to_string()));
            let (item, _) = normalize(raw, &ctx());
            sanitize::tests::assert_harmless(item.content.as_str());
            assert!(
                !item.title.to_ascii_lowercase().contains("<script"),
                "{:?}",
                item.title
            );
        }
    }

    fn media_at(address: &str) -> Media {
        Media::at(url(address))
    }
}
