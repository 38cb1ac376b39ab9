//! The page cache for viewers without a session: whatever a write changes (a comment, a
//! like, a hidden item, a poll with new items, a profile edit) shows on the very next
//! request; a poll that found nothing keeps the cached copies; cached copies answer
//! conditional requests; logged-in viewers never get a cached page.

use reqwest::StatusCode;
use tributary::config::Config;

use crate::support::app::{TestApp, rss};
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::{WebApp, csrf_in};
use crate::web_stream::{NO_FIXTURES, add_item, add_source, card, comment, post};

const RSS: &str = "application/rss+xml";

#[tokio::test]
async fn comments_likes_and_hides_show_on_the_next_anonymous_request() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "first", 10);
    let anon = app.client();
    for path in ["/ana", "/", "/ana/feed.atom"] {
        assert_eq!(anon.get(path).await.status, StatusCode::OK, "{path}");
    }
    assert!(!app.state.pages.is_empty(), "anonymous pages are kept");
    let again = anon.get("/ana").await;
    assert!(!card(&again.body, item).contains("Cached no more"));

    let bo = app.logged_in("bo").await;
    let done = comment(&bo, item, "Cached no more").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    for path in ["/ana", "/"] {
        let page = anon.get(path).await;
        assert!(
            card(&page.body, item).contains("Cached no more"),
            "{path}: {}",
            page.body
        );
    }
    let atom = anon.get("/ana/feed.atom").await;
    assert!(
        atom.body.contains("<thr:total>1</thr:total>"),
        "{}",
        atom.body
    );

    assert_eq!(
        post(&bo, &format!("/e/{item}/like")).await.status,
        StatusCode::SEE_OTHER
    );
    let page = anon.get("/ana").await;
    assert!(
        card(&page.body, item).contains("liked this"),
        "{}",
        page.body
    );

    let owner = app.logged_in("ana").await;
    assert_eq!(
        post(&owner, &format!("/e/{item}/hide")).await.status,
        StatusCode::SEE_OTHER
    );
    let page = anon.get("/ana").await;
    assert!(!page.body.contains("Post first"), "{}", page.body);
    assert!(!anon.get("/ana/feed.atom").await.body.contains("Post first"));
}

#[tokio::test]
async fn profile_edits_show_on_the_next_anonymous_request() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let anon = app.client();
    assert!(!anon.get("/ana").await.body.contains("Gardener and reader"));
    let ana = app.logged_in("ana").await;
    let saved = ana
        .post_form(
            "/settings",
            "/settings/profile",
            &[
                ("display_name", "Ana Lima"),
                ("bio", "Gardener and reader"),
                ("avatar_url", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = anon.get("/ana").await;
    assert!(page.body.contains("Gardener and reader"), "{}", page.body);
}

#[tokio::test]
async fn a_poll_with_new_items_shows_at_once_and_an_empty_poll_keeps_the_cache() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "Alpha post", "http://example.invalid/a")])).content_type(RSS),
    );
    let polls = TestApp::new(&server.origin());
    let source = polls.add_feed(&server.url("/feed.xml"));
    assert_eq!(polls.poll(source).await.n_new, 1);
    let mut config = Config::default();
    config.database.path = polls.db_path();
    let app = WebApp::serve(tempfile::tempdir().unwrap(), polls.store.clone(), config).await;
    let anon = app.client();
    assert!(anon.get("/ana").await.body.contains("Alpha post"));
    assert!(anon.get("/ana/feed.atom").await.body.contains("Alpha post"));
    let kept = app.state.pages.len();
    assert!(kept >= 2, "{kept} documents kept");

    // Nothing new upstream: the poll is bookkeeping only, and the copies stay.
    let version = app.store.version();
    let report = polls.poll(source).await;
    assert_eq!(report.n_new, 0, "{report:?}");
    assert_eq!(app.store.version(), version);
    assert_eq!(app.state.pages.len(), kept);

    server.set(
        "/feed.xml",
        Reply::ok(rss(&[
            ("a", "Alpha post", "http://example.invalid/a"),
            ("b", "Beta post", "http://example.invalid/b"),
        ]))
        .content_type(RSS),
    );
    assert_eq!(polls.poll(source).await.n_new, 1);
    assert!(anon.get("/ana").await.body.contains("Beta post"));
    assert!(anon.get("/ana/feed.atom").await.body.contains("Beta post"));
    assert!(anon.get("/ana/feed.json").await.body.contains("Beta post"));
}

#[tokio::test]
async fn cached_pages_answer_conditional_requests_and_sessions_bypass_them() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    add_item(&app, source, ana, "first", 10);
    let anon = app.client();
    let first = anon.get("/ana").await;
    assert_eq!(csrf_in(&first.body), None, "a shared page carries no token");
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    for path in ["/ana", "/ana/feed.atom"] {
        let tag = anon.get(path).await.headers["etag"]
            .to_str()
            .unwrap()
            .to_owned();
        let response = anon
            .http
            .get(app.url(path))
            .header("if-none-match", &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(response.bytes().await.unwrap().is_empty());
    }

    // The owner sees their own page with its forms, never the shared copy.
    let owner = app.logged_in("ana").await;
    let mine = owner.get("/ana").await;
    assert!(csrf_in(&mine.body).is_some(), "{}", mine.body);
    assert!(mine.body.contains(">Hide<"), "{}", mine.body);
    let still = anon.get("/ana").await;
    assert_eq!(still.headers["etag"].to_str().unwrap(), etag);
}
