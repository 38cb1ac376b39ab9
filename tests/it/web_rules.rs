//! Viewer hide rules over real HTTP: a rule leaves matching items of others out of the
//! viewer's stream pages with "N items hidden by your rules", the peek shows them marked,
//! other viewers and the viewer's own items are untouched, bad rules re-render the form
//! with the text kept, the form needs its CSRF token, and deleting a rule brings the
//! items back.

use reqwest::StatusCode;

use crate::support::web::WebApp;
use crate::web_stream::{NO_FIXTURES, add_item, add_source, item_ids};

struct World {
    app: WebApp,
    /// Ana's items: "Post gh-1" (github), "Post blog-1" (feed).
    gh: i64,
    blog: i64,
    /// Vic's own github item.
    own: i64,
    gh_source: i64,
}

async fn world() -> World {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let vic = app.create_user("vic", false);
    app.create_user("zed", false);
    let gh_source = add_source(&app, ana, "github");
    let blog_source = add_source(&app, ana, "feed");
    let gh = add_item(&app, gh_source, ana, "gh-1", 5).0;
    let blog = add_item(&app, blog_source, ana, "blog-1", 4).0;
    let vic_source = add_source(&app, vic, "github");
    let own = add_item(&app, vic_source, vic, "gh-own", 3).0;
    World {
        app,
        gh,
        blog,
        own,
        gh_source: gh_source.0,
    }
}

async fn add_rule(client: &crate::support::web::Client, kind: &str, value: &str) {
    let page = client
        .post_form(
            "/settings/rules",
            "/settings/rules",
            &[("kind", kind), ("value", value)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

#[tokio::test]
async fn a_keyword_rule_hides_with_a_count_and_a_peek() {
    let w = world().await;
    let vic = w.app.logged_in("vic").await;
    add_rule(&vic, "keyword", "  POST   gh-1 ").await;
    let rules = vic.get("/settings/rules").await;
    assert!(
        rules.body.contains("<bdi>POST gh-1</bdi>"),
        "{}",
        rules.body
    );

    for path in ["/", "/ana"] {
        let page = vic.get(path).await;
        let ids = item_ids(&page.body);
        assert!(!ids.contains(&w.gh), "{path}: {ids:?}");
        assert!(ids.contains(&w.blog), "{path}: {ids:?}");
        assert!(
            page.body.contains("1 item hidden by your rules."),
            "{path}: {}",
            page.body
        );
        let peek_link = format!("{path}?peek=1");
        assert!(
            page.body.contains(&format!("href=\"{peek_link}\"")),
            "{}",
            page.body
        );

        let peek = vic.get(&peek_link).await;
        let ids = item_ids(&peek.body);
        assert!(ids.contains(&w.gh) && ids.contains(&w.blog), "{ids:?}");
        let marked = peek
            .body
            .find("Hidden by your rules")
            .expect("a marked card");
        let card_at = peek.body.find(&format!("id=\"item-{}\"", w.gh)).unwrap();
        assert!(marked < card_at, "the mark comes before the hidden card");
        assert!(peek.body.contains("Hide them again"), "{}", peek.body);
    }

    // Nobody else is affected: another user, and an anonymous reader.
    for client in [w.app.logged_in("zed").await, w.app.client()] {
        let page = client.get("/").await;
        assert!(item_ids(&page.body).contains(&w.gh));
        assert!(!page.body.contains("hidden by your rules"));
    }
}

#[tokio::test]
async fn service_source_person_and_photo_rules() {
    let w = world().await;
    let vic = w.app.logged_in("vic").await;

    add_rule(&vic, "service", "GitHub").await;
    let ids = item_ids(&vic.get("/").await.body);
    assert!(!ids.contains(&w.gh) && ids.contains(&w.blog), "{ids:?}");
    // The viewer's own items are never hidden.
    assert!(ids.contains(&w.own), "{ids:?}");
    assert!(item_ids(&vic.get("/vic").await.body).contains(&w.own));

    let rules = vic.get("/settings/rules").await;
    let delete = delete_path(&rules.body);
    let page = vic.post_form("/settings/rules", &delete, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let ids = item_ids(&vic.get("/").await.body);
    assert!(
        ids.contains(&w.gh),
        "deleting the rule brings the item back: {ids:?}"
    );

    add_rule(&vic, "source", &w.gh_source.to_string()).await;
    let ids = item_ids(&vic.get("/").await.body);
    assert!(!ids.contains(&w.gh) && ids.contains(&w.blog), "{ids:?}");
    let rules = vic.get("/settings/rules").await;
    vic.post_form("/settings/rules", &delete_path(&rules.body), &[])
        .await;

    add_rule(&vic, "person", "@ana").await;
    let page = vic.get("/").await;
    let ids = item_ids(&page.body);
    assert!(!ids.contains(&w.gh) && !ids.contains(&w.blog) && ids.contains(&w.own));
    assert!(
        page.body.contains("2 items hidden by your rules."),
        "{}",
        page.body
    );
    let rules = vic.get("/settings/rules").await;
    assert!(
        rules.body.contains("Items of <strong><bdi>ana</bdi>"),
        "{}",
        rules.body
    );
    vic.post_form("/settings/rules", &delete_path(&rules.body), &[])
        .await;

    add_rule(&vic, "photos_only", "").await;
    let ids = item_ids(&vic.get("/ana").await.body);
    assert!(ids.is_empty(), "no photos among ana's items: {ids:?}");
}

/// The first "Delete" form's action on the rules page.
fn delete_path(body: &str) -> String {
    let end = body.find("/delete\"").expect("a delete form");
    let start = body[..end].rfind("action=\"").unwrap() + "action=\"".len();
    format!("{}/delete", &body[start..end])
}

#[tokio::test]
async fn bad_rules_re_render_with_the_text_kept() {
    let w = world().await;
    let vic = w.app.logged_in("vic").await;
    let cases = [
        ("keyword", "   ", "Type the words to hide."),
        (
            "person",
            "nobody-here",
            "There is no user named nobody-here here.",
        ),
        ("person", "vic", "That is you"),
        ("source", "abc", "Type the source&#39;s number"),
        ("source", "999999", "There is no source 999999 you can see."),
        ("bogus", "x", "Choose what to hide."),
    ];
    for (kind, value, message) in cases {
        let page = vic
            .post_form(
                "/settings/rules",
                "/settings/rules",
                &[("kind", kind), ("value", value)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{kind} {value}"
        );
        let shown =
            page.body.contains(message) || page.body.contains(&message.replace("&#39;", "'"));
        assert!(shown, "{kind} {value}: {}", page.body);
        if !value.trim().is_empty() {
            assert!(
                page.body.contains(&format!("value=\"{value}\"")),
                "the text is kept: {}",
                page.body
            );
        }
    }
    let long = "x".repeat(201);
    let page = vic
        .post_form(
            "/settings/rules",
            "/settings/rules",
            &[("kind", "keyword"), ("value", &long)],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("At most 200 characters."));
    assert!(
        vic.get("/settings/rules")
            .await
            .body
            .contains("No rules yet.")
    );
}

#[tokio::test]
async fn rules_need_a_login_and_the_csrf_token() {
    let w = world().await;
    let vic = w.app.logged_in("vic").await;
    let page = vic
        .post_raw("/settings/rules", &[("kind", "keyword"), ("value", "gh-1")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        vic.get("/settings/rules")
            .await
            .body
            .contains("No rules yet.")
    );
    let anonymous = w.app.client().get("/settings/rules").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);

    // One viewer cannot delete another's rule.
    add_rule(&vic, "keyword", "gh-1").await;
    let delete = delete_path(&vic.get("/settings/rules").await.body);
    let zed = w.app.logged_in("zed").await;
    let page = zed.post_form("/settings/rules", &delete, &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        !vic.get("/settings/rules")
            .await
            .body
            .contains("No rules yet.")
    );
}
