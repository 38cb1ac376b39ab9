//! The settings page that imports an OPML subscription list, and the import itself
//! (also run by `tributary import opml`): parse defensively, check every URL, add the
//! sources in one transaction, report added / already present / refused.

use std::sync::Arc;

use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::config::FetchConfig;
use crate::export::opml::{self, ImportReport};
use crate::model::UserId;
use crate::store::export::{self as export_store, AddOutcome};
use crate::store::{Store, StoreError};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views;

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    pub opml: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Opml(#[from] opml::OpmlError),
    #[error("the fetch settings are not valid: {0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads `bytes` as OPML and adds its subscriptions to `user`'s sources. A file that
/// cannot be read at all is an error; single bad entries are refused in the report.
pub async fn run_import(
    store: &Store,
    registry: &connectors::Registry,
    fetch: &FetchConfig,
    user: UserId,
    bytes: &[u8],
) -> Result<ImportReport, ImportError> {
    let (entries, messages) = opml::parse(bytes)?;
    let guard = opml::ssrf_guard(fetch).map_err(ImportError::Policy)?;
    let mut report = ImportReport {
        messages,
        ..ImportReport::default()
    };
    let planned = Arc::new(opml::plan(&entries, registry, &guard, &mut report));
    let to_add = Arc::clone(&planned);
    let outcomes = store
        .write(move |tx| export_store::add_sources(tx, user, &to_add, Utc::now()))
        .await?;
    for (source, outcome) in planned.iter().zip(outcomes) {
        match outcome {
            AddOutcome::Added(_) => report.added.push(source.url.clone()),
            AddOutcome::AlreadyPresent => report.already_present.push(source.url.clone()),
        }
    }
    Ok(report)
}

pub async fn import_get(CurrentUser(_, ctx): CurrentUser) -> Markup {
    import_page(&ctx, None, None)
}

pub async fn import_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<ImportForm>,
) -> Result<Markup, AppError> {
    let result = run_import(
        &state.store,
        &state.sources.registry,
        &state.config.fetch,
        me.id,
        form.opml.as_bytes(),
    )
    .await;
    match result {
        Ok(report) => {
            if !report.added.is_empty() {
                state.sources.scheduler.wake();
            }
            Ok(import_page(&ctx, Some(&report), None))
        }
        Err(ImportError::Store(err)) => Err(err.into()),
        Err(err) => Ok(import_page(&ctx, None, Some(&err.to_string()))),
    }
}

fn import_page(ctx: &PageCtx, report: Option<&ImportReport>, error: Option<&str>) -> Markup {
    let error = error.map(|e| format!("The file was not imported: {e}."));
    views::layout(
        ctx,
        "Import subscriptions",
        html! {
            section.import {
                h1 { "Import subscriptions (OPML)" }
                (views::notice(error.as_deref(), true))
                @if let Some(report) = report {
                    (report_view(report))
                }
                form method="post" action="/settings/import" {
                    (views::csrf_field(ctx))
                    div.field {
                        label for="f-opml" { "Paste the OPML file exported by your feed reader" }
                        textarea id="f-opml" name="opml" rows="12" {}
                    }
                    button type="submit" { "Import" }
                }
            }
        },
    )
}

fn report_view(report: &ImportReport) -> Markup {
    html! {
        section.import-report role="status" {
            h2 { "Import report" }
            p {
                (report.added.len()) " added, "
                (report.already_present.len()) " already present, "
                (report.refused.len()) " refused."
            }
            @for message in &report.messages { p.notice { (message) } }
            @if !report.added.is_empty() {
                h3 { "Added" }
                ul { @for url in &report.added { li { (url) } } }
            }
            @if !report.already_present.is_empty() {
                h3 { "Already present" }
                ul { @for url in &report.already_present { li { (url) } } }
            }
            @if !report.refused.is_empty() {
                h3 { "Refused" }
                ul { @for (url, reason) in &report.refused { li { (url) ": " (reason) } } }
            }
        }
    }
}
