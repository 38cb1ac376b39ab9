//! The federation tables: users' keys and settings, remote actors, their follows,
//! comments, likes and shares, blocks, the inbox's replay guard, the outbox queue and
//! the delivery queue.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{ActorId, UserId};

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
            "INSERT INTO actors (uri, host, handle, name, url, icon_url, inbox, shared_inbox,
                key_id, public_key_pem, also_known_as, moved_to, fetched_at)
             VALUES (:uri, :host, :handle, :name, :url, :icon, :inbox, :shared, :key_id,
                :pem, :aka, :moved, :now)
             ON CONFLICT (uri) DO UPDATE SET host = excluded.host,
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
                ":uri": actor.uri, ":host": actor.host, ":handle": actor.handle,
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
/// own), once each, leaving out blocked accounts and domains and dead hosts.
pub fn follower_inboxes(conn: &Connection, user: UserId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT coalesce(a.shared_inbox, a.inbox)
         FROM remote_followers f JOIN actors a ON a.id = f.actor_id
         WHERE f.user_id = :user AND f.state = 'accepted' AND a.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id IN (0, :user)
                AND ((b.kind = 'actor' AND b.target = a.uri)
                  OR (b.kind = 'domain' AND b.target = a.host)))",
    )?;
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
        Block::Domain(_) => {
            "DELETE FROM remote_followers WHERE (:user = 0 OR user_id = :user)
             AND actor_id IN (SELECT id FROM actors WHERE host = :target)"
        }
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

/// Whether `actor_uri` (on `host`) is blocked by the instance or, when given, by `user`.
pub fn is_blocked(
    conn: &Connection,
    user: Option<UserId>,
    actor_uri: &str,
    host: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id IN (0, :user)
                AND ((kind = 'actor' AND target = :uri) OR (kind = 'domain' AND target = :host)))",
        )?
        .query_row(
            named_params! { ":user": owner(user), ":uri": actor_uri, ":host": host },
            |row| row.get(0),
        )?)
}
