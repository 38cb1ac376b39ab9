//! Notifications over real HTTP: comments, likes, replies, mentions and follows by other
//! users count in the navigation and list on `/notifications`, which marks them read; own
//! actions notify nobody; a source that starts failing notifies once; the private Atom
//! feed answers only its secret; remote comments, likes, mentions and follows through the
//! signed inbox; and the Discussions tab.

use reqwest::StatusCode;
use serde_json::json;
use tributary::model::{ItemId, UserId};
use tributary::store::notifications::{self, Kind};

use crate::support::app::TestApp;
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::remote::{self, BOB_KEY, BOB_PUBLIC, Remote, Tweak};
use crate::support::web::{Client, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source, comment, item_ids, post};

/// The unread count the navigation shows (0 when it shows none).
fn nav_count(body: &str) -> u64 {
    let Some(at) = body.find("class=\"nav-notifications\"") else {
        panic!("no notifications link in:\n{body}");
    };
    let link = &body[at..at + body[at..].find("</a>").unwrap()];
    match link.find("<span class=\"count\">") {
        Some(start) => {
            let rest = &link[start + "<span class=\"count\">".len()..];
            rest[..rest.find('<').unwrap()].parse().unwrap()
        }
        None => 0,
    }
}

async fn count_of(client: &Client) -> u64 {
    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    nav_count(&page.body)
}

fn kinds(app: &WebApp, user: UserId) -> Vec<Kind> {
    app.store
        .read_blocking(move |conn| notifications::page(conn, user, None, 100))
        .unwrap()
        .notifications
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

/// ana owns an item; bo and carl are other users; carl owns an item too.
struct Setup {
    app: WebApp,
    ana: UserId,
    carl: UserId,
    item: ItemId,
    carls_item: ItemId,
}

async fn setup() -> Setup {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let carl = app.create_user("carl", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "post", 30);
    let carls = add_source(&app, carl, "feed");
    let carls_item = add_item(&app, carls, carl, "carls", 20);
    Setup {
        app,
        ana,
        carl,
        item,
        carls_item,
    }
}

#[tokio::test]
async fn comments_and_a_like_count_list_and_clear_when_seen() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    let bo = s.app.logged_in("bo").await;
    assert_eq!(count_of(&ana).await, 0);
    let page = ana.get("/").await;
    assert!(
        page.body.contains("href=\"/notifications\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<span class=\"count\">"));

    assert_eq!(
        comment(&bo, s.item, "First!").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        comment(&bo, s.item, "And again").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(&bo, &format!("/e/{}/like", s.item)).await.status,
        StatusCode::SEE_OTHER
    );
    let front = ana.get("/").await;
    assert_eq!(nav_count(&front.body), 3);
    assert!(
        front.body.contains("aria-label=\"Notifications 3 unread\""),
        "{}",
        front.body
    );

    let list = ana.get("/notifications").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.body.matches("class=\"notification unread\"").count(),
        3,
        "{}",
        list.body
    );
    assert!(list.body.contains("commented"), "{}", list.body);
    assert!(list.body.contains("liked"), "{}", list.body);
    assert!(list.body.contains("First!") && list.body.contains("And again"));
    assert!(list.body.contains(&format!("href=\"/e/{}#c-", s.item)));
    assert!(list.body.contains("href=\"/bo\""));
    // The page's own navigation already counts what is left: nothing.
    assert_eq!(nav_count(&list.body), 0);
    assert_eq!(count_of(&ana).await, 0);
    // Seen ones stay listed, no longer marked.
    let again = ana.get("/notifications").await;
    assert_eq!(
        again.body.matches("class=\"notification\"").count(),
        3,
        "{}",
        again.body
    );
    assert!(!again.body.contains("notification unread"));
    // Nobody else was told anything, bo least of all.
    assert_eq!(count_of(&bo).await, 0);
    // Anonymous visitors are sent to log in, and their pages have no count.
    let anonymous = s.app.client();
    let page = anonymous.get("/notifications").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.unwrap().starts_with("/login"));
    assert!(!anonymous.get("/").await.body.contains("nav-notifications"));
}

#[tokio::test]
async fn own_actions_notify_nobody() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    comment(&ana, s.item, "my own @ana note").await;
    post(&ana, &format!("/e/{}/like", s.item)).await;
    assert_eq!(count_of(&ana).await, 0);
    assert!(kinds(&s.app, s.ana).is_empty());
}

#[tokio::test]
async fn unliking_and_deleting_a_comment_take_unread_notifications_back() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    let bo = s.app.logged_in("bo").await;
    comment(&bo, s.item, "oops").await;
    post(&bo, &format!("/e/{}/like", s.item)).await;
    assert_eq!(count_of(&ana).await, 2);
    post(&bo, &format!("/e/{}/unlike", s.item)).await;
    let item = s.item;
    let comment_id = s
        .app
        .store
        .read_blocking(move |conn| tributary::store::social::comments_of(conn, item, None))
        .unwrap()[0]
        .id;
    post(&bo, &format!("/c/{comment_id}/delete")).await;
    assert_eq!(count_of(&ana).await, 0);
    assert!(kinds(&s.app, s.ana).is_empty());
}

#[tokio::test]
async fn follows_replies_and_mentions_notify() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    let bo = s.app.logged_in("bo").await;
    let carl = s.app.logged_in("carl").await;
    assert_eq!(post(&bo, "/ana/follow").await.status, StatusCode::SEE_OTHER);
    assert_eq!(kinds(&s.app, s.ana), [Kind::Follow]);
    // ana comments on carl's item; bo answers there: ana hears of a reply, carl of a
    // comment.
    comment(&ana, s.carls_item, "Nice, carl").await;
    comment(&bo, s.carls_item, "Agreed").await;
    assert_eq!(kinds(&s.app, s.ana), [Kind::Reply, Kind::Follow]);
    assert_eq!(kinds(&s.app, s.carl), [Kind::Comment, Kind::Comment]);
    // A mention on someone else's item, where ana never commented.
    let other = add_item(
        &s.app,
        add_source(&s.app, s.carl, "blog"),
        s.carl,
        "other",
        5,
    );
    comment(&carl, other, "what do you think, @ana? (not @nobody)").await;
    assert_eq!(kinds(&s.app, s.ana)[0], Kind::Mention);
    let list = ana.get("/notifications").await;
    assert!(list.body.contains("started following you"), "{}", list.body);
    assert!(list.body.contains("replied"), "{}", list.body);
    assert!(list.body.contains("mentioned you"), "{}", list.body);
    assert!(
        list.body.contains(&format!("href=\"/e/{other}#c-")),
        "{}",
        list.body
    );
    assert_eq!(count_of(&ana).await, 0);
}

#[tokio::test]
async fn posts_need_csrf_and_mark_all_read_clears_the_rest() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    let bo = s.app.logged_in("bo").await;
    comment(&bo, s.item, "one").await;
    // Without a token, nothing changes.
    for path in ["/notifications/read", "/notifications/feed/reset"] {
        let refused = ana.post_raw(path, &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(count_of(&ana).await, 1);
    let done = ana.post_form("/", "/notifications/read", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(count_of(&ana).await, 0);
}

/// The feed's address as the page shows it, as a path and query.
pub async fn feed_path(client: &Client, app: &WebApp) -> String {
    let page = client.get("/notifications").await;
    let at = page
        .body
        .find("/notifications/feed.atom?token=")
        .expect("a feed link");
    let rest = &page.body[at..];
    let path = rest[..rest.find('"').unwrap()].to_owned();
    assert!(page.body.contains(&app.url(&path)));
    path
}

#[tokio::test]
async fn the_atom_feed_answers_only_its_secret() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    let bo = s.app.logged_in("bo").await;
    comment(&bo, s.item, "Feed me").await;
    post(&bo, &format!("/e/{}/like", s.item)).await;
    let path = feed_path(&ana, &s.app).await;
    // The feed needs no session.
    let feed = s.app.client().get(&path).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    assert_eq!(
        feed.headers["content-type"].to_str().unwrap(),
        "application/atom+xml; charset=utf-8"
    );
    assert!(
        feed.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let parsed = feed_rs::parser::parse(feed.body.as_bytes()).expect("valid Atom");
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    let titles: Vec<String> = parsed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles[0].contains("liked"), "{titles:?}");
    assert!(titles[1].contains("commented"), "{titles:?}");
    assert!(feed.body.contains("Feed me"));
    // The same page again shows the same address; a wrong or missing token is 404.
    assert_eq!(feed_path(&ana, &s.app).await, path);
    let wrong = format!("/notifications/feed.atom?token={}", "0".repeat(64));
    assert_eq!(
        s.app.client().get(&wrong).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.app.client().get("/notifications/feed.atom").await.status,
        StatusCode::NOT_FOUND
    );
    // Reset: the old address stops working, the new one works.
    let reset = ana
        .post_form("/notifications", "/notifications/feed/reset", &[])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let fresh = feed_path(&ana, &s.app).await;
    assert_ne!(fresh, path);
    assert_eq!(
        s.app.client().get(&path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.app.client().get(&fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn discussions_show_items_commented_on_and_own_items_others_discussed() {
    let s = setup().await;
    let ana = s.app.logged_in("ana").await;
    let bo = s.app.logged_in("bo").await;
    let quiet = add_item(&s.app, add_source(&s.app, s.ana, "blog"), s.ana, "quiet", 1);
    comment(&bo, s.item, "about ana's item").await;
    comment(&bo, s.item, "and more").await;
    comment(&ana, s.carls_item, "ana on carl's item").await;
    let page = s.app.client().get("/ana/discussions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("No discussions yet."), "{}", page.body);
    // Newest activity first: ana's comment on carl's item came last.
    assert_eq!(
        item_ids(&page.body),
        [s.carls_item.0, s.item.0],
        "{}",
        page.body
    );
    assert!(!item_ids(&page.body).contains(&quiet.0));
    // bo's discussions are the item he commented on.
    let bos = ana.get("/bo/discussions").await;
    assert_eq!(item_ids(&bos.body), [s.item.0]);
    // Nobody else's comments on carl's item: only ana's, so it is carl's discussion too.
    let carls = ana.get("/carl/discussions").await;
    assert_eq!(item_ids(&carls.body), [s.carls_item.0]);
}

#[tokio::test]
async fn a_source_that_starts_failing_notifies_once() {
    let server = FixtureServer::start().await;
    let app = TestApp::new(&server.origin());
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
        <item><guid>1</guid><title>One</title><link>https://x.example/1</link></item>
        </channel></rss>"#;
    server.set(
        "/feed.xml",
        Reply::ok(feed).content_type("application/rss+xml"),
    );
    let id = app.add_feed(&server.url("/feed.xml"));
    let failing = |app: &TestApp| {
        app.store
            .read_blocking(|conn| notifications::page(conn, app.user, None, 100))
            .unwrap()
            .notifications
            .into_iter()
            .filter(|n| n.kind == Kind::SourceFailing)
            .map(|n| n.source.unwrap().id)
            .collect::<Vec<_>>()
    };
    assert!(app.poll(id).await.error.is_none());
    server.set("/feed.xml", Reply::status(500));
    for _ in 0..3 {
        assert!(app.poll(id).await.error.is_some());
    }
    assert_eq!(failing(&app), [id]);
    // Recovering says nothing; failing again after it is news again once the first was
    // seen (while it is unread, the one line says it).
    let recover = |server: &FixtureServer| {
        server.set(
            "/feed.xml",
            Reply::ok(feed).content_type("application/rss+xml"),
        )
    };
    recover(&server);
    assert!(app.poll(id).await.error.is_none());
    assert_eq!(failing(&app), [id]);
    server.set("/feed.xml", Reply::status(500));
    app.poll(id).await;
    assert_eq!(failing(&app), [id]);
    let user = app.user;
    app.store
        .write_blocking(move |tx| notifications::mark_all_read(tx, user, chrono::Utc::now()))
        .unwrap();
    recover(&server);
    app.poll(id).await;
    server.set("/feed.xml", Reply::status(500));
    app.poll(id).await;
    assert_eq!(failing(&app), [id, id]);
}

#[tokio::test]
async fn remote_comments_likes_mentions_and_follows_notify() {
    let server = FixtureServer::start().await;
    let app = WebApp::start(&server.origin()).await;
    let ana = app.create_user("ana", false);
    let item = add_item(&app, add_source(&app, ana, "feed"), ana, "first", 5);
    let bob = Remote::serve(&server, "bob", BOB_KEY, BOB_PUBLIC);
    let item_uri = app.url(&format!("/e/{}", item.0));
    let send = |activity: serde_json::Value| {
        let bob = &bob;
        let url = app.url("/inbox");
        async move {
            let (status, body) = remote::post(bob, &url, &activity, &Tweak::default()).await;
            assert_eq!(status, 202, "{body}");
        }
    };
    send(bob.activity("Create", bob.note(&item_uri, "<p>Hello from afar</p>"))).await;
    send(bob.activity("Like", json!(item_uri))).await;
    let follow = bob.activity("Follow", json!(app.url("/ana")));
    let (status, body) =
        remote::post(&bob, &app.url("/ana/inbox"), &follow, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    // A post that answers nothing here but tags ana.
    let mut mention = bob.note("https://elsewhere.example/x", "<p>hey @ana</p>");
    mention.as_object_mut().unwrap().remove("inReplyTo");
    mention["tag"] = json!([{ "type": "Mention", "href": app.url("/ana"), "name": "@ana" }]);
    send(bob.activity("Create", mention)).await;
    // A reply in a thread elsewhere that tags ana is a mention too.
    let mut elsewhere = bob.note("https://elsewhere.example/x", "<p>cc @ana</p>");
    elsewhere["tag"] = json!({ "type": "Mention", "href": app.url("/ana") });
    send(bob.activity("Create", elsewhere)).await;
    assert_eq!(
        kinds(&app, ana),
        [
            Kind::Mention,
            Kind::Mention,
            Kind::Follow,
            Kind::Like,
            Kind::Comment
        ]
    );
    let client = app.logged_in("ana").await;
    assert_eq!(count_of(&client).await, 5);
    let list = client.get("/notifications").await;
    assert!(list.body.contains("Hello from afar"), "{}", list.body);
    assert!(list.body.contains(&server.url("/@bob")), "{}", list.body);
    assert!(list.body.contains("mentioned you in"), "{}", list.body);
    assert_eq!(count_of(&client).await, 0);
}

#[tokio::test]
async fn a_follow_waiting_for_approval_asks_once() {
    let server = FixtureServer::start().await;
    let app = WebApp::start(&server.origin()).await;
    let ana = app.create_user("ana", false);
    app.store
        .write_blocking(move |tx| {
            let mut settings = tributary::store::federation::settings(tx, ana)?;
            settings.approve_followers = true;
            tributary::store::federation::set_settings(tx, ana, &settings)
        })
        .unwrap();
    let bob = Remote::serve(&server, "bob", BOB_KEY, BOB_PUBLIC);
    let follow = bob.activity("Follow", json!(app.url("/ana")));
    let (status, body) =
        remote::post(&bob, &app.url("/ana/inbox"), &follow, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(kinds(&app, ana), [Kind::FollowRequest]);
    let client = app.logged_in("ana").await;
    let page = client.get("/notifications").await;
    assert!(page.body.contains("asks to follow you"), "{}", page.body);
    assert!(page.body.contains("href=\"/settings/fediverse\""));
    // A second Follow from the same account is no new follower.
    let again = bob.activity("Follow", json!(app.url("/ana")));
    let (status, _) = remote::post(&bob, &app.url("/ana/inbox"), &again, &Tweak::default()).await;
    assert_eq!(status, 202);
    assert_eq!(kinds(&app, ana), [Kind::FollowRequest]);
    assert_eq!(count_of(&client).await, 0);
}
