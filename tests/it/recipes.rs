//! Recipes against recorded documents served by the loopback fixture server: the URL each
//! recipe builds, what its items become, `[resolve]` lookups, request headers, and the
//! operator's recipe folder (a malformed file is reported, the others load).

use chrono::{DateTime, Utc};
use connectors::recipe::{Recipe, RecipeConnector};
use connectors::{Connector, ItemKind, PollState};
use serde_json::json;
use tributary::config::ConnectorsConfig;
use tributary::model::Item;

use crate::support::app::{TestApp, rss};
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::rewrite::Rewrite;

const YOUTUBE_PAGE: &str = include_str!("fixtures/sites/youtube_channel.html");
const YOUTUBE_FEED: &str = include_str!("fixtures/sites/youtube_feed.xml");
const REDDIT_USER: &str = include_str!("fixtures/sites/reddit_user.atom");
const LETTERBOXD: &str = include_str!("fixtures/sites/letterboxd.rss");
const GOODREADS: &str = include_str!("fixtures/sites/goodreads.rss");
const FLICKR_PAGE: &str = include_str!("fixtures/sites/flickr_photos.html");
const FLICKR_FEED: &str = include_str!("fixtures/sites/flickr_feed.atom");

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

async fn poll_ok(app: &TestApp, kind: &str, params: serde_json::Value) -> Vec<Item> {
    let id = app.add_source(kind, &params);
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{kind}: {:?}", report.error);
    app.items(id)
}

#[tokio::test]
async fn youtube_handle_is_resolved_once_then_the_channel_feed_is_read() {
    let server = FixtureServer::start().await;
    server.set(
        "/www.youtube.com/@AnaMakes",
        Reply::ok(YOUTUBE_PAGE).content_type("text/html; charset=utf-8"),
    );
    server.set(
        "/www.youtube.com/feeds/videos.xml",
        Reply::ok(YOUTUBE_FEED).content_type("application/atom+xml; charset=utf-8"),
    );
    let app = TestApp::for_sites(&server.origin());
    let id = app.add_source("youtube", &json!({ "handle": "AnaMakes" }));
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(
        app.source(id).params,
        json!({ "handle": "AnaMakes", "channel_id": "UCanaMakesThings12345678" })
    );
    let query = server.requests("/www.youtube.com/feeds/videos.xml")[0]
        .query
        .clone()
        .unwrap();
    assert_eq!(query, "channel_id=UCanaMakesThings12345678");
    let items = app.items(id);
    assert_eq!(items.len(), 1);
    let video = &items[0];
    assert_eq!(video.kind, ItemKind::Video);
    assert_eq!(video.title, "Building a lifestream in an afternoon");
    assert_eq!(
        video.url.as_ref().unwrap().as_str(),
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    );
    assert_eq!(
        video.published_at,
        DateTime::parse_from_rfc3339("2026-11-29T16:00:06+00:00").unwrap()
    );
    assert!(
        video.media.iter().any(|m| m
            .thumbnail
            .as_ref()
            .or(Some(&m.url))
            .is_some_and(|u| u.as_str().contains("hqdefault.jpg"))),
        "{:?}",
        video.media
    );

    // The second poll does not read the channel page again.
    app.poll(id).await;
    assert_eq!(server.hits("/www.youtube.com/@AnaMakes"), 1);
    assert_eq!(server.hits("/www.youtube.com/feeds/videos.xml"), 2);
}

#[tokio::test]
async fn youtube_handle_without_a_channel_id_on_the_page_is_a_clear_error() {
    let server = FixtureServer::start().await;
    server.set(
        "/www.youtube.com/@nobody",
        Reply::ok("<html><body>consent page</body></html>").content_type("text/html"),
    );
    let http = Rewrite::new(&server.origin());
    let youtube = connectors::Registry::default();
    let youtube = youtube.get("youtube").unwrap();
    let err = youtube
        .poll(&http, &json!({ "handle": "nobody" }), &PollState::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("channel_id"), "{err}");
}

#[tokio::test]
async fn reddit_is_read_over_rss_with_a_descriptive_user_agent() {
    let server = FixtureServer::start().await;
    server.set(
        "/www.reddit.com/user/ana/.rss",
        Reply::ok(REDDIT_USER).content_type("application/atom+xml; charset=UTF-8"),
    );
    let app = TestApp::for_sites(&server.origin());
    let items = poll_ok(&app, "reddit_user", json!({ "user": "ana" })).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].title, "I wrote a lifestream in Rust");
    assert_eq!(
        items[0].url.as_ref().unwrap().as_str(),
        "https://www.reddit.com/r/rust/comments/1abcde/i_wrote_a_lifestream/"
    );
    let agent = server.requests("/www.reddit.com/user/ana/.rss")[0]
        .header("user-agent")
        .unwrap()
        .to_owned();
    assert!(agent.starts_with("web:tributary-lifestream:"), "{agent}");
}

#[tokio::test]
async fn letterboxd_diary_keeps_the_star_rating() {
    let server = FixtureServer::start().await;
    server.set(
        "/letterboxd.com/ana/rss/",
        Reply::ok(LETTERBOXD).content_type("application/rss+xml; charset=utf-8"),
    );
    let app = TestApp::for_sites(&server.origin());
    let items = poll_ok(&app, "letterboxd", json!({ "user": "ana" })).await;
    assert_eq!(items.len(), 2);
    let review = items
        .iter()
        .find(|i| i.title.starts_with("Past Lives"))
        .unwrap();
    assert_eq!(review.title, "Past Lives, 2023 - ★★★★½");
    assert_eq!(
        review.url.as_ref().unwrap().as_str(),
        "https://letterboxd.com/ana/film/past-lives/"
    );
    assert_eq!(
        review.published_at,
        DateTime::parse_from_rfc3339("2026-11-29T08:14:09Z").unwrap()
    );
    assert!(
        review
            .media
            .iter()
            .any(|m| m.url.as_str().contains("film-poster")),
        "{:?}",
        review.media
    );
    assert_eq!(
        extra_of(&app, "letterboxd-review-512345678")["rating"],
        "★★★★½"
    );
    // A watch without a rating has none.
    assert!(
        extra_of(&app, "letterboxd-watch-512345600")
            .get("rating")
            .is_none()
    );
}

#[tokio::test]
async fn goodreads_shelf_uses_the_shelf_and_keeps_the_members_rating() {
    let server = FixtureServer::start().await;
    server.set(
        "/www.goodreads.com/review/list_rss/1234567",
        Reply::ok(GOODREADS).content_type("application/xml; charset=utf-8"),
    );
    let app = TestApp::for_sites(&server.origin());
    let items = poll_ok(&app, "goodreads", json!({ "user_id": "1234567" })).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].title, "The Left Hand of Darkness");
    assert_eq!(items[0].kind, ItemKind::Article);
    let request = &server.requests("/www.goodreads.com/review/list_rss/1234567")[0];
    assert_eq!(request.query.as_deref(), Some("shelf=read"));
    let extra = extra_of(&app, &items[0].external_id);
    assert_eq!(extra["rating"], "5");
}

#[tokio::test]
async fn flickr_path_alias_is_resolved_to_the_nsid() {
    let server = FixtureServer::start().await;
    server.set(
        "/www.flickr.com/photos/ana/",
        Reply::ok(FLICKR_PAGE).content_type("text/html; charset=utf-8"),
    );
    server.set(
        "/www.flickr.com/services/feeds/photos_public.gne",
        Reply::ok(FLICKR_FEED).content_type("application/atom+xml; charset=utf-8"),
    );
    let app = TestApp::for_sites(&server.origin());
    let items = poll_ok(&app, "flickr", json!({ "user": "ana" })).await;
    let query = server.requests("/www.flickr.com/services/feeds/photos_public.gne")[0]
        .query
        .clone()
        .unwrap();
    assert_eq!(query, "id=12345678%40N00&format=atom");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind, ItemKind::Photo);
    assert_eq!(items[0].title, "Harbour at dusk");
    assert!(!items[0].media.is_empty());
}

/// A recipe, its parameters, the address it must fetch, that address's query, and the
/// kind every item gets.
type RecipeCase = (
    &'static str,
    serde_json::Value,
    &'static str,
    Option<&'static str>,
    Option<ItemKind>,
);

/// Every other recipe: the document address it builds from its parameters, and that the
/// document's items come through with their kind.
#[tokio::test]
async fn every_feed_recipe_reads_the_address_it_builds() {
    let cases: &[RecipeCase] = &[
        (
            "reddit_subreddit",
            json!({"subreddit": "rust"}),
            "https://www.reddit.com/r/rust/new/.rss",
            None,
            None,
        ),
        (
            "medium",
            json!({"user": "ana"}),
            "https://medium.com/feed/@ana",
            None,
            Some(ItemKind::Article),
        ),
        (
            "substack",
            json!({"publication": "ana"}),
            "https://ana.substack.com/feed",
            None,
            Some(ItemKind::Article),
        ),
        (
            "tumblr",
            json!({"blog": "ana"}),
            "https://ana.tumblr.com/rss",
            None,
            None,
        ),
        (
            "devto",
            json!({"user": "ana"}),
            "https://dev.to/feed/ana",
            None,
            Some(ItemKind::Article),
        ),
        (
            "wordpress",
            json!({"site": "ana"}),
            "https://ana.wordpress.com/feed/",
            None,
            Some(ItemKind::Article),
        ),
        (
            "mastodon_rss",
            json!({"host": "mastodon.social", "user": "ana"}),
            "https://mastodon.social/@ana.rss",
            None,
            None,
        ),
        (
            "pixelfed",
            json!({"host": "pixelfed.social", "user": "ana"}),
            "https://pixelfed.social/users/ana.atom",
            None,
            Some(ItemKind::Photo),
        ),
        (
            "peertube",
            json!({"host": "framatube.org", "account": "ana"}),
            "https://framatube.org/feeds/videos.xml",
            Some("accountName=ana"),
            Some(ItemKind::Video),
        ),
        (
            "lemmy",
            json!({"host": "lemmy.world", "user": "ana"}),
            "https://lemmy.world/feeds/u/ana.xml",
            Some("sort=New"),
            None,
        ),
        (
            "bookwyrm",
            json!({"host": "bookwyrm.social", "user": "ana"}),
            "https://bookwyrm.social/user/ana/rss",
            None,
            None,
        ),
        (
            "flickr",
            json!({"nsid": "12345678@N00"}),
            "https://www.flickr.com/services/feeds/photos_public.gne",
            Some("id=12345678%40N00&format=atom"),
            Some(ItemKind::Photo),
        ),
        (
            "youtube",
            json!({"channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"}),
            "https://www.youtube.com/feeds/videos.xml",
            Some("channel_id=UC_x5XG1OV2P6uZZ5FSM9Ttw"),
            Some(ItemKind::Video),
        ),
    ];
    let server = FixtureServer::start().await;
    let document = rss(&[
        ("g1", "First post", "https://site.example/1"),
        ("g2", "Second post", "https://site.example/2"),
    ]);
    let app = TestApp::for_sites(&server.origin());
    for (kind, params, address, query, item_kind) in cases {
        let path = Rewrite::path_of(address);
        server.set(
            &path,
            Reply::ok(document.clone()).content_type("application/rss+xml"),
        );
        server.clear_requests();
        let items = poll_ok(&app, kind, params.clone()).await;
        let requests = server.requests(&path);
        assert_eq!(requests.len(), 1, "{kind} did not fetch {address}");
        assert_eq!(requests[0].query.as_deref(), *query, "{kind}");
        assert_eq!(items.len(), 2, "{kind}");
        assert!(items.iter().any(|i| i.title == "First post"), "{kind}");
        assert_eq!(
            items[0].published_at,
            DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").unwrap(),
            "{kind}"
        );
        if let Some(item_kind) = item_kind {
            assert!(items.iter().all(|i| i.kind == *item_kind), "{kind}");
        }
    }
}

#[tokio::test]
async fn a_recipe_over_the_json_connector_maps_pointers() {
    let recipe = Recipe::parse(
        "notes.toml",
        r#"
name = "notes"
title = "Notes"
example = "notes.example/ana"
url = "https://notes.example/api/{user}.json"
connector = "json"
patterns = ['^notes\.example/(?P<user>[a-z]+)$']

[[params]]
name = "user"
pattern = '^[a-z]+$'

[json]
items = "/data/notes"
id = "/id"
title = "/title"
link = "https://notes.example/n/{/id}"
date = "/created"
content = "/html"
"#,
    )
    .unwrap();
    let server = FixtureServer::start().await;
    server.set(
        "/notes.example/api/ana.json",
        Reply::ok(
            r#"{"data": {"notes": [
                {"id": 9, "title": "Hello", "created": "2026-11-30T10:00:00Z", "html": "<p>Hi <script>x()</script></p>"},
                {"id": 8, "title": "Older", "created": 1796000000}
            ]}}"#,
        )
        .content_type("application/json"),
    );
    let http = Rewrite::new(&server.origin());
    let connector = RecipeConnector::new(recipe);
    assert_eq!(
        connector.recognize("https://notes.example/ana"),
        Some(json!({ "user": "ana" }))
    );
    let poll = connector
        .poll(&http, &json!({ "user": "ana" }), &PollState::default())
        .await
        .unwrap();
    assert_eq!(poll.items.len(), 2);
    assert_eq!(poll.items[0].external_id, "9");
    assert_eq!(
        poll.items[0].url.as_ref().unwrap().as_str(),
        "https://notes.example/n/9"
    );
    assert_eq!(
        poll.items[1].published,
        DateTime::<Utc>::from_timestamp(1796000000, 0)
    );
}

#[tokio::test]
async fn a_recipe_over_the_html_connector_reads_selectors() {
    let recipe = Recipe::parse(
        "zine.toml",
        r#"
name = "zine"
title = "Zine"
example = "zine.example/ana"
url = "https://zine.example/{user}/"
connector = "html"
patterns = ['^zine\.example/(?P<user>[a-z]+)/?$']

[[params]]
name = "user"
pattern = '^[a-z]+$'

[html]
items = "article.post"
title = "h2"
link = "h2 a"
date = "time"
content = ".body"
"#,
    )
    .unwrap();
    let server = FixtureServer::start().await;
    server.set(
        "/zine.example/ana/",
        Reply::ok(
            r#"<html><body>
              <article class="post"><h2><a href="/ana/1">First &amp; best</a></h2>
                <time datetime="2026-11-30T10:00:00Z">Yesterday</time>
                <div class="body"><p>Hello <script>x()</script></p></div></article>
              <article class="post"><h2><a href="/ana/2">Second</a></h2></article>
            </body></html>"#,
        )
        .content_type("text/html; charset=utf-8"),
    );
    let http = Rewrite::new(&server.origin());
    let connector = RecipeConnector::new(recipe);
    assert_eq!(
        connector.recognize("https://zine.example/ana/"),
        Some(json!({ "user": "ana" }))
    );
    let poll = connector
        .poll(&http, &json!({ "user": "ana" }), &PollState::default())
        .await
        .unwrap();
    assert_eq!(poll.items.len(), 2, "{:?}", poll.warnings);
    assert_eq!(poll.items[0].title.as_deref(), Some("First & best"));
    assert_eq!(
        poll.items[0].url.as_ref().unwrap().as_str(),
        "https://zine.example/ana/1"
    );
    assert_eq!(
        poll.items[0].published,
        Some("2026-11-30T10:00:00Z".parse::<DateTime<Utc>>().unwrap())
    );
    let accept = server.requests("/zine.example/ana/")[0]
        .header("accept")
        .unwrap_or_default()
        .to_owned();
    assert!(accept.starts_with("text/html"), "{accept}");

    // A recipe naming the html connector without selectors is refused, with the key.
    let err = Recipe::parse(
        "broken.toml",
        "name = \"broken\"\ntitle = \"B\"\nexample = \"b.example/x\"\nurl = \"https://b.example/\"\nconnector = \"html\"\npatterns = ['^b\\.example/x$']\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("broken.toml") && err.contains("html"), "{err}");
}

#[tokio::test]
async fn the_generic_json_connector_stores_sanitized_items() {
    let server = FixtureServer::start().await;
    server.set(
        "/api.example/posts.json",
        Reply::ok(
            r#"[{"slug": "a", "name": "Alpha", "at": "2026-11-30T10:00:00Z", "body": "<p onclick=\"x()\">A</p>", "img": "https://img.example/a.png"}]"#,
        )
        .content_type("application/json"),
    );
    let app = TestApp::for_sites(&server.origin());
    let items = poll_ok(
        &app,
        "json",
        json!({
            "url": "https://api.example/posts.json", "items": "", "id": "/slug", "title": "/name",
            "link": "https://site.example/{/slug}", "date": "/at", "content": "/body", "image": "/img"
        }),
    )
    .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].title, "Alpha");
    assert_eq!(items[0].kind, ItemKind::Photo);
    assert!(!items[0].content.as_str().contains("onclick"));
    assert_eq!(items[0].media[0].url.as_str(), "https://img.example/a.png");
}

const OPERATOR_RECIPE: &str = r#"
name = "zine"
title = "Zine"
description = "A zine's issues"
example = "zine.example/~ana"
url = "https://zine.example/~{user}/feed.xml"
patterns = ['^zine\.example/~(?P<user>[a-z]+)/?$']

[[params]]
name = "user"
help = "Zine user"
pattern = '^[a-z]+$'
"#;

#[test]
fn operator_recipes_load_beside_built_ins_and_a_malformed_one_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zine.toml"), OPERATOR_RECIPE).unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        OPERATOR_RECIPE
            .replace("name = \"zine\"", "name = \"broken\"")
            .replace("(?P<user>[a-z]+)", "(?P<user>[a-z+)"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a recipe").unwrap();
    // A built-in recipe may be replaced; a connector written in code may not.
    std::fs::write(
        dir.path().join("medium.toml"),
        OPERATOR_RECIPE
            .replace("name = \"zine\"", "name = \"medium\"")
            .replace("title = \"Zine\"", "title = \"My Medium\"")
            .replace("zine\\.example", "medium\\.example"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("github.toml"),
        OPERATOR_RECIPE.replace("name = \"zine\"", "name = \"github\""),
    )
    .unwrap();
    let built = tributary::registry::build(&ConnectorsConfig {
        recipes_dir: dir.path().display().to_string(),
        github_token: String::new(),
    })
    .unwrap();
    assert_eq!(built.problems.len(), 2, "{:?}", built.problems);
    let problem = &built.problems[0];
    assert!(problem.file.ends_with("broken.toml"), "{problem}");
    assert_eq!(problem.key, "patterns[0]");
    let taken = &built.problems[1];
    assert!(taken.file.ends_with("github.toml"), "{taken}");
    assert_eq!(taken.key, "name");
    assert_eq!(built.registry.get("github").unwrap().info().title, "GitHub");
    assert_eq!(
        built.registry.get("medium").unwrap().info().title,
        "My Medium"
    );
    assert!(built.registry.get("broken").is_none());
    let (connector, params) = built
        .registry
        .recognize("https://zine.example/~ana")
        .unwrap();
    assert_eq!(connector.kind(), "zine");
    assert_eq!(params, json!({ "user": "ana" }));
    // The built-ins are all still there, and feed is still the last resort.
    assert!(built.registry.get("youtube").is_some());
    assert!(built.registry.get("github").is_some());
    assert_eq!(built.registry.iter().last().map(|c| c.kind()), Some("feed"));
}

#[test]
fn a_missing_recipes_folder_is_an_error_naming_the_key() {
    let err = tributary::registry::build(&ConnectorsConfig {
        recipes_dir: "/nonexistent/tributary-recipes".into(),
        github_token: String::new(),
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("connectors.recipes_dir"), "{err}");
}

#[test]
fn tributary_connectors_lists_operator_recipes_and_reports_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    let recipes = dir.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    std::fs::write(recipes.join("zine.toml"), OPERATOR_RECIPE).unwrap();
    std::fs::write(recipes.join("bad.toml"), "name = \"bad\"\ntitle = 3\n").unwrap();
    let config = dir.path().join("tributary.toml");
    std::fs::write(
        &config,
        format!(
            "[connectors]\nrecipes_dir = {:?}\n",
            recipes.display().to_string()
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"));
    for (key, _) in std::env::vars() {
        if key.starts_with("TRIBUTARY_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let out = command
        .current_dir(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("connectors")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("zine  —  Zine  (recipe from"), "{stdout}");
    assert!(
        stdout.contains("example: tributary source add USER zine.example/~ana"),
        "{stdout}"
    );
    assert!(
        stdout.contains("param user (required): Zine user"),
        "{stdout}"
    );
    for kind in [
        "github",
        "hackernews",
        "bluesky",
        "lobsters",
        "stackexchange",
        "youtube",
        "reddit_user",
        "letterboxd",
        "goodreads",
        "json",
        "feed",
    ] {
        assert!(
            stdout.contains(&format!("{kind}  —  ")),
            "{kind} missing:\n{stdout}"
        );
    }
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("key `title`"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_test_previews_a_json_source_given_field_by_field() {
    let server = FixtureServer::start().await;
    server.set(
        "/posts.json",
        Reply::ok(r#"{"posts": [{"id": 1, "t": "From the CLI", "at": "2026-11-30T10:00:00Z"}]}"#)
            .content_type("application/json"),
    );
    let url = server.url("/posts.json");
    let origin = server.origin();
    let out = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"));
        for (key, _) in std::env::vars() {
            if key.starts_with("TRIBUTARY_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .current_dir(dir.path())
            .env("TRIBUTARY_FETCH_ALLOWED_PRIVATE_ORIGINS", origin)
            .args(["source", "test", "--json", "--kind", "json", &url])
            .args(["--param", "items=/posts", "--param", "id=/id"])
            .args(["--param", "title=/t", "--param", "date=/at"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["title"], "From the CLI");
    assert_eq!(line["published"], "2026-11-30T10:00:00+00:00");
}
