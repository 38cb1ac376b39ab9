//! Settings over real HTTP: profile checks, password change (and the sessions it ends),
//! admin-only user creation and one-time invitations, and CSRF on every settings form.

use reqwest::StatusCode;
use tributary::config::Signup;
use tributary::store::{sources, users};

use crate::support::web::{PASSWORD, WebApp};
use crate::web_stream::{NO_FIXTURES, add_source};

const NEW_PASSWORD: &str = "a much better passphrase";

/// The text of the error paragraph beside field `name`.
fn field_error(body: &str, name: &str) -> String {
    let marker = format!("id=\"f-{name}-error\" role=\"alert\">");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no error beside {name} in:\n{body}"))
        + marker.len();
    body[at..at + body[at..].find("</p>").unwrap()].to_owned()
}

#[tokio::test]
async fn profile_update_validates_avatar_url() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let settings = client.get("/settings").await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(
        settings
            .body
            .contains("form id=\"profile\" method=\"post\" action=\"/settings/profile\"")
    );
    assert!(
        settings.body.contains("Sign-up is closed"),
        "{}",
        settings.body
    );

    for bad in [
        "javascript:alert(1)",
        "/me.png",
        "ftp://files.example/me.png",
    ] {
        let page = client
            .post_form(
                "/settings",
                "/settings/profile",
                &[
                    ("display_name", "Ana Lima"),
                    ("bio", "Hi"),
                    ("avatar_url", bad),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            page.body
        );
        assert!(
            field_error(&page.body, "avatar_url").contains("https://"),
            "{bad}"
        );
        assert!(
            page.body.contains("value=\"Ana Lima\""),
            "input kept: {}",
            page.body
        );
    }
    let long_bio = "x".repeat(501);
    let page = client
        .post_form(
            "/settings",
            "/settings/profile",
            &[("display_name", &"y".repeat(81)), ("bio", &long_bio)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&page.body, "bio").contains("500"));
    assert!(field_error(&page.body, "display_name").contains("80"));
    assert!(page.body.contains(&long_bio), "the bio is kept");
    let profile = app
        .store
        .read_blocking(|conn| users::profile(conn, "ana"))
        .unwrap();
    assert_eq!(
        (profile.user.display_name.as_str(), profile.avatar_url),
        ("ana", None)
    );

    let saved = client
        .post_form(
            "/settings",
            "/settings/profile",
            &[
                ("display_name", "Ana Lima"),
                ("bio", "I write."),
                ("avatar_url", "https://img.example/ana.png"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let profile = app
        .store
        .read_blocking(|conn| users::profile(conn, "ana"))
        .unwrap();
    assert_eq!(profile.user.display_name, "Ana Lima");
    assert_eq!(profile.bio, "I write.");
    assert_eq!(
        profile.avatar_url.as_deref(),
        Some("https://img.example/ana.png")
    );
    assert!(
        client
            .get("/settings?done=profile")
            .await
            .body
            .contains("Profile saved.")
    );
}

#[tokio::test]
async fn password_change_needs_current_password_and_logs_out_other_sessions() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let here = app.logged_in("ana").await;
    let elsewhere = app.logged_in("ana").await;

    let wrong = here
        .post_form(
            "/settings",
            "/settings/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", NEW_PASSWORD),
                ("new_password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&wrong.body, "current_password").contains("not your current password"));
    assert!(
        !wrong.body.contains(NEW_PASSWORD),
        "passwords are never echoed"
    );

    let differ = here
        .post_form(
            "/settings",
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password2", "something else"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&differ.body, "new_password2").contains("differ"));
    let short = here
        .post_form(
            "/settings",
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("new_password2", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    field_error(&short.body, "new_password");
    // Nothing changed so far: the other session still works.
    assert_eq!(elsewhere.get("/settings").await.status, StatusCode::OK);

    let done = here
        .post_form(
            "/settings",
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        here.get("/settings").await.status,
        StatusCode::OK,
        "this session stays"
    );
    let gone = elsewhere.get("/settings").await;
    assert_eq!(
        gone.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert!(gone.location.unwrap().starts_with("/login"));

    let fresh = app.client();
    assert_eq!(
        fresh.login("ana", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fresh.login("ana", NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn admin_creates_user_non_admin_gets_403() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("root", true);
    app.create_user("bob", false);
    let root = app.logged_in("root").await;

    let users_page = root.get("/settings/users").await;
    assert_eq!(users_page.status, StatusCode::OK);
    assert!(users_page.body.contains("form id=\"new-user\""));
    assert!(users_page.body.contains(">bob</a>"));
    assert!(
        root.get("/settings")
            .await
            .body
            .contains("href=\"/settings/users\"")
    );

    let bad = root
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("name", "Bad Name"),
                ("display_name", "Cleo C."),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_error(&bad.body, "name").contains("not a valid user name"),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("value=\"Cleo C.\""));
    let taken = root
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("name", "bob"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&taken.body, "name").contains("already exists"));

    let created = root
        .post_form(
            "/settings/users",
            "/settings/users",
            &[
                ("name", "cleo"),
                ("display_name", "Cleo C."),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let cleo = app
        .store
        .read_blocking(|conn| users::by_name(conn, "cleo"))
        .unwrap();
    assert_eq!(cleo.display_name, "Cleo C.");
    assert!(!cleo.is_admin);
    assert_eq!(
        app.client().login("cleo", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let bob = app.logged_in("bob").await;
    assert_eq!(
        bob.get("/settings/users").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !bob.get("/settings")
            .await
            .body
            .contains("href=\"/settings/users\"")
    );
    let token = bob.get("/settings").await.csrf();
    let sneaky = bob
        .post_raw(
            "/settings/users",
            &[
                ("name", "mallory"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
                ("is_admin", "1"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(sneaky.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bob.post_raw("/settings/invites", &[("csrf", &token)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(
        app.store
            .read_blocking(|conn| users::by_name(conn, "mallory"))
            .is_err()
    );
}

#[tokio::test]
async fn invite_link_works_once() {
    let app = WebApp::start_with(NO_FIXTURES, |config| config.auth.signup = Signup::Invite).await;
    app.create_user("root", true);
    let root = app.logged_in("root").await;
    let page = root
        .post_form("/settings/users", "/settings/invites", &[])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let at = page.body.find("/invite/").expect("the link is shown") + "/invite/".len();
    let token: String = page.body[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{}", page.body);
    // The link is listed again while it is open (derived from a nonce with the server's
    // key; the table holds only its hash).
    assert!(root.get("/settings/users").await.body.contains(&token));

    let invite = format!("/invite/{token}");
    let guest = app.client();
    assert_eq!(guest.get(&invite).await.status, StatusCode::OK);
    let joined = guest
        .post_form(
            &invite,
            &invite,
            &[
                ("name", "dana"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert!(
        app.store
            .read_blocking(|conn| users::by_name(conn, "dana"))
            .is_ok()
    );

    let late = app.client();
    assert_eq!(late.get(&invite).await.status, StatusCode::GONE);
    let token_page = late.get("/login").await.csrf();
    let reuse = late
        .post_raw(
            &invite,
            &[
                ("name", "eve"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
                ("csrf", &token_page),
            ],
        )
        .await;
    assert_eq!(reuse.status, StatusCode::GONE);
    assert!(
        app.store
            .read_blocking(|conn| users::by_name(conn, "eve"))
            .is_err()
    );
}

#[tokio::test]
async fn forms_without_csrf_are_refused() {
    let app = WebApp::start(NO_FIXTURES).await;
    let root = app.create_user("root", true);
    let client = app.logged_in("root").await;
    let id = add_source(&app, root, "feed");
    let token = client.get("/settings").await.csrf();
    let params = r#"{"url":"https://new.example/feed.xml"}"#;
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/settings/profile".into(),
            vec![("display_name", "Changed"), ("bio", ""), ("avatar_url", "")],
        ),
        (
            "/settings/password".into(),
            vec![
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password2", NEW_PASSWORD),
            ],
        ),
        (
            "/settings/users".into(),
            vec![
                ("name", "mallory"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        ),
        ("/settings/invites".into(), vec![]),
        (
            "/settings/sources/preview".into(),
            vec![("input", "https://new.example/feed.xml")],
        ),
        (
            "/settings/sources".into(),
            vec![("kind", "feed"), ("params", params)],
        ),
        (
            format!("/settings/sources/{id}"),
            vec![("title", "Changed"), ("schedule", "")],
        ),
        (format!("/settings/sources/{id}/poll"), vec![]),
        (format!("/settings/sources/{id}/disable"), vec![]),
        (format!("/settings/sources/{id}/remove"), vec![]),
    ];
    for (path, fields) in &forms {
        let missing = client.post_raw(path, fields).await;
        assert_eq!(
            missing.status,
            StatusCode::FORBIDDEN,
            "{path} without a token"
        );
        let mut wrong = fields.clone();
        wrong.push((
            "csrf",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ));
        let forged = client.post_raw(path, &wrong).await;
        assert_eq!(
            forged.status,
            StatusCode::FORBIDDEN,
            "{path} with a wrong token"
        );
    }
    let profile = app
        .store
        .read_blocking(|conn| users::profile(conn, "root"))
        .unwrap();
    assert_eq!(profile.user.display_name, "root");
    assert!(
        app.store
            .read_blocking(|conn| users::by_name(conn, "mallory"))
            .is_err()
    );
    let list = app
        .store
        .read_blocking(|conn| sources::list(conn, None))
        .unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].enabled && list[0].title.is_empty());
    // The right token still works, so the refusals above were about the token.
    let ok = client
        .post_raw(
            "/settings/profile",
            &[("display_name", "Changed"), ("csrf", &token)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.client().login("root", PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "the password did not change"
    );
}
