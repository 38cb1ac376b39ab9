//! Absolute http(s) URLs, canonical URLs without tracking parameters, and dedup keys.
//! Pure: no IO, no SQL.

use url::Url;

/// Query parameters that only say where a click came from. Compared case-insensitively after
/// percent-decoding the name; any name starting with `UTM_PREFIX` is also tracking.
const TRACKING_PARAMETERS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "ref_url",
    "_hsenc",
    "_hsmi",
    "__hssc",
    "__hstc",
    "__hsfp",
    "hsctatracking",
    "yclid",
    "oly_enc_id",
    "oly_anon_id",
    "vero_id",
    "vero_conv",
    "wickedid",
    "__s",
    "_openstat",
    "mkt_tok",
    "twclid",
    "ttclid",
    "li_fat_id",
    "s_cid",
    "srsltid",
];

const UTM_PREFIX: &str = "utm_";

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

/// The URL two sources would agree on for one post: lower-case host, no fragment, no default
/// port, no tracking parameters (other parameters kept as written, in order), no empty `?`.
pub fn canonical_url(url: &Url) -> Url {
    let mut canonical = url.clone();
    canonical.set_fragment(None);
    if let Some(host) = url.host_str() {
        let lower = host.to_lowercase();
        if lower != host {
            // Special schemes already lower-case hosts when parsing; this covers the rest.
            // A host that was valid stays valid in lower case, and if not we keep the original.
            let _ = canonical.set_host(Some(&lower));
        }
    }
    if canonical.port().is_some() && canonical.port() == default_port(canonical.scheme()) {
        // Setting the port fails only for URLs that cannot have one, and those have no port.
        let _ = canonical.set_port(None);
    }
    let kept_query = url.query().map(|query| {
        query
            .split('&')
            .filter(|pair| !pair.is_empty() && !is_tracking_pair(pair))
            .collect::<Vec<_>>()
            .join("&")
    });
    match kept_query {
        Some(query) if !query.is_empty() => canonical.set_query(Some(&query)),
        _ => canonical.set_query(None),
    }
    canonical
}

/// The key that makes one user's two sources store one post once: the canonical URL when there
/// is one, otherwise the source's own id.
pub fn dedup_key(canonical_url: Option<&Url>, external_id: &str) -> String {
    match canonical_url {
        Some(url) => format!("url:{url}"),
        None => format!("id:{external_id}"),
    }
}

fn is_tracking_pair(pair: &str) -> bool {
    let raw_name = pair.split_once('=').map_or(pair, |(name, _)| name);
    let name: String = url::form_urlencoded::parse(raw_name.as_bytes())
        .map(|(name, _)| name.to_ascii_lowercase())
        .next()
        .unwrap_or_default();
    name.starts_with(UTM_PREFIX) || TRACKING_PARAMETERS.contains(&name.as_str())
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
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
