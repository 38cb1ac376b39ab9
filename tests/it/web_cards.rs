//! Cards by kind over real HTTP, from feeds polled through the real pipeline off the
//! fixture server: a podcast plays, a Flash-typed YouTube video shows its thumbnail, a
//! photo shows once, twenty GitHub pushes fold into one card; filter chips and per-source
//! feeds; and the weight of a logged-in page.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use tributary::config::SchedulerConfig;
use tributary::ingest::Ingest;
use tributary::model::{SourceId, UserId};
use tributary::store::sources;

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::rewrite::Rewrite;
use crate::support::web::WebApp;
use crate::web_stream::{NO_FIXTURES, add_item, add_source};

/// A tiny real PNG (64×36), served as every thumbnail and photo.
pub const THUMB_PNG: &[u8] = include_bytes!("fixtures/cards/thumb.png");

/// A real 16×16 ICO file (one PNG picture inside), the photo site's favicon.
pub fn favicon_ico() -> Vec<u8> {
    let mut ico = vec![0, 0, 1, 0, 1, 0];
    // One directory entry: 16×16, no palette, 1 plane, 32 bits, the PNG's size and offset.
    ico.extend_from_slice(&[16, 16, 0, 0, 1, 0, 32, 0]);
    ico.extend_from_slice(&(FAVICON_PNG.len() as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    ico.extend_from_slice(FAVICON_PNG);
    ico
}

/// The picture inside [`favicon_ico`]: the 64×36 thumbnail works as well as any.
const FAVICON_PNG: &[u8] = THUMB_PNG;

/// The fixture server, the app, and Ana's four sources after one poll each.
pub struct CardsFixture {
    pub server: FixtureServer,
    pub app: WebApp,
    pub podcast: SourceId,
    pub video: SourceId,
    pub photo: SourceId,
    pub github: SourceId,
}

impl CardsFixture {
    /// Serves the feeds and pictures, starts the app, adds and polls the sources.
    pub async fn start() -> CardsFixture {
        let server = FixtureServer::start().await;
        let origin = server.origin();
        let now = Utc::now();
        // Each feed an hour apart, so that each source's items stay their own cards.
        let at = |hours: i64| (now - TimeDelta::hours(hours)).to_rfc3339();
        server.set("/thumb.png", Reply::ok(THUMB_PNG).content_type("image/png"));
        server.set("/cat.png", Reply::ok(THUMB_PNG).content_type("image/png"));
        // The photo site has a favicon; the other sites answer 404 for theirs.
        server.set(
            "/photo.example/favicon.ico",
            Reply::ok(favicon_ico()).content_type("image/vnd.microsoft.icon"),
        );
        server.set(
            "/ep1.mp3",
            Reply::ok(&b"ID3"[..]).content_type("audio/mpeg"),
        );
        server.set(
            "/podcast.example/feed.xml",
            Reply::ok(podcast_feed(
                &origin,
                &(now - TimeDelta::hours(2)).to_rfc2822(),
            ))
            .content_type("application/rss+xml"),
        );
        server.set(
            "/video.example/feed.xml",
            Reply::ok(video_feed(&origin, &at(3))).content_type("application/atom+xml"),
        );
        server.set(
            "/photo.example/feed.xml",
            Reply::ok(photo_feed(&origin, &at(4))).content_type("application/atom+xml"),
        );
        server.set(
            "/api.github.com/users/ana/events/public",
            Reply::ok(github_events(now)).content_type("application/json"),
        );
        let app = WebApp::start_for_sites(&origin).await;
        let ana = app.create_user("ana", false);
        let feed = |host: &str| serde_json::json!({ "url": format!("https://{host}/feed.xml") });
        let podcast = insert_source(&app, ana, "feed", &feed("podcast.example"));
        let video = insert_source(&app, ana, "feed", &feed("video.example"));
        let photo = insert_source(&app, ana, "feed", &feed("photo.example"));
        let github = insert_source(&app, ana, "github", &serde_json::json!({ "user": "ana" }));
        let ingest = fixture_ingest(&app, &origin);
        for source in [podcast, video, photo, github] {
            let report = ingest.poll_source(source).await.unwrap();
            assert_eq!(report.error, None, "{report:?}");
            assert!(report.n_new > 0, "{report:?}");
        }
        CardsFixture {
            server,
            app,
            podcast,
            video,
            photo,
            github,
        }
    }
}

/// The real ingest against the fixture server, keeping site icons in `app`'s media store.
fn fixture_ingest(app: &WebApp, origin: &str) -> Ingest {
    let ingest = Ingest::new(
        app.store.clone(),
        Arc::new(Rewrite::new(origin)),
        Arc::new(connectors::Registry::default()),
        SchedulerConfig::default(),
    );
    ingest.set_media(tributary::media::MediaStore::new(
        app.store.clone(),
        &tributary::config::MediaConfig::default(),
    ));
    ingest
}

fn insert_source(app: &WebApp, user: UserId, kind: &str, params: &serde_json::Value) -> SourceId {
    app.store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: user,
                    kind,
                    params,
                    title: "",
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap()
}

/// A podcast with one episode and its mp3 enclosure.
fn podcast_feed(origin: &str, published: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fixture Cast</title><link>https://podcast.example/</link>
<description>A podcast</description>
<item><guid>ep1</guid><title>Episode one</title><link>https://podcast.example/ep1</link>
<pubDate>{published}</pubDate><description>We talk.</description>
<enclosure url="{origin}/ep1.mp3" length="12345678" type="audio/mpeg"/></item>
</channel></rss>"#
    )
}

/// A YouTube-like feed: `media:group` with a Flash-typed `media:content` and a thumbnail.
fn video_feed(origin: &str, published: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<title>Fixture Tube</title><id>urn:video</id><updated>{published}</updated>
<link rel="alternate" href="https://video.example/"/>
<entry><id>urn:video:1</id><title>A video</title>
<link rel="alternate" href="https://video.example/watch?v=1"/>
<published>{published}</published><updated>{published}</updated>
<media:group><media:title>A video</media:title>
<media:content url="https://video.example/v/1?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
<media:thumbnail url="{origin}/thumb.png" width="64" height="36"/>
<media:description>Watch this.</media:description></media:group></entry>
</feed>"#
    )
}

/// A photo post whose body has the `<img>` and whose enclosure is the same picture.
fn photo_feed(origin: &str, published: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Fixture Photos</title><id>urn:photos</id><updated>{published}</updated>
<entry><id>urn:photo:1</id><title>A cat</title>
<link rel="alternate" href="https://photo.example/cat"/>
<link rel="enclosure" type="image/png" href="{origin}/cat.png"/>
<published>{published}</published><updated>{published}</updated>
<content type="html">&lt;p&gt;&lt;img src="{origin}/cat.png" alt="a cat"&gt;&lt;/p&gt;</content>
</entry></feed>"#
    )
}

/// Twenty one-commit pushes to miniflux/v2, a minute apart, the newest now.
fn github_events(now: chrono::DateTime<Utc>) -> String {
    let events: Vec<serde_json::Value> = (0..20)
        .map(|n| {
            serde_json::json!({
                "id": format!("{}", 50_000 + n),
                "type": "PushEvent",
                "actor": { "id": 1, "login": "ana", "display_login": "ana" },
                "repo": { "id": 7, "name": "miniflux/v2" },
                "payload": {
                    "size": 1, "distinct_size": 1, "ref": "refs/heads/main",
                    "before": format!("{:040x}", n), "head": format!("{:040x}", n + 1),
                    "commits": [{ "sha": format!("{:040x}", n + 1), "message": format!("Commit number {n}") }]
                },
                "public": true,
                "created_at": (now - TimeDelta::minutes(n)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        })
        .collect();
    serde_json::Value::Array(events).to_string()
}

/// The `<article …>` element of the card whose HTML contains `needle`.
fn card_with<'a>(page: &'a str, needle: &str) -> &'a str {
    let at = page
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not on the page:\n{page}"));
    let start = page[..at].rfind("<article").expect("inside a card");
    let end = at + page[at..].find("</article>").expect("the card ends");
    &page[start..end]
}

#[tokio::test]
async fn cards_show_each_kind() {
    let fixture = CardsFixture::start().await;
    let origin = fixture.server.origin();
    let page = fixture.app.client().get("/ana").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;

    // The podcast plays its enclosure, with a link to the file and its size.
    let podcast = card_with(body, "Episode one");
    assert!(
        podcast.contains(&format!(
            r#"<audio controls preload="none" src="{origin}/ep1.mp3">"#
        )),
        "{podcast}"
    );
    assert!(podcast.contains("12.3 MB"), "{podcast}");

    // The video shows its thumbnail with a play mark and links out, with no embed.
    let video = card_with(body, "A video");
    assert!(
        video.contains(&format!(r#"src="{origin}/thumb.png""#)),
        "{video}"
    );
    assert!(video.contains("play-mark"), "{video}");
    assert!(!body.contains("<iframe"), "{body}");

    // The photo appears once.
    let photo = card_with(body, "A cat");
    assert_eq!(photo.matches("/cat.png").count(), 1, "{photo}");

    // Twenty pushes are one card naming three.
    let burst = card_with(body, "ana pushed 20 commits to miniflux/v2");
    assert!(burst.contains("and 17 more"), "{burst}");
    assert_eq!(burst.matches("<li ").count(), 3, "{burst}");
    assert!(
        burst.contains(&format!(r#"href="/ana?source={}""#, fixture.github)),
        "{burst}"
    );
    // Every card has a service icon from the embedded set.
    assert!(body.contains("service-github.svg"), "{body}");
    assert!(body.contains("service-feed.svg"), "{body}");
}

/// The `src` of a card's service icon.
fn service_icon_of(card: &str) -> &str {
    let at = card
        .find("class=\"service-icon\" src=\"")
        .expect("a service icon")
        + 26;
    &card[at..at + card[at..].find('"').unwrap()]
}

#[tokio::test]
async fn a_plain_feed_shows_its_sites_icon_fetched_once() {
    let fixture = CardsFixture::start().await;
    let client = fixture.app.client();
    let page = client.get("/ana").await;
    // The photo site's favicon, from the media store, on its card and its chip.
    let photo = card_with(&page.body, "A cat");
    let icon = service_icon_of(photo);
    assert!(icon.starts_with("/media/"), "{photo}");
    let chip_at = page
        .body
        .find(&format!(r#"href="/ana?source={}""#, fixture.photo))
        .unwrap();
    assert!(
        page.body[chip_at..chip_at + 200].contains(icon),
        "{}",
        &page.body[chip_at..]
    );
    let served = client
        .http
        .get(format!("{}{icon}", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        served.headers().get("content-type").unwrap(),
        "image/x-icon"
    );
    assert_eq!(served.bytes().await.unwrap(), favicon_ico());
    // A site without one keeps the kind's icon; an embedded service asks nobody.
    let podcast = card_with(&page.body, "Episode one");
    assert!(
        service_icon_of(podcast).contains("service-podcast"),
        "{podcast}"
    );
    assert_eq!(
        fixture
            .server
            .requests("/podcast.example/favicon.ico")
            .len(),
        1
    );
    assert!(
        fixture
            .server
            .requests("/api.github.com/favicon.ico")
            .is_empty()
    );
    // Fetched once: the next poll does not ask again.
    let ingest = fixture_ingest(&fixture.app, &fixture.server.origin());
    for source in [fixture.photo, fixture.podcast] {
        let report = ingest.poll_source(source).await.unwrap();
        assert_eq!(report.error, None, "{report:?}");
    }
    assert_eq!(
        fixture.server.requests("/photo.example/favicon.ico").len(),
        1
    );
    assert_eq!(
        fixture
            .server
            .requests("/podcast.example/favicon.ico")
            .len(),
        1
    );
}

#[tokio::test]
async fn service_icons_are_served() {
    let fixture = CardsFixture::start().await;
    let client = fixture.app.client();
    let page = client.get("/ana").await;
    let at = page.body.find("/service-github.svg").expect("an icon");
    let start = page.body[..at].rfind('"').unwrap() + 1;
    let icon = client
        .get(&page.body[start..at + "/service-github.svg".len()])
        .await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(
        icon.headers.get("content-type").unwrap().to_str().unwrap(),
        "image/svg+xml"
    );
    assert!(icon.body.starts_with("<svg"), "{}", icon.body);
}

#[tokio::test]
async fn a_source_stream_shows_every_item_of_that_source_only() {
    let fixture = CardsFixture::start().await;
    let client = fixture.app.client();
    let page = client.get(&format!("/ana?source={}", fixture.github)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Unfolded: twenty pushes on a page of twenty.
    assert_eq!(
        page.body.matches("<article class=\"item").count(),
        20,
        "{}",
        page.body
    );
    assert!(!page.body.contains("Episode one"), "{}", page.body);
    assert!(!page.body.contains("pushed 20 commits"), "{}", page.body);
    // Its feeds.
    assert!(
        page.body
            .contains(&format!("/ana/source/{}/feed.atom", fixture.github)),
        "{}",
        page.body
    );
    let feed = client
        .get(&format!("/ana/source/{}/feed.atom", fixture.podcast))
        .await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    assert!(feed.body.contains("Episode one"), "{}", feed.body);
    assert!(!feed.body.contains("A video"), "{}", feed.body);
    for format in ["rss", "json"] {
        let other = client
            .get(&format!("/ana/source/{}/feed.{format}", fixture.video))
            .await;
        assert_eq!(other.status, StatusCode::OK, "{format}");
        assert!(other.body.contains("A video"), "{format}: {}", other.body);
    }
    assert_eq!(
        client.get("/ana/source/9999/feed.atom").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn chips_filter_by_service_and_by_source() {
    let fixture = CardsFixture::start().await;
    let client = fixture.app.client();
    let page = client.get("/ana").await;
    let chips_at = page.body.find("filter-chips").expect("chips on the page");
    let chips = &page.body[chips_at..chips_at + page.body[chips_at..].find("</nav>").unwrap()];
    assert!(chips.contains(r#"href="/ana?service=github""#), "{chips}");
    assert!(chips.contains(r#"href="/ana?service=feed""#), "{chips}");
    for source in [
        fixture.podcast,
        fixture.video,
        fixture.photo,
        fixture.github,
    ] {
        assert!(
            chips.contains(&format!(r#"href="/ana?source={source}""#)),
            "{chips}"
        );
    }
    // A card's source link goes to that source, its icon to the service.
    let podcast = card_with(&page.body, "Episode one");
    assert!(
        podcast.contains(&format!(r#"href="/ana?source={}""#, fixture.podcast)),
        "{podcast}"
    );
    assert!(podcast.contains(r#"href="/ana?service=feed""#), "{podcast}");
    // The service filter and its feed.
    let github = client.get("/ana?service=github").await;
    assert!(github.body.contains("pushed 20 commits"), "{}", github.body);
    assert!(!github.body.contains("Episode one"), "{}", github.body);
    assert!(
        github.body.contains("/ana/github/feed.atom"),
        "{}",
        github.body
    );
}

#[tokio::test]
async fn anonymous_pages_are_cached_per_filter() {
    let fixture = CardsFixture::start().await;
    let client = fixture.app.client();
    let video = client.get(&format!("/ana?source={}", fixture.video)).await;
    let photo = client.get(&format!("/ana?source={}", fixture.photo)).await;
    assert!(video.body.contains("A video") && !video.body.contains("A cat"));
    assert!(photo.body.contains("A cat") && !photo.body.contains("A video"));
}

#[tokio::test]
async fn logged_in_stream_of_twenty_items_is_at_most_40_kb() {
    // See: #19. 58 KB and 92 forms before.
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    // Two hours apart: no bursts fold them.
    for n in 0..20 {
        add_item(&app, source, ana, &format!("p{n}"), n * 120);
    }
    for (name, client) in [
        ("ana", app.logged_in("ana").await),
        ("bo", app.logged_in("bo").await),
    ] {
        let page = client.get("/ana").await;
        assert_eq!(page.status, StatusCode::OK);
        let n_cards = page.body.matches("<article class=\"item").count();
        assert_eq!(n_cards, 20, "{name}");
        assert!(
            page.body.len() <= 40 * 1024,
            "{name}: {} bytes",
            page.body.len()
        );
        // The owner's page has the compose box (one textarea, one more form); no card
        // carries a comment form.
        let own = name == "ana";
        assert_eq!(
            page.body.matches("<textarea").count(),
            usize::from(own),
            "{name}"
        );
        let n_forms = page.body.matches("<form").count() - usize::from(own);
        // The search box and logout in the nav, follow and block, and the one action
        // form every card's buttons use. Every form but the search box (a GET) carries
        // the token.
        assert!(n_forms <= 5, "{name}: {n_forms} forms");
        assert_eq!(
            page.body.matches("name=\"csrf\"").count() - usize::from(own),
            n_forms - 1,
            "{name}"
        );
        assert_eq!(
            page.body
                .matches("<button class=\"like\" form=\"act\"")
                .count(),
            n_cards,
            "{name}"
        );
        assert_eq!(
            page.body.matches("#comment\">Comment</a>").count(),
            n_cards,
            "{name}"
        );
        eprintln!("{name}: {} bytes, {n_forms} forms", page.body.len());
    }
}

#[tokio::test]
async fn item_page_keeps_the_comment_form() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "one", 5);
    let client = app.logged_in("ana").await;
    let page = client.get(&format!("/e/{item}")).await;
    assert!(
        page.body
            .contains(r#"<form class="comment-form" id="comment""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("<textarea"), "{}", page.body);
}
