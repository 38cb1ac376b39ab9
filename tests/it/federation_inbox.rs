//! The inboxes over real HTTP: activities signed by hand (draft-cavage, the `rsa` crate)
//! by accounts served from the fixture server, checked against what reaches the store and
//! the pages; and the delivery queue against fixture inboxes.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use tributary::model::{ItemId, UserId};
use tributary::store::federation as db;

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::remote::{self, BOB_KEY, BOB_PUBLIC, EVE_KEY, Remote, Tweak};
use crate::support::web::WebApp;
use crate::web_events::EventStream;
use crate::web_stream::{add_item, add_source};

struct Setup {
    app: WebApp,
    server: FixtureServer,
    bob: Remote,
    ana: UserId,
    item: ItemId,
}

async fn setup() -> Setup {
    let server = FixtureServer::start().await;
    let app = WebApp::start(&server.origin()).await;
    let ana = app.create_user("ana", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "first", 5);
    let bob = Remote::serve(&server, "bob", BOB_KEY, BOB_PUBLIC);
    Setup {
        app,
        server,
        bob,
        ana,
        item,
    }
}

fn followers(app: &WebApp, user: UserId) -> Vec<db::Follower> {
    app.store
        .read_blocking(|conn| db::followers(conn, user))
        .unwrap()
}

fn count(app: &WebApp, sql: &'static str) -> i64 {
    app.store
        .read_blocking(|conn| Ok(conn.query_row(sql, [], |row| row.get(0))?))
        .unwrap()
}

/// Waits until `check` holds, up to `secs`.
async fn wait_for(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_signed_follow_is_accepted_and_answered_with_a_signed_accept() {
    let s = setup().await;
    let follow = s.bob.activity("Follow", json!(s.app.url("/ana")));
    let (status, body) =
        remote::post(&s.bob, &s.app.url("/ana/inbox"), &follow, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    let list = followers(&s.app, s.ana);
    assert_eq!(list.len(), 1);
    assert!(list[0].accepted);
    assert_eq!(list[0].actor.uri, s.bob.id);
    assert_eq!(list[0].actor.handle, format!("bob@127.0.0.1"));
    // The Accept reaches bob's own inbox, signed by ana's key.
    wait_for(10, "the Accept", || s.server.hits("/users/bob/inbox") == 1).await;
    let request = &s.server.requests("/users/bob/inbox")[0];
    let accept: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(accept["type"], "Accept");
    assert_eq!(accept["actor"], s.app.url("/ana"));
    assert_eq!(accept["object"]["id"], follow["id"]);
    let signature = request.header("signature").expect("a signature");
    assert!(
        signature.contains(&format!("keyId=\"{}#main-key\"", s.app.url("/ana"))),
        "{signature}"
    );
    // The same Follow again is a replay.
    let (status, _) =
        remote::post(&s.bob, &s.app.url("/ana/inbox"), &follow, &Tweak::default()).await;
    assert_eq!(status, 409);
    // Undo ends it.
    let undo = s.bob.activity("Undo", follow.clone());
    let (status, body) = remote::post(&s.bob, &s.app.url("/inbox"), &undo, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    assert!(followers(&s.app, s.ana).is_empty());
}

#[tokio::test]
async fn hostile_signatures_are_refused_and_nothing_is_stored() {
    let s = setup().await;
    let url = s.app.url("/ana/inbox");
    let stale =
        httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(13 * 3600));
    let ahead =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2 * 3600));
    let cases: Vec<(&str, Tweak, u16)> = vec![
        (
            "a forged signature",
            Tweak {
                forge: true,
                ..Tweak::default()
            },
            401,
        ),
        (
            "the wrong key",
            Tweak {
                key: Some(EVE_KEY.into()),
                ..Tweak::default()
            },
            401,
        ),
        (
            "a stale Date",
            Tweak {
                date: Some(stale),
                ..Tweak::default()
            },
            401,
        ),
        (
            "a Date from the future",
            Tweak {
                date: Some(ahead),
                ..Tweak::default()
            },
            401,
        ),
        (
            "a Digest of other bytes",
            Tweak {
                digest_of: Some(b"{}".to_vec()),
                ..Tweak::default()
            },
            401,
        ),
        (
            "a keyId on another host",
            Tweak {
                key_id: Some("https://evil.example/users/bob#main-key".into()),
                ..Tweak::default()
            },
            401,
        ),
        (
            "a signature that leaves the digest out",
            Tweak {
                headers: Some("(request-target) host date"),
                ..Tweak::default()
            },
            401,
        ),
    ];
    for (what, tweak, expected) in cases {
        let follow = s.bob.activity("Follow", json!(s.app.url("/ana")));
        let (status, body) = remote::post(&s.bob, &url, &follow, &tweak).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert!(!body.trim().is_empty(), "{what}: a reason in words");
        assert!(
            followers(&s.app, s.ana).is_empty(),
            "{what} stored a follower"
        );
    }
    // Unsigned.
    let follow = s.bob.activity("Follow", json!(s.app.url("/ana")));
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/activity+json")
        .body(follow.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    // Over 1 MiB.
    let mut big = s.bob.activity("Follow", json!(s.app.url("/ana")));
    big["padding"] = json!("x".repeat(1024 * 1024));
    let (status, _) = remote::post(&s.bob, &url, &big, &Tweak::default()).await;
    assert_eq!(status, 413);
    assert!(followers(&s.app, s.ana).is_empty());
    assert_eq!(count(&s.app, "SELECT count(*) FROM inbox_seen"), 0);
    assert_eq!(count(&s.app, "SELECT count(*) FROM actors"), 0);
    // An activity by another actor than the key's owner.
    let mut other = s.bob.activity("Follow", json!(s.app.url("/ana")));
    other["actor"] = json!(s.server.url("/users/eve"));
    let (status, _) = remote::post(&s.bob, &url, &other, &Tweak::default()).await;
    assert_eq!(status, 401);
    assert!(followers(&s.app, s.ana).is_empty());
}

#[tokio::test]
async fn a_reply_becomes_a_sanitized_comment_and_likes_and_shares_count() {
    let s = setup().await;
    let item_uri = s.app.url(&format!("/e/{}", s.item.0));
    let note = s.bob.note(
        &item_uri,
        "<p>Nice one <script>alert(1)</script><a href=\"javascript:alert(2)\" onclick=\"alert(3)\">link</a></p>",
    );
    let create = s.bob.activity("Create", note.clone());
    let (status, body) =
        remote::post(&s.bob, &s.app.url("/inbox"), &create, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(page.body.contains("Nice one"), "{}", page.body);
    assert!(page.body.contains("@bob@127.0.0.1"), "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(!page.body.contains("javascript:"));
    assert!(!page.body.contains("onclick"));
    // A reply to that comment threads under it.
    let answer = s
        .bob
        .note(note["id"].as_str().unwrap(), "<p>And another thing</p>");
    let (status, _) = remote::post(
        &s.bob,
        &s.app.url("/inbox"),
        &s.bob.activity("Create", answer),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        count(
            &s.app,
            "SELECT count(*) FROM comments WHERE parent_id IS NOT NULL"
        ),
        1
    );
    // Like and share, then take the like back.
    let like = s.bob.activity("Like", json!(item_uri));
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &like, &Tweak::default()).await;
    assert_eq!(status, 202);
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(
        page.body.contains("bob remote"),
        "the like shows its author: {}",
        page.body
    );
    assert!(page.body.contains("liked this"));
    let announce = s.bob.activity("Announce", json!(item_uri));
    let (status, _) =
        remote::post(&s.bob, &s.app.url("/inbox"), &announce, &Tweak::default()).await;
    assert_eq!(status, 202);
    assert_eq!(count(&s.app, "SELECT count(*) FROM remote_shares"), 1);
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(
        page.body.contains("Shared 1 time on the fediverse"),
        "{}",
        page.body
    );
    let undo = s.bob.activity("Undo", like);
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &undo, &Tweak::default()).await;
    assert_eq!(status, 202);
    assert_eq!(count(&s.app, "SELECT count(*) FROM remote_likes"), 0);
    // Deleting the first note removes it; the answer stays, answering nothing.
    let delete = s.bob.activity("Delete", json!(note["id"]));
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &delete, &Tweak::default()).await;
    assert_eq!(status, 202);
    assert_eq!(count(&s.app, "SELECT count(*) FROM comments"), 1);
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(!page.body.contains("Nice one"));
    // Another account cannot delete bob's comment: eve signs a Delete of it.
    let eve = Remote::serve(&s.server, "eve", EVE_KEY, remote::EVE_PUBLIC);
    let remaining: String = s
        .app
        .store
        .read_blocking(|c| Ok(c.query_row("SELECT ap_uri FROM comments", [], |r| r.get(0))?))
        .unwrap();
    let (status, _) = remote::post(
        &eve,
        &s.app.url("/inbox"),
        &eve.activity("Delete", json!(remaining)),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(count(&s.app, "SELECT count(*) FROM comments"), 1);
}

#[tokio::test]
async fn a_remote_reply_and_like_reach_the_items_open_pages() {
    let s = setup().await;
    let item_uri = s.app.url(&format!("/e/{}", s.item.0));
    let mut item_page = EventStream::open(&s.app.client(), &format!("item:{}", s.item)).await;
    let mut stream = EventStream::open(&s.app.client(), "user:ana").await;
    let note = s.bob.note(&item_uri, "<p>From afar</p>");
    let (status, body) = remote::post(
        &s.bob,
        &s.app.url("/inbox"),
        &s.bob.activity("Create", note),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    for page in [&mut item_page, &mut stream] {
        let frame = page.next().await.expect("a comment frame");
        assert_eq!(frame.event, "comment");
        let data: Value = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(data["item"], s.item.0);
        assert_eq!(data["n_comments"], 1);
    }
    let like = s.bob.activity("Like", json!(item_uri));
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &like, &Tweak::default()).await;
    assert_eq!(status, 202);
    let frame = item_page.next().await.expect("a likes frame");
    assert_eq!(frame.event, "likes");
    let data: Value = serde_json::from_str(&frame.data).unwrap();
    assert_eq!(data["n_likes"], 1);
    let undo = s.bob.activity("Undo", like);
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &undo, &Tweak::default()).await;
    assert_eq!(status, 202);
    let frame = item_page.next().await.expect("a likes frame");
    let data: Value = serde_json::from_str(&frame.data).unwrap();
    assert_eq!(
        (frame.event.as_str(), data["n_likes"].as_i64()),
        ("likes", Some(0))
    );
}

#[tokio::test]
async fn blocked_accounts_and_domains_are_refused() {
    let s = setup().await;
    s.app
        .store
        .write_blocking(|tx| {
            db::add_block(tx, None, &db::Block::Domain("127.0.0.1".into()), Utc::now())
        })
        .unwrap();
    let follow = s.bob.activity("Follow", json!(s.app.url("/ana")));
    let (status, _) =
        remote::post(&s.bob, &s.app.url("/ana/inbox"), &follow, &Tweak::default()).await;
    assert_eq!(status, 403);
    assert!(followers(&s.app, s.ana).is_empty());
}

/// Makes `remote` an accepted follower of `user` straight in the store.
fn add_follower(app: &WebApp, user: UserId, uri: &str, inbox: &str, shared: Option<&str>) {
    let actor = db::Actor {
        uri: uri.to_owned(),
        host: db::host_of(uri),
        inbox: inbox.to_owned(),
        shared_inbox: shared.map(String::from),
        fetched_at: Utc::now(),
        ..db::Actor::default()
    };
    app.store
        .write_blocking(|tx| {
            let id = db::put_actor(tx, &actor)?;
            db::put_follower(tx, user, id, &format!("{uri}/follows/1"), true, Utc::now())
        })
        .unwrap();
}

#[tokio::test]
async fn a_new_item_is_delivered_after_a_503_with_retry_after_exactly_once() {
    let s = setup().await;
    add_follower(
        &s.app,
        s.ana,
        &s.bob.id,
        &s.bob.inbox,
        Some(&s.server.url("/inbox")),
    );
    add_follower(
        &s.app,
        s.ana,
        &s.server.url("/users/cy"),
        &s.server.url("/users/cy/inbox"),
        Some(&s.server.url("/inbox")),
    );
    s.server
        .set("/inbox", Reply::status(503).header("retry-after", "1"));
    let source = add_source(&s.app, s.ana, "github");
    let item = add_item(&s.app, source, s.ana, "fresh", 0);
    s.app
        .store
        .write_blocking(|tx| db::queue_items(tx, s.ana, &[item], db::Verb::Create, Utc::now()))
        .unwrap();
    s.app.state.federation.wake();
    wait_for(10, "the first try", || s.server.hits("/inbox") >= 1).await;
    let first = Instant::now();
    s.server.set("/inbox", Reply::status(202));
    wait_for(10, "the second try", || s.server.hits("/inbox") >= 2).await;
    assert!(
        first.elapsed() >= Duration::from_millis(800),
        "Retry-After honoured"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    // One shared inbox for both followers, and nothing after the 202.
    assert_eq!(s.server.hits("/inbox"), 2);
    assert_eq!(s.server.hits("/users/cy/inbox"), 0);
    assert_eq!(count(&s.app, "SELECT count(*) FROM deliveries"), 0);
}

#[tokio::test]
async fn a_restart_mid_queue_delivers_everything_exactly_once() {
    let server = FixtureServer::start().await;
    let app = WebApp::start_with(&server.origin(), |c| c.federation.delivery_concurrency = 2).await;
    let ana = app.create_user("ana", false);
    let n = 24;
    for k in 0..n {
        let path = format!("/users/f{k}/inbox");
        // Each answer takes a while, so the queue is still busy when the server stops.
        server.set(
            &path,
            Reply::drip(4, Duration::from_millis(50)).with_status(202),
        );
        add_follower(
            &app,
            ana,
            &server.url(&format!("/users/f{k}")),
            &server.url(&path),
            None,
        );
    }
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "news", 0);
    app.store
        .write_blocking(|tx| db::queue_items(tx, ana, &[item], db::Verb::Create, Utc::now()))
        .unwrap();
    app.state.federation.wake();
    wait_for(10, "the first deliveries", || server.total_hits() >= 2).await;
    let app = app.restart().await;
    assert!(server.total_hits() < n, "the restart came mid-queue");
    wait_for(30, "every delivery", || server.total_hits() >= n).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for k in 0..n {
        assert_eq!(server.hits(&format!("/users/f{k}/inbox")), 1, "inbox {k}");
    }
    wait_for(5, "an empty queue", || {
        count(&app, "SELECT count(*) FROM deliveries") == 0
    })
    .await;
}

/// A reply as Mastodon sends it (docs.joinmastodon.org/spec/activitypub: `toot:`
/// extensions, `atomUri`, `conversation`, `contentMap`, a `Mention` tag, a `replies`
/// collection, `summary: null`), and a content warning from another.
#[tokio::test]
async fn a_mastodon_shaped_reply_and_content_warning_are_read() {
    let s = setup().await;
    let item_uri = s.app.url(&format!("/e/{}", s.item.0));
    let note_id = format!("{}/statuses/109", s.bob.id);
    let create = json!({
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri",
             "inReplyToAtomUri": "ostatus:inReplyToAtomUri", "conversation": "ostatus:conversation",
             "sensitive": "as:sensitive", "toot": "http://joinmastodon.org/ns#"}
        ],
        "id": format!("{note_id}/activity"),
        "type": "Create",
        "actor": s.bob.id,
        "published": Utc::now().to_rfc3339(),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{}/followers", s.bob.id), s.app.url("/ana")],
        "object": {
            "id": note_id,
            "type": "Note",
            "summary": null,
            "inReplyTo": item_uri,
            "published": Utc::now().to_rfc3339(),
            "url": format!("{}/@bob/109", s.server.origin()),
            "attributedTo": s.bob.id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{}/followers", s.bob.id), s.app.url("/ana")],
            "sensitive": false,
            "atomUri": note_id,
            "inReplyToAtomUri": item_uri,
            "conversation": "tag:mastodon.example,2026-12-02:objectId=1:objectType=Conversation",
            "contentMap": {"en": "<p><span class=\"h-card\"><a href=\"http://x/@ana\" class=\"u-url mention\">@<span>ana</span></a></span> Lovely photos!</p>"},
            "attachment": [],
            "tag": [{"type": "Mention", "href": s.app.url("/ana"), "name": "@ana@127.0.0.1"}],
            "replies": {"id": format!("{note_id}/replies"), "type": "Collection",
                        "first": {"type": "CollectionPage", "next": format!("{note_id}/replies?page=true"),
                                  "partOf": format!("{note_id}/replies"), "items": []}}
        }
    });
    let (status, body) =
        remote::post(&s.bob, &s.app.url("/ana/inbox"), &create, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    let mut warned = s.bob.note(&item_uri, "<p>spoilers inside</p>");
    warned["summary"] = json!("Film ending");
    warned["sensitive"] = json!(true);
    let (status, _) = remote::post(
        &s.bob,
        &s.app.url("/inbox"),
        &s.bob.activity("Create", warned),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202);
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(page.body.contains("Lovely photos!"), "{}", page.body);
    assert!(page.body.contains("Film ending"), "{}", page.body);
    // The comments feed carries them too, by their authors' handles.
    let feed = s
        .app
        .client()
        .get(&format!("/e/{}/comments.atom", s.item.0))
        .await;
    assert!(feed.body.contains("Lovely photos!"), "{}", feed.body);
    assert!(feed.body.contains("@bob@127.0.0.1"), "{}", feed.body);
    // Ana answers on her item: the reply goes to bob, threaded under his newest note.
    let ana = s.app.logged_in("ana").await;
    let item_page = format!("/e/{}", s.item.0);
    let posted = ana
        .post_form(
            &item_page,
            &format!("{item_page}/comments"),
            &[("body", "Thanks, Bob!"), ("next", "")],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    wait_for(10, "the reply", || s.server.hits("/users/bob/inbox") >= 1).await;
    let sent: Value =
        serde_json::from_slice(&s.server.requests("/users/bob/inbox")[0].body).unwrap();
    assert_eq!(sent["type"], "Create");
    assert_eq!(sent["actor"], s.app.url("/ana"));
    assert!(
        sent["object"]["content"]
            .as_str()
            .unwrap()
            .contains("Thanks, Bob!")
    );
    let newest: String = s
        .app
        .store
        .read_blocking(|c| {
            Ok(c.query_row(
                "SELECT ap_uri FROM comments WHERE actor_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(sent["object"]["inReplyTo"], newest.as_str());
}

/// FEP-7628: a follower that moves takes its follows along, but only to an account that
/// names the old one in `alsoKnownAs`; a profile Update is read again from its server.
#[tokio::test]
async fn a_move_to_an_account_that_claims_the_old_one_moves_the_follow() {
    let s = setup().await;
    let follow = s.bob.activity("Follow", json!(s.app.url("/ana")));
    let (status, _) =
        remote::post(&s.bob, &s.app.url("/ana/inbox"), &follow, &Tweak::default()).await;
    assert_eq!(status, 202);
    let serve_new = |name: &str, aka: Value| {
        let id = s.server.url(&format!("/users/{name}"));
        s.server.set(
            &format!("/users/{name}"),
            Reply::ok(
                json!({
                    "id": id, "type": "Person", "preferredUsername": name,
                    "inbox": format!("{id}/inbox"),
                    "alsoKnownAs": aka,
                    "publicKey": {"id": format!("{id}#main-key"), "owner": id,
                                  "publicKeyPem": remote::EVE_PUBLIC}
                })
                .to_string(),
            )
            .content_type("application/activity+json"),
        );
        id
    };
    // A target that does not claim bob: refused, nothing moves.
    let stranger = serve_new("stranger", json!([]));
    let mut bad = s.bob.activity("Move", json!(s.bob.id));
    bad["target"] = json!(stranger);
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &bad, &Tweak::default()).await;
    assert_eq!(status, 403);
    assert_eq!(followers(&s.app, s.ana)[0].actor.uri, s.bob.id);
    // One that does: the follow is the new account's now.
    let new_bob = serve_new("newbob", json!([s.bob.id]));
    let mut good = s.bob.activity("Move", json!(s.bob.id));
    good["target"] = json!(new_bob);
    let (status, body) = remote::post(&s.bob, &s.app.url("/inbox"), &good, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    let list = followers(&s.app, s.ana);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].actor.uri, new_bob);
    assert!(list[0].accepted);
    // A Move of someone else is refused.
    let mut other = s.bob.activity("Move", json!(new_bob));
    other["target"] = json!(stranger);
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &other, &Tweak::default()).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_update_of_the_profile_is_read_again_and_an_edited_reply_replaces_the_old() {
    let s = setup().await;
    let item_uri = s.app.url(&format!("/e/{}", s.item.0));
    let mut note = s.bob.note(&item_uri, "<p>first words</p>");
    let (status, _) = remote::post(
        &s.bob,
        &s.app.url("/inbox"),
        &s.bob.activity("Create", note.clone()),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202);
    note["content"] = json!("<p>better words</p>");
    let (status, _) = remote::post(
        &s.bob,
        &s.app.url("/inbox"),
        &s.bob.activity("Update", note.clone()),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202);
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(
        page.body.contains("better words") && !page.body.contains("first words"),
        "{}",
        page.body
    );
    assert!(page.body.contains("(edited)"));
    // Someone else cannot edit it.
    let eve = Remote::serve(&s.server, "eve", EVE_KEY, remote::EVE_PUBLIC);
    let mut forged = note.clone();
    forged["content"] = json!("<p>eve was here</p>");
    forged["attributedTo"] = json!(eve.id);
    let (status, _) = remote::post(
        &eve,
        &s.app.url("/inbox"),
        &eve.activity("Update", forged),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 403, "a note on bob's host is not eve's to edit");
    // The profile: bob renames himself and says so.
    s.server.set(
        "/users/bob",
        Reply::ok(
            json!({
                "id": s.bob.id, "type": "Person", "preferredUsername": "bob", "name": "Robert",
                "inbox": s.bob.inbox,
                "publicKey": {"id": s.bob.key_id, "owner": s.bob.id, "publicKeyPem": BOB_PUBLIC}
            })
            .to_string(),
        )
        .content_type("application/activity+json"),
    );
    let update = s
        .bob
        .activity("Update", json!({"id": s.bob.id, "type": "Person"}));
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &update, &Tweak::default()).await;
    assert_eq!(status, 202);
    let page = s.app.client().get(&format!("/e/{}", s.item.0)).await;
    assert!(page.body.contains("Robert"), "{}", page.body);
}

#[tokio::test]
async fn each_remote_host_gets_its_allowance_of_activities_per_minute() {
    let server = FixtureServer::start().await;
    let app = WebApp::start_with(&server.origin(), |c| {
        c.federation.inbox_per_host_per_minute = 3
    })
    .await;
    app.create_user("ana", false);
    let bob = Remote::serve(&server, "bob", BOB_KEY, BOB_PUBLIC);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let like = bob.activity("Like", json!(app.url("/e/1")));
        statuses.push(
            remote::post(&bob, &app.url("/inbox"), &like, &Tweak::default())
                .await
                .0,
        );
    }
    assert_eq!(statuses, vec![202, 202, 202, 429]);
}

/// A host whose deliveries have all failed for longer than `federation.dead_host_days`
/// gets no new deliveries, until it answers again: here it sends us an activity.
#[tokio::test]
async fn a_dead_host_gets_no_new_deliveries_until_it_answers() {
    let s = setup().await;
    add_follower(&s.app, s.ana, &s.bob.id, &s.bob.inbox, None);
    let host = db::host_of(&s.bob.id);
    let week_ago = (Utc::now() - chrono::TimeDelta::days(8)).timestamp_millis();
    s.app
        .store
        .write_blocking(move |tx| {
            tx.execute(
                "INSERT INTO delivery_hosts (host, failing_since, last_error) VALUES (?1, ?2, 'down')",
                rusqlite::params![host, week_ago],
            )?;
            Ok(())
        })
        .unwrap();
    let source = add_source(&s.app, s.ana, "github");
    let queue = |external: &str| {
        let item = add_item(&s.app, source, s.ana, external, 0);
        s.app
            .store
            .write_blocking(|tx| db::queue_items(tx, s.ana, &[item], db::Verb::Create, Utc::now()))
            .unwrap();
        s.app.state.federation.wake();
    };
    queue("one");
    wait_for(10, "the fan-out", || {
        count(&s.app, "SELECT count(*) FROM outbox_queue") == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.server.hits("/users/bob/inbox"),
        0,
        "nothing is sent to a dead host"
    );
    // Bob's server speaks again: the mark goes, and the next item reaches it.
    let like = s
        .bob
        .activity("Like", json!(s.app.url(&format!("/e/{}", s.item.0))));
    let (status, _) = remote::post(&s.bob, &s.app.url("/inbox"), &like, &Tweak::default()).await;
    assert_eq!(status, 202);
    assert_eq!(count(&s.app, "SELECT count(*) FROM delivery_hosts"), 0);
    queue("two");
    // Bob's actor, read again for the Like, names a shared inbox.
    wait_for(10, "the delivery", || s.server.hits("/inbox") == 1).await;
}

/// An account deleted on its server: its Delete is signed with the key we already hold
/// (its actor answers 410 now), and its follow, likes and comments go.
#[tokio::test]
async fn a_deleted_account_takes_its_follow_likes_and_comments_along() {
    let s = setup().await;
    let item_uri = s.app.url(&format!("/e/{}", s.item.0));
    for activity in [
        s.bob.activity("Follow", json!(s.app.url("/ana"))),
        s.bob.activity("Like", json!(item_uri)),
        s.bob
            .activity("Create", s.bob.note(&item_uri, "<p>so long</p>")),
    ] {
        let (status, body) =
            remote::post(&s.bob, &s.app.url("/inbox"), &activity, &Tweak::default()).await;
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(count(&s.app, "SELECT count(*) FROM comments"), 1);
    s.server.set("/users/bob", Reply::status(410));
    let delete = s.bob.activity("Delete", json!(s.bob.id));
    let (status, body) =
        remote::post(&s.bob, &s.app.url("/inbox"), &delete, &Tweak::default()).await;
    assert_eq!(status, 202, "{body}");
    assert!(followers(&s.app, s.ana).is_empty());
    assert_eq!(count(&s.app, "SELECT count(*) FROM remote_likes"), 0);
    assert_eq!(count(&s.app, "SELECT count(*) FROM comments"), 0);
    // An account we never knew deleting itself is taken and changes nothing.
    let stranger = Remote::serve(&s.server, "gone", EVE_KEY, remote::EVE_PUBLIC);
    s.server.set("/users/gone", Reply::status(410));
    let (status, _) = remote::post(
        &stranger,
        &s.app.url("/inbox"),
        &stranger.activity("Delete", json!(stranger.id)),
        &Tweak::default(),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        count(
            &s.app,
            "SELECT count(*) FROM actors WHERE uri LIKE '%/users/gone'"
        ),
        0
    );
}
