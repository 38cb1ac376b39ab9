//! Native posts and shares (migration 0019): each user's native source (kind
//! [`NATIVE_KIND`], never polled), and the `shares` rows that tie a share item to the
//! item it shares (one share per user and original). The items themselves are written by
//! `items::upsert` like every other item.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, to_ms};
use crate::model::{ItemId, SourceId, UserId};

/// The kind of every user's native source: posts written in Tributary itself.
pub const NATIVE_KIND: &str = "tributary";

/// What the native source is called in lists and on cards.
pub const NATIVE_TITLE: &str = "Tributary";

/// Whether a source is a native one (its parameters say so): nothing to poll.
pub fn is_native_params(params: &serde_json::Value) -> bool {
    params
        .get("native")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// The user's native source, made (disabled: never polled) on first use.
pub fn native_source(
    tx: &Transaction<'_>,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<SourceId, StoreError> {
    let params = serde_json::json!({ "native": true }).to_string();
    let existing: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM sources WHERE user_id = :user AND kind = :kind AND params = :params
             AND deleted_at IS NULL",
        )?
        .query_row(
            named_params! { ":user": user.0, ":kind": NATIVE_KIND, ":params": params },
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(SourceId(id));
    }
    tx.prepare_cached(
        "INSERT INTO sources (user_id, kind, params, title, enabled, next_poll_at, created_at)
         VALUES (:user, :kind, :params, :title, 0, :now, :now)",
    )?
    .execute(named_params! {
        ":user": user.0, ":kind": NATIVE_KIND, ":params": params, ":title": NATIVE_TITLE,
        ":now": to_ms(now),
    })?;
    Ok(SourceId(tx.last_insert_rowid()))
}

/// Records that `share` (an item of `user`'s native source) shares `original`. False
/// when `user` already shares it (nothing written).
pub fn add_share(
    tx: &Transaction<'_>,
    share: ItemId,
    original: ItemId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "INSERT INTO shares (item_id, original_id, user_id, created_at)
             VALUES (:share, :original, :user, :now)
             ON CONFLICT (original_id, user_id) DO NOTHING",
        )?
        .execute(named_params! {
            ":share": share.0, ":original": original.0, ":user": user.0, ":now": to_ms(now),
        })?;
    if n > 0 {
        super::notifications::shared(tx, original, user, now)?;
    }
    Ok(n > 0)
}

/// `user`'s share of `original`, if they share it.
pub fn share_of(
    conn: &Connection,
    user: UserId,
    original: ItemId,
) -> Result<Option<ItemId>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT item_id FROM shares WHERE user_id = :user AND original_id = :original",
        )?
        .query_row(
            named_params! { ":user": user.0, ":original": original.0 },
            |row| row.get(0).map(ItemId),
        )
        .optional()?)
}

/// Forgets the share row of the share item `share` (its unread notification goes with
/// it, by the migration's trigger). True when there was one.
pub fn remove_share(tx: &Transaction<'_>, share: ItemId) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM shares WHERE item_id = :share")?
        .execute(named_params! { ":share": share.0 })?;
    Ok(n > 0)
}

/// Which of `items` `viewer` shares.
pub fn shared_by(
    conn: &Connection,
    viewer: UserId,
    items: &[ItemId],
) -> Result<HashSet<ItemId>, StoreError> {
    if items.is_empty() {
        return Ok(HashSet::new());
    }
    let ids = serde_json::to_string(&items.iter().map(|id| id.0).collect::<Vec<_>>())
        .map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT original_id FROM shares
         WHERE user_id = :user AND original_id IN (SELECT value FROM json_each(:ids))",
    )?;
    let found = stmt
        .query_map(named_params! { ":user": viewer.0, ":ids": ids }, |row| {
            row.get(0).map(ItemId)
        })?
        .collect::<Result<HashSet<_>, _>>()?;
    Ok(found)
}

/// How many local users share `item`.
pub fn n_shares_of(conn: &Connection, item: ItemId) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM shares WHERE original_id = :item")?
        .query_row(named_params! { ":item": item.0 }, |row| row.get(0))?;
    Ok(n as usize)
}
