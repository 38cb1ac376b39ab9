//! History walks: a source's older pages, fetched one after another with
//! `Connector::poll_page` through the same guarded fetcher as polls, each page stored in
//! one transaction together with the walk's next page and counters (a kill loses at most
//! the page in flight; the next run continues). Items a walk stores are marked imported
//! and never queued for followers elsewhere.

use std::time::Duration;

use chrono::Utc;
use connectors::{ConnectorError, Poll, PollState};

use super::{Ingest, IngestError};
use crate::model::SourceId;
use crate::store::history::{self as walks, DEFAULT_PAGE_BUDGET, Status, Walk};
use crate::store::{items, sources};

/// Times one page is tried again after its server asked Tributary to wait.
const RATE_LIMIT_RETRIES: u32 = 3;
/// The longest Retry-After a walk waits out; a longer one stops the walk (resumable).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// How a walk runs.
#[derive(Clone, Debug)]
pub struct HistoryOptions {
    /// The walk's page budget (pages in all runs together); `None` keeps the stored one
    /// (at first [`DEFAULT_PAGE_BUDGET`]).
    pub page_budget: Option<u32>,
    /// The least wait between two pages.
    pub min_gap: Duration,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            page_budget: None,
            min_gap: Duration::from_secs(1),
        }
    }
}

/// What one run of a walk did.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryReport {
    /// The walk as stored at the end of the run.
    pub walk: Walk,
    /// Pages fetched in this run.
    pub pages: u64,
    /// Items new to the store in this run.
    pub n_new: u64,
}

/// What a progress callback hears: the walk after each page, and before each wait.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    pub walk: &'a Walk,
    /// The wait before the next page, when one comes.
    pub next_in: Option<Duration>,
}

impl Progress<'_> {
    /// "page 14, 1,380 items so far", for log lines and the source page.
    pub fn line(&self) -> String {
        let mut line = in_words(self.walk);
        if let Some(wait) = self.next_in.filter(|wait| !wait.is_zero()) {
            line.push_str(&format!(", next page in {} s", wait.as_secs_f64().ceil()));
        }
        line
    }
}

/// A walk in words: "page 14, 1,380 items so far".
pub fn in_words(walk: &Walk) -> String {
    walk.in_words()
}

pub use crate::store::history::thousands;

impl Ingest {
    /// Walks `id`'s history back: from the stored next page, or (before the first page)
    /// from the next page of a fresh poll of the source, page after page until the end,
    /// the page budget or an error. `progress` hears of every page. `Err` only when
    /// storage fails; a walk that failed is an `Ok` report with status `Failed`.
    pub async fn import_history(
        &self,
        id: SourceId,
        options: &HistoryOptions,
        mut progress: impl FnMut(Progress<'_>) + Send,
    ) -> Result<HistoryReport, IngestError> {
        let _walking = match self.start_walk(id) {
            Some(guard) => guard,
            None => {
                let walk = self.walk_of(id, options).await?;
                return Ok(HistoryReport {
                    walk: Walk {
                        message: Some("a history import of this source is already running".into()),
                        ..walk
                    },
                    pages: 0,
                    n_new: 0,
                });
            }
        };
        let source = self
            .inner
            .store
            .read(move |conn| sources::get(conn, id))
            .await?;
        let mut walk = self.walk_of(id, options).await?;
        let mut report = HistoryReport {
            walk: walk.clone(),
            pages: 0,
            n_new: 0,
        };
        if walk.status == Status::Done {
            report.walk = walk;
            return Ok(report);
        }
        let Some(connector) = self.inner.registry.get(&source.kind).cloned() else {
            let message = format!("no connector named `{}` in this version", source.kind);
            report.walk = self.finish(walk, Status::Failed, Some(message)).await?;
            return Ok(report);
        };
        if !connector.info().can_backfill {
            let message = format!("the {} connector cannot walk history back", source.kind);
            report.walk = self.finish(walk, Status::Failed, Some(message)).await?;
            return Ok(report);
        }
        walk.status = Status::Running;
        walk.message = None;
        walk.updated_at = Utc::now();
        let stored = walk.clone();
        self.inner
            .store
            .write_quiet(move |tx| walks::put(tx, &stored))
            .await?;

        let http = self.inner.http.clone();
        let mut first = true;
        let mut gap = options.min_gap;
        loop {
            let fresh_poll = walk.next_page.is_none();
            if !fresh_poll && walk.pages_done >= u64::from(walk.page_budget) {
                let message = format!(
                    "stopped at the page budget of {} pages; raise it to continue \
                     (`tributary import history {} --pages {}`)",
                    walk.page_budget,
                    id,
                    u64::from(walk.page_budget) * 2
                );
                report.walk = self.finish(walk, Status::Budget, Some(message)).await?;
                return Ok(report);
            }
            if !first && !gap.is_zero() {
                progress(Progress {
                    walk: &walk,
                    next_in: Some(gap),
                });
                tokio::time::sleep(gap).await;
            }
            first = false;
            let mut retries = 0;
            let result = loop {
                let result = match &walk.next_page {
                    Some(page) => {
                        connector
                            .poll_page(http.as_ref(), &source.params, page)
                            .await
                    }
                    // A fresh poll without validators: its own next page starts the walk.
                    None => {
                        connector
                            .poll(http.as_ref(), &source.params, &PollState::default())
                            .await
                    }
                };
                match result {
                    Err(ConnectorError::RateLimited { retry_after })
                        if retries < RATE_LIMIT_RETRIES =>
                    {
                        retries += 1;
                        let wait = retry_after
                            .and_then(|at| (at - Utc::now()).to_std().ok())
                            .unwrap_or(options.min_gap.max(Duration::from_secs(1)));
                        if wait > MAX_RETRY_AFTER {
                            break Err(ConnectorError::RateLimited { retry_after });
                        }
                        progress(Progress {
                            walk: &walk,
                            next_in: Some(wait),
                        });
                        tokio::time::sleep(wait).await;
                    }
                    other => break other,
                }
            };
            let poll = match result {
                Ok(poll) => poll,
                Err(err) => {
                    let message = crate::sources::fetch_error_in_words(&err);
                    report.walk = self.finish(walk, Status::Failed, Some(message)).await?;
                    return Ok(report);
                }
            };
            // The origin's own wish (Retry-After, max-age) spaces the pages when longer.
            gap = poll
                .hint
                .not_before
                .and_then(|at| (at - Utc::now()).to_std().ok())
                .filter(|wait| *wait <= MAX_RETRY_AFTER)
                .map_or(options.min_gap, |wait| wait.max(options.min_gap));
            let before = walk.next_page.clone();
            let n_new = self.store_page(&mut walk, poll, fresh_poll).await?;
            report.pages += 1;
            report.n_new += n_new;
            progress(Progress {
                walk: &walk,
                next_in: None,
            });
            if walk.next_page.is_none() || walk.next_page == before {
                walk.next_page = None;
                report.walk = self.finish(walk, Status::Done, None).await?;
                return Ok(report);
            }
        }
    }

    /// The stored walk of `id`, or a new one; `options` may raise (or set) its budget.
    async fn walk_of(&self, id: SourceId, options: &HistoryOptions) -> Result<Walk, IngestError> {
        let stored = self
            .inner
            .store
            .read(move |conn| walks::get(conn, id))
            .await?;
        let mut walk = stored.unwrap_or(Walk {
            source_id: id,
            next_page: None,
            pages_done: 0,
            items_added: 0,
            status: Status::Running,
            message: None,
            page_budget: DEFAULT_PAGE_BUDGET,
            updated_at: Utc::now(),
        });
        if let Some(budget) = options.page_budget {
            walk.page_budget = budget;
        }
        Ok(walk)
    }

    /// Stores one page: its items (new ones marked imported, nothing queued for
    /// delivery), the walk's next page and counters, in one transaction.
    async fn store_page(
        &self,
        walk: &mut Walk,
        poll: Poll,
        fresh_poll: bool,
    ) -> Result<u64, IngestError> {
        let fetched_at = Utc::now();
        let Poll {
            items: raw_items,
            base_url,
            next_page,
            ..
        } = poll;
        let (items, _warnings) = self
            .normalize_items(raw_items, base_url, fetched_at)
            .await?;
        let mut next = walk.clone();
        next.next_page = next_page;
        if !fresh_poll {
            next.pages_done += 1;
        }
        next.updated_at = fetched_at;
        let source_id = walk.source_id;
        let source = self
            .inner
            .store
            .read(move |conn| sources::get(conn, source_id))
            .await?;
        let user_id = source.user_id;
        let stored = next.clone();
        let n_new = self
            .inner
            .store
            .write_quiet(move |tx| {
                let upsert = items::upsert(tx, source_id, user_id, &items, fetched_at)?;
                walks::mark_imported(tx, &upsert.new_ids)?;
                let mut stored = stored;
                stored.items_added += upsert.new_ids.len() as u64;
                walks::put(tx, &stored)?;
                Ok(upsert.new_ids.len() as u64)
            })
            .await?;
        next.items_added += n_new;
        if n_new > 0 {
            self.inner.store.touch();
        }
        *walk = next;
        Ok(n_new)
    }

    /// Stores the walk's end (or pause) with `status` and `message`.
    async fn finish(
        &self,
        mut walk: Walk,
        status: Status,
        message: Option<String>,
    ) -> Result<Walk, IngestError> {
        walk.status = status;
        walk.message = message;
        walk.updated_at = Utc::now();
        let stored = walk.clone();
        self.inner
            .store
            .write_quiet(move |tx| walks::put(tx, &stored))
            .await?;
        match status {
            Status::Failed => {
                tracing::warn!(source_id = %walk.source_id, message = ?walk.message, "history walk failed")
            }
            _ => {
                tracing::info!(source_id = %walk.source_id, status = status.as_str(), pages = walk.pages_done, items = walk.items_added, "history walk stopped")
            }
        }
        Ok(walk)
    }

    /// Marks `id` as walking in this process; `None` when a walk of it already runs.
    fn start_walk(&self, id: SourceId) -> Option<WalkGuard> {
        let mut walking = self
            .inner
            .walking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        walking.insert(id).then(|| WalkGuard {
            ingest: self.clone(),
            id,
        })
    }

    /// Whether a walk of `id` runs in this process now.
    pub fn is_walking(&self, id: SourceId) -> bool {
        self.inner
            .walking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&id)
    }
}

/// Clears a source's "walking" mark when its walk ends, however it ends.
struct WalkGuard {
    ingest: Ingest,
    id: SourceId,
}

impl Drop for WalkGuard {
    fn drop(&mut self) {
        self.ingest
            .inner
            .walking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}
