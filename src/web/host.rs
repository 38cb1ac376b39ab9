//! Refuses state-changing requests addressed to a host name that is not this instance's,
//! the defence against DNS rebinding. Pure checks on headers; no IO.
//!
//! A rebinding page runs at the attacker's name (`attacker.invalid`), which its DNS then
//! points at this server, so the browser sends `Host: attacker.invalid` and the page's
//! own cookies and CSRF token. Without this check such a page could send the first-run
//! setup form of a fresh instance and create its administrator. The host names accepted
//! are the one of `server.base_url` and `localhost` (browsers answer
//! `localhost` themselves, RFC 6761 section 6.3); any IP address literal passes too, since
//! an address cannot be rebound (a page at `http://10.0.0.5` is served by `10.0.0.5`), and
//! reverse proxies and visitors on the local network reach the instance that way.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::AppError;
use crate::config::Config;

/// The host names this instance answers forms for.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    /// Lower case, without port or trailing dot.
    names: Vec<String>,
    /// `server.base_url` (or its default), for the refusal message.
    base_url: String,
}

impl HostPolicy {
    pub fn from_config(config: &Config) -> HostPolicy {
        let base_url = config.base_url();
        let mut names = vec!["localhost".to_owned()];
        // `server.listen` is an address (checked by `Config::validate`), which always
        // passes; so is the default base URL, `http://{listen}`.
        if let Some(name) = url::Url::parse(&base_url)
            .ok()
            .and_then(|url| url.host_str().map(host_name))
            && !names.contains(&name)
        {
            names.push(name);
        }
        HostPolicy { names, base_url }
    }

    /// Whether a request with this `Host` value is addressed to us.
    pub fn allows(&self, host: &str) -> bool {
        let name = host_name(host);
        !name.is_empty()
            && (name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
                || self.names.contains(&name))
    }
}

/// Middleware: a request that may change state (anything but GET, HEAD, OPTIONS and
/// TRACE) must name one of our hosts, else it gets 421 with a message in words.
pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe {
        return next.run(request).await;
    }
    // HTTP/1.1 names the host in `Host`; HTTP/2 in the `:authority` the URI carries.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    if state.hosts.allows(&host) {
        return next.run(request).await;
    }
    tracing::warn!(host = %host, "form sent to another host name refused");
    AppError::MisdirectedHost {
        host,
        base_url: state.hosts.base_url.clone(),
    }
    .into_response()
}

/// The host name of a `Host` value or an authority: no port, no trailing dot, lower case.
/// IPv6 literals keep their brackets.
fn host_name(authority: &str) -> String {
    let authority = authority.trim();
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => &authority[..=end],
            None => authority,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(base_url: &str, host: &str, expected: bool) {
        let mut config = Config::default();
        config.server.base_url = base_url.to_owned();
        let policy = HostPolicy::from_config(&config);
        assert_eq!(
            policy.allows(host),
            expected,
            "base {base_url:?}, Host {host:?}"
        );
    }

    #[test]
    fn default_config_takes_loopback_and_localhost() {
        check("", "127.0.0.1:8080", true);
        check("", "127.0.0.1:43117", true);
        check("", "localhost:8080", true);
        check("", "LOCALHOST.", true);
        check("", "[::1]:8080", true);
        check("", "attacker.invalid", false);
        check("", "attacker.invalid:8080", false);
        check("", "localhost.attacker.invalid", false);
        check("", "", false);
    }

    #[test]
    fn base_url_host_is_ours_at_any_port() {
        check("https://feeds.example.org/", "feeds.example.org", true);
        check("https://feeds.example.org/", "Feeds.Example.Org:443", true);
        check("https://feeds.example.org/", "10.0.0.5:8080", true);
        check("https://feeds.example.org/", "example.org", false);
        check(
            "https://feeds.example.org/",
            "feeds.example.org.attacker.invalid",
            false,
        );
    }
}
