//! The services people recognise (GitHub, Mastodon, YouTube…) behind source kinds: their
//! names and embedded icons. Pure: no IO, no store.

/// A service as cards and filter chips show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service<'a> {
    /// What people call it.
    pub name: &'a str,
    /// The embedded icon's file name (served by `web/assets.rs`).
    pub icon: &'static str,
}

/// The icon of sources this table does not name: a generic feed.
pub const GENERIC_ICON: &str = "service-feed.svg";

/// Every embedded service icon, for `web/assets.rs`.
pub const ICONS: &[(&str, &[u8])] = &[
    (
        "service-bluesky.svg",
        include_bytes!("static/service-bluesky.svg"),
    ),
    (
        "service-books.svg",
        include_bytes!("static/service-books.svg"),
    ),
    (
        "service-feed.svg",
        include_bytes!("static/service-feed.svg"),
    ),
    (
        "service-flickr.svg",
        include_bytes!("static/service-flickr.svg"),
    ),
    (
        "service-forum.svg",
        include_bytes!("static/service-forum.svg"),
    ),
    (
        "service-github.svg",
        include_bytes!("static/service-github.svg"),
    ),
    (
        "service-hackernews.svg",
        include_bytes!("static/service-hackernews.svg"),
    ),
    (
        "service-lobsters.svg",
        include_bytes!("static/service-lobsters.svg"),
    ),
    (
        "service-mastodon.svg",
        include_bytes!("static/service-mastodon.svg"),
    ),
    (
        "service-pixelfed.svg",
        include_bytes!("static/service-pixelfed.svg"),
    ),
    (
        "service-podcast.svg",
        include_bytes!("static/service-podcast.svg"),
    ),
    (
        "service-reddit.svg",
        include_bytes!("static/service-reddit.svg"),
    ),
    (
        "service-stackexchange.svg",
        include_bytes!("static/service-stackexchange.svg"),
    ),
    (
        "service-tributary.svg",
        include_bytes!("static/service-tributary.svg"),
    ),
    (
        "service-video.svg",
        include_bytes!("static/service-video.svg"),
    ),
    (
        "service-youtube.svg",
        include_bytes!("static/service-youtube.svg"),
    ),
];

/// The service behind a source kind (a connector's kind or a recipe's name); an unknown
/// kind (an operator's recipe) is shown by its own name with the generic icon.
pub fn service_of(kind: &str) -> Service<'_> {
    let (name, icon) = match kind {
        "github" => ("GitHub", "service-github.svg"),
        "tributary" => ("Tributary", "service-tributary.svg"),
        "activitypub" | "mastodon_rss" => ("Mastodon", "service-mastodon.svg"),
        "bluesky" => ("Bluesky", "service-bluesky.svg"),
        "youtube" => ("YouTube", "service-youtube.svg"),
        "hackernews" => ("Hacker News", "service-hackernews.svg"),
        "lobsters" => ("Lobsters", "service-lobsters.svg"),
        "stackexchange" => ("Stack Exchange", "service-stackexchange.svg"),
        "pixelfed" => ("Pixelfed", "service-pixelfed.svg"),
        "flickr" => ("Flickr", "service-flickr.svg"),
        "reddit_user" | "reddit_subreddit" => ("Reddit", "service-reddit.svg"),
        "peertube" => ("PeerTube", "service-video.svg"),
        "lemmy" => ("Lemmy", "service-forum.svg"),
        "bookwyrm" => ("BookWyrm", "service-books.svg"),
        "goodreads" => ("Goodreads", "service-books.svg"),
        "letterboxd" => ("Letterboxd", "service-video.svg"),
        "devto" => ("DEV", GENERIC_ICON),
        "medium" => ("Medium", GENERIC_ICON),
        "substack" => ("Substack", GENERIC_ICON),
        "tumblr" => ("Tumblr", GENERIC_ICON),
        "wordpress" => ("WordPress", GENERIC_ICON),
        "podcast" => ("Podcast", "service-podcast.svg"),
        "feed" => ("Feed", GENERIC_ICON),
        "html" => ("Web page", GENERIC_ICON),
        "json" => ("JSON", GENERIC_ICON),
        _ => {
            return Service {
                name: kind,
                icon: GENERIC_ICON,
            };
        }
    };
    Service { name, icon }
}

/// The icon a card shows: the service's, or for a plain feed's podcast episode or video
/// the podcast or video icon rather than the generic one.
pub fn icon_for(service: Service<'_>, kind: connectors::ItemKind) -> &'static str {
    match kind {
        _ if service.icon != GENERIC_ICON => service.icon,
        connectors::ItemKind::Audio => "service-podcast.svg",
        connectors::ItemKind::Video => "service-video.svg",
        _ => GENERIC_ICON,
    }
}

/// Whether sources of `kind` show the site's own icon (fetched once into the media store)
/// rather than one of the embedded set: those whose service has no icon of its own.
pub fn wants_site_icon(kind: &str) -> bool {
    service_of(kind).icon == GENERIC_ICON
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_icon_is_embedded() {
        let kinds = [
            "github",
            "activitypub",
            "mastodon_rss",
            "bluesky",
            "youtube",
            "hackernews",
            "lobsters",
            "stackexchange",
            "pixelfed",
            "flickr",
            "reddit_user",
            "peertube",
            "lemmy",
            "bookwyrm",
            "podcast",
            "feed",
            "unknown-recipe",
        ];
        for kind in kinds {
            let icon = service_of(kind).icon;
            assert!(
                ICONS.iter().any(|(name, _)| *name == icon),
                "{kind}: {icon}"
            );
        }
    }

    #[test]
    fn a_plain_feeds_podcast_gets_the_podcast_icon() {
        let feed = service_of("feed");
        assert_eq!(
            icon_for(feed, connectors::ItemKind::Audio),
            "service-podcast.svg"
        );
        assert_eq!(icon_for(feed, connectors::ItemKind::Note), GENERIC_ICON);
        let github = service_of("github");
        assert_eq!(icon_for(github, connectors::ItemKind::Audio), github.icon);
    }

    #[test]
    fn recipes_share_a_service() {
        assert_eq!(service_of("mastodon_rss"), service_of("activitypub"));
        assert_eq!(service_of("my-recipe").icon, GENERIC_ICON);
    }
}
