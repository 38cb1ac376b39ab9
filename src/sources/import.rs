//! OPML import through the sources service, for `/settings/import` and
//! `tributary import opml` alike: parse defensively (`export::opml`), check every outline
//! with the same recognition and URL rules as a pasted source, discover the feed of an
//! outline that has only a page address (`htmlUrl`), add the rest in one transaction and
//! wake the scheduler. Every outline that does not become a source is in the report with
//! its reason; none is skipped silently.

use std::sync::Arc;

use chrono::Utc;

use super::{Sources, SourcesError};
use crate::config::FetchConfig;
use crate::export::opml::{self, ImportReport, OpmlEntry, PlannedSource};
use crate::model::UserId;
use crate::store::StoreError;
use crate::store::export::{self as export_store, AddOutcome};

/// Outlines with only a page address whose feed one import looks for; the others are
/// refused with a reason (each discovery may fetch several URLs).
pub const MAX_PAGE_DISCOVERIES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Opml(#[from] opml::OpmlError),
    #[error("the fetch settings are not valid: {0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sources {
    /// Reads `bytes` as OPML and adds its subscriptions to `owner`'s sources. A file that
    /// cannot be read at all is an error; each outline that cannot become a source is
    /// refused in the report with its reason. Outlines are not test-fetched one by one (a
    /// reader's export lists hundreds); the first poll reports a failing one on its page.
    pub async fn import_opml(
        &self,
        owner: UserId,
        fetch: &FetchConfig,
        bytes: &[u8],
    ) -> Result<ImportReport, ImportError> {
        let (entries, messages) = opml::parse(bytes)?;
        let guard = opml::ssrf_guard(fetch).map_err(ImportError::Policy)?;
        let mut report = ImportReport {
            messages,
            ..ImportReport::default()
        };
        let (page_only, listed): (Vec<OpmlEntry>, Vec<OpmlEntry>) =
            entries.into_iter().partition(is_page_only);
        let mut planned = opml::plan(&listed, &self.registry, &guard, &mut report);
        for (entry_idx, entry) in page_only.iter().enumerate() {
            let page = entry.html_url.as_deref().unwrap_or_default();
            let shown = opml::shown_text(page);
            if entry_idx >= MAX_PAGE_DISCOVERIES {
                report.refused.push((
                    shown,
                    format!(
                        "the outline has no xmlUrl, only a page address, and one import looks \
                         for the feeds of at most {MAX_PAGE_DISCOVERIES} pages; add it on the \
                         sources page"
                    ),
                ));
                continue;
            }
            match self.page_feed(entry, &guard).await {
                Ok(source) => {
                    if planned
                        .iter()
                        .any(|p| p.kind == source.kind && p.params == source.params)
                    {
                        report.already_present.push(source.url);
                    } else {
                        planned.push(source);
                    }
                }
                Err(reason) => report.refused.push((shown, reason)),
            }
        }
        let planned = Arc::new(planned);
        let to_add = Arc::clone(&planned);
        let outcomes = self
            .store
            .write(move |tx| export_store::add_sources(tx, owner, &to_add, Utc::now()))
            .await?;
        for (source, outcome) in planned.iter().zip(outcomes) {
            match outcome {
                AddOutcome::Added(_) => report.added.push(source.url.clone()),
                AddOutcome::AlreadyPresent => report.already_present.push(source.url.clone()),
            }
        }
        if !report.added.is_empty() {
            tracing::info!(user_id = %owner, n_added = report.added.len(), "sources imported");
            self.scheduler.wake();
        }
        Ok(report)
    }

    /// The feed of an outline that names only its page: the page's address goes through
    /// the import URL checks, then the same discovery as a pasted page. One feed becomes
    /// the source; several are refused with their addresses, for the person to choose.
    async fn page_feed(
        &self,
        entry: &OpmlEntry,
        guard: &(dyn Fn(&url::Url) -> Result<(), String> + Sync),
    ) -> Result<PlannedSource, String> {
        let page = entry.html_url.as_deref().unwrap_or_default();
        opml::check_import_url(page).and_then(|url| guard(&url))?;
        let found = self.discover(page).await.map_err(|err| match err {
            SourcesError::Input(message) => {
                format!("the outline has no xmlUrl and its page gives no feed: {message}")
            }
            other => format!("the outline has no xmlUrl and its page could not be read: {other}"),
        })?;
        let [candidate] = found.as_slice() else {
            let urls: Vec<&str> = found.iter().filter_map(|c| c.url.as_deref()).collect();
            return Err(format!(
                "the outline has no xmlUrl and its page names {} feeds ({}); add the one you \
                 want on the sources page",
                found.len(),
                urls.join(", ")
            ));
        };
        let url = candidate.url.clone().unwrap_or_default();
        opml::check_import_url(&url).and_then(|checked| guard(&checked))?;
        Ok(PlannedSource {
            url: opml::shown_text(&url),
            title: opml::clamped_title(&entry.title),
            kind: candidate.kind.clone(),
            params: candidate.params.clone(),
            schedule: String::new(),
        })
    }
}

/// An outline from another reader with a page address and nothing to subscribe to.
fn is_page_only(entry: &OpmlEntry) -> bool {
    entry.source.is_none() && entry.xml_url.is_none() && entry.html_url.is_some()
}
