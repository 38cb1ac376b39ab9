//! WebSub publishing: a poll that stores new items pings the configured hub once per
//! changed feed (`hub.mode=publish`, `hub.url=TOPIC`), a poll that stores nothing pings
//! nothing, and a hub that fails is tried again.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use tributary::config::FetchConfig;
use tributary::export::Site;
use tributary::fetch::HttpClient;
use tributary::store::{social, users};
use tributary::websub::Publisher;
use url::Url;

use crate::support::app::{TestApp, rss};
use crate::support::fixture_server::{FixtureServer, RecordedRequest, Reply};

/// The publisher's wait before its second try (it doubles before the third). Long enough
/// for the test to mend the hub between the first try and the second.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Waits (without asserting anything about speed) until `path` has had `n` requests.
async fn wait_for_hits(server: &FixtureServer, path: &str, n: usize) -> Vec<RecordedRequest> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let requests = server.requests(path);
        if requests.len() >= n {
            return requests;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: waited for {n} requests, got {}",
            requests.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The topics of publish pings, checking each is a well-formed form POST.
fn topics(requests: &[RecordedRequest]) -> BTreeSet<String> {
    requests
        .iter()
        .map(|request| {
            assert_eq!(request.method, "POST");
            assert_eq!(
                request.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            assert_eq!(form.len(), 2, "{form:?}");
            assert_eq!(form[0], ("hub.mode".to_owned(), "publish".to_owned()));
            assert_eq!(form[1].0, "hub.url");
            form[1].1.clone()
        })
        .collect()
}

#[tokio::test]
async fn new_items_ping_the_hub_once_per_changed_feed_and_failures_are_retried() {
    let server = FixtureServer::start().await;
    let app = TestApp::new(&server.origin());
    let bob = app
        .store
        .write_blocking(|tx| {
            users::create(
                tx,
                &users::NewUser {
                    name: "bob",
                    display_name: "Bob",
                    password_hash: "x",
                    is_admin: false,
                },
                Utc::now(),
            )
        })
        .unwrap();
    let ana = app.user;
    app.store
        .write_blocking(move |tx| social::follow(tx, bob, ana, Utc::now()))
        .unwrap();
    server.set("/hub", Reply::status(204));
    let hub = Url::parse(&server.url("/hub")).unwrap();
    let http = HttpClient::new(&FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..FetchConfig::default()
    })
    .unwrap();
    let site = Site::new("https://t.example").with_hub(Some(hub.clone()));
    app.ingest.set_publisher(Publisher::start_with(
        hub,
        site,
        app.store.clone(),
        http,
        Duration::from_millis(50),
        RETRY_DELAY,
    ));
    let expected: BTreeSet<String> = [
        "/ana/feed.atom",
        "/ana/feed.rss",
        "/ana/feed.json",
        "/ana/feed/feed.atom",
        "/ana/feed/feed.rss",
        "/ana/feed/feed.json",
        "/bob/friends/feed.atom",
        "/bob/friends/feed.rss",
        "/bob/friends/feed.json",
    ]
    .iter()
    .map(|path| format!("https://t.example{path}"))
    .collect();

    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "First", "https://src.example/a")]))
            .content_type("application/rss+xml"),
    );
    let source = app.add_feed(&server.url("/feed.xml"));
    assert_eq!(app.poll(source).await.n_new, 1);
    let pings = wait_for_hits(&server, "/hub", expected.len()).await;
    assert_eq!(pings.len(), expected.len(), "one ping per topic");
    assert_eq!(topics(&pings), expected);

    // The same bytes again: nothing stored, nothing to tell.
    let report = app.poll(source).await;
    assert!(report.not_modified && report.n_new == 0, "{report:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.hits("/hub"), expected.len());

    // A new item while the hub is failing: every topic is tried, then tried again.
    server.set("/hub", Reply::status(503));
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[
            ("a", "First", "https://src.example/a"),
            ("b", "Second", "https://src.example/b"),
        ]))
        .content_type("application/rss+xml"),
    );
    assert_eq!(app.poll(source).await.n_new, 1);
    let failed = wait_for_hits(&server, "/hub", 2 * expected.len()).await;
    assert_eq!(topics(&failed[expected.len()..]), expected);
    server.set("/hub", Reply::status(202));
    let retried = wait_for_hits(&server, "/hub", 3 * expected.len()).await;
    assert_eq!(topics(&retried[2 * expected.len()..]), expected);
    // Accepted on the second try: no third. A third would come twice the retry delay after
    // the second, so the wait is longer than that.
    tokio::time::sleep(2 * RETRY_DELAY + RETRY_DELAY / 2).await;
    assert_eq!(server.hits("/hub"), 3 * expected.len(), "a third try came");
}
