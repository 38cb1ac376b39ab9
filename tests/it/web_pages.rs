//! A lighter, correct page over real HTTP: stream paging both ways, gzip and brotli (not
//! for media), a rate-limited comment that keeps its text, invitations listed, revoked and
//! explained once used, OPML import from a file, and the password fields' autocomplete.

use std::collections::HashSet;
use std::io::Read;

use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use tributary::config::Signup;
use tributary::model::{SourceId, UserId};
use tributary::store::social;

use crate::export::fixture;
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::{Client, PASSWORD, WebApp};
use crate::web_media::PNG_1X1;
use crate::web_stream::{NO_FIXTURES, add_source, comment, item_ids, new_item, store_items};

/// Items on one stream page (`web::PAGE_SIZE`).
const PAGE_SIZE: usize = 30;

/// Stores `n` items for `user`, two hours apart, newest first in the returned ids.
pub fn add_items(app: &WebApp, source: SourceId, user: UserId, n: usize) -> Vec<i64> {
    let now = Utc::now();
    let items = (0..n)
        .map(|i| {
            new_item(
                &format!("p{i}"),
                &format!("Post {i}"),
                &format!("<p>Body {i}</p>"),
                // Two hours apart: items of one source within an hour fold into one
                // burst card, and these pages are about paging.
                now - TimeDelta::hours(2 * (i as i64 + 1)),
            )
        })
        .collect();
    store_items(app, source, user, items)
        .into_iter()
        .map(|id| id.0)
        .collect()
}

/// The `href` of the link with `rel="{rel}"`, unescaped.
fn link(body: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\" href=\"");
    let at = body.find(&marker)? + marker.len();
    let end = body[at..].find('"')?;
    Some(body[at..at + end].replace("&amp;", "&"))
}

/// Walks `start` by its Older links to the last page, then back by Newer links to the
/// first; returns the pages' ids both ways (the way back in the order it was walked).
async fn walk_both_ways(client: &Client, start: &str) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let first = client.get(start).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        !first.body.contains("class=\"newest\""),
        "the first page has no Newest link"
    );
    assert!(link(&first.body, "prev").is_none(), "{}", first.body);
    let mut older = vec![item_ids(&first.body)];
    let mut page = first;
    while let Some(next) = link(&page.body, "next") {
        page = client.get(&next).await;
        assert_eq!(page.status, StatusCode::OK, "{next}: {}", page.body);
        assert!(
            page.body.contains("class=\"newest\""),
            "{next} links to the newest page"
        );
        older.push(item_ids(&page.body));
        assert!(older.len() < 20, "paging does not end");
    }
    let mut newer = Vec::new();
    while let Some(prev) = link(&page.body, "prev") {
        page = client.get(&prev).await;
        assert_eq!(page.status, StatusCode::OK, "{prev}: {}", page.body);
        newer.push(item_ids(&page.body));
        assert!(newer.len() < 20, "paging back does not end");
    }
    (older, newer)
}

#[track_caller]
fn check_every_item_once(expected: &[i64], older: &[Vec<i64>], newer: &[Vec<i64>]) {
    assert!(older.len() >= 3, "three pages at least: {older:?}");
    let walked: Vec<i64> = older.concat();
    assert_eq!(
        walked, expected,
        "Older walks every item once, newest first"
    );
    // Back up by Newer: the pages before the last, in reverse, the same items.
    let mut back: Vec<Vec<i64>> = older[..older.len() - 1].to_vec();
    back.reverse();
    assert_eq!(newer, back.as_slice(), "Newer walks the same pages back");
    let unique: HashSet<i64> = walked.iter().copied().collect();
    assert_eq!(unique.len(), walked.len());
}

#[tokio::test]
async fn paging_both_ways_returns_every_item_once() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let n = PAGE_SIZE * 2 + 7;
    let ids = add_items(&app, source, ana, n);
    app.store
        .write_blocking(|tx| social::follow(tx, bo, ana, Utc::now()))
        .unwrap();
    let anonymous = app.client();
    let bo_client = app.logged_in("bo").await;
    for (client, path) in [
        (&anonymous, "/ana"),
        (&anonymous, "/"),
        (&anonymous, "/ana?service=feed"),
        (&bo_client, "/bo/friends"),
        (&bo_client, "/ana"),
    ] {
        let (older, newer) = walk_both_ways(client, path).await;
        check_every_item_once(&ids, &older, &newer);
    }
}

#[tokio::test]
async fn likes_and_discussions_page_both_ways() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let ids = add_items(&app, source, ana, PAGE_SIZE * 2 + 3);
    app.store
        .write_blocking(|tx| {
            for id in &ids {
                social::like(tx, tributary::model::ItemId(*id), ana, Utc::now())?;
            }
            Ok(())
        })
        .unwrap();
    let (older, newer) = walk_both_ways(&app.client(), "/ana/likes").await;
    check_every_item_once(&ids, &older, &newer);
}

/// A client that decodes nothing, so the test sees the bytes as sent.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET `url` with `Accept-Encoding: {encoding}`: the `Content-Encoding` and the bytes.
async fn get_encoded(url: &str, encoding: &str) -> (Option<String>, Vec<u8>) {
    let response = raw_client()
        .get(url)
        .header("accept-encoding", encoding)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let header = response
        .headers()
        .get("content-encoding")
        .map(|value| value.to_str().unwrap().to_owned());
    (header, response.bytes().await.unwrap().to_vec())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn pages_css_and_feeds_are_compressed_and_decode_to_the_same_bytes() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    add_items(&app, source, ana, 12);
    let css = tributary::web::assets::url("style.css");
    for path in ["/ana", "/ana/feed.atom", css.as_str()] {
        let url = app.url(path);
        let (none, plain) = get_encoded(&url, "identity").await;
        assert_eq!(none, None, "{path} as it is when nothing is accepted");
        let (br, compressed) = get_encoded(&url, "br").await;
        assert_eq!(br.as_deref(), Some("br"), "{path}");
        assert_eq!(
            unbrotli(&compressed),
            plain,
            "{path} decodes to the same bytes"
        );
        assert!(compressed.len() * 2 < plain.len(), "{path} is smaller");
        let (gzip, compressed) = get_encoded(&url, "gzip").await;
        assert_eq!(gzip.as_deref(), Some("gzip"), "{path}");
        assert_eq!(gunzip(&compressed), plain, "{path}");
        // Browsers offer both: brotli is chosen.
        let (both, _) = get_encoded(&url, "gzip, deflate, br").await;
        assert_eq!(both.as_deref(), Some("br"), "{path}");
    }
    // The lifestream page is said to vary by encoding, so shared caches keep both.
    let response = raw_client()
        .get(app.url("/ana"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    let vary: Vec<String> = response
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("accept-encoding")),
        "{vary:?}"
    );
}

#[tokio::test]
async fn media_files_are_never_compressed() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    // A PNG large enough to be worth compressing if it were text.
    let mut bytes = PNG_1X1[..16].to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 8000));
    let stored = app
        .state
        .media
        .put(ana, std::io::Cursor::new(bytes.clone()), "big.png")
        .await
        .unwrap();
    let (encoding, body) =
        get_encoded(&app.url(&format!("/media/{}", stored.hash)), "br, gzip").await;
    assert_eq!(encoding, None);
    assert_eq!(body, bytes);
}

#[test]
fn the_event_stream_and_media_types_are_not_compressed() {
    use tributary::web::is_compressed_type;
    assert!(!is_compressed_type("text/event-stream"));
    assert!(!is_compressed_type("image/png"));
    assert!(!is_compressed_type("video/mp4"));
    assert!(!is_compressed_type("audio/mpeg"));
    assert!(is_compressed_type("text/html; charset=utf-8"));
    assert!(is_compressed_type("application/atom+xml"));
    assert!(is_compressed_type("TEXT/CSS"));
}

#[tokio::test]
async fn a_rate_limited_comment_comes_back_with_its_text_and_the_wait() {
    let app = WebApp::start_with(NO_FIXTURES, |config| {
        config.auth.max_comments_per_minute = 1
    })
    .await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let item = tributary::model::ItemId(add_items(&app, source, ana, 1)[0]);
    let client = app.logged_in("ana").await;
    assert_eq!(
        comment(&client, item, "first").await.status,
        StatusCode::SEE_OTHER
    );
    let typed = "A thought worth keeping <3";
    let refused = comment(&client, item, typed).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .body
            .contains("You are commenting too fast; try again in "),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("A thought worth keeping &lt;3</textarea>"),
        "the typed text is kept: {}",
        refused.body
    );
}

/// The invitation links on the users page, in list order.
fn invite_links(body: &str) -> Vec<String> {
    body.match_indices("class=\"invite-link\"")
        .filter_map(|(at, _)| {
            let rest = &body[at..];
            let value = rest.find("value=\"")? + "value=\"".len();
            let end = rest[value..].find('"')?;
            Some(rest[value..value + end].to_owned())
        })
        .collect()
}

/// The path of `link` (`http://host/invite/…` → `/invite/…`).
fn path_of(link: &str) -> String {
    let at = link.find("/invite/").expect("an invitation link");
    link[at..].to_owned()
}

#[tokio::test]
async fn invitations_are_listed_with_their_link_revoked_and_explained_when_used() {
    let app = WebApp::start_with(NO_FIXTURES, |config| config.auth.signup = Signup::Invite).await;
    app.create_user("root", true);
    let root = app.logged_in("root").await;
    for _ in 0..3 {
        let made = root
            .post_form("/settings/users", "/settings/invites", &[])
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    }
    let users = root.get("/settings/users").await;
    let links = invite_links(&users.body);
    assert_eq!(links.len(), 3, "{}", users.body);
    assert!(users.body.contains("readonly"), "{}", users.body);
    let (used, revoked, expired) = (path_of(&links[0]), path_of(&links[1]), path_of(&links[2]));

    // Used: the link then says so, with a way to log in.
    let guest = app.client();
    assert_eq!(guest.get(&used).await.status, StatusCode::OK);
    let joined = guest
        .post_form(
            &used,
            &used,
            &[
                ("name", "dana"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let late = app.client().get(&used).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert!(
        late.body.contains("This invitation was already used"),
        "{}",
        late.body
    );
    assert!(late.body.contains("href=\"/login\""), "{}", late.body);

    // Revoked, through its button (a CSRF form); without the token nothing happens.
    let users = root.get("/settings/users").await;
    let row_at = users
        .body
        .find(&format!("value=\"{}\"", links[1]))
        .expect("the second link is listed");
    let action_at = users.body[row_at..]
        .find("action=\"/settings/invites/")
        .unwrap()
        + row_at;
    let action: String = users.body[action_at + "action=\"".len()..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let forged = root.post_raw(&action, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(app.client().get(&revoked).await.status, StatusCode::OK);
    let done = root.post_form("/settings/users", &action, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let gone = app.client().get(&revoked).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert!(
        gone.body.contains("This invitation was revoked"),
        "{}",
        gone.body
    );
    let again = app.client();
    let token = again.get("/login").await.csrf();
    let refused = again
        .post_raw(
            &revoked,
            &[
                ("name", "eve"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::GONE, "{}", refused.body);

    // Expired.
    app.store
        .write_blocking(|tx| {
            tx.execute(
                "UPDATE invites SET expires_at = 0 WHERE used_at IS NULL AND revoked_at IS NULL",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    let expired_page = app.client().get(&expired).await;
    assert_eq!(expired_page.status, StatusCode::GONE);
    assert!(
        expired_page.body.contains("This invitation has expired"),
        "{}",
        expired_page.body
    );
    // Only open invitations show their link; an unknown one is still not found.
    assert!(invite_links(&root.get("/settings/users").await.body).is_empty());
    let unknown = app
        .client()
        .get(&format!("/invite/{}", "0".repeat(64)))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn opml_is_imported_from_an_uploaded_file() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let opml = std::fs::read(fixture("opml_hostile_urls.opml")).unwrap();
    let token = client.get("/settings/import").await.csrf();
    let page = client
        .post_multipart(
            "/settings/import/opml",
            &[
                ("csrf", None, token.as_bytes()),
                ("opml_file", Some("subscriptions.opml"), &opml),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("1 added, 0 already present, 7 refused"),
        "{}",
        page.body
    );
    // Without the token first, nothing is read.
    let forged = client
        .post_multipart(
            "/settings/import/opml",
            &[("opml_file", Some("subscriptions.opml"), &opml)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Too large a file is refused in words, and nothing of it is imported.
    let mut huge = b"<?xml version=\"1.0\"?><opml version=\"2.0\"><body>".to_vec();
    huge.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024));
    let token = client.get("/settings/import").await.csrf();
    let refused = client
        .post_multipart(
            "/settings/import/opml",
            &[
                ("csrf", None, token.as_bytes()),
                ("opml_file", Some("big.opml"), &huge),
            ],
        )
        .await;
    assert!(
        refused
            .body
            .contains("The file was not imported: it is larger than 2 MB."),
        "{}: {}",
        refused.status,
        refused.body
    );
}

#[tokio::test]
async fn password_fields_say_whether_a_password_is_chosen_or_given() {
    let app = WebApp::start(NO_FIXTURES).await;
    let setup = app.client().get("/").await;
    assert!(
        setup.body.contains("autocomplete=\"new-password\""),
        "{}",
        setup.body
    );
    assert!(!setup.body.contains("current-password"), "{}", setup.body);
    app.create_user("root", true);
    let login = app.client().get("/login").await;
    assert!(login.body.contains("autocomplete=\"current-password\""));
    assert!(!login.body.contains("new-password"));
    let root = app.logged_in("root").await;
    let users = root.get("/settings/users").await;
    assert!(users.body.contains("autocomplete=\"new-password\""));
    assert!(!users.body.contains("current-password"));
    let settings = root.get("/settings").await;
    let current = settings.body.find("name=\"current_password\"").unwrap();
    let tag_end = settings.body[current..].find('>').unwrap() + current;
    assert!(settings.body[current..tag_end].contains("current-password"));
    let new = settings.body.find("name=\"new_password\"").unwrap();
    let tag_end = settings.body[new..].find('>').unwrap() + new;
    assert!(settings.body[new..tag_end].contains("autocomplete=\"new-password\""));
}

const FEED: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>A blog</title><link>https://blog.example/</link>
<item><title>First</title><link>https://blog.example/1</link><guid>1</guid></item>
</channel></rss>"#;

#[tokio::test]
async fn the_source_preview_has_a_heading() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(FEED).content_type("application/rss+xml"),
    );
    let app = WebApp::start(&server.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let feed = format!("{}/feed.xml", server.origin());
    let page = client
        .post_form(
            "/settings/sources",
            "/settings/sources/preview",
            &[("input", &feed)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<h1>Preview a source</h1>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("First"), "{}", page.body);
}
