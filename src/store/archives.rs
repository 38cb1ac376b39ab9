//! Platform archives (migration 0009): the `archive_imports` rows (one per run, with its
//! counters and skip reasons), the never-polled source each archive's posts live in, the
//! id map (the platform's id is the item's `external_id`; UNIQUE per source), and the
//! comments and likes by name an archive carries.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{ItemId, SourceId, UserId};

/// One run of an archive import, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRow {
    pub id: i64,
    pub user_id: UserId,
    pub source_id: Option<SourceId>,
    pub platform: String,
    pub file_name: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    pub counts: Counts,
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a run did so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Posts stored by this run.
    pub imported: u64,
    /// Posts already there (an earlier run of the same archive).
    pub present: u64,
    /// Records left out, all reasons together.
    pub skipped: u64,
    /// Media files stored.
    pub media: u64,
    /// Media named by a post but not in the archive, or refused by the media store.
    pub media_missing: u64,
    /// Reason in words → how many.
    pub reasons: BTreeMap<String, u64>,
}

pub fn start(
    tx: &Transaction<'_>,
    user: UserId,
    platform: &str,
    file_name: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO archive_imports (user_id, platform, file_name, status, started_at, updated_at)
         VALUES (:user, :platform, :file, 'running', :now, :now)",
    )?
    .execute(named_params! {
        ":user": user.0, ":platform": platform, ":file": file_name, ":now": to_ms(now),
    })?;
    Ok(tx.last_insert_rowid())
}

/// Stores a run's counters and status (and its source, once known).
pub fn put(
    tx: &Transaction<'_>,
    id: i64,
    source: Option<SourceId>,
    status: &str,
    counts: &Counts,
    message: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let reasons = serde_json::to_string(&counts.reasons)
        .map_err(|err| StoreError::Corrupt(err.to_string()))?;
    tx.prepare_cached(
        "UPDATE archive_imports SET source_id = coalesce(:source, source_id), status = :status,
             n_imported = :imported, n_present = :present, n_skipped = :skipped,
             n_media = :media, n_media_missing = :missing, skipped = :reasons,
             message = :message, updated_at = :now
         WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": id,
        ":source": source.map(|s| s.0),
        ":status": status,
        ":imported": counts.imported as i64,
        ":present": counts.present as i64,
        ":skipped": counts.skipped as i64,
        ":media": counts.media as i64,
        ":missing": counts.media_missing as i64,
        ":reasons": reasons,
        ":message": message,
        ":now": to_ms(now),
    })?;
    Ok(())
}

const IMPORT_COLUMNS: &str = "id, user_id, source_id, platform, file_name, status, n_imported,
    n_present, n_skipped, n_media, n_media_missing, skipped, message, started_at, updated_at";

fn import_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRow> {
    let reasons: String = row.get(11)?;
    Ok(ImportRow {
        id: row.get(0)?,
        user_id: UserId(row.get(1)?),
        source_id: row.get::<_, Option<i64>>(2)?.map(SourceId),
        platform: row.get(3)?,
        file_name: row.get(4)?,
        status: row.get(5)?,
        counts: Counts {
            imported: row.get::<_, i64>(6)? as u64,
            present: row.get::<_, i64>(7)? as u64,
            skipped: row.get::<_, i64>(8)? as u64,
            media: row.get::<_, i64>(9)? as u64,
            media_missing: row.get::<_, i64>(10)? as u64,
            reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        },
        message: row.get(12)?,
        started_at: from_ms(row.get(13)?),
        updated_at: from_ms(row.get(14)?),
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<ImportRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {IMPORT_COLUMNS} FROM archive_imports WHERE id = :id"
        ))?
        .query_row(named_params! { ":id": id }, import_from_row)
        .optional()?)
}

/// A user's runs, newest first.
pub fn recent(conn: &Connection, user: UserId, limit: usize) -> Result<Vec<ImportRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {IMPORT_COLUMNS} FROM archive_imports WHERE user_id = :user
         ORDER BY id DESC LIMIT :limit"
    ))?;
    let rows = stmt
        .query_map(
            named_params! { ":user": user.0, ":limit": limit as i64 },
            import_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The archive source of `user` for one platform account: found by its parameters, or
/// made (disabled, so the scheduler never polls it).
pub fn source_for(
    tx: &Transaction<'_>,
    user: UserId,
    platform: &str,
    account: &str,
    title: &str,
    now: DateTime<Utc>,
) -> Result<SourceId, StoreError> {
    let params = serde_json::json!({ "archive": platform, "account": account }).to_string();
    let existing: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM sources WHERE user_id = :user AND kind = :kind AND params = :params
             AND deleted_at IS NULL",
        )?
        .query_row(
            named_params! { ":user": user.0, ":kind": platform, ":params": params },
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
        ":user": user.0, ":kind": platform, ":params": params, ":title": title,
        ":now": to_ms(now),
    })?;
    Ok(SourceId(tx.last_insert_rowid()))
}

/// Names the archive source after the account (once the archive said whose it is).
pub fn set_title(tx: &Transaction<'_>, source: SourceId, title: &str) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE sources SET title = :title WHERE id = :id")?
        .execute(named_params! { ":title": title, ":id": source.0 })?;
    Ok(())
}

/// Whether a source holds an archive's posts (its parameters say so).
pub fn is_archive_params(params: &serde_json::Value) -> bool {
    params
        .get("archive")
        .is_some_and(serde_json::Value::is_string)
}

/// Which of `ids` (platform ids) the source already has, stored or deleted on purpose,
/// with the stored item's id (none for a tombstone).
pub fn known(
    conn: &Connection,
    source: SourceId,
    ids: &[&str],
) -> Result<HashMap<String, Option<ItemId>>, StoreError> {
    let json = serde_json::to_string(ids).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let mut stmt = conn.prepare_cached(
        // CROSS JOIN keeps the list outside: each id is one lookup in the UNIQUE index,
        // instead of the list read again for every item of the source.
        "SELECT j.value, i.id FROM json_each(:ids) j
         CROSS JOIN items i ON i.source_id = :source AND i.external_id = j.value
         UNION ALL
         SELECT j.value, NULL FROM json_each(:ids) j
         CROSS JOIN item_tombstones t ON t.source_id = :source AND t.external_id = j.value",
    )?;
    let rows = stmt
        .query_map(named_params! { ":ids": json, ":source": source.0 }, |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?.map(ItemId),
            ))
        })?
        .collect::<Result<HashMap<_, _>, _>>()?;
    Ok(rows)
}

/// The stored item and its address for a platform id of the source (a reply's parent).
pub fn item_of(
    tx: &Transaction<'_>,
    source: SourceId,
    platform_id: &str,
) -> Result<Option<(ItemId, Option<String>)>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT id, url FROM items WHERE source_id = :source AND external_id = :id",
        )?
        .query_row(
            named_params! { ":source": source.0, ":id": platform_id },
            |row| Ok((ItemId(row.get(0)?), row.get(1)?)),
        )
        .optional()?)
}

/// A comment from an archive, by name (plain text).
pub fn add_comment(
    tx: &Transaction<'_>,
    item: ItemId,
    author_name: &str,
    author_url: Option<&str>,
    body: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO comments (item_id, author_name, author_url, body, created_at)
         VALUES (:item, :name, :url, :body, :at)",
    )?
    .execute(named_params! {
        ":item": item.0, ":name": author_name, ":url": author_url, ":body": body,
        ":at": to_ms(at),
    })?;
    Ok(())
}

/// A like from an archive, by name (once per name and item).
pub fn add_like(
    tx: &Transaction<'_>,
    item: ItemId,
    author_name: &str,
    author_url: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO archived_likes (item_id, author_name, author_url, created_at)
         VALUES (:item, :name, :url, :at)",
    )?
    .execute(named_params! {
        ":item": item.0, ":name": author_name, ":url": author_url, ":at": at.map(to_ms),
    })?;
    Ok(())
}
