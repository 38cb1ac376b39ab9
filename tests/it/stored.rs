//! What ends up in the `items` table for odd and hostile feeds, polled end to end.

use chrono::Utc;
use rusqlite::Connection;

use crate::support::app::TestApp;
use crate::support::fixture_server::{FixtureServer, Reply};

/// Serves `body` as the only feed of a new app, polls it once, returns the app and source.
async fn ingest(
    body: impl Into<Vec<u8>>,
    content_type: &str,
) -> (FixtureServer, TestApp, tributary::model::SourceId) {
    let server = FixtureServer::start().await;
    server.set("/feed", Reply::ok(body.into()).content_type(content_type));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed"));
    let report = app.poll(id).await;
    assert_eq!(report.error, None, "{report:?}");
    (server, app, id)
}

#[tokio::test]
async fn duplicate_guids_are_stored_apart() {
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><guid>same</guid><title>One</title><link>http://example.invalid/1</link></item>
        <item><guid>same</guid><title>Two</title><link>http://example.invalid/2</link></item>
        <item><guid>same</guid><title>Two</title><link>http://example.invalid/2</link></item>
        </channel></rss>"#;
    let (_server, app, id) = ingest(feed, "application/rss+xml").await;
    let items = app.items(id);
    let mut titles: Vec<_> = items.iter().map(|i| i.title.as_str()).collect();
    titles.sort();
    assert_eq!(
        titles,
        ["One", "Two"],
        "different entries kept, exact copy dropped"
    );
    // A second poll of the same document stores nothing new.
    let again = app.poll(id).await;
    assert_eq!(again.n_new, 0);
}

#[tokio::test]
async fn entries_without_guid_get_stable_ids() {
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><title>Only a title</title></item>
        <item><link>http://example.invalid/only-link</link></item>
        <item><description>Neither title nor link nor guid</description></item>
        </channel></rss>"#;
    let (server, app, id) = ingest(feed, "application/rss+xml").await;
    assert_eq!(app.items(id).len(), 3);
    // Other bytes (a new channel title), so the entries are parsed again.
    server.set(
        "/feed",
        Reply::ok(feed.replace("<title>t</title>", "<title>t2</title>"))
            .content_type("application/rss+xml"),
    );
    let again = app.poll(id).await;
    assert_eq!((again.n_new, again.n_unchanged), (0, 3), "{again:?}");
    assert_eq!(app.items(id).len(), 3);
}

#[tokio::test]
async fn relative_links_resolve_against_xml_base_and_feed_url() {
    let feed = r#"<?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.invalid/blog/">
          <title>t</title><id>urn:t</id><updated>2026-11-01T00:00:00Z</updated>
          <entry xml:base="posts/"><id>urn:1</id><title>Based</title>
            <link href="one.html"/><updated>2026-11-01T00:00:00Z</updated>
            <content type="html">&lt;a href="two.html"&gt;two&lt;/a&gt; &lt;img src="/pic.png"&gt;</content>
          </entry>
        </feed>"#;
    let (_server, app, id) = ingest(feed, "application/atom+xml").await;
    let item = &app.items(id)[0];
    assert_eq!(
        item.url.as_ref().map(|u| u.as_str()),
        Some("http://example.invalid/blog/posts/one.html")
    );
    let html = item.content.as_str();
    assert!(
        !html.contains("href=\"two.html\""),
        "relative href left in {html}"
    );
    assert!(html.contains("http://"), "links made absolute: {html}");
}

#[tokio::test]
async fn relative_links_without_base_resolve_against_feed_url() {
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><guid>r</guid><title>Rel</title><link>/posts/rel.html</link></item></channel></rss>"#;
    let (server, app, id) = ingest(feed, "application/rss+xml").await;
    assert_eq!(
        app.items(id)[0].url.as_ref().map(|u| u.to_string()),
        Some(server.url("/posts/rel.html"))
    );
}

#[tokio::test]
async fn iso_8859_1_feed_is_decoded() {
    let mut feed = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><guid>e</guid><title>Caf".to_vec();
    feed.push(0xE9); // é in Latin-1
    feed.extend_from_slice(b" cr");
    feed.push(0xE8); // è
    feed.extend_from_slice(b"me</title></item></channel></rss>");
    let (_server, app, id) = ingest(feed, "application/rss+xml").await;
    assert_eq!(app.items(id)[0].title, "Café crème");
}

#[tokio::test]
async fn windows_1252_feed_is_decoded() {
    let mut feed = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss version=\"2.0\"><channel><title>t</title><item><guid>w</guid><title>".to_vec();
    feed.extend_from_slice(&[0x93, b'5', b' ', 0x80, 0x94]); // “5 €”
    feed.extend_from_slice(b"</title></item></channel></rss>");
    let (_server, app, id) = ingest(feed, "application/rss+xml").await;
    assert_eq!(app.items(id)[0].title, "\u{201c}5 \u{20ac}\u{201d}");
}

#[tokio::test]
async fn future_and_missing_dates_become_fetch_time() {
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><guid>f</guid><title>Future</title><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
        <item><guid>m</guid><title>Missing</title></item>
        <item><guid>p</guid><title>Past</title><pubDate>Tue, 01 Jan 2019 00:00:00 GMT</pubDate></item>
        </channel></rss>"#;
    let before = Utc::now();
    let (_server, app, id) = ingest(feed, "application/rss+xml").await;
    let after = Utc::now();
    for item in app.items(id) {
        match item.title.as_str() {
            "Future" | "Missing" => assert!(
                item.published_at >= before - chrono::Duration::seconds(1)
                    && item.published_at <= after,
                "{}: {}",
                item.title,
                item.published_at
            ),
            "Past" => assert_eq!(item.published_at.to_rfc3339(), "2019-01-01T00:00:00+00:00"),
            other => panic!("unexpected item {other}"),
        }
    }
}

/// Markup that would be executable or page-hijacking in a browser.
const EXECUTABLE_TAGS: &[&str] = &[
    "<script",
    "<svg",
    "<math",
    "<iframe",
    "<object",
    "<embed",
    "<base",
    "<meta",
    "<form",
    "<style",
    "<link",
    "style=",
    "http-equiv",
    "srcdoc",
];
/// URL schemes that run or smuggle content.
const EXECUTABLE_SCHEMES: &[&str] = &["javascript:", "vbscript:", "data:text"];

/// For HTML, a scheme matters only as an attribute value (text saying "javascript:" is
/// harmless); for URL columns it matters anywhere.
fn executable_part(text: &str, is_html: bool) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    for needle in EXECUTABLE_TAGS {
        if lower.contains(needle) {
            return Some((*needle).to_owned());
        }
    }
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    for scheme in EXECUTABLE_SCHEMES {
        let found = if is_html {
            ["=\"", "='", "="]
                .iter()
                .any(|quote| squeezed.contains(&format!("{quote}{scheme}")))
        } else {
            squeezed.contains(scheme)
        };
        if found {
            return Some((*scheme).to_owned());
        }
    }
    // An event-handler attribute: whitespace or a quote/slash, `on`, letters, `=`.
    let bytes = lower.as_bytes();
    for (idx, window) in bytes.windows(3).enumerate() {
        if matches!(window[0], b' ' | b'\t' | b'\n' | b'/' | b'"' | b'\'') && &window[1..3] == b"on"
        {
            let rest = &bytes[idx + 3..];
            let n_letters = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let after = rest.get(n_letters..).unwrap_or(&[]);
            let after = after.iter().find(|b| !b.is_ascii_whitespace());
            if is_html && n_letters > 0 && after == Some(&b'=') && lower.contains('<') {
                return Some(format!(
                    "on{}=",
                    String::from_utf8_lossy(&rest[..n_letters])
                ));
            }
        }
    }
    None
}

/// `<` followed by a letter, `/` or `!`: the start of a tag or comment.
fn has_tag(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
}

#[test]
fn executable_check_catches_what_it_should() {
    assert!(has_tag("a <b>bold</b> move"));
    assert!(!has_tag("1 < 2 and 3 > 2"));
    assert!(executable_part("<img src=x onerror=alert(1)>", true).is_some());
    assert!(executable_part("<a href=\"JavaScript:alert(1)\">", true).is_some());
    assert!(executable_part("<a href=\" java script:x\">", true).is_some());
    assert!(executable_part("<p>Learn about the onerror= attribute</p>", true).is_some());
    assert!(executable_part("<p>Turn it on = off</p>", true).is_none());
    assert!(executable_part("<p>The link is a javascript: URL</p>", true).is_none());
    assert!(executable_part("javascript:alert(1)", false).is_some());
    assert!(
        executable_part(
            "<a href=\"https://x.example/\" rel=\"noopener\">x</a>",
            true
        )
        .is_none()
    );
}

#[tokio::test]
async fn hostile_fixtures_never_reach_items_in_executable_form() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");
    let mut n_files = 0;
    let mut n_items = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures dir") {
        let path = entry.unwrap().path();
        // Only feeds; the folder also holds hostile OPML for the import tests.
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rss" | "atom" | "json")
        ) {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let content_type = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => "application/feed+json",
            Some("atom") => "application/atom+xml",
            _ => "application/rss+xml",
        };
        let (_server, app, id) = ingest(body, content_type).await;
        n_files += 1;
        let conn = Connection::open(app.db_path()).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT external_id, coalesce(url, ''), title, coalesce(author_name, ''),
                        content_html, summary_text, media, tags, coalesce(author_url, '')
                 FROM items WHERE source_id = ?1",
            )
            .unwrap();
        let rows = stmt
            .query_map([id.0], |row| {
                (0..9)
                    .map(|col| row.get::<_, String>(col))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        let mut n_file_items = 0;
        for row in rows {
            let row = row.unwrap();
            n_file_items += 1;
            // URL and HTML columns: nothing executable at all.
            for col in [1, 4, 6, 8] {
                if let Some(found) = executable_part(&row[col], col == 4) {
                    panic!(
                        "{}: item {} column {col} holds `{found}`: {}",
                        path.display(),
                        row[0],
                        row[col]
                    );
                }
            }
            // Plain-text names (title, author, tags) may mention words such as
            // "javascript:", which are escaped on output, but never carry markup. The search
            // text (column 5) is what a browser would display of the content, so it may hold
            // text like "</script>" that the content HTML escapes.
            for col in [2, 3, 7] {
                assert!(
                    !has_tag(&row[col]),
                    "{}: item {} column {col} holds markup: {}",
                    path.display(),
                    row[0],
                    row[col]
                );
            }
        }
        assert!(
            n_file_items > 0,
            "{}: nothing was stored, so nothing was checked",
            path.display()
        );
        n_items += n_file_items;
    }
    assert!(n_files >= 6, "only {n_files} hostile fixtures");
    println!("checked {n_items} items from {n_files} hostile feeds");
}
