//! Turns stored items into documents that leave Tributary: Atom, RSS, JSON Feed, OPML.
//! Pure: no IO, no SQL, no web; callers pass the data and get bytes back.
//!
//! Identity and paging live here because every format shares them:
//! - an entry's id is `tag:{host},2026:item/{item id}` (RFC 4151), built only from the
//!   instance host and the row id, so edits, re-polls and comments never change it;
//! - a stream is cut into archive pages (RFC 5005) counted from the oldest item:
//!   page K holds items K·50−49 … K·50 in insertion order, so a page never changes when
//!   new items arrive; the subscription document holds the 50 to 99 newest items that no
//!   archive page holds yet.

pub mod atom;
pub mod jsonfeed;
pub mod opml;
pub mod rss;
pub mod uri;

use std::borrow::Cow;

use chrono::{DateTime, Datelike, SecondsFormat, TimeZone, Utc};

use crate::model::{CommentId, Item, ItemId};

/// Items on one archive page.
pub const ARCHIVE_PAGE_SIZE: u64 = 50;
/// The date part of every `tag:` URI (RFC 4151 §2.1). Fixed forever: changing it would
/// change every id ever exported.
pub const TAG_DATE: &str = "2026";
/// Atom's namespace.
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// RFC 4685, the Atom threading extension (`thr:total`, `thr:count`, `thr:in-reply-to`).
pub const THREAD_NS: &str = "http://purl.org/syndication/thread/1.0";
/// RFC 5005, feed paging and archiving (`fh:archive`).
pub const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// Where the instance lives: its public base URL and the host that names its tag URIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// `https://example.org`, no trailing slash.
    pub base_url: String,
    /// The host part of `base_url`, without port (a tag URI authority is a DNS name).
    pub tag_host: String,
    /// The WebSub hub stream feeds name with `rel="hub"`, when one is configured.
    pub hub: Option<String>,
}

impl Site {
    pub fn new(base_url: &str) -> Site {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let tag_host = url::Url::parse(&base_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        Site {
            base_url,
            tag_host,
            hub: None,
        }
    }

    /// The same site, naming `hub` in its stream feeds.
    pub fn with_hub(mut self, hub: Option<url::Url>) -> Site {
        self.hub = hub.map(String::from);
        self
    }

    /// The permanent id of an item in every export.
    pub fn item_tag(&self, id: ItemId) -> String {
        format!("tag:{},{TAG_DATE}:item/{}", self.tag_host, id.0)
    }

    pub fn comment_tag(&self, id: CommentId) -> String {
        format!("tag:{},{TAG_DATE}:comment/{}", self.tag_host, id.0)
    }

    /// The permanent id of a feed; `what` is e.g. `user/ana` or `user/ana/friends`.
    pub fn feed_tag(&self, what: &str) -> String {
        format!("tag:{},{TAG_DATE}:{what}", self.tag_host)
    }

    /// The item's page on this instance.
    pub fn item_page(&self, id: ItemId) -> String {
        format!("{}/e/{}", self.base_url, id.0)
    }

    pub fn comments_feed(&self, id: ItemId) -> String {
        format!("{}/e/{}/comments.atom", self.base_url, id.0)
    }

    /// An absolute URL for a path on this instance (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// An item with what exports show besides it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportItem {
    pub item: Item,
    pub n_comments: u64,
}

/// A comment as the comments feed shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportComment {
    pub id: CommentId,
    pub author_name: String,
    pub author_url: String,
    /// Plain text as typed.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

/// One notification as its feed shows it: a sentence, where it points, plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationEntry {
    /// A `tag:` URI from [`Site::feed_tag`].
    pub id: String,
    pub title: String,
    /// An absolute URL.
    pub link: String,
    /// Who did it, when somebody did (empty for a failing source).
    pub author_name: String,
    pub author_url: String,
    pub updated: DateTime<Utc>,
    pub text: String,
}

/// RFC 5005 links of one document, as absolute URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paging {
    /// Set on archive pages: the subscription document.
    pub current: Option<String>,
    /// The next older archive page.
    pub prev_archive: Option<String>,
    /// The next newer archive page.
    pub next_archive: Option<String>,
    /// Whether this document is an archive page (`fh:archive`).
    pub is_archive: bool,
}

/// What a feed document says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedMeta {
    pub site: Site,
    /// A permanent id from [`Site::feed_tag`].
    pub id: String,
    pub title: String,
    /// This document's own URL.
    pub self_url: String,
    /// The HTML page showing the same stream.
    pub alternate_url: String,
    pub icon_url: String,
    pub author_name: String,
    pub author_url: String,
    /// The newest change among the entries (or when the stream began, if it has none).
    pub updated: DateTime<Utc>,
    pub paging: Paging,
    /// The WebSub hub, named on subscription documents only: archive pages never change
    /// when new items arrive, so nobody needs to hear about them.
    pub hub: Option<String>,
}

/// Which rows of a stream (counted from the oldest, 0-based) one document holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub offset: u64,
    pub limit: u64,
    /// The archive page number (1-based), or `None` for the subscription document.
    pub page: Option<u64>,
    /// How many archive pages the stream has now.
    pub n_archive_pages: u64,
}

/// How many archive pages a stream of `n_items` has: every full block of
/// [`ARCHIVE_PAGE_SIZE`] except the newest 50 to 99 items, which stay in the subscription
/// document so it is never nearly empty.
pub fn n_archive_pages(n_items: u64) -> u64 {
    n_items.saturating_sub(ARCHIVE_PAGE_SIZE) / ARCHIVE_PAGE_SIZE
}

/// The rows of the subscription document (`page == None`) or of archive page `page`;
/// `None` when that page does not exist (yet).
pub fn block(n_items: u64, page: Option<u64>) -> Option<Block> {
    let n_archive_pages = n_archive_pages(n_items);
    match page {
        None => {
            let offset = n_archive_pages * ARCHIVE_PAGE_SIZE;
            Some(Block {
                offset,
                limit: n_items - offset,
                page: None,
                n_archive_pages,
            })
        }
        Some(page) if page >= 1 && page <= n_archive_pages => Some(Block {
            offset: (page - 1) * ARCHIVE_PAGE_SIZE,
            limit: ARCHIVE_PAGE_SIZE,
            page: Some(page),
            n_archive_pages,
        }),
        Some(_) => None,
    }
}

impl Block {
    /// RFC 5005 links for this block, given the subscription document's URL; archive page
    /// K is `{url}?page=K`.
    pub fn paging(&self, subscription_url: &str) -> Paging {
        let page_url = |page: u64| format!("{subscription_url}?page={page}");
        match self.page {
            None => Paging {
                prev_archive: (self.n_archive_pages > 0).then(|| page_url(self.n_archive_pages)),
                ..Paging::default()
            },
            Some(page) => Paging {
                current: Some(subscription_url.to_owned()),
                prev_archive: (page > 1).then(|| page_url(page - 1)),
                next_archive: (page < self.n_archive_pages).then(|| page_url(page + 1)),
                is_archive: true,
            },
        }
    }
}

/// The document formats of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Atom,
    Rss,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Atom, Format::Rss, Format::Json];

    /// The format of a stream document's file name (`feed.atom`, `feed.rss`, `feed.json`).
    pub fn from_file_name(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|format| name.strip_prefix("feed.") == Some(format.extension()))
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    pub fn render(self, meta: &FeedMeta, entries: &[ExportItem]) -> Vec<u8> {
        match self {
            Format::Atom => atom::atom(meta, entries),
            Format::Rss => rss::rss(meta, entries),
            Format::Json => jsonfeed::json_feed(meta, entries),
        }
    }
}

/// Which of a user's streams a feed carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind<'a> {
    /// Everything the user posts.
    User,
    /// The user's items from one kind of source (`github`, `feed`, …).
    Service(&'a str),
    /// The items of the people the user follows.
    Friends,
    /// The user's items from one of their sources, with its title.
    Source(crate::model::SourceId, &'a str),
}

/// The user a stream belongs to, as feeds name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub created_at: DateTime<Utc>,
}

impl Owner<'_> {
    pub fn shown_name(&self) -> &str {
        if self.display_name.trim().is_empty() {
            self.name
        } else {
            self.display_name
        }
    }
}

/// The path of a stream's subscription document, e.g. `/ana/friends/feed.atom`.
pub fn stream_path(owner_name: &str, kind: StreamKind<'_>, format: Format) -> String {
    let ext = format.extension();
    match kind {
        StreamKind::User => format!("/{owner_name}/feed.{ext}"),
        StreamKind::Service(service) => format!("/{owner_name}/{service}/feed.{ext}"),
        StreamKind::Friends => format!("/{owner_name}/friends/feed.{ext}"),
        StreamKind::Source(id, _) => format!("/{owner_name}/source/{id}/feed.{ext}"),
    }
}

/// Source kinds are short lower-case identifiers; only those name a service stream.
pub fn is_service_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Everything a stream document says about itself: ids, links (self, alternate, paging),
/// author, icon and the newest update.
pub fn stream_meta(
    site: &Site,
    owner: Owner<'_>,
    kind: StreamKind<'_>,
    format: Format,
    block: &Block,
    entries: &[ExportItem],
    icon_path: &str,
) -> FeedMeta {
    let subscription_url = site.url(&stream_path(owner.name, kind, format));
    let self_url = match block.page {
        Some(page) => format!("{subscription_url}?page={page}"),
        None => subscription_url.clone(),
    };
    let shown = owner.shown_name();
    let (id, title, alternate_path) = match kind {
        StreamKind::User => (
            site.feed_tag(&format!("user/{}", owner.name)),
            format!("{shown} on Tributary"),
            format!("/{}", owner.name),
        ),
        StreamKind::Service(service) => (
            site.feed_tag(&format!("user/{}/{service}", owner.name)),
            format!("{shown} on Tributary: {service}"),
            format!("/{}", owner.name),
        ),
        StreamKind::Friends => (
            site.feed_tag(&format!("user/{}/friends", owner.name)),
            format!("{shown}'s friends on Tributary"),
            format!("/{}/friends", owner.name),
        ),
        StreamKind::Source(id, title) => (
            site.feed_tag(&format!("user/{}/source/{id}", owner.name)),
            format!("{shown} on Tributary: {title}"),
            format!("/{}?source={id}", owner.name),
        ),
    };
    FeedMeta {
        site: site.clone(),
        id,
        title,
        self_url,
        alternate_url: site.url(&alternate_path),
        icon_url: site.url(icon_path),
        author_name: shown.to_owned(),
        author_url: site.url(&format!("/{}", owner.name)),
        updated: newest_update(entries, owner.created_at),
        paging: block.paging(&subscription_url),
        // Hubs are pinged for the user, service and friends streams only (`websub.rs`).
        hub: (block.page.is_none() && !matches!(kind, StreamKind::Source(..)))
            .then(|| site.hub.clone())
            .flatten(),
    }
}

/// Titles made for untitled items are cut to this many characters.
pub const MAX_MADE_TITLE_CHARS: usize = 80;

/// The title an entry goes out with: its own, or for an untitled item the start of its
/// text. Atom requires a title (RFC 4287 §4.1.2), and readers list entries by it.
pub fn entry_title(item: &Item) -> Cow<'_, str> {
    if !xml_text(&item.title).trim().is_empty() {
        return xml_text(&item.title);
    }
    let text = if item.summary_text.trim().is_empty() {
        crate::normalize::text::sanitized_html_to_text(item.content.as_str())
    } else {
        item.summary_text.clone()
    };
    let one_line = xml_text(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.is_empty() {
        let author = item
            .author_name
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or(&item.user_name);
        return Cow::Owned(format!("A {} by {}", item.kind.as_str(), xml_text(author)));
    }
    Cow::Owned(crate::normalize::text::truncate_chars(
        &one_line,
        MAX_MADE_TITLE_CHARS,
    ))
}

/// The time an entry last changed, as exports state it.
pub fn entry_updated(item: &Item) -> DateTime<Utc> {
    item.updated_at.unwrap_or(item.published_at)
}

/// The newest `entry_updated` of the entries, or `fallback` when there are none.
pub fn newest_update(entries: &[ExportItem], fallback: DateTime<Utc>) -> DateTime<Utc> {
    entries
        .iter()
        .map(|entry| entry_updated(&entry.item))
        .max()
        .unwrap_or(fallback)
}

/// Text safe for XML 1.0: drops the characters §2.2 forbids (C0 controls other than
/// tab, newline and carriage return, and U+FFFE/U+FFFF). Escaping is the writer's job.
pub fn xml_text(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| is_xml_char(*c)).collect())
    }
}

/// RFC 3339 in UTC with seconds, years clamped to 1–9999 (xsd:dateTime, RFC 3339 §5.6).
pub fn rfc3339(time: DateTime<Utc>) -> String {
    clamp_year(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 822 as RSS 2.0 wants it (`Mon, 02 Nov 2026 10:00:00 +0000`).
pub fn rfc822(time: DateTime<Utc>) -> String {
    clamp_year(time).to_rfc2822()
}

fn clamp_year(time: DateTime<Utc>) -> DateTime<Utc> {
    if (1..=9999).contains(&time.year()) {
        time
    } else if time.year() < 1 {
        Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0)
            .single()
            .expect("year 1 exists")
    } else {
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .single()
            .expect("year 9999 exists")
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_block(n_items: u64, page: Option<u64>, expected: Option<(u64, u64)>) {
        assert_eq!(block(n_items, page).map(|b| (b.offset, b.limit)), expected);
    }

    #[test]
    fn small_stream_is_all_subscription() {
        check_block(0, None, Some((0, 0)));
        check_block(99, None, Some((0, 99)));
        check_block(99, Some(1), None);
    }

    #[test]
    fn archive_pages_count_from_the_oldest() {
        check_block(100, Some(1), Some((0, 50)));
        check_block(100, None, Some((50, 50)));
        check_block(149, None, Some((50, 99)));
        check_block(150, Some(2), Some((50, 50)));
        check_block(150, None, Some((100, 50)));
        check_block(150, Some(0), None);
    }

    #[test]
    fn forbidden_xml_characters_are_dropped() {
        assert_eq!(xml_text("a\u{0}b\u{1b}c\u{FFFE}\td\n"), "abc\td\n");
        assert!(matches!(xml_text("plain <b>"), Cow::Borrowed(_)));
    }

    #[test]
    fn tag_uses_host_without_port() {
        let site = Site::new("http://127.0.0.1:8080/");
        assert_eq!(site.item_tag(ItemId(7)), "tag:127.0.0.1,2026:item/7");
        assert_eq!(site.item_page(ItemId(7)), "http://127.0.0.1:8080/e/7");
    }
}
