//! End-to-end polls against the loopback fixture server: conditional GET, redirects,
//! 410, 429, size and time limits, and what gets stored.

use std::time::{Duration, Instant};

use chrono::Utc;
use tributary::model::SourceId;
use tributary::scheduler;

use crate::support::app::{TestApp, rss};
use crate::support::fixture_server::{FixtureServer, Reply};

const RSS: &str = "application/rss+xml";

#[tokio::test]
async fn second_poll_sends_validators_and_304_stores_nothing() {
    let server = FixtureServer::start().await;
    let body = rss(&[
        ("a", "First", "http://example.invalid/a"),
        ("b", "Second", "http://example.invalid/b"),
    ]);
    server.set(
        "/feed.xml",
        Reply::ok(body)
            .content_type(RSS)
            .etag("\"v1\"")
            .last_modified("Mon, 02 Nov 2026 10:00:00 GMT"),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));

    let first = app.poll(id).await;
    assert_eq!(first.error, None);
    assert_eq!(first.n_new, 2);

    let second = app.poll(id).await;
    assert_eq!(second.error, None);
    assert!(second.not_modified, "{second:?}");
    assert_eq!(second.n_new, 0);

    let requests = server.requests("/feed.xml");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        requests[1].header("if-modified-since"),
        Some("Mon, 02 Nov 2026 10:00:00 GMT")
    );
    assert_eq!(app.items(id).len(), 2);
    let source = app.source(id);
    assert_eq!(source.failure_count, 0);
    assert!(source.last_success_at.is_some());
}

#[tokio::test]
async fn repoll_of_unchanged_content_inserts_nothing() {
    let server = FixtureServer::start().await;
    // No validators: the server sends the whole body every time.
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")])).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    assert_eq!(app.poll(id).await.n_new, 1);
    // The very same bytes: recognized by their digest, nothing parsed or written.
    let again = app.poll(id).await;
    assert!(again.not_modified, "{again:?}");
    assert_eq!((again.n_new, again.n_updated, again.n_unchanged), (0, 0, 0));
    // New bytes around the same item: parsed, and the item is found unchanged.
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")]).replace(
            "<channel>",
            "<channel><lastBuildDate>Tue, 01 Dec 2026 10:00:00 GMT</lastBuildDate>",
        ))
        .content_type(RSS),
    );
    let third = app.poll(id).await;
    assert!(!third.not_modified, "{third:?}");
    assert_eq!((third.n_new, third.n_updated, third.n_unchanged), (0, 0, 1));
    assert_eq!(app.items(id).len(), 1);
}

#[tokio::test]
async fn changed_item_is_updated_in_place() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "Old title", "http://example.invalid/a")])).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    app.poll(id).await;
    let before = app.items(id);
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "New title", "http://example.invalid/a")])).content_type(RSS),
    );
    let report = app.poll(id).await;
    assert_eq!((report.n_new, report.n_updated), (0, 1));
    let after = app.items(id);
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].id, before[0].id,
        "same row, so comments and likes stay"
    );
    assert_eq!(after[0].title, "New title");
}

#[tokio::test]
async fn deleted_item_is_not_resurrected_by_repoll() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[
            ("a", "A", "http://example.invalid/a"),
            ("b", "B", "http://example.invalid/b"),
        ]))
        .content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    app.poll(id).await;
    let doomed = app.items(id)[0].id;
    app.store
        .write_blocking(|tx| tributary::store::items::tombstone(tx, doomed, Utc::now()))
        .unwrap();
    // Change the content too, so the poll cannot skip it as unchanged.
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[
            ("a", "A again", "http://example.invalid/a"),
            ("b", "B again", "http://example.invalid/b"),
        ]))
        .content_type(RSS),
    );
    let report = app.poll(id).await;
    assert_eq!(report.n_new, 0);
    assert_eq!(report.n_updated, 1, "only the live item is updated");
    let page = app
        .store
        .read_blocking(|conn| {
            tributary::store::items::stream_page(
                conn,
                &tributary::store::items::StreamQuery {
                    limit: 50,
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_ne!(page.items[0].id, doomed);
}

#[tokio::test]
async fn permanent_redirect_updates_stored_url() {
    let server = FixtureServer::start().await;
    server.set("/old.xml", Reply::redirect(301, &server.url("/new.xml")));
    server.set(
        "/new.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")])).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/old.xml"));
    let report = app.poll(id).await;
    assert_eq!(report.error, None);
    assert_eq!(report.n_new, 1);
    assert_eq!(app.source(id).url(), Some(server.url("/new.xml").as_str()));
    app.poll(id).await;
    assert_eq!(
        server.hits("/old.xml"),
        1,
        "the second poll goes to the new URL"
    );
}

#[tokio::test]
async fn temporary_redirect_keeps_stored_url() {
    let server = FixtureServer::start().await;
    server.set("/old.xml", Reply::redirect(302, &server.url("/new.xml")));
    server.set(
        "/new.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")])).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/old.xml"));
    app.poll(id).await;
    assert_eq!(app.source(id).url(), Some(server.url("/old.xml").as_str()));
}

#[tokio::test]
async fn gone_disables_source_with_readable_message() {
    let server = FixtureServer::start().await;
    server.set("/feed.xml", Reply::status(410));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    let report = app.poll(id).await;
    let error = report.error.expect("410 is an error");
    assert!(
        error.contains("410") && error.contains("disabled"),
        "{error}"
    );
    let source = app.source(id);
    assert!(!source.enabled);
    assert_eq!(source.last_error.as_deref(), Some(error.as_str()));
}

#[tokio::test]
async fn retry_after_postpones_next_poll() {
    let server = FixtureServer::start().await;
    server.set("/feed.xml", Reply::status(429).header("retry-after", "120"));
    // No jitter and a short back-off, so only Retry-After can push past 120 s.
    let app = TestApp::with_config(&server.origin(), |_, scheduler| {
        scheduler.min_interval_secs = 10;
        scheduler.jitter_secs = 0;
    });
    let id = app.add_feed(&server.url("/feed.xml"));
    let before = Utc::now();
    let report = app.poll(id).await;
    let error = report.error.expect("429 is an error");
    assert!(error.contains("rate limited"), "{error}");
    let source = app.source(id);
    assert!(
        source.next_poll_at >= before + chrono::Duration::seconds(120),
        "next poll {} is less than 120 s after {}",
        source.next_poll_at,
        before
    );
    assert!(source.enabled);
}

#[tokio::test]
async fn failing_source_backs_off_and_says_when_it_retries() {
    let server = FixtureServer::start().await;
    server.set("/feed.xml", Reply::status(500));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    let first = app.poll(id).await;
    let second = app.poll(id).await;
    let source = app.source(id);
    assert_eq!(source.failure_count, 2);
    assert!(source.enabled, "a failing source is never stopped for good");
    assert!(
        source
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("HTTP 500")
    );
    let now = Utc::now();
    let wait_1 = first.next_poll_at - now;
    let wait_2 = second.next_poll_at - now;
    assert!(
        wait_2 > wait_1 + chrono::Duration::seconds(200),
        "{wait_1} then {wait_2}"
    );
}

#[tokio::test]
async fn redirect_to_private_address_is_refused() {
    let server = FixtureServer::start().await;
    let port = server.port();
    server.set(
        "/feed.xml",
        Reply::redirect(302, &format!("http://127.0.0.2:{port}/feed2.xml")),
    );
    server.set(
        "/feed2.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")])).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    let report = app.poll(id).await;
    let error = report.error.expect("refused");
    assert!(error.contains("forbidden address"), "{error}");
    assert_eq!(server.hits("/feed2.xml"), 0);
    assert!(app.items(id).is_empty());
}

#[tokio::test]
async fn guard_refuses_loopback_unless_allowed() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")])).content_type(RSS),
    );
    // An origin that is not the fixture server's: the guard refuses 127.0.0.1.
    let app = TestApp::new("http://127.0.0.1:1");
    let id = app.add_feed(&server.url("/feed.xml"));
    let error = app.poll(id).await.error.expect("refused");
    assert!(error.contains("forbidden address"), "{error}");
    assert_eq!(server.hits("/feed.xml"), 0);
}

#[tokio::test]
async fn huge_body_stops_at_cap() {
    let server = FixtureServer::start().await;
    server.set("/feed.xml", Reply::huge(50 * 1024 * 1024).content_type(RSS));
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    let error = app.poll(id).await.error.expect("too large");
    assert!(
        error.contains("larger than the limit of 10485760 bytes"),
        "{error}"
    );
}

#[tokio::test]
async fn gzip_bomb_stops_at_cap() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::gzip_bomb(1024 * 1024 * 1024).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    let error = app.poll(id).await.error.expect("too large");
    assert!(error.contains("larger than the limit"), "{error}");
}

#[tokio::test]
async fn dripping_server_hits_deadline_while_others_are_polled() {
    let server = FixtureServer::start().await;
    server.set(
        "/drip.xml",
        Reply::drip(1000, Duration::from_secs(1)).content_type(RSS),
    );
    for n in 0..4 {
        server.set(
            &format!("/ok{n}.xml"),
            Reply::ok(rss(&[(
                &format!("g{n}"),
                "Fine",
                "http://example.invalid/x",
            )]))
            .content_type(RSS),
        );
    }
    let app = TestApp::with_fetch(&server.origin(), |fetch| fetch.timeout_secs = 2);
    let drip = app.add_feed(&server.url("/drip.xml"));
    let others: Vec<SourceId> = (0..4)
        .map(|n| app.add_feed(&server.url(&format!("/ok{n}.xml"))))
        .collect();
    let mut ids = vec![drip];
    ids.extend(&others);
    let started = Instant::now();
    let reports = scheduler::poll_now(&app.ingest, ids, 2).await;
    let elapsed = started.elapsed();
    assert_eq!(reports.len(), 5);
    // The drip would take 1000 s; the deadline cuts it at 2 s.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let drip_report = reports.iter().find(|r| r.source_id == drip).unwrap();
    let error = drip_report.error.as_deref().expect("timed out");
    assert!(error.contains("within 2 s"), "{error}");
    // The other sources finished before the slow one did: they were not held up.
    assert_eq!(reports.last().unwrap().source_id, drip);
    for id in others {
        assert_eq!(app.items(id).len(), 1, "source {id} was polled");
    }
}

#[tokio::test]
async fn cache_control_max_age_stretches_next_poll() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")]))
            .content_type(RSS)
            .header("cache-control", "public, max-age=7200"),
    );
    let app = TestApp::with_config(&server.origin(), |_, scheduler| {
        scheduler.jitter_secs = 0;
        scheduler.default_schedule = "*/5 * * * *".into();
    });
    let id = app.add_feed(&server.url("/feed.xml"));
    let before = Utc::now();
    let report = app.poll(id).await;
    assert_eq!(report.error, None);
    // The schedule alone would poll again within 5 minutes.
    assert!(
        report.next_poll_at >= before + chrono::Duration::seconds(7200),
        "{}",
        report.next_poll_at
    );
    assert_eq!(
        app.source(id).next_poll_at.timestamp_millis(),
        report.next_poll_at.timestamp_millis()
    );
}

#[tokio::test]
async fn rss_ttl_stretches_next_poll() {
    let server = FixtureServer::start().await;
    let body = rss(&[("a", "A", "http://example.invalid/a")])
        .replace("<channel>", "<channel><ttl>180</ttl>");
    server.set("/feed.xml", Reply::ok(body).content_type(RSS));
    let app = TestApp::with_config(&server.origin(), |_, scheduler| {
        scheduler.jitter_secs = 0;
        scheduler.default_schedule = "*/5 * * * *".into();
    });
    let id = app.add_feed(&server.url("/feed.xml"));
    let before = Utc::now();
    let report = app.poll(id).await;
    assert_eq!(report.error, None);
    assert!(
        report.next_poll_at >= before + chrono::Duration::minutes(180),
        "{}",
        report.next_poll_at
    );
    // The same bytes again are not parsed, and the ttl they carried still holds.
    let again = app.poll(id).await;
    assert!(again.not_modified, "{again:?}");
    assert!(
        again.next_poll_at >= before + chrono::Duration::minutes(180),
        "{}",
        again.next_poll_at
    );
}

#[tokio::test]
async fn scheduler_polls_due_sources_and_stops_on_shutdown() {
    let server = FixtureServer::start().await;
    server.set(
        "/a.xml",
        Reply::ok(rss(&[("a", "A", "http://example.invalid/a")])).content_type(RSS),
    );
    server.set(
        "/b.xml",
        Reply::ok(rss(&[("b", "B", "http://example.invalid/b")])).content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let a = app.add_feed(&server.url("/a.xml"));
    let b = app.add_feed(&server.url("/b.xml"));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (_handle, task) = scheduler::spawn(
        app.ingest.clone(),
        tributary::config::SchedulerConfig::default(),
        shutdown.clone(),
    );
    let started = Instant::now();
    while app.items(a).is_empty() || app.items(b).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the scheduler did not poll"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both were polled once and are now scheduled in the future: no busy loop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((server.hits("/a.xml"), server.hits("/b.xml")), (1, 1));
    assert!(app.source(a).next_poll_at > Utc::now());
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops")
        .unwrap();
}

/// Sets `/ok{n}.xml` for `n` in `0..n_feeds` to a healthy one-item feed.
fn healthy_feeds(server: &FixtureServer, n_feeds: usize) {
    for n in 0..n_feeds {
        server.set(
            &format!("/ok{n}.xml"),
            Reply::ok(rss(&[(
                &format!("g{n}"),
                "Fine",
                "http://example.invalid/x",
            )]))
            .content_type(RSS),
        );
    }
}

// See: #16. Two drip-feeding sources and many healthy ones on one host, polled as
// `tributary poll` does, with a 1 s deadline: every healthy source succeeds, and none
// is marked failed or backed off.
#[tokio::test]
async fn issue16_5_drip_feeds_do_not_fail_healthy_feeds_on_their_host() {
    let server = FixtureServer::start().await;
    server.set(
        "/drip.xml",
        Reply::drip(1000, Duration::from_millis(100)).content_type(RSS),
    );
    healthy_feeds(&server, 10);
    let app = TestApp::with_fetch(&server.origin(), |fetch| fetch.timeout_secs = 1);
    let drips = [
        app.add_feed(&server.url("/drip.xml?a")),
        app.add_feed(&server.url("/drip.xml?b")),
    ];
    let healthy: Vec<SourceId> = (0..10)
        .map(|n| app.add_feed(&server.url(&format!("/ok{n}.xml"))))
        .collect();
    let mut ids = drips.to_vec();
    ids.extend(&healthy);
    let max_concurrent = tributary::config::SchedulerConfig::default().max_concurrent_polls;
    let reports = scheduler::poll_now(&app.ingest, ids, max_concurrent).await;
    assert_eq!(reports.len(), 12);
    for id in drips {
        let report = reports.iter().find(|r| r.source_id == id).unwrap();
        let error = report.error.as_deref().unwrap_or("");
        assert!(error.contains("within 1 s"), "drip {id}: {error:?}");
    }
    for id in healthy {
        let report = reports.iter().find(|r| r.source_id == id).unwrap();
        assert_eq!(report.error, None, "healthy source {id} failed");
        let source = app.source(id);
        assert_eq!(
            (source.failure_count, source.last_error),
            (0, None),
            "source {id}"
        );
        assert_eq!(app.items(id).len(), 1, "source {id} was polled");
    }
}

// See: #16. A poll that waits for a host slot longer than `fetch.slot_wait_secs` is not
// sent and not a failure: no error, no back-off, tried again soon.
#[tokio::test]
async fn issue16_5_slot_wait_over_its_bound_is_not_a_failure() {
    let server = FixtureServer::start().await;
    server.set(
        "/drip.xml",
        Reply::drip(1000, Duration::from_millis(100)).content_type(RSS),
    );
    healthy_feeds(&server, 1);
    let app = TestApp::with_fetch(&server.origin(), |fetch| {
        fetch.timeout_secs = 2;
        fetch.slot_wait_secs = 1;
        fetch.max_per_host = 1;
    });
    let drip = app.add_feed(&server.url("/drip.xml"));
    let healthy = app.add_feed(&server.url("/ok0.xml"));
    let queued = async {
        // The drip takes the host's only slot first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        app.poll(healthy).await
    };
    let (drip_report, report) = tokio::join!(app.poll(drip), queued);
    assert!(drip_report.error.is_some(), "the drip timed out");
    assert_eq!(report.error, None);
    let deferred = report.deferred.as_deref().expect("the poll was deferred");
    assert!(deferred.contains("1 s"), "{deferred}");
    assert_eq!(server.hits("/ok0.xml"), 0, "a deferred poll sends nothing");
    let source = app.source(healthy);
    assert_eq!((source.failure_count, source.last_error), (0, None));
    let retry_in = source.next_poll_at - Utc::now();
    assert!(
        retry_in <= chrono::Duration::seconds(120),
        "tried again soon, not backed off: {retry_in}"
    );
    // With the host free again, the source is polled as usual.
    let report = app.poll(healthy).await;
    assert_eq!(
        (report.error, report.deferred, report.n_new),
        (None, None, 1)
    );
}

/// Four sources on a slow host (`localhost`, each poll about `slow_ms`) and four on a
/// fast one (`127.0.0.1`), slow ones first: `(app, slow ids, fast ids)`.
async fn slow_and_fast_hosts(
    slow: &FixtureServer,
    fast: &FixtureServer,
    slow_ms: u64,
) -> (TestApp, Vec<SourceId>, Vec<SourceId>) {
    slow.set(
        "/slow.xml",
        Reply::drip(slow_ms / 100, Duration::from_millis(100)).content_type(RSS),
    );
    healthy_feeds(fast, 4);
    let slow_origin = format!("http://localhost:{}", slow.port());
    let app = TestApp::with_fetch(&fast.origin(), |fetch| {
        fetch.allowed_private_origins.push(slow_origin.clone())
    });
    let slow_ids = (0..4)
        .map(|n| app.add_feed(&format!("{slow_origin}/slow.xml?{n}")))
        .collect();
    let fast_ids = (0..4)
        .map(|n| app.add_feed(&fast.url(&format!("/ok{n}.xml"))))
        .collect();
    (app, slow_ids, fast_ids)
}

// See: #16. In a manual poll (`tributary poll`), slow sources on one host hold at most
// that host's share of the poll slots: another host's sources finish first.
#[tokio::test]
async fn issue16_5_manual_poll_gives_a_slow_host_only_its_share() {
    let (slow, fast) = (FixtureServer::start().await, FixtureServer::start().await);
    let (app, slow_ids, fast_ids) = slow_and_fast_hosts(&slow, &fast, 500).await;
    let sources = slow_ids
        .iter()
        .chain(&fast_ids)
        .map(|&id| app.source(id))
        .collect();
    let reports = scheduler::poll_sources(&app.ingest, sources, 4).await;
    let finished: Vec<SourceId> = reports.iter().map(|r| r.source_id).collect();
    let mut first_four = finished[..4].to_vec();
    first_four.sort();
    assert_eq!(first_four, fast_ids, "order of finishing: {finished:?}");
    assert_eq!(reports.len(), 8);
}

// See: #16. The scheduler's loop keeps the same share: with four poll slots and four slow
// sources due first, the fast host's sources are polled before any slow poll ends.
#[tokio::test]
async fn issue16_5_scheduler_gives_a_slow_host_only_its_share() {
    let (slow, fast) = (FixtureServer::start().await, FixtureServer::start().await);
    let (app, slow_ids, fast_ids) = slow_and_fast_hosts(&slow, &fast, 1500).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let cfg = tributary::config::SchedulerConfig {
        max_concurrent_polls: 4,
        ..tributary::config::SchedulerConfig::default()
    };
    let (_handle, task) = scheduler::spawn(app.ingest.clone(), cfg, shutdown.clone());
    let started = Instant::now();
    while fast_ids.iter().any(|&id| app.items(id).is_empty()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the fast sources were not polled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for &id in &slow_ids {
        assert_eq!(
            app.source(id).last_polled_at,
            None,
            "slow source {id} finished before the fast host was polled ({:?})",
            started.elapsed()
        );
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops")
        .unwrap();
}

#[tokio::test]
async fn source_rules_skip_matching_items_and_the_fetch_log_counts_them() {
    use tributary::rules::{SourceField, SourceOp};
    use tributary::store::{rules, sources};

    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[
            ("a", "ana starred tributary", "http://example.invalid/a"),
            ("b", "ana pushed 3 commits", "http://example.invalid/b"),
            ("c", "ana Starred ammonia", "http://example.invalid/c"),
            (
                "d",
                "ana opened issue 12",
                "http://example.invalid/issues/12",
            ),
        ]))
        .content_type(RSS),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_feed(&server.url("/feed.xml"));
    app.store
        .write_blocking(move |tx| {
            let now = Utc::now();
            rules::add_source_rule(
                tx,
                id,
                SourceField::Title,
                SourceOp::Contains,
                "starred",
                now,
            )?;
            rules::add_source_rule(
                tx,
                id,
                SourceField::Url,
                SourceOp::Regex,
                r"/issues/\d+$",
                now,
            )
        })
        .unwrap();

    let report = app.poll(id).await;
    assert_eq!(report.error, None);
    assert_eq!(report.n_new, 1, "{report:?}");
    let titles: Vec<String> = app.items(id).into_iter().map(|item| item.title).collect();
    assert_eq!(titles, ["ana pushed 3 commits"]);
    let log = app
        .store
        .read_blocking(move |conn| sources::fetch_log(conn, id, 1))
        .unwrap();
    assert_eq!(log[0].message.as_deref(), Some("3 skipped by rules"));
}
