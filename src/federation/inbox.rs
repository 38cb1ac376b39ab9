//! What an inbox does with an activity whose signature checked out: follows, comments,
//! likes, shares, deletions, updates, moves and mentions (each notifying the users it
//! concerns). Anything else is taken (202) and ignored.
//!
//! Every effect of one activity is one write transaction, together with its id in the
//! replay guard (`inbox_seen`): an activity delivered twice changes nothing the second
//! time and is refused.

use chrono::{DateTime, Utc};
use connectors::protocol::activitypub::json::{first_id, has_type, http_url, id_of, string};
use rusqlite::Transaction;
use serde_json::Value;

use crate::model::{ActorId, CommentId, ItemId, UserId};
use crate::normalize::{sanitize::sanitize, text::sanitized_html_to_text};
use crate::store::federation::{self as db, Actor, Reaction, RemoteComment};
use crate::store::notifications::{self, Actor as Notifier};
use crate::store::{StoreError, items, social, users};

/// The largest remote comment kept (bytes of HTML); longer ones are cut before
/// sanitizing.
pub const MAX_COMMENT_HTML_BYTES: usize = 64 * 1024;

/// Queues one of our activities for delivery, in the caller's transaction: (the user who
/// sends it, its id, its JSON, the target inboxes).
pub type Deliver<'a> =
    dyn Fn(&Transaction<'_>, UserId, &str, Value, &[String]) -> Result<(), StoreError> + 'a;

/// What became of an activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It changed something (a follow, a comment…); the words are for the log.
    Done(&'static str),
    /// It changed what an item's page shows (a comment, the likes): the pages open on it
    /// hear of it (live updates). The words are for the log.
    Touched {
        what: &'static str,
        item: ItemId,
        change: Touch,
    },
    /// Not for us, or nothing we keep: taken and ignored.
    Ignored(String),
}

/// What changed on an item, for [`Outcome::Touched`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// A new comment.
    Comment(CommentId),
    /// A like came or went.
    Likes,
}

/// Why an activity was refused after its signature checked out.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("this activity was received before")]
    Replay,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where our own objects live, to tell which URIs are ours.
#[derive(Clone, Debug)]
pub struct Local {
    /// The base URL without a trailing slash.
    pub base: String,
}

impl Local {
    /// `B/{name}` → the user name.
    pub fn user_of<'a>(&self, uri: &'a str) -> Option<&'a str> {
        let rest = uri.strip_prefix(&self.base)?.strip_prefix('/')?;
        (!rest.is_empty() && !rest.contains(['/', '?', '#'])).then_some(rest)
    }

    /// `B/e/{id}` → the item.
    pub fn item_of(&self, uri: &str) -> Option<ItemId> {
        let rest = uri.strip_prefix(&self.base)?.strip_prefix("/e/")?;
        let digits = rest.split(['#', '?']).next()?;
        digits.parse::<i64>().ok().filter(|n| *n > 0).map(ItemId)
    }
}

/// A verified activity and who signed it.
pub struct Verified<'a> {
    pub activity: &'a Value,
    /// The signer, stored, whose key checked out; it is the activity's `actor`.
    pub actor: &'a Actor,
    pub actor_id: ActorId,
    /// For a `Move`: the new account, fetched, with an `alsoKnownAs` naming the old one.
    pub moved_to: Option<&'a Actor>,
}

/// Applies a verified activity in `tx`. `deliver` queues our answers (an `Accept`).
pub fn apply(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    now: DateTime<Utc>,
    deliver: &Deliver<'_>,
) -> Result<Outcome, Refused> {
    let activity = v.activity;
    let id = string(activity, "id").unwrap_or_default();
    if !db::first_sighting(tx, id, now)? {
        return Err(Refused::Replay);
    }
    db::host_answered(tx, &v.actor.host)?;
    let object = activity.get("object").unwrap_or(&Value::Null);
    let object_id = id_of(object).unwrap_or_default();
    let kind = connectors::protocol::activitypub::json::types(activity)
        .first()
        .copied()
        .unwrap_or("");
    match kind {
        "Follow" => follow(tx, local, v, object_id, now, deliver),
        "Undo" => undo(tx, local, v, object),
        "Create" => create(tx, local, v, object, now),
        "Update" => update(tx, local, v, object, now),
        "Like" => react(tx, local, v, Reaction::Like, object_id, now),
        "Announce" => react(tx, local, v, Reaction::Share, object_id, now),
        "Delete" => delete(tx, v, object_id, now),
        "Move" => moved(tx, v, object_id, now),
        other => Ok(Outcome::Ignored(format!(
            "`{other}` activities are not handled"
        ))),
    }
}

/// The local user `uri` names, when it federates and has not blocked the actor.
fn target_user(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    uri: &str,
) -> Result<Option<UserId>, Refused> {
    let Some(name) = local.user_of(uri) else {
        return Ok(None);
    };
    let user = match users::by_name(tx, name) {
        Ok(user) => user,
        Err(StoreError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    if !db::settings(tx, user.id)?.enabled {
        return Ok(None);
    }
    refuse_if_blocked(tx, user.id, v, &user.name)?;
    Ok(Some(user.id))
}

/// The local item `uri` names, when it is public and its owner federates and has not
/// blocked the actor: (item, owner).
fn target_item(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    uri: &str,
) -> Result<Option<(ItemId, UserId)>, Refused> {
    let Some(item) = local.item_of(uri) else {
        return Ok(None);
    };
    let found = match items::get(tx, item) {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    if !social::item_state(tx, item)?.is_public() || !db::settings(tx, found.user_id)?.enabled {
        return Ok(None);
    }
    refuse_if_blocked(tx, found.user_id, v, &format!("the owner of {uri}"))?;
    Ok(Some((item, found.user_id)))
}

/// Forbidden when `owner` (named `who` in the refusal) or the instance blocked the signer.
fn refuse_if_blocked(
    tx: &Transaction<'_>,
    owner: UserId,
    v: &Verified<'_>,
    who: &str,
) -> Result<(), Refused> {
    if db::is_blocked(tx, Some(owner), &v.actor.uri)? {
        return Err(Refused::Forbidden(format!(
            "{who} does not take activities from {}",
            v.actor.uri
        )));
    }
    Ok(())
}

fn follow(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    object: &str,
    now: DateTime<Utc>,
    deliver: &Deliver<'_>,
) -> Result<Outcome, Refused> {
    let Some(user) = target_user(tx, local, v, object)? else {
        return Ok(Outcome::Ignored(format!(
            "{object} is nobody here who federates"
        )));
    };
    let follow_id = string(v.activity, "id").unwrap_or_default();
    let approve = db::settings(tx, user)?.approve_followers;
    let known = notifications::has_remote_follower(tx, user, v.actor_id)?;
    let accepted = db::put_follower(tx, user, v.actor_id, follow_id, !approve, now)?;
    if !known {
        notifications::followed(tx, user, Notifier::Remote(v.actor_id), !accepted, now)?;
    }
    if accepted {
        let owner = users::get(tx, user)?;
        let accept = super::documents::accept(follow_id, &v.actor.uri, &owner, &local.base);
        let accept_id = string(&accept, "id").unwrap_or_default().to_owned();
        deliver(
            tx,
            user,
            &accept_id,
            accept,
            std::slice::from_ref(&v.actor.inbox),
        )?;
        Ok(Outcome::Done("follow accepted"))
    } else {
        Ok(Outcome::Done("follow waits for approval"))
    }
}

fn undo(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    object: &Value,
) -> Result<Outcome, Refused> {
    // The undone activity: embedded (Mastodon) or only its id.
    let undone_id = id_of(object).unwrap_or_default();
    let inner_object = first_id(object, "object").unwrap_or_default();
    if let Some(actor) = first_id(object, "actor")
        && actor != v.actor.uri
    {
        return Err(Refused::Forbidden(
            "an Undo of another account's activity".into(),
        ));
    }
    if has_type(object, "Follow") || local.user_of(inner_object).is_some() {
        if let Some(name) = local.user_of(inner_object)
            && let Ok(user) = users::by_name(tx, name)
        {
            db::remove_follower(tx, user.id, v.actor_id)?;
            return Ok(Outcome::Done("follow undone"));
        }
        return Ok(Outcome::Ignored(
            "an Undo of a follow of nobody here".into(),
        ));
    }
    let item = local.item_of(inner_object);
    let id = (!undone_id.is_empty()).then_some(undone_id);
    if has_type(object, "Announce") {
        db::remove_reaction(tx, Reaction::Share, v.actor_id, id, item)?;
        return Ok(Outcome::Done("share undone"));
    }
    // A Like, or an Undo naming only an id: whichever reaction has that id.
    let like = db::remove_reaction(tx, Reaction::Like, v.actor_id, id, item)?;
    let share = !like && db::remove_reaction(tx, Reaction::Share, v.actor_id, id, None)?;
    Ok(if let (true, Some(item)) = (like, item) {
        Outcome::Touched {
            what: "like undone",
            item,
            change: Touch::Likes,
        }
    } else if like || share {
        Outcome::Done("reaction undone")
    } else {
        Outcome::Ignored("an Undo of nothing we have".into())
    })
}

/// A `Note` (or `Article`…) replying to one of our items or to a comment on one.
fn create(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    note: &Value,
    now: DateTime<Utc>,
) -> Result<Outcome, Refused> {
    if !note.is_object() {
        return Ok(Outcome::Ignored(
            "a Create without an embedded object".into(),
        ));
    }
    let Some(reply_to) = first_id(note, "inReplyTo") else {
        return mention_outside_thread(tx, local, v, note, now, "not a reply");
    };
    let (item, parent) = if let Some(item) = local.item_of(reply_to) {
        (item, None)
    } else if let Some((comment, item)) = db::comment_by_uri(tx, reply_to)? {
        (item, Some(comment))
    } else {
        return mention_outside_thread(tx, local, v, note, now, "a reply to nothing here");
    };
    let Some((item, _owner)) = target_item(tx, local, v, &format!("{}/e/{}", local.base, item.0))?
    else {
        return Ok(Outcome::Ignored(
            "a reply to an item that is not public".into(),
        ));
    };
    let note_id = checked_note_id(v, note)?;
    let (text, html) = note_body(note, &note_id)?;
    let published = string(note, "published")
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|p| p.with_timezone(&Utc))
        .filter(|p| *p <= now)
        .unwrap_or(now);
    let (comment, new) = db::put_remote_comment(
        tx,
        &RemoteComment {
            item,
            actor: v.actor_id,
            uri: &note_id,
            parent,
            text: &text,
            html: &html,
            published,
        },
        now,
    )?;
    if new {
        let mentioned = mentioned_users(tx, local, v, note)?;
        notifications::comment_added(
            tx,
            item,
            comment,
            Notifier::Remote(v.actor_id),
            &mentioned,
            now,
        )?;
    }
    if new && crate::social::comment_bumps() {
        social::bump(tx, item, now)?;
    }
    tracing::debug!(comment = comment.0, item = item.0, "remote comment stored");
    if !new {
        return Ok(Outcome::Done("comment stored"));
    }
    Ok(Outcome::Touched {
        what: "comment stored",
        item,
        change: Touch::Comment(comment),
    })
}

/// A post that answers nothing here (no reply, or a reply in a thread elsewhere) but
/// tags local users (`Mention`): each hears of it, with the post's address. Anything
/// else stays ignored, as before, for the reason `otherwise`.
fn mention_outside_thread(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    note: &Value,
    now: DateTime<Utc>,
    otherwise: &str,
) -> Result<Outcome, Refused> {
    let mentioned = mentioned_users(tx, local, v, note)?;
    let Some(url) = (!mentioned.is_empty())
        .then(|| checked_note_id(v, note).ok())
        .flatten()
    else {
        return Ok(Outcome::Ignored(otherwise.to_owned()));
    };
    let shown = string(note, "url")
        .and_then(http_url)
        .map(|u| u.to_string());
    for user in mentioned {
        notifications::mentioned_in_post(
            tx,
            user,
            v.actor_id,
            shown.as_deref().unwrap_or(&url),
            now,
        )?;
    }
    Ok(Outcome::Done("mention noted"))
}

/// The local users a note tags with a `Mention` of their actor, who federate and have not
/// blocked its author; at most `MAX_MENTIONS`.
fn mentioned_users(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    note: &Value,
) -> Result<Vec<UserId>, Refused> {
    let tags: Vec<&Value> = match note.get("tag") {
        Some(Value::Array(tags)) => tags.iter().collect(),
        Some(tag @ Value::Object(_)) => vec![tag],
        _ => Vec::new(),
    };
    let mut users_found: Vec<UserId> = Vec::new();
    for tag in tags {
        if !has_type(tag, "Mention") {
            continue;
        }
        let Some(name) = string(tag, "href").and_then(|href| local.user_of(href)) else {
            continue;
        };
        let user = match users::by_name(tx, name) {
            Ok(user) => user,
            Err(StoreError::NotFound) => continue,
            Err(err) => return Err(err.into()),
        };
        if users_found.contains(&user.id)
            || !db::settings(tx, user.id)?.enabled
            || db::is_blocked(tx, Some(user.id), &v.actor.uri)?
        {
            continue;
        }
        users_found.push(user.id);
        if users_found.len() == crate::social::MAX_MENTIONS {
            break;
        }
    }
    Ok(users_found)
}

/// A note's id, which must be on its author's host, and its author, who must be the
/// signer.
fn checked_note_id(v: &Verified<'_>, note: &Value) -> Result<String, Refused> {
    let note_id = string(note, "id")
        .and_then(http_url)
        .ok_or_else(|| Refused::Invalid("the note has no http(s) id".into()))?;
    if db::host_of(note_id.as_str()) != v.actor.host {
        return Err(Refused::Forbidden(
            "the note's id is on another host than its author".into(),
        ));
    }
    if let Some(author) = first_id(note, "attributedTo")
        && author != v.actor.uri
    {
        return Err(Refused::Forbidden(
            "the note is attributed to another account".into(),
        ));
    }
    Ok(note_id.to_string())
}

/// A note's text and sanitized HTML (a content warning first, as its own paragraph).
fn note_body(note: &Value, note_id: &str) -> Result<(String, String), Refused> {
    let content = string(note, "content")
        .or_else(|| {
            note.get("contentMap")
                .and_then(Value::as_object)
                .and_then(|map| map.values().find_map(Value::as_str))
        })
        .unwrap_or("");
    let content = crate::normalize::text::truncate_bytes(content, MAX_COMMENT_HTML_BYTES);
    let base = url::Url::parse(note_id).ok();
    let mut html = sanitize(content, base.as_ref()).as_str().to_owned();
    if let Some(warning) = string(note, "summary")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let warning = crate::normalize::text::plain_line(warning, 200);
        html = format!(
            "<p><strong>{}</strong></p>{html}",
            maud::html! { (warning) }.into_string()
        );
    }
    let text = sanitized_html_to_text(&html);
    if text.trim().is_empty() && !html.contains("<img") {
        return Err(Refused::Invalid("the note has no text".into()));
    }
    Ok((text, html))
}

fn update(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    object: &Value,
    now: DateTime<Utc>,
) -> Result<Outcome, Refused> {
    let object_id = id_of(object).unwrap_or_default();
    if object_id == v.actor.uri {
        // The signer's own profile: `v.actor` was fetched (or read) for this request.
        return Ok(Outcome::Done("actor refreshed"));
    }
    if !object.is_object() {
        return Ok(Outcome::Ignored(
            "an Update without an embedded object".into(),
        ));
    }
    let note_id = checked_note_id(v, object)?;
    if db::comment_by_uri(tx, &note_id)?.is_none() {
        // Maybe a reply we never had: take it as a Create.
        return create(tx, local, v, object, now);
    }
    let (text, html) = note_body(object, &note_id)?;
    match db::put_remote_comment(
        tx,
        &RemoteComment {
            item: ItemId(0),
            actor: v.actor_id,
            uri: &note_id,
            parent: None,
            text: &text,
            html: &html,
            published: now,
        },
        now,
    ) {
        Ok(_) => Ok(Outcome::Done("comment updated")),
        Err(StoreError::Conflict(reason)) => Err(Refused::Forbidden(reason)),
        Err(err) => Err(err.into()),
    }
}

fn react(
    tx: &Transaction<'_>,
    local: &Local,
    v: &Verified<'_>,
    reaction: Reaction,
    object: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, Refused> {
    let Some((item, _)) = target_item(tx, local, v, object)? else {
        return Ok(Outcome::Ignored(format!("{object} is no public item here")));
    };
    let id = string(v.activity, "id").unwrap_or_default();
    let new = db::put_reaction(tx, reaction, item, v.actor_id, id, now)?;
    if new && reaction == Reaction::Like {
        notifications::liked(tx, item, Notifier::Remote(v.actor_id), now)?;
        let published = items::get(tx, item)?.published_at;
        if crate::social::like_bumps(published, now) {
            social::bump(tx, item, now)?;
        }
    }
    Ok(match reaction {
        Reaction::Like if new => Outcome::Touched {
            what: "like stored",
            item,
            change: Touch::Likes,
        },
        Reaction::Like => Outcome::Done("like stored"),
        Reaction::Share => Outcome::Done("share stored"),
    })
}

fn delete(
    tx: &Transaction<'_>,
    v: &Verified<'_>,
    object: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, Refused> {
    if object == v.actor.uri {
        db::delete_actor(tx, object, now)?;
        return Ok(Outcome::Done("account removed"));
    }
    if db::delete_remote_comment(tx, object, v.actor_id)? {
        Ok(Outcome::Done("comment removed"))
    } else {
        Ok(Outcome::Ignored("a Delete of nothing we have".into()))
    }
}

/// FEP-7628: the signer moved to `target`, whose `alsoKnownAs` names it; every follow of
/// the old account moves to the new one.
fn moved(
    tx: &Transaction<'_>,
    v: &Verified<'_>,
    object: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, Refused> {
    if object != v.actor.uri {
        return Err(Refused::Forbidden("a Move of another account".into()));
    }
    let Some(target) = v.moved_to else {
        return Err(Refused::Invalid(
            "the Move names no target we could read".into(),
        ));
    };
    if !target.also_known_as.iter().any(|aka| aka == &v.actor.uri) {
        return Err(Refused::Forbidden(format!(
            "{} does not name {} in alsoKnownAs",
            target.uri, v.actor.uri
        )));
    }
    let new_actor = db::put_actor(tx, target)?;
    let mut moved = 0;
    for user in db::followed_by(tx, v.actor_id)? {
        if db::is_blocked(tx, Some(user), &target.uri)? {
            db::remove_follower(tx, user, v.actor_id)?;
            continue;
        }
        let follow = db::remove_follower(tx, user, v.actor_id)?.unwrap_or_default();
        db::put_follower(tx, user, new_actor, &follow, true, now)?;
        moved += 1;
    }
    tracing::debug!(from = %v.actor.uri, to = %target.uri, moved, "followers moved");
    Ok(Outcome::Done("followers moved"))
}

/// The target of a `Move` activity, when it has one.
pub fn move_target(activity: &Value) -> Option<&str> {
    (connectors::protocol::activitypub::json::types(activity).first() == Some(&"Move"))
        .then(|| first_id(activity, "target"))
        .flatten()
}
