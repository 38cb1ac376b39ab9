//! The inbox's front door: size, signature, key and origin checks before an activity
//! reaches [`super::inbox::apply`].
//!
//! Order: the body's size; the JSON; the claimed key (`keyId`), whose host must be the
//! actor's; the instance's domain blocks; the key, from the actors we know or fetched
//! from its owner (signed fetch through the fetcher, so the SSRF guard holds); the
//! signature over the method, target, Date and body digest, with one refetch of a known
//! key that fails (its owner may have rotated it), at most once per key every
//! [`KEY_REFETCH_EVERY`]; the key's owner must be the activity's actor. Then one write
//! transaction stores the actor and applies the activity, its id in the replay guard.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use chrono::Utc;
use connectors::protocol::activitypub::json::{first_id, id_of, string, types};
use serde_json::Value;
use url::Url;

use super::inbox::{self, Local, Outcome, Refused, Verified};
use super::signature::{self, Inbound};
use super::{Federation, actors};
use crate::store::federation::{self as db, Actor, host_of};

/// The largest activity the inbox reads.
pub const MAX_INBOX_BYTES: usize = 1024 * 1024;
/// A key that fails to verify is fetched again at most this often.
pub const KEY_REFETCH_EVERY: Duration = Duration::from_secs(300);
/// A cached actor older than this is fetched again before its key is trusted.
const ACTOR_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// A POST to an inbox, as it arrived.
pub struct Request {
    pub method: http::Method,
    /// The URL the sender signed: our base URL with the request's path and query.
    pub target_uri: Url,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// Why an inbox refused a POST; `status()` is its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the body is over {MAX_INBOX_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("this activity was received before")]
    Replay,
    #[error("{0}")]
    Internal(String),
}

impl InboxError {
    pub fn status(&self) -> u16 {
        match self {
            InboxError::TooLarge => 413,
            InboxError::BadRequest(_) => 400,
            InboxError::Unauthorized(_) => 401,
            InboxError::Forbidden(_) => 403,
            InboxError::Replay => 409,
            InboxError::Internal(_) => 500,
        }
    }
}

/// Keys fetched again after a failed check, and when.
#[derive(Default)]
pub struct Refetches(std::sync::Mutex<HashMap<String, Instant>>);

impl Refetches {
    /// Whether `key_id` may be fetched again now (and counts it).
    fn allow(&self, key_id: &str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, at| now.duration_since(*at) < KEY_REFETCH_EVERY);
        if map.contains_key(key_id) {
            return false;
        }
        map.insert(key_id.to_owned(), now);
        true
    }
}

/// The host a request's signature claims, for the per-host rate limit (before any
/// check: a forged claim spends only the named host's allowance of refusals).
pub fn claimed_host(headers: &http::HeaderMap, target_uri: &Url) -> Option<String> {
    let method = http::Method::POST;
    let probe = Inbound {
        method: &method,
        target_uri,
        headers,
        body: &[],
    };
    signature::claimed_key(&probe)
        .ok()
        .map(|claim| host_of(&claim.key_id))
}

impl Federation {
    /// Checks and applies one inbox POST.
    pub async fn receive(&self, request: Request) -> Result<Outcome, InboxError> {
        if request.body.len() > MAX_INBOX_BYTES {
            return Err(InboxError::TooLarge);
        }
        let activity: Value = serde_json::from_slice(&request.body)
            .map_err(|err| InboxError::BadRequest(format!("the body is not JSON: {err}")))?;
        let id = string(&activity, "id")
            .filter(|id| Url::parse(id).is_ok())
            .ok_or_else(|| InboxError::BadRequest("the activity has no id".into()))?
            .to_owned();
        let actor_uri = first_id(&activity, "actor")
            .ok_or_else(|| InboxError::BadRequest("the activity names no actor".into()))?
            .to_owned();
        let inbound = Inbound {
            method: &request.method,
            target_uri: &request.target_uri,
            headers: &request.headers,
            body: &request.body,
        };
        let claim = signature::claimed_key(&inbound)
            .map_err(|refusal| InboxError::Unauthorized(refusal.to_string()))?;
        if !signature::same_origin_host(&claim.key_id, &actor_uri) {
            return Err(InboxError::Unauthorized(format!(
                "the key {} is not on the actor's host ({})",
                claim.key_id,
                host_of(&actor_uri)
            )));
        }
        if host_of(&id) != host_of(&actor_uri) {
            return Err(InboxError::Unauthorized(
                "the activity's id is not on its actor's host".into(),
            ));
        }
        let host = host_of(&actor_uri);
        let blocked = {
            let uri = actor_uri.clone();
            self.inner
                .store
                .read(move |conn| db::is_blocked(conn, None, &uri))
                .await
                .map_err(|err| InboxError::Internal(err.to_string()))?
        };
        if blocked {
            return Err(InboxError::Forbidden(format!(
                "this server takes no activities from {host}"
            )));
        }
        let deletes_itself = types(&activity).first() == Some(&"Delete")
            && activity.get("object").and_then(id_of) == Some(actor_uri.as_str());
        let actor = match self.verified_actor(&inbound, &claim.key_id).await {
            Ok(actor) => actor,
            // An account that is gone cannot show its key: a Delete of it is taken and
            // there is nothing more to do when we never knew it.
            Err(_) if deletes_itself => {
                return Ok(Outcome::Ignored("a deleted account we do not know".into()));
            }
            Err(err) => return Err(err),
        };
        if actor.uri != actor_uri {
            return Err(InboxError::Unauthorized(format!(
                "signed by {}, not by the activity's actor {actor_uri}",
                actor.uri
            )));
        }
        // An Update of the signer's own profile: read it again. A Move: the new account.
        let mut actor = actor;
        if types(&activity).first() == Some(&"Update")
            && activity.get("object").and_then(id_of) == Some(actor_uri.as_str())
            && let Ok(fresh) = actors::fetch(&self.inner.http, &actor_uri).await
            && fresh.uri == actor.uri
        {
            actor = fresh;
        }
        let moved_to = match inbox::move_target(&activity) {
            Some(target) => actors::fetch(&self.inner.http, target).await.ok(),
            None => None,
        };
        let local = Local {
            base: self.base_url(),
        };
        let federation = self.clone();
        let applied = self
            .inner
            .store
            .write(move |tx| {
                let actor_id = db::put_actor(tx, &actor)?;
                let verified = Verified {
                    activity: &activity,
                    actor: &actor,
                    actor_id,
                    moved_to: moved_to.as_ref(),
                };
                let deliver = |tx: &rusqlite::Transaction<'_>,
                               user,
                               uri: &str,
                               body: Value,
                               inboxes: &[String]| {
                    federation
                        .queue_in(tx, user, uri, &body, inboxes)
                        .map(|_| ())
                };
                Ok(inbox::apply(tx, &local, &verified, Utc::now(), &deliver))
            })
            .await
            .map_err(|err| InboxError::Internal(err.to_string()))?;
        match applied {
            Ok(outcome) => {
                self.wake();
                Ok(outcome)
            }
            Err(Refused::Replay) => Err(InboxError::Replay),
            Err(Refused::Forbidden(reason)) => Err(InboxError::Forbidden(reason)),
            Err(Refused::Invalid(reason)) => Err(InboxError::BadRequest(reason)),
            Err(Refused::Store(err)) => Err(InboxError::Internal(err.to_string())),
        }
    }

    /// The actor whose key signed `inbound`, its signature checked.
    async fn verified_actor(
        &self,
        inbound: &Inbound<'_>,
        key_id: &str,
    ) -> Result<Actor, InboxError> {
        let known = {
            let key_id = key_id.to_owned();
            self.inner
                .store
                .read(move |conn| db::actor_by_key_id(conn, &key_id))
                .await
                .map_err(|err| InboxError::Internal(err.to_string()))?
        };
        let known = known
            .filter(|a| a.public_key_pem.is_some() && Utc::now() - a.fetched_at < ACTOR_MAX_AGE);
        let (actor, fresh) = match known {
            Some(actor) => (actor, false),
            None => (self.fetch_key_owner(key_id).await?, true),
        };
        match check(inbound, &actor) {
            Ok(()) => Ok(actor),
            Err(_) if !fresh && self.inner.refetches.allow(key_id) => {
                let actor = self.fetch_key_owner(key_id).await?;
                check(inbound, &actor).map(|()| actor)
            }
            Err(err) => Err(err),
        }
    }

    async fn fetch_key_owner(&self, key_id: &str) -> Result<Actor, InboxError> {
        let actor = actors::fetch(&self.inner.http, key_id)
            .await
            .map_err(|err| InboxError::Unauthorized(format!("cannot read the key: {err}")))?;
        if actor.key_id.as_deref() != Some(key_id) {
            return Err(InboxError::Unauthorized(format!(
                "{} does not publish the key {key_id}",
                actor.uri
            )));
        }
        Ok(actor)
    }
}

fn check(inbound: &Inbound<'_>, actor: &Actor) -> Result<(), InboxError> {
    let pem = actor
        .public_key_pem
        .as_deref()
        .ok_or_else(|| InboxError::Unauthorized(format!("{} has no public key", actor.uri)))?;
    signature::verify(inbound, pem, SystemTime::now())
        .map(|_| ())
        .map_err(|refusal| InboxError::Unauthorized(refusal.to_string()))
}
