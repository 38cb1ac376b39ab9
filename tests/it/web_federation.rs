//! The read side of federation over real HTTP: WebFinger, NodeInfo and host-meta; actors
//! and items negotiated on the page URLs (and kept apart from the page cache); outbox
//! paging; followers and following. Last, the repo's own fediverse connector, a reader
//! written to Mastodon's shapes, follows one of our users from WebFinger to the last
//! outbox page.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tributary::ingest::Ingest;
use tributary::model::{ItemId, Media, UserId};
use tributary::store::federation::{self as fed, Actor, Settings};
use tributary::store::{items, social, sources};

use crate::support::web::WebApp;
use crate::web_stream::{NO_FIXTURES, add_source, new_item, store_items};

const AS: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A response read whole, with its JSON when it has some.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

/// `Vary` names `Accept` first (compression may add `Accept-Encoding` after it).
#[track_caller]
fn assert_varies_on_accept(vary: &str) {
    assert!(
        vary == "Accept" || vary.starts_with("Accept, "),
        "Vary: {vary}"
    );
}

async fn get(url: &str, accept: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(url);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// `host:port` of the instance, as WebFinger names accounts.
fn authority(app: &WebApp) -> String {
    let base = url::Url::parse(&app.state.config.base_url()).unwrap();
    format!("{}:{}", base.host_str().unwrap(), base.port().unwrap())
}

fn set_federation(app: &WebApp, user: UserId, enabled: bool) {
    app.store
        .write_blocking(|tx| {
            fed::set_settings(
                tx,
                user,
                &Settings {
                    enabled,
                    ..Settings::default()
                },
            )
        })
        .unwrap();
}

/// `n` items of `user` in a new feed source, one minute apart, the newest first.
fn add_items(app: &WebApp, user: UserId, n: usize) -> Vec<ItemId> {
    let source = add_source(app, user, "feed");
    let now = Utc::now();
    let new: Vec<_> = (0..n)
        .map(|i| {
            new_item(
                &format!("p{i}"),
                &format!("Post {i}"),
                &format!("<p>Body of {i}</p>"),
                now - TimeDelta::minutes(i as i64),
            )
        })
        .collect();
    store_items(app, source, user, new)
}

#[tokio::test]
async fn webfinger_finds_federating_users_by_handle_and_by_url() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    let base = app.state.config.base_url();
    let host = authority(&app);
    let finger = |resource: String| {
        let url = app.url(&format!(
            "/.well-known/webfinger?resource={}",
            tributary::web::views::urlencode(&resource)
        ));
        async move { get(&url, None).await }
    };

    let found = finger(format!("acct:ana@{host}")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.header("content-type"), "application/jrd+json");
    assert_eq!(found.header("access-control-allow-origin"), "*");
    let jrd = found.json();
    assert_eq!(jrd["subject"], format!("acct:ana@{host}"));
    assert_eq!(jrd["aliases"], json!([format!("{base}/ana")]));
    let links = jrd["links"].as_array().unwrap();
    let link = |rel: &str| links.iter().find(|l| l["rel"] == rel).cloned();
    let me = link("self").expect("a self link");
    assert_eq!(me["type"], AS);
    assert_eq!(me["href"], format!("{base}/ana"));
    assert_eq!(
        link("http://webfinger.net/rel/profile-page").unwrap()["href"],
        format!("{base}/ana")
    );

    // The profile URL names the same account, and so does a host in other case.
    assert_eq!(finger(format!("{base}/ana")).await.json(), jrd);
    assert_eq!(
        finger(format!("acct:ana@{}", host.to_uppercase()))
            .await
            .json()["subject"],
        jrd["subject"]
    );
    // The instance actor still answers.
    let instance = finger(format!("acct:actor@{host}")).await.json();
    assert_eq!(instance["links"][0]["href"], format!("{base}/actor"));

    for (resource, why) in [
        ("acct:ana@elsewhere.example".to_owned(), "another host"),
        (
            format!("acct:ana@{host}.evil.example"),
            "a host that starts like ours",
        ),
        (format!("acct:nobody@{host}"), "an unknown user"),
        (format!("{base}/nobody"), "an unknown user's URL"),
        (format!("{base}/ana/outbox"), "not an account URL"),
        (String::new(), "no resource"),
        ("acct:@@@".to_owned(), "nonsense"),
    ] {
        assert_eq!(
            finger(resource.clone()).await.status,
            StatusCode::NOT_FOUND,
            "{why}: {resource}"
        );
    }

    // Federation off: the account is not there for the fediverse.
    set_federation(&app, bo, false);
    assert_eq!(
        finger(format!("acct:bo@{host}")).await.status,
        StatusCode::NOT_FOUND
    );
    set_federation(&app, ana, true);
    assert_eq!(
        finger(format!("acct:ana@{host}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_profile_url_is_the_actor_for_activitystreams_clients() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let base = app.state.config.base_url();
    app.store
        .write_blocking(|tx| {
            tributary::store::users::update_profile(
                tx,
                ana,
                "Ana Lima",
                "Rivers & <lakes>",
                Some("https://cdn.example/ana.jpg"),
            )
        })
        .unwrap();
    let github = serde_json::json!({ "user": "ana-lima" });
    app.store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: ana,
                    kind: "github",
                    params: &github,
                    title: "",
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap();
    // A feed's address may hold a secret: it never shows on the actor.
    let secret = serde_json::json!({ "url": "https://blog.example/feed?token=s3cret" });
    app.store
        .write_blocking(|tx| {
            sources::insert(tx, &sources::NewSource::feed(ana, &secret), Utc::now())
        })
        .unwrap();

    for accept in [
        AS,
        LD,
        "application/ld+json",
        "application/activity+json, text/html;q=0.5",
    ] {
        let answer = get(&app.url("/ana"), Some(accept)).await;
        assert_eq!(answer.status, StatusCode::OK, "{accept}: {}", answer.body);
        assert_eq!(answer.header("content-type"), AS, "{accept}");
        assert_varies_on_accept(answer.header("vary"));
        let person = answer.json();
        assert_eq!(person["type"], "Person");
        assert_eq!(person["id"], format!("{base}/ana"));
        assert_eq!(person["preferredUsername"], "ana");
        assert_eq!(person["name"], "Ana Lima");
        assert_eq!(person["summary"], "<p>Rivers &amp; &lt;lakes&gt;</p>");
        assert_eq!(person["icon"]["url"], "https://cdn.example/ana.jpg");
        assert_eq!(person["icon"]["mediaType"], "image/jpeg");
        assert_eq!(person["inbox"], format!("{base}/ana/inbox"));
        assert_eq!(person["outbox"], format!("{base}/ana/outbox"));
        assert_eq!(person["endpoints"]["sharedInbox"], format!("{base}/inbox"));
        assert_eq!(person["publicKey"]["id"], format!("{base}/ana#main-key"));
        assert_eq!(person["publicKey"]["owner"], person["id"]);
        let pem = person["publicKey"]["publicKeyPem"].as_str().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        assert_eq!(
            pem,
            app.state.federation.public_key_pem(ana).await.unwrap(),
            "the key the user signs with"
        );
        assert_eq!(person["manuallyApprovesFollowers"], false);
        let fields = person["attachment"].as_array().unwrap();
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!(fields[0]["name"], "GitHub");
        assert!(
            fields[0]["value"]
                .as_str()
                .unwrap()
                .contains("href=\"https://github.com/ana-lima\" rel=\"me nofollow noopener\""),
            "{fields:?}"
        );
        assert!(!answer.body.contains("s3cret"));
    }

    // Browsers, and clients that prefer HTML, get the page.
    for accept in [
        Some(BROWSER),
        None,
        Some("text/html, application/activity+json;q=0.9"),
    ] {
        let page = get(&app.url("/ana"), accept).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{accept:?}"
        );
        assert_varies_on_accept(page.header("vary"));
        assert!(page.body.contains("<!DOCTYPE html>"), "{accept:?}");
    }

    // Federation off: no actor, while the page stays.
    set_federation(&app, ana, false);
    assert_eq!(
        get(&app.url("/ana"), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app.url("/ana"), Some(BROWSER)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&app.url("/nobody"), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cached_pages_and_actor_documents_never_stand_in_for_each_other() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    add_items(&app, ana, 2);

    // The page first: it is cached, and an ActivityStreams client still gets the actor,
    // also when it sends the cached page's validator.
    let page = get(&app.url("/ana"), Some(BROWSER)).await;
    assert!(page.body.contains("<!DOCTYPE html>"));
    assert!(!app.state.pages.is_empty(), "the anonymous page is kept");
    let etag = page.header("etag").to_owned();
    assert!(!etag.is_empty());
    let actor = reqwest::Client::new()
        .get(app.url("/ana"))
        .header("accept", AS)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(actor.status(), StatusCode::OK);
    assert_eq!(actor.headers()["content-type"], AS);
    assert_eq!(actor.json::<Value>().await.unwrap()["type"], "Person");
    let again = get(&app.url("/ana"), Some(BROWSER)).await;
    assert_eq!(again.body, page.body, "the cached page, still HTML");
    assert_varies_on_accept(again.header("vary"));

    // The actor first: the page rendered after it is HTML, and the actor stays JSON.
    let n_cached = app.state.pages.len();
    let actor = get(&app.url("/bo"), Some(AS)).await;
    assert_eq!(actor.json()["type"], "Person");
    assert_eq!(
        app.state.pages.len(),
        n_cached,
        "actors are not kept as pages"
    );
    let page = get(&app.url("/bo"), Some(BROWSER)).await;
    assert!(page.body.contains("<!DOCTYPE html>"));
    assert_eq!(
        get(&app.url("/bo"), Some(AS)).await.json()["type"],
        "Person"
    );
    // A conditional request for the page still gets a 304 that varies on Accept.
    let not_modified = reqwest::Client::new()
        .get(app.url("/bo"))
        .header("accept", BROWSER)
        .header("if-none-match", page.header("etag"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_varies_on_accept(not_modified.headers()["vary"].to_str().unwrap());
}

#[tokio::test]
async fn the_outbox_pages_through_every_public_item_newest_first() {
    let app = WebApp::start_at_own_address(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    let ids = add_items(&app, ana, 47);
    add_items(&app, bo, 3);
    // One hidden and one deleted item: 45 public ones are left.
    let (hidden, deleted) = (ids[3], ids[30]);
    app.store
        .write_blocking(|tx| {
            social::hide(tx, hidden)?;
            items::tombstone(tx, deleted, Utc::now())
        })
        .unwrap();
    let base = &app.base;

    let outbox = get(&app.url("/ana/outbox"), Some(AS)).await;
    assert_eq!(outbox.status, StatusCode::OK, "{}", outbox.body);
    assert_eq!(outbox.header("content-type"), AS);
    let collection = outbox.json();
    assert_eq!(collection["type"], "OrderedCollection");
    assert_eq!(collection["id"], format!("{base}/ana/outbox"));
    assert_eq!(collection["totalItems"], 45);
    assert!(
        collection.get("orderedItems").is_none(),
        "items only on pages"
    );

    let mut next = collection["first"].as_str().map(str::to_owned);
    let mut seen: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    while let Some(url) = next.take() {
        assert!(url.starts_with(&format!("{base}/ana/outbox?")), "{url}");
        let page = get(&url, Some(AS)).await;
        assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
        let page = page.json();
        assert_eq!(page["type"], "OrderedCollectionPage");
        assert_eq!(page["partOf"], format!("{base}/ana/outbox"));
        assert_eq!(page["id"], url);
        let entries = page["orderedItems"].as_array().unwrap();
        sizes.push(entries.len());
        for create in entries {
            assert_eq!(create["type"], "Create");
            assert_eq!(create["actor"], format!("{base}/ana"));
            let object = &create["object"];
            assert_eq!(
                create["id"],
                format!("{}#create", object["id"].as_str().unwrap())
            );
            assert_eq!(object["attributedTo"], format!("{base}/ana"));
            assert_eq!(
                object["to"],
                json!(["https://www.w3.org/ns/activitystreams#Public"])
            );
            seen.push(object["id"].as_str().unwrap().to_owned());
        }
        next = page["next"].as_str().map(str::to_owned);
        assert!(sizes.len() <= 5, "paging does not end");
    }
    assert_eq!(sizes, [20, 20, 5]);
    let expected: Vec<String> = ids
        .iter()
        .filter(|id| **id != hidden && **id != deleted)
        .map(|id| format!("{base}/e/{id}"))
        .collect();
    assert_eq!(seen, expected, "every public item once, newest first");

    // A cursor that is no cursor is refused in words; federation off hides the outbox.
    assert_eq!(
        get(&app.url("/ana/outbox?max_id=nonsense"), Some(AS))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    set_federation(&app, ana, false);
    assert_eq!(
        get(&app.url("/ana/outbox"), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app.url("/nobody/outbox"), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_item_with_a_picture_and_a_content_warning_is_a_sensitive_note() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let base = app.state.config.base_url();
    let source = add_source(&app, ana, "feed");
    let mut post = new_item("heron", "", "<p>A heron <b>at</b> dawn</p>", Utc::now());
    post.media = vec![Media {
        url: url::Url::parse("https://cdn.example/heron.jpg").unwrap(),
        media_type: Some("image/jpeg".into()),
        width: Some(1200),
        height: Some(800),
        length: None,
        thumbnail: None,
        alt: Some("A grey heron on one leg".into()),
    }];
    post.extra
        .insert("content_warning".into(), json!("birds eating fish"));
    post.tags = vec!["birds".into()];
    let others = vec![
        new_item("hidden", "Hidden", "<p>h</p>", Utc::now()),
        new_item("gone", "Gone", "<p>g</p>", Utc::now()),
    ];
    let id = store_items(&app, source, ana, vec![post])[0];
    let more = store_items(&app, source, ana, others);
    let (hidden, gone) = (more[0], more[1]);
    app.store
        .write_blocking(|tx| {
            social::hide(tx, hidden)?;
            items::tombstone(tx, gone, Utc::now())
        })
        .unwrap();

    let answer = get(&app.url(&format!("/e/{id}")), Some(LD)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.header("content-type"), AS);
    assert_varies_on_accept(answer.header("vary"));
    let note = answer.json();
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], format!("{base}/e/{id}"));
    assert_eq!(note["url"], format!("{base}/e/{id}"));
    assert_eq!(note["attributedTo"], format!("{base}/ana"));
    assert_eq!(note["cc"], json!([format!("{base}/ana/followers")]));
    assert_eq!(note["sensitive"], true);
    assert_eq!(note["summary"], "birds eating fish");
    let content = note["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p>A heron <b>at</b> dawn</p>"),
        "{content}"
    );
    assert!(
        content.ends_with(
            "<p>via <a href=\"https://origin.example/heron\" rel=\"nofollow noopener\">feed</a></p>"
        ),
        "{content}"
    );
    assert_eq!(
        note["attachment"],
        json!([{
            "type": "Image",
            "mediaType": "image/jpeg",
            "url": "https://cdn.example/heron.jpg",
            "name": "A grey heron on one leg",
            "width": 1200,
            "height": 800,
        }])
    );
    assert_eq!(
        note["tag"],
        json!([{ "type": "Hashtag", "name": "#birds" }])
    );
    assert!(note["published"].as_str().unwrap().ends_with('Z'));

    // The page is still the page.
    let page = get(&app.url(&format!("/e/{id}")), Some(BROWSER)).await;
    assert!(page.body.contains("<!DOCTYPE html>"));
    assert_varies_on_accept(page.header("vary"));

    // Hidden: not there. Deleted: gone, with a tombstone.
    assert_eq!(
        get(&app.url(&format!("/e/{hidden}")), Some(AS))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let tombstone = get(&app.url(&format!("/e/{gone}")), Some(AS)).await;
    assert_eq!(tombstone.status, StatusCode::GONE);
    assert_eq!(tombstone.json()["type"], "Tombstone");
    assert_eq!(tombstone.json()["id"], format!("{base}/e/{gone}"));
    assert_eq!(
        get(&app.url("/e/999999"), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app.url("/e/nope"), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
    // Its owner's federation off: no object either.
    set_federation(&app, ana, false);
    assert_eq!(
        get(&app.url(&format!("/e/{id}")), Some(AS)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn followers_are_counted_and_following_is_listed() {
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    let cy = app.create_user("cy", false);
    let base = app.state.config.base_url();
    let now = Utc::now();
    app.store
        .write_blocking(|tx| {
            social::follow(tx, ana, bo, now)?;
            social::follow(tx, ana, cy, now)?;
            for (n, accepted) in [(1, true), (2, true), (3, false)] {
                let actor = fed::put_actor(
                    tx,
                    &Actor {
                        uri: format!("https://remote.example/users/f{n}"),
                        host: "remote.example".into(),
                        inbox: format!("https://remote.example/users/f{n}/inbox"),
                        fetched_at: now,
                        ..Actor::default()
                    },
                )?;
                fed::put_follower(
                    tx,
                    ana,
                    actor,
                    &format!("https://remote.example/f/{n}"),
                    accepted,
                    now,
                )?;
            }
            Ok(())
        })
        .unwrap();
    set_federation(&app, cy, false);

    let followers = get(&app.url("/ana/followers"), Some(AS)).await.json();
    assert_eq!(followers["type"], "OrderedCollection");
    assert_eq!(followers["id"], format!("{base}/ana/followers"));
    assert_eq!(followers["totalItems"], 2, "accepted followers only");
    assert!(
        followers.get("first").is_none(),
        "who follows is not listed"
    );
    assert!(!followers.to_string().contains("remote.example"));

    let following = get(&app.url("/ana/following"), Some(AS)).await.json();
    assert_eq!(following["totalItems"], 1, "cy does not federate");
    let page = get(
        following["first"]
            .as_str()
            .unwrap()
            .replace(&base, &app.base)
            .as_str(),
        Some(AS),
    )
    .await
    .json();
    assert_eq!(page["orderedItems"], json!([format!("{base}/bo")]));

    // The instance actor's outbox is there, and empty.
    let outbox = get(&app.url("/actor/outbox"), Some(AS)).await.json();
    assert_eq!(outbox["totalItems"], 0);
    assert_eq!(outbox["orderedItems"], json!([]));
}

#[tokio::test]
async fn nodeinfo_and_host_meta_describe_the_instance() {
    let app = WebApp::start_with(NO_FIXTURES, |config| {
        config.auth.signup = tributary::config::Signup::Open;
    })
    .await;
    let ana = app.create_user("ana", false);
    let bo = app.create_user("bo", false);
    let cy = app.create_user("cy", false);
    add_items(&app, ana, 3);
    add_items(&app, bo, 2);
    add_items(&app, cy, 4);
    set_federation(&app, cy, false);
    let base = app.state.config.base_url();

    let links = get(&app.url("/.well-known/nodeinfo"), None).await;
    assert_eq!(links.status, StatusCode::OK);
    let links = links.json();
    assert_eq!(
        links["links"][0]["rel"],
        "http://nodeinfo.diaspora.software/ns/schema/2.1"
    );
    assert_eq!(links["links"][0]["href"], format!("{base}/nodeinfo/2.1"));

    let info = get(&app.url("/nodeinfo/2.1"), None).await;
    assert_eq!(
        info.header("content-type"),
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\""
    );
    let info = info.json();
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "tributary");
    assert_eq!(info["protocols"], json!(["activitypub"]));
    assert_eq!(info["openRegistrations"], true);
    assert_eq!(info["usage"]["users"]["total"], 2, "users who federate");
    assert_eq!(info["usage"]["users"]["activeMonth"], 2);
    assert_eq!(info["usage"]["users"]["activeHalfyear"], 2);
    assert_eq!(info["usage"]["localPosts"], 5);

    let meta = get(&app.url("/.well-known/host-meta"), None).await;
    assert_eq!(meta.status, StatusCode::OK);
    assert!(
        meta.header("content-type")
            .starts_with("application/xrd+xml")
    );
    assert!(
        meta.body.contains(&format!(
            "template=\"{base}/.well-known/webfinger?resource={{uri}}\""
        )),
        "{}",
        meta.body
    );
}

/// The repo's fediverse connector reads ActivityPub as Mastodon writes it. Pointed at one
/// of our users by handle, it must find the actor over WebFinger, read every outbox page
/// and keep what we published: the text, where it came from, a picture with its alt text,
/// a content warning.
#[tokio::test]
async fn the_fediverse_connector_follows_one_of_our_users_from_handle_to_last_page() {
    let publisher = WebApp::start_at_own_address(NO_FIXTURES).await;
    let ana = publisher.create_user("ana", false);
    publisher
        .store
        .write_blocking(|tx| tributary::store::users::update_profile(tx, ana, "Ana Lima", "", None))
        .unwrap();
    let source = add_source(&publisher, ana, "feed");
    let now = Utc::now();
    let mut posts: Vec<_> = (0..44)
        .map(|i| {
            new_item(
                &format!("p{i}"),
                "",
                &format!("<p>Body of {i}</p>"),
                now - TimeDelta::minutes(i as i64 + 1),
            )
        })
        .collect();
    let mut heron = new_item("heron", "", "<p>A heron at dawn</p>", now);
    heron.media = vec![Media {
        url: url::Url::parse("https://cdn.example/heron.jpg").unwrap(),
        media_type: Some("image/jpeg".into()),
        width: None,
        height: None,
        length: None,
        thumbnail: None,
        alt: Some("A grey heron".into()),
    }];
    heron
        .extra
        .insert("content_warning".into(), json!("birds eating fish"));
    posts.insert(0, heron);
    let ids = store_items(&publisher, source, ana, posts);

    // The reader: another user's source, polled by the real ingest through a fetcher
    // allowed to reach the publisher (plain http on 127.0.0.1, as in every test).
    let reader = WebApp::start(NO_FIXTURES).await;
    let bo = reader.create_user("bo", false);
    let host = authority(&publisher);
    let params = json!({ "account": format!("ana@{host}") });
    let id = reader
        .store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: bo,
                    kind: "activitypub",
                    params: &params,
                    title: "",
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap();
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![publisher.base.clone()],
        ..tributary::config::FetchConfig::default()
    };
    let ingest = Ingest::new(
        reader.store.clone(),
        Arc::new(tributary::fetch::HttpClient::new(&fetch).unwrap()),
        Arc::new(connectors::Registry::default()),
        tributary::config::SchedulerConfig::default(),
    );
    let report = ingest.poll_source(id).await.unwrap();
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.n_new, 45, "{report:?}");
    let stored = reader
        .store
        .read_blocking(|conn| items::of_source(conn, id))
        .unwrap();
    let source_row = reader
        .store
        .read_blocking(|conn| sources::get(conn, id))
        .unwrap();
    assert_eq!(
        source_row.state.cursor.as_ref().unwrap()["route"],
        "outbox",
        "read from the outbox, not a fallback"
    );
    let heron = stored
        .iter()
        .find(|item| item.external_id == format!("{}/e/{}", publisher.base, ids[0]))
        .expect("the heron post, under our id");
    assert_eq!(
        heron.url.as_ref().unwrap().as_str(),
        format!("{}/e/{}", publisher.base, ids[0])
    );
    assert_eq!(heron.author_name.as_deref(), Some("Ana Lima"));
    assert!(
        heron.content.as_str().contains("A heron at dawn"),
        "{:?}",
        heron.content
    );
    assert!(
        heron.content.as_str().contains("via"),
        "{:?}",
        heron.content
    );
    assert_eq!(heron.extra["content_warning"], "birds eating fish");
    assert_eq!(heron.media.len(), 1);
    assert_eq!(heron.media[0].alt.as_deref(), Some("A grey heron"));
    assert_eq!(heron.media[0].url.as_str(), "https://cdn.example/heron.jpg");
    assert_eq!(heron.kind, tributary::model::ItemKind::Photo);
}
