//! The `history_walks` table: per source, where the walk back through older pages
//! stands (the next page, pages done, items added, status and page budget), and the
//! `imported` mark on the items a walk stored.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{ItemId, SourceId};

/// Pages one walk fetches unless the user gives another budget.
pub const DEFAULT_PAGE_BUDGET: u32 = 100;

/// Where a source's history walk stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    /// Reached the oldest page.
    Done,
    /// Stopped at the page budget; a run with a larger budget continues.
    Budget,
    /// Stopped by an error; a new run continues from the same page.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Done => "done",
            Status::Budget => "budget",
            Status::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Status {
        match text {
            "running" => Status::Running,
            "done" => Status::Done,
            "budget" => Status::Budget,
            _ => Status::Failed,
        }
    }
}

/// A source's history walk, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    pub source_id: SourceId,
    /// The connector's next older page; `None` before the first page or after the end.
    pub next_page: Option<serde_json::Value>,
    pub pages_done: u64,
    pub items_added: u64,
    pub status: Status,
    pub message: Option<String>,
    pub page_budget: u32,
    pub updated_at: DateTime<Utc>,
}

impl Walk {
    /// "page 14, 1,380 items so far".
    pub fn in_words(&self) -> String {
        format!(
            "page {}, {} items so far",
            thousands(self.pages_done),
            thousands(self.items_added)
        )
    }
}

/// `1380` as "1,380".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn get(conn: &Connection, source: SourceId) -> Result<Option<Walk>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT next_page, pages_done, items_added, status, message, page_budget, updated_at
             FROM history_walks WHERE source_id = ?1",
            [source.0],
            |row| {
                let next_page: Option<String> = row.get(0)?;
                let status: String = row.get(3)?;
                Ok(Walk {
                    source_id: source,
                    next_page: next_page.and_then(|text| serde_json::from_str(&text).ok()),
                    pages_done: row.get::<_, i64>(1)?.max(0) as u64,
                    items_added: row.get::<_, i64>(2)?.max(0) as u64,
                    status: Status::parse(&status),
                    message: row.get(4)?,
                    page_budget: row.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                    updated_at: from_ms(row.get(6)?),
                })
            },
        )
        .optional()?)
}

/// Stores `walk` whole (a new walk, a status change, or the state after a page).
pub fn put(tx: &Transaction<'_>, walk: &Walk) -> Result<(), StoreError> {
    let next_page = walk.next_page.as_ref().map(|page| page.to_string());
    tx.execute(
        "INSERT INTO history_walks
             (source_id, next_page, pages_done, items_added, status, message, page_budget,
              updated_at)
         VALUES (:source, :next, :pages, :items, :status, :message, :budget, :at)
         ON CONFLICT (source_id) DO UPDATE SET
             next_page = excluded.next_page, pages_done = excluded.pages_done,
             items_added = excluded.items_added, status = excluded.status,
             message = excluded.message, page_budget = excluded.page_budget,
             updated_at = excluded.updated_at",
        named_params! {
            ":source": walk.source_id.0,
            ":next": next_page,
            ":pages": walk.pages_done as i64,
            ":items": walk.items_added as i64,
            ":status": walk.status.as_str(),
            ":message": walk.message,
            ":budget": i64::from(walk.page_budget),
            ":at": to_ms(walk.updated_at),
        },
    )?;
    Ok(())
}

/// Marks `ids` as stored by a history walk.
pub fn mark_imported(tx: &Transaction<'_>, ids: &[ItemId]) -> Result<(), StoreError> {
    let mut mark = tx.prepare_cached("UPDATE items SET imported = 1 WHERE id = ?1")?;
    for id in ids {
        mark.execute([id.0])?;
    }
    Ok(())
}

/// How many of a source's items a history walk stored, for tests and reports.
pub fn count_imported(conn: &Connection, source: SourceId) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM items WHERE source_id = ?1 AND imported = 1",
        [source.0],
        |row| row.get(0),
    )?;
    Ok(n.max(0) as u64)
}
