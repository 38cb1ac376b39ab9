//! The `sessions` and `invites` tables. Only SHA-256 hashes of secret tokens are stored.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{InviteId, User, UserId};

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
         WHERE s.token_hash = :hash AND s.expires_at > :now AND u.suspended_at IS NULL",
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
    link_nonce: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO invites (token_hash, created_by, created_at, expires_at, link_nonce)
         VALUES (:hash, :by, :now, :expires, :nonce)",
    )?
    .execute(named_params! {
        ":hash": token_hash,
        ":by": created_by.0,
        ":now": to_ms(now),
        ":expires": to_ms(expires_at),
        ":nonce": link_nonce,
    })?;
    Ok(())
}

/// What became of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteState {
    Usable,
    Used,
    Revoked,
    Expired,
}

/// An invitation as the administrators' list shows it.
#[derive(Clone, Debug)]
pub struct Invite {
    pub id: InviteId,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The name of who signed up with it.
    pub used_by: Option<String>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// What its link is derived from; `None` for invitations made before links were kept.
    pub link_nonce: Option<Vec<u8>>,
}

impl Invite {
    pub fn state(&self, now: DateTime<Utc>) -> InviteState {
        state_of(self.used_at, self.revoked_at, self.expires_at, now)
    }
}

/// A used invitation stays used, whatever happened after; then revoked, then expired.
fn state_of(
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> InviteState {
    if used_at.is_some() {
        InviteState::Used
    } else if revoked_at.is_some() {
        InviteState::Revoked
    } else if expires_at <= now {
        InviteState::Expired
    } else {
        InviteState::Usable
    }
}

/// The state of the invitation whose token hashes to `token_hash`; `NotFound` if none.
pub fn invite_state(
    conn: &Connection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<InviteState, StoreError> {
    conn.prepare_cached(
        "SELECT used_at, revoked_at, expires_at FROM invites WHERE token_hash = :hash",
    )?
    .query_row(named_params! { ":hash": token_hash }, |row| {
        Ok(state_of(
            row.get::<_, Option<i64>>(0)?.map(from_ms),
            row.get::<_, Option<i64>>(1)?.map(from_ms),
            from_ms(row.get(2)?),
            now,
        ))
    })
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// Every invitation, newest first.
pub fn list_invites(conn: &Connection) -> Result<Vec<Invite>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, c.name, i.created_at, i.expires_at, u.name, i.used_at, i.revoked_at,
            i.link_nonce
         FROM invites i
         JOIN users c ON c.id = i.created_by
         LEFT JOIN users u ON u.id = i.used_by
         ORDER BY i.created_at DESC, i.id DESC",
    )?;
    let invites = stmt
        .query_map([], |row| {
            Ok(Invite {
                id: InviteId(row.get(0)?),
                created_by: row.get(1)?,
                created_at: from_ms(row.get(2)?),
                expires_at: from_ms(row.get(3)?),
                used_by: row.get(4)?,
                used_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
                revoked_at: row.get::<_, Option<i64>>(6)?.map(from_ms),
                link_nonce: row.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(invites)
}

/// Revokes an unused invitation; `NotFound` if there is no such one left to revoke.
pub fn revoke_invite(
    tx: &Transaction<'_>,
    id: InviteId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE invites SET revoked_at = :now
             WHERE id = :id AND used_at IS NULL AND revoked_at IS NULL",
        )?
        .execute(named_params! { ":id": id.0, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
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
             WHERE token_hash = :hash AND used_at IS NULL AND revoked_at IS NULL
                AND expires_at > :now",
        )?
        .execute(named_params! { ":hash": token_hash, ":user": user.0, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
