//! Moderation (migration 0021): reports of comments, suspending users, and the audit log
//! every moderation action writes in its own transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, from_ms, notifications, to_ms};
use crate::model::{CommentId, ItemId, User, UserId};

/// Longest report reason or moderation note, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// How many audit entries the moderation page and the CLI show.
pub const AUDIT_PAGE: usize = 100;

/// An open report, with the comment in context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    /// `None` once the comment is gone.
    pub comment_id: Option<CommentId>,
    pub item_id: Option<ItemId>,
    pub item_title: String,
    pub comment_user_id: Option<UserId>,
    pub comment_user_name: String,
    pub comment_body: String,
    pub reporter_name: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// A user with their suspension, for the moderation page's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserState {
    pub user: User,
    pub suspended_at: Option<DateTime<Utc>>,
}

/// `reporter` reports `comment`: a report row, and a notification of each admin.
pub fn report_comment(
    tx: &Transaction<'_>,
    reporter: UserId,
    comment: CommentId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let found: Option<(i64, Option<i64>, String)> = tx
        .prepare_cached("SELECT item_id, user_id, body FROM comments WHERE id = :id")?
        .query_row(named_params! { ":id": comment.0 }, |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((item, author, body)) = found else {
        return Err(StoreError::NotFound);
    };
    tx.prepare_cached(
        "INSERT INTO reports (comment_id, item_id, comment_user_id, comment_body, reporter_id,
                              reason, created_at)
         VALUES (:comment, :item, :author, :body, :reporter, :reason, :now)",
    )?
    .execute(named_params! {
        ":comment": comment.0,
        ":item": item,
        ":author": author,
        ":body": body,
        ":reporter": reporter.0,
        ":reason": reason,
        ":now": to_ms(now),
    })?;
    let id = tx.last_insert_rowid();
    let admins = admin_ids(tx)?;
    notifications::comment_reported(tx, &admins, reporter, ItemId(item), comment, now)?;
    Ok(id)
}

/// The reports no admin has acted on, oldest first.
pub fn open_reports(conn: &Connection) -> Result<Vec<Report>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.comment_id, r.item_id, coalesce(i.title, ''), r.comment_user_id,
                coalesce(cu.name, ''), r.comment_body, coalesce(ru.name, ''), r.reason,
                r.created_at
         FROM reports r
         LEFT JOIN items i ON i.id = r.item_id
         LEFT JOIN users cu ON cu.id = r.comment_user_id
         LEFT JOIN users ru ON ru.id = r.reporter_id
         WHERE r.resolved_at IS NULL ORDER BY r.id",
    )?;
    let reports = stmt
        .query_map([], |row| {
            Ok(Report {
                id: row.get(0)?,
                comment_id: row.get::<_, Option<i64>>(1)?.map(CommentId),
                item_id: row.get::<_, Option<i64>>(2)?.map(ItemId),
                item_title: row.get(3)?,
                comment_user_id: row.get::<_, Option<i64>>(4)?.map(UserId),
                comment_user_name: row.get(5)?,
                comment_body: row.get(6)?,
                reporter_name: row.get(7)?,
                reason: row.get(8)?,
                created_at: from_ms(row.get(9)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(reports)
}

/// One open report; `NotFound` when there is none with this id or it was acted on.
pub fn open_report(conn: &Connection, id: i64) -> Result<Report, StoreError> {
    open_reports(conn)?
        .into_iter()
        .find(|report| report.id == id)
        .ok_or(StoreError::NotFound)
}

/// Closes every open report of the comment `report` is about (or `report` alone when its
/// comment is gone) with `resolution`.
pub fn resolve(
    tx: &Transaction<'_>,
    report: &Report,
    resolution: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE reports SET resolved_at = :now, resolution = :resolution, resolved_by = :by
         WHERE resolved_at IS NULL AND (id = :id OR comment_id = :comment)",
    )?
    .execute(named_params! {
        ":now": to_ms(now),
        ":resolution": resolution,
        ":by": by.0,
        ":id": report.id,
        ":comment": report.comment_id.map(|c| c.0),
    })?;
    Ok(())
}

/// Suspends a user: their sessions end at once. False when they already were.
pub fn suspend(tx: &Transaction<'_>, user: UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE users SET suspended_at = :now WHERE id = :id AND suspended_at IS NULL",
        )?
        .execute(named_params! { ":id": user.0, ":now": to_ms(now) })?;
    tx.prepare_cached("DELETE FROM sessions WHERE user_id = :id")?
        .execute(named_params! { ":id": user.0 })?;
    Ok(n > 0)
}

/// Lifts a suspension. False when the user was not suspended.
pub fn unsuspend(tx: &Transaction<'_>, user: UserId) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE users SET suspended_at = NULL WHERE id = :id AND suspended_at IS NOT NULL",
        )?
        .execute(named_params! { ":id": user.0 })?;
    Ok(n > 0)
}

pub fn is_suspended(conn: &Connection, user: UserId) -> Result<bool, StoreError> {
    let at: Option<Option<i64>> = conn
        .prepare_cached("SELECT suspended_at FROM users WHERE id = :id")?
        .query_row(named_params! { ":id": user.0 }, |row| row.get(0))
        .optional()?;
    Ok(matches!(at, Some(Some(_))))
}

/// The suspended users: few, so stream pages read them whole and leave their items out.
pub fn suspended_ids(conn: &Connection) -> Result<HashSet<UserId>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM users WHERE suspended_at IS NOT NULL")?;
    let ids = stmt
        .query_map([], |row| row.get(0).map(UserId))?
        .collect::<Result<HashSet<_>, _>>()?;
    Ok(ids)
}

/// Every user with their suspension, by name.
pub fn users(conn: &Connection) -> Result<Vec<UserState>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, display_name, is_admin, created_at, suspended_at
         FROM users ORDER BY name",
    )?;
    let users = stmt
        .query_map([], |row| {
            Ok(UserState {
                user: User {
                    id: UserId(row.get(0)?),
                    name: row.get(1)?,
                    display_name: row.get(2)?,
                    is_admin: row.get(3)?,
                    created_at: from_ms(row.get(4)?),
                },
                suspended_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

/// Writes one line of the audit log.
pub fn audit(
    tx: &Transaction<'_>,
    actor: &User,
    action: &str,
    target: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_log (actor_user_id, actor_name, action, target, reason, created_at)
         VALUES (:actor, :name, :action, :target, :reason, :now)",
    )?
    .execute(named_params! {
        ":actor": actor.id.0,
        ":name": actor.name,
        ":action": action,
        ":target": target,
        ":reason": reason,
        ":now": to_ms(now),
    })?;
    Ok(())
}

/// The newest `limit` lines of the audit log, newest first.
pub fn audit_log(conn: &Connection, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, actor_name, action, target, reason, created_at
         FROM audit_log ORDER BY id DESC LIMIT :limit",
    )?;
    let entries = stmt
        .query_map(named_params! { ":limit": limit as i64 }, |row| {
            Ok(AuditEntry {
                id: row.get(0)?,
                actor_name: row.get(1)?,
                action: row.get(2)?,
                target: row.get(3)?,
                reason: row.get(4)?,
                created_at: from_ms(row.get(5)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(entries)
}

/// The admins who are not suspended.
fn admin_ids(conn: &Connection) -> Result<Vec<UserId>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM users WHERE is_admin = 1 AND suspended_at IS NULL ORDER BY id",
    )?;
    let ids = stmt
        .query_map([], |row| row.get(0).map(UserId))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}
