//! Accounts over real HTTP: first-run setup, login, logout, CSRF, rate limits, sign-up
//! modes, sessions that survive a restart, and names reserved for fixed routes.

use reqwest::StatusCode;
use tributary::config::Signup;

use crate::support::web::{PASSWORD, WebApp};

const NO_FIXTURES: &str = "http://127.0.0.1:1";

#[tokio::test]
async fn setup_happens_once_and_only_without_users() {
    let app = WebApp::start(NO_FIXTURES).await;
    let client = app.client();
    let page = client.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Create the administrator"),
        "{}",
        page.body
    );

    // A bad field re-renders the form with the message and the input kept.
    let bad = client
        .post_form(
            "/",
            "/",
            &[
                ("name", "Bad Name"),
                ("display_name", "Ana A."),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not a valid user name"), "{}", bad.body);
    assert!(
        bad.body.contains("value=\"Ana A.\""),
        "input kept: {}",
        bad.body
    );

    let done = client
        .post_form(
            "/",
            "/",
            &[
                ("name", "ana"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let users = app
        .store
        .read_blocking(tributary::store::users::list)
        .unwrap();
    assert_eq!(users.len(), 1);
    assert!(users[0].is_admin);
    // The new admin is logged in.
    assert!(client.get("/").await.body.contains("Log out"));

    // Setup cannot run again, for anyone.
    let stranger = app.client();
    assert!(
        !stranger
            .get("/")
            .await
            .body
            .contains("Create the administrator")
    );
    let token = stranger.get("/login").await.csrf();
    let again = stranger
        .post_raw(
            "/",
            &[
                ("name", "mallory"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.store
            .read_blocking(tributary::store::users::list)
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn wrong_password_is_refused_and_right_one_logs_in() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.client();
    let wrong = client.login("ana", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong user name or password."));
    let unknown = client.login("nobody", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let right = client.login("ana", PASSWORD).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location.as_deref(), Some("/ana"));
    let cookie = right
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("tributary_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn login_is_rate_limited_with_a_readable_message() {
    let app = WebApp::start_with(NO_FIXTURES, |config| config.auth.max_failed_logins = 3).await;
    app.create_user("ana", false);
    let client = app.client();
    for _ in 0..3 {
        assert_eq!(
            client.login("ana", "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = client.login("ana", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited
            .body
            .contains("Too many failed logins. Try again in"),
        "{}",
        limited.body
    );
}

#[tokio::test]
async fn next_parameter_returns_after_login_but_never_offsite() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.client();
    let protected = client.get("/settings").await;
    assert_eq!(protected.status, StatusCode::SEE_OTHER);
    assert_eq!(
        protected.location.as_deref(),
        Some("/login?next=%2Fsettings")
    );
    let page = client.get("/login?next=/settings").await;
    let done = client
        .post_raw(
            "/login",
            &[
                ("name", "ana"),
                ("password", PASSWORD),
                ("next", "/settings"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/settings"));

    let other = app.client();
    let page = other.get("/login").await;
    let done = other
        .post_raw(
            "/login",
            &[
                ("name", "ana"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/ana"));
}

#[tokio::test]
async fn missing_csrf_token_is_refused() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.client();
    client.get("/login").await;
    let page = client
        .post_raw("/login", &[("name", "ana"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Form expired"));
    let logged_in = app.logged_in("ana").await;
    let out = logged_in.post_raw("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert!(
        logged_in.get("/").await.body.contains("Log out"),
        "still logged in"
    );
}

#[tokio::test]
async fn replayed_token_from_an_ended_session_is_refused() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let old_token = client.get("/").await.csrf();
    let out = client.post_raw("/logout", &[("csrf", &old_token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    // Log in again: a new session with a new token; the old one is worthless.
    assert_eq!(
        client.login("ana", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let replay = client.post_raw("/logout", &[("csrf", &old_token)]).await;
    assert_eq!(replay.status, StatusCode::FORBIDDEN);
    // Another person's token does not work either.
    app.create_user("bo", false);
    let bo = app.logged_in("bo").await;
    let bo_token = bo.get("/").await.csrf();
    assert_eq!(
        client
            .post_raw("/logout", &[("csrf", &bo_token)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn cross_origin_post_is_refused_even_with_token() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let token = client.get("/").await.csrf();
    let response = client
        .http
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn session_survives_a_restart() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    // The same database and key file, a new server state.
    let restarted = app.restart().await;
    let client = crate::support::web::Client {
        http: client.http,
        base: restarted.base.clone(),
    };
    let page = client.get("/").await;
    assert!(
        page.body.contains("Log out"),
        "still logged in after restart"
    );
}

#[tokio::test]
async fn signup_modes() {
    let closed = WebApp::start(NO_FIXTURES).await;
    closed.create_user("admin", true);
    assert_eq!(
        closed.client().get("/signup").await.status,
        StatusCode::NOT_FOUND
    );

    let open = WebApp::start_with(NO_FIXTURES, |config| config.auth.signup = Signup::Open).await;
    open.create_user("admin", true);
    let client = open.client();
    let page = client
        .post_form(
            "/signup",
            "/signup",
            &[
                ("name", "newbie"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let taken = open
        .client()
        .post_form(
            "/signup",
            "/signup",
            &[
                ("name", "newbie"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("already exists"));
    let reserved = open
        .client()
        .post_form(
            "/signup",
            "/signup",
            &[
                ("name", "settings"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert!(reserved.body.contains("reserved"), "{}", reserved.body);
}

#[tokio::test]
async fn every_response_carries_strict_headers() {
    let app = WebApp::start(NO_FIXTURES).await;
    let client = app.client();
    for path in ["/", "/login", "/nope/nope/nope", "/healthz"] {
        let page = client.get(path).await;
        let csp = page
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(
            page.headers.get("x-content-type-options").unwrap(),
            "nosniff"
        );
        assert!(page.headers.get("referrer-policy").is_some());
    }
    let missing = client.get("/nope/nope/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("Tributary") && missing.body.contains("Not found"),
        "404 in the layout"
    );
}

#[tokio::test]
async fn static_assets_are_cached_for_long() {
    let app = WebApp::start(NO_FIXTURES).await;
    let client = app.client();
    let url = tributary::web::assets::url("style.css");
    let page = client.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(
        page.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

/// Every fixed first path segment of the route table is a reserved user name, so no user
/// can take a name that shadows a page.
#[test]
fn fixed_routes_are_reserved_names() {
    let table = include_str!("../../src/web/mod.rs");
    let mut checked = 0;
    for line in table.lines() {
        let Some(start) = line.find(".route(\"/") else {
            continue;
        };
        let path = &line[start + ".route(\"".len()..];
        let path = &path[..path.find('"').unwrap()];
        let first = path.trim_start_matches('/').split('/').next().unwrap();
        if first.is_empty() || first.starts_with('{') {
            continue;
        }
        assert!(
            tributary::auth::RESERVED_NAMES.contains(&first),
            "route {path}: `{first}` must be in auth::RESERVED_NAMES"
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} fixed routes found; did the route table move?"
    );
}

/// Browsers send `Origin` on form posts; ours must pass, and the referrer policy must not
/// be `no-referrer`, which makes browsers send `Origin: null` instead.
#[tokio::test]
async fn same_origin_post_passes_and_referrer_policy_keeps_origin() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.client();
    let page = client.get("/login").await;
    assert_eq!(page.headers.get("referrer-policy").unwrap(), "same-origin");
    let response = client
        .http
        .post(app.url("/login"))
        .header("origin", app.base.clone())
        .form(&[
            ("name", "ana"),
            ("password", PASSWORD),
            ("csrf", page.csrf().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// `next` values browsers would follow to another site, or that do not fit in a header.
const OFFSITE_NEXTS: [&str; 8] = [
    "/\t/attacker.invalid/x",
    "/\n/attacker.invalid/x",
    "/\r\n/attacker.invalid/x",
    "/x\r\nSet-Cookie: a=b",
    "/\\attacker.invalid",
    "//attacker.invalid",
    "///attacker.invalid",
    "https://attacker.invalid",
];

// See: #16
#[tokio::test]
async fn issue16_1_open_redirect_next_with_tab_newline_or_backslash_stays_home() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    for next in OFFSITE_NEXTS {
        let client = app.client();
        let query = format!("/login?next={}", tributary::web::views::urlencode(next));
        // The login form keeps only a safe `next`.
        let page = client.get(&query).await;
        assert_eq!(page.status, StatusCode::OK, "{next:?}");
        assert!(
            page.body.contains(r#"name="next" value="/""#),
            "{next:?}: {}",
            page.body
        );
        // A forged form with the raw value goes home all the same, never a 500.
        let done = client
            .post_raw(
                "/login",
                &[
                    ("name", "ana"),
                    ("password", PASSWORD),
                    ("next", next),
                    ("csrf", &page.csrf()),
                ],
            )
            .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{next:?}: {}",
            done.body
        );
        assert_eq!(done.location.as_deref(), Some("/ana"), "{next:?}");
        // Already logged in, the login page sends on at once, and only home.
        let again = client.get(&query).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(again.location.as_deref(), Some("/"), "{next:?}");
    }
}

// See: #16
#[tokio::test]
async fn issue16_1_open_redirect_back_after_a_form_stays_home() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    app.create_user("bo", false);
    let ana = app.logged_in("ana").await;
    for next in OFFSITE_NEXTS {
        let done = ana.post_form("/bo", "/bo/follow", &[("next", next)]).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{next:?}: {}",
            done.body
        );
        assert_eq!(done.location.as_deref(), Some("/bo"), "{next:?}");
    }
    let done = ana
        .post_form("/bo", "/bo/unfollow", &[("next", "/ana/friends?page=2")])
        .await;
    assert_eq!(done.location.as_deref(), Some("/ana/friends?page=2"));
}

// See: #16
#[tokio::test]
async fn issue16_2_setup_from_another_host_name_is_refused() {
    let app = WebApp::start(NO_FIXTURES).await;
    let client = app.client();
    // A rebinding page reads the setup form at its own name, with its own cookie...
    let page = client
        .http
        .get(app.url("/"))
        .header("host", "attacker.invalid")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let token = crate::support::web::csrf_in(&page.text().await.unwrap()).expect("a form");
    // ...and sends it: refused in words, and no account exists.
    let fields = [
        ("name", "mallory"),
        ("password", PASSWORD),
        ("password2", PASSWORD),
        ("csrf", token.as_str()),
    ];
    for host in [
        "attacker.invalid",
        "attacker.invalid:80",
        "127.0.0.1.attacker.invalid",
    ] {
        let refused = client
            .http
            .post(app.url("/"))
            .header("host", host)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        let body = refused.text().await.unwrap();
        assert!(body.contains("not this instance"), "{host}: {body}");
    }
    assert_eq!(
        app.store
            .read_blocking(tributary::store::users::count)
            .unwrap(),
        0
    );
    // At its own address (and as localhost) the same instance is set up as usual.
    let localhost = app.base.replace("127.0.0.1", "localhost");
    let local = client
        .http
        .post(app.url("/"))
        .header("host", localhost.trim_start_matches("http://"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.store
            .read_blocking(tributary::store::users::count)
            .unwrap(),
        1
    );
}

// See: #16
#[tokio::test]
async fn issue16_2_every_form_checks_the_host_and_base_url_names_ours() {
    let app = WebApp::start_with(NO_FIXTURES, |config| {
        // http, so the test client keeps sending the (then not Secure) cookies.
        config.server.base_url = "http://feeds.example.org".into();
    })
    .await;
    app.create_user("ana", false);
    let client = app.client();
    let token = client.get("/login").await.csrf();
    let fields = [
        ("name", "ana"),
        ("password", PASSWORD),
        ("csrf", token.as_str()),
    ];
    let post = |host: &'static str| {
        client
            .http
            .post(app.url("/login"))
            .header("host", host)
            .form(&fields)
            .send()
    };
    assert_eq!(
        post("attacker.invalid").await.unwrap().status(),
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(
        post("feeds.example.org").await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

/// Logs in as if through our proxy, which sends `X-Forwarded-For: forwarded_for` (what the
/// client wrote, then the address the proxy saw last).
async fn login_via_proxy(
    client: &crate::support::web::Client,
    forwarded_for: &str,
    name: &str,
    password: &str,
) -> StatusCode {
    let token = client.get("/login").await.csrf();
    client
        .http
        .post(format!("{}/login", client.base))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("name", name), ("password", password), ("csrf", &token)])
        .send()
        .await
        .unwrap()
        .status()
}

// See: #16
#[tokio::test]
async fn issue16_6_spoofed_forwarded_for_does_not_escape_the_limit() {
    let app = WebApp::start_with(NO_FIXTURES, |config| {
        config.auth.behind_proxy = true;
        config.auth.max_failed_logins = 2;
    })
    .await;
    let client = app.client();
    // One address sprays a wrong password over many names, writing a new first entry
    // each time; the proxy's entry (the last) is the same.
    let mut refused = None;
    for n in 0..12 {
        let status = login_via_proxy(
            &client,
            &format!("203.0.113.{n}, 198.51.100.7"),
            &format!("user{n}"),
            "wrong password",
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(n);
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(
        refused.is_some(),
        "12 failed logins from one address were never limited"
    );
    // Another address (a different last entry) is not limited.
    assert_eq!(
        login_via_proxy(&client, "198.51.100.7, 198.51.100.8", "user99", "wrong").await,
        StatusCode::UNAUTHORIZED
    );
}

// See: #16
#[tokio::test]
async fn issue16_6_wrong_passwords_from_one_address_do_not_lock_out_another() {
    let app = WebApp::start_with(NO_FIXTURES, |config| config.auth.behind_proxy = true).await;
    app.create_user("ana", false);
    let attacker = app.client();
    for _ in 0..5 {
        assert_eq!(
            login_via_proxy(&attacker, "192.0.2.66", "ana", "wrong password").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_via_proxy(&attacker, "192.0.2.66", "ana", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Ana, elsewhere, still logs in.
    let owner = app.client();
    assert_eq!(
        login_via_proxy(&owner, "192.0.2.10", "ana", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // IPv6 addresses count by /64: new addresses from one network do not start afresh.
    for n in 1..=5 {
        assert_eq!(
            login_via_proxy(&attacker, &format!("2001:db8:1:2::{n}"), "ana", "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_via_proxy(&attacker, "2001:db8:1:2:ffff::99", "ana", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

// See: #16
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue16_6_parallel_burst_gets_at_most_the_limit_through() {
    const LIMIT: u32 = 3;
    const BURST: usize = 16;
    let app = WebApp::start_with(NO_FIXTURES, |config| config.auth.max_failed_logins = LIMIT).await;
    app.create_user("ana", false);
    let client = app.client();
    let token = client.get("/login").await.csrf();
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..BURST {
        let http = client.http.clone();
        let url = app.url("/login");
        let token = token.clone();
        burst.spawn(async move {
            http.post(url)
                .form(&[("name", "ana"), ("password", "wrong"), ("csrf", &token)])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let statuses = burst.join_all().await;
    let tried = statuses
        .iter()
        .filter(|status| **status == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|status| **status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(tried + limited, BURST, "{statuses:?}");
    assert!(
        tried <= LIMIT as usize,
        "{tried} of {BURST} parallel wrong passwords were checked; the limit is {LIMIT}"
    );
}
