//! Site connectors against recorded API answers served by the loopback fixture server:
//! what each answer becomes (kind, title, link, date, media, extra facts), paging, and
//! rate-limit etiquette. Requests reach the fixture server through `Rewrite`, which only
//! changes the host: the connectors are the production ones.

use chrono::{DateTime, TimeDelta, Utc};
use connectors::site::bluesky::BlueskyConnector;
use connectors::site::github::GitHubConnector;
use connectors::site::hackernews::HackerNewsConnector;
use connectors::site::lobsters::LobstersConnector;
use connectors::site::stackexchange::{StackExchangeConnector, next_utc_midnight};
use connectors::{Connector, ConnectorError, ItemKind, Poll, PollState, Validators};
use serde_json::json;
use tributary::model::Item;

use crate::support::app::TestApp;
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::rewrite::Rewrite;

const GITHUB_EVENTS: &str = include_str!("fixtures/sites/github_events.json");
const HN_SEARCH: &str = include_str!("fixtures/sites/hn_search.json");
const HN_SEARCH_PAGE1: &str = include_str!("fixtures/sites/hn_search_page1.json");
const BSKY_RESOLVE: &str = include_str!("fixtures/sites/bsky_resolve.json");
const BSKY_FEED: &str = include_str!("fixtures/sites/bsky_feed.json");
const BSKY_FEED_PAGE2: &str = include_str!("fixtures/sites/bsky_feed_page2.json");
const LOBSTERS: &str = include_str!("fixtures/sites/lobsters_newest.json");
const SE_TIMELINE: &str = include_str!("fixtures/sites/stackexchange_timeline.json");
const SE_QUOTA_GONE: &str = include_str!("fixtures/sites/stackexchange_quota_gone.json");

const GITHUB_EVENTS_PATH: &str = "/api.github.com/users/ana/events/public";
const HN_PATH: &str = "/hn.algolia.com/api/v1/search_by_date";
const BSKY_RESOLVE_PATH: &str = "/public.api.bsky.app/xrpc/com.atproto.identity.resolveHandle";
const BSKY_FEED_PATH: &str = "/public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed";
const LOBSTERS_PATH: &str = "/lobste.rs/newest/ana.json";
const SE_PATH: &str = "/api.stackexchange.com/2.3/users/123/timeline";

fn json_reply(body: &str) -> Reply {
    Reply::ok(body.to_owned()).content_type("application/json; charset=utf-8")
}

fn by_title<'a>(items: &'a [Item], fragment: &str) -> &'a Item {
    items
        .iter()
        .find(|item| item.title.contains(fragment))
        .unwrap_or_else(|| {
            let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
            panic!("no item titled like {fragment:?} in {titles:?}")
        })
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The `extra` column of a stored item, read from the SQLite file.
fn extra_of(app: &TestApp, external_id: &str) -> serde_json::Value {
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    let text: String = conn
        .query_row(
            "SELECT extra FROM items WHERE external_id = ?1",
            [external_id],
            |row| row.get(0),
        )
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[track_caller]
fn assert_about(hint: Option<DateTime<Utc>>, expected: DateTime<Utc>) {
    let hint = hint.expect("a hint");
    let off = (hint - expected).num_seconds().abs();
    assert!(off <= 5, "hint {hint} is not about {expected}");
}

#[tokio::test]
async fn github_events_get_titles_in_words() {
    let server = FixtureServer::start().await;
    server.set(
        GITHUB_EVENTS_PATH,
        json_reply(GITHUB_EVENTS).etag("\"ev1\""),
    );
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source("github", &json!({ "user": "ana" }));
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let items = app.items(id);
    assert_eq!(items.len(), 7);

    let push = by_title(&items, "Pushed");
    assert_eq!(push.title, "Pushed 2 commits to ana/tributary (main)");
    assert_eq!(push.kind, ItemKind::Code);
    assert_eq!(push.published_at, at("2026-11-30T18:04:05Z"));
    assert!(
        push.url
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("https://github.com/ana/tributary/compare/")
    );
    assert!(push.content.as_str().contains("Parse recipes"));
    assert!(!push.content.as_str().contains("<script"));
    assert_eq!(push.author_name.as_deref(), Some("ana"));
    assert_eq!(extra_of(&app, "github:41234567890")["commits"], 2);

    let issue = by_title(&items, "issue #12345");
    assert_eq!(
        issue.title,
        "Opened issue #12345 “ICE when matching on a never type” in rust-lang/rust"
    );
    assert_eq!(
        issue.url.as_ref().unwrap().as_str(),
        "https://github.com/rust-lang/rust/issues/12345"
    );
    let star = by_title(&items, "Starred");
    assert_eq!(star.title, "Starred tokio-rs/axum");
    assert_eq!(star.kind, ItemKind::Like);
    assert_eq!(
        star.url.as_ref().unwrap().as_str(),
        "https://github.com/tokio-rs/axum"
    );
    let release = by_title(&items, "Released");
    assert_eq!(release.title, "Released v0.2.0 of ana/tributary");
    assert_eq!(
        release.url.as_ref().unwrap().as_str(),
        "https://github.com/ana/tributary/releases/tag/v0.2.0"
    );
    let merged = by_title(&items, "pull request");
    assert_eq!(
        merged.title,
        "Merged pull request #1001 “Document Value::pointer” in serde-rs/json"
    );
    let comment = by_title(&items, "Commented");
    assert_eq!(comment.kind, ItemKind::Comment);
    assert!(comment.content.as_str().contains("Works for me"));
    assert_eq!(
        by_title(&items, "Created").title,
        "Created repository ana/recipes"
    );

    let request = &server.requests(GITHUB_EVENTS_PATH)[0];
    assert_eq!(
        request.header("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
    assert!(request.header("authorization").is_none());
    assert!(request.query.as_deref().unwrap().contains("per_page=100"));
    // The ETag is kept for the next poll.
    assert_eq!(
        app.source(id).state.validators.etag.as_deref(),
        Some("\"ev1\"")
    );
}

#[tokio::test]
async fn github_sends_the_etag_back_and_obeys_x_poll_interval_on_200_and_304() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    let github = GitHubConnector::default();
    let params = json!({ "user": "ana" });
    server.set(
        GITHUB_EVENTS_PATH,
        json_reply(GITHUB_EVENTS)
            .etag("\"ev1\"")
            .header("x-poll-interval", "600")
            .header("x-ratelimit-remaining", "58")
            .header(
                "x-ratelimit-reset",
                (Utc::now().timestamp() + 3000).to_string(),
            ),
    );
    let first = github
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    assert_eq!(first.items.len(), 7);
    assert_about(first.hint.not_before, Utc::now() + TimeDelta::seconds(600));
    assert_eq!(first.state.validators.etag.as_deref(), Some("\"ev1\""));

    // GitHub answers a matching If-None-Match with 304 (which costs no quota) and repeats
    // its poll interval.
    server.set(
        GITHUB_EVENTS_PATH,
        Reply::status(304)
            .etag("\"ev1\"")
            .header("x-poll-interval", "900"),
    );
    let second = github.poll(&http, &params, &first.state).await.unwrap();
    assert!(second.not_modified);
    assert!(second.items.is_empty());
    assert_eq!(second.state.validators.etag.as_deref(), Some("\"ev1\""));
    assert_about(second.hint.not_before, Utc::now() + TimeDelta::seconds(900));
    let requests = server.requests(GITHUB_EVENTS_PATH);
    assert_eq!(requests.len(), 2);
    assert!(requests[0].header("if-none-match").is_none());
    assert_eq!(requests[1].header("if-none-match"), Some("\"ev1\""));
}

#[tokio::test]
async fn github_waits_for_the_reset_when_the_hourly_budget_runs_low_or_out() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    let github = GitHubConnector::default();
    let params = json!({ "user": "ana" });
    let reset = Utc::now().timestamp() + 1800;
    server.set(
        GITHUB_EVENTS_PATH,
        json_reply(GITHUB_EVENTS)
            .header("x-poll-interval", "60")
            .header("x-ratelimit-remaining", "3")
            .header("x-ratelimit-reset", reset.to_string()),
    );
    let poll = github
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    assert_about(
        poll.hint.not_before,
        DateTime::from_timestamp(reset, 0).unwrap(),
    );

    server.set(
        GITHUB_EVENTS_PATH,
        json_reply("{\"message\": \"API rate limit exceeded for 127.0.0.1.\"}")
            .with_status(403)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", reset.to_string()),
    );
    match github.poll(&http, &params, &PollState::default()).await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_about(retry_after, DateTime::from_timestamp(reset, 0).unwrap())
        }
        other => panic!("expected rate limited, got {other:?}"),
    }
}

#[tokio::test]
async fn github_token_from_config_is_sent_as_bearer() {
    let server = FixtureServer::start().await;
    server.set(GITHUB_EVENTS_PATH, json_reply("[]"));
    let http = Rewrite::new(&server.origin());
    let github = GitHubConnector::with_token(Some("ghp_test123".into()));
    github
        .poll(&http, &json!({ "user": "ana" }), &PollState::default())
        .await
        .unwrap();
    assert_eq!(
        server.requests(GITHUB_EVENTS_PATH)[0].header("authorization"),
        Some("Bearer ghp_test123")
    );
}

#[tokio::test]
async fn hacker_news_stories_are_links_comments_are_comments_with_points_kept() {
    let server = FixtureServer::start().await;
    server.set(HN_PATH, json_reply(HN_SEARCH));
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source("hackernews", &json!({ "user": "ana" }));
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let items = app.items(id);
    assert_eq!(items.len(), 3);

    let story = by_title(&items, "Show HN");
    assert_eq!(story.kind, ItemKind::Link);
    assert_eq!(
        story.url.as_ref().unwrap().as_str(),
        "https://tributary.example/"
    );
    assert_eq!(story.published_at, at("2026-11-30T15:00:00Z"));
    let extra = extra_of(&app, "hn:42000001");
    assert_eq!(extra["points"], 312);
    assert_eq!(extra["comments"], 87);
    assert_eq!(
        extra["discussion_url"],
        "https://news.ycombinator.com/item?id=42000001"
    );

    let comment = by_title(&items, "Comment on");
    assert_eq!(comment.kind, ItemKind::Comment);
    assert_eq!(
        comment.title,
        "Comment on “Ask HN: How do you keep up with friends' blogs?”"
    );
    assert_eq!(
        comment.url.as_ref().unwrap().as_str(),
        "https://news.ycombinator.com/item?id=42000000"
    );
    assert!(comment.content.as_str().contains("<i>SQLite</i>"));

    let ask = by_title(&items, "Lifestreams in 2026");
    assert_eq!(ask.kind, ItemKind::Note);
    assert_eq!(
        ask.url.as_ref().unwrap().as_str(),
        "https://news.ycombinator.com/item?id=41990000"
    );
    let query = server.requests(HN_PATH)[0].query.clone().unwrap();
    assert!(query.contains("tags=author_ana"), "{query}");
}

#[tokio::test]
async fn hacker_news_pages_back_by_page_number() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    server.set(HN_PATH, json_reply(HN_SEARCH));
    let params = json!({ "user": "ana" });
    let first = HackerNewsConnector
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    assert_eq!(first.next_page, Some(json!({ "page": 1 })));
    server.set(HN_PATH, json_reply(HN_SEARCH_PAGE1));
    let older = HackerNewsConnector
        .poll_page(&http, &params, first.next_page.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(older.items.len(), 1);
    assert_eq!(older.items[0].title.as_deref(), Some("An older story"));
    assert_eq!(older.next_page, Some(json!({ "page": 2 })));
    let query = server.requests(HN_PATH)[1].query.clone().unwrap();
    assert!(query.contains("page=1"), "{query}");
}

#[tokio::test]
async fn bluesky_resolves_the_handle_and_maps_images_cards_reposts_quotes_and_facets() {
    let server = FixtureServer::start().await;
    server.set(BSKY_RESOLVE_PATH, json_reply(BSKY_RESOLVE));
    server.set(BSKY_FEED_PATH, json_reply(BSKY_FEED));
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source("bluesky", &json!({ "actor": "ana.bsky.social" }));
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    // The DID is stored, so the handle is resolved once.
    assert_eq!(
        app.source(id).params,
        json!({ "actor": "ana.bsky.social", "did": "did:plc:ana4abc7defgh2ijklmn3opq" })
    );
    let feed_query = server.requests(BSKY_FEED_PATH)[0].query.clone().unwrap();
    assert!(
        feed_query.contains("actor=did%3Aplc%3Aana4abc7defgh2ijklmn3opq"),
        "{feed_query}"
    );
    let items = app.items(id);
    assert_eq!(items.len(), 4);

    let photo = by_title(&items, "Sunset");
    assert_eq!(photo.kind, ItemKind::Photo);
    assert_eq!(
        photo.url.as_ref().unwrap().as_str(),
        "https://bsky.app/profile/ana.bsky.social/post/3lpost1aaaa"
    );
    assert_eq!(photo.published_at, at("2026-11-30T18:00:00Z"));
    assert_eq!(photo.media.len(), 1);
    assert_eq!(
        photo.media[0].alt.as_deref(),
        Some("An orange sky above boats")
    );
    assert_eq!(photo.media[0].width, Some(2000));
    assert!(photo.media[0].thumbnail.is_some());
    assert!(
        photo
            .content
            .as_str()
            .contains("<a href=\"https://example.com/blog\"")
    );
    assert!(photo.content.as_str().contains(">example.com/blog</a>"));

    let card = by_title(&items, "Good read");
    assert_eq!(card.kind, ItemKind::Link);
    assert!(card.content.as_str().contains("Feeds are back"));
    assert!(
        card.content
            .as_str()
            .contains("https://blog.example/feeds-are-back")
    );

    let repost = by_title(&items, "Reposted");
    assert_eq!(repost.kind, ItemKind::Share);
    assert_eq!(
        repost.title,
        "Reposted Bob: Lifestreams deserve a comeback."
    );
    assert_eq!(repost.published_at, at("2026-11-30T09:00:00Z"));
    assert_eq!(repost.author_name.as_deref(), Some("Ana"));
    let shared = extra_of(
        &app,
        "repost:at://did:plc:bob5xyz/app.bsky.feed.post/3lbobpost",
    );
    assert_eq!(shared["shared_from"]["name"], "Bob");
    assert_eq!(
        shared["shared_from"]["url"],
        "https://bsky.app/profile/bob.example.com"
    );

    let quote = by_title(&items, "This, exactly");
    assert!(quote.content.as_str().contains("<blockquote>"));
    assert!(
        quote
            .content
            .as_str()
            .contains("https://bsky.app/profile/bob.example.com/post/3lbobpost")
    );
}

#[tokio::test]
async fn bluesky_pages_back_with_the_cursor() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    server.set(BSKY_FEED_PATH, json_reply(BSKY_FEED));
    let params = json!({ "actor": "did:plc:ana4abc7defgh2ijklmn3opq" });
    let first: Poll = BlueskyConnector
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    // A DID needs no resolution.
    assert_eq!(server.hits(BSKY_RESOLVE_PATH), 0);
    assert_eq!(
        first.next_page,
        Some(json!({ "cursor": "2026-11-29T10:00:00.000Z" }))
    );
    server.set(BSKY_FEED_PATH, json_reply(BSKY_FEED_PAGE2));
    let older = BlueskyConnector
        .poll_page(&http, &params, first.next_page.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(older.items.len(), 1);
    assert!(older.next_page.is_none(), "no cursor, no next page");
    let query = server.requests(BSKY_FEED_PATH)[1].query.clone().unwrap();
    assert!(
        query.contains("cursor=2026-11-29T10%3A00%3A00.000Z"),
        "{query}"
    );
}

#[tokio::test]
async fn lobsters_stories_keep_score_comments_and_tags() {
    let server = FixtureServer::start().await;
    server.set(LOBSTERS_PATH, json_reply(LOBSTERS));
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source("lobsters", &json!({ "user": "ana" }));
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let items = app.items(id);
    assert_eq!(items.len(), 2);
    let link = by_title(&items, "Recipes over feeds");
    assert_eq!(link.kind, ItemKind::Link);
    assert_eq!(
        link.url.as_ref().unwrap().as_str(),
        "https://blog.example/recipes"
    );
    assert_eq!(link.published_at, at("2026-11-30T17:22:33Z"));
    assert_eq!(link.tags, vec!["web".to_owned(), "rss".to_owned()]);
    let extra = extra_of(&app, "lobsters:abc123");
    assert_eq!(extra["points"], 24);
    assert_eq!(extra["comments"], 7);
    let ask = by_title(&items, "Ask:");
    assert_eq!(ask.kind, ItemKind::Note);
    assert_eq!(ask.author_name.as_deref(), Some("ana"));
    assert!(
        ask.url
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("https://lobste.rs/s/def456")
    );

    let http = Rewrite::new(&server.origin());
    let poll = LobstersConnector
        .poll(&http, &json!({ "user": "ana" }), &PollState::default())
        .await
        .unwrap();
    assert_eq!(poll.next_page, Some(json!({ "page": 2 })));
    server.set("/lobste.rs/newest/ana/page/2.json", json_reply("[]"));
    let older = LobstersConnector
        .poll_page(&http, &json!({ "user": "ana" }), &json!({ "page": 2 }))
        .await
        .unwrap();
    assert!(older.items.is_empty());
    assert!(older.next_page.is_none());
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn stack_exchange_keeps_questions_and_answers_from_a_gzip_answer_and_honours_backoff() {
    let server = FixtureServer::start().await;
    server.set(
        SE_PATH,
        Reply::ok(gzip(SE_TIMELINE))
            .content_type("application/json; charset=utf-8")
            .header("content-encoding", "gzip"),
    );
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source(
        "stackexchange",
        &json!({ "user_id": 123, "site": "stackoverflow" }),
    );
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let items = app.items(id);
    assert_eq!(items.len(), 2, "badges and comments are left out");
    let answer = by_title(&items, "Answered");
    assert_eq!(
        answer.title,
        "Answered: How do I parse a JSON pointer in Rust's serde_json?"
    );
    assert_eq!(answer.kind, ItemKind::Comment);
    assert_eq!(
        answer.published_at,
        DateTime::from_timestamp(1796040000, 0).unwrap()
    );
    let question = by_title(&items, "Asked");
    assert_eq!(
        question.title,
        "Asked: Why does SQLite say \"database is locked\"?"
    );
    assert_eq!(question.kind, ItemKind::Article);
    let query = server.requests(SE_PATH)[0].query.clone().unwrap();
    assert!(query.contains("site=stackoverflow"), "{query}");

    // `backoff: 30`: no request to the same method for 30 seconds.
    let http = Rewrite::new(&server.origin());
    let params = json!({ "user_id": 123, "site": "stackoverflow" });
    let poll = StackExchangeConnector
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    assert_about(poll.hint.not_before, Utc::now() + TimeDelta::seconds(30));
    assert_eq!(poll.next_page, Some(json!({ "page": 2 })));
}

#[tokio::test]
async fn stack_exchange_with_no_quota_left_waits_for_the_daily_reset() {
    let server = FixtureServer::start().await;
    server.set(SE_PATH, json_reply(SE_QUOTA_GONE));
    let http = Rewrite::new(&server.origin());
    let params = json!({ "user_id": 123, "site": "stackoverflow" });
    let poll = StackExchangeConnector
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    assert_about(poll.hint.not_before, next_utc_midnight(Utc::now()));

    // A throttle violation is a rate limit with the wait the message names.
    server.set(
        SE_PATH,
        json_reply(
            "{\"error_id\": 502, \"error_message\": \"too many requests from this IP, more requests available in 3600 seconds\", \"error_name\": \"throttle_violation\"}",
        )
        .with_status(400),
    );
    match StackExchangeConnector
        .poll(&http, &params, &PollState::default())
        .await
    {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_about(retry_after, Utc::now() + TimeDelta::seconds(3600))
        }
        other => panic!("expected rate limited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_a_rate_limit_on_every_site() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    let cases: Vec<(Box<dyn Connector>, serde_json::Value, &str)> = vec![
        (
            Box::new(GitHubConnector::default()),
            json!({ "user": "ana" }),
            GITHUB_EVENTS_PATH,
        ),
        (
            Box::new(HackerNewsConnector),
            json!({ "user": "ana" }),
            HN_PATH,
        ),
        (
            Box::new(BlueskyConnector),
            json!({ "actor": "did:plc:ana4abc7defgh2ijklmn3opq" }),
            BSKY_FEED_PATH,
        ),
        (
            Box::new(LobstersConnector),
            json!({ "user": "ana" }),
            LOBSTERS_PATH,
        ),
        (
            Box::new(StackExchangeConnector),
            json!({ "user_id": 123, "site": "stackoverflow" }),
            SE_PATH,
        ),
    ];
    for (connector, params, path) in cases {
        server.set(path, Reply::status(429).header("retry-after", "120"));
        match connector.poll(&http, &params, &PollState::default()).await {
            Err(ConnectorError::RateLimited { retry_after }) => {
                assert_about(retry_after, Utc::now() + TimeDelta::seconds(120))
            }
            other => panic!("{}: expected rate limited, got {other:?}", connector.kind()),
        }
    }
}

#[tokio::test]
async fn a_rate_limited_poll_postpones_the_source() {
    let server = FixtureServer::start().await;
    server.set(HN_PATH, Reply::status(429).header("retry-after", "7200"));
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source("hackernews", &json!({ "user": "ana" }));
    let report = app.poll(id).await;
    assert!(report.error.is_some());
    let source = app.source(id);
    assert!(
        source.next_poll_at >= Utc::now() + TimeDelta::seconds(7000),
        "next poll {}",
        source.next_poll_at
    );
}

#[tokio::test]
async fn hostile_api_answers_fail_cleanly() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    for body in [
        "not json",
        "{\"hits\": 5}",
        "[1, 2, {\"objectID\": {}}]",
        "null",
    ] {
        server.set(HN_PATH, json_reply(body));
        server.set(GITHUB_EVENTS_PATH, json_reply(body));
        server.set(BSKY_FEED_PATH, json_reply(body));
        let _ = HackerNewsConnector
            .poll(&http, &json!({ "user": "ana" }), &PollState::default())
            .await;
        let result = GitHubConnector::default()
            .poll(
                &http,
                &json!({ "user": "ana" }),
                &PollState {
                    validators: Validators::default(),
                    cursor: None,
                },
            )
            .await;
        if let Ok(poll) = result {
            assert!(poll.items.is_empty());
        }
        let _ = BlueskyConnector
            .poll(
                &http,
                &json!({ "actor": "did:plc:x" }),
                &PollState::default(),
            )
            .await;
    }
}

#[tokio::test]
async fn github_and_stack_exchange_page_back_by_page_number() {
    let server = FixtureServer::start().await;
    let http = Rewrite::new(&server.origin());
    let params = json!({ "user": "ana" });
    server.set(
        GITHUB_EVENTS_PATH,
        json_reply(GITHUB_EVENTS).header(
            "link",
            "<https://api.github.com/user/1/events/public?per_page=100&page=2>; rel=\"next\", <https://api.github.com/user/1/events/public?per_page=100&page=3>; rel=\"last\"",
        ),
    );
    let first = GitHubConnector::default()
        .poll(&http, &params, &PollState::default())
        .await
        .unwrap();
    assert_eq!(first.next_page, Some(json!({ "page": 2 })));
    server.set(GITHUB_EVENTS_PATH, json_reply("[]"));
    let older = GitHubConnector::default()
        .poll_page(&http, &params, &json!({ "page": 2 }))
        .await
        .unwrap();
    assert!(older.items.is_empty());
    assert!(older.next_page.is_none(), "no Link rel=next, no next page");
    let query = server.requests(GITHUB_EVENTS_PATH)[1]
        .query
        .clone()
        .unwrap();
    assert!(query.contains("page=2"), "{query}");
    // GitHub keeps 300 events at most: there is no page 4 to ask for.
    assert!(
        GitHubConnector::default()
            .poll_page(&http, &params, &json!({ "page": 4 }))
            .await
            .is_err()
    );

    server.set(SE_PATH, json_reply(SE_TIMELINE));
    let se_params = json!({ "user_id": 123, "site": "stackoverflow" });
    let page2 = StackExchangeConnector
        .poll_page(&http, &se_params, &json!({ "page": 2 }))
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 2);
    assert_eq!(page2.next_page, Some(json!({ "page": 3 })));
    let query = server.requests(SE_PATH)[0].query.clone().unwrap();
    assert!(query.contains("page=2"), "{query}");
}
