//! The `sources` table and its `fetch_log`: what to poll, when, and how it went.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{Source, SourceId, UserId};

/// Rows of the fetch log kept per source; older ones are pruned.
const MAX_FETCH_LOG_ROWS: i64 = 50;

pub struct NewSource<'a> {
    pub user_id: UserId,
    pub kind: &'a str,
    pub params: &'a serde_json::Value,
    pub title: &'a str,
    pub schedule: &'a str,
}

impl<'a> NewSource<'a> {
    /// A `feed` source with `params` (`{"url": …}`), no title of its own and the default
    /// schedule.
    pub fn feed(user_id: UserId, params: &'a serde_json::Value) -> NewSource<'a> {
        NewSource {
            user_id,
            kind: "feed",
            params,
            title: "",
            schedule: "",
        }
    }
}

pub fn insert(
    tx: &Transaction<'_>,
    source: &NewSource<'_>,
    now: DateTime<Utc>,
) -> Result<SourceId, StoreError> {
    let params = source.params.to_string();
    let existing: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM sources
             WHERE user_id = :user AND kind = :kind AND params = :params AND deleted_at IS NULL",
        )?
        .query_row(
            named_params! { ":user": source.user_id.0, ":kind": source.kind, ":params": params },
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Err(StoreError::Conflict(format!(
            "this user already has that source (id {id})"
        )));
    }
    tx.prepare_cached(
        "INSERT INTO sources (user_id, kind, params, title, schedule, next_poll_at, created_at)
         VALUES (:user, :kind, :params, :title, :schedule, :now, :now)",
    )?
    .execute(named_params! {
        ":user": source.user_id.0,
        ":kind": source.kind,
        ":params": params,
        ":title": source.title,
        ":schedule": source.schedule,
        ":now": to_ms(now),
    })?;
    Ok(SourceId(tx.last_insert_rowid()))
}

const COLUMNS: &str = "s.id, s.user_id, u.name, s.kind, s.params, s.title, s.schedule, s.enabled,
    s.etag, s.last_modified, s.cursor, s.next_poll_at, s.last_polled_at, s.last_success_at,
    s.failure_count, s.last_error, s.created_at,
    (SELECT count(*) FROM items i WHERE i.source_id = s.id), s.keep_deleted, s.icon_hash,
    s.icon_checked_at";

pub fn get(conn: &Connection, id: SourceId) -> Result<Source, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sources s JOIN users u ON u.id = s.user_id
         WHERE s.id = :id AND s.deleted_at IS NULL"
    ))?
    .query_row(named_params! { ":id": id.0 }, from_row)
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// Live sources, of one user or of everyone, oldest first.
pub fn list(conn: &Connection, user: Option<UserId>) -> Result<Vec<Source>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sources s JOIN users u ON u.id = s.user_id
         WHERE s.deleted_at IS NULL AND (:user IS NULL OR s.user_id = :user)
         ORDER BY s.id"
    ))?;
    let sources = stmt
        .query_map(named_params! { ":user": user.map(|u| u.0) }, from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sources)
}

/// A source as a stream's filter chip names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLabel {
    pub id: SourceId,
    pub kind: String,
    /// The source's title, else its kind.
    pub title: String,
    /// Its fetched icon (a media store hash), if any.
    pub icon_hash: Option<String>,
}

/// The live sources of `user` that have visible items, oldest first: the chips above
/// their stream.
pub fn labels(conn: &Connection, user: UserId) -> Result<Vec<SourceLabel>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, title, icon_hash FROM sources
         WHERE user_id = :user AND deleted_at IS NULL AND n_visible > 0
         ORDER BY id",
    )?;
    let labels = stmt
        .query_map(named_params! { ":user": user.0 }, |row| {
            let kind: String = row.get(1)?;
            let title: String = row.get(2)?;
            Ok(SourceLabel {
                id: SourceId(row.get(0)?),
                title: if title.trim().is_empty() {
                    kind.clone()
                } else {
                    title
                },
                kind,
                icon_hash: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(labels)
}

/// Enabled sources whose time has come, most overdue first.
pub fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<SourceId>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM sources
         WHERE enabled = 1 AND deleted_at IS NULL AND next_poll_at <= :now
         ORDER BY next_poll_at LIMIT :limit",
    )?;
    let ids = stmt
        .query_map(
            named_params! { ":now": to_ms(now), ":limit": limit as i64 },
            |row| row.get(0).map(SourceId),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The earliest `next_poll_at` of any enabled source, for the scheduler's sleep.
pub fn next_due_at(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let ms: Option<i64> = conn
        .prepare_cached(
            "SELECT min(next_poll_at) FROM sources WHERE enabled = 1 AND deleted_at IS NULL",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(ms.map(from_ms))
}

/// Sources whose server asked Tributary to wait (their last fetch was refused as rate
/// limited, with or without Retry-After) and whose next attempt, which honours that
/// ask, is still ahead: source → the time it may be fetched again.
pub fn asked_to_wait(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<Vec<(SourceId, DateTime<Utc>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.next_poll_at FROM sources s
         WHERE s.deleted_at IS NULL AND s.next_poll_at > :now
           AND (SELECT f.outcome FROM fetch_log f WHERE f.source_id = s.id
                ORDER BY f.id DESC LIMIT 1) = 'rate_limited'",
    )?;
    let rows = stmt
        .query_map(named_params! { ":now": to_ms(now) }, |row| {
            Ok((SourceId(row.get(0)?), from_ms(row.get(1)?)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Soft delete: the source stops polling and its items leave the pages; comments and
/// likes on them stay in the database.
pub fn remove(tx: &Transaction<'_>, id: SourceId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE sources SET deleted_at = :now, enabled = 0
             WHERE id = :id AND deleted_at IS NULL",
        )?
        .execute(named_params! { ":id": id.0, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    // Its items leave the pages through the `deleted_at` join in every stream query; the
    // rows stay, so comments and likes on them are kept. They leave their groups, so a
    // copy of one of its posts elsewhere becomes a main.
    super::also_on::leave_source(tx, id)?;
    // A push subscription ends with it (the worker tells the hub).
    super::websub::begin_unsubscribe(tx, id, now)?;
    Ok(())
}

/// Makes a source due now ("poll now").
pub fn poll_now(tx: &Transaction<'_>, id: SourceId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE sources SET next_poll_at = :now WHERE id = :id AND deleted_at IS NULL",
        )?
        .execute(named_params! { ":id": id.0, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Changes what the owner edits: the title and the schedule (normalized; empty for the
/// default). `due_by` moves the next attempt earlier, never later, so a faster new
/// schedule takes effect without waiting out the old one.
pub fn update_settings(
    tx: &Transaction<'_>,
    id: SourceId,
    title: &str,
    schedule: &str,
    due_by: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE sources SET title = :title, schedule = :schedule,
                next_poll_at = CASE WHEN :due_by IS NOT NULL AND :due_by < next_poll_at
                                    THEN :due_by ELSE next_poll_at END
             WHERE id = :id AND deleted_at IS NULL",
        )?
        .execute(named_params! {
            ":id": id.0,
            ":title": title,
            ":schedule": schedule,
            ":due_by": due_by.map(to_ms),
        })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Turns polling of a source on or off. Turning it on makes it due now, so a source
/// disabled after a 410 is tried again at once.
pub fn set_enabled(
    tx: &Transaction<'_>,
    id: SourceId,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE sources SET enabled = :enabled,
                next_poll_at = CASE WHEN :enabled THEN :now ELSE next_poll_at END
             WHERE id = :id AND deleted_at IS NULL",
        )?
        .execute(named_params! { ":id": id.0, ":enabled": enabled, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// What a finished poll changes on its source.
pub struct PollRecord<'a> {
    pub polled_at: DateTime<Utc>,
    pub next_poll_at: DateTime<Utc>,
    /// `None` for success (clears the error and the failure count).
    pub error: Option<&'a str>,
    /// After a success: the new connector state. After a failure: left unchanged.
    pub state: Option<&'a connectors::PollState>,
    /// New parameters (a permanent redirect moved the feed).
    pub params: Option<&'a serde_json::Value>,
    /// New title learned from the document, if the source has none.
    pub title: Option<&'a str>,
    /// Turn the source off (410 Gone).
    pub disable: bool,
}

/// Records a look for the source's icon at `at`: `hash` (a media store hash) when one was
/// found; when none was, an icon found before stays.
pub fn record_icon(
    tx: &Transaction<'_>,
    id: SourceId,
    hash: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE sources SET icon_hash = coalesce(:hash, icon_hash), icon_checked_at = :at
         WHERE id = :id",
    )?
    .execute(named_params! { ":id": id.0, ":hash": hash, ":at": to_ms(at) })?;
    Ok(())
}

pub fn record_poll(
    tx: &Transaction<'_>,
    id: SourceId,
    record: &PollRecord<'_>,
) -> Result<(), StoreError> {
    let success = record.error.is_none();
    tx.prepare_cached(
        "UPDATE sources SET
            next_poll_at = :next,
            last_polled_at = :polled,
            last_success_at = CASE WHEN :success THEN :polled ELSE last_success_at END,
            failure_count = CASE WHEN :success THEN 0 ELSE failure_count + 1 END,
            last_error = :error,
            enabled = CASE WHEN :disable THEN 0 ELSE enabled END
         WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": id.0,
        ":next": to_ms(record.next_poll_at),
        ":polled": to_ms(record.polled_at),
        ":success": success,
        ":error": record.error,
        ":disable": record.disable,
    })?;
    if let Some(state) = record.state {
        let cursor = state.cursor.as_ref().map(|c| c.to_string());
        tx.prepare_cached(
            "UPDATE sources SET etag = :etag, last_modified = :last_modified, cursor = :cursor
             WHERE id = :id",
        )?
        .execute(named_params! {
            ":id": id.0,
            ":etag": state.validators.etag,
            ":last_modified": state.validators.last_modified,
            ":cursor": cursor,
        })?;
    }
    if let Some(params) = record.params {
        tx.prepare_cached("UPDATE sources SET params = :params WHERE id = :id")?
            .execute(named_params! { ":id": id.0, ":params": params.to_string() })?;
    }
    if let Some(title) = record.title {
        tx.prepare_cached("UPDATE sources SET title = :title WHERE id = :id AND title = ''")?
            .execute(named_params! { ":id": id.0, ":title": title })?;
    }
    Ok(())
}

/// Moves only the next attempt of a poll that was put off (its host was busy): not a
/// poll, so the error, failure count and state stay as they were.
pub fn defer(
    tx: &Transaction<'_>,
    id: SourceId,
    next_poll_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE sources SET next_poll_at = :next WHERE id = :id")?
        .execute(named_params! { ":id": id.0, ":next": to_ms(next_poll_at) })?;
    Ok(())
}

/// Reads the failure count, for computing the back-off of the failure being recorded.
pub fn failure_count(conn: &Connection, id: SourceId) -> Result<u32, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT failure_count FROM sources WHERE id = :id")?
        .query_row(named_params! { ":id": id.0 }, |row| row.get(0))
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(n.max(0) as u32)
}

pub struct FetchLogEntry<'a> {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: &'a str,
    pub n_new: usize,
    pub n_updated: usize,
    pub message: Option<&'a str>,
}

impl<'a> FetchLogEntry<'a> {
    /// A fetch that stored no item (it failed or was put off), with its reason.
    pub fn without_items(
        started_at: DateTime<Utc>,
        duration_ms: i64,
        outcome: &'a str,
        message: &'a str,
    ) -> FetchLogEntry<'a> {
        FetchLogEntry {
            started_at,
            duration_ms,
            outcome,
            n_new: 0,
            n_updated: 0,
            message: Some(message),
        }
    }
}

pub fn log_fetch(
    tx: &Transaction<'_>,
    id: SourceId,
    entry: &FetchLogEntry<'_>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO fetch_log (source_id, started_at, duration_ms, outcome, n_new, n_updated, message)
         VALUES (:id, :started, :duration, :outcome, :n_new, :n_updated, :message)",
    )?
    .execute(named_params! {
        ":id": id.0,
        ":started": to_ms(entry.started_at),
        ":duration": entry.duration_ms,
        ":outcome": entry.outcome,
        ":n_new": entry.n_new as i64,
        ":n_updated": entry.n_updated as i64,
        ":message": entry.message,
    })?;
    // The limit is part of the statement text: a bound LIMIT made SQLite prepare the
    // statement again on every run.
    tx.prepare_cached(&format!(
        "DELETE FROM fetch_log WHERE source_id = :id AND id <=
            (SELECT id FROM fetch_log WHERE source_id = :id ORDER BY id DESC
             LIMIT 1 OFFSET {MAX_FETCH_LOG_ROWS})"
    ))?
    .execute(named_params! { ":id": id.0 })?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq)]
pub struct FetchLogRow {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub outcome: String,
    pub n_new: i64,
    pub n_updated: i64,
    pub message: Option<String>,
}

pub fn fetch_log(
    conn: &Connection,
    id: SourceId,
    limit: usize,
) -> Result<Vec<FetchLogRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT started_at, duration_ms, outcome, n_new, n_updated, message FROM fetch_log
         WHERE source_id = :id ORDER BY id DESC LIMIT :limit",
    )?;
    let rows = stmt
        .query_map(
            named_params! { ":id": id.0, ":limit": limit as i64 },
            |row| {
                Ok(FetchLogRow {
                    started_at: from_ms(row.get(0)?),
                    duration_ms: row.get(1)?,
                    outcome: row.get(2)?,
                    n_new: row.get(3)?,
                    n_updated: row.get(4)?,
                    message: row.get(5)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Source> {
    let params_text: String = row.get(4)?;
    let cursor_text: Option<String> = row.get(10)?;
    Ok(Source {
        id: SourceId(row.get(0)?),
        user_id: UserId(row.get(1)?),
        user_name: row.get(2)?,
        kind: row.get(3)?,
        // Params are written by us from a serde_json::Value; unreadable JSON would be a
        // bug, and Null makes the connector report it instead of crashing the page.
        params: serde_json::from_str(&params_text).unwrap_or(serde_json::Value::Null),
        title: row.get(5)?,
        schedule: row.get(6)?,
        enabled: row.get(7)?,
        state: connectors::PollState {
            validators: connectors::Validators {
                etag: row.get(8)?,
                last_modified: row.get(9)?,
            },
            cursor: cursor_text.and_then(|text| serde_json::from_str(&text).ok()),
        },
        next_poll_at: from_ms(row.get(11)?),
        last_polled_at: row.get::<_, Option<i64>>(12)?.map(from_ms),
        last_success_at: row.get::<_, Option<i64>>(13)?.map(from_ms),
        failure_count: row.get::<_, i64>(14)?.max(0) as u32,
        last_error: row.get(15)?,
        created_at: from_ms(row.get(16)?),
        n_items: row.get::<_, i64>(17)?.max(0) as u64,
        keep_deleted: row.get(18)?,
        icon_hash: row.get(19)?,
        icon_checked_at: row.get::<_, Option<i64>>(20)?.map(from_ms),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::store::tests::{temp_store, user_with_feed};

    #[test]
    fn fetch_log_keeps_the_newest_rows_of_each_source() {
        let (_dir, store) = temp_store();
        let (_user, source) = user_with_feed(&store, "ana");
        let start = Utc::now();
        let n_written = MAX_FETCH_LOG_ROWS + 10;
        store
            .write_blocking(move |tx| {
                for n in 0..n_written {
                    log_fetch(
                        tx,
                        source,
                        &FetchLogEntry {
                            started_at: start + Duration::seconds(n),
                            duration_ms: n,
                            outcome: "ok",
                            n_new: 0,
                            n_updated: 0,
                            message: None,
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let rows = store
            .read_blocking(move |conn| fetch_log(conn, source, 1000))
            .unwrap();
        assert_eq!(rows.len() as i64, MAX_FETCH_LOG_ROWS);
        let mut kept: Vec<i64> = rows.iter().map(|row| row.duration_ms).collect();
        kept.sort_unstable();
        assert_eq!(kept, (10..n_written).collect::<Vec<i64>>());
    }
}
