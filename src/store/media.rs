//! The `media` and `media_owners` tables: which content-addressed files exist, their
//! sniffed type and size, and which users own them. No file IO here (`crate::media`).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, to_ms};
use crate::model::UserId;

/// A stored file's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaRow {
    /// SHA-256 of the bytes, 64 lowercase hex digits.
    pub hash: String,
    pub mime: String,
    pub size: u64,
}

/// What [`claim`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The user now owns the file (the row may have existed for another user).
    Added,
    /// The user already owned these bytes; nothing changed.
    AlreadyOwned,
    /// Owning it would take the user past the cap; nothing changed. `used` is what the
    /// user's files take now.
    OverCap { used: u64 },
}

/// Records `row` (if new) and makes `user` an owner, unless that would take the user's
/// total past `max_user_bytes`. One transaction, so two puts cannot both slip under it.
pub fn claim(
    tx: &Transaction<'_>,
    user: UserId,
    row: &MediaRow,
    max_user_bytes: u64,
    now: DateTime<Utc>,
) -> Result<Claim, StoreError> {
    let owned = tx
        .prepare_cached("SELECT 1 FROM media_owners WHERE user_id = :user AND hash = :hash")?
        .query_row(named_params! { ":user": user.0, ":hash": row.hash }, |_| {
            Ok(())
        })
        .optional()?
        .is_some();
    if owned {
        return Ok(Claim::AlreadyOwned);
    }
    let used = user_bytes(tx, user)?;
    if used.saturating_add(row.size) > max_user_bytes {
        return Ok(Claim::OverCap { used });
    }
    let size =
        i64::try_from(row.size).map_err(|_| StoreError::Conflict("file too large".into()))?;
    tx.prepare_cached(
        "INSERT INTO media (hash, mime, size, created_at) VALUES (:hash, :mime, :size, :now)
         ON CONFLICT (hash) DO NOTHING",
    )?
    .execute(named_params! {
        ":hash": row.hash,
        ":mime": row.mime,
        ":size": size,
        ":now": to_ms(now),
    })?;
    tx.prepare_cached(
        "INSERT INTO media_owners (user_id, hash, created_at) VALUES (:user, :hash, :now)",
    )?
    .execute(named_params! { ":user": user.0, ":hash": row.hash, ":now": to_ms(now) })?;
    Ok(Claim::Added)
}

/// The bytes the files `user` owns take (each file counted once per owner).
pub fn user_bytes(conn: &Connection, user: UserId) -> Result<u64, StoreError> {
    let total: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(m.size), 0) FROM media_owners o
             JOIN media m ON m.hash = o.hash WHERE o.user_id = :user",
        )?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// A stored file by its hash.
pub fn get(conn: &Connection, hash: &str) -> Result<MediaRow, StoreError> {
    conn.prepare_cached("SELECT hash, mime, size FROM media WHERE hash = :hash")?
        .query_row(named_params! { ":hash": hash }, |row| {
            Ok(MediaRow {
                hash: row.get(0)?,
                mime: row.get(1)?,
                size: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
            })
        })
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// Whether any row names `hash` (a file nobody owns may be removed from disk).
pub fn exists(conn: &Connection, hash: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM media WHERE hash = :hash")?
        .query_row(named_params! { ":hash": hash }, |_| Ok(()))
        .optional()?
        .is_some())
}

/// How many files are stored (for `export backup`'s reminder).
pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM media")?
        .query_row([], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
