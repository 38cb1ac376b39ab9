//! The fediverse settings page over real HTTP: settings saved and checked, followers
//! approved, refused and removed (each answer queued for the follower's inbox), blocks of
//! the user and of the instance (admins only), and CSRF on every form.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;
use tributary::model::{ActorId, UserId};
use tributary::store::federation::{self as fed, Actor, Block};

use crate::support::web::WebApp;
use crate::web_stream::NO_FIXTURES;

const PAGE: &str = "/settings/fediverse";

/// A remote account following `user` (waiting for approval unless `accepted`).
fn remote_follower(app: &WebApp, user: UserId, name: &str, accepted: bool) -> ActorId {
    let uri = format!("https://remote.example/users/{name}");
    let actor = Actor {
        uri: uri.clone(),
        host: "remote.example".into(),
        handle: format!("{name}@remote.example"),
        name: format!("{name} from afar"),
        url: Some(format!("https://remote.example/@{name}")),
        icon_url: Some(format!("https://remote.example/{name}.png")),
        inbox: format!("{uri}/inbox"),
        fetched_at: Utc::now(),
        ..Actor::default()
    };
    app.store
        .write_blocking(|tx| {
            let id = fed::put_actor(tx, &actor)?;
            fed::put_follower(
                tx,
                user,
                id,
                &format!("https://remote.example/follows/{name}"),
                accepted,
                Utc::now(),
            )?;
            Ok(id)
        })
        .unwrap()
}

/// Every queued activity as (its JSON, the inboxes it goes to).
fn queued(app: &WebApp) -> Vec<(Value, Vec<String>)> {
    app.store
        .read_blocking(|conn| {
            let mut activities = conn.prepare("SELECT id, body FROM activities ORDER BY id")?;
            let rows = activities
                .query_map([], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut deliveries =
                conn.prepare("SELECT inbox FROM deliveries WHERE activity_id = ?1 ORDER BY id")?;
            let mut out = Vec::new();
            for (id, body) in rows {
                let inboxes = deliveries
                    .query_map([id], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                out.push((serde_json::from_str(&body).unwrap(), inboxes));
            }
            Ok(out)
        })
        .unwrap()
}

fn followers(app: &WebApp, user: UserId) -> Vec<fed::Follower> {
    app.store
        .read_blocking(|conn| fed::followers(conn, user))
        .unwrap()
}

fn blocks(app: &WebApp, user: Option<UserId>) -> Vec<Block> {
    app.store
        .read_blocking(|conn| fed::blocks(conn, user))
        .unwrap()
}

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
async fn the_page_needs_a_login_and_is_linked_from_settings() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let anonymous = app.client().get(PAGE).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.location.as_deref(),
        Some("/login?next=%2Fsettings%2Ffediverse")
    );
    let client = app.logged_in("ana").await;
    let settings = client.get("/settings").await;
    assert!(
        settings.body.contains("href=\"/settings/fediverse\""),
        "{}",
        settings.body
    );
}

#[tokio::test]
async fn settings_are_saved_and_shown() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let page = client.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    // The authority of the configured base URL (`http://127.0.0.1:8080` by default).
    let authority = fed::host_of(&app.state.config.base_url());
    assert!(authority.contains(':'), "{authority}");
    assert!(
        page.body.contains(&format!("@ana@{authority}")),
        "the handle is shown: {}",
        page.body
    );
    assert!(page.body.contains("name=\"enabled\" value=\"1\" checked"));
    assert!(
        !page
            .body
            .contains("name=\"approve_followers\" value=\"1\" checked")
    );

    let aka = "https://old.example/users/ana\r\n\r\nhttp://127.0.0.1:9/users/ana#main-key";
    let saved = client
        .post_form(
            PAGE,
            PAGE,
            &[("approve_followers", "1"), ("also_known_as", aka)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some("/settings/fediverse?done=settings")
    );
    let stored = app
        .store
        .read_blocking(|conn| fed::settings(conn, ana))
        .unwrap();
    assert_eq!(
        stored,
        fed::Settings {
            enabled: false,
            approve_followers: true,
            also_known_as: vec![
                "https://old.example/users/ana".into(),
                "http://127.0.0.1:9/users/ana".into(),
            ],
        }
    );
    let page = client.get("/settings/fediverse?done=settings").await;
    assert!(page.body.contains("Fediverse settings saved."));
    assert!(!page.body.contains("name=\"enabled\" value=\"1\" checked"));
    assert!(
        page.body
            .contains("name=\"approve_followers\" value=\"1\" checked")
    );
    assert!(
        page.body
            .contains("https://old.example/users/ana\nhttp://127.0.0.1:9/users/ana</textarea>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Federation is off"));
}

#[tokio::test]
async fn a_bad_also_known_as_line_is_named_and_the_text_kept() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    for (text, message) in [
        (
            "https://old.example/users/ana\nhttp://old.example/users/ana",
            "Line 2 (“http://old.example/users/ana”)",
        ),
        ("ana@old.example", "Line 1"),
        ("https://old.example/", "Line 1"),
        ("javascript:alert(1)", "Line 1"),
    ] {
        let page = client
            .post_form(
                PAGE,
                PAGE,
                &[
                    ("enabled", "1"),
                    ("approve_followers", "1"),
                    ("also_known_as", text),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        let error = field_error(&page.body, "also_known_as");
        assert!(error.contains(message), "{text}: {error}");
        assert!(
            page.body
                .contains(&format!(">{}</textarea>", text.replace('&', "&amp;"))),
            "{text}: the text is kept:\n{}",
            page.body
        );
        assert!(
            page.body
                .contains("name=\"approve_followers\" value=\"1\" checked"),
            "the boxes are kept as sent"
        );
    }
    let nine: Vec<String> = (1..=9)
        .map(|n| format!("https://old{n}.example/users/ana"))
        .collect();
    let page = client
        .post_form(PAGE, PAGE, &[("also_known_as", &nine.join("\n"))])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&page.body, "also_known_as").contains("At most 8"));
    let stored = app
        .store
        .read_blocking(|conn| fed::settings(conn, ana))
        .unwrap();
    assert_eq!(
        stored,
        fed::Settings {
            enabled: true,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn fediverse_forms_without_csrf_are_refused() {
    let app = WebApp::start(NO_FIXTURES).await;
    let root = app.create_user("root", true);
    let pending = remote_follower(&app, root, "pat", false);
    let accepted = remote_follower(&app, root, "acc", true);
    app.store
        .write_blocking(|tx| {
            fed::add_block(
                tx,
                Some(root),
                &Block::Domain("old.example".into()),
                Utc::now(),
            )?;
            fed::add_block(tx, None, &Block::Domain("old.example".into()), Utc::now())
        })
        .unwrap();
    let client = app.logged_in("root").await;
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (PAGE.into(), vec![("also_known_as", "")]),
        (format!("{PAGE}/followers/{pending}/approve"), vec![]),
        (format!("{PAGE}/followers/{accepted}/remove"), vec![]),
        (format!("{PAGE}/blocks"), vec![("block", "spam.example")]),
        (
            format!("{PAGE}/blocks/remove"),
            vec![("kind", "domain"), ("target", "old.example")],
        ),
        (
            format!("{PAGE}/instance-blocks"),
            vec![("instance_block", "spam.example")],
        ),
        (
            format!("{PAGE}/instance-blocks/remove"),
            vec![("kind", "domain"), ("target", "old.example")],
        ),
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
    let settings = app
        .store
        .read_blocking(|conn| fed::settings(conn, root))
        .unwrap();
    assert!(settings.enabled);
    let now = followers(&app, root);
    assert_eq!(now.len(), 2);
    assert!(
        now.iter()
            .any(|f| f.actor.id == Some(pending) && !f.accepted)
    );
    assert_eq!(
        blocks(&app, Some(root)),
        [Block::Domain("old.example".into())]
    );
    assert_eq!(blocks(&app, None), [Block::Domain("old.example".into())]);
    assert!(queued(&app).is_empty());
    // The token makes the same form work, so the refusals were about the token.
    let ok = client
        .post_form(PAGE, &format!("{PAGE}/followers/{pending}/approve"), &[])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_pending_follower_is_shown_and_approved() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let pat = remote_follower(&app, ana, "pat", false);
    let client = app.logged_in("ana").await;
    let page = client.get(PAGE).await;
    for expected in [
        "Waiting for your approval",
        "<bdi>pat from afar</bdi>",
        "@pat@remote.example",
        "href=\"https://remote.example/@pat\" rel=\"nofollow noopener",
        "src=\"https://remote.example/pat.png\"",
        "referrerpolicy=\"no-referrer\"",
        &format!("action=\"/settings/fediverse/followers/{pat}/approve\""),
        ">Refuse</button>",
    ] {
        assert!(
            page.body.contains(expected),
            "{expected} in:\n{}",
            page.body
        );
    }
    assert!(!page.body.contains(">Remove</button>"));

    let approved = client
        .post_form(PAGE, &format!("{PAGE}/followers/{pat}/approve"), &[])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        approved.location.as_deref(),
        Some("/settings/fediverse?done=approved")
    );
    let now = followers(&app, ana);
    assert_eq!(now.len(), 1);
    assert!(now[0].accepted, "{now:?}");
    let queued = queued(&app);
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (accept, inboxes) = &queued[0];
    assert_eq!(accept["type"], "Accept", "{accept}");
    assert_eq!(
        accept["actor"],
        format!("{}/ana", app.state.config.base_url())
    );
    assert_eq!(accept["object"]["id"], "https://remote.example/follows/pat");
    assert_eq!(inboxes, &["https://remote.example/users/pat/inbox"]);
    let page = client.get("/settings/fediverse?done=approved").await;
    assert!(page.body.contains("Follower approved."));
    assert!(page.body.contains(">Remove</button>"));
    assert!(!page.body.contains("Waiting for your approval"));
}

#[tokio::test]
async fn removing_or_refusing_a_follower_queues_a_reject() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let acc = remote_follower(&app, ana, "acc", true);
    let pat = remote_follower(&app, ana, "pat", false);
    let client = app.logged_in("ana").await;
    for (actor, name) in [(acc, "acc"), (pat, "pat")] {
        let removed = client
            .post_form(PAGE, &format!("{PAGE}/followers/{actor}/remove"), &[])
            .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER);
        assert_eq!(
            removed.location.as_deref(),
            Some("/settings/fediverse?done=removed")
        );
        assert!(
            followers(&app, ana)
                .iter()
                .all(|f| f.actor.id != Some(actor)),
            "{name} still follows"
        );
        let (reject, inboxes) = queued(&app).pop().unwrap();
        assert_eq!(reject["type"], "Reject", "{reject}");
        assert_eq!(
            reject["object"]["id"],
            format!("https://remote.example/follows/{name}")
        );
        assert_eq!(
            inboxes,
            [format!("https://remote.example/users/{name}/inbox")]
        );
    }
    assert!(followers(&app, ana).is_empty());
    assert_eq!(queued(&app).len(), 2);
    // Twice is harmless: nothing more is queued.
    let again = client
        .post_form(PAGE, &format!("{PAGE}/followers/{acc}/remove"), &[])
        .await;
    assert_eq!(
        again.location.as_deref(),
        Some("/settings/fediverse?done=gone")
    );
    assert_eq!(queued(&app).len(), 2);
}

#[tokio::test]
async fn another_users_follower_cannot_be_approved_or_removed() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let bob = app.create_user("bob", false);
    let pat = remote_follower(&app, bob, "pat", false);
    let acc = remote_follower(&app, bob, "acc", true);
    let ana_client = app.logged_in("ana").await;
    for path in [
        format!("{PAGE}/followers/{pat}/approve"),
        format!("{PAGE}/followers/{pat}/remove"),
        format!("{PAGE}/followers/{acc}/remove"),
    ] {
        let page = ana_client.post_form(PAGE, &path, &[]).await;
        assert_eq!(
            page.location.as_deref(),
            Some("/settings/fediverse?done=gone"),
            "{path}"
        );
    }
    let now = followers(&app, bob);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.iter().any(|f| f.actor.id == Some(pat) && !f.accepted));
    assert!(queued(&app).is_empty());
    let ana_page = ana_client.get(PAGE).await;
    assert!(!ana_page.body.contains("pat from afar"));
    // A path that is no number is refused, not a crash.
    let bad = ana_client
        .post_form(PAGE, &format!("{PAGE}/followers/x/remove"), &[])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn blocks_are_added_listed_and_removed() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let spam = remote_follower(&app, ana, "spam", true);
    let client = app.logged_in("ana").await;
    for (input, block) in [
        (
            " https://remote.example/users/spam ",
            Block::Actor("https://remote.example/users/spam".into()),
        ),
        ("@Bad.Example", Block::Domain("bad.example".into())),
    ] {
        let page = client
            .post_form(PAGE, &format!("{PAGE}/blocks"), &[("block", input)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{input}: {}", page.body);
        assert!(blocks(&app, Some(ana)).contains(&block), "{input}");
    }
    assert!(
        followers(&app, ana)
            .iter()
            .all(|f| f.actor.id != Some(spam)),
        "a blocked account stops following"
    );
    for (input, message) in [
        ("@someone@bad.example", "handle"),
        ("not a domain", "neither"),
        ("http://bad.example/users/x", "https://"),
        ("", "Type the address"),
    ] {
        let page = client
            .post_form(PAGE, &format!("{PAGE}/blocks"), &[("block", input)])
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{input}");
        assert!(
            field_error(&page.body, "block").contains(message),
            "{input}"
        );
        assert!(
            page.body
                .contains(&format!("name=\"block\" type=\"text\" value=\"{input}\"")),
            "{input}: the text is kept"
        );
    }
    assert_eq!(blocks(&app, Some(ana)).len(), 2);
    assert!(
        blocks(&app, None).is_empty(),
        "the user's blocks are not the instance's"
    );
    let page = client.get(PAGE).await;
    assert!(page.body.contains("<code><bdi>bad.example</bdi></code>"));
    assert!(!page.body.contains("Blocked domains for the whole instance"));

    let removed = client
        .post_form(
            PAGE,
            &format!("{PAGE}/blocks/remove"),
            &[("kind", "domain"), ("target", "bad.example")],
        )
        .await;
    assert_eq!(
        removed.location.as_deref(),
        Some("/settings/fediverse?done=unblocked")
    );
    assert_eq!(
        blocks(&app, Some(ana)),
        [Block::Actor("https://remote.example/users/spam".into())]
    );
    let odd = client
        .post_form(
            PAGE,
            &format!("{PAGE}/blocks/remove"),
            &[("kind", "everything"), ("target", "bad.example")],
        )
        .await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn instance_blocks_are_for_admins_only() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("root", true);
    app.create_user("ana", false);
    let root = app.logged_in("root").await;
    let page = root.get(PAGE).await;
    assert!(page.body.contains("Blocked domains for the whole instance"));
    let added = root
        .post_form(
            PAGE,
            &format!("{PAGE}/instance-blocks"),
            &[("instance_block", "spam.example")],
        )
        .await;
    assert_eq!(
        added.location.as_deref(),
        Some("/settings/fediverse?done=instance-blocked")
    );
    assert_eq!(blocks(&app, None), [Block::Domain("spam.example".into())]);
    let bad = root
        .post_form(
            PAGE,
            &format!("{PAGE}/instance-blocks"),
            &[("instance_block", "@x@spam.example")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&bad.body, "instance_block").contains("handle"));

    let ana = app.logged_in("ana").await;
    let page = ana.get(PAGE).await;
    assert!(!page.body.contains("Blocked domains for the whole instance"));
    assert!(!page.body.contains("spam.example"));
    let denied = ana
        .post_form(
            PAGE,
            &format!("{PAGE}/instance-blocks/remove"),
            &[("kind", "domain"), ("target", "spam.example")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let denied = ana
        .post_form(
            PAGE,
            &format!("{PAGE}/instance-blocks"),
            &[("instance_block", "other.example")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(blocks(&app, None), [Block::Domain("spam.example".into())]);

    let removed = root
        .post_form(
            PAGE,
            &format!("{PAGE}/instance-blocks/remove"),
            &[("kind", "domain"), ("target", "spam.example")],
        )
        .await;
    assert_eq!(
        removed.location.as_deref(),
        Some("/settings/fediverse?done=instance-unblocked")
    );
    assert!(blocks(&app, None).is_empty());
}

#[tokio::test]
async fn turning_approval_off_accepts_everyone_waiting() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    remote_follower(&app, ana, "pat", false);
    let client = app.logged_in("ana").await;
    let saved = client
        .post_form(PAGE, PAGE, &[("enabled", "1"), ("also_known_as", "")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(followers(&app, ana).iter().all(|f| f.accepted));
    let queued = queued(&app);
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].0["type"], "Accept");
    assert_eq!(queued[0].1, ["https://remote.example/users/pat/inbox"]);
}
