//! The Fedify test peer checked on its own, before any federation test trusts it: two
//! peers follow each other through WebFinger, each signs with its one spec and never the
//! other, and an unsigned or badly signed POST is refused by Fedify's inbox. The `peer`
//! group of `support::tools`.

use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};
use tributary::store::notifications::{self, Kind};

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::peer::{Peer, PeerSigning, SentRequest};

/// How long an activity may take to show in an inbox (delivery is synchronous, so the
/// first poll normally finds it).
const INBOX_TIMEOUT: Duration = Duration::from_secs(5);

/// A public key no peer holds.
const OTHER_KEY_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq5Mmbc7tDn0m1dYCWGoP
oWn24o/LJbf/rCo9+tJaR07YKNqYzKr/wtcKSqJVHxl6XK6B+e3fsHMUb83XWAcL
1+DKLcSjGMkKoCjEVPIj4OxQAU+vbaNUQ7Z0cEsGqBcQxtT06uYWPluU0q0vAJvR
9XNF/I+ofZQGEAJzsduwdg1NBK+JcPYp+tU4QSjRVos1cLZYvovYbYnOtYQ3jJNI
jO4mq7T0coSaNT0VKYR/886Tv2jTM6UkC5cJZ1tpbjnDvg4KfzAeWY7YLe1Q+Oj1
TwaLw2Eg+e97IvfRHpB7xLOrZr1iBUgD/cJ1Wbo58246/qnJEWA1FyoranazKkG4
KQIDAQAB
-----END PUBLIC KEY-----
";

/// The signed requests among `sent`, each with the spec it was signed with.
fn signed(sent: &[SentRequest]) -> Vec<&SentRequest> {
    sent.iter()
        .filter(|request| request.spec != "unsigned")
        .collect()
}

#[track_caller]
fn assert_signed_only_with(peer: &Peer, sent: &[SentRequest]) {
    let signed = signed(sent);
    assert!(
        !signed.is_empty(),
        "the {:?} peer signed no request: {sent:#?}",
        peer.signing()
    );
    for request in signed {
        assert_eq!(
            (request.spec.as_str(), request.refused),
            (peer.signing().spec(), false),
            "the {:?} peer sent {request:?}",
            peer.signing()
        );
    }
}

/// Posts a Follow "from" `sender` to `receiver`'s inbox unsigned, then with a well-formed
/// draft-cavage Signature by the sender's real key id whose bytes are wrong: Fedify must
/// refuse both, and neither may reach the inbox.
async fn assert_forged_posts_refused(sender: &Peer, receiver: &Peer) {
    let http = reqwest::Client::new();
    let body = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/forged", sender.base()),
        "type": "Follow",
        "actor": sender.actor_id(),
        "object": receiver.actor_id(),
    })
    .to_string();

    let unsigned = http
        .post(receiver.inbox_url())
        .header("content-type", "application/activity+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(
        unsigned.status().is_client_error(),
        "an unsigned POST got {}",
        unsigned.status()
    );

    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let digest = format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()))
    );
    let signature = format!(
        "keyId=\"{}#main-key\",algorithm=\"rsa-sha256\",\
         headers=\"(request-target) host date digest\",signature=\"{}\"",
        sender.actor_id(),
        base64::engine::general_purpose::STANDARD.encode([7u8; 256])
    );
    let badly_signed = http
        .post(receiver.inbox_url())
        .header("content-type", "application/activity+json")
        .header("date", date)
        .header("digest", digest)
        .header("signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        badly_signed.status().is_client_error(),
        "a badly signed POST got {}",
        badly_signed.status()
    );
    assert!(receiver.inbox().await.is_empty());
}

/// The cavage peer's signature is accepted by the fixture server's own draft-cavage
/// verifier (RSA, in Rust), so `draft-cavage` in the peer's log is what went on the wire.
async fn assert_cavage_signature_verifies_outside_fedify(peer: &Peer) {
    let actor = peer.lookup(&peer.actor_id()).await.unwrap();
    let pem = actor["publicKey"]["publicKeyPem"]
        .as_str()
        .expect("the peer's actor has a PEM key");
    let server = FixtureServer::start().await;
    let actor_id = server.url("/users/checker");
    let checker = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": actor_id,
        "type": "Person",
        "inbox": server.url("/users/checker/inbox"),
    });
    server.set(
        "/users/checker",
        Reply::ok(checker.to_string()).content_type("application/activity+json"),
    );
    server.set("/users/checker/inbox", Reply::status(202).signed_only(pem));
    let liked = peer.like(&actor_id, &server.url("/e/1")).await;
    assert_eq!(
        liked.delivery.status,
        Some(202),
        "{liked:?}\n{}",
        peer.stderr()
    );
    assert_eq!(server.hits("/users/checker/inbox"), 1);

    // And a verifier holding another key refuses it.
    let other = FixtureServer::start().await;
    let other_actor = other.url("/users/checker");
    other.set(
        "/users/checker",
        Reply::ok(
            serde_json::json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": other_actor,
                "type": "Person",
                "inbox": other.url("/users/checker/inbox"),
            })
            .to_string(),
        )
        .content_type("application/activity+json"),
    );
    other.set(
        "/users/checker/inbox",
        Reply::status(202).signed_only(OTHER_KEY_PEM),
    );
    let refused = peer.like(&other_actor, &other.url("/e/1")).await;
    assert_eq!(refused.delivery.status, Some(401), "{refused:?}");
}

#[tokio::test]
async fn peers_follow_each_other_by_handle_and_sign_with_their_own_spec() {
    let Some(cavage) = Peer::start(PeerSigning::Cavage).await else {
        return;
    };
    let Some(rfc9421) = Peer::start(PeerSigning::Rfc9421).await else {
        return;
    };

    let followed = cavage.follow(&rfc9421.handle()).await;
    assert_eq!(followed.actor, rfc9421.actor_id());
    assert_eq!(followed.delivery.status, Some(202), "{followed:?}");
    assert!(followed.follow.starts_with(cavage.base()), "{followed:?}");
    let follow = rfc9421
        .wait_for_inbox(|a| a.kind.as_deref() == Some("Follow"), INBOX_TIMEOUT)
        .await;
    assert_eq!(follow.id.as_deref(), Some(followed.follow.as_str()));
    assert_eq!(follow.actor.as_deref(), Some(cavage.actor_id().as_str()));
    assert_eq!(follow.object, rfc9421.actor_id().as_str());
    assert_eq!(follow.inbox.as_deref(), Some("/users/peer/inbox"));
    assert_eq!(follow.raw["type"], "Follow");

    let followed_back = rfc9421.follow(&cavage.handle()).await;
    assert_eq!(
        followed_back.delivery.status,
        Some(202),
        "{followed_back:?}"
    );
    let follow_back = cavage
        .wait_for_inbox(|a| a.kind.as_deref() == Some("Follow"), INBOX_TIMEOUT)
        .await;
    assert_eq!(
        follow_back.actor.as_deref(),
        Some(rfc9421.actor_id().as_str())
    );

    // Each inbox holds exactly the one Follow it was sent.
    assert_eq!(rfc9421.inbox().await.len(), 1);
    assert_eq!(cavage.inbox().await.len(), 1);

    for peer in [&cavage, &rfc9421] {
        let sent = peer.sent().await;
        assert_signed_only_with(peer, &sent);
        let other = if peer.signing() == PeerSigning::Cavage {
            &rfc9421
        } else {
            &cavage
        };
        let inbox_posts: Vec<_> = sent
            .iter()
            .filter(|request| request.url == other.inbox_url())
            .collect();
        assert_eq!(inbox_posts.len(), 1, "{sent:#?}");
        assert_eq!(
            (inbox_posts[0].method.as_str(), inbox_posts[0].status),
            ("POST", Some(202))
        );
    }

    // The actor, read back through Fedify's own parser.
    let actor = rfc9421.lookup(&cavage.actor_id()).await.unwrap();
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["inbox"], cavage.inbox_url().as_str());
    assert_eq!(
        actor["publicKey"]["id"],
        format!("{}#main-key", cavage.actor_id()).as_str()
    );
    let missing = rfc9421
        .lookup(&format!("{}/users/nobody", cavage.base()))
        .await;
    assert!(missing.is_err(), "{missing:?}");
}

/// An actor whose inbox answers 401 to everything: Fedify would sign again with the
/// other spec (double-knocking); the peer must refuse to send that retry.
#[tokio::test]
async fn a_peer_never_falls_back_to_the_other_signature_spec() {
    let server = FixtureServer::start().await;
    let actor_id = server.url("/users/wall");
    let actor = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": actor_id,
        "type": "Person",
        "preferredUsername": "wall",
        "inbox": server.url("/users/wall/inbox"),
    });
    server.set(
        "/users/wall",
        Reply::ok(actor.to_string()).content_type("application/activity+json"),
    );
    server.set("/users/wall/inbox", Reply::status(401));

    for signing in [PeerSigning::Rfc9421, PeerSigning::Cavage] {
        let Some(peer) = Peer::start(signing).await else {
            return;
        };
        server.clear_requests();
        let liked = peer.like(&actor_id, &server.url("/e/1")).await;
        assert_eq!(liked.delivery.status, Some(401), "{liked:?}");
        assert!(liked.delivery.error.is_some(), "{liked:?}");

        let sent = peer.sent().await;
        let to_inbox: Vec<_> = sent
            .iter()
            .filter(|request| request.url == server.url("/users/wall/inbox"))
            .map(|request| (request.spec.as_str(), request.status, request.refused))
            .collect();
        let other = match signing {
            PeerSigning::Rfc9421 => "draft-cavage",
            PeerSigning::Cavage => "rfc9421",
        };
        assert_eq!(
            to_inbox,
            [(signing.spec(), Some(401), false), (other, None, true)],
            "{sent:#?}"
        );

        let posts = server.requests("/users/wall/inbox");
        assert_eq!(posts.len(), 1, "{posts:#?}");
        let has_signature_input = posts[0].header("signature-input").is_some();
        assert_eq!(
            has_signature_input,
            signing == PeerSigning::Rfc9421,
            "{:?}",
            posts[0].headers
        );
        assert!(posts[0].header("signature").is_some());
        if signing == PeerSigning::Cavage {
            assert_cavage_signature_verifies_outside_fedify(&peer).await;
        }
    }
}

/// Forged posts are refused; then every control call that sends reaches the other peer's
/// inbox as the activity it names, verified by Fedify, in order (and nothing else does).
#[tokio::test]
async fn forged_posts_are_refused_and_every_control_call_delivers_its_activity() {
    let Some(sender) = Peer::start(PeerSigning::Cavage).await else {
        return;
    };
    let Some(receiver) = Peer::start(PeerSigning::Rfc9421).await else {
        return;
    };
    assert_forged_posts_refused(&sender, &receiver).await;
    let to = receiver.actor_id();
    let post = format!("{}/notes/original", receiver.base());

    let followed = sender.follow(&receiver.handle()).await;
    let unfollowed = sender.undo_follow(&to, &followed.follow).await;
    let replied = sender.reply(&to, &post, "<p>Nice post</p>").await;
    let served: serde_json::Value = reqwest::get(&replied.note)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let liked = sender.like(&to, &post).await;
    let unliked = sender.undo_like(&to, &liked.like, &post).await;
    let announced = sender.announce(&to, &post).await;
    let unannounced = sender.undo_announce(&to, &announced.announce, &post).await;
    let deleted = sender.delete_note(&to, &replied.note).await;
    for delivery in [
        &followed.delivery,
        &unfollowed.delivery,
        &replied.delivery,
        &liked.delivery,
        &unliked.delivery,
        &announced.delivery,
        &unannounced.delivery,
        &deleted.delivery,
    ] {
        assert_eq!((delivery.status, &delivery.error), (Some(202), &None));
    }

    let inbox = receiver.inbox().await;
    let seen: Vec<_> = inbox
        .iter()
        .map(|a| {
            (
                a.kind.as_deref().unwrap_or(""),
                a.id.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("Follow", followed.follow.as_str()),
            ("Undo", unfollowed.undo.as_str()),
            ("Create", replied.create.as_str()),
            ("Like", liked.like.as_str()),
            ("Undo", unliked.undo.as_str()),
            ("Announce", announced.announce.as_str()),
            ("Undo", unannounced.undo.as_str()),
            ("Delete", deleted.delete.as_str()),
        ]
    );
    assert!(
        inbox
            .iter()
            .all(|a| a.actor.as_deref() == Some(sender.actor_id().as_str()))
    );

    let note = &inbox[2].object;
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], replied.note.as_str());
    assert_eq!(note["inReplyTo"], post.as_str());
    assert_eq!(note["content"], "<p>Nice post</p>");
    assert_eq!(note["attributedTo"], sender.actor_id().as_str());
    assert_eq!(inbox[1].object["id"], followed.follow.as_str());
    assert_eq!(inbox[4].object["id"], liked.like.as_str());
    assert_eq!(inbox[6].object["id"], announced.announce.as_str());
    assert_eq!(inbox[3].object, post.as_str());
    assert_eq!(inbox[7].object["id"], replied.note.as_str());

    // The peer served the note at its id until it deleted it.
    assert_eq!(served["content"], "<p>Nice post</p>");
    let after = reqwest::get(&replied.note).await.unwrap();
    assert_eq!(after.status(), reqwest::StatusCode::GONE);
}

/// The whole flow against Fedify: the peer finds `@ana@127.0.0.1:PORT` by WebFinger,
/// follows, gets the `Accept`; a poll stores a new item and the peer gets its `Create`
/// (its own code checks the signature); the peer replies and likes, and both show on
/// `/e/{id}`. `ours` is the scheme our deliveries are signed with.
async fn follow_poll_reply_and_like(signing: PeerSigning, ours: &str) {
    use std::sync::Arc;
    use tributary::config::SchedulerConfig;
    use tributary::fetch::HttpClient;
    use tributary::ingest::Ingest;
    use tributary::store::{items, sources};

    let Some(peer) = Peer::start(signing).await else {
        return;
    };
    let feed = FixtureServer::start().await;
    let feed_origin = feed.origin();
    let ours = ours.to_owned();
    let app = crate::support::web::WebApp::start_with(peer.base(), move |config| {
        config.fetch.allowed_private_origins.push(feed_origin);
        config.federation.signature = ours;
    })
    .await;
    let ana = app.create_user("ana", false);
    let authority = app.url("").trim_start_matches("http://").to_owned();

    let followed = peer.follow(&format!("ana@{authority}")).await;
    assert_eq!(followed.actor, app.url("/ana"), "{}", peer.stderr());
    assert_eq!(
        followed.delivery.status,
        Some(202),
        "{followed:?}\n{}",
        peer.stderr()
    );
    let accept = peer
        .wait_for_inbox(|a| a.kind.as_deref() == Some("Accept"), INBOX_TIMEOUT * 2)
        .await;
    assert_eq!(accept.actor.as_deref(), Some(app.url("/ana").as_str()));

    let now = httpdate::fmt_http_date(std::time::SystemTime::now());
    feed.set(
        "/feed.xml",
        Reply::ok(format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Ana's blog</title>\
             <link>https://blog.example/</link><description>d</description>\
             <item><guid>https://blog.example/hello</guid><title>Hello, fediverse</title>\
             <link>https://blog.example/hello</link><description>&lt;p&gt;First post&lt;/p&gt;</description>\
             <pubDate>{now}</pubDate></item></channel></rss>"
        ))
        .content_type("application/rss+xml"),
    );
    let params = serde_json::json!({ "url": feed.url("/feed.xml") });
    let source = app
        .store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource::feed(ana, &params),
                chrono::Utc::now(),
            )
        })
        .unwrap();
    let ingest = Ingest::new(
        app.store.clone(),
        Arc::new(HttpClient::new(&app.state.config.fetch).unwrap()),
        Arc::new(connectors::Registry::default()),
        SchedulerConfig::default(),
    );
    ingest.set_federation(app.state.federation.clone());
    let report = ingest.poll_source(source).await.unwrap();
    assert_eq!(report.n_new, 1, "{report:?}");
    let item = app
        .store
        .read_blocking(move |conn| items::of_source(conn, source))
        .unwrap()[0]
        .id;
    let note_id = app.url(&format!("/e/{}", item.0));
    let create = peer
        .wait_for_inbox(|a| a.kind.as_deref() == Some("Create"), INBOX_TIMEOUT * 2)
        .await;
    assert_eq!(create.object["id"], note_id.as_str(), "{:#}", create.raw);
    assert!(
        create.object["content"]
            .as_str()
            .unwrap_or("")
            .contains("First post"),
        "{:#}",
        create.raw
    );

    let replied = peer
        .reply(
            &app.url("/ana"),
            &note_id,
            "<p>Welcome aboard <script>alert(1)</script></p>",
        )
        .await;
    assert_eq!(
        replied.delivery.status,
        Some(202),
        "{replied:?}\n{}",
        peer.stderr()
    );
    let liked = peer.like(&app.url("/ana"), &note_id).await;
    assert_eq!(liked.delivery.status, Some(202), "{liked:?}");
    let page = app.client().get(&format!("/e/{}", item.0)).await;
    assert!(page.body.contains("Welcome aboard"), "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body.contains(&format!("@peer@{}", "127.0.0.1")),
        "{}",
        page.body
    );
    assert!(page.body.contains("liked this"), "{}", page.body);
    // The follow, the reply and the like, sent by Fedify, are ana's notifications, newest
    // first, and her navigation counts them.
    let kinds: Vec<Kind> = app
        .store
        .read_blocking(move |conn| notifications::page(conn, ana, None, 100))
        .unwrap()
        .notifications
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds, [Kind::Like, Kind::Comment, Kind::Follow]);
    let ana_page = app.logged_in("ana").await.get("/notifications").await;
    assert!(
        ana_page.body.contains("Welcome aboard"),
        "{}",
        ana_page.body
    );
}

#[tokio::test]
async fn fedify_follows_gets_the_create_replies_and_likes_draft_cavage() {
    follow_poll_reply_and_like(PeerSigning::Cavage, "draft-cavage").await;
}

#[tokio::test]
async fn fedify_follows_gets_the_create_replies_and_likes_rfc9421() {
    follow_poll_reply_and_like(PeerSigning::Rfc9421, "rfc9421").await;
}
