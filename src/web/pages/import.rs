//! The settings page that imports an OPML subscription list. The import itself is the
//! sources service's (`Sources::import_opml`, also run by `tributary import opml`); this
//! page sends the file and shows the report.

use axum::extract::State;
use maud::{Markup, html};
use serde::Deserialize;

use crate::export::opml::ImportReport;
use crate::sources::ImportError;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views;

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    pub opml: String,
}

pub async fn import_get(CurrentUser(_, ctx): CurrentUser) -> Markup {
    import_page(&ctx, None, None)
}

pub async fn import_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<ImportForm>,
) -> Result<Markup, AppError> {
    let result = state
        .sources
        .import_opml(me.id, &state.config.fetch, form.opml.as_bytes())
        .await;
    match result {
        Ok(report) => Ok(import_page(&ctx, Some(&report), None)),
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
