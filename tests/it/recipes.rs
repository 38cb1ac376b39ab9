//! Recipes against recorded documents served by the loopback fixture server: the URL each
//! recipe builds, what its items become, `[resolve]` lookups, request headers, and the
//! operator's recipe folder (a malformed file is reported, the others load).

use chrono::{DateTime, Utc};
use connectors::recipe::{Recipe, RecipeConnector};
use connectors::{Connector, ItemKind, PollState};
use serde_json::json;
use tributary::config::ConnectorsConfig;
use tributary::model::{Item, Media};
use url::Url;

use crate::support::app::TestApp;
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

/// One attachment as stored: its address, type, size, alt text and thumbnail.
struct Attachment {
    url: &'static str,
    media_type: Option<&'static str>,
    length: Option<u64>,
    alt: Option<&'static str>,
    thumbnail: Option<&'static str>,
}

impl Attachment {
    const fn at(url: &'static str) -> Attachment {
        Attachment {
            url,
            media_type: None,
            length: None,
            alt: None,
            thumbnail: None,
        }
    }

    const fn typed(mut self, media_type: &'static str) -> Attachment {
        self.media_type = Some(media_type);
        self
    }

    const fn length(mut self, length: u64) -> Attachment {
        self.length = Some(length);
        self
    }

    const fn alt(mut self, alt: &'static str) -> Attachment {
        self.alt = Some(alt);
        self
    }

    const fn thumbnail(mut self, thumbnail: &'static str) -> Attachment {
        self.thumbnail = Some(thumbnail);
        self
    }

    fn check(&self, at: &str, media: &Media) {
        assert_eq!(media.url.as_str(), self.url, "{at}");
        assert_eq!(media.media_type.as_deref(), self.media_type, "{at}");
        assert_eq!(media.length, self.length, "{at}");
        assert_eq!(media.alt.as_deref(), self.alt, "{at}");
        assert_eq!(
            media.thumbnail.as_ref().map(Url::as_str),
            self.thumbnail,
            "{at}"
        );
    }
}

/// One item a recorded document must become, found by its link.
struct Expected {
    link: &'static str,
    kind: ItemKind,
    title: &'static str,
    /// A piece of the item's plain text.
    text: &'static str,
    date: &'static str,
    tags: &'static [&'static str],
    /// The first attachment, and how many there are in all.
    media: Option<Attachment>,
    n_media: usize,
}

impl Expected {
    fn check(&self, recipe: &str, items: &[Item]) {
        let links: Vec<_> = items
            .iter()
            .map(|i| i.url.as_ref().map(Url::as_str))
            .collect();
        let item = items
            .iter()
            .find(|i| i.url.as_ref().is_some_and(|u| u.as_str() == self.link))
            .unwrap_or_else(|| panic!("{recipe}: no item links to {}: {links:?}", self.link));
        let at = format!("{recipe} {}", self.link);
        assert_eq!(item.kind, self.kind, "{at}");
        assert_eq!(item.title, self.title, "{at}");
        assert!(
            item.summary_text.contains(self.text),
            "{at}: {:?}",
            item.summary_text
        );
        assert_eq!(
            item.published_at,
            DateTime::parse_from_rfc3339(self.date).unwrap(),
            "{at}"
        );
        assert_eq!(item.tags, self.tags, "{at}");
        assert_eq!(item.media.len(), self.n_media, "{at}: {:?}", item.media);
        if let Some(media) = &self.media {
            media.check(&at, &item.media[0]);
        }
    }
}

/// A recipe, its parameters, the address and query it must fetch, the recorded document
/// served there, and the items that document must become.
struct RecipeCase {
    recipe: &'static str,
    params: &'static [(&'static str, &'static str)],
    address: &'static str,
    query: Option<&'static str>,
    fixture: &'static str,
    content_type: &'static str,
    items: &'static [Expected],
}

const RSS: &str = "application/rss+xml; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";

const RECIPE_CASES: &[RecipeCase] = &[
    // An image post's preview is the first <img> of its content (image_from_content); its
    // kind was decided from the text before that, so it stays an Article.
    RecipeCase {
        recipe: "reddit_subreddit",
        params: &[("subreddit", "rust")],
        address: "https://www.reddit.com/r/rust/new/.rss",
        query: None,
        fixture: include_str!("fixtures/sites/reddit_subreddit.atom"),
        content_type: "application/atom+xml; charset=UTF-8",
        items: &[
            Expected {
                link: "https://www.reddit.com/r/rust/comments/1h2k3l4/is_there_a_crate_for_reading_opml/",
                kind: ItemKind::Article,
                title: "Is there a crate for reading OPML?",
                text: "Is there a maintained crate that reads OPML 2.0",
                date: "2026-11-30T08:12:45Z",
                tags: &["r/rust"],
                media: None,
                n_media: 0,
            },
            Expected {
                link: "https://www.reddit.com/r/rust/comments/1h2m9zq/my_desk_for_advent_of_code_this_year/",
                kind: ItemKind::Article,
                title: "My desk for Advent of Code this year",
                text: "submitted by",
                date: "2026-11-30T09:41:27Z",
                tags: &["r/rust"],
                media: Some(
                    Attachment::at("https://b.thumbs.redditmedia.com/Qx7aL2mZp0d9cR4hVt3sN8yKfWuE1jB6oGiHnXlPqYs.jpg")
                        .alt("My desk for Advent of Code this year"),
                ),
                n_media: 1,
            },
        ],
    },
    RecipeCase {
        recipe: "medium",
        params: &[("user", "ana")],
        address: "https://medium.com/feed/@ana",
        query: None,
        fixture: include_str!("fixtures/sites/medium.rss"),
        content_type: "text/xml; charset=UTF-8",
        items: &[
            Expected {
                link: "https://medium.com/@ana/what-a-year-of-self-hosting-taught-me-about-backups-7c3a9e1d2b4f?source=rss-5f1e2d3c4b5a------2",
                kind: ItemKind::Article,
                title: "What a year of self-hosting taught me about backups",
                text: "Twelve months ago I moved my photos",
                date: "2026-11-28T17:21:03Z",
                tags: &["self-hosting", "backup", "sqlite"],
                media: None,
                n_media: 0,
            },
            Expected {
                link: "https://medium.com/@ana/reading-feeds-without-an-algorithm-1a2b3c4d5e6f?source=rss-5f1e2d3c4b5a------2",
                kind: ItemKind::Article,
                title: "Reading feeds without an algorithm",
                text: "I follow about ninety people.",
                date: "2026-11-10T06:05:00Z",
                tags: &["rss"],
                media: None,
                n_media: 0,
            },
        ],
    },
    RecipeCase {
        recipe: "substack",
        params: &[("publication", "ana")],
        address: "https://ana.substack.com/feed",
        query: None,
        fixture: include_str!("fixtures/sites/substack.rss"),
        content_type: "application/xml; charset=utf-8",
        items: &[
            Expected {
                link: "https://ana.substack.com/p/the-case-for-a-boring-homepage",
                kind: ItemKind::Article,
                title: "The case for a boring homepage",
                text: "My homepage is one HTML file and a stylesheet.",
                date: "2026-11-29T13:00:52Z",
                tags: &[],
                media: Some(
                    Attachment::at("https://substack-post-media.s3.amazonaws.com/public/images/3e9d2a71-8c4f-4b1e-a6d0-52f1c7e8b9a4_1600x900.jpeg")
                        .typed("image/jpeg"),
                ),
                n_media: 1,
            },
            Expected {
                link: "https://ana.substack.com/p/notes-from-a-week-without-notifications",
                kind: ItemKind::Article,
                title: "Notes from a week without notifications",
                text: "On Monday I silenced every app",
                date: "2026-11-15T13:00:10Z",
                tags: &[],
                media: None,
                n_media: 0,
            },
        ],
    },
    // A photo post's picture is the first <img> of its description (image_from_content). The
    // kind is decided from the feed before that, so a captioned photo stays an Article.
    RecipeCase {
        recipe: "tumblr",
        params: &[("blog", "ana")],
        address: "https://ana.tumblr.com/rss",
        query: None,
        fixture: include_str!("fixtures/sites/tumblr.rss"),
        content_type: RSS,
        items: &[
            Expected {
                link: "https://ana.tumblr.com/post/768123456789012345/ink-study-of-the-harbour-cranes",
                kind: ItemKind::Article,
                title: "Ink study of the harbour cranes, done on the bench by the ferry.",
                text: "Ink study of the harbour cranes",
                date: "2026-11-29T00:44:07Z",
                tags: &["ink", "sketchbook", "harbour"],
                media: Some(
                    Attachment::at("https://64.media.tumblr.com/6b1f0c3e9a2d4e8f7a5b3c1d0e9f8a7b/4c2e1a0b9d8f7e6c-3a/s1280x1920/9f2b7d4e1c0a3b5d6e8f.jpg")
                        .alt("Ink study of the harbour cranes, done on the bench by the ferry."),
                ),
                n_media: 1,
            },
            Expected {
                link: "https://ana.tumblr.com/post/767998877665544332/on-carrying-a-sketchbook-everywhere",
                kind: ItemKind::Article,
                title: "On carrying a sketchbook everywhere",
                text: "I draw in the four minutes before the bus comes",
                date: "2026-11-19T13:30:00Z",
                tags: &["sketchbook", "process"],
                media: None,
                n_media: 0,
            },
        ],
    },
    RecipeCase {
        recipe: "devto",
        params: &[("user", "ana")],
        address: "https://dev.to/feed/ana",
        query: None,
        fixture: include_str!("fixtures/sites/devto.rss"),
        content_type: RSS,
        items: &[
            Expected {
                link: "https://dev.to/ana/conditional-get-in-five-lines-of-rust-4k2p",
                kind: ItemKind::Article,
                title: "Conditional GET in five lines of Rust",
                text: "Polling a feed every hour is cheap",
                date: "2026-11-25T09:12:44Z",
                tags: &["rust", "http", "rss"],
                media: None,
                n_media: 0,
            },
            Expected {
                link: "https://dev.to/ana/my-first-week-with-sqlite-fts5-2m9d",
                kind: ItemKind::Article,
                title: "My first week with SQLite FTS5",
                text: "Full-text search without a search server",
                date: "2026-11-09T16:40:00Z",
                tags: &["sqlite", "search"],
                media: None,
                n_media: 0,
            },
        ],
    },
    // WordPress.com lists the author's Gravatar as one more media:content of every post: it
    // comes through as a second attachment, and feed-rs gives every media:content of an
    // item the last media:title, the Gravatar's ("ana").
    RecipeCase {
        recipe: "wordpress",
        params: &[("site", "ana")],
        address: "https://ana.wordpress.com/feed/",
        query: None,
        fixture: include_str!("fixtures/sites/wordpress.rss"),
        content_type: "application/rss+xml; charset=UTF-8",
        items: &[
            Expected {
                link: "https://ana.wordpress.com/2026/11/29/putting-the-beds-to-sleep-for-winter/",
                kind: ItemKind::Article,
                title: "Putting the beds to sleep for winter",
                text: "The last leeks are in",
                date: "2026-11-29T10:15:32Z",
                tags: &["Allotment", "compost", "winter"],
                media: Some(
                    Attachment::at("https://ana.wordpress.com/wp-content/uploads/2026/11/beds-under-cardboard.jpg")
                        .alt("ana")
                        .thumbnail("https://ana.wordpress.com/wp-content/uploads/2026/11/beds-under-cardboard.jpg"),
                ),
                n_media: 2,
            },
            Expected {
                link: "https://ana.wordpress.com/2026/11/12/first-frost/",
                kind: ItemKind::Article,
                title: "First frost",
                text: "Minus two this morning.",
                date: "2026-11-12T07:02:10Z",
                tags: &["Allotment"],
                media: Some(
                    Attachment::at("https://ana.wordpress.com/wp-content/uploads/2026/11/frosted-chard.jpg")
                        .alt("ana")
                        .thumbnail("https://ana.wordpress.com/wp-content/uploads/2026/11/frosted-chard.jpg"),
                ),
                n_media: 2,
            },
        ],
    },
    RecipeCase {
        recipe: "mastodon_rss",
        params: &[("host", "mastodon.social"), ("user", "ana")],
        address: "https://mastodon.social/@ana.rss",
        query: None,
        fixture: include_str!("fixtures/sites/mastodon.rss"),
        content_type: RSS,
        items: &[
            Expected {
                link: "https://mastodon.social/@ana/113567890123456789",
                kind: ItemKind::Photo,
                title: "",
                text: "Sunday loaf, third attempt at a higher hydration.",
                date: "2026-11-29T14:03:12Z",
                tags: &["sourdough", "baking"],
                media: Some(
                    Attachment::at("https://files.mastodon.social/media_attachments/files/113/567/890/123/456/789/original/a4c9e2f17b3d8e05.jpeg")
                        .typed("image/jpeg")
                        .length(284519)
                        .alt("A round sourdough loaf cut in half on a wooden board, showing large irregular holes."),
                ),
                n_media: 1,
            },
            Expected {
                link: "https://mastodon.social/@ana/113551234567890123",
                kind: ItemKind::Note,
                title: "",
                text: "Reminder that your RSS reader still works",
                date: "2026-11-26T18:47:55Z",
                tags: &[],
                media: None,
                n_media: 0,
            },
        ],
    },
    RecipeCase {
        recipe: "pixelfed",
        params: &[("host", "pixelfed.social"), ("user", "ana")],
        address: "https://pixelfed.social/users/ana.atom",
        query: None,
        fixture: include_str!("fixtures/sites/pixelfed.atom"),
        content_type: ATOM,
        items: &[
            Expected {
                link: "https://pixelfed.social/p/ana/745612398745612398",
                kind: ItemKind::Photo,
                title: "Low tide at Kåseberga, Portra 400",
                text: "Low tide at Kåseberga",
                date: "2026-11-28T16:20:41Z",
                tags: &[],
                media: Some(
                    Attachment::at("https://pxscdn.com/public/m/_v2/598765432109876543/3a1b2c3d4-e5f6a7/Xk9mQ2pL7vR4tN8w/Zb3cD5eF7gH9jK1mN3pQ5rS7tU9vW1xY3.jpg")
                        .typed("image/jpeg"),
                ),
                n_media: 1,
            },
            Expected {
                link: "https://pixelfed.social/p/ana/744890123456789012",
                kind: ItemKind::Photo,
                title: "Harbour lights",
                text: "Harbour lights",
                date: "2026-11-21T20:05:13Z",
                tags: &[],
                media: Some(
                    Attachment::at("https://pxscdn.com/public/m/_v2/598765432109876543/9f8e7d6c5-b4a392/Pq2Rs4Tu6Vw8Xy0Z/Ab1Cd3Ef5Gh7Ij9Kl1Mn3Op5Qr7St9Uv1.png")
                        .typed("image/png"),
                ),
                n_media: 1,
            },
        ],
    },
    // Each resolution of a video is one attachment; the enclosure repeats the first.
    RecipeCase {
        recipe: "peertube",
        params: &[("host", "framatube.org"), ("account", "ana")],
        address: "https://framatube.org/feeds/videos.xml",
        query: Some("accountName=ana"),
        fixture: include_str!("fixtures/sites/peertube.rss"),
        content_type: "application/xml; charset=utf-8",
        items: &[
            Expected {
                link: "https://framatube.org/w/kkGMgK9ZtnKfYAgnEtQxbv",
                kind: ItemKind::Video,
                title: "Fixing a 1970s desk lamp",
                text: "A new switch, a new cable",
                date: "2026-11-27T15:30:00Z",
                tags: &[],
                media: Some(
                    Attachment::at("https://framatube.org/static/web-videos/9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d-1080.mp4")
                        .typed("video/mp4")
                        .length(48213576)
                        .alt("A new switch, a new cable and a lot of patience with one stuck screw.")
                        .thumbnail("https://framatube.org/lazy-static/thumbnails/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9.jpg"),
                ),
                n_media: 2,
            },
            Expected {
                link: "https://framatube.org/w/3pQ8rT2vXyZ9aBcDeFgH1j",
                kind: ItemKind::Video,
                title: "Darning a wool sock, slowly",
                text: "Twenty minutes, one mushroom",
                date: "2026-11-13T11:00:00Z",
                tags: &[],
                media: Some(
                    Attachment::at("https://framatube.org/static/web-videos/2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e-720.mp4")
                        .typed("video/mp4")
                        .length(30555120)
                        .alt("Twenty minutes, one mushroom, no cuts.")
                        .thumbnail("https://framatube.org/lazy-static/thumbnails/0a1b2c3d-4e5f-4a6b-7c8d-9e0f1a2b3c4d.jpg"),
                ),
                n_media: 1,
            },
        ],
    },
    // A link post links to the page it shares; a text post to itself.
    RecipeCase {
        recipe: "lemmy",
        params: &[("host", "lemmy.world"), ("user", "ana")],
        address: "https://lemmy.world/feeds/u/ana.xml",
        query: Some("sort=New"),
        fixture: include_str!("fixtures/sites/lemmy.rss"),
        content_type: "application/rss+xml",
        items: &[
            Expected {
                link: "https://www.rssboard.org/rss-history",
                kind: ItemKind::Article,
                title: "TIL the first web feed format was made for Netscape's portal in 1999",
                text: "submitted by ana to todayilearned",
                date: "2026-11-29T21:08:44Z",
                tags: &[],
                media: None,
                n_media: 0,
            },
            Expected {
                link: "https://lemmy.world/post/22301958",
                kind: ItemKind::Article,
                title: "What do you use to read feeds on a phone?",
                text: "Native apps that speak Fever",
                date: "2026-11-24T12:30:02Z",
                tags: &[],
                media: None,
                n_media: 0,
            },
        ],
    },
    RecipeCase {
        recipe: "bookwyrm",
        params: &[("host", "bookwyrm.social"), ("user", "ana")],
        address: "https://bookwyrm.social/user/ana/rss",
        query: None,
        fixture: include_str!("fixtures/sites/bookwyrm.rss"),
        content_type: RSS,
        items: &[
            Expected {
                link: "https://bookwyrm.social/user/ana/review/4821937#anchor-4821937",
                kind: ItemKind::Article,
                title: "Ana reviewed Piranesi",
                text: "I read it in two evenings",
                date: "2026-11-28T22:10:05Z",
                tags: &[],
                media: None,
                n_media: 0,
            },
            Expected {
                link: "https://bookwyrm.social/user/ana/reviewrating/4799102#anchor-4799102",
                kind: ItemKind::Article,
                title: "Ana rated The Dispossessed",
                text: "4 stars",
                date: "2026-11-22T09:45:31Z",
                tags: &[],
                media: None,
                n_media: 0,
            },
        ],
    },
    RecipeCase {
        recipe: "flickr",
        params: &[("nsid", "12345678@N00")],
        address: "https://www.flickr.com/services/feeds/photos_public.gne",
        query: Some("id=12345678%40N00&format=atom"),
        fixture: include_str!("fixtures/sites/flickr_public.atom"),
        content_type: ATOM,
        items: &[
            Expected {
                link: "https://www.flickr.com/photos/ana/54167235901/",
                kind: ItemKind::Photo,
                title: "Snow on the ferry ramp",
                text: "First snow of the year",
                date: "2026-11-27T14:22:09Z",
                tags: &["snow", "ferry", "winter"],
                media: Some(
                    Attachment::at(
                        "https://live.staticflickr.com/65535/54167235901_3f9c2a7e1b_b.jpg",
                    )
                    .typed("image/jpeg"),
                ),
                n_media: 1,
            },
            Expected {
                link: "https://www.flickr.com/photos/ana/54150982277/",
                kind: ItemKind::Photo,
                title: "Rowan berries",
                text: "Ana Lindqvist posted a photo",
                date: "2026-11-20T10:03:51Z",
                tags: &["autumn"],
                media: Some(
                    Attachment::at(
                        "https://live.staticflickr.com/65535/54150982277_8d1e4b6c0a_b.jpg",
                    )
                    .typed("image/jpeg"),
                ),
                n_media: 1,
            },
        ],
    },
    // The channel feed the handle test reads, here by channel id.
    RecipeCase {
        recipe: "youtube",
        params: &[("channel_id", "UC_x5XG1OV2P6uZZ5FSM9Ttw")],
        address: "https://www.youtube.com/feeds/videos.xml",
        query: Some("channel_id=UC_x5XG1OV2P6uZZ5FSM9Ttw"),
        fixture: YOUTUBE_FEED,
        content_type: "text/xml; charset=UTF-8",
        items: &[Expected {
            link: "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            kind: ItemKind::Video,
            title: "Building a lifestream in an afternoon",
            text: "",
            date: "2026-11-29T16:00:06Z",
            tags: &[],
            media: Some(
                Attachment::at("https://www.youtube.com/v/dQw4w9WgXcQ?version=3")
                    .typed("application/x-shockwave-flash")
                    .alt("Feeds, recipes and a bit of SQLite.")
                    .thumbnail("https://i2.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"),
            ),
            n_media: 1,
        }],
    },
];

/// Every other recipe, against a recorded document shaped like its site's: the address it
/// builds from its parameters, and what each item becomes.
#[tokio::test]
async fn every_feed_recipe_reads_the_address_it_builds() {
    let server = FixtureServer::start().await;
    let app = TestApp::for_sites(&server.origin());
    for case in RECIPE_CASES {
        let recipe = case.recipe;
        let path = Rewrite::path_of(case.address);
        server.set(
            &path,
            Reply::ok(case.fixture).content_type(case.content_type),
        );
        server.clear_requests();
        let params = case
            .params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), json!(value)))
            .collect();
        let items = poll_ok(&app, recipe, serde_json::Value::Object(params)).await;
        let requests = server.requests(&path);
        assert_eq!(requests.len(), 1, "{recipe} did not fetch {}", case.address);
        assert_eq!(requests[0].query.as_deref(), case.query, "{recipe}");
        assert_eq!(items.len(), case.items.len(), "{recipe}");
        for expected in case.items {
            expected.check(recipe, &items);
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
