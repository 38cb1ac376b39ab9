//! Streams over real HTTP: lifestream cards, bump order, keyset pages, service filter,
//! hidden items, friends/likes/discussions pages, follow, and the 404 for unknown users.
//! Also the item helpers `web_social` uses.

use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use tributary::model::{ItemId, NewItem, SourceId, UserId};
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::store::{items, sources};

use crate::support::web::{Client, Page, WebApp};

pub const NO_FIXTURES: &str = "http://127.0.0.1:1";

/// A source of `kind` for `user`, stored directly.
pub fn add_source(app: &WebApp, user: UserId, kind: &str) -> SourceId {
    let params = serde_json::json!({ "url": format!("https://{kind}.example/{}", user.0) });
    let kind = kind.to_owned();
    app.store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: user,
                    kind: &kind,
                    params: &params,
                    title: "",
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap()
}

/// An item as a poll would store it: through the real normalizer, so its HTML is sanitized.
pub fn new_item(
    external_id: &str,
    title: &str,
    html: &str,
    published: chrono::DateTime<Utc>,
) -> NewItem {
    let mut raw = connectors::RawItem::new(external_id);
    raw.title = Some(title.to_owned());
    raw.url = Some(url::Url::parse(&format!("https://origin.example/{external_id}")).unwrap());
    raw.content = Some(connectors::Content::Html(html.to_owned()));
    raw.published = Some(published);
    let ctx = NormalizeCtx {
        base_url: None,
        fetched_at: Utc::now(),
        sanitize_fast_path: true,
    };
    normalize(raw, &ctx).0
}

/// Stores one item published `minutes_ago` and returns its id.
pub fn add_item(
    app: &WebApp,
    source: SourceId,
    user: UserId,
    external_id: &str,
    minutes_ago: i64,
) -> ItemId {
    let item = new_item(
        external_id,
        &format!("Post {external_id}"),
        &format!("<p>Body of {external_id}</p>"),
        Utc::now() - TimeDelta::minutes(minutes_ago),
    );
    store_items(app, source, user, vec![item])[0]
}

pub fn store_items(
    app: &WebApp,
    source: SourceId,
    user: UserId,
    new_items: Vec<NewItem>,
) -> Vec<ItemId> {
    app.store
        .write_blocking(|tx| items::upsert(tx, source, user, &new_items, Utc::now()))
        .unwrap()
        .new_ids
}

/// The ids of the item cards on a page, in page order.
pub fn item_ids(body: &str) -> Vec<i64> {
    body.match_indices("<article class=\"item")
        .filter_map(|(at, _)| {
            let rest = &body[at..];
            let id_at = rest.find("id=\"item-")? + "id=\"item-".len();
            let digits: String = rest[id_at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The markup of one item's card.
pub fn card(body: &str, id: ItemId) -> &str {
    let start = body
        .find(&format!("id=\"item-{id}\""))
        .unwrap_or_else(|| panic!("no card for item {id} in:\n{body}"));
    let end = body[start..]
        .find("</article>")
        .map(|n| start + n)
        .unwrap_or(body.len());
    &body[start..end]
}

/// Posts a comment as the client's user.
pub async fn comment(client: &Client, item: ItemId, text: &str) -> Page {
    client
        .post_form("/", &format!("/e/{item}/comments"), &[("body", text)])
        .await
}

pub async fn post(client: &Client, path: &str) -> Page {
    client.post_form("/", path, &[]).await
}

fn next_link(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    let end = body[at..].find('"')?;
    Some(body[at..at + end].replace("&amp;", "&"))
}

#[tokio::test]
async fn comment_bumps_item_to_top_of_user_stream_and_friends_stream() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let oldest = add_item(&app, source, ana, "old", 300);
    let middle = add_item(&app, source, ana, "mid", 200);
    let newest = add_item(&app, source, ana, "new", 100);
    let bo = app.logged_in("bo").await;
    assert_eq!(post(&bo, "/ana/follow").await.status, StatusCode::SEE_OTHER);
    let before = item_ids(&bo.get("/bo/friends").await.body);
    assert_eq!(before, [newest.0, middle.0, oldest.0]);

    let done = comment(&bo, oldest, "Still true").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    for path in ["/ana", "/bo/friends", "/"] {
        let ids = item_ids(&bo.get(path).await.body);
        assert_eq!(ids, [oldest.0, newest.0, middle.0], "{path}");
    }
    let page = app.client().get("/ana").await;
    assert!(
        card(&page.body, oldest).contains("Still true"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn like_bumps_only_within_a_day() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let stale = add_item(&app, source, ana, "stale", 3 * 24 * 60);
    let fresh = add_item(&app, source, ana, "fresh", 120);
    let newest = add_item(&app, source, ana, "newest", 60);
    let bo = app.logged_in("bo").await;

    assert_eq!(
        post(&bo, &format!("/e/{stale}/like")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        item_ids(&bo.get("/ana").await.body),
        [newest.0, fresh.0, stale.0]
    );
    assert!(card(&bo.get("/ana").await.body, stale).contains("Unlike"));

    assert_eq!(
        post(&bo, &format!("/e/{fresh}/like")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        item_ids(&bo.get("/ana").await.body),
        [fresh.0, newest.0, stale.0]
    );

    // Liking again changes nothing; unliking leaves the order alone.
    assert_eq!(
        post(&bo, &format!("/e/{fresh}/like")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post(&bo, &format!("/e/{fresh}/unlike")).await.status,
        StatusCode::SEE_OTHER
    );
    let page = bo.get("/ana").await;
    assert_eq!(item_ids(&page.body), [fresh.0, newest.0, stale.0]);
    assert!(
        !card(&page.body, fresh).contains("class=\"likes\""),
        "{}",
        card(&page.body, fresh)
    );
    assert!(card(&page.body, fresh).contains(">Like</button>"));
}

#[tokio::test]
async fn pagination_returns_every_item_once_while_new_items_arrive() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    // Several items share a timestamp, so the cursor's id part matters.
    let same_time = Utc::now() - TimeDelta::hours(2);
    let batch: Vec<NewItem> = (0..70)
        .map(|n| {
            let published = if n % 7 == 0 {
                same_time
            } else {
                same_time - TimeDelta::minutes(n)
            };
            new_item(
                &format!("i{n}"),
                &format!("Item {n}"),
                "<p>x</p>",
                published,
            )
        })
        .collect();
    let mut expected = store_items(&app, source, ana, batch);
    expected.sort();

    let client = app.client();
    let mut seen = Vec::new();
    // The source's own stream: there a burst of items is not folded into one card, so
    // every item has its card (and the page links keep the filter).
    let mut path = format!("/ana?source={source}");
    let mut n_pages = 0;
    loop {
        let page = client.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        seen.extend(item_ids(&page.body));
        n_pages += 1;
        // New items arrive between page loads.
        add_item(&app, source, ana, &format!("late{n_pages}"), 0);
        match next_link(&page.body) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(n_pages, 3);
    let mut sorted: Vec<i64> = seen.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        expected.iter().map(|id| id.0).collect::<Vec<_>>(),
        "each item exactly once"
    );
    assert!(client.get("/ana?before=garbage").await.status == StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn service_filter_shows_only_that_kind() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let blog = add_source(&app, ana, "feed");
    let toots = add_source(&app, ana, "mastodon");
    let post_id = add_item(&app, blog, ana, "post", 30);
    let toot_id = add_item(&app, toots, ana, "toot", 20);
    let client = app.client();

    let all = client.get("/ana").await;
    assert_eq!(item_ids(&all.body), [toot_id.0, post_id.0]);
    let only = client.get("/ana?service=mastodon").await;
    assert_eq!(item_ids(&only.body), [toot_id.0], "{}", only.body);
    assert!(only.body.contains("Show all"));
    assert_eq!(
        item_ids(&client.get("/?service=feed").await.body),
        [post_id.0]
    );
    // The service name on a card is the filter link.
    assert!(card(&all.body, toot_id).contains("href=\"/ana?service=mastodon\""));
}

#[tokio::test]
async fn hidden_item_is_gone_for_others_and_marked_for_owner() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana_id = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana_id, "feed");
    let secret = add_item(&app, source, ana_id, "secret", 20);
    let open = add_item(&app, source, ana_id, "open", 10);
    let ana = app.logged_in("ana").await;
    let bo = app.logged_in("bo").await;

    let hid = post(&ana, &format!("/e/{secret}/hide")).await;
    assert_eq!(hid.status, StatusCode::SEE_OTHER);

    for viewer in [&bo, &app.client()] {
        assert_eq!(item_ids(&viewer.get("/ana").await.body), [open.0]);
        assert_eq!(item_ids(&viewer.get("/").await.body), [open.0]);
        assert_eq!(
            viewer.get(&format!("/e/{secret}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        post(&bo, &format!("/e/{secret}/like")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        comment(&bo, secret, "psst").await.status,
        StatusCode::NOT_FOUND
    );

    let own = ana.get("/ana").await;
    assert_eq!(item_ids(&own.body), [open.0, secret.0]);
    let hidden_card = card(&own.body, secret);
    assert!(hidden_card.contains(">hidden</span>"), "{hidden_card}");
    assert!(hidden_card.contains(">Unhide</button>"), "{hidden_card}");
    assert!(!card(&own.body, open).contains(">hidden</span>"));
    assert_eq!(
        ana.get(&format!("/e/{secret}")).await.status,
        StatusCode::OK
    );

    assert_eq!(
        post(&ana, &format!("/e/{secret}/unhide")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(item_ids(&bo.get("/ana").await.body), [open.0, secret.0]);
}

#[tokio::test]
async fn likes_line_names_likers() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "liked", 10);
    for name in ["bo", "cy", "di", "ed", "flo"] {
        app.create_user(name, false);
        let client = app.logged_in(name).await;
        assert_eq!(
            post(&client, &format!("/e/{item}/like")).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let stream = app.client().get("/ana").await;
    let line = card(&stream.body, item);
    assert!(
        line.contains(r#"<p class="likes"><a href="/bo"><bdi>bo</bdi></a>, <a href="/cy"><bdi>cy</bdi></a> and 3 others liked this</p>"#),
        "{line}"
    );
    let page = app.client().get(&format!("/e/{item}")).await;
    assert!(
        page.body.contains(
            r#"<a href="/di"><bdi>di</bdi></a>, <a href="/ed"><bdi>ed</bdi></a> and <a href="/flo"><bdi>flo</bdi></a> liked this"#
        ),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn unknown_user_is_404_in_layout() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    let ana = app.logged_in("ana").await;
    for path in [
        "/nobody",
        "/nobody/friends",
        "/nobody/likes",
        "/nobody/discussions",
    ] {
        let page = ana.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("Not found"), "{}", page.body);
        assert!(
            page.body.contains("Log out"),
            "the viewer keeps their navigation: {}",
            page.body
        );
    }
    let anonymous = app.client().get("/nobody").await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    assert!(anonymous.body.contains("Log in"));
}

#[tokio::test]
async fn friends_likes_discussions_pages() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let cy = app.create_user("cy", false);
    app.create_user("bo", false);
    let ana_source = add_source(&app, ana, "feed");
    let cy_source = add_source(&app, cy, "feed");
    let ana_first = add_item(&app, ana_source, ana, "a1", 50);
    let ana_second = add_item(&app, ana_source, ana, "a2", 40);
    let cy_item = add_item(&app, cy_source, cy, "c1", 30);
    let bo = app.logged_in("bo").await;

    let empty = bo.get("/bo/friends").await;
    assert!(item_ids(&empty.body).is_empty());
    assert!(
        empty.body.contains("You follow nobody yet"),
        "{}",
        empty.body
    );

    let follow_page = bo.get("/ana").await;
    assert!(
        follow_page.body.contains(">Follow</button>"),
        "{}",
        follow_page.body
    );
    assert_eq!(post(&bo, "/ana/follow").await.status, StatusCode::SEE_OTHER);
    let followed = bo.get("/ana").await;
    assert!(followed.body.contains(">Unfollow</button>"));
    assert!(followed.body.contains("1 follower"), "{}", followed.body);
    assert_eq!(
        item_ids(&bo.get("/bo/friends").await.body),
        [ana_second.0, ana_first.0]
    );
    assert_eq!(
        post(&bo, "/bo/follow").await.status,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        post(&bo, &format!("/e/{cy_item}/like")).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        comment(&bo, ana_first, "Nice one").await.status,
        StatusCode::SEE_OTHER
    );
    let anonymous = app.client();
    assert_eq!(
        item_ids(&anonymous.get("/bo/likes").await.body),
        [cy_item.0]
    );
    assert_eq!(
        item_ids(&anonymous.get("/bo/discussions").await.body),
        [ana_first.0]
    );
    assert!(item_ids(&anonymous.get("/ana/likes").await.body).is_empty());

    assert_eq!(
        post(&bo, "/ana/unfollow").await.status,
        StatusCode::SEE_OTHER
    );
    assert!(item_ids(&bo.get("/bo/friends").await.body).is_empty());
}

#[tokio::test]
async fn lifestream_page_links_feeds_and_guides_an_empty_owner() {
    let app = WebApp::start(NO_FIXTURES).await;
    app.create_user("ana", false);
    app.create_user("bo", false);
    let ana = app.logged_in("ana").await;
    let own = ana.get("/ana").await;
    assert!(
        own.body
            .contains("href=\"/settings/sources\">Add a source</a>"),
        "{}",
        own.body
    );
    assert!(own.body.contains(r#"type="application/atom+xml""#));
    assert!(own.body.contains(r#"href="/ana/feed.atom""#));
    assert!(own.body.contains(r#"type="application/rss+xml""#));
    assert!(own.body.contains(r#"type="application/feed+json""#));
    let other = app.logged_in("bo").await.get("/ana").await;
    assert!(other.body.contains("Nothing yet."));
    assert!(!other.body.contains("Add a source"));
}

#[tokio::test]
async fn long_content_is_an_excerpt_and_photos_get_lazy_thumbnails() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let long_text = "word ".repeat(400);
    let mut raw = new_item(
        "long",
        "A long one",
        &format!("<p>{long_text}</p><p>THE END</p>"),
        Utc::now(),
    );
    raw.media.push(tributary::model::Media {
        url: url::Url::parse("https://img.example/p.jpg").unwrap(),
        media_type: Some("image/jpeg".into()),
        width: None,
        height: None,
        length: None,
        thumbnail: None,
        alt: Some("A red kayak".into()),
    });
    let id = store_items(&app, source, ana, vec![raw])[0];
    let stream = app.client().get("/ana").await;
    let card_html = card(&stream.body, id);
    assert!(!card_html.contains("THE END"), "{card_html}");
    assert!(
        card_html.contains(&format!("href=\"/e/{id}\">more</a>")),
        "{card_html}"
    );
    assert!(
        card_html.contains(r#"alt="A red kayak" loading="lazy""#),
        "{card_html}"
    );
    assert!(card_html.contains(r#"href="https://origin.example/long"><bdi>A long one</bdi></a>"#));
    assert!(
        app.client()
            .get(&format!("/e/{id}"))
            .await
            .body
            .contains("THE END")
    );
}
