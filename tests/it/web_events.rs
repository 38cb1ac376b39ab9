//! Live updates over real HTTP: `/events` streams hear comments and likes posted by other
//! clients, close their subscription when the client goes away, never carry a hidden
//! item's or someone else's source's events, and "Poll now" shows this poll's result.

use std::time::Duration;

use reqwest::StatusCode;
use tributary::model::{ItemId, SourceId};
use tributary::store::sources;

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::{Client, WebApp};
use crate::web_stream::{NO_FIXTURES, add_item, add_source, comment, post};

/// How long a test waits for a frame that must come.
const FRAME_WAIT: Duration = Duration::from_secs(5);

/// An open `/events` stream, read frame by frame.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE frame: its event name and data (comment-only frames are skipped).
#[derive(Debug, PartialEq)]
pub struct Frame {
    pub event: String,
    pub data: String,
}

impl EventStream {
    pub async fn open(client: &Client, scope: &str) -> EventStream {
        let response = client
            .http
            .get(format!("{}/events?scope={scope}", client.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "scope {scope}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        let mut stream = EventStream {
            response,
            buffer: String::new(),
        };
        // The stream greets first: after that frame, the subscription surely exists.
        stream.next_raw().await.expect("the hello comment");
        stream
    }

    /// The next blank-line-separated block, or `None` when `FRAME_WAIT` passes.
    async fn next_raw(&mut self) -> Option<String> {
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(block);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event frame, or `None` when none comes within `FRAME_WAIT`.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            let block = self.next_raw().await?;
            let mut frame = Frame {
                event: String::new(),
                data: String::new(),
            };
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    frame.event = name.trim().to_owned();
                } else if let Some(data) = line.strip_prefix("data:") {
                    frame.data.push_str(data.trim_start());
                }
            }
            if !frame.event.is_empty() {
                return Some(frame);
            }
        }
    }
}

/// ana owns a public item; bo and cy are other users.
async fn setup() -> (WebApp, SourceId, ItemId) {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    app.create_user("cy", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "post", 30);
    (app, source, item)
}

fn json(frame: &Frame) -> serde_json::Value {
    serde_json::from_str(&frame.data).unwrap()
}

#[tokio::test]
async fn comment_from_another_client_reaches_the_open_item_stream() {
    let (app, _, item) = setup().await;
    let bo = app.logged_in("bo").await;
    let mut stream = EventStream::open(&app.client(), &format!("item:{item}")).await;
    let cy = app.logged_in("cy").await;
    assert_eq!(
        comment(&cy, item, "Hello").await.status,
        StatusCode::SEE_OTHER
    );
    let frame = stream.next().await.expect("a comment frame");
    assert_eq!(frame.event, "comment");
    let data = json(&frame);
    assert_eq!(data["item"], item.0);
    assert_eq!(data["n_comments"], 1);
    // The fragment route renders that comment for the page script to add.
    let fragment = bo
        .get(&format!("/e/{item}/comments/{}/fragment", data["comment"]))
        .await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(
        fragment.body.starts_with("<li class=\"comment\""),
        "{}",
        fragment.body
    );
    assert!(fragment.body.contains("Hello"));
}

#[tokio::test]
async fn likes_reach_the_owners_lifestream_and_answer_the_script_with_json() {
    let (app, _, item) = setup().await;
    let mut stream = EventStream::open(&app.client(), "user:ana").await;
    let bo = app.logged_in("bo").await;
    let token = bo.get(&format!("/e/{item}")).await.csrf();
    let answer = bo
        .http
        .post(app.url(&format!("/e/{item}/like")))
        .header("x-requested-with", "fetch")
        .header("accept", "application/json")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "liked": true, "n_likes": 1 }));
    let frame = stream.next().await.expect("a likes frame");
    assert_eq!(
        (frame.event.as_str(), json(&frame)["n_likes"].as_i64()),
        ("likes", Some(1))
    );
    // A plain form keeps its redirect.
    let unliked = post(&bo, &format!("/e/{item}/unlike")).await;
    assert_eq!(unliked.status, StatusCode::SEE_OTHER);
    let frame = stream.next().await.expect("an unlike frame");
    assert_eq!(json(&frame)["n_likes"], 0);
}

#[tokio::test]
async fn closing_a_stream_drops_its_subscription() {
    let (app, _, item) = setup().await;
    assert_eq!(app.state.events.n_subscribers(), 0);
    let first = EventStream::open(&app.client(), &format!("item:{item}")).await;
    let second = EventStream::open(&app.client(), "user:ana").await;
    assert_eq!(app.state.events.n_subscribers(), 2);
    drop(first);
    drop(second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.state.events.n_subscribers() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} subscriptions left after the clients went away",
            app.state.events.n_subscribers()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_hidden_items_events_reach_only_its_owner() {
    let (app, source, item) = setup().await;
    let ana_id = app
        .store
        .read_blocking(|conn| tributary::store::users::by_name(conn, "ana"))
        .unwrap()
        .id;
    let public = add_item(&app, source, ana_id, "public", 10);
    let ana = app.logged_in("ana").await;
    assert_eq!(
        post(&ana, &format!("/e/{item}/hide")).await.status,
        StatusCode::SEE_OTHER
    );
    let bo = app.logged_in("bo").await;
    // The hidden item's own stream does not exist for others.
    let refused = bo.get(&format!("/events?scope=item:{item}")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let mut bo_stream = EventStream::open(&bo, "user:ana").await;
    let mut ana_stream = EventStream::open(&ana, "user:ana").await;
    let mut ana_item_stream = EventStream::open(&ana, &format!("item:{item}")).await;
    assert_eq!(
        comment(&ana, item, "Just for me").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        comment(&ana, public, "For all").await.status,
        StatusCode::SEE_OTHER
    );
    // bo hears the public comment first and only.
    let frame = bo_stream.next().await.expect("the public comment");
    assert_eq!(json(&frame)["item"], public.0, "{frame:?}");
    // ana hears both.
    assert_eq!(json(&ana_stream.next().await.unwrap())["item"], item.0);
    assert_eq!(json(&ana_stream.next().await.unwrap())["item"], public.0);
    assert_eq!(json(&ana_item_stream.next().await.unwrap())["item"], item.0);
}

#[tokio::test]
async fn a_sources_stream_is_its_owners_only() {
    let (app, source, _) = setup().await;
    let scope = format!("/events?scope=source:{source}");
    assert_eq!(app.client().get(&scope).await.status, StatusCode::NOT_FOUND);
    let bo = app.logged_in("bo").await;
    assert_eq!(bo.get(&scope).await.status, StatusCode::NOT_FOUND);
    for bad in [
        "nobody",
        "user:nobody",
        "item:0",
        "item:x",
        "source:-1",
        "friends:",
    ] {
        let page = bo.get(&format!("/events?scope={bad}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let ana = app.logged_in("ana").await;
    EventStream::open(&ana, &format!("source:{source}")).await;
}

#[tokio::test]
async fn pages_name_their_scope_and_load_the_one_script_under_the_csp() {
    let (app, source, item) = setup().await;
    let ana = app.logged_in("ana").await;
    let cases = [
        ("/ana".to_owned(), "user:ana".to_owned()),
        ("/ana/friends".to_owned(), "friends:ana".to_owned()),
        (format!("/e/{item}"), format!("item:{item}")),
        (
            format!("/settings/sources/{source}"),
            format!("source:{source}"),
        ),
    ];
    for (path, scope) in &cases {
        let page = ana.get(path).await;
        assert!(
            page.body
                .contains(&format!("<main id=\"main\" data-events=\"{scope}\">")),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body
                .contains("<form id=\"act\" method=\"post\" action=\"/\" hidden><input type=\"hidden\" name=\"csrf\" value=\""),
            "{path}"
        );
    }
    // Anonymous pages (shared, cached) carry no token; the settings page has no scope.
    let anonymous = app.client().get("/ana").await;
    assert!(!anonymous.body.contains("name=\"csrf\""));
    assert!(!ana.get("/settings").await.body.contains("data-events"));

    let page = ana.get("/ana").await;
    let at = page
        .body
        .find("<script defer src=\"")
        .expect("the script tag")
        + 19;
    let src = &page.body[at..at + page.body[at..].find('"').unwrap()];
    assert!(
        src.starts_with("/static/") && src.ends_with("/app.js"),
        "{src}"
    );
    let script = ana.get(src).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.body.contains("EventSource"));
    assert!(!script.body.contains("eval("));
    // No inline script anywhere, and the policy allows our own script and connections.
    assert!(!page.body.contains("<script>"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let events = ana
        .http
        .get(app.url("/events?scope=user:ana"))
        .send()
        .await
        .unwrap();
    assert!(events.headers()["content-security-policy"].to_str().is_ok());
    assert_eq!(events.headers()["cache-control"], "no-cache, no-store");
}

#[tokio::test]
async fn a_refused_script_comment_answers_json_with_the_reason() {
    let (app, _, item) = setup().await;
    let bo = app.logged_in("bo").await;
    let token = bo.get(&format!("/e/{item}")).await.csrf();
    let answer = bo
        .http
        .post(app.url(&format!("/e/{item}/comments")))
        .header("x-requested-with", "fetch")
        .form(&[("csrf", token.as_str()), ("body", "   ")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().ends_with('.'), "{body}");
}

const FEED: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Blog</title><link>http://blog.example/</link>
<item><title>One</title><link>http://blog.example/1</link><guid>one</guid></item>
</channel></rss>"#;

/// A feed source of ana's at the fixture server's `/feed.xml`, polled once.
async fn polled_feed_source(fixtures: &FixtureServer) -> (WebApp, Client, SourceId) {
    fixtures.set(
        "/feed.xml",
        Reply::ok(FEED).content_type("application/rss+xml"),
    );
    let app = WebApp::start_with_scheduler(&fixtures.origin()).await;
    let ana = app.create_user("ana", false);
    let params = serde_json::json!({ "url": fixtures.url("/feed.xml") });
    let source = app
        .store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: ana,
                    kind: "feed",
                    params: &params,
                    title: "Blog",
                    schedule: "",
                },
                chrono::Utc::now(),
            )
        })
        .unwrap();
    let client = app.logged_in("ana").await;
    let page = poll_now(&client, source).await;
    assert!(
        page.contains("<span class=\"health ok\">ok</span>"),
        "{page}"
    );
    (app, client, source)
}

/// Presses "Poll now" and follows the redirect to the source page.
async fn poll_now(client: &Client, source: SourceId) -> String {
    let page_path = format!("/settings/sources/{source}");
    let answer = client
        .post_form(&page_path, &format!("{page_path}/poll"), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location.unwrap();
    assert_eq!(location, format!("{page_path}?done=polled"));
    client.get(&location).await.body
}

// See: #19
#[tokio::test]
async fn issue_19_poll_now_shows_this_polls_result_when_the_feed_broke() {
    let fixtures = FixtureServer::start().await;
    let (_app, ana, source) = polled_feed_source(&fixtures).await;
    fixtures.set("/feed.xml", Reply::status(500));
    let page = poll_now(&ana, source).await;
    assert!(
        page.contains("<span class=\"health failing\">failing: "),
        "{page}"
    );
    assert!(page.contains("Polled: its health"), "{page}");
}

#[tokio::test]
async fn a_slow_poll_shows_polling_and_its_end_reaches_the_source_stream() {
    let fixtures = FixtureServer::start().await;
    let (_app, ana, source) = polled_feed_source(&fixtures).await;
    fixtures.set(
        "/feed.xml",
        Reply::drip(FEED.len() as u64, Duration::from_millis(30)),
    );
    let mut stream = EventStream::open(&ana, &format!("source:{source}")).await;
    let page_path = format!("/settings/sources/{source}");
    let answer = ana
        .post_form(&page_path, &format!("{page_path}/poll"), &[])
        .await;
    assert_eq!(
        answer.location.unwrap(),
        format!("{page_path}?done=polling")
    );
    let page = ana.get(&format!("{page_path}?done=polling")).await;
    assert!(page.body.contains("Polling…"), "{}", page.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let frame = loop {
        if let Some(frame) = stream.next().await {
            break frame;
        }
        assert!(tokio::time::Instant::now() < deadline, "no poll frame");
    };
    assert_eq!(frame.event, "poll");
    assert_eq!(json(&frame)["source"], source.0);
    assert!(
        json(&frame)["result"]
            .as_str()
            .unwrap()
            .starts_with("failing: "),
        "{frame:?}"
    );
}
