//! Deletions carried over from upstream, through real polls of the loopback fixture
//! server: an ActivityPub `Delete` in the outbox, an RFC 6721 `at:deleted-entry` in an
//! Atom feed, and a re-check that finds a post gone (404/410, or a `Tombstone`). The item
//! leaves the stream and later polls do not bring it back, while comments and likes stay,
//! and the item page stays reachable for those who commented; a source that keeps deleted
//! items shows them marked instead.

use std::sync::Arc;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tributary::model::{ItemId, SourceId, UserId};
use tributary::store::items::{self, StreamQuery};
use tributary::store::{Store, deletions, social};

use crate::fediverse::{account_source, ap, page, serve_account};
use crate::support::app::{TestApp, create_user};
use crate::support::fixture_server::{FixtureServer, Reply};

fn note(server: &FixtureServer, n: u32) -> Value {
    json!({
        "id": server.url(&format!("/users/ana/statuses/{n}")),
        "type": "Create",
        "actor": server.url("/users/ana"),
        "to": "https://www.w3.org/ns/activitystreams#Public",
        "object": {
            "id": server.url(&format!("/users/ana/statuses/{n}")),
            "type": "Note",
            "attributedTo": server.url("/users/ana"),
            "content": format!("<p>post {n}</p>"),
            "published": format!("2026-11-{:02}T10:00:00Z", 10 + n),
            "to": "https://www.w3.org/ns/activitystreams#Public",
        },
    })
}

fn delete(server: &FixtureServer, n: u32) -> Value {
    json!({
        "id": server.url(&format!("/users/ana/statuses/{n}#delete")),
        "type": "Delete",
        "actor": server.url("/users/ana"),
        "to": "https://www.w3.org/ns/activitystreams#Public",
        "object": {
            "id": server.url(&format!("/users/ana/statuses/{n}")),
            "type": "Tombstone",
        },
    })
}

/// The outbox's one page, newest first.
fn serve_outbox(server: &FixtureServer, entries: Vec<Value>) {
    server.set("/outbox/1", page(server, 1, entries, None));
}

fn visible(store: &Store, user: UserId) -> Vec<String> {
    let query = StreamQuery {
        user: Some(user),
        limit: 50,
        ..StreamQuery::default()
    };
    let page = store
        .read_blocking(move |conn| items::stream_page(conn, &query))
        .unwrap();
    let mut texts: Vec<String> = page.items.iter().map(|i| i.summary_text.clone()).collect();
    texts.sort();
    texts
}

fn item_of(app: &TestApp, source: SourceId, text: &str) -> ItemId {
    app.items(source)
        .into_iter()
        .find(|i| i.summary_text == text)
        .unwrap_or_else(|| panic!("no item {text:?}"))
        .id
}

#[tokio::test]
async fn an_outbox_delete_removes_the_post_for_good_and_its_comments_and_likes_stay() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    serve_outbox(
        &server,
        vec![note(&server, 3), note(&server, 2), note(&server, 1)],
    );
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let first = app.poll(id).await;
    assert_eq!((first.n_new, first.n_deleted), (3, 0), "{first:?}");
    let bo = create_user(&app.store, "bo");
    let doomed = item_of(&app, id, "post 2");
    app.store
        .write_blocking(|tx| {
            social::add_comment(tx, doomed, bo, "nice one", Utc::now())?;
            social::like(tx, doomed, bo, Utc::now())
        })
        .unwrap();

    // The outbox now lists the Delete (newest first) above the remaining posts.
    serve_outbox(
        &server,
        vec![
            note(&server, 4),
            delete(&server, 2),
            note(&server, 3),
            note(&server, 1),
        ],
    );
    let second = app.poll(id).await;
    assert_eq!((second.n_new, second.n_deleted), (1, 1), "{second:?}");
    assert_eq!(
        visible(&app.store, app.user),
        ["post 1", "post 3", "post 4"]
    );

    // Stored still, with its comment and like, for their author.
    let (comments, took_part) = app
        .store
        .read_blocking(move |conn| {
            Ok((
                social::comments_of(conn, doomed, None)?,
                deletions::took_part(conn, doomed, bo)?,
            ))
        })
        .unwrap();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "nice one");
    assert!(took_part);

    // An older page that still lists the post does not bring it back.
    serve_outbox(
        &server,
        vec![
            note(&server, 4),
            note(&server, 3),
            note(&server, 2),
            note(&server, 1),
        ],
    );
    let third = app.poll(id).await;
    assert_eq!(third.n_new, 0, "{third:?}");
    assert_eq!(
        visible(&app.store, app.user),
        ["post 1", "post 3", "post 4"]
    );
}

#[tokio::test]
async fn a_source_that_keeps_deleted_items_shows_them_marked() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    serve_outbox(&server, vec![note(&server, 2), note(&server, 1)]);
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    app.poll(id).await;
    app.store
        .write_blocking(|tx| deletions::set_keep_deleted(tx, id, true))
        .unwrap();
    serve_outbox(&server, vec![delete(&server, 2), note(&server, 1)]);
    let report = app.poll(id).await;
    assert_eq!(report.n_deleted, 1, "{report:?}");
    assert_eq!(visible(&app.store, app.user), ["post 1", "post 2"]);
    let kept = app
        .items(id)
        .into_iter()
        .find(|i| i.summary_text == "post 2")
        .unwrap();
    assert!(
        kept.extra.contains_key(items::DELETED_UPSTREAM),
        "{:?}",
        kept.extra
    );
}

#[tokio::test]
async fn an_atom_tombstone_removes_the_entry() {
    let server = FixtureServer::start().await;
    let entry = |n: u32| {
        format!(
            "<entry><id>tag:blog.example,2026:{n}</id><title>Entry {n}</title>\
             <link href=\"http://blog.example/{n}\"/><updated>2026-11-{:02}T10:00:00Z</updated>\
             <content>Body {n}</content></entry>",
            10 + n
        )
    };
    let feed = |body: String| {
        Reply::ok(format!(
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\" \
             xmlns:at=\"http://purl.org/atompub/tombstones/1.0\"><title>Blog</title>\
             <id>tag:blog.example,2026:feed</id><updated>2026-11-20T10:00:00Z</updated>{body}</feed>"
        ))
        .content_type("application/atom+xml")
    };
    server.set("/feed.xml", feed(format!("{}{}", entry(2), entry(1))));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    assert_eq!(app.poll(id).await.n_new, 2);
    server.set(
        "/feed.xml",
        feed(format!(
            "<at:deleted-entry ref=\"tag:blog.example,2026:2\" when=\"2026-11-20T10:00:00Z\"/>{}",
            entry(1)
        )),
    );
    let report = app.poll(id).await;
    assert_eq!(report.n_deleted, 1, "{report:?}");
    let shown: Vec<String> = visible(&app.store, app.user);
    assert_eq!(shown.len(), 1);
    assert!(shown[0].contains("Body 1"), "{shown:?}");
}

/// Makes every item of the source look fetched two days ago, so a poll re-checks them.
fn age(app: &TestApp) {
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    let old = (Utc::now() - chrono::TimeDelta::days(2)).timestamp_millis();
    conn.execute("UPDATE items SET fetched_at = ?1", [old])
        .unwrap();
}

#[tokio::test]
async fn a_recheck_finds_a_post_gone_and_leaves_the_rest() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let recent = |n: u32| {
        let mut doc = note(&server, n);
        doc["object"]["published"] =
            Value::String((Utc::now() - chrono::TimeDelta::hours(i64::from(n))).to_rfc3339());
        doc
    };
    serve_outbox(&server, vec![recent(1), recent(2), recent(3)]);
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    assert_eq!(app.poll(id).await.n_new, 3);
    // Nothing is asked about right after its fetch.
    assert_eq!(app.poll(id).await.n_deleted, 0);
    assert_eq!(server.hits("/users/ana/statuses/1"), 0);

    age(&app);
    // 1 still exists, 2 answers 410, 3 is a Tombstone now.
    server.set("/users/ana/statuses/1", ap(&recent(1)["object"]));
    server.set("/users/ana/statuses/2", Reply::status(410));
    server.set(
        "/users/ana/statuses/3",
        ap(&json!({ "id": server.url("/users/ana/statuses/3"), "type": "Tombstone" })),
    );
    let report = app.poll(id).await;
    assert_eq!(report.n_deleted, 2, "{report:?}");
    assert_eq!(visible(&app.store, app.user), ["post 1"]);
    for n in 1..=3 {
        assert_eq!(
            server.hits(&format!("/users/ana/statuses/{n}")),
            1,
            "status {n}"
        );
    }
    // Asked about once a day at most.
    app.poll(id).await;
    assert_eq!(server.hits("/users/ana/statuses/1"), 1);
}

#[tokio::test]
async fn a_blog_post_answering_404_on_a_recheck_leaves_but_a_link_elsewhere_is_not_asked() {
    let server = FixtureServer::start().await;
    let today = Utc::now().to_rfc2822();
    server.set(
        "/feed.xml",
        Reply::ok(format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>B</title>\
             <link>{0}/</link><description>d</description>\
             <item><guid>a</guid><title>Mine</title><link>{0}/posts/a</link><pubDate>{today}</pubDate></item>\
             <item><guid>b</guid><title>Theirs</title><link>https://elsewhere.example/b</link><pubDate>{today}</pubDate></item>\
             </channel></rss>",
            server.origin()
        ))
        .content_type("application/rss+xml"),
    );
    server.set("/posts/a", Reply::status(404));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    assert_eq!(app.poll(id).await.n_new, 2);
    age(&app);
    let report = app.poll(id).await;
    assert_eq!(report.n_deleted, 1, "{report:?}");
    assert_eq!(server.hits("/posts/a"), 1);
    let shown = visible(&app.store, app.user);
    assert_eq!(shown.len(), 1, "{shown:?}");
}

#[tokio::test]
async fn the_deleted_post_page_stays_open_to_its_commenters_only() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    serve_outbox(&server, vec![note(&server, 2), note(&server, 1)]);
    let web = crate::support::web::WebApp::start(&server.origin()).await;
    let ana = web.create_user("ana", false);
    let bo = web.create_user("bo", false);
    web.create_user("cy", false);
    let params = json!({ "account": format!("ana@{}", server.addr()) });
    let id = web
        .store
        .write_blocking(|tx| {
            tributary::store::sources::insert(
                tx,
                &tributary::store::sources::NewSource {
                    user_id: ana,
                    kind: "activitypub",
                    params: &params,
                    title: "",
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap();
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..Default::default()
    };
    let ingest = tributary::ingest::Ingest::new(
        web.store.clone(),
        Arc::new(tributary::fetch::HttpClient::new(&fetch).unwrap()),
        Arc::new(connectors::Registry::default()),
        tributary::config::SchedulerConfig::default(),
    );
    ingest.poll_source(id).await.unwrap();
    let doomed = web
        .store
        .read_blocking(move |conn| items::of_source(conn, id))
        .unwrap()
        .into_iter()
        .find(|i| i.summary_text == "post 2")
        .unwrap()
        .id;
    web.store
        .write_blocking(|tx| {
            social::add_comment(tx, doomed, bo, "kept for me", Utc::now()).map(|_| ())
        })
        .unwrap();
    serve_outbox(&server, vec![delete(&server, 2), note(&server, 1)]);
    assert_eq!(ingest.poll_source(id).await.unwrap().n_deleted, 1);

    let path = format!("/e/{doomed}");
    let bo_page = web.logged_in("bo").await.get(&path).await;
    assert_eq!(bo_page.status, StatusCode::OK, "{}", bo_page.body);
    assert!(bo_page.body.contains("kept for me"));
    assert!(bo_page.body.contains("This item was deleted"));
    assert!(!bo_page.body.contains("post 2"), "{}", bo_page.body);
    let cy_page = web.logged_in("cy").await.get(&path).await;
    assert_eq!(cy_page.status, StatusCode::NOT_FOUND);
    let anonymous = web.client().get(&path).await;
    assert_ne!(anonymous.status, StatusCode::OK);
    let stream = web.client().get("/ana").await;
    assert!(!stream.body.contains("post 2"));
    assert!(stream.body.contains("post 1"));
}
