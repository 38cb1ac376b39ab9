//! The SSRF guard: classifies addresses, checks URLs and filters DNS answers so that a
//! pasted URL never reaches loopback, private or other non-public networks. Opens no
//! connection itself; only resolves names when reqwest asks it to.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use connectors::FetchError;
use url::{Host, Origin, Url};

/// What the guard lets through, built once from `FetchConfig`.
#[derive(Clone, Debug, Default)]
pub struct GuardPolicy {
    /// `fetch.allow_private_networks`: the guard is off entirely.
    pub allow_private_networks: bool,
    /// Exact origins (scheme, host, port) allowed even though their address is private.
    pub allowed_origins: Vec<Origin>,
    /// Host names from `allowed_origins`. A resolver sees only the name, never the port or
    /// scheme, so their private answers are let through only by the resolver of the client
    /// kept for allowed origins ([`Answers::AllowListed`]); a URL reaches that client only
    /// when its whole origin is allowed ([`GuardPolicy::allow_listed_name`]).
    pub allowed_hosts: HashSet<String>,
}

/// Which DNS answers a [`GuardedResolver`] lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers {
    /// Public addresses only (every address when `allow_private_networks`).
    Public,
    /// Also the private answers of the names in `allowed_hosts`: for the client that only
    /// ever connects to allowed origins.
    AllowListed,
}

impl GuardPolicy {
    /// Parses `fetch.allowed_private_origins`; an entry that is not an http(s) origin is an
    /// error, so a typo does not silently leave the guard stricter or looser than intended.
    pub fn new(allow_private_networks: bool, origins: &[String]) -> Result<GuardPolicy, String> {
        let mut allowed_origins = Vec::new();
        let mut allowed_hosts = HashSet::new();
        for origin in origins {
            let url = Url::parse(origin)
                .map_err(|err| format!("allowed_private_origins: `{origin}`: {err}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!(
                    "allowed_private_origins: `{origin}` is not an http or https origin"
                ));
            }
            // A path or query would read as a limit that is not applied.
            if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
                return Err(format!(
                    "allowed_private_origins: `{origin}` is not an origin (scheme, host and port only)"
                ));
            }
            if let Some(Host::Domain(domain)) = url.host() {
                allowed_hosts.insert(domain.to_ascii_lowercase());
            }
            allowed_origins.push(url.origin());
        }
        Ok(GuardPolicy {
            allow_private_networks,
            allowed_origins,
            allowed_hosts,
        })
    }

    /// Whether the URL's origin (scheme, host and port) is in the allow-list.
    pub fn origin_allowed(&self, url: &Url) -> bool {
        let origin = url.origin();
        self.allowed_origins.contains(&origin)
    }

    /// Whether the URL must be fetched by the client whose resolver lets the private
    /// answers of allowed names through: its host is a name and its whole origin is
    /// allowed. Any other URL, the same name on another port or scheme included, goes to
    /// the client that refuses private answers.
    pub fn allow_listed_name(&self, url: &Url) -> bool {
        !self.allow_private_networks
            && matches!(url.host(), Some(Host::Domain(_)))
            && self.origin_allowed(url)
    }
}

/// The reason `ip` must not be fetched ("loopback", "private", …), or `None` for a public
/// address. Embedded IPv4 addresses (mapped, compatible, NAT64, 6to4) are classified as
/// the IPv4 address they reach, so `::ffff:127.0.0.1` is loopback.
pub fn is_forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// Checks a URL before it is requested: the scheme must be http or https, and an
/// IP-literal host is classified here because reqwest connects to it without asking the
/// resolver. Host names are checked later, by [`GuardedResolver`], on the addresses
/// actually connected to (no separate pre-flight lookup that DNS rebinding could fool).
pub fn check_url(url: &Url, policy: &GuardPolicy) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Forbidden(format!(
            "the {}: scheme is not allowed (only http and https)",
            url.scheme()
        )));
    }
    let Some(host) = url.host() else {
        return Err(FetchError::BadUrl(format!("{url} has no host")));
    };
    if policy.allow_private_networks || policy.origin_allowed(url) {
        return Ok(());
    }
    let ip = match host {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return Ok(()),
    };
    match is_forbidden(ip) {
        Some(reason) => Err(FetchError::Forbidden(describe(&ip.to_string(), reason))),
        None => Ok(()),
    }
}

/// A person-readable sentence: "127.0.0.2 is a loopback address".
pub fn describe(host: &str, reason: &str) -> String {
    let article = if reason == "unspecified"
        || matches!(reason.as_bytes().first(), Some(b'a' | b'e' | b'i' | b'o'))
    {
        "an"
    } else {
        "a"
    };
    format!("{host} is {article} {reason} address")
}

/// The error the resolver returns when every answer for a name is forbidden; the client
/// finds it in reqwest's error chain and turns it into `FetchError::Forbidden`.
#[derive(Debug)]
pub struct ForbiddenAddress(pub String);

impl std::fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ForbiddenAddress {}

/// A reqwest resolver that resolves with tokio and drops forbidden addresses: a name with
/// only forbidden answers is refused, a name with some public answers connects only to
/// those. Filtering the answers that are then connected to closes the DNS-rebinding gap a
/// pre-flight check would leave.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    policy: Arc<GuardPolicy>,
    answers: Answers,
}

impl GuardedResolver {
    pub fn new(policy: Arc<GuardPolicy>, answers: Answers) -> GuardedResolver {
        GuardedResolver { policy, answers }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let mode = self.answers;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0 is replaced by the URL's port by reqwest.
            let answers: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allow_all = policy.allow_private_networks
                || (mode == Answers::AllowListed
                    && policy.allowed_hosts.contains(&host.to_ascii_lowercase()));
            let (public, refused) = filter_answers(answers, allow_all);
            if public.is_empty() {
                let detail = match refused.first() {
                    Some((ip, reason)) => format!(
                        "{host} resolves only to non-public addresses ({})",
                        describe(&ip.to_string(), reason)
                    ),
                    None => format!("{host} has no addresses"),
                };
                tracing::debug!(host = %host, n_refused = refused.len(), "name refused by SSRF guard");
                return Err(Box::new(ForbiddenAddress(detail)) as Box<_>);
            }
            if !refused.is_empty() {
                tracing::debug!(host = %host, n_refused = refused.len(), "dropped non-public answers");
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Splits DNS answers into the allowed ones and the refused ones with their reason.
fn filter_answers(
    answers: Vec<SocketAddr>,
    allow_all: bool,
) -> (Vec<SocketAddr>, Vec<(IpAddr, &'static str)>) {
    let mut public = Vec::with_capacity(answers.len());
    let mut refused = Vec::new();
    for addr in answers {
        match is_forbidden(addr.ip()) {
            Some(reason) if !allow_all => refused.push((addr.ip(), reason)),
            _ => public.push(addr),
        }
    }
    (public, refused)
}

/// IPv4 special-purpose ranges (IANA IPv4 Special-Purpose Address Registry, RFC 6890).
fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        // RFC 1122 "this network"; 0.0.0.0 reaches the local host on most systems.
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        // RFC 1918.
        (10, _, _) => "private",
        (172, 16..=31, _) => "private",
        (192, 168, _) => "private",
        // RFC 3927; also where cloud metadata services live (169.254.169.254).
        (169, 254, _) => "link-local",
        // RFC 6598 shared address space (100.64.0.0/10).
        (100, 64..=127, _) => "carrier-grade NAT",
        // RFC 6890 IETF protocol assignments.
        (192, 0, 0) => "reserved",
        // RFC 5737.
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        // RFC 2544.
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        _ if ip == Ipv4Addr::BROADCAST => "broadcast",
        // RFC 1112 class E.
        (240..=255, _, _) => "reserved",
        _ => return None,
    };
    Some(reason)
}

/// IPv6 special-purpose ranges (IANA IPv6 Special-Purpose Address Registry, RFC 6890);
/// addresses that embed an IPv4 address are classified by that address.
fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    let seg = ip.segments();
    let reason = match seg[0] {
        // RFC 4291 link-local fe80::/10 and the deprecated site-local fec0::/10 (RFC 3879).
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        // RFC 4193 unique local fc00::/7.
        0xfc00..=0xfdff => "unique local",
        0xff00..=0xffff => "multicast",
        // RFC 3849 and RFC 9637 documentation prefixes.
        0x2001 if seg[1] == 0x0db8 => "documentation",
        0x3fff if seg[1] <= 0x0fff => "documentation",
        // RFC 5180 benchmarking 2001:2::/48.
        0x2001 if seg[1] == 0x0002 && seg[2] == 0 => "benchmarking",
        // RFC 4380 Teredo 2001::/32: tunnels to an obfuscated IPv4 address.
        0x2001 if seg[1] == 0 => "reserved",
        // RFC 6666 discard-only 100::/64.
        0x0100 if seg[1..4] == [0, 0, 0] => "reserved",
        // RFC 8215 local-use NAT64 64:ff9b:1::/48 translates into private networks.
        0x0064 if seg[1] == 0xff9b && seg[2] == 1 => "private",
        // Anything else outside 2000::/3 global unicast is unassigned or reserved.
        0x0000..=0x1fff | 0x4000..=0xfbff => "reserved",
        _ => return None,
    };
    Some(reason)
}

/// The IPv4 address an IPv6 address reaches: IPv4-mapped `::ffff:a.b.c.d`, the deprecated
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` (RFC 6052) and 6to4 `2002::/16`
/// (RFC 3056).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let seg = ip.segments();
    let low = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    if seg[..6] == [0, 0, 0, 0, 0, 0] {
        return Some(low);
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    if seg[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(ip: &str, expected: Option<&str>) {
        let ip: IpAddr = ip.parse().expect("test address parses");
        assert_eq!(is_forbidden(ip), expected, "{ip}");
    }

    #[test]
    fn v4_special_ranges_are_forbidden() {
        check("0.0.0.0", Some("unspecified"));
        check("0.1.2.3", Some("unspecified"));
        check("127.0.0.1", Some("loopback"));
        check("127.0.0.2", Some("loopback"));
        check("127.255.255.254", Some("loopback"));
        check("10.0.0.1", Some("private"));
        check("172.16.0.1", Some("private"));
        check("172.31.255.255", Some("private"));
        check("192.168.1.1", Some("private"));
        check("169.254.169.254", Some("link-local"));
        check("100.64.0.1", Some("carrier-grade NAT"));
        check("100.100.100.200", Some("carrier-grade NAT"));
        check("100.127.255.255", Some("carrier-grade NAT"));
        check("192.0.0.8", Some("reserved"));
        check("192.0.2.1", Some("documentation"));
        check("198.51.100.7", Some("documentation"));
        check("203.0.113.9", Some("documentation"));
        check("198.18.0.1", Some("benchmarking"));
        check("198.19.255.1", Some("benchmarking"));
        check("224.0.0.1", Some("multicast"));
        check("239.255.255.250", Some("multicast"));
        check("240.0.0.1", Some("reserved"));
        check("255.255.255.255", Some("broadcast"));
    }

    #[test]
    fn v4_public_addresses_pass() {
        check("8.8.8.8", None);
        check("1.1.1.1", None);
        check("172.15.255.255", None);
        check("172.32.0.1", None);
        check("100.63.255.255", None);
        check("100.128.0.1", None);
        check("192.0.1.1", None);
        check("198.20.0.1", None);
        check("223.255.255.255", None);
    }

    #[test]
    fn v6_special_ranges_are_forbidden() {
        check("::", Some("unspecified"));
        check("::1", Some("loopback"));
        check("fe80::1", Some("link-local"));
        check("febf::1", Some("link-local"));
        check("fec0::1", Some("site-local"));
        check("fc00::1", Some("unique local"));
        check("fd12:3456::1", Some("unique local"));
        check("ff02::1", Some("multicast"));
        check("2001:db8::1", Some("documentation"));
        check("2001:2::1", Some("benchmarking"));
        check("2001::1", Some("reserved"));
        check("100::1", Some("reserved"));
        check("64:ff9b:1::a", Some("private"));
    }

    #[test]
    fn v6_embedding_a_forbidden_v4_is_forbidden() {
        check("::ffff:127.0.0.1", Some("loopback"));
        check("::ffff:10.1.2.3", Some("private"));
        check("::ffff:169.254.169.254", Some("link-local"));
        check("::127.0.0.1", Some("loopback"));
        check("::192.168.0.1", Some("private"));
        check("64:ff9b::a00:1", Some("private"));
        check("64:ff9b::7f00:1", Some("loopback"));
        check("2002:7f00:1::", Some("loopback"));
        check("2002:a9fe:a9fe::1", Some("link-local"));
    }

    #[test]
    fn v6_public_addresses_pass() {
        check("2606:4700::1", None);
        check("2001:4860:4860::8888", None);
        check("::ffff:8.8.8.8", None);
        check("64:ff9b::808:808", None);
        check("2002:808:808::1", None);
    }

    fn strict() -> GuardPolicy {
        GuardPolicy::default()
    }

    #[track_caller]
    fn check_url_refused(url: &str, expected: &str) {
        let url = Url::parse(url).expect("test URL parses");
        match check_url(&url, &strict()) {
            Err(FetchError::Forbidden(message)) => assert_eq!(message, expected, "{url}"),
            other => panic!("{url}: expected Forbidden, got {other:?}"),
        }
    }

    #[test]
    fn non_http_schemes_are_refused() {
        check_url_refused(
            "file:///etc/passwd",
            "the file: scheme is not allowed (only http and https)",
        );
        check_url_refused(
            "gopher://127.0.0.1:70/_stats",
            "the gopher: scheme is not allowed (only http and https)",
        );
        check_url_refused(
            "ftp://example.com/feed.xml",
            "the ftp: scheme is not allowed (only http and https)",
        );
    }

    #[test]
    fn ip_literal_hosts_are_classified() {
        check_url_refused("http://[::1]/", "::1 is a loopback address");
        check_url_refused(
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1 is a loopback address",
        );
        check_url_refused("http://127.0.0.2:8080/x", "127.0.0.2 is a loopback address");
        check_url_refused("https://0.0.0.0/", "0.0.0.0 is an unspecified address");
        check_url_refused(
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address",
        );
    }

    #[test]
    fn alternate_ipv4_spellings_are_normalized_then_refused() {
        // The url crate applies the WHATWG IPv4 parser, so these are IP literals by the
        // time the guard sees them.
        check_url_refused("http://127.1/", "127.0.0.1 is a loopback address");
        check_url_refused("http://0x7f.0.0.1/", "127.0.0.1 is a loopback address");
        check_url_refused("http://2130706433/", "127.0.0.1 is a loopback address");
        check_url_refused("http://0177.0.0.1/", "127.0.0.1 is a loopback address");
        check_url_refused("http://127.0.0.1./", "127.0.0.1 is a loopback address");
    }

    #[test]
    fn public_and_named_hosts_pass_check_url() {
        for url in [
            "https://8.8.8.8/",
            "http://example.com/feed",
            "http://[2606:4700::1]/",
        ] {
            let url = Url::parse(url).expect("test URL parses");
            assert_eq!(check_url(&url, &strict()), Ok(()), "{url}");
        }
    }

    #[test]
    fn allowed_origin_passes_only_with_exact_port() {
        let policy =
            GuardPolicy::new(false, &["http://127.0.0.1:43121".to_owned()]).expect("valid origin");
        let allowed = Url::parse("http://127.0.0.1:43121/feed").expect("test URL parses");
        assert_eq!(check_url(&allowed, &policy), Ok(()));
        let other_port = Url::parse("http://127.0.0.1:43122/feed").expect("test URL parses");
        assert!(matches!(
            check_url(&other_port, &policy),
            Err(FetchError::Forbidden(_))
        ));
        let other_scheme = Url::parse("https://127.0.0.1:43121/feed").expect("test URL parses");
        assert!(matches!(
            check_url(&other_scheme, &policy),
            Err(FetchError::Forbidden(_))
        ));
    }

    #[test]
    fn only_the_allowed_origin_of_a_name_uses_the_allow_listed_resolver() {
        let policy =
            GuardPolicy::new(false, &["http://feeds.lan:8081".to_owned()]).expect("valid origin");
        let check = |url: &str| policy.allow_listed_name(&Url::parse(url).expect("test URL"));
        assert!(check("http://feeds.lan:8081/feed"));
        assert!(check("http://FEEDS.lan:8081/other?x=1"));
        assert!(!check("http://feeds.lan:8082/feed"), "another port");
        assert!(!check("http://feeds.lan/feed"), "the default port");
        assert!(!check("https://feeds.lan:8081/feed"), "another scheme");
        assert!(!check("http://other.lan:8081/feed"), "another name");
    }

    #[test]
    fn allowed_origin_with_a_path_is_a_setup_error() {
        assert!(GuardPolicy::new(false, &["http://127.0.0.1:8081/feeds".to_owned()]).is_err());
        assert!(GuardPolicy::new(false, &["http://127.0.0.1:8081/?a".to_owned()]).is_err());
        assert!(GuardPolicy::new(false, &["http://127.0.0.1:8081/".to_owned()]).is_ok());
    }

    #[test]
    fn allow_private_networks_turns_the_guard_off() {
        let policy = GuardPolicy::new(true, &[]).expect("no origins");
        let url = Url::parse("http://127.0.0.1/").expect("test URL parses");
        assert_eq!(check_url(&url, &policy), Ok(()));
        // The scheme rule stays: it is not about networks.
        let file = Url::parse("file:///etc/passwd").expect("test URL parses");
        assert!(matches!(
            check_url(&file, &policy),
            Err(FetchError::Forbidden(_))
        ));
    }

    #[test]
    fn bad_allowed_origin_is_a_setup_error() {
        assert!(GuardPolicy::new(false, &["not a url".to_owned()]).is_err());
        assert!(GuardPolicy::new(false, &["file:///tmp".to_owned()]).is_err());
    }

    #[test]
    fn resolver_filter_drops_forbidden_answers() {
        let answers: Vec<SocketAddr> = vec![
            "127.0.0.1:0".parse().expect("addr"),
            "8.8.8.8:0".parse().expect("addr"),
        ];
        let (public, refused) = filter_answers(answers.clone(), false);
        assert_eq!(public, vec![answers[1]]);
        assert_eq!(refused, vec![(answers[0].ip(), "loopback")]);
        let (public, refused) = filter_answers(answers.clone(), true);
        assert_eq!(public, answers);
        assert!(refused.is_empty());
    }
}
