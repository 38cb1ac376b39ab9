//! Behaviour of the `feed` connector on tiny inline documents, and of its poll through a
//! canned in-test `Http`.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use connectors::protocol::feed::{FeedConnector, MAX_ITEMS_PER_DOCUMENT, ParsedFeed, parse};
use connectors::{
    Connector, ConnectorError, Content, FetchError, FetchRequest, FetchResponse, Http, ItemKind,
    PollHint, PollState, RawItem, Validators,
};
use serde_json::json;
use url::Url;

const FEED_URL: &str = "https://blog.example/feed.xml";

fn base() -> Url {
    Url::parse(FEED_URL).expect("a valid test URL")
}

#[track_caller]
fn parse_ok(document: &str) -> ParsedFeed {
    parse(document.as_bytes(), &base()).unwrap_or_else(|err| panic!("did not parse: {err}"))
}

#[track_caller]
fn only_item(document: &str) -> RawItem {
    let parsed = parse_ok(document);
    assert_eq!(parsed.items.len(), 1, "items: {:?}", parsed.items);
    parsed.items.into_iter().next().expect("one item")
}

fn rss(items: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>Blog</title><link>https://blog.example/</link><description>d</description>
{items}
</channel></rss>"#
    )
}

// --- Ids -----------------------------------------------------------------------------------

#[test]
fn entry_without_id_link_title_gets_stable_id() {
    let document = rss("<item><description>Just a thought.</description></item>");
    let first = only_item(&document);
    let second = only_item(&document);
    assert!(!first.external_id.is_empty());
    assert_eq!(first.external_id, second.external_id);

    let other = only_item(&rss(
        "<item><description>Another thought.</description></item>",
    ));
    assert_ne!(first.external_id, other.external_id);
}

#[test]
fn entry_id_prefers_guid_then_link() {
    let with_guid = only_item(&rss(
        "<item><guid>tag:blog.example,2024:1</guid><link>https://blog.example/1</link><title>T</title></item>",
    ));
    assert_eq!(with_guid.external_id, "tag:blog.example,2024:1");

    let with_link = only_item(&rss(
        "<item><link>https://blog.example/2</link><title>T</title></item>",
    ));
    assert_eq!(with_link.external_id, "https://blog.example/2");
}

#[test]
fn retitled_entry_without_guid_keeps_its_id() {
    let before = only_item(&rss(
        "<item><link>https://blog.example/3</link><title>Old</title></item>",
    ));
    let after = only_item(&rss(
        "<item><link>https://blog.example/3</link><title>New</title></item>",
    ));
    assert_eq!(before.external_id, after.external_id);
}

#[test]
fn duplicate_guids_are_kept_apart() {
    let parsed = parse_ok(&rss(r#"
        <item><guid>same</guid><link>https://blog.example/a</link><title>A</title></item>
        <item><guid>same</guid><link>https://blog.example/b</link><title>B</title></item>
        <item><guid>same</guid><link>https://blog.example/a</link><title>A</title></item>
    "#));
    let ids: Vec<&str> = parsed
        .items
        .iter()
        .map(|item| item.external_id.as_str())
        .collect();
    assert_eq!(ids.len(), 2, "ids: {ids:?}");
    assert_eq!(ids[0], "same");
    assert!(
        ids[1].starts_with("same#") && ids[1].len() > "same#".len(),
        "ids: {ids:?}"
    );
    assert_eq!(parsed.items[1].title.as_deref(), Some("B"));
    assert_eq!(parsed.warnings.len(), 2, "warnings: {:?}", parsed.warnings);

    // The suffix depends on the entry, not on the poll.
    let again = parse_ok(&rss(r#"
        <item><guid>same</guid><link>https://blog.example/a</link><title>A</title></item>
        <item><guid>same</guid><link>https://blog.example/b</link><title>B</title></item>
    "#));
    assert_eq!(again.items[1].external_id, parsed.items[1].external_id);
}

#[test]
fn overlong_guid_is_hashed() {
    let guid = "x".repeat(5000);
    let item = only_item(&rss(&format!(
        "<item><guid>{guid}</guid><title>T</title></item>"
    )));
    assert!(
        item.external_id.starts_with("sha256:"),
        "{}",
        item.external_id
    );
    assert!(item.external_id.len() < 100);
}

// --- Links ---------------------------------------------------------------------------------

#[test]
fn relative_links_resolve_against_xml_base() {
    let item = only_item(
        r#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example/blog/">
  <title>B</title><id>urn:feed</id><updated>2024-01-01T00:00:00Z</updated>
  <entry xml:base="posts/"><id>urn:1</id><title>One</title><updated>2024-01-01T00:00:00Z</updated>
    <link rel="alternate" href="one.html"/></entry>
</feed>"#,
    );
    assert_eq!(
        item.url.map(String::from).as_deref(),
        Some("https://other.example/blog/posts/one.html")
    );
}

#[test]
fn relative_links_resolve_against_the_feed_address() {
    let item = only_item(&rss(
        "<item><guid>1</guid><title>T</title><link>/posts/1</link></item>",
    ));
    assert_eq!(
        item.url.map(String::from).as_deref(),
        Some("https://blog.example/posts/1")
    );
}

#[test]
fn alternate_link_wins_over_other_rels() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>B</title><id>urn:f</id>
  <entry><id>urn:1</id><title>One</title>
    <link rel="edit" href="https://blog.example/edit/1"/>
    <link rel="enclosure" type="audio/mpeg" length="10" href="https://cdn.example/1.mp3"/>
    <link rel="alternate" type="text/html" href="https://blog.example/1"/>
  </entry></feed>"#,
    );
    assert_eq!(
        item.url.map(String::from).as_deref(),
        Some("https://blog.example/1")
    );
    assert_eq!(item.media.len(), 1);
    assert_eq!(item.media[0].url.as_str(), "https://cdn.example/1.mp3");
    assert_eq!(item.media[0].length, Some(10));
    assert_eq!(item.kind, ItemKind::Audio);
}

#[test]
fn javascript_link_is_dropped() {
    let parsed = parse_ok(&rss(
        r#"<item><guid>1</guid><title>T</title><link>javascript:alert(1)</link>
           <enclosure url="javascript:alert(2)" type="image/png" length="1"/></item>"#,
    ));
    let item = &parsed.items[0];
    assert_eq!(item.url, None);
    assert!(item.media.is_empty(), "media: {:?}", item.media);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|warning| warning.contains("javascript:alert(1)")),
        "warnings: {:?}",
        parsed.warnings
    );
}

// --- Encodings -----------------------------------------------------------------------------

#[test]
fn windows_1252_feed_decodes() {
    let mut document = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<rss version=\"2.0\"><channel><title>Caf".to_vec();
    document.extend_from_slice(
        b"\xe9 \x80</title><item><guid>1</guid><title>na\xefve</title></item></channel></rss>",
    );
    let parsed = parse(&document, &base()).expect("a Windows-1252 feed parses");
    assert_eq!(parsed.meta.title.as_deref(), Some("Café €"));
    assert_eq!(parsed.items[0].title.as_deref(), Some("naïve"));
}

#[test]
fn latin1_feed_without_declaration_decodes() {
    let document = b"<rss version=\"2.0\"><channel><title>Pr\xe9sentation</title></channel></rss>";
    let parsed = parse(document, &base()).expect("a Latin-1 feed parses");
    assert_eq!(parsed.meta.title.as_deref(), Some("Présentation"));
}

#[test]
fn utf8_with_byte_order_mark_and_leading_space_parses() {
    let document = "\u{feff}  \n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Señal</title></channel></rss>";
    assert_eq!(parse_ok(document).meta.title.as_deref(), Some("Señal"));
}

#[test]
fn utf16_feed_decodes() {
    let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>Ünïcode</title></channel></rss>";
    let mut document = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        document.extend_from_slice(&unit.to_le_bytes());
    }
    let parsed = parse(&document, &base()).expect("a UTF-16 feed parses");
    assert_eq!(parsed.meta.title.as_deref(), Some("Ünïcode"));
}

// --- Errors --------------------------------------------------------------------------------

#[track_caller]
fn check_invalid(document: &[u8], reason_contains: &str) {
    match parse(document, &base()) {
        Err(ConnectorError::Invalid(reason)) => {
            assert!(reason.contains(reason_contains), "reason: {reason}");
            assert!(!reason.contains('\n'), "reason spans lines: {reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn html_page_is_invalid_with_reason() {
    check_invalid(
        b"<!DOCTYPE html>\n<html><head><title>Blog</title><link rel=alternate href=/feed></head><body><p>Hi<br></body></html>",
        "HTML page",
    );
}

#[test]
fn broken_xml_is_invalid_with_the_parser_reason() {
    check_invalid(
        b"<rss version=\"2.0\"><channel><title>x</channel></rss>",
        "XML",
    );
}

#[test]
fn empty_document_is_invalid() {
    check_invalid(b"  \n ", "empty");
}

#[test]
fn unknown_root_is_invalid() {
    check_invalid(b"<opml version=\"2.0\"><body/></opml>", "not a feed");
}

#[test]
fn json_that_is_not_a_json_feed_is_invalid() {
    check_invalid(
        br#"{"version": "2.0", "title": "t", "items": []}"#,
        "not a JSON Feed",
    );
}

#[test]
fn hostile_bytes_never_panic() {
    let inputs: [&[u8]; 12] = [
        b"",
        b"{",
        b"<",
        b"\xff\xfe\xff",
        b"<?xml encoding=\"",
        b"<?xml version=\"1.0\" encoding=\"\xff\xfe\"?><rss>",
        b"<rss version=\"0.94\"",
        b"<rss",
        b"{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"t\",\"items\":[{\"id\":\"1\",\"image\":7}]}",
        b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><link href=\"http://[::1\"/></entry></feed>",
        b"<rss version=\"2.0\"><channel><item><enclosure url=\"\" /></item></channel></rss>",
        "<rss version=\"2.0\"><channel><item><guid>é</guid><guid>é</guid></item><item><guid>é</guid></item></channel></rss>".as_bytes(),
    ];
    for input in inputs {
        let _ = parse(input, &base());
    }
}

// --- Mapping -------------------------------------------------------------------------------

#[test]
fn rss_fields_map_to_the_item() {
    let item = only_item(&rss(r#"
        <item><guid isPermaLink="false">42</guid><title>Hello</title>
          <link>https://blog.example/hello</link>
          <description>&lt;p&gt;Short&lt;/p&gt;</description>
          <content:encoded><![CDATA[<p>Long <b>body</b></p>]]></content:encoded>
          <author>ann@blog.example (Ann)</author>
          <category>Rust</category><category>rust</category><category>Feeds</category>
          <pubDate>Tue, 02 Jan 2024 03:04:05 GMT</pubDate>
        </item>"#));
    assert_eq!(item.external_id, "42");
    assert_eq!(item.title.as_deref(), Some("Hello"));
    assert_eq!(
        item.content,
        Some(Content::Html("<p>Long <b>body</b></p>".into()))
    );
    assert_eq!(item.summary, Some(Content::Html("<p>Short</p>".into())));
    assert_eq!(
        item.published,
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).single()
    );
    assert_eq!(
        item.author.and_then(|author| author.name).as_deref(),
        Some("Ann")
    );
    assert_eq!(item.tags, vec!["Rust".to_string(), "Feeds".to_string()]);
    assert_eq!(item.kind, ItemKind::Article);
}

#[test]
fn atom_text_content_is_text() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>B</title><id>urn:f</id>
  <author><name>Feed Author</name><uri>https://blog.example/about</uri></author>
  <entry><id>urn:1</id><title>One</title><content type="text">plain &lt;b&gt;words&lt;/b&gt;</content>
    <published>2024-01-01T00:00:00Z</published><updated>2024-02-01T00:00:00Z</updated></entry></feed>"#,
    );
    assert_eq!(
        item.content,
        Some(Content::Text("plain <b>words</b>".into()))
    );
    assert_eq!(
        item.published,
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single()
    );
    assert_eq!(
        item.updated,
        Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).single()
    );
    let author = item.author.expect("the feed author is inherited");
    assert_eq!(author.name.as_deref(), Some("Feed Author"));
    assert_eq!(
        author.url.map(String::from).as_deref(),
        Some("https://blog.example/about")
    );
}

#[test]
fn missing_dates_stay_missing() {
    let item = only_item(&rss("<item><guid>1</guid><title>T</title></item>"));
    assert_eq!((item.published, item.updated), (None, None));
}

#[test]
fn media_rss_content_and_thumbnail_become_media() {
    let item = only_item(&rss(r#"
        <item><guid>1</guid><title>Clip</title>
          <media:content url="https://cdn.example/clip.mp4" type="video/mp4" width="640" height="360" fileSize="1000"/>
          <media:thumbnail url="https://cdn.example/clip.jpg" width="120" height="90"/>
          <media:description>A cat</media:description>
        </item>"#));
    assert_eq!(item.media.len(), 1, "media: {:?}", item.media);
    let media = &item.media[0];
    assert_eq!(media.url.as_str(), "https://cdn.example/clip.mp4");
    assert_eq!(media.media_type.as_deref(), Some("video/mp4"));
    assert_eq!((media.width, media.height), (Some(640), Some(360)));
    assert_eq!(
        media.thumbnail.as_ref().map(Url::as_str),
        Some("https://cdn.example/clip.jpg")
    );
    assert_eq!(media.alt.as_deref(), Some("A cat"));
    assert_eq!(item.kind, ItemKind::Video);
}

#[test]
fn image_with_little_text_is_a_photo() {
    let item = only_item(&rss(r#"
        <item><guid>1</guid><title>Sunset</title><description>Nice.</description>
          <enclosure url="https://cdn.example/sunset.jpg" type="image/jpeg" length="5000"/></item>"#));
    assert_eq!(item.kind, ItemKind::Photo);
}

#[track_caller]
fn check_kind(item_xml: &str, expected: ItemKind) {
    assert_eq!(only_item(&rss(item_xml)).kind, expected, "{item_xml}");
}

#[test]
fn untitled_entry_is_a_note() {
    check_kind(
        "<item><guid>1</guid><description>Hi there</description></item>",
        ItemKind::Note,
    );
}

#[test]
fn title_without_text_is_a_link() {
    check_kind(
        "<item><guid>1</guid><title>Look</title><link>https://x.example/</link></item>",
        ItemKind::Link,
    );
}

#[test]
fn audio_enclosure_is_audio() {
    check_kind(
        r#"<item><guid>1</guid><title>Ep 1</title><description>Long show notes</description>
           <enclosure url="https://cdn.example/1.mp3" type="audio/mpeg" length="123"/></item>"#,
        ItemKind::Audio,
    );
}

#[test]
fn json_feed_attachments_become_media() {
    let parsed = parse_ok(
        r#"{"version": "https://jsonfeed.org/version/1.1", "title": "Pod",
            "home_page_url": "https://pod.example/", "feed_url": "https://pod.example/feed.json",
            "favicon": "https://pod.example/favicon.png",
            "items": [
              {"id": "ep1", "url": "https://pod.example/ep1", "title": "Episode 1",
               "content_html": "<p>Notes</p>", "image": "https://pod.example/ep1.jpg",
               "attachments": [{"url": "https://cdn.example/ep1.mp3", "mime_type": "audio/mpeg",
                                "size_in_bytes": 1234, "title": "MP3"}]},
              {"id": "ep2", "content_text": "no url here",
               "attachments": [{"url": "/ep2.mp3", "mime_type": "audio/mpeg"}]}
            ]}"#,
    );
    assert_eq!(parsed.meta.title.as_deref(), Some("Pod"));
    assert_eq!(
        parsed.meta.site_url.as_ref().map(Url::as_str),
        Some("https://pod.example/")
    );
    assert_eq!(
        parsed.meta.icon.as_ref().map(Url::as_str),
        Some("https://pod.example/favicon.png")
    );

    let first = &parsed.items[0];
    assert_eq!(
        first.url.as_ref().map(Url::as_str),
        Some("https://pod.example/ep1")
    );
    let urls: Vec<&str> = first.media.iter().map(|media| media.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://cdn.example/ep1.mp3", "https://pod.example/ep1.jpg"]
    );
    assert_eq!(first.media[0].length, Some(1234));
    assert_eq!(first.media[0].media_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(first.kind, ItemKind::Audio);

    let second = &parsed.items[1];
    assert_eq!(second.url, None, "an attachment is not the permalink");
    assert_eq!(second.media[0].url.as_str(), "https://blog.example/ep2.mp3");
    assert_eq!(second.content, Some(Content::Text("no url here".into())));
}

#[test]
fn json_feed_with_ill_typed_fields_keeps_its_items() {
    let parsed = parse_ok(
        r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J",
            "items": [
              {"id": 7, "content_html": ["not", "a", "string"], "content_text": "kept",
               "tags": ["a", 1], "author": "Ann",
               "attachments": [{"url": "bar.mp3"}, {"title": "no url"}]},
              "not an item"
            ]}"#,
    );
    assert_eq!(parsed.items.len(), 1);
    let item = &parsed.items[0];
    assert_eq!(item.external_id, "7");
    assert_eq!(item.content, Some(Content::Text("kept".into())));
    assert_eq!(item.tags, vec!["a".to_string()]);
    assert_eq!(item.media.len(), 1);
    assert_eq!(item.media[0].url.as_str(), "https://blog.example/bar.mp3");
    assert_eq!(parsed.warnings.len(), 2, "warnings: {:?}", parsed.warnings);
}

#[test]
fn rss_094_is_read_as_rss() {
    let parsed = parse_ok(
        r#"<rss version="0.94"><channel><title>Old</title><item><title>Hi</title><link>https://old.example/1</link></item></channel></rss>"#,
    );
    assert_eq!(parsed.items.len(), 1);
}

#[test]
fn items_beyond_the_limit_are_dropped_with_a_warning() {
    let items: String = (0..MAX_ITEMS_PER_DOCUMENT + 5)
        .map(|item_idx| format!("<item><guid>{item_idx}</guid><title>t</title></item>"))
        .collect();
    let parsed = parse_ok(&rss(&items));
    assert_eq!(parsed.items.len(), MAX_ITEMS_PER_DOCUMENT);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|warning| warning.contains("only the first"))
    );
}

#[test]
fn feed_meta_has_title_site_and_icon() {
    let parsed = parse_ok(&rss(
        "<image><url>https://blog.example/logo.png</url><title>Blog</title><link>https://blog.example/</link></image>",
    ));
    assert_eq!(parsed.meta.title.as_deref(), Some("Blog"));
    assert_eq!(
        parsed.meta.site_url.as_ref().map(Url::as_str),
        Some("https://blog.example/")
    );
    assert_eq!(
        parsed.meta.icon.as_ref().map(Url::as_str),
        Some("https://blog.example/logo.png")
    );
}

#[test]
fn rss_ttl_is_read() {
    assert_eq!(parse_ok(&rss("<ttl>60</ttl>")).ttl_minutes, Some(60));
    assert_eq!(parse_ok(&rss("")).ttl_minutes, None);
}

#[test]
fn prev_archive_link_is_read() {
    let parsed = parse_ok(&rss(
        r#"<atom:link rel="prev-archive" href="/archive/2023.xml"/>"#,
    ));
    assert_eq!(
        parsed.prev_archive.as_ref().map(Url::as_str),
        Some("https://blog.example/archive/2023.xml")
    );
}

// --- Recognize and validate ----------------------------------------------------------------

#[track_caller]
fn check_recognize(input: &str, expected: Option<&str>) {
    let got = FeedConnector.recognize(input);
    assert_eq!(
        got,
        expected.map(|url| json!({ "url": url })),
        "input {input:?}"
    );
}

#[test]
fn absolute_urls_are_recognized() {
    check_recognize(
        "https://blog.example/feed.xml",
        Some("https://blog.example/feed.xml"),
    );
    check_recognize(
        " HTTP://Blog.Example/rss#top ",
        Some("http://blog.example/rss"),
    );
}

#[test]
fn bare_host_and_path_gets_https() {
    check_recognize(
        "blog.example/feed.xml",
        Some("https://blog.example/feed.xml"),
    );
    check_recognize(
        "blog.example:8080/feed",
        Some("https://blog.example:8080/feed"),
    );
}

#[test]
fn handles_and_other_schemes_are_not_feeds() {
    for input in [
        "",
        "@a@b.example",
        "a@b.example",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "mailto:a@b.example",
        "ftp://files.example/feed.xml",
        "feed",
        "two words.example",
    ] {
        check_recognize(input, None);
    }
}

#[test]
fn validate_canonicalizes_http_urls() {
    let params = FeedConnector
        .validate(&json!({ "url": "HTTPS://Blog.Example/feed.xml" }))
        .expect("a valid URL");
    assert_eq!(params, json!({ "url": "https://blog.example/feed.xml" }));
}

#[test]
fn validate_rejects_other_schemes_readably() {
    for params in [
        json!({ "url": "ftp://x.example/f" }),
        json!({ "url": "not a url" }),
        json!({}),
    ] {
        match FeedConnector.validate(&params) {
            Err(ConnectorError::Unsupported(why)) => assert!(!why.is_empty()),
            other => panic!("{params}: expected Unsupported, got {other:?}"),
        }
    }
}

// --- Poll ----------------------------------------------------------------------------------

/// Answers each request with the next canned response and records what was asked.
struct CannedHttp {
    responses: Mutex<VecDeque<Result<FetchResponse, FetchError>>>,
    requests: Mutex<Vec<FetchRequest>>,
}

impl CannedHttp {
    fn new(responses: Vec<Result<FetchResponse, FetchError>>) -> CannedHttp {
        CannedHttp {
            responses: Mutex::new(responses.into()),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn requests(&self) -> Vec<FetchRequest> {
        self.requests
            .lock()
            .expect("the lock is not poisoned")
            .clone()
    }
}

#[async_trait::async_trait]
impl Http for CannedHttp {
    async fn get(&self, req: FetchRequest) -> Result<FetchResponse, FetchError> {
        self.requests
            .lock()
            .expect("the lock is not poisoned")
            .push(req);
        self.responses
            .lock()
            .expect("the lock is not poisoned")
            .pop_front()
            .expect("the test queued enough responses")
    }
}

fn response(status: u16, body: &str) -> FetchResponse {
    FetchResponse {
        status,
        final_url: base(),
        moved_permanently_to: None,
        content_type: Some("application/rss+xml".into()),
        body: Bytes::from(body.to_string()),
        validators: Validators::default(),
        hint: PollHint::default(),
        headers: Vec::new(),
    }
}

fn validators(etag: &str) -> Validators {
    Validators {
        etag: Some(etag.into()),
        last_modified: Some("Mon, 01 Jan 2024 00:00:00 GMT".into()),
    }
}

fn params() -> serde_json::Value {
    json!({ "url": FEED_URL })
}

#[tokio::test]
async fn ok_response_gives_items_and_validators() {
    let mut ok = response(200, &rss("<item><guid>1</guid><title>T</title></item>"));
    ok.validators = validators("\"v2\"");
    let http = CannedHttp::new(vec![Ok(ok)]);
    let state = PollState {
        validators: validators("\"v1\""),
        cursor: None,
    };

    let poll = FeedConnector
        .poll(&http, &params(), &state)
        .await
        .expect("a poll");

    assert_eq!(
        http.requests()[0].validators,
        validators("\"v1\""),
        "sent the stored validators"
    );
    assert_eq!(http.requests()[0].url.as_str(), FEED_URL);
    assert!(!poll.not_modified);
    assert_eq!(poll.items.len(), 1);
    assert_eq!(poll.state.validators, validators("\"v2\""));
    assert_eq!(poll.base_url.as_ref().map(Url::as_str), Some(FEED_URL));
    assert_eq!(poll.meta.title.as_deref(), Some("Blog"));
    assert_eq!(poll.new_params, None);
    assert_eq!(poll.next_page, None);
}

#[tokio::test]
async fn not_modified_keeps_the_old_validators() {
    let http = CannedHttp::new(vec![Ok(response(304, ""))]);
    let state = PollState {
        validators: validators("\"v1\""),
        cursor: Some(json!("cursor")),
    };
    let poll = FeedConnector
        .poll(&http, &params(), &state)
        .await
        .expect("a poll");
    assert!(poll.not_modified);
    assert!(poll.items.is_empty());
    assert_eq!(poll.state, state);
}

#[tokio::test]
async fn not_modified_with_a_new_etag_updates_it() {
    let mut not_modified = response(304, "");
    not_modified.validators = Validators {
        etag: Some("\"v3\"".into()),
        last_modified: None,
    };
    let http = CannedHttp::new(vec![Ok(not_modified)]);
    let state = PollState {
        validators: validators("\"v1\""),
        cursor: None,
    };
    let poll = FeedConnector
        .poll(&http, &params(), &state)
        .await
        .expect("a poll");
    assert_eq!(poll.state.validators.etag.as_deref(), Some("\"v3\""));
    assert_eq!(
        poll.state.validators.last_modified,
        state.validators.last_modified
    );
}

#[tokio::test]
async fn gone_is_an_error() {
    let http = CannedHttp::new(vec![Ok(response(410, ""))]);
    let result = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await;
    assert!(
        matches!(result, Err(ConnectorError::Gone)),
        "got {result:?}"
    );
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let until = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single();
    let mut limited = response(429, "slow down");
    limited.hint = PollHint { not_before: until };
    let http = CannedHttp::new(vec![Ok(limited)]);
    let result = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await;
    assert_eq!(
        result.err(),
        Some(ConnectorError::RateLimited { retry_after: until })
    );
}

#[tokio::test]
async fn network_failure_is_classified() {
    let http = CannedHttp::new(vec![Err(FetchError::Timeout { secs: 20 })]);
    let result = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await;
    assert!(
        matches!(result, Err(ConnectorError::Network(_))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn html_response_is_invalid() {
    let http = CannedHttp::new(vec![Ok(response(
        200,
        "<!doctype html><html><body>hi</body></html>",
    ))]);
    let result = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await;
    assert!(
        matches!(result, Err(ConnectorError::Invalid(_))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn permanent_move_gives_new_params() {
    let mut moved = response(200, &rss(""));
    let new_home = Url::parse("https://new.example/feed").expect("a valid URL");
    moved.final_url = new_home.clone();
    moved.moved_permanently_to = Some(new_home);
    let http = CannedHttp::new(vec![Ok(moved)]);
    let poll = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await
        .expect("a poll");
    assert_eq!(
        poll.new_params,
        Some(json!({ "url": "https://new.example/feed" }))
    );
    assert_eq!(
        poll.base_url.as_ref().map(Url::as_str),
        Some("https://new.example/feed")
    );
}

#[tokio::test]
async fn rss_ttl_sets_hint() {
    let http = CannedHttp::new(vec![Ok(response(200, &rss("<ttl>60</ttl>")))]);
    let before = Utc::now();
    let poll = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await
        .expect("a poll");
    let not_before = poll.hint.not_before.expect("the ttl sets a hint");
    assert!(not_before >= before + Duration::minutes(60));
    assert!(not_before <= Utc::now() + Duration::minutes(61));
}

#[tokio::test]
async fn later_cache_hint_beats_a_short_ttl() {
    let far = Utc::now() + Duration::days(2);
    let mut ok = response(200, &rss("<ttl>5</ttl>"));
    ok.hint = PollHint {
        not_before: Some(far),
    };
    let http = CannedHttp::new(vec![Ok(ok)]);
    let poll = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await
        .expect("a poll");
    assert_eq!(poll.hint.not_before, Some(far));
}

#[tokio::test]
async fn prev_archive_link_becomes_next_page() {
    let http = CannedHttp::new(vec![
        Ok(response(
            200,
            &rss(r#"<atom:link rel="prev-archive" href="https://blog.example/2023.xml"/>"#),
        )),
        Ok(response(
            200,
            &rss(
                r#"<atom:link rel="prev-archive" href="/2022.xml"/><item><guid>old</guid><title>Old</title></item>"#,
            ),
        )),
    ]);
    let poll = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await
        .expect("a poll");
    let page = poll.next_page.expect("an archive to walk");
    assert_eq!(page, json!({ "url": "https://blog.example/2023.xml" }));

    let older = FeedConnector
        .poll_page(&http, &params(), &page)
        .await
        .expect("a page");
    let requests = http.requests();
    assert_eq!(requests[1].url.as_str(), "https://blog.example/2023.xml");
    assert!(
        requests[1].validators.is_empty(),
        "pages are fetched without validators"
    );
    assert_eq!(older.items.len(), 1);
    assert_eq!(
        older.next_page,
        Some(json!({ "url": "https://blog.example/2022.xml" }))
    );
}

#[tokio::test]
async fn archive_pointing_at_itself_stops_the_walk() {
    let http = CannedHttp::new(vec![Ok(response(
        200,
        &rss(&format!(
            r#"<atom:link rel="prev-archive" href="{FEED_URL}"/>"#
        )),
    ))]);
    let poll = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await
        .expect("a poll");
    assert_eq!(poll.next_page, None);
    assert!(!poll.warnings.is_empty());
}

#[tokio::test]
async fn poll_with_bad_params_is_unsupported_without_fetching() {
    let http = CannedHttp::new(Vec::new());
    let result = FeedConnector
        .poll(
            &http,
            &json!({ "url": "file:///etc/passwd" }),
            &PollState::default(),
        )
        .await;
    assert!(
        matches!(result, Err(ConnectorError::Unsupported(_))),
        "got {result:?}"
    );
    assert!(http.requests().is_empty());
}

#[tokio::test]
async fn content_type_charset_decodes_undeclared_bytes() {
    let mut ok = response(200, "");
    ok.content_type = Some("application/rss+xml; charset=\"windows-1251\"".into());
    ok.body = Bytes::from_static(
        b"<rss version=\"2.0\"><channel><title>\xcf\xf0\xe8\xe2\xe5\xf2</title></channel></rss>",
    );
    let http = CannedHttp::new(vec![Ok(ok)]);
    let poll = FeedConnector
        .poll(&http, &params(), &PollState::default())
        .await
        .expect("a poll");
    assert_eq!(poll.meta.title.as_deref(), Some("Привет"));
}

// --- Formats and fallbacks (#15) -----------------------------------------------------------

/// See: #15.
#[test]
fn issue_15_atom_03_is_read_like_atom_10() {
    let item = only_item(
        r#"<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old blog</title>
<entry><title>Hello</title><link rel="alternate" type="text/html" href="https://blog.example/hello"/>
<id>tag:blog.example,2004:1</id><issued>2004-01-02T03:04:05Z</issued><modified>2004-01-03T00:00:00Z</modified>
<author><name>Ana</name><url>https://blog.example/ana</url></author>
<content type="text/html" mode="escaped">&lt;p&gt;Hi &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;</content></entry></feed>"#,
    );
    assert_eq!(item.title.as_deref(), Some("Hello"));
    assert_eq!(item.external_id, "tag:blog.example,2004:1");
    assert_eq!(
        item.url.as_ref().map(Url::as_str),
        Some("https://blog.example/hello")
    );
    assert_eq!(
        item.published,
        Some(Utc.with_ymd_and_hms(2004, 1, 2, 3, 4, 5).unwrap())
    );
    assert_eq!(
        item.updated,
        Some(Utc.with_ymd_and_hms(2004, 1, 3, 0, 0, 0).unwrap())
    );
    assert_eq!(
        item.content,
        Some(Content::Html("<p>Hi <b>there</b></p>".into()))
    );
    let author = item.author.expect("an author");
    assert_eq!(author.name.as_deref(), Some("Ana"));
    assert_eq!(
        author.url.as_ref().map(Url::as_str),
        Some("https://blog.example/ana")
    );
}

/// See: #15. Atom 0.3 `mode="base64"` content is decoded.
#[test]
fn issue_15_atom_03_base64_content_is_decoded() {
    let item = only_item(
        r#"<feed xmlns="http://purl.org/atom/ns#"><entry><id>x</id><title>t</title>
<content type="text/html" mode="base64">PHA+aGk8L3A+</content></entry></feed>"#,
    );
    assert_eq!(item.content, Some(Content::Html("<p>hi</p>".into())));
}

/// See: #15.
#[test]
fn issue_15_rss_in_the_userland_namespace_is_rss_20() {
    let item = only_item(
        r#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>c</title>
<item><title>One</title><link>https://blog.example/1</link></item></channel></rss>"#,
    );
    assert_eq!(item.title.as_deref(), Some("One"));
}

/// See: #15. RSS 0.90 items and RSS 1.0 items with and without a link.
#[test]
fn issue_15_rdf_items_without_link_use_rdf_about() {
    let parsed = parse_ok(
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://blog.example/"><title>c</title></channel>
<item rdf:about="https://blog.example/a"><title>A</title></item>
<item rdf:about="urn:x-blog:b"><title>B</title></item>
<item rdf:about="https://blog.example/c"><title>C</title><link>https://blog.example/c.html</link></item>
</rdf:RDF>"#,
    );
    let got: Vec<(Option<&str>, &str)> = parsed
        .items
        .iter()
        .map(|item| {
            (
                item.url.as_ref().map(Url::as_str),
                item.external_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("https://blog.example/a"), "https://blog.example/a"),
            (None, "urn:x-blog:b"),
            (
                Some("https://blog.example/c.html"),
                "https://blog.example/c.html"
            ),
        ]
    );
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let netscape = parse_ok(
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>c</title><link>https://blog.example/</link></channel>
<item><title>Old</title><link>https://blog.example/old</link></item></rdf:RDF>"#,
    );
    assert_eq!(netscape.items.len(), 1);
}

/// See: #15. dc:title, dc:description, dcterms dates and xhtml:body fill what an RSS
/// item lacks; a permalink guid is the link.
#[test]
fn issue_15_rss_item_fallbacks() {
    let item = only_item(
        r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel><title>c</title>
<item><dc:title>From DC</dc:title><dc:description>Short</dc:description><guid>https://blog.example/p/1</guid>
<dcterms:issued>2005-07-04T10:00:00Z</dcterms:issued><dcterms:modified>2005-07-05T10:00:00Z</dcterms:modified>
<xhtml:body><xhtml:p>Body <xhtml:em>text</xhtml:em></xhtml:p></xhtml:body></item></channel></rss>"#,
    );
    assert_eq!(item.title.as_deref(), Some("From DC"));
    assert_eq!(
        item.url.as_ref().map(Url::as_str),
        Some("https://blog.example/p/1")
    );
    assert_eq!(item.external_id, "https://blog.example/p/1");
    assert_eq!(
        item.published,
        Some(Utc.with_ymd_and_hms(2005, 7, 4, 10, 0, 0).unwrap())
    );
    assert_eq!(
        item.updated,
        Some(Utc.with_ymd_and_hms(2005, 7, 5, 10, 0, 0).unwrap())
    );
    assert_eq!(
        item.content,
        Some(Content::Html("<p>Body <em>text</em></p>".into()))
    );
    let summary = match item.summary {
        Some(Content::Html(text) | Content::Text(text)) => text,
        None => String::new(),
    };
    assert_eq!(summary, "Short");
}

/// See: #15. `isPermaLink="false"` keeps the guid an id only.
#[test]
fn issue_15_guid_that_is_not_a_permalink_is_no_link() {
    let item = only_item(&rss(
        r#"<item><title>t</title><guid isPermaLink="false">https://blog.example/p/2</guid></item>"#,
    ));
    assert_eq!(item.url, None);
    assert_eq!(item.external_id, "https://blog.example/p/2");
}

/// See: #15. One unreadable construct costs its entry at most, never the document.
#[test]
fn issue_15_a_bad_title_type_does_not_reject_the_document() {
    for title in [
        r#"<title type="">Odd</title>"#,
        r#"<title type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">Odd</div></title>"#,
        r#"<title type="text"></title>"#,
        r#"<title type="application/octet-stream">PHA+T2RkPC9wPg==</title>"#,
    ] {
        let parsed = parse_ok(&format!(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id>{title}<link href="https://blog.example/1"/></entry>
<entry><id>2</id><title>Fine</title><link href="https://blog.example/2"/></entry></feed>"#
        ));
        assert_eq!(parsed.items.len(), 2, "{title}: {:?}", parsed.warnings);
        assert_eq!(parsed.items[1].title.as_deref(), Some("Fine"));
    }
}

/// See: #15. An entry feed-rs cannot read even after repairs is skipped with a warning.
#[test]
fn issue_15_an_unreadable_entry_is_skipped_with_a_warning() {
    let parsed = parse_ok(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id><title>Kept</title></entry>
<entry><id>2</id><title>t</title><content type="a/b c">text</content></entry></feed>"#,
    );
    assert_eq!(parsed.items.len(), 1, "{:?}", parsed.warnings);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.starts_with("entry 2: skipped")),
        "{:?}",
        parsed.warnings
    );
}

/// See: #15. Internal-subset entities are expanded; external ones never are.
#[test]
fn issue_15_internal_dtd_entities_are_expanded() {
    let item = only_item(
        r#"<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY site "https://blog.example"><!ENTITY ext SYSTEM "http://x.invalid/e">]>
<rss version="2.0"><channel><title>c</title>
<item><title>Entity &ext;</title><guid isPermaLink="false">&site;/id/1</guid><link>&site;/1</link></item></channel></rss>"#,
    );
    assert_eq!(item.external_id, "https://blog.example/id/1");
    assert_eq!(
        item.url.as_ref().map(Url::as_str),
        Some("https://blog.example/1")
    );
}

/// See: #15. A quadratic blow-up through one long entity is refused.
#[test]
fn issue_15_entity_expansion_past_the_cap_is_refused() {
    let value = "x".repeat(4000);
    let refs = "&big;".repeat(300);
    let document = format!(
        r#"<!DOCTYPE rss [<!ENTITY big "{value}">]><rss version="2.0"><channel><title>c</title><item><title>{refs}</title></item></channel></rss>"#
    );
    let err = parse(document.as_bytes(), &base()).unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
}

/// See: #15. A feed that parses to nothing says why.
#[test]
fn issue_15_a_document_with_no_readable_entries_says_so() {
    let parsed = parse_ok(
        r#"<rss version="2.0"><channel><title>c</title><item><category>a</category></item><item/></channel></rss>"#,
    );
    assert!(parsed.items.is_empty());
    assert!(
        parsed.warnings[0].starts_with("2 entries in the document, none readable"),
        "{:?}",
        parsed.warnings
    );
    let empty = parse_ok(r#"<rss version="2.0"><channel><title>c</title></channel></rss>"#);
    assert_eq!(
        empty.warnings,
        vec!["the document has no entries".to_owned()]
    );
}

/// See: #15. An iTunes summary is the description of an item that has none.
#[test]
fn issue_15_itunes_summary_stands_in_for_a_description() {
    let item = only_item(
        r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>c</title>
<item><title>Episode</title><link>https://pod.example/1</link><itunes:summary>About the episode</itunes:summary></item></channel></rss>"#,
    );
    assert_eq!(
        item.summary,
        Some(Content::Text("About the episode".into()))
    );
}

/// See: #15. An Atom entry whose only content is an enclosure is kept with its media.
#[test]
fn issue_15_atom_entry_with_only_an_enclosure_is_kept() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><link rel="enclosure" type="audio/mpeg" length="1234" href="https://pod.example/1.mp3"/></entry></feed>"#,
    );
    assert_eq!(item.media.len(), 1);
    assert_eq!(item.media[0].url.as_str(), "https://pod.example/1.mp3");
}

/// See: #15. An Atom title of type "text" is literal: its markup characters stay text.
#[test]
fn issue_15_atom_text_title_is_literal() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id><title>&lt;b&gt;A&lt;/b&gt; &amp; B</title></entry></feed>"#,
    );
    assert_eq!(item.title.as_deref(), Some("&lt;b&gt;A&lt;/b&gt; &amp; B"));
    let html = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id><title type="html">&lt;b&gt;A&lt;/b&gt;</title></entry></feed>"#,
    );
    assert_eq!(html.title.as_deref(), Some("<b>A</b>"));
}

/// See: #15. Markup written as elements inside an RSS title is kept as markup, not lost.
#[test]
fn issue_15_naked_markup_in_an_rss_title_is_kept() {
    let item = only_item(&rss(
        r#"<item><title><p>Item <b>Title</b></p></title><link>https://blog.example/1</link></item>"#,
    ));
    assert_eq!(item.title.as_deref(), Some("<p>Item <b>Title</b></p>"));
}

/// See: #15. Out-of-line content with a text type (RFC 4287 wants a MIME type) costs
/// nothing but its type.
#[test]
fn issue_15_content_src_with_a_text_type_keeps_the_entry() {
    let parsed = parse_ok(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id><title>Out of line</title><content src="https://blog.example/1.html" type="html"/></entry>
<entry><id>2</id><title>Also</title><content src="https://blog.example/2.html" type="text">stray text</content></entry></feed>"#,
    );
    let titles: Vec<_> = parsed
        .items
        .iter()
        .map(|item| item.title.as_deref())
        .collect();
    assert_eq!(
        titles,
        vec![Some("Out of line"), Some("Also")],
        "{:?}",
        parsed.warnings
    );
}

/// See: #15. A construct that says it is escaped HTML but holds elements keeps its text.
#[test]
fn issue_15_atom_construct_with_unescaped_markup_keeps_its_text() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id><summary type="text/html" mode="escaped"><p>foo</p></summary></entry></feed>"#,
    );
    let summary = item.summary.expect("a summary");
    let text = match summary {
        Content::Html(text) | Content::Text(text) => text,
    };
    assert!(text.contains("foo"), "{text}");
}

/// See: #15. Of several alternate links, the web page is the permalink.
#[test]
fn issue_15_the_html_alternate_is_the_permalink() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>1</id><title>t</title>
<link rel="alternate" type="application/pdf" href="https://blog.example/1.pdf"/>
<link rel="alternate" type="text/html" href="https://blog.example/1.html"/></entry></feed>"#,
    );
    assert_eq!(
        item.url.as_ref().map(Url::as_str),
        Some("https://blog.example/1.html")
    );
}

/// See: #15. A `<feed>` whose namespace is misspelled is read as the Atom it is.
#[test]
fn issue_15_atom_in_a_misspelled_namespace_is_read() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/atom"><title>f</title><entry><id>urn:x:1</id><title>a</title><link href="https://a.example/1"/></entry></feed>"#,
    );
    assert_eq!(item.title.as_deref(), Some("a"));
    assert_eq!(
        item.url.as_ref().map(|url| url.as_str()),
        Some("https://a.example/1")
    );
}

/// See: #15. RSS 1.1 (`<Channel>` in its own namespace, items in `<items>`) is read, each
/// item named by its `rdf:about`.
#[test]
fn issue_15_rss_1_1_is_read() {
    let parsed = parse_ok(
        r#"<Channel xmlns="http://purl.org/net/rss1.1#" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" rdf:about="https://a.example/feed">
<title>A</title><link>https://a.example/</link><description>d</description>
<items rdf:parseType="Collection">
  <item rdf:about="https://a.example/1#v1"><title>One</title><link>https://a.example/1</link></item>
  <item rdf:about="https://a.example/2"><title>Two</title></item>
</items></Channel>"#,
    );
    let got: Vec<_> = parsed
        .items
        .iter()
        .map(|item| {
            (
                item.external_id.as_str(),
                item.title.as_deref().unwrap_or_default(),
                item.url.as_ref().map(|url| url.as_str()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("https://a.example/1#v1", "One", Some("https://a.example/1")),
            ("https://a.example/2", "Two", Some("https://a.example/2")),
        ]
    );
}

/// See: #15. An RSS title is HTML only when it looks like HTML; `A&lt;B` stays text.
#[test]
fn issue_15_rss_title_with_a_stray_angle_bracket_is_text() {
    let item = only_item(
        r#"<rss version="2.0"><channel><title>c</title><item><title>A&lt;B and &lt;gorilla&gt;</title><link>https://a.example/1</link></item></channel></rss>"#,
    );
    assert_eq!(item.title.as_deref(), Some("A&lt;B and &lt;gorilla&gt;"));
    let html = only_item(
        r#"<rss version="2.0"><channel><title>c</title><item><title>&lt;b&gt;bold&lt;/b&gt; move</title><link>https://a.example/1</link></item></channel></rss>"#,
    );
    assert_eq!(html.title.as_deref(), Some("<b>bold</b> move"));
}

/// See: #15. Atom content of a non-text type is base64 (RFC 4287 4.1.3.3); out-of-line
/// content that is not a page is the entry's media.
#[test]
fn issue_15_atom_base64_content_and_content_src() {
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title><entry><content type="application/octet-stream">RW50cnkgQ29udGVudA==</content></entry></feed>"#,
    );
    assert_eq!(item.content, Some(Content::Text("Entry Content".into())));
    let item = only_item(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title><entry><content src="https://a.example/v.mp4" type="video/mp4"/></entry></feed>"#,
    );
    assert_eq!(item.media.len(), 1);
    assert_eq!(item.media[0].url.as_str(), "https://a.example/v.mp4");
    assert_eq!(item.media[0].media_type.as_deref(), Some("video/mp4"));
}

/// See: #15. Dates on a 12-hour clock, month first, a one-digit second, and `pubDate` or
/// `atom:published` where the format reads another element.
#[test]
fn issue_15_more_date_shapes_and_places() {
    let item = only_item(
        r#"<rss version="2.0"><channel><title>c</title><item><title>t</title><link>https://a.example/1</link><pubDate>Sat, Dec 16 2023 02:02:33 PM</pubDate></item></channel></rss>"#,
    );
    assert_eq!(
        item.published.map(|date| date.to_rfc3339()).as_deref(),
        Some("2023-12-16T14:02:33+00:00")
    );
    let item = only_item(
        r#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>c</title><item><title>t</title><link>https://a.example/1</link><atom:published>2019-01-02T15:04:05Z</atom:published></item></channel></rss>"#,
    );
    assert_eq!(
        item.published.map(|date| date.to_rfc3339()).as_deref(),
        Some("2019-01-02T15:04:05+00:00")
    );
    let item = only_item(
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://a.example/"><title>c</title><link>https://a.example/</link></channel><item rdf:about="https://a.example/1"><title>t</title><link>https://a.example/1</link><pubDate>Sat, 01 Jan 2000 00:00:00 GMT</pubDate></item></rdf:RDF>"#,
    );
    assert_eq!(
        item.published.map(|date| date.to_rfc3339()).as_deref(),
        Some("2000-01-01T00:00:00+00:00")
    );
}

/// See: #16 item 7. An `xml:base` that is no URL costs its entry the base, not the entry
/// and not the document.
#[test]
fn issue16_7_a_bad_xml_base_costs_only_the_base() {
    let parsed = parse_ok(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
<entry><id>urn:x:1</id><title>one</title><link href="https://a.example/1"/></entry>
<entry xml:base="http://[::1"><id>urn:x:2</id><title>two</title><link href="https://a.example/2"/></entry></feed>"#,
    );
    let titles: Vec<_> = parsed
        .items
        .iter()
        .filter_map(|item| item.title.as_deref())
        .collect();
    assert_eq!(titles, ["one", "two"]);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.contains("xml:base is not a URL")),
        "{:?}",
        parsed.warnings
    );
}

/// See: #16 item 7. A JSON Feed item with a numeric `id` is read (its id as a string), and
/// the other items with it.
#[test]
fn issue16_7_a_numeric_json_feed_id_is_read() {
    let parsed = parse_ok(
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"j","items":[{"id":"a","content_text":"one","url":"https://a.example/1"},{"id":2,"content_text":"two","url":"https://a.example/2"}]}"#,
    );
    let ids: Vec<_> = parsed
        .items
        .iter()
        .map(|item| item.external_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "2"]);
}

/// See: #16 item 7. Bad bytes in a UTF-8 document are replaced one by one; the rest of the
/// text is not read as another encoding.
#[test]
fn issue16_7_bad_bytes_in_utf8_are_replaced_per_character() {
    for declaration in ["", r#"<?xml version="1.0" encoding="utf-8"?>"#] {
        let document = [
            declaration.as_bytes(),
            b"<rss version=\"2.0\"><channel><title>c</title><item><title>caf\xc3\xa9 and a bad \xff byte</title><link>https://a.example/1</link></item></channel></rss>",
        ]
        .concat();
        let parsed = parse(&document, &base()).expect("parses");
        assert_eq!(
            parsed.items[0].title.as_deref(),
            Some("café and a bad \u{fffd} byte"),
            "declaration {declaration:?}"
        );
    }
}

// --- WebSub discovery (W3C WebSub section 4) --------------------------------------------

#[track_caller]
fn check_websub_links(document: &str, hubs: &[&str], self_url: Option<&str>) {
    let meta = parse_ok(document).meta;
    let found: Vec<String> = meta.hubs.iter().map(Url::to_string).collect();
    assert_eq!(found, hubs);
    assert_eq!(meta.self_url.as_ref().map(Url::as_str), self_url);
}

#[test]
fn atom_names_its_hub_and_self() {
    check_websub_links(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id>
        <updated>2024-01-01T00:00:00Z</updated>
        <link rel="hub" href="https://hub.example/"/>
        <link rel="self" href="/feed.atom"/>
        <link rel="alternate" href="https://blog.example/"/>
        <entry><id>urn:1</id><title>a</title><updated>2024-01-01T00:00:00Z</updated></entry>
        </feed>"#,
        &["https://hub.example/"],
        Some("https://blog.example/feed.atom"),
    );
}

#[test]
fn rss_names_its_hubs_with_atom_links() {
    check_websub_links(
        &rss(r#"<atom:link rel="hub" href="https://hub.example/"/>
        <atom:link rel="hub" href="https://other-hub.example/push"/>
        <atom:link rel="self" href="https://blog.example/feed.xml" type="application/rss+xml"/>
        <item><title>a</title><link>https://blog.example/a</link></item>"#),
        &["https://hub.example/", "https://other-hub.example/push"],
        Some("https://blog.example/feed.xml"),
    );
}

#[test]
fn json_feed_names_its_hubs_and_feed_url() {
    check_websub_links(
        r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t",
            "feed_url": "https://blog.example/feed.json",
            "hubs": [{"type": "WebSub", "url": "https://hub.example/"}, {"type": "x"}, 7],
            "items": [{"id": "1", "content_text": "hi"}]}"#,
        &["https://hub.example/"],
        Some("https://blog.example/feed.json"),
    );
}

#[test]
fn a_feed_without_hub_names_none() {
    check_websub_links(
        &rss("<item><title>a</title><link>https://blog.example/a</link></item>"),
        &[],
        None,
    );
}
