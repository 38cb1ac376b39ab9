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
