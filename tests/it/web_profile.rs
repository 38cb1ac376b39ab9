//! The profile page over real HTTP: a person's services with links to their accounts
//! elsewhere, their counts and the people around them; never a source's parameters.

use chrono::Utc;
use reqwest::StatusCode;
use tributary::model::{SourceId, UserId};
use tributary::store::sources;

use crate::support::web::WebApp;
use crate::web_stream::{NO_FIXTURES, add_item, comment, post};

fn add(app: &WebApp, user: UserId, kind: &str, params: serde_json::Value, title: &str) -> SourceId {
    let (kind, title) = (kind.to_owned(), title.to_owned());
    app.store
        .write_blocking(move |tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: user,
                    kind: &kind,
                    params: &params,
                    title: &title,
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap()
}

#[tokio::test]
async fn profile_lists_services_with_links_elsewhere_counts_and_people() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let github = add(
        &app,
        ana,
        "github",
        serde_json::json!({ "user": "ana-gh" }),
        "",
    );
    let blog = add(
        &app,
        ana,
        "feed",
        serde_json::json!({ "url": "https://ana.example/feed.xml?token=secret-feed-token" }),
        "Ana's blog",
    );
    let first = add_item(&app, github, ana, "push-1", 10);
    add_item(&app, github, ana, "push-2", 9);
    add_item(&app, blog, ana, "post-1", 8);

    let bo = app.logged_in("bo").await;
    assert_eq!(post(&bo, "/ana/follow").await.status, StatusCode::SEE_OTHER);
    let ana_client = app.logged_in("ana").await;
    assert_eq!(
        comment(&ana_client, first, "My own words").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(&ana_client, &format!("/e/{first}/like")).await.status,
        StatusCode::SEE_OTHER
    );

    let page = app.client().get("/ana/profile").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    // The GitHub source links the account there, with rel=me, and to its own stream here.
    assert!(
        body.contains(r#"href="https://github.com/ana-gh" rel="me nofollow noopener""#),
        "{body}"
    );
    assert!(
        body.contains(&format!(r#"href="/ana?source={github}""#)),
        "{body}"
    );
    assert!(body.contains("(2 items)"), "{body}");
    assert!(
        body.contains("Ana&#39;s blog") || body.contains("Ana's blog"),
        "{body}"
    );
    assert!(body.contains("(1 item)"), "{body}");
    // A source's parameters (here a feed address with a token) never show.
    assert!(!body.contains("secret-feed-token"), "{body}");
    // Counts: three items, one comment, one like, one follower, following nobody.
    for (label, value) in [
        ("Items", 3),
        ("Comments", 1),
        ("Likes", 1),
        ("Followers", 1),
        ("Following", 0),
    ] {
        assert!(
            body.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")),
            "{label} {value}: {body}"
        );
    }
    assert!(body.contains(r#"<a href="/bo">@bo</a>"#), "{body}");
    // The tab is there and current.
    assert!(
        body.contains(r#"<a href="/ana/profile" aria-current="page">Profile</a>"#),
        "{body}"
    );

    // bo's profile shows whom bo follows, and an empty services note.
    let bo_page = app.client().get("/bo/profile").await;
    assert_eq!(bo_page.status, StatusCode::OK);
    assert!(
        bo_page.body.contains(r#"<a href="/ana">@ana</a>"#),
        "{}",
        bo_page.body
    );
    assert!(
        bo_page
            .body
            .contains("brings in nothing from elsewhere yet")
    );

    // A removed source leaves the profile.
    app.store
        .write_blocking(move |tx| sources::remove(tx, github, Utc::now()))
        .unwrap();
    let after = app.client().get("/ana/profile").await;
    assert!(!after.body.contains("github.com/ana-gh"), "{}", after.body);

    assert_eq!(
        app.client().get("/nobody/profile").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_private_source_is_not_listed_to_others() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let hidden = add(
        &app,
        ana,
        "github",
        serde_json::json!({ "user": "ana-secret" }),
        "",
    );
    app.store
        .write_blocking(move |tx| {
            tributary::store::visibility::set_source(
                tx,
                hidden,
                tributary::social::Visibility::Private,
                Utc::now(),
            )
        })
        .unwrap();
    let owner = app.logged_in("ana").await.get("/ana/profile").await;
    assert!(
        owner.body.contains("github.com/ana-secret"),
        "{}",
        owner.body
    );
    for page in [
        app.client().get("/ana/profile").await,
        app.logged_in("bo").await.get("/ana/profile").await,
    ] {
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("ana-secret"), "{}", page.body);
    }
}
