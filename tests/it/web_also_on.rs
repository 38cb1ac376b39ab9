//! One card per post over real HTTP: a post on the owner's blog, Mastodon and Bluesky is
//! one card on the lifestream with "also on" links to the copies, the comments made on
//! any copy are on that card, and each service's own stream and feed keep their copy.
//! `syndicated` also sets up the browser test (`browser.rs`).

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use tributary::model::{ItemId, SourceId, UserId};
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::store::sources;

use crate::support::web::WebApp;
use crate::web_stream::{NO_FIXTURES, card, comment, item_ids, store_items};

pub const BLOG_URL: &str = "https://ana.example/2026/05/kayaking";
pub const TOOT_URL: &str = "https://social.example/@ana/112233";
pub const SKEET_URL: &str = "https://bsky.app/profile/ana.example/post/3kayak";
const TEXT: &str = "Went kayaking on the river today, and the rapids were kind to us.";

fn source(app: &WebApp, user: UserId, kind: &str, title: &str) -> SourceId {
    let params = serde_json::json!({ "url": format!("https://{kind}.example/{}", user.0) });
    app.store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: user,
                    kind,
                    params: &params,
                    title,
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap()
}

/// An item as a poll stores it (through the real normalizer and sanitizer).
fn post(id: &str, url: &str, html: &str, published: DateTime<Utc>) -> tributary::model::NewItem {
    let mut raw = connectors::RawItem::new(id);
    raw.url = Some(url::Url::parse(url).unwrap());
    raw.content = Some(connectors::Content::Html(html.to_owned()));
    raw.published = Some(published);
    let ctx = NormalizeCtx {
        base_url: None,
        fetched_at: Utc::now(),
        sanitize_fast_path: true,
    };
    normalize(raw, &ctx).0
}

/// `ana` with a blog (`feed`), Mastodon (`activitypub`) and Bluesky source, and one post
/// in all three: the toot first and linking back to the blog post, the skeet with the same
/// text, the blog post last. Returns the user and the (blog, toot, skeet) item ids.
pub fn syndicated(app: &WebApp) -> (UserId, [ItemId; 3]) {
    let ana = app.create_user("ana", false);
    let blog = source(app, ana, "feed", "Ana's blog");
    let mastodon = source(app, ana, "activitypub", "Mastodon");
    let bluesky = source(app, ana, "bluesky", "Bluesky");
    let now = Utc::now();
    let toot = store_items(
        app,
        mastodon,
        ana,
        vec![post(
            "toot",
            TOOT_URL,
            &format!(r#"<p>New on the blog: <a href="{BLOG_URL}">kayaking</a></p>"#),
            now - TimeDelta::minutes(50),
        )],
    )[0];
    let skeet = store_items(
        app,
        bluesky,
        ana,
        vec![post(
            "skeet",
            SKEET_URL,
            &format!("<p>{TEXT}</p>"),
            now - TimeDelta::minutes(40),
        )],
    )[0];
    let post_id = store_items(
        app,
        blog,
        ana,
        vec![post(
            "blog",
            BLOG_URL,
            &format!("<p>{TEXT}</p><p>More about the day.</p>"),
            now - TimeDelta::minutes(30),
        )],
    )[0];
    (ana, [post_id, toot, skeet])
}

/// The `href`s of the "also on" links in a card's markup, with their labels.
pub fn also_on_links(card: &str) -> Vec<(String, String)> {
    let Some(at) = card.find("class=\"also-on\"") else {
        return Vec::new();
    };
    let end = card[at..].find("</p>").map_or(card.len(), |n| at + n);
    let mut links = Vec::new();
    let mut rest = &card[at..end];
    while let Some(start) = rest.find("href=\"") {
        rest = &rest[start + 6..];
        let href = rest[..rest.find('"').unwrap()].to_owned();
        let text_at = rest
            .find("<bdi>")
            .map(|n| n + 5)
            .unwrap_or(rest.find('>').unwrap() + 1);
        let text_end = text_at + rest[text_at..].find('<').unwrap();
        links.push((href, rest[text_at..text_end].to_owned()));
        rest = &rest[text_end..];
    }
    links
}

#[tokio::test]
async fn one_card_with_also_on_links_and_the_comments_of_every_copy() {
    let app = WebApp::start(NO_FIXTURES).await;
    let (_, [blog, toot, skeet]) = syndicated(&app);
    app.create_user("bo", false);
    let bo = app.logged_in("bo").await;
    // Comments on a copy (as a service stream's card would post them) and on the main.
    assert_eq!(
        comment(&bo, toot, "Nice rapids!").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        comment(&bo, blog, "Which river?").await.status,
        StatusCode::SEE_OTHER
    );

    for path in ["/ana", "/"] {
        let page = bo.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(item_ids(&page.body), [blog.0], "{path}");
        let card = card(&page.body, blog);
        assert!(card.contains("Also on "), "{path}: {card}");
        assert_eq!(
            also_on_links(card),
            [
                (TOOT_URL.to_owned(), "Mastodon".to_owned()),
                (SKEET_URL.to_owned(), "Bluesky".to_owned()),
            ],
            "{path}"
        );
        assert!(card.contains("Nice rapids!"), "{path}: {card}");
        assert!(card.contains("Which river?"), "{path}: {card}");
    }
    // The item's own page shows every comment of the group, and the links.
    let page = bo.get(&format!("/e/{blog}")).await;
    assert!(page.body.contains("Nice rapids!") && page.body.contains("Which river?"));
    assert_eq!(also_on_links(card(&page.body, blog)).len(), 2);
    // A like from the card goes to the main item.
    let liked = bo.post_form("/ana", &format!("/e/{blog}/like"), &[]).await;
    assert_eq!(liked.status, StatusCode::SEE_OTHER);
    let likes: i64 = app
        .store
        .read_blocking(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) FROM likes WHERE item_id = ?1",
                [blog.0],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(likes, 1);

    // Each service's stream keeps its own copy, whose card links to the others.
    let page = bo.get("/ana?service=activitypub").await;
    assert_eq!(item_ids(&page.body), [toot.0]);
    let links = also_on_links(card(&page.body, toot));
    assert_eq!(links[0], (BLOG_URL.to_owned(), "Ana's blog".to_owned()));
    assert_eq!(
        item_ids(&bo.get("/ana?service=bluesky").await.body),
        [skeet.0]
    );
    // And so do its feeds.
    let atom = bo.get("/ana/activitypub/feed.atom").await;
    assert_eq!(atom.status, StatusCode::OK);
    assert!(atom.body.contains(TOOT_URL), "{}", atom.body);
    let atom = bo.get("/ana/bluesky/feed.atom").await;
    assert!(atom.body.contains(SKEET_URL), "{}", atom.body);
}

#[tokio::test]
async fn hiding_the_main_shows_the_earliest_copy_instead() {
    let app = WebApp::start(NO_FIXTURES).await;
    let (_, [blog, toot, skeet]) = syndicated(&app);
    let ana = app.logged_in("ana").await;
    assert_eq!(
        ana.post_form("/ana", &format!("/e/{blog}/hide"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let public = app.client().get("/ana").await;
    assert_eq!(item_ids(&public.body), [toot.0]);
    assert_eq!(
        also_on_links(card(&public.body, toot)),
        [(SKEET_URL.to_owned(), "Bluesky".to_owned())]
    );
    assert_eq!(
        ana.post_form("/ana", &format!("/e/{blog}/unhide"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(item_ids(&app.client().get("/ana").await.body), [blog.0]);
    let _ = skeet;
}
