//! The `sessions` and `invites` tables. Only SHA-256 hashes of secret tokens are stored.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{User, UserId};

pub fn create(
    tx: &Transaction<'_>,
    user: UserId,
    token_hash: &[u8],
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (:hash, :user, :csrf, :now, :expires)",
    )?
    .execute(named_params! {
        ":hash": token_hash,
        ":user": user.0,
        ":csrf": csrf_token,
        ":now": to_ms(now),
        ":expires": to_ms(expires_at),
    })?;
    // Expired sessions of anyone are removed on the way.
    tx.prepare_cached("DELETE FROM sessions WHERE expires_at < :now")?
        .execute(named_params! { ":now": to_ms(now) })?;
    Ok(())
}

/// The user and CSRF token of a live session.
pub fn lookup(
    conn: &Connection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(User, String), StoreError> {
    conn.prepare_cached(
        "SELECT u.id, u.name, u.display_name, u.is_admin, u.created_at, s.csrf_token
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = :hash AND s.expires_at > :now",
    )?
    .query_row(
        named_params! { ":hash": token_hash, ":now": to_ms(now) },
        |row| {
            Ok((
                User {
                    id: UserId(row.get(0)?),
                    name: row.get(1)?,
                    display_name: row.get(2)?,
                    is_admin: row.get(3)?,
                    created_at: from_ms(row.get(4)?),
                },
                row.get(5)?,
            ))
        },
    )
    .optional()?
    .ok_or(StoreError::NotFound)
}

pub fn delete(tx: &Transaction<'_>, token_hash: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM sessions WHERE token_hash = :hash")?
        .execute(named_params! { ":hash": token_hash })?;
    Ok(())
}

/// Logs a user out everywhere (after a password change, keeping the current session).
pub fn delete_others(
    tx: &Transaction<'_>,
    user: UserId,
    keep_token_hash: &[u8],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM sessions WHERE user_id = :user AND token_hash != :keep")?
        .execute(named_params! { ":user": user.0, ":keep": keep_token_hash })?;
    Ok(())
}

pub fn create_invite(
    tx: &Transaction<'_>,
    created_by: UserId,
    token_hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO invites (token_hash, created_by, created_at, expires_at)
         VALUES (:hash, :by, :now, :expires)",
    )?
    .execute(named_params! {
        ":hash": token_hash,
        ":by": created_by.0,
        ":now": to_ms(now),
        ":expires": to_ms(expires_at),
    })?;
    Ok(())
}

/// Whether an invitation is unused and unexpired.
pub fn invite_is_valid(
    conn: &Connection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM invites
             WHERE token_hash = :hash AND used_at IS NULL AND expires_at > :now",
        )?
        .exists(named_params! { ":hash": token_hash, ":now": to_ms(now) })?)
}

/// Marks an invitation used; `NotFound` if it was not valid (so two sign-ups with one
/// link cannot both succeed: this runs in the sign-up's transaction).
pub fn use_invite(
    tx: &Transaction<'_>,
    token_hash: &[u8],
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE invites SET used_at = :now, used_by = :user
             WHERE token_hash = :hash AND used_at IS NULL AND expires_at > :now",
        )?
        .execute(named_params! { ":hash": token_hash, ":user": user.0, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
