//! Deletions carried over from upstream (migration 0010): items a source's origin reports
//! deleted leave the stream as tombstones (the row stays, so comments and likes are kept,
//! and a later poll cannot bring the item back), or, for a source that keeps deleted
//! items, stay marked `deleted_upstream_at`. And the re-check bookkeeping: which recent
//! items ingest asks the origin about next.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, to_ms};
use crate::model::{ItemId, SourceId};

/// Carries over the deletion of `external_ids` of `source`: tombstones them, or marks them
/// when the source keeps deleted items. An id not stored yet gets a tombstone too (unless
/// kept), so an older page listing it later does not bring it in. Returns the stored
/// items that left the stream or were marked.
pub fn carry_over(
    tx: &Transaction<'_>,
    source: SourceId,
    external_ids: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<ItemId>, StoreError> {
    if external_ids.is_empty() {
        return Ok(Vec::new());
    }
    let keep: bool = tx
        .prepare_cached("SELECT keep_deleted FROM sources WHERE id = :id")?
        .query_row(named_params! { ":id": source.0 }, |row| row.get(0))?;
    let mut changed = Vec::new();
    for external_id in external_ids {
        let found: Option<(i64, bool, bool)> = tx
            .prepare_cached(
                "SELECT i.id, i.deleted_upstream_at IS NOT NULL,
                        EXISTS (SELECT 1 FROM item_tombstones t
                                WHERE t.source_id = i.source_id AND t.external_id = i.external_id)
                 FROM items i WHERE i.source_id = :source AND i.external_id = :external_id",
            )?
            .query_row(
                named_params! { ":source": source.0, ":external_id": external_id },
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        match found {
            Some((_, _, true)) => {}
            Some((_, true, false)) if keep => {}
            Some((id, _, false)) if keep => {
                tx.prepare_cached("UPDATE items SET deleted_upstream_at = :now WHERE id = :id")?
                    .execute(named_params! { ":id": id, ":now": to_ms(now) })?;
                changed.push(ItemId(id));
            }
            Some((id, _, false)) => {
                super::items::tombstone(tx, ItemId(id), now)?;
                changed.push(ItemId(id));
            }
            None if keep => {}
            None => {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO item_tombstones (source_id, external_id, deleted_at)
                     VALUES (:source, :external_id, :now)",
                )?
                .execute(named_params! {
                    ":source": source.0, ":external_id": external_id, ":now": to_ms(now),
                })?;
            }
        }
    }
    Ok(changed)
}

/// One item a re-check asks about.
#[derive(Clone, Debug, PartialEq)]
pub struct RecheckDue {
    pub id: ItemId,
    pub external_id: String,
    pub url: Option<String>,
}

/// Up to `limit` items of `source` published since `since`, still shown and not marked,
/// neither fetched nor asked about since `asked_before` (the longest ago first).
pub fn due_rechecks(
    conn: &Connection,
    source: SourceId,
    since: DateTime<Utc>,
    asked_before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<RecheckDue>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, external_id, url FROM items
         WHERE source_id = :source AND hidden = 0 AND deleted_upstream_at IS NULL
           AND imported = 0 AND published_at >= :since
           AND coalesce(rechecked_at, fetched_at) < :asked_before
         ORDER BY coalesce(rechecked_at, fetched_at), published_at DESC
         LIMIT :limit",
    )?;
    let rows = stmt
        .query_map(
            named_params! {
                ":source": source.0, ":since": to_ms(since),
                ":asked_before": to_ms(asked_before), ":limit": limit as i64,
            },
            |row| {
                Ok(RecheckDue {
                    id: ItemId(row.get(0)?),
                    external_id: row.get(1)?,
                    url: row.get(2)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn mark_rechecked(
    tx: &Transaction<'_>,
    ids: &[ItemId],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for id in ids {
        tx.prepare_cached("UPDATE items SET rechecked_at = :now WHERE id = :id")?
            .execute(named_params! { ":id": id.0, ":now": to_ms(now) })?;
    }
    Ok(())
}

/// Sets whether a source keeps items deleted upstream.
pub fn set_keep_deleted(
    tx: &Transaction<'_>,
    source: SourceId,
    keep: bool,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE sources SET keep_deleted = :keep WHERE id = :id")?
        .execute(named_params! { ":keep": keep, ":id": source.0 })?;
    Ok(())
}

/// Whether `user` commented on or liked `item` (the people a deleted item stays
/// reachable for, with their comments).
pub fn took_part(
    conn: &Connection,
    item: ItemId,
    user: crate::model::UserId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM comments WHERE item_id = :item AND user_id = :user)
                 OR EXISTS (SELECT 1 FROM likes WHERE item_id = :item AND user_id = :user)",
        )?
        .query_row(named_params! { ":item": item.0, ":user": user.0 }, |row| {
            row.get(0)
        })?)
}
