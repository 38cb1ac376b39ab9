//! Site handles and the advanced (JSON) form in the browser's flow: paste, preview, add.
//! Requests reach the fixture server through `support::rewrite`.

use reqwest::StatusCode;
use tributary::store::sources;

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::WebApp;

const GITHUB_EVENTS: &str = include_str!("fixtures/sites/github_events.json");

/// The unescaped value of the first `<input name=…>` on the page.
fn input_value(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in:\n{body}"));
    let tag = &body[at..at + body[at..].find('>').unwrap()];
    let value_at = tag.find("value=\"").expect("the input has a value") + "value=\"".len();
    let raw = &tag[value_at..value_at + tag[value_at..].find('"').unwrap()];
    raw.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn pasting_a_github_profile_previews_and_adds_the_github_connector() {
    let server = FixtureServer::start().await;
    server.set(
        "/api.github.com/users/ana/events/public",
        Reply::ok(GITHUB_EVENTS).content_type("application/json"),
    );
    let app = WebApp::start_for_sites(&server.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let page = client
        .post_form(
            "/settings/sources",
            "/settings/sources/preview",
            &[("input", "https://github.com/ana")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("Pushed 2 commits to ana/tributary (main)"),
        "{}",
        page.body
    );
    assert_eq!(input_value(&page.body, "kind"), "github");
    let params = input_value(&page.body, "params");
    let added = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[
                ("kind", "github"),
                ("params", &params),
                ("title", ""),
                ("schedule", ""),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let stored = app
        .store
        .read_blocking(|conn| sources::list(conn, None))
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kind, "github");
    assert_eq!(stored[0].params, serde_json::json!({ "user": "ana" }));
}

#[tokio::test]
async fn the_advanced_form_previews_a_json_document_and_explains_bad_fields() {
    let server = FixtureServer::start().await;
    server.set(
        "/api.example/v1/posts",
        Reply::ok(
            r#"{"posts": [
                {"slug": "hello", "name": "Hello from JSON", "at": "2026-11-30T10:00:00Z"},
                {"slug": "older", "name": "An older post", "at": "2026-11-01T10:00:00Z"}
            ]}"#,
        )
        .content_type("application/json"),
    );
    let app = WebApp::start_for_sites(&server.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;

    let sources_page = client.get("/settings/sources").await;
    assert!(
        sources_page
            .body
            .contains("action=\"/settings/sources/advanced\"")
    );

    let fields = [
        ("adv_url", "https://api.example/v1/posts"),
        ("adv_items", "/posts"),
        ("adv_id", "/slug"),
        ("adv_title", "/name"),
        ("adv_link", "https://site.example/p/{/slug}"),
        ("adv_date", "/at"),
    ];
    let page = client
        .post_form("/settings/sources", "/settings/sources/advanced", &fields)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Hello from JSON"), "{}", page.body);
    assert!(page.body.contains("An older post"));
    assert_eq!(input_value(&page.body, "kind"), "json");
    let params: serde_json::Value =
        serde_json::from_str(&input_value(&page.body, "params")).unwrap();
    assert_eq!(params["items"], "/posts");
    assert_eq!(params["link"], "https://site.example/p/{/slug}");
    // The form is kept, filled in, for corrections.
    assert_eq!(input_value(&page.body, "adv_title"), "/name");

    let added = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[
                ("kind", "json"),
                ("params", &params.to_string()),
                ("title", "My JSON"),
                ("schedule", ""),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);

    // A field that is not a pointer comes back with the reason, the form still filled.
    let bad = client
        .post_form(
            "/settings/sources",
            "/settings/sources/advanced",
            &[
                ("adv_url", "https://api.example/v1/posts"),
                ("adv_items", "posts"),
                ("adv_id", "/slug"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("JSON pointer"), "{}", bad.body);
    assert_eq!(input_value(&bad.body, "adv_items"), "posts");
    // Without a CSRF token nothing is fetched.
    server.clear_requests();
    let refused = client.post_raw("/settings/sources/advanced", &fields).await;
    assert_ne!(refused.status, StatusCode::OK);
    assert_eq!(server.total_hits(), 0);
}

#[tokio::test]
async fn the_advanced_form_reads_a_web_page_with_css_selectors() {
    let server = FixtureServer::start().await;
    server.set(
        "/news.example/",
        Reply::ok(
            r#"<html><body><ul>
              <li class="story"><a class="t" href="/s/1">Town hall reopens</a><time datetime="2026-11-30T08:00:00Z">today</time></li>
              <li class="story"><a class="t" href="/s/2">Market moves <script>alert(1)</script></a></li>
            </ul></body></html>"#,
        )
        .content_type("text/html; charset=utf-8"),
    );
    let app = WebApp::start_for_sites(&server.origin()).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let page = client
        .post_form(
            "/settings/sources",
            "/settings/sources/advanced",
            &[
                ("adv_connector", "html"),
                ("adv_url", "https://news.example/"),
                ("adv_items", "li.story"),
                ("adv_title", "a.t"),
                ("adv_link", "a.t"),
                ("adv_date", "time"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Town hall reopens"), "{}", page.body);
    assert!(!page.body.contains("<script>alert(1)"));
    assert_eq!(input_value(&page.body, "kind"), "html");

    let bad = client
        .post_form(
            "/settings/sources",
            "/settings/sources/advanced",
            &[
                ("adv_connector", "html"),
                ("adv_url", "https://news.example/"),
                ("adv_items", "li[["),
                ("adv_title", "a"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not a CSS selector"), "{}", bad.body);
}

#[tokio::test]
async fn cards_show_points_comments_and_who_a_share_came_from() {
    let server = FixtureServer::start().await;
    server.set(
        "/hn.algolia.com/api/v1/search_by_date",
        Reply::ok(include_str!("fixtures/sites/hn_search.json")).content_type("application/json"),
    );
    server.set(
        "/public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed",
        Reply::ok(include_str!("fixtures/sites/bsky_feed.json")).content_type("application/json"),
    );
    let app = WebApp::start_for_sites(&server.origin()).await;
    let user = app.create_user("ana", false);
    let ingest = tributary::ingest::Ingest::new(
        app.store.clone(),
        std::sync::Arc::new(crate::support::rewrite::Rewrite::new(&server.origin())),
        std::sync::Arc::new(connectors::Registry::default()),
        tributary::config::SchedulerConfig::default(),
    );
    for (kind, params) in [
        ("hackernews", serde_json::json!({ "user": "ana" })),
        (
            "bluesky",
            serde_json::json!({ "actor": "did:plc:ana4abc7defgh2ijklmn3opq" }),
        ),
    ] {
        let id = app
            .store
            .write_blocking(|tx| {
                sources::insert(
                    tx,
                    &sources::NewSource {
                        user_id: user,
                        kind,
                        params: &params,
                        title: "",
                        schedule: "",
                    },
                    chrono::Utc::now(),
                )
            })
            .unwrap();
        let report = ingest.poll_source(id).await.unwrap();
        assert!(report.error.is_none(), "{kind}: {:?}", report.error);
    }
    let page = app.client().get("/ana").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("312 points"), "{}", page.body);
    assert!(
        page.body.contains(
            "<a href=\"https://news.ycombinator.com/item?id=42000001\" rel=\"nofollow\">87 comments</a>"
        ),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(
            "shared a post by <a href=\"https://bsky.app/profile/bob.example.com\" rel=\"nofollow\"><bdi>Bob</bdi></a>"
        ),
        "{}",
        page.body
    );
}
