//! Sources over real HTTP: paste, discover, preview, add; readable refusals; schedule,
//! poll now, remove; and nobody touching another user's sources. Feeds come from the
//! loopback fixture server, the only private origin the app's fetcher may reach.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use tributary::model::SourceId;
use tributary::store::sources::{self, PollRecord};

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::{Client, Page, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source, item_ids};

const RSS: &str = "application/rss+xml";
const HTML: &str = "text/html; charset=utf-8";

/// Three posts and one whose title tries to smuggle markup into the preview.
const FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Fixture blog</title><link>https://blog.example/</link><description>d</description>
<item><title>First post</title><link>https://blog.example/1</link><guid>p1</guid>
  <pubDate>Mon, 01 Jan 2024 10:00:00 +0000</pubDate></item>
<item><title>Second post</title><link>https://blog.example/2</link><guid>p2</guid>
  <pubDate>Tue, 02 Jan 2024 10:00:00 +0000</pubDate></item>
<item><title>Third post</title><link>https://blog.example/3</link><guid>p3</guid>
  <pubDate>Wed, 03 Jan 2024 10:00:00 +0000</pubDate></item>
<item><title>&lt;script&gt;window.pwned=1&lt;/script&gt;Evil &lt;img src=x onerror=alert(1)&gt;</title>
  <link>https://blog.example/4</link><guid>p4</guid>
  <pubDate>Thu, 04 Jan 2024 10:00:00 +0000</pubDate></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom fixture</title><id>urn:x</id>
<updated>2024-01-02T00:00:00Z</updated>
<entry><title>Atom entry</title><id>urn:x:1</id><updated>2024-01-02T00:00:00Z</updated>
  <link href="https://atom.example/1"/></entry>
</feed>"#;

async fn preview(client: &Client, input: &str) -> Page {
    client
        .post_form(
            "/settings/sources",
            "/settings/sources/preview",
            &[("input", input)],
        )
        .await
}

/// The unescaped value of the first `<input name=…>` on the page.
fn input_value(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in:\n{body}"));
    let tag = &body[at..at + body[at..].find('>').unwrap()];
    let value_at = tag.find("value=\"").expect("the input has a value") + "value=\"".len();
    let raw = &tag[value_at..value_at + tag[value_at..].find('"').unwrap()];
    raw.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn count(body: &str, needle: &str) -> usize {
    body.matches(needle).count()
}

/// The text of the error paragraph beside field `name`.
fn field_error(body: &str, name: &str) -> String {
    let marker = format!("id=\"f-{name}-error\" role=\"alert\">");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no error beside {name} in:\n{body}"))
        + marker.len();
    body[at..at + body[at..].find("</p>").unwrap()].to_owned()
}

fn stored_sources(app: &WebApp) -> Vec<tributary::model::Source> {
    app.store
        .read_blocking(|conn| sources::list(conn, None))
        .unwrap()
}

fn source_id_of(location: Option<&str>) -> SourceId {
    let location = location.expect("a redirect");
    SourceId(
        location
            .strip_prefix("/settings/sources/")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("not a source page: {location}")),
    )
}

#[tokio::test]
async fn paste_feed_url_previews_items_then_adds_source() {
    let fixtures = FixtureServer::start().await;
    fixtures.set("/blog/feed.xml", Reply::ok(FEED).content_type(RSS));
    let app = WebApp::start(&fixtures.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;

    let box_page = client.get("/settings/sources").await;
    assert_eq!(box_page.status, StatusCode::OK);
    assert!(
        box_page.body.contains(
            "form id=\"add-source\" method=\"post\" action=\"/settings/sources/preview\""
        ),
        "{}",
        box_page.body
    );
    assert!(
        box_page
            .body
            .contains("Paste a web address, feed or handle")
    );
    assert!(box_page.body.contains(">Preview</button>"));

    let url = fixtures.url("/blog/feed.xml");
    let page = preview(&client, &url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        count(&page.body, "<li class=\"preview-item\">"),
        4,
        "{}",
        page.body
    );
    for title in ["First post", "Second post", "Third post"] {
        assert!(page.body.contains(title), "{title} missing:\n{}", page.body);
    }
    // Newest first, and the hostile title is plain, escaped text.
    assert!(page.body.find("Third post").unwrap() < page.body.find("First post").unwrap());
    assert!(!page.body.contains("<script>window.pwned"), "{}", page.body);
    assert!(!page.body.contains("<img src=x"), "{}", page.body);
    assert!(page.body.contains(">Add this source</button>"));
    assert!(page.body.contains("action=\"/settings/sources\""));
    assert_eq!(input_value(&page.body, "kind"), "feed");
    assert_eq!(input_value(&page.body, "title"), "Fixture blog");
    // The preview used the document fetched while recognizing it: one request in all.
    assert_eq!(fixtures.hits("/blog/feed.xml"), 1);
    assert!(stored_sources(&app).is_empty(), "a preview stores nothing");

    let params = input_value(&page.body, "params");
    let added = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[
                ("kind", "feed"),
                ("params", &params),
                ("title", "My blog"),
                ("schedule", "*/15 * * * *"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let id = source_id_of(added.location.as_deref());
    let source = app
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert_eq!(source.user_name, "ana");
    assert_eq!(source.kind, "feed");
    assert_eq!(source.url(), Some(url.as_str()));
    assert_eq!(source.title, "My blog");
    assert_eq!(source.schedule, "0 */15 * * * *");
    assert!(source.next_poll_at <= Utc::now(), "a new source is due now");

    let list = client.get("/settings/sources").await;
    assert!(
        list.body.contains("My blog") && list.body.contains(&url),
        "{}",
        list.body
    );
    assert!(list.body.contains("not polled yet"), "{}", list.body);
    let detail = client.get(&format!("/settings/sources/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("*/15 * * * *"), "{}", detail.body);

    // The same feed twice is refused in words.
    let again = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[("kind", "feed"), ("params", &params)],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.body.contains("You already have this source."),
        "{}",
        again.body
    );
    assert_eq!(stored_sources(&app).len(), 1);
}

#[tokio::test]
async fn paste_site_url_discovers_feed_through_link_alternate() {
    let fixtures = FixtureServer::start().await;
    fixtures.set(
        "/site/",
        Reply::ok(
            "<!DOCTYPE html><html><head><title>Site</title>\
             <link rel=\"stylesheet\" href=\"/s.css\">\
             <link rel=\"alternate\" type=\"application/atom+xml\" title=\"All posts\" href=\"feeds/all.atom\">\
             </head><body><p>Hello</p></body></html>",
        )
        .content_type(HTML),
    );
    fixtures.set(
        "/site/feeds/all.atom",
        Reply::ok(ATOM).content_type("application/atom+xml"),
    );
    fixtures.set(
        "/two/",
        Reply::ok(
            "<html><head>\
             <link rel=alternate type=application/rss+xml title=Posts href=/two/posts.rss>\
             <link rel=alternate type=application/feed+json title=Notes href=/two/notes.json>\
             </head></html>",
        )
        .content_type(HTML),
    );
    let app = WebApp::start(&fixtures.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;

    let page = preview(&client, &fixtures.url("/site/")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        count(&page.body, "<li class=\"preview-item\">"),
        1,
        "{}",
        page.body
    );
    assert!(page.body.contains("Atom entry"));
    let params: serde_json::Value =
        serde_json::from_str(&input_value(&page.body, "params")).unwrap();
    assert_eq!(params["url"], fixtures.url("/site/feeds/all.atom"));
    assert_eq!(input_value(&page.body, "title"), "Atom fixture");
    // The box keeps what was pasted.
    assert_eq!(input_value(&page.body, "input"), fixtures.url("/site/"));

    // Two feeds: the person picks one; nothing is previewed yet.
    let choose = preview(&client, &fixtures.url("/two/")).await;
    assert_eq!(choose.status, StatusCode::OK, "{}", choose.body);
    assert_eq!(
        count(&choose.body, "type=\"radio\" name=\"input\""),
        2,
        "{}",
        choose.body
    );
    assert!(
        choose
            .body
            .contains(&format!("value=\"{}\"", fixtures.url("/two/posts.rss")))
    );
    assert!(
        choose
            .body
            .contains(&format!("value=\"{}\"", fixtures.url("/two/notes.json")))
    );
    assert!(choose.body.contains("Posts") && choose.body.contains("Notes"));
    assert_eq!(count(&choose.body, "preview-item"), 0);
    assert_eq!(
        fixtures.hits("/two/posts.rss"),
        0,
        "candidates are not fetched before the pick"
    );
}

#[tokio::test]
async fn paste_site_without_link_finds_common_path() {
    let fixtures = FixtureServer::start().await;
    fixtures.set(
        "/plain/",
        Reply::ok("<!doctype html><html><head><title>No links</title></head></html>")
            .content_type(HTML),
    );
    // `/feed` and `/feed.xml` answer 404 (no reply set); `/rss.xml` comes before `/index.xml`.
    fixtures.set("/rss.xml", Reply::ok(FEED).content_type(RSS));
    fixtures.set(
        "/index.xml",
        Reply::ok(ATOM).content_type("application/atom+xml"),
    );
    fixtures.set(
        "/atom.xml",
        Reply::ok("<html>not a feed</html>").content_type(HTML),
    );
    let app = WebApp::start(&fixtures.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;

    let page = preview(&client, &fixtures.url("/plain/")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let params: serde_json::Value =
        serde_json::from_str(&input_value(&page.body, "params")).unwrap();
    assert_eq!(params["url"], fixtures.url("/rss.xml"));
    assert_eq!(
        count(&page.body, "<li class=\"preview-item\">"),
        4,
        "{}",
        page.body
    );
    assert_eq!(fixtures.hits("/feed"), 1, "the usual paths were tried");
}

#[tokio::test]
async fn private_address_is_refused_with_readable_message() {
    let fixtures = FixtureServer::start().await;
    fixtures.set(
        "/nothing/",
        Reply::ok("<html><head></head><body>hi</body></html>").content_type(HTML),
    );
    let app = WebApp::start(&fixtures.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;

    // Same port, another loopback address: not the allowed fixture origin.
    let private = format!("http://127.0.0.2:{}/feed.xml", fixtures.port());
    let page = preview(&client, &private).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let error = field_error(&page.body, "input");
    assert!(error.contains("127.0.0.2 is a loopback address"), "{error}");
    assert!(error.contains("does not fetch private"), "{error}");
    assert_eq!(input_value(&page.body, "input"), private, "input kept");
    assert!(page.body.contains("form id=\"add-source\""));

    let missing = preview(&client, &fixtures.url("/missing.xml")).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_error(&missing.body, "input").contains("404"),
        "{}",
        missing.body
    );

    let no_feed = preview(&client, &fixtures.url("/nothing/")).await;
    assert_eq!(no_feed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = field_error(&no_feed.body, "input");
    assert!(error.contains("not a feed and names none"), "{error}");
    assert!(stored_sources(&app).is_empty());
}

#[tokio::test]
async fn nothing_recognized_rerenders_with_input_kept() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    for input in [
        "just some words",
        "mailto:ana@example.org",
        "ftp://files.example/feed.xml",
    ] {
        let page = preview(&client, input).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{input}: {}",
            page.body
        );
        let error = field_error(&page.body, "input");
        assert!(
            error.contains("Nothing here looks like a web address, feed or handle"),
            "{input}: {error}"
        );
        assert_eq!(input_value(&page.body, "input"), input);
    }
    let empty = preview(&client, "  ").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&empty.body, "input").contains("Paste"));
    assert!(stored_sources(&app).is_empty());
}

#[tokio::test]
async fn bad_schedule_rerenders_with_message_next_to_field() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let params = r#"{"url":"https://blog.example/feed.xml"}"#;
    let page = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[
                ("kind", "feed"),
                ("params", params),
                ("title", "Kept title"),
                ("schedule", "every tuesday"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let error = field_error(&page.body, "schedule");
    assert!(error.contains("every tuesday"), "{error}");
    assert_eq!(input_value(&page.body, "schedule"), "every tuesday");
    assert_eq!(input_value(&page.body, "title"), "Kept title");
    assert_eq!(input_value(&page.body, "params"), params);
    assert!(stored_sources(&app).is_empty());

    // An unknown kind is refused too, whatever the hidden fields say.
    let forged = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[("kind", "sql"), ("params", params)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stored_sources(&app).is_empty());

    // Editing an existing source: the same message beside the field, nothing changed.
    let id = add_source(&app, ana, "feed");
    let path = format!("/settings/sources/{id}");
    let edit = client
        .post_form(
            &path,
            &path,
            &[("title", "New title"), ("schedule", "61 * * * *")],
        )
        .await;
    assert_eq!(
        edit.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        edit.body
    );
    assert!(
        field_error(&edit.body, "schedule").contains("not a valid cron schedule"),
        "{}",
        edit.body
    );
    assert_eq!(input_value(&edit.body, "schedule"), "61 * * * *");
    let source = app
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert_eq!((source.title.as_str(), source.schedule.as_str()), ("", ""));

    let good = client
        .post_form(
            &path,
            &path,
            &[("title", "New title"), ("schedule", "0 6 * * *")],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let source = app
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert_eq!(
        (source.title.as_str(), source.schedule.as_str()),
        ("New title", "0 0 6 * * *")
    );
}

#[tokio::test]
async fn poll_now_makes_source_due() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let id = add_source(&app, ana, "feed");
    let later = Utc::now() + Duration::days(1);
    app.store
        .write_blocking(|tx| {
            sources::record_poll(
                tx,
                id,
                &PollRecord {
                    polled_at: Utc::now(),
                    next_poll_at: later,
                    error: None,
                    state: None,
                    params: None,
                    title: None,
                    disable: false,
                },
            )
        })
        .unwrap();
    let before = client.get(&format!("/settings/sources/{id}")).await;
    assert!(
        before.body.contains("in 23 hours") || before.body.contains("in 1 day"),
        "{}",
        before.body
    );
    assert!(
        before.body.contains(">ok<"),
        "health after a success: {}",
        before.body
    );

    let page = client
        .post_form(
            &format!("/settings/sources/{id}"),
            &format!("/settings/sources/{id}/poll"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // No scheduler runs in this server, so the poll does not end within the wait: the
    // page says "polling…" (web_events.rs has the poll that ends).
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/settings/sources/{id}?done=polling").as_str())
    );
    let source = app
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert!(
        source.next_poll_at <= Utc::now(),
        "due now, not {}",
        source.next_poll_at
    );
    let after = client.get(page.location.as_deref().unwrap()).await;
    assert!(after.body.contains("Polling…"), "{}", after.body);
    assert!(after.body.contains("due now"), "{}", after.body);
}

#[tokio::test]
async fn user_cannot_see_or_change_others_sources() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bob", false);
    app.create_user("root", true);
    let id = add_source(&app, ana, "feed");
    let bob = app.logged_in("bob").await;
    let token = bob.get("/settings/sources").await.csrf();
    let path = format!("/settings/sources/{id}");

    assert_eq!(bob.get(&path).await.status, StatusCode::FORBIDDEN);
    let edit = bob
        .post_raw(
            &path,
            &[("title", "mine now"), ("schedule", ""), ("csrf", &token)],
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    for action in ["poll", "disable", "enable", "remove"] {
        let page = bob
            .post_raw(&format!("{path}/{action}"), &[("csrf", &token)])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{action}");
    }
    let source = app
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert_eq!(source.title, "");
    assert!(source.enabled);
    assert!(
        !bob.get("/settings/sources")
            .await
            .body
            .contains(&format!("/settings/sources/{id}\""))
    );

    // Unknown ids are 404, for owners and others alike.
    assert_eq!(
        bob.get("/settings/sources/999999").await.status,
        StatusCode::NOT_FOUND
    );
    let unknown = bob
        .post_raw("/settings/sources/999999/poll", &[("csrf", &token)])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // An admin may look, but the forms are the owner's.
    let root = app.logged_in("root").await;
    let seen = root.get(&path).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(!seen.body.contains("Poll now"), "{}", seen.body);
    assert!(
        root.get("/settings/sources?all=1")
            .await
            .body
            .contains(&format!("/settings/sources/{id}\""))
    );
    let root_token = root.get("/settings/sources").await.csrf();
    let remove = root
        .post_raw(&format!("{path}/remove"), &[("csrf", &root_token)])
        .await;
    assert_eq!(remove.status, StatusCode::FORBIDDEN);
    // Bob's `?all=1` is ignored: he still sees only his own (none).
    assert!(
        !bob.get("/settings/sources?all=1")
            .await
            .body
            .contains(&format!("/settings/sources/{id}\""))
    );
}

#[tokio::test]
async fn remove_hides_items_keeps_source_out_of_list() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let id = add_source(&app, ana, "feed");
    let kept = add_source(&app, ana, "other");
    let item = add_item(&app, id, ana, "gone", 5);
    let other_item = add_item(&app, kept, ana, "stays", 10);
    assert_eq!(
        item_ids(&client.get("/ana").await.body),
        vec![item.0, other_item.0]
    );

    let path = format!("/settings/sources/{id}");
    let page = client
        .post_form(&path, &format!("{path}/remove"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("/settings/sources?done=removed")
    );

    let list = client.get("/settings/sources?done=removed").await;
    assert!(list.body.contains("Source removed."), "{}", list.body);
    assert!(!list.body.contains(&format!("{path}\"")), "{}", list.body);
    assert!(
        list.body.contains(&format!("/settings/sources/{kept}\"")),
        "{}",
        list.body
    );
    assert_eq!(item_ids(&client.get("/ana").await.body), vec![other_item.0]);
    assert_eq!(client.get(&path).await.status, StatusCode::NOT_FOUND);
    // Removing twice: the source is no longer there.
    let again = client
        .post_form("/settings/sources", &format!("{path}/remove"), &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn disable_and_enable_show_in_health() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let id = add_source(&app, ana, "feed");
    let path = format!("/settings/sources/{id}");
    let off = client
        .post_form(&path, &format!("{path}/disable"), &[])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(
        !app.store
            .read_blocking(|conn| sources::get(conn, id))
            .unwrap()
            .enabled
    );
    assert!(
        client
            .get("/settings/sources")
            .await
            .body
            .contains(">disabled<")
    );
    let on = client
        .post_form(&path, &format!("{path}/enable"), &[])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let source = app
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert!(source.enabled && source.next_poll_at <= Utc::now());
}
