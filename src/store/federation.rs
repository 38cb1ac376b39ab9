//! The federation tables: users' keys and settings, remote actors, their follows,
//! comments, likes and shares, blocks, the inbox's replay guard, the outbox queue and
//! the delivery queue.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{ActorId, CommentId, DeliveryId, ItemId, UserId};

/// A user's federation settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Discoverable and followable (WebFinger, actor, inbox); off answers 404/410.
    pub enabled: bool,
    /// New followers wait for the user's approval.
    pub approve_followers: bool,
    /// Earlier accounts of this user (actor URIs), published as `alsoKnownAs`.
    pub also_known_as: Vec<String>,
}

pub fn settings(conn: &Connection, user: UserId) -> Result<Settings, StoreError> {
    conn.prepare_cached(
        "SELECT federation, approve_followers, also_known_as FROM users WHERE id = :id",
    )?
    .query_row(named_params! { ":id": user.0 }, |row| {
        let aka: String = row.get(2)?;
        Ok(Settings {
            enabled: row.get(0)?,
            approve_followers: row.get(1)?,
            also_known_as: serde_json::from_str(&aka).unwrap_or_default(),
        })
    })
    .optional()?
    .ok_or(StoreError::NotFound)
}

pub fn set_settings(tx: &Transaction<'_>, user: UserId, s: &Settings) -> Result<(), StoreError> {
    let aka = serde_json::to_string(&s.also_known_as).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "UPDATE users SET federation = :on, approve_followers = :approve, also_known_as = :aka
         WHERE id = :id",
    )?
    .execute(named_params! {
        ":on": s.enabled, ":approve": s.approve_followers, ":aka": aka, ":id": user.0,
    })?;
    Ok(())
}

/// A user's key pair as stored: (private PKCS#8 PEM, public SPKI PEM).
pub fn user_key(conn: &Connection, user: UserId) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT private_pem, public_pem FROM user_keys WHERE user_id = :id")?
        .query_row(named_params! { ":id": user.0 }, |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?)
}

/// Stores a new key pair unless the user has one; answers the pair that is kept.
pub fn put_user_key(
    tx: &Transaction<'_>,
    user: UserId,
    private_pem: &str,
    public_pem: &str,
    now: DateTime<Utc>,
) -> Result<(String, String), StoreError> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO user_keys (user_id, private_pem, public_pem, created_at)
         VALUES (:id, :private, :public, :now)",
    )?
    .execute(named_params! {
        ":id": user.0, ":private": private_pem, ":public": public_pem, ":now": to_ms(now),
    })?;
    user_key(tx, user)?.ok_or(StoreError::NotFound)
}

/// A remote account as we know it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<ActorId>,
    pub uri: String,
    /// Authority of `uri`, lower case (`host` or `host:port`).
    pub host: String,
    /// `user@host`, when known.
    pub handle: String,
    /// Plain text.
    pub name: String,
    pub url: Option<String>,
    pub icon_url: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: Option<String>,
    pub public_key_pem: Option<String>,
    pub also_known_as: Vec<String>,
    pub moved_to: Option<String>,
    pub fetched_at: DateTime<Utc>,
}

const ACTOR_COLUMNS: &str = "id, uri, host, handle, name, url, icon_url, inbox, shared_inbox,
    key_id, public_key_pem, also_known_as, moved_to, fetched_at";

fn actor_from_row(row: &Row<'_>) -> rusqlite::Result<Actor> {
    let aka: String = row.get(11)?;
    Ok(Actor {
        id: Some(ActorId(row.get(0)?)),
        uri: row.get(1)?,
        host: row.get(2)?,
        handle: row.get(3)?,
        name: row.get(4)?,
        url: row.get(5)?,
        icon_url: row.get(6)?,
        inbox: row.get(7)?,
        shared_inbox: row.get(8)?,
        key_id: row.get(9)?,
        public_key_pem: row.get(10)?,
        also_known_as: serde_json::from_str(&aka).unwrap_or_default(),
        moved_to: row.get(12)?,
        fetched_at: from_ms(row.get(13)?),
    })
}

/// Inserts or refreshes an actor by its URI; answers its row id.
pub fn put_actor(tx: &Transaction<'_>, actor: &Actor) -> Result<ActorId, StoreError> {
    let aka = serde_json::to_string(&actor.also_known_as).unwrap_or_else(|_| "[]".into());
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO actors (uri, host, domain, handle, name, url, icon_url, inbox,
                shared_inbox, key_id, public_key_pem, also_known_as, moved_to, fetched_at)
             VALUES (:uri, :host, :domain, :handle, :name, :url, :icon, :inbox, :shared,
                :key_id, :pem, :aka, :moved, :now)
             ON CONFLICT (uri) DO UPDATE SET host = excluded.host, domain = excluded.domain,
                handle = CASE WHEN excluded.handle = '' THEN handle ELSE excluded.handle END,
                name = excluded.name, url = excluded.url, icon_url = excluded.icon_url,
                inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
                key_id = excluded.key_id, public_key_pem = excluded.public_key_pem,
                also_known_as = excluded.also_known_as, moved_to = excluded.moved_to,
                fetched_at = excluded.fetched_at, deleted_at = NULL
             RETURNING id",
        )?
        .query_row(
            named_params! {
                ":uri": actor.uri, ":host": actor.host, ":domain": domain_of(&actor.uri),
                ":handle": actor.handle,
                ":name": actor.name, ":url": actor.url, ":icon": actor.icon_url,
                ":inbox": actor.inbox, ":shared": actor.shared_inbox, ":key_id": actor.key_id,
                ":pem": actor.public_key_pem, ":aka": aka, ":moved": actor.moved_to,
                ":now": to_ms(actor.fetched_at),
            },
            |row| row.get(0),
        )?;
    Ok(ActorId(id))
}

pub fn actor_by_uri(conn: &Connection, uri: &str) -> Result<Option<Actor>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACTOR_COLUMNS} FROM actors WHERE uri = :uri AND deleted_at IS NULL"
        ))?
        .query_row(named_params! { ":uri": uri }, actor_from_row)
        .optional()?)
}

pub fn actor_by_key_id(conn: &Connection, key_id: &str) -> Result<Option<Actor>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACTOR_COLUMNS} FROM actors WHERE key_id = :key AND deleted_at IS NULL
             ORDER BY fetched_at DESC LIMIT 1"
        ))?
        .query_row(named_params! { ":key": key_id }, actor_from_row)
        .optional()?)
}

/// A remote actor deleted itself: its follows, likes and shares go, its comments too.
pub fn delete_actor(
    tx: &Transaction<'_>,
    uri: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(id) = tx
        .prepare_cached("SELECT id FROM actors WHERE uri = :uri")?
        .query_row(named_params! { ":uri": uri }, |row| row.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(false);
    };
    for sql in [
        "DELETE FROM remote_followers WHERE actor_id = :id",
        "DELETE FROM remote_likes WHERE actor_id = :id",
        "DELETE FROM remote_shares WHERE actor_id = :id",
        "UPDATE comments SET parent_id = NULL
         WHERE parent_id IN (SELECT id FROM comments WHERE actor_id = :id)",
        "DELETE FROM comments WHERE actor_id = :id",
    ] {
        tx.prepare_cached(sql)?
            .execute(named_params! { ":id": id })?;
    }
    tx.prepare_cached("UPDATE actors SET deleted_at = :now, public_key_pem = NULL WHERE id = :id")?
        .execute(named_params! { ":id": id, ":now": to_ms(now) })?;
    Ok(true)
}

/// A follower and where the follow stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follower {
    pub actor: Actor,
    pub follow_uri: String,
    pub accepted: bool,
    pub since: DateTime<Utc>,
}

/// Records a follow (or refreshes its id); answers whether it is accepted.
pub fn put_follower(
    tx: &Transaction<'_>,
    user: UserId,
    actor: ActorId,
    follow_uri: &str,
    accepted: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let state: String = tx
        .prepare_cached(
            "INSERT INTO remote_followers (user_id, actor_id, follow_uri, state, created_at)
             VALUES (:user, :actor, :follow, :state, :now)
             ON CONFLICT (user_id, actor_id) DO UPDATE SET follow_uri = excluded.follow_uri
             RETURNING state",
        )?
        .query_row(
            named_params! {
                ":user": user.0, ":actor": actor.0, ":follow": follow_uri,
                ":state": if accepted { "accepted" } else { "pending" }, ":now": to_ms(now),
            },
            |row| row.get(0),
        )?;
    Ok(state == "accepted")
}

/// Accepts a pending follower; answers the Follow's id when there was one.
pub fn accept_follower(
    tx: &Transaction<'_>,
    user: UserId,
    actor: ActorId,
) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE remote_followers SET state = 'accepted'
             WHERE user_id = :user AND actor_id = :actor RETURNING follow_uri",
        )?
        .query_row(
            named_params! { ":user": user.0, ":actor": actor.0 },
            |row| row.get(0),
        )
        .optional()?)
}

/// Removes a follower (an Undo, a refusal or the user's removal); answers the Follow's id.
pub fn remove_follower(
    tx: &Transaction<'_>,
    user: UserId,
    actor: ActorId,
) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM remote_followers WHERE user_id = :user AND actor_id = :actor
             RETURNING follow_uri",
        )?
        .query_row(
            named_params! { ":user": user.0, ":actor": actor.0 },
            |row| row.get(0),
        )
        .optional()?)
}

/// A user's followers, accepted and pending, newest first.
pub fn followers(conn: &Connection, user: UserId) -> Result<Vec<Follower>, StoreError> {
    let columns = ACTOR_COLUMNS
        .split(',')
        .map(|c| format!("a.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {columns}, f.follow_uri, f.state, f.created_at
         FROM remote_followers f JOIN actors a ON a.id = f.actor_id
         WHERE f.user_id = :user ORDER BY f.created_at DESC, a.id DESC"
    ))?;
    let rows = stmt
        .query_map(named_params! { ":user": user.0 }, |row| {
            let state: String = row.get(15)?;
            Ok(Follower {
                actor: actor_from_row(row)?,
                follow_uri: row.get(14)?,
                accepted: state == "accepted",
                since: from_ms(row.get(16)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The number of accepted remote followers.
pub fn n_followers(conn: &Connection, user: UserId) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM remote_followers WHERE user_id = :user AND state = 'accepted'",
        )?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))?;
    Ok(n as u64)
}

/// The inboxes a user's activity goes to: each accepted follower's shared inbox (or its
/// own), once each, leaving out blocked accounts and domains (dead hosts are left out
/// when the deliveries are queued, `queue_activity`).
pub fn follower_inboxes(conn: &Connection, user: UserId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT coalesce(a.shared_inbox, a.inbox)
         FROM remote_followers f JOIN actors a ON a.id = f.actor_id
         WHERE f.user_id = :user AND f.state = 'accepted' AND a.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id IN (0, :user)
                AND ((b.kind = 'actor' AND b.target = a.uri)
                  OR (b.kind = 'domain' AND {})))",
        domain_blocked_by("a.domain", "b.target")
    ))?;
    let rows = stmt
        .query_map(named_params! { ":user": user.0 }, |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(rows)
}

/// A block: of an actor (`Actor`, its URI) or a domain (`Domain`, a host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Actor(String),
    Domain(String),
}

impl Block {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Block::Actor(uri) => ("actor", uri),
            Block::Domain(host) => ("domain", host),
        }
    }
}

/// Whose block list: a user's, or the instance's (`None`).
fn owner(user: Option<UserId>) -> i64 {
    user.map_or(0, |u| u.0)
}

pub fn add_block(
    tx: &Transaction<'_>,
    user: Option<UserId>,
    block: &Block,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (kind, target) = block.parts();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO blocks (user_id, kind, target, created_at)
         VALUES (:user, :kind, :target, :now)",
    )?
    .execute(named_params! {
        ":user": owner(user), ":kind": kind, ":target": target, ":now": to_ms(now),
    })?;
    // A blocked account stops following; a blocked domain's accounts too.
    let sql = match block {
        Block::Actor(_) => {
            "DELETE FROM remote_followers WHERE (:user = 0 OR user_id = :user)
             AND actor_id IN (SELECT id FROM actors WHERE uri = :target)"
        }
        Block::Domain(_) => &format!(
            "DELETE FROM remote_followers WHERE (:user = 0 OR user_id = :user)
             AND actor_id IN (SELECT id FROM actors WHERE {})",
            domain_blocked_by("domain", ":target")
        ),
    };
    tx.prepare_cached(sql)?
        .execute(named_params! { ":user": owner(user), ":target": target })?;
    Ok(())
}

pub fn remove_block(
    tx: &Transaction<'_>,
    user: Option<UserId>,
    block: &Block,
) -> Result<(), StoreError> {
    let (kind, target) = block.parts();
    tx.prepare_cached(
        "DELETE FROM blocks WHERE user_id = :user AND kind = :kind AND target = :target",
    )?
    .execute(named_params! { ":user": owner(user), ":kind": kind, ":target": target })?;
    Ok(())
}

pub fn blocks(conn: &Connection, user: Option<UserId>) -> Result<Vec<Block>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, target FROM blocks WHERE user_id = :user ORDER BY kind, target",
    )?;
    let rows = stmt
        .query_map(named_params! { ":user": owner(user) }, |row| {
            let kind: String = row.get(0)?;
            let target: String = row.get(1)?;
            Ok(if kind == "domain" {
                Block::Domain(target)
            } else {
                Block::Actor(target)
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether `actor_uri` is blocked by the instance or, when given, by `user`: the account
/// itself, or its domain or a parent domain of it.
pub fn is_blocked(
    conn: &Connection,
    user: Option<UserId>,
    actor_uri: &str,
) -> Result<bool, StoreError> {
    let domain = domain_of(actor_uri);
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id IN (0, :user)
                AND ((kind = 'actor' AND target = :uri) OR (kind = 'domain' AND {})))",
            domain_blocked_by(":domain", "target")
        ))?
        .query_row(
            named_params! { ":user": owner(user), ":uri": actor_uri, ":domain": domain },
            |row| row.get(0),
        )?)
}

/// SQL: the host name `domain` is the blocked domain `target` or a subdomain of it.
fn domain_blocked_by(domain: &str, target: &str) -> String {
    format!("({target} = {domain} OR substr({domain}, -length({target}) - 1) = '.' || {target})")
}

/// The host name of a URL, lower case, without port ("" when it has none).
pub fn domain_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        })
        .unwrap_or_default()
}

/// A comment from the fediverse, as the inbox stores it.
pub struct RemoteComment<'a> {
    pub item: ItemId,
    pub actor: ActorId,
    /// The Note's id.
    pub uri: &'a str,
    pub parent: Option<CommentId>,
    /// Plain text of the note.
    pub text: &'a str,
    /// The note's HTML after `normalize::sanitize`.
    pub html: &'a str,
    pub published: DateTime<Utc>,
}

/// Stores a remote comment, or refreshes it when its id is known (an `Update`, or the
/// same `Create` delivered twice); answers its id and whether it is new.
pub fn put_remote_comment(
    tx: &Transaction<'_>,
    c: &RemoteComment<'_>,
    now: DateTime<Utc>,
) -> Result<(CommentId, bool), StoreError> {
    let known: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, actor_id FROM comments WHERE ap_uri = :uri")?
        .query_row(named_params! { ":uri": c.uri }, |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    if let Some((id, actor)) = known {
        // Only its author may change a comment.
        if actor != c.actor.0 {
            return Err(StoreError::Conflict(format!(
                "{} belongs to another account",
                c.uri
            )));
        }
        tx.prepare_cached(
            "UPDATE comments SET body = :text, body_html = :html, edited_at = :now WHERE id = :id",
        )?
        .execute(
            named_params! { ":text": c.text, ":html": c.html, ":now": to_ms(now), ":id": id },
        )?;
        return Ok((CommentId(id), false));
    }
    tx.prepare_cached(
        "INSERT INTO comments (item_id, actor_id, ap_uri, parent_id, body, body_html, created_at)
         VALUES (:item, :actor, :uri, :parent, :text, :html, :published)",
    )?
    .execute(named_params! {
        ":item": c.item.0, ":actor": c.actor.0, ":uri": c.uri,
        ":parent": c.parent.map(|p| p.0), ":text": c.text, ":html": c.html,
        ":published": to_ms(c.published),
    })?;
    Ok((CommentId(tx.last_insert_rowid()), true))
}

/// A remote comment's row by its Note id: (comment, item).
pub fn comment_by_uri(
    conn: &Connection,
    uri: &str,
) -> Result<Option<(CommentId, ItemId)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT id, item_id FROM comments WHERE ap_uri = :uri")?
        .query_row(named_params! { ":uri": uri }, |row| {
            Ok((CommentId(row.get(0)?), ItemId(row.get(1)?)))
        })
        .optional()?)
}

/// Deletes a remote comment by its Note id, when `actor` wrote it. Replies to it stay,
/// answering nothing.
pub fn delete_remote_comment(
    tx: &Transaction<'_>,
    uri: &str,
    actor: ActorId,
) -> Result<bool, StoreError> {
    let Some(id) = tx
        .prepare_cached("SELECT id FROM comments WHERE ap_uri = :uri AND actor_id = :actor")?
        .query_row(named_params! { ":uri": uri, ":actor": actor.0 }, |row| {
            row.get::<_, i64>(0)
        })
        .optional()?
    else {
        return Ok(false);
    };
    tx.prepare_cached("UPDATE comments SET parent_id = NULL WHERE parent_id = :id")?
        .execute(named_params! { ":id": id })?;
    tx.prepare_cached("DELETE FROM comments WHERE id = :id")?
        .execute(named_params! { ":id": id })?;
    Ok(true)
}

/// Which table a remote reaction goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    Like,
    Share,
}

impl Reaction {
    fn table(self) -> &'static str {
        match self {
            Reaction::Like => "remote_likes",
            Reaction::Share => "remote_shares",
        }
    }
}

/// A remote like or share; twice is once. True when new.
pub fn put_reaction(
    tx: &Transaction<'_>,
    reaction: Reaction,
    item: ItemId,
    actor: ActorId,
    activity_uri: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(&format!(
            "INSERT INTO {} (item_id, actor_id, activity_uri, created_at)
             VALUES (:item, :actor, :uri, :now) ON CONFLICT (item_id, actor_id) DO NOTHING",
            reaction.table()
        ))?
        .execute(named_params! {
            ":item": item.0, ":actor": actor.0, ":uri": activity_uri, ":now": to_ms(now),
        })?;
    Ok(n > 0)
}

/// Takes a remote like or share back, by the activity's id or, when the Undo names only
/// the object, by item. True when one went.
pub fn remove_reaction(
    tx: &Transaction<'_>,
    reaction: Reaction,
    actor: ActorId,
    activity_uri: Option<&str>,
    item: Option<ItemId>,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(&format!(
            "DELETE FROM {} WHERE actor_id = :actor
             AND (activity_uri = :uri OR item_id = :item)",
            reaction.table()
        ))?
        .execute(named_params! {
            ":actor": actor.0, ":uri": activity_uri, ":item": item.map(|i| i.0),
        })?;
    Ok(n > 0)
}

/// Remote shares of an item.
pub fn n_shares(conn: &Connection, item: ItemId) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM remote_shares WHERE item_id = :item")?
        .query_row(named_params! { ":item": item.0 }, |row| row.get(0))?;
    Ok(n as u64)
}

/// Remembers an activity id; false when it was seen before (a replay).
pub fn first_sighting(
    tx: &Transaction<'_>,
    activity_uri: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "INSERT INTO inbox_seen (activity_uri, received_at) VALUES (:uri, :now)
             ON CONFLICT (activity_uri) DO NOTHING",
        )?
        .execute(named_params! { ":uri": activity_uri, ":now": to_ms(now) })?;
    Ok(n > 0)
}

/// Forgets activity ids older than `before` (a replay that old fails its Date check).
pub fn prune_seen(tx: &Transaction<'_>, before: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(tx
        .prepare_cached("DELETE FROM inbox_seen WHERE received_at < :before")?
        .execute(named_params! { ":before": to_ms(before) })?)
}

/// What waits in the outbox queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Create,
    Update,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Verb {
        match s {
            "update" => Verb::Update,
            "delete" => Verb::Delete,
            _ => Verb::Create,
        }
    }
}

/// Queues items for the fan-out when their owner federates and has followers (else
/// there is nobody to tell, and nothing is written). Runs in the caller's transaction.
pub fn queue_items(
    tx: &Transaction<'_>,
    user: UserId,
    items: &[ItemId],
    verb: Verb,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if items.is_empty() {
        return Ok(0);
    }
    let wanted: bool = tx
        .prepare_cached(
            "SELECT u.federation AND EXISTS (SELECT 1 FROM remote_followers f
                WHERE f.user_id = u.id AND f.state = 'accepted')
             FROM users u WHERE u.id = :user",
        )?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))
        .optional()?
        .unwrap_or(false);
    if !wanted {
        return Ok(0);
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO outbox_queue (item_id, verb, created_at) VALUES (:item, :verb, :now)",
    )?;
    for item in items {
        insert.execute(named_params! {
            ":item": item.0, ":verb": verb.as_str(), ":now": to_ms(now),
        })?;
    }
    Ok(items.len())
}

/// The oldest entries of the outbox queue: (entry id, item, verb).
pub fn outbox_queue(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<(i64, ItemId, Verb)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, item_id, verb FROM outbox_queue ORDER BY id LIMIT :limit")?;
    let rows = stmt
        .query_map(named_params! { ":limit": limit as i64 }, |row| {
            let verb: String = row.get(2)?;
            Ok((row.get(0)?, ItemId(row.get(1)?), Verb::parse(&verb)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn drop_outbox_entry(tx: &Transaction<'_>, entry: i64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM outbox_queue WHERE id = :id")?
        .execute(named_params! { ":id": entry })?;
    Ok(())
}

/// Stores an outgoing activity and one delivery per inbox (due now), leaving out hosts
/// marked dead. An activity stored before (same id) is not queued twice. Answers the
/// number of deliveries queued.
pub fn queue_activity(
    tx: &Transaction<'_>,
    user: UserId,
    uri: &str,
    body: &str,
    inboxes: &[String],
    dead_after: chrono::TimeDelta,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO activities (user_id, uri, body, created_at) VALUES (:user, :uri, :body, :now)
             ON CONFLICT (uri) DO NOTHING",
        )?
        .execute(named_params! { ":user": user.0, ":uri": uri, ":body": body, ":now": to_ms(now) })?;
    if inserted == 0 {
        return Ok(0);
    }
    let activity = tx.last_insert_rowid();
    let mut insert = tx.prepare_cached(
        "INSERT INTO deliveries (activity_id, inbox, host, next_try_at, created_at)
         VALUES (:activity, :inbox, :host, :now, :now) ON CONFLICT DO NOTHING",
    )?;
    let mut n = 0;
    for inbox in inboxes {
        let host = host_of(inbox);
        if host_dead(tx, &host, now - dead_after)? {
            continue;
        }
        n += insert.execute(named_params! {
            ":activity": activity, ":inbox": inbox, ":host": host, ":now": to_ms(now),
        })?;
    }
    Ok(n)
}

/// The authority of a URL, lower case ("" when it has none).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_default()
}

/// A delivery claimed for one try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub user: UserId,
    pub user_name: String,
    pub inbox: String,
    pub host: String,
    pub body: String,
    pub tries: u32,
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` due deliveries for `lease`: nobody else takes them until it runs
/// out (a process that dies mid-try leaves them to be tried again).
pub fn claim_deliveries(
    tx: &Transaction<'_>,
    limit: usize,
    lease: chrono::TimeDelta,
    now: DateTime<Utc>,
) -> Result<Vec<Delivery>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE deliveries SET lease_until = :until
         WHERE id IN (SELECT id FROM deliveries
                      WHERE next_try_at <= :now AND lease_until <= :now
                      ORDER BY next_try_at, id LIMIT :limit)
         RETURNING id",
    )?;
    let ids = stmt
        .query_map(
            named_params! {
                ":until": to_ms(now + lease), ":now": to_ms(now), ":limit": limit as i64,
            },
            |row| row.get::<_, i64>(0),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let mut read = tx.prepare_cached(
        "SELECT d.id, a.user_id, u.name, d.inbox, d.host, a.body, d.tries, d.created_at
         FROM deliveries d JOIN activities a ON a.id = d.activity_id
         JOIN users u ON u.id = a.user_id WHERE d.id = :id",
    )?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(read.query_row(named_params! { ":id": id }, |row| {
            Ok(Delivery {
                id: DeliveryId(row.get(0)?),
                user: UserId(row.get(1)?),
                user_name: row.get(2)?,
                inbox: row.get(3)?,
                host: row.get(4)?,
                body: row.get(5)?,
                tries: row.get::<_, i64>(6)? as u32,
                created_at: from_ms(row.get(7)?),
            })
        })?);
    }
    Ok(out)
}

/// When the next delivery is due (none: `None`).
pub fn next_delivery_at(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let at: Option<i64> = conn
        .prepare_cached("SELECT min(max(next_try_at, lease_until)) FROM deliveries")?
        .query_row([], |row| row.get(0))?;
    Ok(at.map(from_ms))
}

/// A delivery arrived (or is given up): its row goes, and its activity when it was the
/// last one. A success clears the host's failure mark.
pub fn finish_delivery(
    tx: &Transaction<'_>,
    id: DeliveryId,
    host: &str,
    delivered: bool,
) -> Result<(), StoreError> {
    let activity: Option<i64> = tx
        .prepare_cached("DELETE FROM deliveries WHERE id = :id RETURNING activity_id")?
        .query_row(named_params! { ":id": id.0 }, |row| row.get(0))
        .optional()?;
    if let Some(activity) = activity {
        tx.prepare_cached(
            "DELETE FROM activities WHERE id = :activity
             AND NOT EXISTS (SELECT 1 FROM deliveries WHERE activity_id = :activity)",
        )?
        .execute(named_params! { ":activity": activity })?;
    }
    if delivered {
        host_answered(tx, host)?;
    }
    Ok(())
}

/// A host answered (a delivery went through, or it sent us an activity).
pub fn host_answered(tx: &Transaction<'_>, host: &str) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM delivery_hosts WHERE host = :host")?
        .execute(named_params! { ":host": host })?;
    Ok(())
}

/// A try failed: the delivery waits until `next_try_at`, and the host's run of failures
/// goes on (or starts).
pub fn retry_delivery(
    tx: &Transaction<'_>,
    id: DeliveryId,
    host: &str,
    next_try_at: DateTime<Utc>,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE deliveries SET tries = tries + 1, next_try_at = :next, lease_until = 0,
            last_error = :error WHERE id = :id",
    )?
    .execute(named_params! { ":id": id.0, ":next": to_ms(next_try_at), ":error": error })?;
    tx.prepare_cached(
        "INSERT INTO delivery_hosts (host, failing_since, last_error) VALUES (:host, :now, :error)
         ON CONFLICT (host) DO UPDATE SET last_error = excluded.last_error",
    )?
    .execute(named_params! { ":host": host, ":now": to_ms(now), ":error": error })?;
    Ok(())
}

/// Whether `host` has failed every delivery since before `since`.
pub fn host_dead(conn: &Connection, host: &str, since: DateTime<Utc>) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM delivery_hosts WHERE host = :host AND failing_since < :since)",
        )?
        .query_row(named_params! { ":host": host, ":since": to_ms(since) }, |row| row.get(0))?)
}

/// Counts for the admin: deliveries waiting, of which failed at least once.
pub fn queue_counts(conn: &Connection) -> Result<(u64, u64), StoreError> {
    let (n, failed): (i64, i64) = conn
        .prepare_cached("SELECT count(*), count(*) FILTER (WHERE tries > 0) FROM deliveries")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok((n as u64, failed as u64))
}

/// The local users an actor follows (accepted follows).
pub fn followed_by(conn: &Connection, actor: ActorId) -> Result<Vec<UserId>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id FROM remote_followers WHERE actor_id = :actor AND state = 'accepted'",
    )?;
    let users = stmt
        .query_map(named_params! { ":actor": actor.0 }, |row| {
            Ok(UserId(row.get(0)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

/// The remote comments on an item, oldest first: (the Note's id, its author's id, the
/// author's inbox).
pub fn remote_thread(
    conn: &Connection,
    item: ItemId,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.ap_uri, a.uri, a.inbox FROM comments c JOIN actors a ON a.id = c.actor_id
         WHERE c.item_id = :item AND c.ap_uri IS NOT NULL AND a.deleted_at IS NULL
         ORDER BY c.created_at, c.id",
    )?;
    let rows = stmt
        .query_map(named_params! { ":item": item.0 }, |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
