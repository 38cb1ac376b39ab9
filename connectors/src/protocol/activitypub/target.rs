//! What a person pasted: a handle (`@user@host`, `user@host`) or a profile or actor URL
//! of Mastodon, Misskey, Pixelfed, Lemmy, PeerTube or Friendica. Pure.

use url::Url;

/// Longest user part of a handle we accept.
const MAX_USER_CHARS: usize = 200;
/// File endings that make a profile-looking URL a feed (Pixelfed's `/users/ana.atom`).
const FEED_ENDINGS: [&str; 4] = [".atom", ".rss", ".xml", ".json"];

/// The person a source follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `user@host` (host may carry a port), when known.
    pub account: Option<Account>,
    /// The profile or actor URL that was pasted, if it was a URL.
    pub url: Option<Url>,
    /// Which software the URL's shape suggests, for the feed fallback's order.
    pub hint: Platform,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    /// Host, with `:port` when one was given.
    pub host: String,
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.user, self.host)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Platform {
    #[default]
    Unknown,
    /// `/@user` (Mastodon, Misskey, Pleroma, GoToSocial).
    Mastodon,
    /// `/users/user` (Mastodon's actor URL, Pixelfed, Pleroma).
    Users,
    /// `/u/user` (Lemmy, Diaspora).
    LemmyOrDiaspora,
    /// `/a/user`, `/accounts/user` (PeerTube).
    PeerTube,
    /// `/profile/user` (Friendica).
    Friendica,
}

/// Reads a handle or a profile URL; `None` for anything else.
pub fn recognize(input: &str) -> Option<Target> {
    let input = input.trim();
    if input.is_empty() || input.chars().any(char::is_whitespace) {
        return None;
    }
    if input.contains("://") {
        return recognize_url(input);
    }
    let account = parse_handle(input)?;
    Some(Target {
        account: Some(account),
        url: None,
        hint: Platform::Unknown,
    })
}

/// `@user@host`, `user@host` or `acct:user@host`.
pub fn parse_handle(input: &str) -> Option<Account> {
    let text = input.strip_prefix("acct:").unwrap_or(input);
    let text = text.strip_prefix('@').unwrap_or(text);
    let (user, host) = text.split_once('@')?;
    if !valid_user(user) || host.contains(['@', '/', '?', '#']) {
        return None;
    }
    let url = Url::parse(&format!("https://{host}/")).ok()?;
    let host_name = url.host_str()?;
    // A bare word (`ana@localhost`) is not a server on the fediverse.
    let looks_like_host =
        host_name.contains('.') || host_name.contains(':') || url.port().is_some();
    if !looks_like_host || host_name.ends_with('.') {
        return None;
    }
    let host = match url.port() {
        Some(port) => format!("{host_name}:{port}"),
        None => host_name.to_owned(),
    };
    Some(Account {
        user: user.to_owned(),
        host,
    })
}

fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.chars().count() <= MAX_USER_CHARS
        && user
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '~'))
}

fn recognize_url(input: &str) -> Option<Target> {
    let mut url = Url::parse(input).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    let host = authority(&url)?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let (hint, name) = match segments.as_slice() {
        [one] if one.starts_with('@') => (Platform::Mastodon, one.get(1..)?),
        ["users", name] => (Platform::Users, *name),
        ["u", name] => (Platform::LemmyOrDiaspora, *name),
        ["a", name] | ["accounts", name] => (Platform::PeerTube, *name),
        ["profile", name] => (Platform::Friendica, *name),
        _ => return None,
    };
    if FEED_ENDINGS.iter().any(|end| name.ends_with(end)) {
        return None;
    }
    // `https://a.example/@ana@b.example`: a remote profile shown by another server.
    if let Some((user, remote)) = name.split_once('@') {
        let account = parse_handle(&format!("{user}@{remote}"))?;
        return Some(Target {
            account: Some(account),
            url: None,
            hint: Platform::Unknown,
        });
    }
    if !valid_user(name) {
        return None;
    }
    Some(Target {
        account: Some(Account {
            user: name.to_owned(),
            host,
        }),
        url: Some(url),
        hint,
    })
}

/// `host` or `host:port` of a URL.
pub fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Public feeds that the software at `origin` may offer for `user`, most likely first.
pub fn feed_candidates(origin: &Url, user: &str, hint: Platform) -> Vec<Url> {
    let mastodon = format!("/@{user}.rss");
    let pixelfed = format!("/users/{user}.atom");
    let diaspora = format!("/public/{user}.atom");
    let lemmy = format!("/feeds/u/{user}.xml");
    let peertube = format!("/feeds/videos.xml?accountName={user}");
    let friendica = format!("/feed/{user}");
    let order: Vec<&String> = match hint {
        Platform::Mastodon | Platform::Unknown => {
            vec![&mastodon, &pixelfed, &diaspora, &lemmy, &peertube]
        }
        Platform::Users => vec![&pixelfed, &mastodon],
        Platform::LemmyOrDiaspora => vec![&lemmy, &diaspora],
        Platform::PeerTube => vec![&peertube],
        Platform::Friendica => vec![&friendica],
    };
    order
        .into_iter()
        .filter_map(|path| origin.join(path).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(input: &str) -> Option<String> {
        recognize(input)?.account.map(|a| a.to_string())
    }

    #[test]
    fn handles_are_recognized() {
        assert_eq!(
            account("@ana@social.example").as_deref(),
            Some("ana@social.example")
        );
        assert_eq!(
            account("ana@social.example").as_deref(),
            Some("ana@social.example")
        );
        assert_eq!(
            account("acct:ana@social.example").as_deref(),
            Some("ana@social.example")
        );
        assert_eq!(
            account("@ana@127.0.0.1:8080").as_deref(),
            Some("ana@127.0.0.1:8080")
        );
        assert_eq!(account("ana@localhost"), None);
        assert_eq!(account("@ana"), None);
        assert_eq!(account("a b@c.example"), None);
        assert_eq!(account("ana@social.example/x"), None);
        assert_eq!(account("<script>@x.example"), None);
    }

    #[test]
    fn profile_urls_are_recognized_with_a_hint() {
        for (input, hint) in [
            ("https://social.example/@ana", Platform::Mastodon),
            ("https://social.example/users/ana", Platform::Users),
            ("https://lemmy.example/u/ana", Platform::LemmyOrDiaspora),
            ("https://tube.example/a/ana", Platform::PeerTube),
            ("https://tube.example/accounts/ana/", Platform::PeerTube),
            ("https://friendica.example/profile/ana", Platform::Friendica),
        ] {
            let target = recognize(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(target.hint, hint, "{input}");
            assert_eq!(target.account.unwrap().user, "ana");
            assert!(target.url.is_some());
        }
        let remote = recognize("https://a.example/@ana@b.example").unwrap();
        assert_eq!(remote.account.unwrap().to_string(), "ana@b.example");
    }

    #[test]
    fn feeds_and_other_urls_are_left_to_the_feed_connector() {
        for input in [
            "https://pixelfed.example/users/ana.atom",
            "https://social.example/@ana.rss",
            "https://blog.example/feed.xml",
            "https://social.example/",
            "https://social.example/users/ana/statuses/1",
            "ftp://social.example/@ana",
        ] {
            assert_eq!(recognize(input), None, "{input}");
        }
    }

    #[test]
    fn feed_candidates_follow_the_hint() {
        let origin = Url::parse("https://pod.example").unwrap();
        let lemmy = feed_candidates(&origin, "ana", Platform::LemmyOrDiaspora);
        assert_eq!(lemmy[0].as_str(), "https://pod.example/feeds/u/ana.xml");
        assert_eq!(lemmy[1].as_str(), "https://pod.example/public/ana.atom");
        let tube = feed_candidates(&origin, "ana", Platform::PeerTube);
        assert_eq!(
            tube[0].as_str(),
            "https://pod.example/feeds/videos.xml?accountName=ana"
        );
        let any = feed_candidates(&origin, "ana", Platform::Unknown);
        assert_eq!(any[0].as_str(), "https://pod.example/@ana.rss");
        assert!(
            any.iter()
                .any(|u| u.as_str() == "https://pod.example/users/ana.atom")
        );
    }
}
