//! Comments, likes and hiding over real HTTP: who may edit, delete and hide; comments are
//! plain text; refused comments keep their text; CSRF and rate limits; comments survive
//! removed sources and tombstones.

use chrono::Utc;
use reqwest::StatusCode;
use tributary::model::{CommentId, ItemId};
use tributary::store::{items, social, sources};

use crate::support::web::WebApp;
use crate::web_stream::{NO_FIXTURES, add_item, add_source, card, comment, item_ids, post};

fn comments_on(app: &WebApp, item: ItemId) -> Vec<social::Comment> {
    app.store
        .read_blocking(|conn| social::comments_of(conn, item, None))
        .unwrap()
}

/// ana owns one item; bo and cy are other users; root is an admin.
async fn setup() -> (WebApp, ItemId) {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    app.create_user("cy", false);
    app.create_user("root", true);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "post", 30);
    (app, item)
}

fn only_comment(app: &WebApp, item: ItemId) -> CommentId {
    let comments = comments_on(app, item);
    assert_eq!(comments.len(), 1, "{comments:?}");
    comments[0].id
}

#[tokio::test]
async fn user_cannot_delete_or_edit_others_comments() {
    let (app, item) = setup().await;
    let bo = app.logged_in("bo").await;
    let cy = app.logged_in("cy").await;
    assert_eq!(
        comment(&bo, item, "Mine").await.status,
        StatusCode::SEE_OTHER
    );
    let id = only_comment(&app, item);

    assert_eq!(
        cy.get(&format!("/c/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    let edit = cy
        .post_form("/", &format!("/c/{id}/edit"), &[("body", "Yours now")])
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    assert_eq!(
        post(&cy, &format!("/c/{id}/delete")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(comments_on(&app, item)[0].body, "Mine");
    // Nor does the page offer them the buttons.
    let seen_by_cy = cy.get(&format!("/e/{item}")).await;
    assert!(!seen_by_cy.body.contains(&format!("/c/{id}/edit")));
    assert!(!seen_by_cy.body.contains(&format!("/c/{id}/delete")));

    // The author may edit; the edit page shows the text.
    let form = bo.get(&format!("/c/{id}/edit")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(">Mine</textarea>"), "{}", form.body);
    let edited = bo
        .post_form("/", &format!("/c/{id}/edit"), &[("body", "Mine, edited")])
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let page = app.client().get(&format!("/e/{item}")).await;
    assert!(page.body.contains("Mine, edited"));
    assert!(page.body.contains("(edited)"));
}

#[tokio::test]
async fn item_owner_and_admin_may_delete_any_comment() {
    let (app, item) = setup().await;
    let bo = app.logged_in("bo").await;
    assert_eq!(
        comment(&bo, item, "First").await.status,
        StatusCode::SEE_OTHER
    );
    let first = only_comment(&app, item);

    let ana = app.logged_in("ana").await;
    let page = ana.get(&format!("/e/{item}")).await;
    assert!(
        page.body
            .contains(&format!("formaction=\"/c/{first}/delete\"")),
        "{}",
        page.body
    );
    // The owner may delete but not edit it.
    assert_eq!(
        ana.get(&format!("/c/{first}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
    let deleted = ana
        .post_form("/", &format!("/c/{first}/delete"), &[("next", "/ana")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    // Back on the page, at the item's card.
    assert_eq!(
        deleted.location.as_deref(),
        Some(format!("/ana#item-{item}").as_str())
    );
    assert!(comments_on(&app, item).is_empty());

    assert_eq!(
        comment(&bo, item, "Second").await.status,
        StatusCode::SEE_OTHER
    );
    let second = only_comment(&app, item);
    let root = app.logged_in("root").await;
    assert_eq!(
        post(&root, &format!("/c/{second}/delete")).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(comments_on(&app, item).is_empty());
    assert_eq!(
        post(&root, &format!("/c/{second}/delete")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn user_cannot_hide_others_items() {
    let (app, item) = setup().await;
    for name in ["bo", "root"] {
        let client = app.logged_in(name).await;
        assert_eq!(
            post(&client, &format!("/e/{item}/hide")).await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
        assert!(!card(&client.get("/ana").await.body, item).contains(">Hide</button>"));
    }
    assert_eq!(item_ids(&app.client().get("/ana").await.body), [item.0]);
    let ana = app.logged_in("ana").await;
    assert!(card(&ana.get("/ana").await.body, item).contains(">Hide</button>"));
}

#[tokio::test]
async fn comment_is_plain_text_with_links() {
    let (app, item) = setup().await;
    let bo = app.logged_in("bo").await;
    let text = "<script>alert(1)</script> <b>bold</b>\nsee https://example.com/x?a=1&b=2. or javascript:alert(2)";
    let done = comment(&bo, item, text).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(done.location.unwrap().starts_with(&format!("/e/{item}#c-")));
    for path in [format!("/e/{item}"), "/ana".to_owned()] {
        let page = app.client().get(&path).await;
        let html = card(&page.body, item);
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;<br>see "),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert!(
            html.contains(r#"<a href="https://example.com/x?a=1&amp;b=2" rel="nofollow ugc noopener noreferrer">https://example.com/x?a=1&amp;b=2</a>."#),
            "{html}"
        );
        assert!(!html.contains("href=\"javascript"), "{html}");
    }
}

#[tokio::test]
async fn empty_comment_rerenders_with_message_and_keeps_text() {
    let (app, item) = setup().await;
    let bo = app.logged_in("bo").await;
    let empty = comment(&bo, item, "   \n ").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("role=\"alert\">Write something first.</p>"),
        "{}",
        empty.body
    );

    let long = "é".repeat(4001);
    let too_long = comment(&bo, item, &long).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long.body.contains("at most 4000 characters"),
        "{}",
        too_long.body
    );
    assert!(
        too_long.body.contains(&format!(">{long}</textarea>")),
        "text kept"
    );
    // The re-rendered forms lead back to the item page, not to the POST-only address.
    assert!(
        too_long
            .body
            .contains(&format!("name=\"next\" value=\"/e/{item}#item-{item}\""))
    );
    assert!(!too_long.body.contains("/comments#"), "{}", too_long.body);
    assert!(comments_on(&app, item).is_empty());

    // Exactly the limit is fine, and the text is trimmed.
    let longest = "x".repeat(4000);
    assert_eq!(
        comment(&bo, item, &format!("  {longest}\n")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(comments_on(&app, item)[0].body, longest);
}

#[tokio::test]
async fn comment_without_csrf_is_refused() {
    let (app, item) = setup().await;
    let bo = app.logged_in("bo").await;
    let missing = bo
        .post_raw(&format!("/e/{item}/comments"), &[("body", "hi")])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = bo
        .post_raw(
            &format!("/e/{item}/comments"),
            &[("body", "hi"), ("csrf", "0".repeat(64).as_str())],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let like = bo.post_raw(&format!("/e/{item}/like"), &[]).await;
    assert_eq!(like.status, StatusCode::FORBIDDEN);
    assert!(comments_on(&app, item).is_empty());
    assert!(!card(&bo.get("/ana").await.body, item).contains("class=\"likes\""));
    // Anonymous visitors are sent to log in.
    let anonymous = app.client();
    let token = anonymous.get("/login").await.csrf();
    let refused = anonymous
        .post_raw(
            &format!("/e/{item}/comments"),
            &[("body", "hi"), ("csrf", &token)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.location.unwrap().starts_with("/login?next="));
    assert!(comments_on(&app, item).is_empty());
}

#[tokio::test]
async fn comments_are_rate_limited_per_user() {
    let app = WebApp::start_with(NO_FIXTURES, |config| {
        config.auth.max_comments_per_minute = 2
    })
    .await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "post", 30);
    let bo = app.logged_in("bo").await;
    assert_eq!(
        comment(&bo, item, "one").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        comment(&bo, item, "two").await.status,
        StatusCode::SEE_OTHER
    );
    let third = comment(&bo, item, "three").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        third.body.contains("You are commenting too fast"),
        "{}",
        third.body
    );
    // Someone else is not slowed down by bo.
    let ana_client = app.logged_in("ana").await;
    assert_eq!(
        comment(&ana_client, item, "mine").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(comments_on(&app, item).len(), 3);
}

#[tokio::test]
async fn comments_survive_source_removal() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana_id = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana_id, "feed");
    let item = add_item(&app, source, ana_id, "kept", 30);
    let doomed = add_item(&app, source, ana_id, "doomed", 20);
    let bo = app.logged_in("bo").await;
    for id in [item, doomed] {
        assert_eq!(
            comment(&bo, id, "Worth keeping").await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            post(&bo, &format!("/e/{id}/like")).await.status,
            StatusCode::SEE_OTHER
        );
    }

    app.store
        .write_blocking(|tx| items::tombstone(tx, doomed, Utc::now()))
        .unwrap();
    assert!(!item_ids(&bo.get("/ana").await.body).contains(&doomed.0));
    // Bo commented: the comment stays reachable, the deleted post does not.
    let for_bo = bo.get(&format!("/e/{doomed}")).await;
    assert_eq!(for_bo.status, StatusCode::OK);
    assert!(for_bo.body.contains("Worth keeping"), "{}", for_bo.body);
    assert!(!for_bo.body.contains("doomed"), "{}", for_bo.body);
    let stranger = app.client().get(&format!("/e/{doomed}")).await;
    assert_ne!(stranger.status, StatusCode::OK);
    let ana = app.logged_in("ana").await;
    // The owner sees neither tombstoned item in the stream, nor can unhide it.
    assert_eq!(item_ids(&ana.get("/ana").await.body), [item.0]);
    assert_eq!(
        post(&ana, &format!("/e/{doomed}/unhide")).await.status,
        StatusCode::BAD_REQUEST
    );
    let tombstoned = ana.get(&format!("/e/{doomed}")).await;
    assert_eq!(tombstoned.status, StatusCode::OK);
    assert!(
        tombstoned.body.contains("This item was deleted"),
        "{}",
        tombstoned.body
    );
    assert!(tombstoned.body.contains("Worth keeping"));

    app.store
        .write_blocking(|tx| sources::remove(tx, source, Utc::now()))
        .unwrap();
    assert!(item_ids(&bo.get("/ana").await.body).is_empty());
    assert!(item_ids(&bo.get("/bo/discussions").await.body).is_empty());
    assert_eq!(
        bo.get(&format!("/e/{item}")).await.status,
        StatusCode::NOT_FOUND
    );
    let owner_view = ana.get(&format!("/e/{item}")).await;
    assert_eq!(owner_view.status, StatusCode::OK);
    assert!(
        owner_view.body.contains("source of this item was removed"),
        "{}",
        owner_view.body
    );
    assert!(owner_view.body.contains("Worth keeping"));
    assert!(
        owner_view.body.contains("bo</bdi></a> liked this"),
        "{}",
        owner_view.body
    );
    for id in [item, doomed] {
        assert_eq!(comments_on(&app, id).len(), 1);
        let likers = app
            .store
            .read_blocking(|conn| social::likers_of(conn, id))
            .unwrap();
        assert_eq!(likers.len(), 1);
    }
}
