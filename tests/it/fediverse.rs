//! The `activitypub` connector end to end: the fixture server plays a fediverse server
//! (WebFinger, actor, outbox pages) serving documents of the shared corpus moved onto its
//! own origin, and the real app polls it into a real SQLite file.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use tributary::fetch::HttpClient;
use tributary::fetch::signing::{InstanceKeyCell, Signer};
use tributary::ingest::Ingest;
use tributary::model::SourceId;

use crate::support::app::TestApp;
use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::web::WebApp;

const AP: &str = "application/activity+json";

fn corpus(relative: &str) -> String {
    let root = std::env::var_os("TRIBUTARY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")));
    let path = root.join("activitypub").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A corpus document moved onto the fixture server: its actor becomes ours, its origin the
/// server's.
fn moved(relative: &str, old_actor: &str, old_origin: &str, server: &FixtureServer) -> Value {
    let text = corpus(relative)
        .replace(old_actor, &server.url("/users/ana"))
        .replace(old_origin, &server.origin());
    serde_json::from_str(&text).unwrap()
}

fn actor(server: &FixtureServer) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": server.url("/users/ana"),
        "type": "Person",
        "preferredUsername": "ana",
        "name": "Ana Lima",
        "url": server.url("/@ana"),
        "icon": { "type": "Image", "url": server.url("/avatar.png") },
        "outbox": server.url("/users/ana/outbox"),
    })
}

fn webfinger(server: &FixtureServer) -> Value {
    json!({
        "subject": format!("acct:ana@{}", server.addr()),
        "links": [{ "rel": "self", "type": AP, "href": server.url("/users/ana") }],
    })
}

pub(crate) fn ap(doc: &Value) -> Reply {
    Reply::ok(doc.to_string()).content_type(AP)
}

/// WebFinger and the actor, with an outbox whose `first` is `/outbox/1`.
pub(crate) fn serve_account(server: &FixtureServer) {
    server.set(
        "/.well-known/webfinger",
        Reply::ok(webfinger(server).to_string()).content_type("application/jrd+json"),
    );
    server.set("/users/ana", ap(&actor(server)));
    server.set(
        "/users/ana/outbox",
        ap(&json!({
            "id": server.url("/users/ana/outbox"),
            "type": "OrderedCollection",
            "totalItems": 10,
            "first": server.url("/outbox/1"),
        })),
    );
}

pub(crate) fn page(
    server: &FixtureServer,
    number: u32,
    items: Vec<Value>,
    next: Option<u32>,
) -> Reply {
    let mut doc = json!({
        "id": server.url(&format!("/outbox/{number}")),
        "type": ["OrderedCollectionPage"],
        "partOf": server.url("/users/ana/outbox"),
        "orderedItems": items,
    });
    if let Some(next) = next {
        doc["next"] = Value::String(server.url(&format!("/outbox/{next}")));
    }
    ap(&doc)
}

pub(crate) fn account_source(app: &TestApp, server: &FixtureServer) -> SourceId {
    app.add_source(
        "activitypub",
        &json!({ "account": format!("ana@{}", server.addr()) }),
    )
}

/// `(external_id, kind, extra)` of every stored item of a source.
fn stored(app: &TestApp, id: SourceId) -> Vec<(String, String, Value)> {
    app.store
        .read_blocking(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT external_id, kind, extra FROM items WHERE source_id = ?1 ORDER BY id",
                )
                .unwrap();
            let rows = stmt
                .query_map([id.0], |row| {
                    let extra: String = row.get(2)?;
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        serde_json::from_str(&extra).unwrap(),
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            Ok(rows)
        })
        .unwrap()
}

fn last_log_message(app: &TestApp, id: SourceId) -> String {
    app.store
        .read_blocking(move |conn| tributary::store::sources::fetch_log(conn, id, 1))
        .unwrap()
        .first()
        .and_then(|row| row.message.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn outbox_of_corpus_documents_becomes_items() {
    let server = FixtureServer::start().await;
    let other = FixtureServer::start().await;
    serve_account(&server);
    let masto = "http://mastodon.example.org/users/admin";
    let masto_origin = "http://mastodon.example.org";
    let cw = moved(
        "pleroma-rebased/mastodon-post-activity.json",
        masto,
        masto_origin,
        &server,
    );
    let photo = moved(
        "pleroma-rebased/mastodon-create-with-attachment.json",
        masto,
        masto_origin,
        &server,
    );
    let misskey = moved(
        "pleroma-rebased/tesla_mock/mk.absturztau.be-93e7nm8wqg-activity.json",
        "https://mk.absturztau.be/users/8ozbzjs3o8",
        "https://mk.absturztau.be",
        &server,
    );
    let question = moved(
        "pleroma-rebased/mastodon-question-activity.json",
        "https://mastodon.sdf.org/users/rinpatch",
        "https://mastodon.sdf.org",
        &server,
    );
    let video = moved(
        "lemmy/peertube/objects/video.json",
        "https://tilvids.com/accounts/thelinuxexperiment",
        "https://tilvids.com",
        &server,
    );
    let article = moved(
        "lemmy/wordpress/objects/page.json",
        "https://dbzer0.com/blog/author/db0/",
        "https://dbzer0.com",
        &server,
    );
    let private = moved(
        "pleroma-rebased/mastodon-announce-private.json",
        masto,
        masto_origin,
        &server,
    );
    let reply = moved(
        "pleroma-rebased/create-pleroma-reply-to-misskey-thread.json",
        "https://p.helene.moe/users/helene",
        "https://p.helene.moe",
        &server,
    );
    // A boost of a post on another server: fetched from its own id there.
    let boost = json!({
        "id": server.url("/users/ana/statuses/9/activity"),
        "type": "Announce",
        "actor": server.url("/users/ana"),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "published": "2026-11-20T10:00:00Z",
        "object": other.url("/notes/1"),
    });
    other.set(
        "/notes/1",
        ap(&json!({
            "id": other.url("/notes/1"),
            "type": "Note",
            "attributedTo": { "id": other.url("/users/bo"), "name": "Bo Berg" },
            "content": "<p>Bo's own words</p>",
            "to": "as:Public",
        })),
    );
    // An embedded object claiming another server's id: dropped with a warning.
    let forged = json!({
        "id": server.url("/users/ana/statuses/10/activity"),
        "type": "Create",
        "actor": server.url("/users/ana"),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": other.url("/notes/forged"),
            "type": "Note",
            "content": "<p>not really from there</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    });
    server.set(
        "/outbox/1",
        page(&server, 1, vec![cw, photo, boost, forged, private], Some(2)),
    );
    server.set(
        "/outbox/2",
        page(
            &server,
            2,
            vec![misskey, question, video, article, reply],
            None,
        ),
    );

    let other_origin = other.origin();
    let app = TestApp::with_fetch(&server.origin(), |fetch| {
        fetch.allowed_private_origins.push(other_origin)
    });
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    let items = stored(&app, id);
    let kinds: Vec<&str> = items.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["note", "photo", "share", "note", "note", "video", "article"],
        "{items:#?}"
    );
    assert_eq!(items[0].2["content_warning"], "cw");
    assert_eq!(items[2].2["shared_from"]["name"], "Bo Berg");
    assert_eq!(items[2].2["shared_from"]["url"], other.url("/users/bo"));
    assert!(
        report.warnings.iter().any(|w| w.contains("/notes/forged")),
        "{:?}",
        report.warnings
    );

    let full = app.items(id);
    let photo = full.iter().find(|i| i.kind.as_str() == "photo").unwrap();
    assert!(photo.media[0].media_type.as_deref() == Some("image/jpeg"));
    let article = full.iter().find(|i| i.kind.as_str() == "article").unwrap();
    assert!(
        article.tags.iter().any(|t| t == "3DPrinting"),
        "{:?}",
        article.tags
    );
    assert!(!article.title.is_empty());
    let share = full.iter().find(|i| i.kind.as_str() == "share").unwrap();
    assert!(share.content.as_str().contains("Bo's own words"));
    let video = full.iter().find(|i| i.kind.as_str() == "video").unwrap();
    assert!(!video.media.is_empty());
    let question = full
        .iter()
        .find(|i| i.external_id.ends_with("102070944809637304"))
        .unwrap();
    assert!(
        question.content.as_str().contains("<li>"),
        "{}",
        question.content.as_str()
    );
    // Titles and text went through the sanitizer: no script survives anywhere.
    assert!(full.iter().all(|i| !i.content.as_str().contains("<script")));

    let source = app.source(id);
    assert_eq!(source.title, "Ana Lima");
    // The WebFinger request used plain http only because the origin is allowed.
    let finger = server.requests("/.well-known/webfinger");
    assert_eq!(
        finger[0].query.as_deref(),
        Some(format!("resource=acct%3Aana%40127.0.0.1%3A{}", server.port()).as_str())
    );
    assert!(
        server.requests("/users/ana")[0]
            .header("accept")
            .unwrap()
            .starts_with("application/activity+json")
    );
}

#[tokio::test]
async fn replies_are_included_when_the_source_asks() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let reply = moved(
        "pleroma-rebased/create-pleroma-reply-to-misskey-thread.json",
        "https://p.helene.moe/users/helene",
        "https://p.helene.moe",
        &server,
    );
    server.set("/outbox/1", page(&server, 1, vec![reply], None));
    let app = TestApp::new(&server.origin());
    let id = app.add_source(
        "activitypub",
        &json!({ "account": format!("ana@{}", server.addr()), "include_replies": true }),
    );
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(stored(&app, id).len(), 1);
}

#[tokio::test]
async fn looping_next_links_stop() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let note = |n: u32| {
        json!({
            "id": server.url(&format!("/users/ana/statuses/{n}/activity")),
            "type": "Create",
            "actor": server.url("/users/ana"),
            "to": "https://www.w3.org/ns/activitystreams#Public",
            "object": {
                "id": server.url(&format!("/users/ana/statuses/{n}")),
                "type": "Note",
                "content": format!("<p>post {n}</p>"),
                "to": "https://www.w3.org/ns/activitystreams#Public",
            },
        })
    };
    server.set("/outbox/1", page(&server, 1, vec![note(1)], Some(2)));
    server.set("/outbox/2", page(&server, 2, vec![note(2)], Some(1)));
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(stored(&app, id).len(), 2);
    assert_eq!(server.hits("/outbox/1"), 1);
    assert_eq!(server.hits("/outbox/2"), 1);
    assert!(
        report.warnings.iter().any(|w| w.contains("loop")),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn actor_whose_id_differs_is_fetched_again_from_its_id() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    server.set(
        "/.well-known/webfinger",
        Reply::ok(
            json!({ "links": [{ "rel": "self", "type": AP, "href": server.url("/@ana") }] })
                .to_string(),
        )
        .content_type("application/jrd+json"),
    );
    // `/@ana` answers with the actor whose id is `/users/ana`.
    server.set("/@ana", ap(&actor(&server)));
    server.set("/outbox/1", page(&server, 1, vec![], None));
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(server.hits("/@ana"), 1);
    assert_eq!(server.hits("/users/ana"), 1);

    // An actor whose id names a document that names yet another id is refused.
    let mut liar = actor(&server);
    liar["id"] = Value::String(server.url("/users/someone-else"));
    server.set("/users/ana", ap(&liar));
    server.set("/@ana", ap(&actor(&server)));
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    let error = report.error.unwrap_or_default();
    assert!(error.contains("names itself"), "{error}");
}

#[tokio::test]
async fn documents_that_are_not_activitystreams_json_are_refused() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    server.set(
        "/users/ana",
        Reply::ok(actor(&server).to_string()).content_type("text/html"),
    );
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    let error = report.error.unwrap_or_default();
    assert!(error.contains("not ActivityStreams JSON"), "{error}");
    assert_eq!(app.items(id).len(), 0);
}

/// Outbox refused even signed → Mastodon REST → items; the route is in the cursor and
/// the fetch log says why.
#[tokio::test]
async fn outbox_refused_even_signed_falls_back_to_the_rest_api() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    server.set("/users/ana/outbox", Reply::status(401));
    server.set(
        "/api/v1/accounts/lookup",
        Reply::ok(json!({ "id": "42", "username": "ana", "display_name": "Ana" }).to_string())
            .content_type("application/json"),
    );
    server.set(
        "/api/v1/accounts/42/statuses",
        Reply::ok(
            json!([{
                "id": "7",
                "uri": server.url("/users/ana/statuses/7"),
                "url": server.url("/@ana/7"),
                "created_at": "2026-11-20T10:00:00.000Z",
                "visibility": "public",
                "content": "<p>from the API</p>",
                "spoiler_text": "",
                "media_attachments": [{ "type": "image", "url": server.url("/m/1.png"), "description": "a heron" }],
                "tags": [{ "name": "birds" }],
                "account": { "display_name": "Ana", "url": server.url("/@ana") },
            }, {
                "id": "6",
                "uri": server.url("/users/ana/statuses/6"),
                "visibility": "direct",
                "content": "<p>secret</p>",
            }])
            .to_string(),
        )
        .content_type("application/json"),
    );
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    let items = app.items(id);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind.as_str(), "photo");
    assert_eq!(items[0].media[0].alt.as_deref(), Some("a heron"));
    assert_eq!(items[0].tags, ["birds"]);
    // The outbox was asked twice: unsigned, then signed.
    let outbox = server.requests("/users/ana/outbox");
    assert_eq!(outbox.len(), 2);
    assert!(outbox[0].header("signature").is_none());
    assert!(outbox[1].header("signature").is_some());
    let statuses = server.requests("/api/v1/accounts/42/statuses");
    assert!(
        statuses[0]
            .query
            .as_deref()
            .unwrap_or("")
            .contains("exclude_replies=true")
    );
    let source = app.source(id);
    assert_eq!(source.state.cursor.as_ref().unwrap()["route"], "rest");
    assert!(last_log_message(&app, id).contains("using the Mastodon API"));

    // History on this route walks back with `max_id`.
    use connectors::Connector;
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..tributary::config::FetchConfig::default()
    };
    let http = HttpClient::new(&fetch).unwrap();
    let connector = connectors::protocol::activitypub::ActivityPubConnector;
    let params = json!({ "account": format!("ana@{}", server.addr()) });
    let first = connector
        .poll(&http, &params, &connectors::PollState::default())
        .await
        .unwrap();
    let older = first.next_page.expect("a next page on the REST route");
    assert_eq!(older["max_id"], "6");
    let poll = connector.poll_page(&http, &params, &older).await.unwrap();
    assert_eq!(poll.items.len(), 1);
    let last = server.requests("/api/v1/accounts/42/statuses");
    assert!(
        last.last()
            .unwrap()
            .query
            .as_deref()
            .unwrap_or("")
            .contains("max_id=6"),
        "{last:?}"
    );
}

#[tokio::test]
async fn without_outbox_or_api_the_profile_feed_is_used() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    server.set("/users/ana/outbox", Reply::status(403));
    // The profile feed moved for good: followed, but the source keeps its account.
    server.set("/@ana.rss", Reply::redirect(301, "/@ana/feed.rss"));
    server.set(
        "/@ana/feed.rss",
        Reply::ok(crate::support::app::rss(&[(
            "g1",
            "From the feed",
            "http://x.invalid/1",
        )]))
        .content_type("application/rss+xml"),
    );
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(app.items(id).len(), 1);
    assert_eq!(
        app.source(id).state.cursor.as_ref().unwrap()["route"],
        "feed"
    );
    assert!(last_log_message(&app, id).contains("using the feed"));
    assert_eq!(
        app.source(id).params,
        json!({ "account": format!("ana@{}", server.addr()) })
    );
}

/// Diaspora has no ActivityPub: WebFinger names no actor, and its public Atom feed is
/// used instead.
#[tokio::test]
async fn diaspora_profile_resolves_to_its_public_atom() {
    let server = FixtureServer::start().await;
    server.set(
        "/u/ana",
        Reply::ok("<html></html>").content_type("text/html"),
    );
    server.set(
        "/public/ana.atom",
        Reply::ok(crate::support::app::rss(&[(
            "d1",
            "A pod post",
            "http://x.invalid/d1",
        )]))
        .content_type("application/atom+xml"),
    );
    let app = TestApp::new(&server.origin());
    let id = app.add_source("activitypub", &json!({ "url": server.url("/u/ana") }));
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(app.items(id).len(), 1);
    assert_eq!(
        app.source(id).state.cursor.as_ref().unwrap()["feed"],
        server.url("/public/ana.atom")
    );
}

/// A server in secure mode: it verifies signatures with the public key the app publishes
/// at `/actor`, and serves actor and outbox only to signed requests.
#[tokio::test]
async fn servers_that_demand_signatures_answer_signed_requests() {
    let server = FixtureServer::start().await;
    let web = WebApp::start(&server.origin()).await;
    let response = reqwest::Client::new()
        .get(web.url("/actor"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/activity+json"
    );
    let instance: Value = response.json().await.unwrap();
    assert_eq!(instance["type"], "Application");
    let pem = instance["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        instance["publicKey"]["owner"], instance["id"],
        "{instance:#}"
    );

    // The instance actor is found over WebFinger too; nobody else is.
    let base = web.state.config.base_url();
    let host = url::Url::parse(&base).unwrap();
    let host = connectors::protocol::activitypub::target::authority(&host).unwrap();
    let finger: Value = reqwest::Client::new()
        .get(web.url(&format!(
            "/.well-known/webfinger?resource=acct:actor@{host}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(finger["links"][0]["href"], instance["id"]);
    let nobody = reqwest::Client::new()
        .get(web.url("/.well-known/webfinger?resource=acct:ana@elsewhere.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status().as_u16(), 404);

    serve_account(&server);
    server.set("/users/ana", ap(&actor(&server)).signed_only(&pem));
    server.set(
        "/users/ana/outbox",
        ap(&json!({
            "id": server.url("/users/ana/outbox"),
            "type": "OrderedCollection",
            "orderedItems": [{
                "id": server.url("/users/ana/statuses/1/activity"),
                "type": "Create",
                "actor": server.url("/users/ana"),
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": {
                    "id": server.url("/users/ana/statuses/1"),
                    "type": "Note",
                    "content": "<p>only for signed eyes</p>",
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                },
            }],
        }))
        .signed_only(&pem),
    );

    // The app's fetcher, signing with the key beside the web app's database.
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..tributary::config::FetchConfig::default()
    };
    let signer = Signer::new(
        InstanceKeyCell::beside(web.store.path()),
        &web.state.config.base_url(),
    );
    let http = HttpClient::new(&fetch).unwrap().with_signer(signer);
    let ingest = Ingest::new(
        web.store.clone(),
        Arc::new(http),
        Arc::new(connectors::Registry::default()),
        tributary::config::SchedulerConfig::default(),
    );
    let user = web.create_user("ana", false);
    let params = json!({ "account": format!("ana@{}", server.addr()) });
    let id = web
        .store
        .write_blocking(|tx| {
            tributary::store::sources::insert(
                tx,
                &tributary::store::sources::NewSource {
                    user_id: user,
                    kind: "activitypub",
                    params: &params,
                    title: "",
                    schedule: "",
                },
                chrono::Utc::now(),
            )
        })
        .unwrap();
    let report = ingest.poll_source(id).await.unwrap();
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.n_new, 1);
    let outbox = server.requests("/users/ana/outbox");
    assert_eq!(outbox.len(), 2, "unsigned first, then signed");
    let signature = outbox[1].header("signature").unwrap();
    assert!(signature.contains(&format!(
        "keyId=\"{}\"",
        instance["publicKey"]["id"].as_str().unwrap()
    )));
    assert!(signature.contains("headers=\"(request-target) host date\""));

    // Without a signer, the same server refuses.
    let unsigned = HttpClient::new(&fetch).unwrap();
    let ingest = Ingest::new(
        web.store.clone(),
        Arc::new(unsigned),
        Arc::new(connectors::Registry::default()),
        tributary::config::SchedulerConfig::default(),
    );
    server.set("/api/v1/accounts/lookup", Reply::status(404));
    let report = ingest.poll_source(id).await.unwrap();
    assert!(report.error.is_some());
}

#[tokio::test]
async fn history_walks_back_page_by_page() {
    use connectors::Connector;
    let server = FixtureServer::start().await;
    serve_account(&server);
    let note = |n: u32| {
        json!({
            "id": server.url(&format!("/users/ana/statuses/{n}")),
            "type": "Note",
            "attributedTo": server.url("/users/ana"),
            "content": format!("<p>post {n}</p>"),
            "to": "https://www.w3.org/ns/activitystreams#Public",
        })
    };
    for n in 1..=8u32 {
        let next = (n < 8).then_some(n + 1);
        server.set(
            &format!("/outbox/{n}"),
            page(&server, n, vec![note(n)], next),
        );
    }
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..tributary::config::FetchConfig::default()
    };
    let http = HttpClient::new(&fetch).unwrap();
    let connector = connectors::protocol::activitypub::ActivityPubConnector;
    let params = json!({ "account": format!("ana@{}", server.addr()) });
    let first = connector
        .poll(&http, &params, &connectors::PollState::default())
        .await
        .unwrap();
    assert_eq!(
        first.items.len(),
        connectors::protocol::activitypub::MAX_PAGES_PER_POLL
    );
    let mut seen = first.items.len();
    let mut next = first.next_page;
    while let Some(page) = next {
        let poll = connector.poll_page(&http, &params, &page).await.unwrap();
        seen += poll.items.len();
        next = poll.next_page;
    }
    assert_eq!(seen, 8);
}

/// `tributary source test @ana@127.0.0.1:PORT`: the real binary resolves the handle over
/// WebFinger (plain http, since the origin is allowed), reads the outbox and prints the
/// mapped items, storing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_test_prints_the_items_of_a_handle() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let cw = moved(
        "pleroma-rebased/mastodon-post-activity.json",
        "http://mastodon.example.org/users/admin",
        "http://mastodon.example.org",
        &server,
    );
    let photo = moved(
        "pleroma-rebased/mastodon-create-with-attachment.json",
        "http://mastodon.example.org/users/admin",
        "http://mastodon.example.org",
        &server,
    );
    server.set("/outbox/1", page(&server, 1, vec![cw, photo], None));
    let dir = tempfile::tempdir().unwrap();
    let handle = format!("@ana@{}", server.addr());
    let origin = server.origin();
    let run = move |json: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"));
        command.current_dir(dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("TRIBUTARY_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .env("TRIBUTARY_FETCH_ALLOWED_PRIVATE_ORIGINS", &origin)
            .args(["source", "test", &handle]);
        if json {
            command.arg("--json");
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!dir.path().join("tributary.db").exists());
        String::from_utf8(out.stdout).unwrap()
    };
    let (table, lines) = tokio::task::spawn_blocking(move || (run(false), run(true)))
        .await
        .unwrap();
    assert!(table.contains("2 items"), "{table}");
    assert!(table.contains("photo"), "{table}");
    let lines: Vec<Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["kind"], "note");
    assert_eq!(lines[1]["kind"], "photo");
    assert_eq!(lines[0]["author"], "Ana Lima");
    assert!(
        lines[0]["id"]
            .as_str()
            .unwrap()
            .starts_with(&server.url("/users/ana/statuses/"))
    );
}

/// A content warning collapses the item behind a `<details>` (no script needed) and a
/// share names its original author, on the real stream page.
#[tokio::test]
async fn stream_shows_content_warnings_collapsed_and_who_a_share_is_from() {
    let server = FixtureServer::start().await;
    let other = FixtureServer::start().await;
    serve_account(&server);
    let cw = moved(
        "pleroma-rebased/mastodon-post-activity.json",
        "http://mastodon.example.org/users/admin",
        "http://mastodon.example.org",
        &server,
    );
    let boost = json!({
        "id": server.url("/users/ana/statuses/9/activity"),
        "type": "Announce",
        "actor": server.url("/users/ana"),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": other.url("/notes/1"),
    });
    other.set(
        "/notes/1",
        ap(&json!({
            "id": other.url("/notes/1"),
            "type": "Note",
            "attributedTo": { "id": other.url("/users/bo"), "name": "Bo <b>Berg</b>" },
            "content": "<p>Bo's own words</p>",
            "to": "as:Public",
        })),
    );
    server.set("/outbox/1", page(&server, 1, vec![cw, boost], None));
    let web = WebApp::start(&server.origin()).await;
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![server.origin(), other.origin()],
        ..tributary::config::FetchConfig::default()
    };
    let ingest = Ingest::new(
        web.store.clone(),
        Arc::new(HttpClient::new(&fetch).unwrap()),
        Arc::new(connectors::Registry::default()),
        tributary::config::SchedulerConfig::default(),
    );
    let user = web.create_user("ana", false);
    let params = json!({ "account": format!("ana@{}", server.addr()) });
    let id = web
        .store
        .write_blocking(|tx| {
            tributary::store::sources::insert(
                tx,
                &tributary::store::sources::NewSource {
                    user_id: user,
                    kind: "activitypub",
                    params: &params,
                    title: "",
                    schedule: "",
                },
                chrono::Utc::now(),
            )
        })
        .unwrap();
    let report = ingest.poll_source(id).await.unwrap();
    assert!(report.error.is_none(), "{report:?}");
    let page = web.client().get("/ana").await;
    assert!(
        page.body
            .contains("<details class=\"content-warning\"><summary><bdi>cw</bdi></summary>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("shared a post by "), "{}", page.body);
    assert!(page.body.contains("Bo Berg"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("href=\"{}\"", other.url("/users/bo")))
    );
}

/// More servers of the corpus in one outbox (Akkoma, Sharkey, Lemmy, Friendica, Mastodon),
/// with replies included: alt text, Lemmy's image post, a Friendica reply, and an
/// unlisted post.
#[tokio::test]
async fn more_servers_of_the_corpus_with_replies_included() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let entries = vec![
        moved(
            "kitsune/objects/woem.space_notice_AkSIdFhjGIfvmcGK0G.json",
            "https://woem.space/users/notsludgebomb",
            "https://woem.space",
            &server,
        ),
        moved(
            "kitsune/objects/grimgreenfo.rest_notes_9wba8k9czodq0075.json",
            "https://grimgreenfo.rest/users/9p6m3t2wmolj08kq",
            "https://grimgreenfo.rest",
            &server,
        ),
        moved(
            "lemmy/lemmy/objects/page_image_and_link.json",
            "https://enterprise.lemmy.ml/u/picard",
            "https://enterprise.lemmy.ml",
            &server,
        ),
        moved(
            "lemmy/friendica/objects/note_1.json",
            "https://soc.schuerz.at/profile/jakob",
            "https://soc.schuerz.at",
            &server,
        ),
        moved(
            "lemmy/friendica/objects/page_2.json",
            "https://pirati.ca/profile/heluecht",
            "https://pirati.ca",
            &server,
        ),
        moved(
            "kitsune/objects/cyberpunk.lol_users_vantablack_statuses_112783753040965194.json",
            "https://cyberpunk.lol/users/vantablack",
            "https://cyberpunk.lol",
            &server,
        ),
        moved(
            "kitsune/objects/chaos.social_users_buffet_statuses_112880458964643197.json",
            "https://chaos.social/users/buffet",
            "https://chaos.social",
            &server,
        ),
    ];
    server.set("/outbox/1", page(&server, 1, entries, None));
    let app = TestApp::new(&server.origin());
    let id = app.add_source(
        "activitypub",
        &json!({ "account": format!("ana@{}", server.addr()), "include_replies": true }),
    );
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    let order: Vec<(String, String)> = stored(&app, id)
        .into_iter()
        .map(|(id, kind, _)| (id, kind))
        .collect();
    let kinds: Vec<&str> = order.iter().map(|(_, kind)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "note", "note", "article", "note", "article", "photo", "note"
        ],
        "{order:#?}"
    );
    let mut items = app.items(id);
    items.sort_by_key(|i| i.id);
    let lemmy = &items[2];
    assert_eq!(lemmy.title, "Post with image and link");
    assert_eq!(lemmy.media.len(), 1, "{:?}", lemmy.media);
    assert_eq!(lemmy.media[0].media_type.as_deref(), Some("image/png"));
    let photo = &items[5];
    assert!(
        photo.media[0]
            .alt
            .as_deref()
            .is_some_and(|alt| alt.starts_with("tweet by @NotBrunoAgain")),
        "{:?}",
        photo.media
    );
    // Unlisted (public in `cc` only) counts as public.
    assert!(items[6].external_id.ends_with("112880458964643197"));
}

/// The paste box: a handle is recognized, previewed through the outbox, and added as an
/// `activitypub` source.
#[tokio::test]
async fn paste_box_previews_and_adds_a_handle() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let cw = moved(
        "pleroma-rebased/mastodon-post-activity.json",
        "http://mastodon.example.org/users/admin",
        "http://mastodon.example.org",
        &server,
    );
    server.set("/outbox/1", page(&server, 1, vec![cw], None));
    let web = WebApp::start(&server.origin()).await;
    web.create_user("ana", false);
    let client = web.logged_in("ana").await;
    let handle = format!("@ana@{}", server.addr());
    let page = client
        .post_form(
            "/settings/sources",
            "/settings/sources/preview",
            &[("input", &handle)],
        )
        .await;
    assert_eq!(page.status, axum::http::StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<li class=\"preview-item\">"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Ana Lima"), "{}", page.body);
    assert!(page.body.contains("value=\"activitypub\""), "{}", page.body);
    let params = format!("{{\"account\":\"ana@{}\"}}", server.addr());
    let added = client
        .post_form(
            "/settings/sources",
            "/settings/sources",
            &[
                ("kind", "activitypub"),
                ("params", &params),
                ("title", ""),
                ("schedule", ""),
            ],
        )
        .await;
    assert_eq!(
        added.status,
        axum::http::StatusCode::SEE_OTHER,
        "{}",
        added.body
    );
    let list = web
        .store
        .read_blocking(|conn| tributary::store::sources::list(conn, None))
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].kind, "activitypub");
    assert_eq!(list[0].params["account"], format!("ana@{}", server.addr()));
}

/// The next poll reads pages only until it meets the newest item of the previous one.
#[tokio::test]
async fn next_poll_stops_at_the_newest_item_seen() {
    let server = FixtureServer::start().await;
    serve_account(&server);
    let note = |n: u32| {
        json!({
            "id": server.url(&format!("/users/ana/statuses/{n}")),
            "type": "Note",
            "attributedTo": server.url("/users/ana"),
            "content": format!("<p>post {n}</p>"),
            "to": "https://www.w3.org/ns/activitystreams#Public",
        })
    };
    server.set("/outbox/1", page(&server, 1, vec![note(3)], Some(2)));
    server.set("/outbox/2", page(&server, 2, vec![note(2)], Some(3)));
    server.set("/outbox/3", page(&server, 3, vec![note(1)], None));
    let app = TestApp::new(&server.origin());
    let id = account_source(&app, &server);
    assert!(app.poll(id).await.error.is_none());
    assert_eq!(stored(&app, id).len(), 3);
    assert_eq!(
        app.source(id).state.cursor.as_ref().unwrap()["newest"],
        server.url("/users/ana/statuses/3")
    );

    server.set(
        "/outbox/1",
        page(&server, 1, vec![note(4), note(3)], Some(2)),
    );
    let report = app.poll(id).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.n_new, 1);
    assert_eq!(
        server.hits("/outbox/2"),
        1,
        "the second poll stopped at page 1"
    );
    assert_eq!(
        app.source(id).state.cursor.as_ref().unwrap()["newest"],
        server.url("/users/ana/statuses/4")
    );
}

/// Profile URLs of servers without a readable outbox resolve to the feed their software
/// offers: Lemmy's user feed, PeerTube's account videos, Pixelfed's Atom.
#[tokio::test]
async fn profile_urls_fall_back_to_the_feed_of_their_software() {
    for (profile, feed) in [
        ("/u/ana", "/feeds/u/ana.xml"),
        ("/a/ana", "/feeds/videos.xml"),
        ("/users/ana", "/users/ana.atom"),
    ] {
        let server = FixtureServer::start().await;
        server.set(
            feed,
            Reply::ok(crate::support::app::rss(&[(
                "f1",
                "A post",
                "http://x.invalid/f1",
            )]))
            .content_type("application/rss+xml"),
        );
        let app = TestApp::new(&server.origin());
        let id = app.add_source("activitypub", &json!({ "url": server.url(profile) }));
        let report = app.poll(id).await;
        assert!(report.error.is_none(), "{profile}: {report:?}");
        assert_eq!(app.items(id).len(), 1, "{profile}");
        let cursor = app.source(id).state.cursor.unwrap();
        assert_eq!(cursor["route"], "feed", "{profile}");
        assert!(
            cursor["feed"].as_str().unwrap().contains(feed),
            "{profile}: {cursor}"
        );
        if profile == "/a/ana" {
            // PeerTube's actor lives at /accounts/NAME; its feed is asked by account name.
            assert_eq!(server.hits("/accounts/ana"), 1);
            let asked = server.requests("/feeds/videos.xml");
            assert_eq!(asked[0].query.as_deref(), Some("accountName=ana"));
        }
    }
}

/// `source add USER @ana@host --param include_replies=true` stores an `activitypub` source
/// with the option; `source list` shows the account.
#[test]
fn source_add_takes_a_handle_and_the_replies_option() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"));
        command.current_dir(dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("TRIBUTARY_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command.args(args);
        command
    };
    let mut add_user = command(&["user", "add", "ana", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    add_user
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long password here\n")
        .unwrap();
    assert!(add_user.wait().unwrap().success());
    // Nothing is fetched (`--no-check`): the handle is recognized and checked only.
    let out = command(&[
        "source",
        "add",
        "ana",
        "@ana@social.example",
        "--param",
        "include_replies=true",
        "--no-check",
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("activitypub ana@social.example"));
    let bad = command(&[
        "source",
        "add",
        "ana",
        "@bo@social.example",
        "--param",
        "include_replies=7",
        "--no-check",
    ])
    .output()
    .unwrap();
    assert!(!bad.status.success());
    let list = command(&["source", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("ana@social.example"));

    let store = tributary::store::Store::open(&dir.path().join("tributary.db"), 1).unwrap();
    let sources = store
        .read_blocking(|conn| tributary::store::sources::list(conn, None))
        .unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(
        sources[0].params,
        json!({ "account": "ana@social.example", "include_replies": true })
    );
}

/// Every host in `text` except the W3C's (contexts, the public collection) moved under
/// the fixture server: `https://a.example/x` → `http://127.0.0.1:PORT/_/a.example/x`, so
/// nothing a document names can reach another machine.
fn all_hosts_moved(text: &str, origin: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let scheme_len = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            out.push_str("http");
            rest = &rest[4..];
            continue;
        };
        let host_end = rest[scheme_len..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_')))
            .map_or(rest.len(), |end| scheme_len + end);
        let host = &rest[scheme_len..host_end];
        if host.is_empty() || host == "www.w3.org" || host == "w3id.org" {
            out.push_str(&rest[..host_end]);
        } else {
            out.push_str(&format!("{origin}/_/{host}"));
        }
        rest = &rest[host_end..];
    }
    out.push_str(rest);
    out
}

fn corpus_files(dir: &std::path::Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            corpus_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Every file of the corpus, served from the fixture server as the one entry of an outbox
/// page of the actor it names (all of its hosts moved onto the server): each poll maps it
/// or refuses it (a classified error, or a refusal that leaves the page empty); none
/// panics, and nothing leaves the loopback server.
#[tokio::test]
async fn every_corpus_file_served_as_an_outbox_page_is_mapped_or_refused() {
    use connectors::Connector;
    let server = FixtureServer::start().await;
    let origin = server.origin();
    let root = std::env::var_os("TRIBUTARY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")))
        .join("activitypub");
    let mut files = Vec::new();
    corpus_files(&root, &mut files);
    files.sort();
    assert!(files.len() >= 450, "{} files", files.len());
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![origin.clone()],
        ..tributary::config::FetchConfig::default()
    };
    let http = HttpClient::new(&fetch).unwrap();
    let connector = connectors::protocol::activitypub::ActivityPubConnector;
    let params = json!({ "account": "ana@social.example" });
    let (mut n_mapped, mut n_empty, mut n_errors) = (0, 0, 0);
    for (n, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let moved = all_hosts_moved(&text, &origin);
        let doc: Option<Value> = serde_json::from_str(&moved).ok();
        let actor_id = doc
            .as_ref()
            .and_then(|d| {
                ["actor", "attributedTo"]
                    .iter()
                    .find_map(|key| match d.get(*key) {
                        Some(Value::String(id)) => Some(id.clone()),
                        Some(Value::Object(o)) => {
                            o.get("id").and_then(Value::as_str).map(str::to_owned)
                        }
                        Some(Value::Array(a)) => a.iter().find_map(|v| match v {
                            Value::String(id) => Some(id.clone()),
                            other => other.get("id").and_then(Value::as_str).map(str::to_owned),
                        }),
                        _ => None,
                    })
            })
            .filter(|id| id.starts_with(&origin))
            .unwrap_or_else(|| format!("{origin}/_/nobody.example/actor"));
        let actor_path = actor_id[origin.len()..].to_owned();
        let actor_path = actor_path
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .to_owned();
        let actor_url = format!("{origin}{actor_path}");
        server.set(
            &actor_path,
            ap(&json!({ "id": actor_url, "type": "Person", "outbox": format!("{actor_url}/outbox") })),
        );
        let page_path = format!("/_/pages/{n}");
        let reply = match &doc {
            Some(doc) => ap(&json!({
                "id": format!("{origin}{page_path}"),
                "type": "OrderedCollectionPage",
                "orderedItems": [doc],
            })),
            None => Reply::ok(moved.clone().into_bytes()).content_type(AP),
        };
        server.set(&page_path, reply);
        let page = json!({ "page": format!("{origin}{page_path}"), "actor": actor_url });
        match connector.poll_page(&http, &params, &page).await {
            Ok(poll) if poll.items.is_empty() => n_empty += 1,
            Ok(poll) => {
                assert_eq!(poll.items.len(), 1, "{}", path.display());
                n_mapped += 1;
            }
            Err(err) => {
                assert!(!err.class().is_empty());
                n_errors += 1;
            }
        }
    }
    eprintln!("mapped {n_mapped}, refused {n_empty}, errors {n_errors}");
    assert_eq!(n_mapped + n_empty + n_errors, files.len());
    assert!(n_mapped >= 60, "only {n_mapped} mapped");
    // Everything the documents named was asked of the fixture server only.
    assert!(server.all_requests().iter().all(|r| r.method == "GET"));
}

/// Only requests that allow it are signed: a feed refused with 401 is asked once, and no
/// key is made for it.
#[tokio::test]
async fn requests_that_do_not_allow_signing_are_never_retried_signed() {
    use connectors::Http;
    let server = FixtureServer::start().await;
    server.set("/feed.xml", Reply::status(401));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tributary.db");
    let fetch = tributary::config::FetchConfig {
        allowed_private_origins: vec![server.origin()],
        ..tributary::config::FetchConfig::default()
    };
    let http = HttpClient::new(&fetch).unwrap().with_signer(Signer::new(
        InstanceKeyCell::beside(&db),
        "http://tributary.test",
    ));
    let url = url::Url::parse(&server.url("/feed.xml")).unwrap();
    let response = http
        .get(connectors::FetchRequest::new(
            url.clone(),
            connectors::http::ACCEPT_FEEDS,
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(server.hits("/feed.xml"), 1);
    assert!(!tributary::instance_key::key_path(&db).exists());

    let mut signed = connectors::FetchRequest::new(url, connectors::http::ACCEPT_FEEDS);
    signed.sign = connectors::Signing::OnDenied;
    assert_eq!(http.get(signed).await.unwrap().status, 401);
    assert_eq!(server.hits("/feed.xml"), 3);
    assert!(
        tributary::instance_key::key_path(&db).exists(),
        "made on first use"
    );
}

/// `Ingest::import_history` on a 40-page outbox: every page to the end, each item once,
/// all marked imported; a second run fetches and adds nothing.
#[tokio::test]
async fn history_import_walks_a_40_page_outbox_to_the_end() {
    const PAGES: u32 = 40;
    const PER: u32 = 5;
    let server = FixtureServer::start().await;
    serve_account(&server);
    for n in 1..=PAGES {
        let notes = (0..PER)
            .map(|k| {
                let i = n * 100 + k;
                json!({
                    "id": server.url(&format!("/users/ana/statuses/{i}")),
                    "type": "Note",
                    "attributedTo": server.url("/users/ana"),
                    "content": format!("<p>post {i}</p>"),
                    "published": format!("2025-{:02}-{:02}T10:00:00Z", 1 + n % 12, 1 + k),
                    "to": "https://www.w3.org/ns/activitystreams#Public",
                })
            })
            .collect();
        let next = (n < PAGES).then_some(n + 1);
        server.set(&format!("/outbox/{n}"), page(&server, n, notes, next));
    }
    let app = crate::support::app::TestApp::new(&server.origin());
    let params = json!({ "account": format!("ana@{}", server.addr()) });
    let id = app.add_source("activitypub", &params);
    let options = tributary::ingest::history::HistoryOptions {
        page_budget: None,
        min_gap: std::time::Duration::ZERO,
    };
    let report = app
        .ingest
        .import_history(id, &options, |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.walk.status,
        tributary::store::history::Status::Done,
        "{report:?}"
    );
    assert_eq!(report.n_new, u64::from(PAGES * PER));
    assert_eq!(app.items(id).len(), (PAGES * PER) as usize);
    assert_eq!(server.hits(&format!("/outbox/{PAGES}")), 1);
    let imported = app
        .store
        .read_blocking(move |conn| tributary::store::history::count_imported(conn, id))
        .unwrap();
    assert_eq!(imported, u64::from(PAGES * PER));

    let again = app
        .ingest
        .import_history(id, &options, |_| {})
        .await
        .unwrap();
    assert_eq!(again.n_new, 0);
    assert_eq!(server.hits(&format!("/outbox/{PAGES}")), 1);
}
