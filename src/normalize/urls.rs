//! Absolute http(s) URLs and dedup keys (canonical URLs are `crate::canonical`'s).
//! Pure: no IO, no SQL.

use url::Url;

pub use crate::canonical::canonical_url;

/// Parses `raw` (relative to `base` if given) the WHATWG way, which strips leading and trailing
/// C0 controls and spaces and every tab and newline, and keeps it only if it is http(s) with a
/// host. The scheme is checked after parsing so no encoding trick can hide `javascript:`.
pub fn absolutize(raw: &str, base: Option<&Url>) -> Option<Url> {
    let url = Url::options().base_url(base).parse(raw).ok()?;
    is_web_url(&url).then_some(url)
}

/// Whether `url` is something we may link to: http or https, with a host.
pub fn is_web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|host| !host.is_empty())
}

/// The key that makes one user's two sources store one post once: the canonical URL when there
/// is one, otherwise the source's own id.
pub fn dedup_key(canonical_url: Option<&Url>, external_id: &str) -> String {
    match canonical_url {
        Some(url) => format!("url:{url}"),
        None => format!("id:{external_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        let url = Url::parse(input).expect("test URL parses");
        assert_eq!(canonical_url(&url).as_str(), expected);
    }

    #[track_caller]
    fn check_absolutize(raw: &str, base: Option<&str>, expected: Option<&str>) {
        let base = base.map(|base| Url::parse(base).expect("test base URL parses"));
        let url = absolutize(raw, base.as_ref());
        assert_eq!(url.as_ref().map(Url::as_str), expected);
    }

    #[test]
    fn utm_parameters_are_removed() {
        check(
            "https://example.com/post?utm_source=rss&id=7&UTM_Medium=feed&utm_campaign=x",
            "https://example.com/post?id=7",
        )
    }

    #[test]
    fn click_ids_are_removed() {
        check(
            "https://example.com/?fbclid=1&gclid=2&dclid=3&msclkid=4&mc_cid=5&mc_eid=6&igshid=7&ref_src=8&_hsenc=9&_hsmi=10&yclid=11&oly_enc_id=12&oly_anon_id=13&vero_id=14&wickedid=15&__s=16",
            "https://example.com/",
        )
    }

    #[test]
    fn encoded_tracking_names_are_removed() {
        check(
            "https://example.com/?utm%5Fsource=x&a=1",
            "https://example.com/?a=1",
        )
    }

    #[test]
    fn other_parameters_keep_order_and_encoding() {
        check(
            "https://example.com/s?q=a+b%20c&utm_source=x&flag&z=1",
            "https://example.com/s?q=a+b%20c&flag&z=1",
        )
    }

    #[test]
    fn empty_query_is_dropped() {
        check("https://example.com/a?", "https://example.com/a")
    }

    #[test]
    fn empty_pairs_are_dropped() {
        check("https://example.com/a?&&x=1&&", "https://example.com/a?x=1")
    }

    #[test]
    fn fragment_is_dropped() {
        check("https://example.com/a#comments", "https://example.com/a")
    }

    #[test]
    fn host_is_lower_case() {
        check("https://EXAMPLE.com/Path", "https://example.com/Path")
    }

    #[test]
    fn default_port_is_dropped() {
        check("https://example.com:443/a", "https://example.com/a");
        check("http://example.com:80/a", "http://example.com/a");
    }

    #[test]
    fn other_port_is_kept() {
        check("https://example.com:8443/a", "https://example.com:8443/a")
    }

    #[test]
    fn absolute_http_urls_are_kept() {
        check_absolutize("https://example.com/a", None, Some("https://example.com/a"))
    }

    #[test]
    fn relative_urls_resolve_against_base() {
        check_absolutize(
            "../b?x=1",
            Some("https://example.com/a/feed.xml"),
            Some("https://example.com/b?x=1"),
        )
    }

    #[test]
    fn relative_urls_without_base_are_dropped() {
        check_absolutize("/a", None, None)
    }

    #[test]
    fn javascript_urls_are_dropped_however_written() {
        for raw in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{1}\u{e} javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "file:///etc/passwd",
            "mailto:a@example.com",
            "ftp://example.com/",
        ] {
            check_absolutize(raw, Some("https://example.com/"), None);
        }
    }

    #[test]
    fn surrounding_whitespace_is_stripped() {
        check_absolutize(
            "  https://example.com/a \n",
            None,
            Some("https://example.com/a"),
        )
    }

    #[test]
    fn dedup_key_prefers_url() {
        let url = Url::parse("https://example.com/a").expect("test URL parses");
        assert_eq!(dedup_key(Some(&url), "id-1"), "url:https://example.com/a");
        assert_eq!(dedup_key(None, "id-1"), "id:id-1");
    }
}
