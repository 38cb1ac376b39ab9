//! History walks end to end against the loopback fixture server: an RFC 5005 archive of
//! 5,000 items walked to the end with exact counts, a second run that adds nothing, the
//! page budget, imported items with their own dates and nothing queued for followers.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use tributary::ingest::history::HistoryOptions;
use tributary::store::federation::{self as fed, Actor};
use tributary::store::history::{self as walks, Status};

use crate::support::app::TestApp;
use crate::support::fixture_server::{FixtureServer, Reply};

const RSS: &str = "application/rss+xml";

/// Archive document `n` (0 = the subscription document) of `docs`, `per` items each;
/// each names the next older one as `prev-archive`. Item `k` of document `n` was
/// published `n * per + k` hours before 2026-11-01.
pub fn archive_doc(server: &FixtureServer, n: usize, docs: usize, per: usize) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" \
         xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>Archive</title>\
         <link>http://example.invalid/</link><description>d</description>\n",
    );
    if n + 1 < docs {
        out.push_str(&format!(
            "<atom:link rel=\"prev-archive\" href=\"{}\"/>\n",
            server.url(&format!("/archive/{}.xml", n + 1))
        ));
    }
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    for k in 0..per {
        let i = n * per + k;
        let date = (base - chrono::TimeDelta::hours(i as i64)).to_rfc2822();
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">item-{i}</guid><title>Item {i}</title>\
             <link>http://example.invalid/{i}</link><description>Body {i}</description>\
             <pubDate>{date}</pubDate></item>\n"
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

/// Serves `docs` documents of `per` items: `/feed.xml`, then `/archive/1.xml` onwards.
pub fn serve_archive(server: &FixtureServer, docs: usize, per: usize) {
    for n in 0..docs {
        let path = if n == 0 {
            "/feed.xml".to_owned()
        } else {
            format!("/archive/{n}.xml")
        };
        server.set(
            &path,
            Reply::ok(archive_doc(server, n, docs, per)).content_type(RSS),
        );
    }
}

fn fast(budget: Option<u32>) -> HistoryOptions {
    HistoryOptions {
        page_budget: budget,
        min_gap: Duration::ZERO,
    }
}

fn add_follower(app: &TestApp) {
    app.store
        .write_blocking(|tx| {
            let actor = Actor {
                id: None,
                uri: "http://127.0.0.1:9/users/fan".into(),
                host: "127.0.0.1:9".into(),
                handle: "fan@127.0.0.1:9".into(),
                name: "Fan".into(),
                url: None,
                icon_url: None,
                inbox: "http://127.0.0.1:9/users/fan/inbox".into(),
                shared_inbox: None,
                key_id: None,
                public_key_pem: None,
                also_known_as: Vec::new(),
                moved_to: None,
                fetched_at: Utc::now(),
            };
            let id = fed::put_actor(tx, &actor)?;
            fed::put_follower(
                tx,
                app.user,
                id,
                "http://127.0.0.1:9/follow/1",
                true,
                Utc::now(),
            )
        })
        .unwrap();
}

#[tokio::test]
async fn walks_a_5000_item_archive_to_the_end_and_a_second_run_adds_nothing() {
    let server = FixtureServer::start().await;
    serve_archive(&server, 50, 100);
    let app = TestApp::new(&server.origin());
    add_follower(&app);
    let id = app.add_feed(&server.url("/feed.xml"));
    let (queued_before, _) = app.store.read_blocking(fed::queue_counts).unwrap();

    let mut lines = Vec::new();
    let report = app
        .ingest
        .import_history(id, &fast(None), |p| lines.push(p.line()))
        .await
        .unwrap();
    assert_eq!(report.walk.status, Status::Done, "{report:?}");
    assert_eq!(report.n_new, 5000);
    assert_eq!(report.walk.items_added, 5000);
    // The subscription document, then 49 archive pages.
    assert_eq!(report.walk.pages_done, 49);
    assert_eq!(server.hits("/archive/49.xml"), 1);
    assert!(
        lines.contains(&"page 49, 5,000 items so far".to_owned()),
        "{lines:?}"
    );

    let items = app.items(id);
    assert_eq!(items.len(), 5000);
    let imported = app
        .store
        .read_blocking(move |conn| walks::count_imported(conn, id))
        .unwrap();
    assert_eq!(imported, 5000);
    let base = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let oldest = items.iter().map(|item| item.published_at).min().unwrap();
    assert_eq!(oldest, base - chrono::TimeDelta::hours(4999));
    // Nothing queued for the follower.
    let (queued_after, _) = app.store.read_blocking(fed::queue_counts).unwrap();
    assert_eq!(queued_after, queued_before);

    let again = app
        .ingest
        .import_history(id, &fast(None), |_| {})
        .await
        .unwrap();
    assert_eq!(again.n_new, 0);
    assert_eq!(again.walk.status, Status::Done);
    assert_eq!(app.items(id).len(), 5000);
    assert_eq!(server.hits("/archive/1.xml"), 1);
    let queue = app
        .store
        .read_blocking(|conn| fed::outbox_queue(conn, 100))
        .unwrap();
    assert!(queue.is_empty(), "{queue:?}");

    // The follower is real: a normal poll that finds a new item queues it.
    let mut doc = archive_doc(&server, 0, 50, 100);
    doc = doc.replacen(
        "<item>",
        "<item><guid isPermaLink=\"false\">fresh</guid><title>Fresh</title></item><item>",
        1,
    );
    server.set("/feed.xml", Reply::ok(doc).content_type(RSS));
    let poll = app.poll(id).await;
    assert_eq!(poll.n_new, 1, "{poll:?}");
    let queue = app
        .store
        .read_blocking(|conn| fed::outbox_queue(conn, 100))
        .unwrap();
    assert_eq!(queue.len(), 1, "{queue:?}");
}

#[tokio::test]
async fn a_walk_stops_at_its_page_budget_and_a_larger_one_continues() {
    let server = FixtureServer::start().await;
    serve_archive(&server, 10, 3);
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));

    let first = app
        .ingest
        .import_history(id, &fast(Some(4)), |_| {})
        .await
        .unwrap();
    assert_eq!(first.walk.status, Status::Budget, "{first:?}");
    assert_eq!(first.walk.pages_done, 4);
    assert_eq!(app.items(id).len(), 15);
    assert!(
        first.walk.message.as_deref().unwrap().contains("--pages"),
        "{first:?}"
    );

    let second = app
        .ingest
        .import_history(id, &fast(Some(100)), |_| {})
        .await
        .unwrap();
    assert_eq!(second.walk.status, Status::Done, "{second:?}");
    assert_eq!(second.n_new, 15);
    assert_eq!(app.items(id).len(), 30);
    assert_eq!(server.hits("/archive/4.xml"), 1);
}

#[tokio::test]
async fn a_failed_page_keeps_the_walk_resumable() {
    let server = FixtureServer::start().await;
    serve_archive(&server, 5, 2);
    server.set("/archive/3.xml", Reply::status(500));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));

    let failed = app
        .ingest
        .import_history(id, &fast(None), |_| {})
        .await
        .unwrap();
    assert_eq!(failed.walk.status, Status::Failed, "{failed:?}");
    assert!(failed.walk.message.is_some());
    assert_eq!(app.items(id).len(), 6);

    serve_archive(&server, 5, 2);
    let resumed = app
        .ingest
        .import_history(id, &fast(None), |_| {})
        .await
        .unwrap();
    assert_eq!(resumed.walk.status, Status::Done, "{resumed:?}");
    assert_eq!(resumed.n_new, 4);
    assert_eq!(app.items(id).len(), 10);
    assert_eq!(server.hits("/archive/1.xml"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_resumes_without_duplicates() {
    use std::process::Stdio;
    use std::time::Instant;

    use rusqlite::Connection;
    use tributary::store::{Store, sources};

    const DOCS: usize = 20;
    const PER: usize = 10;
    let server = FixtureServer::start().await;
    serve_archive(&server, DOCS, PER);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tributary.db");
    let id = {
        let store = Store::open(&db, 1).unwrap();
        let user = crate::support::app::create_user(&store, "ana");
        let params = serde_json::json!({ "url": server.url("/feed.xml") });
        store
            .write_blocking(|tx| {
                sources::insert(tx, &sources::NewSource::feed(user, &params), Utc::now())
            })
            .unwrap()
    };
    let run = |wait_ms: &str| {
        crate::support::app::binary()
            .current_dir(dir.path())
            .args(["import", "history", &id.0.to_string(), "--wait-ms", wait_ms])
            .env("TRIBUTARY_DATABASE_PATH", &db)
            .env("TRIBUTARY_FETCH_ALLOWED_PRIVATE_ORIGINS", server.origin())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let count = |conn: &Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .unwrap_or(0)
    };

    let mut child = run("300");
    let started = Instant::now();
    loop {
        if let Ok(conn) =
            Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            && count(&conn) > (2 * PER) as i64
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no pages in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let conn = Connection::open(&db).unwrap();
    let killed_at = count(&conn);
    assert!(killed_at < (DOCS * PER) as i64, "{killed_at}");
    drop(conn);

    let output = run("0").wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("done"), "{stdout}");

    let conn = Connection::open(&db).unwrap();
    let (n, distinct, imported): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT external_id), sum(imported) FROM items",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!((n, distinct, imported), (200, 200, 200));
    // The page the kill interrupted was fetched again at most once more; earlier ones not.
    assert_eq!(server.hits("/archive/1.xml"), 1);
}

/// A web server, `ana` logged in, and her feed source of the fixture server's
/// `/feed.xml`, with its settings page's path.
async fn feed_source_on_the_web(
    server: &FixtureServer,
) -> (
    crate::support::web::WebApp,
    crate::support::web::Client,
    tributary::model::SourceId,
    String,
) {
    use tributary::store::sources;

    let app = crate::support::web::WebApp::start(&server.origin()).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let params = serde_json::json!({ "url": server.url("/feed.xml") });
    let id = app
        .store
        .write_blocking(|tx| {
            sources::insert(tx, &sources::NewSource::feed(ana, &params), Utc::now())
        })
        .unwrap();
    let path = format!("/settings/sources/{id}");
    (app, client, id, path)
}

/// The source page's "Import older items" button starts the walk in the background, and
/// the page shows its progress from the stored state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_page_button_imports_older_items() {
    use std::time::Instant;

    use axum::http::StatusCode;

    let server = FixtureServer::start().await;
    serve_archive(&server, 3, 4);
    let (app, client, id, path) = feed_source_on_the_web(&server).await;
    let before = client.get(&path).await;
    assert!(
        before.body.contains("Import older items"),
        "{}",
        before.body
    );
    assert!(before.body.contains("not imported"), "{}", before.body);

    let page = client
        .post_form(&path, &format!("{path}/history"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let started = Instant::now();
    loop {
        let page = client.get(&path).await;
        if page.body.contains("page 2, 12 items so far (done") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let imported = app
        .store
        .read_blocking(move |conn| walks::count_imported(conn, id))
        .unwrap();
    assert_eq!(imported, 12);
}

/// The page shows when the next page comes while a background walk waits, and its form
/// raises the page budget (a bad budget starts nothing and says why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_page_shows_the_next_page_countdown_and_raises_the_budget() {
    use std::time::Instant;

    use axum::http::StatusCode;

    let server = FixtureServer::start().await;
    serve_archive(&server, 4, 3);
    let (app, client, id, path) = feed_source_on_the_web(&server).await;
    let page = client.get(&path).await;
    assert!(page.body.contains("name=\"pages\""), "{}", page.body);
    let bad = client
        .post_form(&path, &format!("{path}/history"), &[("pages", "lots")])
        .await;
    let shown = client.get(bad.location.as_deref().unwrap()).await;
    assert!(shown.body.contains("Nothing was started"), "{}", shown.body);
    assert_eq!(server.hits("/archive/1.xml"), 0);

    // A budget of one page: the walk waits a second before it, then stops at the budget.
    let started = client
        .post_form(&path, &format!("{path}/history"), &[("pages", "1")])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let clock = Instant::now();
    let mut saw_countdown = false;
    loop {
        let page = client.get(&path).await;
        saw_countdown |= page.body.contains("next page in 1 s");
        if page.body.contains("page budget") && !page.body.contains("(running)") {
            break;
        }
        assert!(clock.elapsed() < Duration::from_secs(30), "{}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_countdown, "the countdown never showed");
    assert_eq!(server.hits("/archive/2.xml"), 0);

    // Raised to ten pages, the walk goes on to the end.
    let again = client
        .post_form(&path, &format!("{path}/history"), &[("pages", "10")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    loop {
        let page = client.get(&path).await;
        if page.body.contains("(done") {
            break;
        }
        assert!(clock.elapsed() < Duration::from_secs(30), "{}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let imported = app
        .store
        .read_blocking(move |conn| walks::count_imported(conn, id))
        .unwrap();
    assert_eq!(imported, 12);
}
