//! The Fedify test peer checked on its own, before any federation test trusts it: two
//! peers follow each other through WebFinger, each signs with its one spec and never the
//! other, and an unsigned or badly signed POST is refused by Fedify's inbox. The `peer`
//! group of `support::tools`.

use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::support::fixture_server::{FixtureServer, Reply};
use crate::support::peer::{Peer, PeerSigning, SentRequest};

/// How long an activity may take to show in an inbox (delivery is synchronous, so the
/// first poll normally finds it).
const INBOX_TIMEOUT: Duration = Duration::from_secs(5);

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

#[tokio::test]
async fn unsigned_and_badly_signed_posts_are_refused_by_the_inbox() {
    let Some(sender) = Peer::start(PeerSigning::Cavage).await else {
        return;
    };
    let Some(receiver) = Peer::start(PeerSigning::Rfc9421).await else {
        return;
    };
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

    // A well-formed draft-cavage Signature by the sender's real key id, over the right
    // headers, whose signature bytes are wrong.
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

    // The same inbox accepts the same kind of activity when Fedify signed it.
    let followed = sender.follow(&receiver.handle()).await;
    assert_eq!(followed.delivery.status, Some(202), "{followed:?}");
    let inbox = receiver.inbox().await;
    assert_eq!(inbox.len(), 1, "{inbox:#?}");
    assert_eq!(inbox[0].id.as_deref(), Some(followed.follow.as_str()));
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
    }
}
