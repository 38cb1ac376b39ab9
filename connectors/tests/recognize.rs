//! Paste-anything recognition: real-world URL and handle shapes, each resolved to the
//! connector (and parameters) a person would expect, and shapes that must fall through.

use connectors::Registry;
use serde_json::{Value, json};

/// (input, expected kind or None, expected params or Null to skip the check)
fn table() -> Vec<(&'static str, Option<&'static str>, Value)> {
    vec![
        // GitHub
        ("github.com/ana", Some("github"), json!({"user": "ana"})),
        (
            "https://github.com/ana/",
            Some("github"),
            json!({"user": "ana"}),
        ),
        (
            "https://www.github.com/Octo-Cat",
            Some("github"),
            json!({"user": "Octo-Cat"}),
        ),
        // A repository is not the user's events: it falls to feed discovery.
        ("github.com/ana/repo", Some("feed"), Value::Null),
        ("https://github.com/", Some("feed"), Value::Null),
        ("https://github.com/settings", Some("feed"), Value::Null),
        ("https://github.com/orgs", Some("feed"), Value::Null),
        ("https://github.com/-bad-", Some("feed"), Value::Null),
        // Hacker News
        (
            "news.ycombinator.com/user?id=ana",
            Some("hackernews"),
            json!({"user": "ana"}),
        ),
        (
            "https://news.ycombinator.com/submitted?id=pg",
            Some("hackernews"),
            json!({"user": "pg"}),
        ),
        (
            "https://news.ycombinator.com/threads?id=dang",
            Some("hackernews"),
            json!({"user": "dang"}),
        ),
        (
            "https://news.ycombinator.com/item?id=123",
            Some("feed"),
            Value::Null,
        ),
        (
            "https://news.ycombinator.com/user",
            Some("feed"),
            Value::Null,
        ),
        // Bluesky
        (
            "ana.bsky.social",
            Some("bluesky"),
            json!({"actor": "ana.bsky.social"}),
        ),
        (
            "@ana.bsky.social",
            Some("bluesky"),
            json!({"actor": "ana.bsky.social"}),
        ),
        (
            "@Jay.Example.com",
            Some("bluesky"),
            json!({"actor": "jay.example.com"}),
        ),
        (
            "https://bsky.app/profile/ana.bsky.social",
            Some("bluesky"),
            json!({"actor": "ana.bsky.social"}),
        ),
        (
            "bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur",
            Some("bluesky"),
            json!({"actor": "did:plc:z72i7hdynmk6r22z27h6tvur"}),
        ),
        (
            "https://bsky.app/profile/ana.bsky.social/post/3kabc",
            Some("bluesky"),
            json!({"actor": "ana.bsky.social"}),
        ),
        ("https://bsky.app/", Some("feed"), Value::Null),
        // Fediverse handles and profile shapes go to the ActivityPub connector (its own
        // tests check the parameters).
        ("@ana@mastodon.social", Some("activitypub"), Value::Null),
        ("ana@mastodon.social", Some("activitypub"), Value::Null),
        // Lobsters
        ("lobste.rs/~ana", Some("lobsters"), json!({"user": "ana"})),
        (
            "https://lobste.rs/~ana/stories",
            Some("lobsters"),
            json!({"user": "ana"}),
        ),
        (
            "https://lobste.rs/newest/ana",
            Some("lobsters"),
            json!({"user": "ana"}),
        ),
        (
            "https://lobste.rs/s/abc123/some_story",
            Some("feed"),
            Value::Null,
        ),
        // Stack Exchange
        (
            "stackoverflow.com/users/123/ana",
            Some("stackexchange"),
            json!({"user_id": 123, "site": "stackoverflow"}),
        ),
        (
            "https://math.stackexchange.com/users/42/bob",
            Some("stackexchange"),
            json!({"user_id": 42, "site": "math"}),
        ),
        (
            "https://superuser.com/users/7",
            Some("stackexchange"),
            json!({"user_id": 7, "site": "superuser"}),
        ),
        (
            "https://stackoverflow.com/questions/1/x",
            Some("feed"),
            Value::Null,
        ),
        // YouTube
        (
            "youtube.com/@ana",
            Some("youtube"),
            json!({"handle": "ana"}),
        ),
        (
            "https://www.youtube.com/@Ana.Makes/videos",
            Some("youtube"),
            json!({"handle": "Ana.Makes"}),
        ),
        (
            "https://m.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw",
            Some("youtube"),
            json!({"channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"}),
        ),
        (
            "https://www.youtube.com/feeds/videos.xml?channel_id=UC_x5XG1OV2P6uZZ5FSM9Ttw",
            Some("youtube"),
            json!({"channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"}),
        ),
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            Some("feed"),
            Value::Null,
        ),
        (
            "https://www.youtube.com/channel/UCshort",
            Some("feed"),
            Value::Null,
        ),
        // Reddit
        (
            "reddit.com/user/ana",
            Some("reddit_user"),
            json!({"user": "ana"}),
        ),
        (
            "https://old.reddit.com/u/spez/submitted/",
            Some("reddit_user"),
            json!({"user": "spez"}),
        ),
        (
            "https://www.reddit.com/r/rust",
            Some("reddit_subreddit"),
            json!({"subreddit": "rust"}),
        ),
        (
            "https://www.reddit.com/r/rust/new/.rss",
            Some("reddit_subreddit"),
            json!({"subreddit": "rust"}),
        ),
        (
            "https://www.reddit.com/r/rust/comments/abc/title/",
            Some("feed"),
            Value::Null,
        ),
        // Letterboxd
        (
            "letterboxd.com/ana",
            Some("letterboxd"),
            json!({"user": "ana"}),
        ),
        (
            "https://letterboxd.com/ana/films/diary/",
            Some("letterboxd"),
            json!({"user": "ana"}),
        ),
        (
            "https://letterboxd.com/film/past-lives/",
            Some("feed"),
            Value::Null,
        ),
        ("https://letterboxd.com/films/", Some("feed"), Value::Null),
        // Goodreads
        (
            "https://www.goodreads.com/review/list/1234567-ana?shelf=to-read",
            Some("goodreads"),
            json!({"user_id": "1234567", "shelf": "to-read"}),
        ),
        (
            "goodreads.com/review/list/1234567",
            Some("goodreads"),
            json!({"user_id": "1234567"}),
        ),
        (
            "https://www.goodreads.com/user/show/1234567-ana",
            Some("goodreads"),
            json!({"user_id": "1234567"}),
        ),
        (
            "https://www.goodreads.com/book/show/5107.The_Catcher",
            Some("feed"),
            Value::Null,
        ),
        // Blogs and platforms
        ("medium.com/@ana", Some("medium"), json!({"user": "ana"})),
        (
            "ana.substack.com",
            Some("substack"),
            json!({"publication": "ana"}),
        ),
        (
            "https://ana.substack.com/archive",
            Some("substack"),
            json!({"publication": "ana"}),
        ),
        ("ana.tumblr.com", Some("tumblr"), json!({"blog": "ana"})),
        (
            "https://www.tumblr.com/ana",
            Some("tumblr"),
            json!({"blog": "ana"}),
        ),
        (
            "https://www.tumblr.com/dashboard",
            Some("feed"),
            Value::Null,
        ),
        ("dev.to/ana", Some("devto"), json!({"user": "ana"})),
        ("https://dev.to/t/rust", Some("feed"), Value::Null),
        ("https://dev.to/search", Some("feed"), Value::Null),
        (
            "flickr.com/photos/ana",
            Some("flickr"),
            json!({"user": "ana"}),
        ),
        (
            "https://www.flickr.com/photos/12345678@N00/",
            Some("flickr"),
            json!({"nsid": "12345678@N00"}),
        ),
        (
            "https://www.flickr.com/photos/tags",
            Some("feed"),
            Value::Null,
        ),
        (
            "https://ana.wordpress.com/",
            Some("wordpress"),
            json!({"site": "ana"}),
        ),
        // Fediverse software feeds
        (
            "https://mastodon.social/@ana.rss",
            Some("mastodon_rss"),
            json!({"host": "mastodon.social", "user": "ana"}),
        ),
        (
            "https://mastodon.social/@ana",
            Some("activitypub"),
            Value::Null,
        ),
        (
            "https://pixelfed.social/ana",
            Some("pixelfed"),
            json!({"host": "pixelfed.social", "user": "ana"}),
        ),
        (
            "https://pix.example.org/users/ana.atom",
            Some("pixelfed"),
            json!({"host": "pix.example.org", "user": "ana"}),
        ),
        (
            "https://framatube.org/a/ana",
            Some("peertube"),
            json!({"host": "framatube.org", "account": "ana"}),
        ),
        (
            "https://example.org/a/ana",
            Some("activitypub"),
            Value::Null,
        ),
        (
            "https://lemmy.world/u/ana",
            Some("lemmy"),
            json!({"host": "lemmy.world", "user": "ana"}),
        ),
        (
            "https://example.org/u/ana",
            Some("activitypub"),
            Value::Null,
        ),
        (
            "https://bookwyrm.social/user/ana",
            Some("bookwyrm"),
            json!({"host": "bookwyrm.social", "user": "ana"}),
        ),
        // Everything else
        ("example.com/blog", Some("feed"), Value::Null),
        ("https://blog.example/feed.xml", Some("feed"), Value::Null),
        ("", None, Value::Null),
        ("just some words", None, Value::Null),
        ("javascript:alert(1)", None, Value::Null),
        ("ftp://files.example/x", None, Value::Null),
    ]
}

#[test]
fn every_shape_resolves_to_the_expected_connector() {
    let registry = Registry::default();
    let rows = table();
    assert!(rows.len() >= 40, "the table has {} rows", rows.len());
    let mut failures = Vec::new();
    for (input, kind, params) in rows {
        let got = registry.recognize(input);
        let got_kind = got.as_ref().map(|(c, _)| c.kind());
        if got_kind != kind {
            failures.push(format!("{input:?}: expected {kind:?}, got {got_kind:?}"));
            continue;
        }
        if let (Some((connector, got_params)), false) = (&got, params.is_null()) {
            if got_params != &params {
                failures.push(format!(
                    "{input:?}: expected params {params}, got {got_params}"
                ));
            }
            // What recognition gives, validation accepts.
            if let Err(err) = connector.validate(got_params) {
                failures.push(format!(
                    "{input:?}: recognized params do not validate: {err}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_connector_recognizes_its_own_example() {
    let registry = Registry::default();
    for connector in registry.iter() {
        let info = connector.info();
        if matches!(info.kind, "json" | "html") {
            continue;
        }
        let got = registry.recognize(info.example_input);
        assert_eq!(
            got.map(|(c, _)| c.kind()),
            Some(info.kind),
            "example of {}: {}",
            info.kind,
            info.example_input
        );
    }
}

#[test]
fn site_connectors_and_recipes_come_before_feed() {
    let registry = Registry::default();
    let kinds: Vec<&str> = registry.iter().map(|c| c.kind()).collect();
    assert_eq!(kinds.last(), Some(&"feed"), "{kinds:?}");
    for kind in [
        "github",
        "hackernews",
        "bluesky",
        "lobsters",
        "stackexchange",
        "youtube",
        "json",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert_eq!(
        connectors::recipe::embedded().len(),
        connectors::recipe::EMBEDDED.len(),
        "every built-in recipe parses"
    );
}
