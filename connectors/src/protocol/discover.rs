//! Feed discovery in HTML pages: the `<link rel="alternate">` feeds a page names, and the
//! usual feed paths of a site. Pure: a small tolerant tag scanner, no IO, never panics.

use url::Url;

/// Media types of `<link rel="alternate">` that name a feed, most specific first
/// (RSS Advisory Board "RSS Autodiscovery"; RFC 4287 section 7; JSON Feed 1.1 "Discovery").
pub const FEED_TYPES: &[&str] = &[
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
    "application/json",
];

/// Paths many sites serve their feed at, tried in this order when a page names none.
pub const COMMON_FEED_PATHS: &[&str] = &[
    "/feed",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/rss",
];

/// Feed links kept per page, so a hostile page cannot make a huge choice list.
pub const MAX_FEED_LINKS: usize = 20;
/// Longest `title` attribute kept, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// One feed a page points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedLink {
    /// Absolute http(s) address, resolved against the page (or its `<base href>`).
    pub url: Url,
    /// The link's `title` attribute, when it has one.
    pub title: Option<String>,
    /// The link's media type, lower case, without parameters.
    pub media_type: String,
}

/// The feeds an HTML page names with `<link rel="alternate" type="…" href="…">`, in
/// document order, without duplicates, at most [`MAX_FEED_LINKS`].
pub fn feed_links(html: &str, page_url: &Url) -> Vec<FeedLink> {
    let mut base = page_url.clone();
    let mut saw_base = false;
    let mut links: Vec<FeedLink> = Vec::new();
    for tag in Tags::new(html) {
        match tag.name.as_str() {
            // HTML Living Standard 4.2.3: only the first `<base href>` counts.
            "base" if !saw_base => {
                if let Some(href) = tag.attr("href")
                    && let Ok(url) = page_url.join(href.trim())
                {
                    base = url;
                    saw_base = true;
                }
            }
            "link" => {
                let Some(link) = feed_link(&tag, &base) else {
                    continue;
                };
                if links.iter().all(|known| known.url != link.url) {
                    links.push(link);
                }
                if links.len() >= MAX_FEED_LINKS {
                    break;
                }
            }
            _ => {}
        }
    }
    links
}

/// The [`COMMON_FEED_PATHS`] on the page's origin (scheme, host and port).
pub fn common_feed_urls(page_url: &Url) -> Vec<Url> {
    COMMON_FEED_PATHS
        .iter()
        .filter_map(|path| page_url.join(path).ok())
        .collect()
}

/// Whether a document starts like an HTML page (a doctype or an `<html>`/`<head>` tag in
/// its first kilobyte) rather than a feed.
pub fn looks_like_html(document: &[u8]) -> bool {
    let head = &document[..document.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let html_at = ["<!doctype html", "<html", "<head"]
        .iter()
        .filter_map(|marker| head.find(marker))
        .min();
    let feed_at = ["<rss", "<feed", "<rdf"]
        .iter()
        .filter_map(|marker| head.find(marker))
        .min();
    match (html_at, feed_at) {
        (Some(html), Some(feed)) => html < feed,
        (Some(_), None) => true,
        _ => false,
    }
}

fn feed_link(tag: &Tag, base: &Url) -> Option<FeedLink> {
    let rel = tag.attr("rel")?;
    if !rel
        .split_ascii_whitespace()
        .any(|token| token.eq_ignore_ascii_case("alternate"))
    {
        return None;
    }
    let media_type = tag
        .attr("type")?
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !FEED_TYPES.contains(&media_type.as_str()) {
        return None;
    }
    let href = tag.attr("href")?.trim();
    if href.is_empty() {
        return None;
    }
    // WordPress names its REST API with `type="application/json"`; that is not a feed.
    if media_type == "application/json" && href.contains("/wp-json/") {
        return None;
    }
    let mut url = base.join(href).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    let title = tag
        .attr("title")
        .map(|title| title.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|title| !title.is_empty())
        .map(|title| title.chars().take(MAX_TITLE_CHARS).collect());
    Some(FeedLink {
        url,
        title,
        media_type,
    })
}

/// A start tag: lower-case name and attributes with entities decoded.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    /// The first attribute of this name (HTML ignores later duplicates).
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Start tags of an HTML document, skipping comments, doctypes, end tags and the raw text
/// of `<script>`, `<style>`, `<textarea>` and `<title>` (whose `<link>`s are not links).
struct Tags<'a> {
    html: &'a str,
    at: usize,
}

impl<'a> Tags<'a> {
    fn new(html: &'a str) -> Tags<'a> {
        Tags { html, at: 0 }
    }

    /// Moves past the end tag of a raw-text element, or to the end of the document.
    fn skip_raw_text(&mut self, name: &str) {
        let rest = &self.html[self.at..];
        let closing = format!("</{name}");
        match find_ascii_ci(rest, &closing) {
            Some(offset) => self.at += offset,
            None => self.at = self.html.len(),
        }
    }
}

impl Iterator for Tags<'_> {
    type Item = Tag;

    fn next(&mut self) -> Option<Tag> {
        let bytes = self.html.as_bytes();
        loop {
            let offset = self.html[self.at..].find('<')?;
            self.at += offset;
            let rest = &self.html[self.at..];
            if rest.starts_with("<!--") {
                self.at += rest.find("-->").map_or(rest.len(), |end| end + 3);
                continue;
            }
            let next = bytes.get(self.at + 1).copied();
            if !next.is_some_and(|b| b.is_ascii_alphabetic()) {
                // `</…>`, `<!…>`, `<?…>` or a stray `<`: not a start tag.
                self.at += 1;
                continue;
            }
            let (tag, consumed) = parse_start_tag(rest);
            self.at += consumed;
            if matches!(tag.name.as_str(), "script" | "style" | "textarea" | "title") {
                let name = tag.name.clone();
                self.skip_raw_text(&name);
            }
            return Some(tag);
        }
    }
}

/// Parses `<name attr=value …>` at the start of `text`; returns the tag and how many
/// bytes it spans. An unterminated tag spans the rest of the text.
fn parse_start_tag(text: &str) -> (Tag, usize) {
    let bytes = text.as_bytes();
    let mut at = 1;
    let name_start = at;
    while at < bytes.len() && !is_tag_delimiter(bytes[at]) {
        at += 1;
    }
    let name = text[name_start..at].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            at += 1;
        }
        if at >= bytes.len() {
            break;
        }
        if bytes[at] == b'>' {
            at += 1;
            break;
        }
        let key_start = at;
        while at < bytes.len() && !is_tag_delimiter(bytes[at]) && bytes[at] != b'=' {
            at += 1;
        }
        let key = text[key_start..at].to_ascii_lowercase();
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let mut value = String::new();
        if at < bytes.len() && bytes[at] == b'=' {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            if at < bytes.len() && (bytes[at] == b'"' || bytes[at] == b'\'') {
                let quote = bytes[at];
                let value_start = at + 1;
                let end = bytes[value_start..]
                    .iter()
                    .position(|&b| b == quote)
                    .map_or(bytes.len(), |n| value_start + n);
                value = decode_entities(&text[value_start..end]);
                at = (end + 1).min(bytes.len());
            } else {
                let value_start = at;
                while at < bytes.len() && !bytes[at].is_ascii_whitespace() && bytes[at] != b'>' {
                    at += 1;
                }
                value = decode_entities(&text[value_start..at]);
            }
        }
        if key.is_empty() {
            // A lone `=value`: junk, dropped (the `=` already moved us forward).
            continue;
        }
        attrs.push((key, value));
    }
    (Tag { name, attrs }, at.min(text.len()))
}

fn is_tag_delimiter(byte: u8) -> bool {
    byte.is_ascii_whitespace() || byte == b'>' || byte == b'/'
}

/// Decodes the character references that show up in attribute values: the named ones
/// of XML plus `&nbsp;`, and decimal or hex numeric references. Others stay as written.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity.strip_prefix('#').and_then(|number| {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }),
            }?;
            Some((ch, semi + 1))
        });
        match decoded {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Byte offset of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://blog.example/posts/one";

    #[track_caller]
    fn check(html: &str, expected: &[&str]) {
        let page = Url::parse(PAGE).unwrap();
        let found: Vec<String> = feed_links(html, &page)
            .into_iter()
            .map(|link| link.url.to_string())
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn rss_link_resolves_against_the_page() {
        check(
            r#"<head><link rel="alternate" type="application/rss+xml" href="../feed.xml"></head>"#,
            &["https://blog.example/feed.xml"],
        );
    }

    #[test]
    fn atom_json_feed_and_json_are_feeds() {
        check(
            r#"<link rel=alternate type=application/atom+xml href=/atom>
               <link rel="alternate" type="application/feed+json" href="/f.json">
               <link rel="alternate" type="application/json" href="/g.json">"#,
            &[
                "https://blog.example/atom",
                "https://blog.example/f.json",
                "https://blog.example/g.json",
            ],
        );
    }

    #[test]
    fn attributes_are_case_insensitive_and_in_any_order() {
        check(
            r#"<LINK HREF='/a.xml' TYPE='Application/RSS+XML; charset=utf-8' REL='Alternate Feed'/>"#,
            &["https://blog.example/a.xml"],
        );
    }

    #[test]
    fn other_links_are_ignored() {
        check(
            r#"<link rel="stylesheet" type="text/css" href="/s.css">
               <link rel="alternate" hreflang="fr" href="/fr/">
               <link rel="alternate" type="text/html" href="/x">
               <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/1">
               <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
               <link rel="alternate" type="application/rss+xml" href="">"#,
            &[],
        );
    }

    #[test]
    fn links_in_comments_and_scripts_do_not_count() {
        check(
            r#"<!-- <link rel="alternate" type="application/rss+xml" href="/old"> -->
               <script>var s = '<link rel="alternate" type="application/rss+xml" href="/js">';</script>
               <link rel="alternate" type="application/rss+xml" href="/real">"#,
            &["https://blog.example/real"],
        );
    }

    #[test]
    fn first_base_href_wins() {
        check(
            r#"<base href="https://cdn.example/x/"><base href="https://other.example/">
               <link rel="alternate" type="application/rss+xml" href="feed">"#,
            &["https://cdn.example/x/feed"],
        );
    }

    #[test]
    fn entities_in_href_are_decoded_and_duplicates_dropped() {
        check(
            r#"<link rel="alternate" type="application/rss+xml" href="/feed?a=1&amp;b=2">
               <link rel="alternate" type="application/rss+xml" href="/feed?a=1&#38;b=2">"#,
            &["https://blog.example/feed?a=1&b=2"],
        );
    }

    #[test]
    fn title_is_kept_in_one_line() {
        let page = Url::parse(PAGE).unwrap();
        let links = feed_links(
            "<link rel=alternate type=application/atom+xml title=\"My\n  blog &amp; more\" href=/a>",
            &page,
        );
        assert_eq!(links[0].title.as_deref(), Some("My blog & more"));
        assert_eq!(links[0].media_type, "application/atom+xml");
    }

    #[test]
    fn broken_markup_does_not_panic() {
        for html in [
            "<",
            "<link",
            "<link rel=\"alternate",
            "<link =x rel=alternate type=application/rss+xml href=/ok",
            "<!--",
            "<script><link",
            "<a href='&#xFFFFFFFF;'>",
            "<link rel=alternate type=application/rss+xml href=\"/é\u{1F600}\">",
        ] {
            let _ = feed_links(html, &Url::parse(PAGE).unwrap());
        }
        check(
            "<link =x rel=alternate type=application/rss+xml href=/ok",
            &["https://blog.example/ok"],
        );
    }

    #[test]
    fn common_paths_are_on_the_origin() {
        let urls = common_feed_urls(&Url::parse("http://127.0.0.1:8080/a/b?c").unwrap());
        assert_eq!(urls[0].as_str(), "http://127.0.0.1:8080/feed");
        assert_eq!(urls.len(), COMMON_FEED_PATHS.len());
    }

    #[test]
    fn html_is_told_apart_from_feeds() {
        assert!(looks_like_html(b"<!DOCTYPE html><html><head>"));
        assert!(looks_like_html(b"  <html lang=en>"));
        assert!(!looks_like_html(
            b"<?xml version=\"1.0\"?><rss version=\"2.0\">"
        ));
        assert!(!looks_like_html(
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><content type=\"html\">&lt;html"
        ));
    }
}
