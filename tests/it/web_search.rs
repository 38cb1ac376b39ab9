//! Search over real HTTP (issue #20): each operator and a query mixing them, comments,
//! authors and tags, hidden items kept out of pages and feeds, malformed queries answered
//! with a message, keyset pages, relevance, search feeds with autodiscovery and 304s, and
//! saved searches with their navigation link, "N new" and notification.

use chrono::{TimeDelta, TimeZone, Utc};
use reqwest::StatusCode;
use tributary::model::{ItemId, ItemKind, NewItem, SourceId, UserId};

use crate::support::web::{Client, WebApp};
use crate::web_stream::{NO_FIXTURES, add_source, comment, item_ids, new_item, post, store_items};

/// An item with its title, text and date; `tweak` sets the rest.
fn item(
    external_id: &str,
    title: &str,
    text: &str,
    published: chrono::DateTime<Utc>,
    tweak: impl FnOnce(&mut NewItem),
) -> NewItem {
    let mut item = new_item(external_id, title, &format!("<p>{text}</p>"), published);
    tweak(&mut item);
    item
}

fn day(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

struct World {
    app: WebApp,
    ana: UserId,
    feed: SourceId,
    github: SourceId,
    kayak: ItemId,
    canoe: ItemId,
    lake: ItemId,
    photo: ItemId,
    release: ItemId,
    bo_post: ItemId,
    hopper: ItemId,
}

async fn world() -> World {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    let feed = add_source(&app, ana, "feed");
    let github = add_source(&app, ana, "github");
    let bo_feed = add_source(&app, bo, "feed");
    let ids = store_items(
        &app,
        feed,
        ana,
        vec![
            item(
                "kayak",
                "Kayaking trip",
                "down the river rapids",
                day(2023, 5, 1),
                |_| {},
            ),
            item(
                "canoe",
                "Canoe weekend",
                "rapids and a quiet river",
                day(2024, 6, 1),
                |_| {},
            ),
            item(
                "lake",
                "Kayak on the lake",
                "calm water, no rapids",
                day(2024, 7, 1),
                |_| {},
            ),
            item(
                "photo",
                "Sunset",
                "over the harbour",
                day(2024, 8, 1),
                |i| {
                    i.kind = ItemKind::Photo;
                    i.media = serde_json::from_value(serde_json::json!([
                        { "url": "https://origin.example/sunset.jpg", "media_type": "image/jpeg" }
                    ]))
                    .unwrap();
                },
            ),
            item("hopper", "Compilers", "a talk", day(2024, 9, 1), |i| {
                i.author_name = Some("Grace Hopper".into());
                i.tags = vec!["cobol".into()];
            }),
        ],
    );
    let release = store_items(
        &app,
        github,
        ana,
        vec![item(
            "v1",
            "Release v1.0",
            "river parser shipped",
            day(2024, 10, 1),
            |_| {},
        )],
    )[0];
    let bo_post = store_items(
        &app,
        bo_feed,
        bo,
        vec![item(
            "bo1",
            "Bo paddles",
            "a river in spring",
            day(2024, 11, 1),
            |_| {},
        )],
    )[0];
    World {
        app,
        ana,
        feed,
        github,
        kayak: ids[0],
        canoe: ids[1],
        lake: ids[2],
        photo: ids[3],
        hopper: ids[4],
        release,
        bo_post,
    }
}

/// The item ids a search shows `client`, in order.
async fn found(client: &Client, query: &str) -> Vec<ItemId> {
    let page = client.get(&search_path(query)).await;
    assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
    item_ids(&page.body).into_iter().map(ItemId).collect()
}

fn search_path(query: &str) -> String {
    format!("/search?q={}", urlencode(query))
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn sorted(mut ids: Vec<ItemId>) -> Vec<ItemId> {
    ids.sort();
    ids
}

#[tokio::test]
async fn each_operator_finds_what_it_names() {
    let w = world().await;
    let anyone = w.app.client();
    // Words (all must match), in title or text; diacritics and case do not matter.
    assert_eq!(found(&anyone, "kayaking").await, vec![w.kayak]);
    assert_eq!(
        sorted(found(&anyone, "RAPIDS river").await),
        sorted(vec![w.kayak, w.canoe])
    );
    // A phrase keeps its words together and in order.
    assert_eq!(found(&anyone, "\"river rapids\"").await, vec![w.kayak]);
    // A prefix.
    assert_eq!(
        sorted(found(&anyone, "kayak*").await),
        sorted(vec![w.kayak, w.lake])
    );
    // Excluded words, and OR.
    assert_eq!(found(&anyone, "rapids -lake").await, vec![w.canoe, w.kayak]);
    assert_eq!(
        found(&anyone, "rapids NOT lake").await,
        vec![w.canoe, w.kayak]
    );
    assert_eq!(
        sorted(found(&anyone, "canoe OR sunset").await),
        sorted(vec![w.canoe, w.photo])
    );
    // Authors and tags are searched too.
    assert_eq!(found(&anyone, "hopper").await, vec![w.hopper]);
    assert_eq!(found(&anyone, "cobol").await, vec![w.hopper]);
    // The stream's owner, the service and the source.
    assert_eq!(found(&anyone, "river from:bo").await, vec![w.bo_post]);
    assert!(!found(&anyone, "river -from:bo").await.contains(&w.bo_post));
    assert_eq!(
        found(&anyone, "river service:github").await,
        vec![w.release]
    );
    assert_eq!(
        found(&anyone, &format!("river source:{}", w.github.0)).await,
        vec![w.release]
    );
    assert!(
        !found(&anyone, &format!("river source:{}", w.feed.0))
            .await
            .contains(&w.release)
    );
    // Kind and media, with no words at all.
    assert_eq!(found(&anyone, "kind:photo").await, vec![w.photo]);
    assert_eq!(found(&anyone, "has:media").await, vec![w.photo]);
    assert_eq!(
        found(&anyone, "has:media from:bo").await,
        Vec::<ItemId>::new()
    );
    // Dates: before the day, and after it.
    assert_eq!(
        found(&anyone, "rapids before:2024-01-01").await,
        vec![w.kayak]
    );
    assert_eq!(
        found(&anyone, "rapids after:2024-06-01").await,
        vec![w.lake]
    );
    assert_eq!(
        found(&anyone, "rapids after:2023-12-31 before:2024-06-30").await,
        vec![w.canoe]
    );
    // Newest first by default: the order items reached the stream.
    assert_eq!(
        found(&anyone, "river").await,
        vec![w.bo_post, w.release, w.canoe, w.kayak]
    );

    // is:liked and is:commented are the viewer's.
    let bo = w.app.logged_in("bo").await;
    assert_eq!(
        post(&bo, &format!("/e/{}/like", w.canoe)).await.status,
        StatusCode::SEE_OTHER
    );
    comment(&bo, w.lake, "I know that lake").await;
    assert_eq!(found(&bo, "is:liked").await, vec![w.canoe]);
    assert_eq!(found(&bo, "is:commented").await, vec![w.lake]);
    assert_eq!(found(&bo, "rapids -is:liked").await, vec![w.lake, w.kayak]);
    let ana = w.app.logged_in("ana").await;
    assert_eq!(found(&ana, "is:liked").await, Vec::<ItemId>::new());
    // Nobody's likes for a visitor: the page asks them to log in.
    let page = anyone.get(&search_path("is:liked")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("log in to use them"), "{}", page.body);
    let _ = w.ana;
}

#[tokio::test]
async fn a_query_that_mixes_them() {
    let w = world().await;
    let anyone = w.app.client();
    assert_eq!(
        found(
            &anyone,
            "kayak* OR canoe from:ana -\"quiet river\" service:feed after:2023-01-01 -has:media"
        )
        .await,
        vec![w.lake, w.kayak]
    );
    assert_eq!(
        found(&anyone, "river from:ana OR from:bo before:2024-07-01").await,
        vec![w.canoe, w.kayak]
    );
}

#[tokio::test]
async fn comments_are_searched_and_shown_in_the_snippet() {
    let w = world().await;
    let bo = w.app.logged_in("bo").await;
    comment(&bo, w.photo, "Such marmalade colours").await;
    let page = w.app.client().get(&search_path("marmalade")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(item_ids(&page.body), vec![w.photo.0]);
    assert!(page.body.contains("In a comment"), "{}", page.body);
    assert!(
        page.body.contains("<mark>marmalade</mark>"),
        "{}",
        page.body
    );
    // An item's own words are highlighted in its snippet, escaped.
    let page = w.app.client().get(&search_path("harbour")).await;
    assert!(
        page.body.contains("over the <mark>harbour</mark>"),
        "{}",
        page.body
    );
    // A word the item's text excludes leaves its comments' matches out too.
    assert!(
        found(&w.app.client(), "marmalade -harbour")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn hidden_items_never_leak() {
    let w = world().await;
    let ana = w.app.logged_in("ana").await;
    assert_eq!(
        post(&ana, &format!("/e/{}/hide", w.canoe)).await.status,
        StatusCode::SEE_OTHER
    );
    for client in [&ana, &w.app.client(), &w.app.logged_in("bo").await] {
        assert_eq!(found(client, "canoe").await, Vec::<ItemId>::new());
        assert!(!found(client, "rapids").await.contains(&w.canoe));
        assert!(!found(client, "from:ana").await.contains(&w.canoe));
    }
    let feed = w.app.client().get("/search/feed.atom?q=canoe").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(!feed.body.contains("Canoe weekend"), "{}", feed.body);
    // A comment on a hidden item does not bring it back.
    let bo = w.app.logged_in("bo").await;
    comment(&bo, w.kayak, "zanzibar").await;
    assert_eq!(
        post(&ana, &format!("/e/{}/hide", w.kayak)).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(found(&bo, "zanzibar").await.is_empty());
}

#[tokio::test]
async fn malformed_queries_get_a_readable_message() {
    let w = world().await;
    let anyone = w.app.client();
    let long = "kayak ".repeat(2_000);
    for (query, message) in [
        ("\"unclosed", "quote is not closed"),
        ("AND AND", "needs a word on each side"),
        (long.as_str(), "at most 500 characters"),
        ("NEAR(kayak river)", "Parentheses"),
        ("*", "no letters or digits"),
        ("^", "no letters or digits"),
        ("before:soon", "a date like"),
    ] {
        let page = anyone.get(&search_path(query)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.body.contains(message), "{query}: {}", page.body);
        assert!(!page.body.to_lowercase().contains("fts5"), "{query}");
        assert!(!page.body.contains("syntax error"), "{query}");
        // The form keeps what was typed.
        let kept = maud::html! { (query) }.into_string();
        assert!(page.body.contains(&format!("value=\"{kept}\"")), "{query}");
        let feed = anyone
            .get(&format!("/search/feed.atom?q={}", urlencode(query)))
            .await;
        assert_eq!(feed.status, StatusCode::BAD_REQUEST, "{query}");
    }
    // FTS5's own syntax inside words is only text.
    for query in [
        "kayak:river",
        "^kayak",
        "col : x",
        "kayak NEAR river",
        "{kayak}",
    ] {
        let page = anyone.get(&search_path(query)).await;
        assert!(
            page.status == StatusCode::OK || page.status == StatusCode::BAD_REQUEST,
            "{query}: {}",
            page.status
        );
        assert!(!page.body.to_lowercase().contains("fts5"), "{query}");
    }
    assert_eq!(found(&anyone, "^kayaking").await, vec![w.kayak]);
    // A bad page link and a bad order.
    let page = anyone.get("/search?q=river&after=nonsense").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("page link is not valid"));
    let page = anyone.get("/search?q=river&order=sideways").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // The empty search is the form and its help.
    let page = anyone.get("/search").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("How to search"));
}

#[tokio::test]
async fn results_page_by_keyset_and_rank_by_relevance() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let start = Utc::now() - TimeDelta::days(100);
    let items: Vec<NewItem> = (0..45)
        .map(|n| {
            item(
                &format!("p{n}"),
                &format!("Post {n}"),
                "walnut",
                start + TimeDelta::days(n),
                |_| {},
            )
        })
        .collect();
    let ids = store_items(&app, source, ana, items);
    let anyone = app.client();
    let mut seen = Vec::new();
    let mut path = search_path("walnut");
    loop {
        let page = anyone.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        seen.extend(item_ids(&page.body));
        match next_link(&page.body) {
            Some(next) => path = next,
            None => break,
        }
    }
    let mut expected: Vec<i64> = ids.iter().map(|id| id.0).collect();
    expected.reverse();
    assert_eq!(seen, expected, "every result once, newest first");
    // Relevance: a title match outranks a text match, however new the text match is.
    let title = store_items(
        &app,
        source,
        ana,
        vec![item("t", "Hazel walnut", "x", start, |_| {})],
    )[0];
    let text = store_items(
        &app,
        source,
        ana,
        vec![item(
            "u",
            "Other",
            "hazel and more words here",
            Utc::now(),
            |_| {},
        )],
    )[0];
    let newest = found(&anyone, "hazel").await;
    assert_eq!(newest, vec![text, title]);
    let page = anyone.get("/search?q=hazel&order=relevance").await;
    assert_eq!(item_ids(&page.body), vec![title.0, text.0]);
    // Relevance pages by keyset too.
    let mut seen = Vec::new();
    let mut path = "/search?q=walnut&order=relevance".to_owned();
    loop {
        let page = anyone.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        seen.extend(item_ids(&page.body));
        match next_link(&page.body) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 46);
    assert_eq!(sorted(seen.into_iter().map(ItemId).collect()).len(), 46);
}

fn next_link(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    let end = body[at..].find('"')?;
    Some(body[at..at + end].replace("&amp;", "&"))
}

#[tokio::test]
async fn every_search_is_a_feed_with_autodiscovery_and_304s() {
    let w = world().await;
    let anyone = w.app.client();
    let page = anyone.get(&search_path("river -from:bo")).await;
    let atom = "/search/feed.atom?q=river+-from%3Abo";
    assert!(
        page.body.contains(&format!(
            "rel=\"alternate\" type=\"application/atom+xml\" title=\"Search: river -from:bo (Atom)\" href=\"{atom}\""
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("type=\"application/rss+xml\""));
    assert!(page.body.contains("type=\"application/feed+json\""));
    for (path, content_type) in [
        (atom.to_owned(), "application/atom+xml"),
        (atom.replace("feed.atom", "feed.rss"), "application/rss+xml"),
        (
            atom.replace("feed.atom", "feed.json"),
            "application/feed+json",
        ),
    ] {
        let response = reqwest::get(w.app.url(&path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(content_type)
        );
        let body = response.text().await.unwrap();
        let parsed = feed_rs::parser::parse(body.as_bytes()).unwrap();
        let titles: Vec<String> = parsed
            .entries
            .iter()
            .map(|e| {
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            titles,
            ["Release v1.0", "Canoe weekend", "Kayaking trip"],
            "{path}"
        );
        // Conditional requests: the ETag and Last-Modified given answer 304.
        let etag = headers[reqwest::header::ETAG].to_str().unwrap().to_owned();
        let again = reqwest::Client::new()
            .get(w.app.url(&path))
            .header(reqwest::header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.text().await.unwrap().is_empty());
    }
    // A new match changes the document: the old ETag no longer answers 304.
    let response = reqwest::get(w.app.url(atom)).await.unwrap();
    let etag = response.headers()[reqwest::header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    store_items(
        &w.app,
        w.feed,
        w.ana,
        vec![item("new", "River news", "x", Utc::now(), |_| {})],
    );
    let again = reqwest::Client::new()
        .get(w.app.url(atom))
        .header(reqwest::header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("River news"));
    // No search, no feed; no such format, no feed.
    assert_eq!(
        anyone.get("/search/feed.atom").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        anyone.get("/search/feed.xml?q=river").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn saved_searches_live_in_the_navigation_count_new_items_and_notify() {
    let w = world().await;
    let bo = w.app.logged_in("bo").await;
    let page = bo.get(&search_path("rapids -lake")).await;
    assert!(page.body.contains("Save search"));
    let saved = bo
        .post_form(
            &search_path("rapids -lake"),
            "/search/saved",
            &[("q", "rapids -lake"), ("name", "White water")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let location = saved.location.clone().expect("a redirect");
    assert!(location.starts_with("/search/saved/"), "{location}");
    let page = bo.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Saved search: White water"));
    assert!(
        page.body.contains("Nothing new since your last visit."),
        "{}",
        page.body
    );
    assert_eq!(item_ids(&page.body), vec![w.canoe.0, w.kayak.0]);
    // In the navigation of every page.
    let home = bo.get("/").await;
    assert!(
        home.body.contains(&format!("href=\"{location}\"")),
        "{}",
        home.body
    );
    assert!(home.body.contains("White water"));
    // Not anyone else's.
    let ana = w.app.logged_in("ana").await;
    assert_eq!(ana.get(&location).await.status, StatusCode::NOT_FOUND);
    assert!(!ana.get("/").await.body.contains("White water"));

    // New matching items: a notification (one until it is read), and "2 new".
    store_items(
        &w.app,
        w.feed,
        w.ana,
        vec![
            item("n1", "More rapids", "x", Utc::now(), |_| {}),
            item("n2", "Lake rapids", "lake", Utc::now(), |_| {}),
        ],
    );
    store_items(
        &w.app,
        w.feed,
        w.ana,
        vec![item("n3", "Rapids again", "x", Utc::now(), |_| {})],
    );
    store_items(
        &w.app,
        w.feed,
        w.ana,
        vec![item("n4", "Unrelated", "x", Utc::now(), |_| {})],
    );
    let notifications = bo.get("/notifications").await;
    assert_eq!(
        notifications
            .body
            .matches("New items match your saved search")
            .count(),
        1,
        "{}",
        notifications.body
    );
    assert!(notifications.body.contains(&format!("href=\"{location}\"")));
    // ana has no saved search: nothing for her.
    assert!(
        !ana.get("/notifications")
            .await
            .body
            .contains("saved search")
    );
    let page = bo.get(&location).await;
    assert!(
        page.body.contains("2 new since your last visit."),
        "{}",
        page.body
    );
    let page = bo.get(&location).await;
    assert!(page.body.contains("Nothing new since your last visit."));
    // Its feed is the search's.
    assert!(page.body.contains("/search/feed.atom?q=rapids+-lake"));

    // A bad query is not saved; the form says why and keeps the text.
    let refused = bo
        .post_form(
            "/search",
            "/search/saved",
            &[("q", "\"open"), ("name", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("quote is not closed"));
    assert!(refused.body.contains("value=\"&quot;open\""));

    // Removed: gone from the navigation.
    let removed = bo
        .post_form(&location, &format!("{location}/delete"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(bo.get(&location).await.status, StatusCode::NOT_FOUND);
    assert!(!bo.get("/").await.body.contains("White water"));
}
