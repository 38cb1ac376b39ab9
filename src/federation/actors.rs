//! Remote actors: fetched through the fetcher (SSRF guard, deadline, size cap, signed
//! when the server refuses unsigned reads), read with the fediverse connector's tolerant
//! JSON readers, and kept in `actors`.

use connectors::protocol::activitypub::json::{first_id, http_url, link_url, string, values};
use connectors::{FetchRequest, Http, Signing};
use serde_json::Value;
use url::Url;

use crate::store::federation::{Actor, host_of};

/// What an ActivityPub GET asks for.
pub const ACCEPT: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
/// The largest actor or key document read.
pub const MAX_ACTOR_BYTES: usize = 256 * 1024;
/// The longest display name kept.
const MAX_NAME_CHARS: usize = 100;

/// Why a remote actor could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} is not an ActivityPub actor: {reason}")]
    Invalid { url: String, reason: String },
}

/// Fetches the actor at `uri` (or the actor that owns the key `uri`, when `uri` is a key
/// id with a fragment or a key document) and reads it. The document must say it is the
/// URL it was fetched from, so no server can speak for another's actor.
pub async fn fetch(http: &dyn Http, uri: &str) -> Result<Actor, ActorError> {
    let mut url = http_url(uri).ok_or_else(|| ActorError::Invalid {
        url: uri.to_owned(),
        reason: "not an http(s) URL".into(),
    })?;
    url.set_fragment(None);
    let doc = get_json(http, &url).await?;
    // A key document (`{"id": …#main-key, "owner": actor}`): the actor is its owner.
    let doc = if values(&doc, "inbox").is_empty() {
        let owner = string(&doc, "owner")
            .and_then(http_url)
            .ok_or_else(|| invalid(&url, "it has no inbox and names no owner"))?;
        if host_of(owner.as_str()) != host_of(url.as_str()) {
            return Err(invalid(&url, "the key's owner is on another host"));
        }
        get_json(http, &owner).await?
    } else {
        doc
    };
    let actor = read(&doc, chrono::Utc::now()).map_err(|reason| invalid(&url, &reason))?;
    if host_of(&actor.uri) != host_of(url.as_str()) {
        return Err(invalid(&url, "its id is on another host"));
    }
    Ok(actor)
}

fn invalid(url: &Url, reason: &str) -> ActorError {
    ActorError::Invalid {
        url: url.to_string(),
        reason: reason.to_owned(),
    }
}

async fn get_json(http: &dyn Http, url: &Url) -> Result<Value, ActorError> {
    let mut request = FetchRequest::new(url.clone(), ACCEPT);
    request.max_bytes = Some(MAX_ACTOR_BYTES);
    request.sign = Signing::OnDenied;
    let response = http.get(request).await.map_err(|err| ActorError::Fetch {
        url: url.to_string(),
        reason: err.to_string(),
    })?;
    if response.status != 200 {
        return Err(ActorError::Fetch {
            url: url.to_string(),
            reason: format!("it answered {}", response.status),
        });
    }
    let content_type = response.content_type.as_deref().unwrap_or("");
    if !is_activity_json(content_type) {
        return Err(invalid(url, &format!("it was served as `{content_type}`")));
    }
    serde_json::from_slice(&response.body).map_err(|err| invalid(url, &err.to_string()))
}

/// `application/activity+json` or `application/ld+json` (any parameters).
pub fn is_activity_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/activity+json" || essence == "application/ld+json"
}

/// Reads an actor document (pure). Its `id`, `inbox` and key must be on the actor's own
/// host; the key must name the actor as its owner.
pub fn read(doc: &Value, now: chrono::DateTime<chrono::Utc>) -> Result<Actor, String> {
    let uri = string(doc, "id")
        .and_then(http_url)
        .ok_or("it has no http(s) id")?;
    let host = host_of(uri.as_str());
    let inbox = first_id(doc, "inbox")
        .and_then(http_url)
        .ok_or("it has no inbox")?;
    if host_of(inbox.as_str()) != host {
        return Err("its inbox is on another host".into());
    }
    let shared_inbox = doc
        .get("endpoints")
        .and_then(|e| first_id(e, "sharedInbox"))
        .and_then(http_url)
        .filter(|u| host_of(u.as_str()) == host)
        .map(String::from);
    let (key_id, public_key_pem) = match values(doc, "publicKey").into_iter().next() {
        Some(key) => {
            let key_id = string(key, "id").and_then(http_url);
            let owner = string(key, "owner");
            let pem = string(key, "publicKeyPem");
            match (key_id, pem) {
                (Some(key_id), Some(pem))
                    if host_of(key_id.as_str()) == host
                        && owner.is_none_or(|o| o == uri.as_str()) =>
                {
                    (Some(key_id.to_string()), Some(pem.to_owned()))
                }
                _ => return Err("its public key is not its own".into()),
            }
        }
        None => (None, None),
    };
    let preferred = string(doc, "preferredUsername").unwrap_or("").trim();
    let handle = if preferred.is_empty() || preferred.contains(['@', '/', ' ']) {
        String::new()
    } else {
        format!("{preferred}@{}", uri.host_str().unwrap_or(""))
    };
    let name = string(doc, "name")
        .map(|n| crate::normalize::text::plain_line(n, MAX_NAME_CHARS))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| preferred.to_owned());
    let url = values(doc, "url")
        .into_iter()
        .find_map(link_url)
        .map(String::from);
    let icon_url = values(doc, "icon")
        .into_iter()
        .find_map(link_url)
        .map(String::from);
    let also_known_as = values(doc, "alsoKnownAs")
        .into_iter()
        .filter_map(connectors::protocol::activitypub::json::id_of)
        .filter_map(http_url)
        .map(String::from)
        .take(16)
        .collect();
    let moved_to = first_id(doc, "movedTo")
        .and_then(http_url)
        .map(String::from);
    Ok(Actor {
        id: None,
        host,
        uri: uri.to_string(),
        handle,
        name,
        url,
        icon_url,
        inbox: inbox.to_string(),
        shared_inbox,
        key_id,
        public_key_pem,
        also_known_as,
        moved_to,
        fetched_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shape of a Mastodon actor, as docs.joinmastodon.org shows it.
    fn mastodon_actor() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": "https://mastodon.example/users/bob",
            "type": "Person",
            "preferredUsername": "bob",
            "name": "Bob <b>the</b> builder",
            "inbox": "https://mastodon.example/users/bob/inbox",
            "outbox": "https://mastodon.example/users/bob/outbox",
            "url": "https://mastodon.example/@bob",
            "icon": {"type": "Image", "mediaType": "image/png", "url": "https://files.mastodon.example/bob.png"},
            "endpoints": {"sharedInbox": "https://mastodon.example/inbox"},
            "publicKey": {
                "id": "https://mastodon.example/users/bob#main-key",
                "owner": "https://mastodon.example/users/bob",
                "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n"
            },
            "alsoKnownAs": ["https://old.example/users/bob"]
        })
    }

    #[test]
    fn reads_a_mastodon_actor() {
        let actor = read(&mastodon_actor(), chrono::Utc::now()).unwrap();
        assert_eq!(actor.uri, "https://mastodon.example/users/bob");
        assert_eq!(actor.host, "mastodon.example");
        assert_eq!(actor.handle, "bob@mastodon.example");
        assert_eq!(actor.name, "Bob the builder");
        assert_eq!(
            actor.shared_inbox.as_deref(),
            Some("https://mastodon.example/inbox")
        );
        assert_eq!(
            actor.key_id.as_deref(),
            Some("https://mastodon.example/users/bob#main-key")
        );
        assert_eq!(actor.url.as_deref(), Some("https://mastodon.example/@bob"));
        assert_eq!(
            actor.icon_url.as_deref(),
            Some("https://files.mastodon.example/bob.png")
        );
        assert_eq!(actor.also_known_as, vec!["https://old.example/users/bob"]);
    }

    #[test]
    fn refuses_foreign_inbox_key_and_owner() {
        let mut doc = mastodon_actor();
        doc["inbox"] = json!("https://evil.example/inbox");
        assert!(
            read(&doc, chrono::Utc::now())
                .unwrap_err()
                .contains("inbox")
        );
        let mut doc = mastodon_actor();
        doc["publicKey"]["id"] = json!("https://evil.example/key");
        assert!(read(&doc, chrono::Utc::now()).unwrap_err().contains("key"));
        let mut doc = mastodon_actor();
        doc["publicKey"]["owner"] = json!("https://mastodon.example/users/eve");
        assert!(read(&doc, chrono::Utc::now()).unwrap_err().contains("key"));
        // A shared inbox elsewhere is dropped, not trusted.
        let mut doc = mastodon_actor();
        doc["endpoints"]["sharedInbox"] = json!("https://evil.example/inbox");
        assert_eq!(read(&doc, chrono::Utc::now()).unwrap().shared_inbox, None);
    }

    #[test]
    fn content_types() {
        assert!(is_activity_json("application/activity+json; charset=utf-8"));
        assert!(is_activity_json(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        ));
        assert!(!is_activity_json("text/html"));
        assert!(!is_activity_json("image/png"));
    }
}
