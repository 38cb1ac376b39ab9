//! Tests of the fetcher against the loopback fixture server. Every request goes to
//! 127.0.0.1 (or is refused before connecting); no test sends traffic anywhere else.

use std::time::{Duration, Instant};

use chrono::Utc;
use connectors::http::ACCEPT_FEEDS;
use connectors::{FetchError, FetchRequest, FetchResponse, Http, Validators};
use tributary::config::FetchConfig;
use tributary::fetch::HttpClient;
use url::Url;

use crate::support::fixture_server::{FixtureServer, Reply};

const MIB: usize = 1024 * 1024;

/// The default config with the guard on, except for this server's exact origin.
fn config_for(server: &FixtureServer) -> FetchConfig {
    FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..FetchConfig::default()
    }
}

fn client(cfg: &FetchConfig) -> HttpClient {
    HttpClient::new(cfg).expect("test config builds a client")
}

fn request(url: &str) -> FetchRequest {
    FetchRequest::new(Url::parse(url).expect("test URL parses"), ACCEPT_FEEDS)
}

async fn get(http: &HttpClient, url: &str) -> Result<FetchResponse, FetchError> {
    http.get(request(url)).await
}

#[track_caller]
fn assert_forbidden(result: Result<FetchResponse, FetchError>, needle: &str) {
    match result {
        Err(FetchError::Forbidden(message)) => {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}")
        }
        other => panic!("expected Forbidden ({needle}), got {other:?}"),
    }
}

#[tokio::test]
async fn sends_user_agent_accept_and_validators() {
    let server = FixtureServer::start().await;
    server.set("/feed", Reply::ok("<feed/>"));
    let cfg = config_for(&server);
    let validators = Validators {
        etag: Some("\"v1\"".to_owned()),
        last_modified: Some("Wed, 01 May 2024 12:00:00 GMT".to_owned()),
    };
    let response = client(&cfg)
        .get(request(&server.url("/feed")).with_validators(validators))
        .await
        .expect("fetch succeeds");
    assert_eq!(response.status, 200);
    assert_eq!(&response.body[..], b"<feed/>");

    let requests = server.requests("/feed");
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.header("user-agent"), Some(cfg.user_agent.as_str()));
    assert_eq!(sent.header("accept"), Some(ACCEPT_FEEDS));
    assert_eq!(sent.header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        sent.header("if-modified-since"),
        Some("Wed, 01 May 2024 12:00:00 GMT")
    );
    let accept_encoding = sent.header("accept-encoding").unwrap_or("");
    assert!(accept_encoding.contains("gzip"), "{accept_encoding}");
    assert!(accept_encoding.contains("br"), "{accept_encoding}");
}

#[tokio::test]
async fn not_modified_returns_304_with_empty_body() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed",
        Reply::ok("<feed/>")
            .content_type("application/atom+xml")
            .etag("\"v1\"")
            .last_modified("Wed, 01 May 2024 12:00:00 GMT"),
    );
    let http = client(&config_for(&server));

    let first = get(&http, &server.url("/feed")).await.expect("first fetch");
    assert_eq!(first.status, 200);
    assert_eq!(first.content_type.as_deref(), Some("application/atom+xml"));
    assert_eq!(first.validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        first.validators.last_modified.as_deref(),
        Some("Wed, 01 May 2024 12:00:00 GMT")
    );

    let second = http
        .get(request(&server.url("/feed")).with_validators(first.validators.clone()))
        .await
        .expect("second fetch");
    assert_eq!(second.status, 304);
    assert!(second.body.is_empty());
    assert_eq!(second.validators, first.validators);
    assert_eq!(server.hits("/feed"), 2);
}

#[tokio::test]
async fn not_modified_without_validators_keeps_the_request_ones() {
    let server = FixtureServer::start().await;
    server.set("/feed", Reply::status(304));
    let validators = Validators {
        etag: Some("W/\"abc\"".to_owned()),
        last_modified: Some("Wed, 01 May 2024 12:00:00 GMT".to_owned()),
    };
    let response = client(&config_for(&server))
        .get(request(&server.url("/feed")).with_validators(validators.clone()))
        .await
        .expect("fetch succeeds");
    assert_eq!(response.status, 304);
    assert_eq!(response.validators, validators);
}

#[tokio::test]
async fn permanent_redirect_chain_sets_moved_to() {
    let server = FixtureServer::start().await;
    // A relative Location, then an absolute one.
    server.set("/old", Reply::redirect(301, "/middle"));
    server.set("/middle", Reply::redirect(308, &server.url("/new")));
    server.set("/new", Reply::ok("<feed/>"));

    let response = get(&client(&config_for(&server)), &server.url("/old"))
        .await
        .expect("fetch succeeds");
    assert_eq!(response.status, 200);
    assert_eq!(response.final_url.as_str(), server.url("/new"));
    assert_eq!(
        response.moved_permanently_to.as_ref().map(Url::as_str),
        Some(server.url("/new").as_str())
    );
    assert_eq!(&response.body[..], b"<feed/>");
    for path in ["/old", "/middle", "/new"] {
        assert_eq!(server.hits(path), 1, "{path}");
    }
}

#[tokio::test]
async fn temporary_redirect_does_not_set_moved_to() {
    let server = FixtureServer::start().await;
    server.set("/old", Reply::redirect(301, "/middle"));
    server.set("/middle", Reply::redirect(302, "/new"));
    server.set("/temp", Reply::redirect(307, "/new"));
    server.set("/new", Reply::ok("<feed/>"));
    let http = client(&config_for(&server));

    for path in ["/old", "/temp"] {
        let response = get(&http, &server.url(path)).await.expect("fetch succeeds");
        assert_eq!(response.final_url.as_str(), server.url("/new"), "{path}");
        assert_eq!(response.moved_permanently_to, None, "{path}");
    }
}

#[tokio::test]
async fn redirect_without_location_is_returned_as_is() {
    let server = FixtureServer::start().await;
    server.set("/odd", Reply::status(302));
    let response = get(&client(&config_for(&server)), &server.url("/odd"))
        .await
        .expect("fetch succeeds");
    assert_eq!(response.status, 302);
    assert_eq!(response.final_url.as_str(), server.url("/odd"));
    assert_eq!(response.moved_permanently_to, None);
}

#[tokio::test]
async fn redirect_to_other_loopback_address_is_refused() {
    let server = FixtureServer::start().await;
    let port = server.port();
    server.set("/target", Reply::ok("secret"));
    let http = client(&config_for(&server));
    let cases = [
        (
            format!("http://127.0.0.2:{port}/target"),
            "127.0.0.2 is a loopback address",
        ),
        (
            format!("http://[::1]:{port}/target"),
            "::1 is a loopback address",
        ),
        (
            format!("http://localhost:{port}/target"),
            "loopback address",
        ),
    ];
    for (location, expected) in cases {
        server.set("/hop", Reply::redirect(302, &location));
        assert_forbidden(get(&http, &server.url("/hop")).await, expected);
    }
    assert_eq!(server.hits("/target"), 0);
}

#[tokio::test]
async fn redirect_to_file_scheme_is_refused() {
    let server = FixtureServer::start().await;
    server.set("/hop", Reply::redirect(302, "file:///etc/passwd"));
    assert_forbidden(
        get(&client(&config_for(&server)), &server.url("/hop")).await,
        "file:",
    );
}

#[tokio::test]
async fn too_many_redirects_is_an_error() {
    let server = FixtureServer::start().await;
    server.set("/loop", Reply::redirect(302, "/loop"));
    let cfg = config_for(&server);
    let result = get(&client(&cfg), &server.url("/loop")).await;
    assert_eq!(
        result.map(|response| response.status),
        Err(FetchError::TooManyRedirects {
            max: cfg.max_redirects
        })
    );
    // The first request and one per allowed hop.
    assert_eq!(server.hits("/loop"), cfg.max_redirects + 1);
}

#[tokio::test]
async fn redirects_up_to_the_limit_are_followed() {
    let server = FixtureServer::start().await;
    let cfg = config_for(&server);
    for hop in 0..cfg.max_redirects {
        server.set(
            &format!("/{hop}"),
            Reply::redirect(301, &format!("/{}", hop + 1)),
        );
    }
    server.set(&format!("/{}", cfg.max_redirects), Reply::ok("end"));
    let response = get(&client(&cfg), &server.url("/0"))
        .await
        .expect("exactly max_redirects hops are allowed");
    assert_eq!(&response.body[..], b"end");
    assert!(response.moved_permanently_to.is_some());
}

#[tokio::test]
async fn guard_refuses_fixture_without_allowlist() {
    let server = FixtureServer::start().await;
    server.set("/feed", Reply::ok("<feed/>"));
    let http = client(&FetchConfig::default());
    assert_forbidden(
        get(&http, &server.url("/feed")).await,
        "127.0.0.1 is a loopback address",
    );
    // The same server by name goes through the resolver, which refuses it too.
    assert_forbidden(
        get(&http, &format!("http://localhost:{}/feed", server.port())).await,
        "localhost resolves only to non-public addresses",
    );
    assert_eq!(server.total_hits(), 0);
}

#[tokio::test]
async fn allowlisted_origin_does_not_open_other_ports() {
    let server = FixtureServer::start().await;
    let other = FixtureServer::start().await;
    other.set("/feed", Reply::ok("<feed/>"));
    let http = client(&config_for(&server));
    assert_forbidden(get(&http, &other.url("/feed")).await, "loopback");
    assert_eq!(other.total_hits(), 0);
}

#[tokio::test]
async fn allowlisted_host_name_may_resolve_to_loopback() {
    let server = FixtureServer::start().await;
    server.set("/feed", Reply::ok("<feed/>"));
    let origin = format!("http://localhost:{}", server.port());
    let cfg = FetchConfig {
        allowed_private_origins: vec![origin.clone()],
        ..FetchConfig::default()
    };
    let response = get(&client(&cfg), &format!("{origin}/feed"))
        .await
        .expect("the allowlisted name resolves to loopback");
    assert_eq!(response.status, 200);
    assert_eq!(server.hits("/feed"), 1);
}

#[tokio::test]
async fn allow_private_networks_reaches_loopback() {
    let server = FixtureServer::start().await;
    server.set("/feed", Reply::ok("<feed/>"));
    let cfg = FetchConfig {
        allow_private_networks: true,
        ..FetchConfig::default()
    };
    let response = get(&client(&cfg), &server.url("/feed"))
        .await
        .expect("the guard is off");
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn body_over_cap_is_too_large() {
    let server = FixtureServer::start().await;
    server.set("/huge", Reply::huge(50 * MIB as u64));
    let cfg = config_for(&server);
    let started = Instant::now();
    let result = get(&client(&cfg), &server.url("/huge")).await;
    assert_eq!(
        result.map(|response| response.status),
        Err(FetchError::TooLarge {
            limit: cfg.max_body_bytes
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn announced_length_over_cap_is_refused_before_reading() {
    let server = FixtureServer::start().await;
    let n_bytes = 50 * MIB as u64;
    server.set(
        "/huge",
        Reply::huge(n_bytes).header("content-length", n_bytes),
    );
    let cfg = config_for(&server);
    let result = get(&client(&cfg), &server.url("/huge")).await;
    assert_eq!(
        result.map(|response| response.status),
        Err(FetchError::TooLarge {
            limit: cfg.max_body_bytes
        })
    );
}

#[tokio::test]
async fn request_limit_lowers_but_never_raises_the_cap() {
    let server = FixtureServer::start().await;
    server.set("/body", Reply::huge(2000));
    let cfg = FetchConfig {
        max_body_bytes: 1500,
        ..config_for(&server)
    };
    let http = client(&cfg);

    let mut lower = request(&server.url("/body"));
    lower.max_bytes = Some(1000);
    assert_eq!(
        http.get(lower).await.map(|response| response.status),
        Err(FetchError::TooLarge { limit: 1000 })
    );

    let mut higher = request(&server.url("/body"));
    higher.max_bytes = Some(usize::MAX);
    assert_eq!(
        http.get(higher).await.map(|response| response.status),
        Err(FetchError::TooLarge { limit: 1500 })
    );

    let mut enough = request(&server.url("/body"));
    enough.max_bytes = Some(1000);
    server.set("/body", Reply::huge(1000));
    let response = http.get(enough).await.expect("a body at the limit passes");
    assert_eq!(response.body.len(), 1000);
}

#[tokio::test]
async fn gzip_body_is_decoded() {
    let server = FixtureServer::start().await;
    server.set("/small.gz", Reply::gzip_bomb(1000));
    let response = get(&client(&config_for(&server)), &server.url("/small.gz"))
        .await
        .expect("fetch succeeds");
    assert_eq!(response.body.len(), 1000);
    assert!(response.body.iter().all(|&byte| byte == 0));
}

#[tokio::test]
async fn gzip_bomb_stops_at_cap() {
    let server = FixtureServer::start().await;
    server.set("/bomb", Reply::gzip_bomb(200 * MIB as u64));
    let cfg = config_for(&server);
    let started = Instant::now();
    let result = get(&client(&cfg), &server.url("/bomb")).await;
    assert_eq!(
        result.map(|response| response.status),
        Err(FetchError::TooLarge {
            limit: cfg.max_body_bytes
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dripping_server_hits_deadline() {
    let server = FixtureServer::start().await;
    server.set("/drip", Reply::drip(100, Duration::from_millis(100)));
    let cfg = FetchConfig {
        timeout_secs: 2,
        ..config_for(&server)
    };
    let started = Instant::now();
    let result = get(&client(&cfg), &server.url("/drip")).await;
    assert_eq!(
        result.map(|response| response.status),
        Err(FetchError::Timeout { secs: 2 })
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_seconds_sets_hint() {
    let server = FixtureServer::start().await;
    server.set("/busy", Reply::status(429).header("retry-after", "120"));
    let before = Utc::now();
    let response = get(&client(&config_for(&server)), &server.url("/busy"))
        .await
        .expect("a 429 is a response, not an error");
    assert_eq!(response.status, 429);
    let not_before = response.hint.not_before.expect("Retry-After gives a hint");
    assert!(
        not_before >= before + chrono::TimeDelta::seconds(120),
        "{not_before}"
    );
    assert!(
        not_before <= Utc::now() + chrono::TimeDelta::seconds(121),
        "{not_before}"
    );
}

#[tokio::test]
async fn max_age_sets_hint_on_success() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed",
        Reply::ok("<feed/>").header("cache-control", "max-age=600"),
    );
    let before = Utc::now();
    let response = get(&client(&config_for(&server)), &server.url("/feed"))
        .await
        .expect("fetch succeeds");
    let not_before = response.hint.not_before.expect("max-age gives a hint");
    assert!(
        not_before >= before + chrono::TimeDelta::seconds(600),
        "{not_before}"
    );
}

#[tokio::test]
async fn response_headers_are_kept_with_lower_case_names() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed",
        Reply::ok("{}")
            .header("X-Poll-Interval", "60")
            .header("Link", "<https://example.com/hub>; rel=\"hub\""),
    );
    let response = get(&client(&config_for(&server)), &server.url("/feed"))
        .await
        .expect("fetch succeeds");
    assert_eq!(response.header("x-poll-interval"), Some("60"));
    assert!(response.headers.iter().any(|(name, _)| name == "link"));
    assert!(
        response
            .headers
            .iter()
            .all(|(name, _)| *name == name.to_ascii_lowercase())
    );
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    // A loopback port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    drop(listener);
    let origin = format!("http://{addr}");
    let cfg = FetchConfig {
        allowed_private_origins: vec![origin.clone()],
        ..FetchConfig::default()
    };
    match get(&client(&cfg), &format!("{origin}/feed")).await {
        Err(FetchError::Network(message)) => {
            assert!(message.to_lowercase().contains("refused"), "{message}")
        }
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[tokio::test]
async fn per_host_cap_limits_concurrency() {
    let server = FixtureServer::start().await;
    // Each request takes about 300 ms; one at a time, three take about 900 ms.
    server.set("/slow", Reply::drip(3, Duration::from_millis(100)));
    let cfg = FetchConfig {
        max_per_host: 1,
        ..config_for(&server)
    };
    let http = client(&cfg);
    let url = server.url("/slow");
    let started = Instant::now();
    let (a, b, c) = tokio::join!(get(&http, &url), get(&http, &url), get(&http, &url));
    let elapsed = started.elapsed();
    for result in [a, b, c] {
        assert_eq!(result.expect("fetch succeeds").body.len(), 3);
    }
    assert!(elapsed >= Duration::from_millis(850), "{elapsed:?}");
    assert_eq!(server.hits("/slow"), 3);
}

// See: #16. One host (127.0.0.1), two ports: only the listed origin's port is reachable,
// by IP literal and by a name that resolves to it, redirects included.
#[tokio::test]
async fn issue16_3_allowed_origin_opens_only_its_own_port() {
    let allowed = FixtureServer::start().await;
    let other_port = FixtureServer::start().await;
    allowed.set("/feed", Reply::ok("<feed/>"));
    other_port.set("/feed", Reply::ok("secret"));
    for host in ["localhost", "127.0.0.1"] {
        let origin = format!("http://{host}:{}", allowed.port());
        let elsewhere = format!("http://{host}:{}/feed", other_port.port());
        let http = client(&FetchConfig {
            allowed_private_origins: vec![origin.clone()],
            ..FetchConfig::default()
        });
        let response = get(&http, &format!("{origin}/feed"))
            .await
            .unwrap_or_else(|err| panic!("{origin} is allowed: {err}"));
        assert_eq!(response.status, 200);
        assert_forbidden(get(&http, &elsewhere).await, "loopback address");
        allowed.set("/hop", Reply::redirect(302, &elsewhere));
        assert_forbidden(
            get(&http, &format!("{origin}/hop")).await,
            "loopback address",
        );
    }
    assert_eq!(other_port.total_hits(), 0, "the other port was reached");
}

// See: #16. Waiting for one of a host's request slots is not part of the deadline: a
// healthy request queued behind two slow ones, all sent at once, succeeds.
#[tokio::test]
async fn issue16_5_waiting_for_a_host_slot_is_not_part_of_the_deadline() {
    let server = FixtureServer::start().await;
    server.set("/drip", Reply::drip(100, Duration::from_millis(100)));
    server.set("/feed", Reply::ok("<feed/>"));
    let cfg = FetchConfig {
        timeout_secs: 1,
        max_per_host: 1,
        ..config_for(&server)
    };
    let http = client(&cfg);
    let drip_url = server.url("/drip");
    let feed_url = server.url("/feed");
    // `join!` polls in order: the slow requests queue for the host's only slot first.
    let (first, second, queued) = tokio::join!(
        get(&http, &drip_url),
        get(&http, &drip_url),
        get(&http, &feed_url)
    );
    for slow in [first, second] {
        assert_eq!(
            slow.map(|response| response.status),
            Err(FetchError::Timeout { secs: 1 })
        );
    }
    assert_eq!(queued.map(|response| response.status), Ok(200));
    assert_eq!(server.hits("/feed"), 1);
}
