//! Who may see what (migration `0020_visibility`): the visibility of sources and items,
//! the relation of a viewer to an owner (`social::Relation`, the one rule), the SQL
//! condition every multi-owner read of items adds, and local blocks.
//!
//! `items.visibility` is the effective visibility (the most restrictive of the item's own,
//! `own_visibility`, and its source's), kept here when either changes, so every read
//! compares one column: a one-owner read compares it with the level its viewer may see
//! (`level`), read once per page; anonymous reads of many owners ask for `= 0` alone.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::federation::{Verb, queue_items};
use super::{StoreError, to_ms};
use crate::model::{ItemId, SourceId, UserId};
use crate::social::{self, Relation, Visibility};

/// How `viewer` stands to `owner`: two follow probes and one block probe.
pub fn relation(
    conn: &Connection,
    owner: UserId,
    viewer: Option<UserId>,
) -> Result<Relation, StoreError> {
    let Some(viewer_id) = viewer else {
        return Ok(Relation::Other);
    };
    if viewer_id == owner {
        return Ok(Relation::Owner);
    }
    let (follows, followed_back, blocked): (bool, bool, bool) = conn
        .prepare_cached(
            "SELECT
                EXISTS (SELECT 1 FROM follows WHERE follower_id = :v AND followee_id = :o),
                EXISTS (SELECT 1 FROM follows WHERE follower_id = :o AND followee_id = :v),
                EXISTS (SELECT 1 FROM user_blocks
                    WHERE (blocker_id = :o AND blocked_id = :v)
                       OR (blocker_id = :v AND blocked_id = :o))",
        )?
        .query_row(named_params! { ":o": owner.0, ":v": viewer_id.0 }, |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    Ok(social::relation(
        owner,
        viewer,
        follows,
        followed_back,
        blocked,
    ))
}

/// The highest stored visibility `viewer` may see of `owner`'s items, or `None` when one
/// blocked the other.
pub fn level(
    conn: &Connection,
    owner: UserId,
    viewer: Option<UserId>,
) -> Result<Option<i64>, StoreError> {
    Ok(relation(conn, owner, viewer)?
        .max_visibility()
        .map(Visibility::as_i64))
}

/// The condition a read of many owners' items (alias `i`) adds for a viewer, with the
/// viewer bound as `:viewer` when there is one. Anonymous: public items alone, a column
/// test the indexes answer.
pub fn condition(viewer: Option<UserId>) -> &'static str {
    match viewer {
        None => " AND i.visibility = 0",
        Some(_) => {
            " AND (i.user_id = :viewer OR ((i.visibility = 0 OR (i.visibility = 1
                AND EXISTS (SELECT 1 FROM follows f
                    WHERE f.follower_id = :viewer AND f.followee_id = i.user_id)
                AND EXISTS (SELECT 1 FROM follows f
                    WHERE f.follower_id = i.user_id AND f.followee_id = :viewer)))
                AND NOT EXISTS (SELECT 1 FROM user_blocks b
                    WHERE (b.blocker_id = i.user_id AND b.blocked_id = :viewer)
                       OR (b.blocker_id = :viewer AND b.blocked_id = i.user_id))))"
        }
    }
}

/// The condition on a comment (alias `c`) with the viewer bound as `:viewer` (NULL when
/// anonymous): comments by users they blocked or who blocked them are not shown to them.
pub const COMMENT_CONDITION: &str = " AND (:viewer IS NULL OR c.user_id IS NULL
    OR NOT EXISTS (SELECT 1 FROM user_blocks b
        WHERE (b.blocker_id = c.user_id AND b.blocked_id = :viewer)
           OR (b.blocker_id = :viewer AND b.blocked_id = c.user_id)))";

/// A source's visibility.
pub fn of_source(conn: &Connection, source: SourceId) -> Result<Visibility, StoreError> {
    conn.prepare_cached("SELECT visibility FROM sources WHERE id = :id")?
        .query_row(named_params! { ":id": source.0 }, |row| row.get(0))
        .optional()?
        .map(Visibility::from_i64)
        .ok_or(StoreError::NotFound)
}

/// Sets a source's visibility and the effective visibility of its items. Items that stop
/// being public are deleted for followers elsewhere, those that become public again are
/// sent to them as new.
pub fn set_source(
    tx: &Transaction<'_>,
    source: SourceId,
    visibility: Visibility,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let owner: i64 = tx
        .prepare_cached("UPDATE sources SET visibility = :v WHERE id = :id RETURNING user_id")?
        .query_row(
            named_params! { ":id": source.0, ":v": visibility.as_i64() },
            |row| row.get(0),
        )
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let changed = tx
        .prepare_cached(
            "UPDATE items SET visibility = max(own_visibility, :v)
             WHERE source_id = :id AND visibility != max(own_visibility, :v)
             RETURNING id, visibility",
        )?
        .query_map(
            named_params! { ":id": source.0, ":v": visibility.as_i64() },
            |row| Ok((ItemId(row.get(0)?), row.get::<_, i64>(1)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    tell_followers(tx, UserId(owner), &changed, now)
}

/// Sets an item's own visibility (its effective one is also its source's).
pub fn set_item(
    tx: &Transaction<'_>,
    item: ItemId,
    visibility: Visibility,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (owner, before): (i64, i64) = tx
        .prepare_cached("SELECT user_id, visibility FROM items WHERE id = :id")?
        .query_row(named_params! { ":id": item.0 }, |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let after: i64 = tx
        .prepare_cached(
            "UPDATE items SET own_visibility = :v,
                visibility = max(:v, (SELECT visibility FROM sources WHERE id = items.source_id))
             WHERE id = :id RETURNING visibility",
        )?
        .query_row(
            named_params! { ":id": item.0, ":v": visibility.as_i64() },
            |row| row.get(0),
        )?;
    if before != after {
        tell_followers(tx, UserId(owner), &[(item, after)], now)?;
    }
    Ok(())
}

/// Queues a `Delete` for items that stopped being public and a `Create` for those that
/// became public (the outbox sends only what is public when it runs).
fn tell_followers(
    tx: &Transaction<'_>,
    owner: UserId,
    changed: &[(ItemId, i64)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (public, restricted): (Vec<_>, Vec<_>) = changed.iter().partition(|(_, v)| *v == 0);
    let ids = |list: Vec<&(ItemId, i64)>| list.into_iter().map(|(id, _)| *id).collect::<Vec<_>>();
    queue_items(tx, owner, &ids(restricted), Verb::Delete, now)?;
    queue_items(tx, owner, &ids(public), Verb::Create, now)?;
    Ok(())
}

/// `blocker` blocks `blocked`: the blocked user's follow of the blocker goes, and neither
/// sees the other's items or comments from now on. Blocking twice is the same as once.
/// The blocked user is not told.
pub fn block(
    tx: &Transaction<'_>,
    blocker: UserId,
    blocked: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO user_blocks (blocker_id, blocked_id, created_at)
         VALUES (:blocker, :blocked, :now)
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    )?
    .execute(named_params! {
        ":blocker": blocker.0, ":blocked": blocked.0, ":now": to_ms(now),
    })?;
    super::social::unfollow(tx, blocked, blocker)?;
    Ok(())
}

pub fn unblock(tx: &Transaction<'_>, blocker: UserId, blocked: UserId) -> Result<(), StoreError> {
    tx.prepare_cached(
        "DELETE FROM user_blocks WHERE blocker_id = :blocker AND blocked_id = :blocked",
    )?
    .execute(named_params! { ":blocker": blocker.0, ":blocked": blocked.0 })?;
    Ok(())
}

/// Whether `blocker` blocked `blocked` (one way).
pub fn has_blocked(
    conn: &Connection,
    blocker: UserId,
    blocked: UserId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM user_blocks WHERE blocker_id = :blocker AND blocked_id = :blocked",
        )?
        .exists(named_params! { ":blocker": blocker.0, ":blocked": blocked.0 })?)
}

/// The users `blocker` blocked, by name.
pub fn blocked_by(conn: &Connection, blocker: UserId) -> Result<Vec<(UserId, String)>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT u.id, u.name FROM user_blocks b JOIN users u ON u.id = b.blocked_id
             WHERE b.blocker_id = :blocker ORDER BY u.name",
        )?
        .query_map(named_params! { ":blocker": blocker.0 }, |row| {
            Ok((UserId(row.get(0)?), row.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
