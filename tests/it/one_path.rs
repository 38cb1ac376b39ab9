//! One path per job (#16, item 8): the command line, the web pages and OPML import go
//! through the same sources and users services, so the rules the web keeps hold at the
//! command line too. CLI cases run the real binary against a fixture server.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use reqwest::StatusCode;
use tributary::store::{Store, sources, users};

use crate::support::app::{binary, create_user, rss};
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::WebApp;

/// The binary on the database in `dir`, allowed to fetch from `origin` only.
fn tributary(dir: &Path, origin: &str) -> Command {
    let mut command = binary();
    command.current_dir(dir);
    command
        .env("TRIBUTARY_DATABASE_PATH", dir.join("tributary.db"))
        .env("TRIBUTARY_FETCH_ALLOWED_PRIVATE_ORIGINS", origin);
    command
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn store_with_user(dir: &Path, name: &str) -> (Store, tributary::model::UserId) {
    let store = Store::open(&dir.join("tributary.db"), 1).unwrap();
    let id = create_user(&store, name);
    (store, id)
}

/// A blog whose front page names its feed in a `<link rel="alternate">`.
async fn blog() -> FixtureServer {
    let server = FixtureServer::start().await;
    server.set(
        "/",
        Reply::ok(
            r#"<!doctype html><html><head><title>A blog</title>
<link rel="alternate" type="application/rss+xml" title="Posts" href="/feed.xml">
</head><body><p>Hello.</p></body></html>"#,
        )
        .content_type("text/html; charset=utf-8"),
    );
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "First", "http://example.invalid/a")]))
            .content_type("application/rss+xml"),
    );
    server
}

// See: #16
// The binary runs while this test waits; the fixture server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue16_8_cli_source_add_of_an_html_page_discovers_its_feed() {
    let server = blog().await;
    let dir = tempfile::tempdir().unwrap();
    let (store, ana) = store_with_user(dir.path(), "ana");
    let out = run(tributary(dir.path(), &server.origin()).args([
        "source",
        "add",
        "ana",
        &server.url("/"),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = store
        .read_blocking(move |conn| sources::list(conn, Some(ana)))
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].url(),
        Some(server.url("/feed.xml").as_str()),
        "the page's feed is stored, not the page"
    );
    assert_eq!(
        list[0].title, "Test feed",
        "the feed's own title, as the web's preview gives"
    );
    assert!(
        text(&out.stdout).contains("1 items now"),
        "{}",
        text(&out.stdout)
    );
}

// See: #16
// The binary runs while this test waits; the fixture server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue16_8_cli_source_add_of_a_page_without_a_feed_stores_nothing() {
    let server = FixtureServer::start().await;
    server.set(
        "/about",
        Reply::ok("<!doctype html><html><body><p>No feed here.</p></body></html>")
            .content_type("text/html"),
    );
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_user(dir.path(), "ana");
    let out = run(tributary(dir.path(), &server.origin()).args([
        "source",
        "add",
        "ana",
        &server.url("/about"),
    ]));
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "an HTML page is not stored as a feed"
    );
    assert!(
        stderr.contains("This page is not a feed and names none"),
        "{stderr}"
    );
    let list = store
        .read_blocking(|conn| sources::list(conn, None))
        .unwrap();
    assert!(list.is_empty(), "{list:?}");
}

// See: #16
// The binary runs while this test waits; the fixture server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue16_8_cli_source_add_of_a_duplicate_says_so_readably() {
    let server = blog().await;
    let dir = tempfile::tempdir().unwrap();
    store_with_user(dir.path(), "ana");
    let feed = server.url("/feed.xml");
    let first = run(tributary(dir.path(), &server.origin()).args(["source", "add", "ana", &feed]));
    assert!(first.status.success(), "{}", text(&first.stderr));
    // The page that names the same feed is the same source.
    let again = run(tributary(dir.path(), &server.origin()).args([
        "source",
        "add",
        "ana",
        &server.url("/"),
    ]));
    assert!(!again.status.success());
    assert_eq!(
        text(&again.stderr).trim(),
        format!("error: ana already has this source ({feed}); see `tributary source list ana`")
    );
}

/// The message beside field `name` of a re-rendered form.
fn field_error(body: &str, name: &str) -> String {
    let marker = format!("id=\"f-{name}-error\" role=\"alert\">");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no error beside {name} in:\n{body}"))
        + marker.len();
    body[at..at + body[at..].find("</p>").unwrap()].to_owned()
}

// See: #16
#[tokio::test]
async fn issue16_8_cli_user_add_refuses_a_bad_display_name_with_the_web_message() {
    let long_name = "y".repeat(81);
    let web = WebApp::start("http://127.0.0.1:9").await;
    web.create_user("root", true);
    let admin = web.logged_in("root").await;
    let page = admin
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("name", "bo"),
                ("display_name", &long_name),
                ("password", "a long enough password"),
                ("password2", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let web_message = field_error(&page.body, "display_name");
    assert!(web_message.contains("80"), "{web_message}");

    let dir = tempfile::tempdir().unwrap();
    let mut child = tributary(dir.path(), "http://127.0.0.1:9")
        .args(["user", "add", "bo", "--password-stdin", "--display-name"])
        .arg(&long_name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n");
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert_eq!(text(&out.stderr).trim(), format!("error: {web_message}"));
    let store = Store::open(&dir.path().join("tributary.db"), 1).unwrap();
    assert_eq!(store.read_blocking(users::count).unwrap(), 0);
}

// See: #16
// The binary runs while this test waits; the fixture server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue16_8_manual_poll_after_429_with_retry_after_does_not_refetch() {
    let server = FixtureServer::start().await;
    server.set("/feed.xml", Reply::status(429).header("Retry-After", 3600));
    let dir = tempfile::tempdir().unwrap();
    let (store, ana) = store_with_user(dir.path(), "ana");
    let params = serde_json::json!({ "url": server.url("/feed.xml") });
    store
        .write_blocking(move |tx| {
            sources::insert(tx, &sources::NewSource::feed(ana, &params), Utc::now())
        })
        .unwrap();
    drop(store);
    let first = run(tributary(dir.path(), &server.origin()).arg("poll"));
    assert!(!first.status.success(), "the 429 is a failed poll");
    assert_eq!(server.hits("/feed.xml"), 1);

    let second = run(tributary(dir.path(), &server.origin()).arg("poll"));
    let stdout = text(&second.stdout);
    assert_eq!(
        server.hits("/feed.xml"),
        1,
        "asked to wait, and waited: {stdout}"
    );
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        stdout.contains("source 1: skipped: its server asked Tributary to wait until")
            && stdout.contains("--force"),
        "{stdout}"
    );

    let forced = run(tributary(dir.path(), &server.origin()).args(["poll", "--force"]));
    assert!(!forced.status.success());
    assert_eq!(server.hits("/feed.xml"), 2, "--force fetches anyway");
}

/// A reader's export: a feed, a page without `xmlUrl` that names its feed, an outline
/// with no address at all, and a folder around them (not a subscription).
fn reader_opml(server: &FixtureServer) -> String {
    format!(
        r#"<?xml version="1.0"?>
<opml version="2.0"><head><title>Subscriptions</title></head><body>
  <outline text="Folder">
    <outline text="Other" type="rss" xmlUrl="{other}"/>
    <outline text="A blog" htmlUrl="{page}"/>
    <outline text="Bare"/>
  </outline>
</body></opml>"#,
        other = server.url("/other.xml"),
        page = server.url("/"),
    )
}

const BARE_REASON: &str = "“Bare”: the outline has no xmlUrl, htmlUrl or tributary:kind, so there is nothing to subscribe to";

// See: #16
// The binary runs while this test waits; the fixture server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue16_8_opml_outline_without_xml_url_is_reported_by_the_cli() {
    let server = blog().await;
    let dir = tempfile::tempdir().unwrap();
    let (store, ana) = store_with_user(dir.path(), "ana");
    let file = dir.path().join("reader.opml");
    std::fs::write(&file, reader_opml(&server)).unwrap();
    let out = run(tributary(dir.path(), &server.origin())
        .args(["import", "opml", "ana"])
        .arg(&file));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("refused: {BARE_REASON}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("added: {}", server.url("/feed.xml"))),
        "the page's feed is found: {stdout}"
    );
    assert!(
        stdout.contains("2 added, 0 already present, 1 refused"),
        "{stdout}"
    );
    let mut urls: Vec<String> = store
        .read_blocking(move |conn| sources::list(conn, Some(ana)))
        .unwrap()
        .iter()
        .filter_map(|source| source.url().map(str::to_owned))
        .collect();
    urls.sort();
    assert_eq!(urls, [server.url("/feed.xml"), server.url("/other.xml")]);
}

// See: #16
#[tokio::test]
async fn issue16_8_opml_outline_without_xml_url_is_reported_on_the_import_page() {
    let server = blog().await;
    let app = WebApp::start(&server.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let page = client
        .post_form(
            "/settings/import",
            "/settings/import",
            &[("opml", &reader_opml(&server))],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("2 added, 0 already present, 1 refused"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("the outline has no xmlUrl, htmlUrl or tributary:kind"),
        "{}",
        page.body
    );
}

// See: #16
#[tokio::test]
async fn issue16_8_oversized_form_is_413() {
    let app = WebApp::start("http://127.0.0.1:9").await;
    let client = app.client();
    let token = client.get("/login").await.csrf();
    let huge = "x".repeat(tributary::web::session::MAX_FORM_BYTES + 1);
    let page = client
        .post_raw(
            "/login",
            &[("name", "ana"), ("password", &huge), ("csrf", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.body);
    assert!(
        page.body.contains("larger than Tributary accepts"),
        "{}",
        page.body
    );
}
