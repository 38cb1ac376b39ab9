//! The canonical URL of a post: the address two sources would agree on (lower-case host,
//! no fragment, no default port, no tracking parameters). Pure, and shared by `normalize`
//! (an item's canonical URL and dedup key) and `store::also_on` (the links in an item's
//! text, compared with other items' canonical URLs), so both apply one rule.

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
