//! Settings → Import: an OPML subscription list (the sources service's
//! `Sources::import_opml`, also run by `tributary import opml`) and platform archives
//! (`ArchiveImporter::run_blocking`, also run by `tributary import archive`). An archive
//! is streamed to a file in the media store's `tmp/` under `import.max_upload_bytes`
//! (never held in memory), imported in the background, and the page lists the user's
//! runs with their counters while they go and their summary after.

use std::io::Write;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::archive::ReadOptions;
use crate::archive::import::ArchiveImporter;
use crate::export::opml::ImportReport;
use crate::model::UserId;
use crate::sources::ImportError;
use crate::store::archives::{self, ImportRow};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CsrfMultipart, CurrentUser, PageCtx};
use crate::web::views;

/// Archive runs listed on the page.
const RECENT_IMPORTS: usize = 10;
/// The largest OPML file taken as an upload (a list of a few thousand feeds is well
/// under it). The route's body limit is this plus room for the form's other fields.
pub const MAX_OPML_UPLOAD_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    pub opml: String,
}

pub async fn import_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
) -> Result<Markup, AppError> {
    let runs = recent(&state, me.id).await?;
    Ok(import_page(&ctx, None, None, &runs, None))
}

async fn recent(state: &AppState, user: UserId) -> Result<Vec<ImportRow>, AppError> {
    Ok(state
        .store
        .read(move |conn| archives::recent(conn, user, RECENT_IMPORTS))
        .await?)
}

/// The page again, with the upload's refusal.
async fn refuse(
    state: &AppState,
    ctx: &PageCtx,
    user: UserId,
    message: String,
) -> Result<Response, AppError> {
    let runs = recent(state, user).await?;
    Ok(import_page(ctx, None, None, &runs, Some(&message)).into_response())
}

/// POST `/settings/import/archive` (multipart: `csrf`, the options, then `archive`).
pub async fn archive_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    CsrfMultipart(mut form): CsrfMultipart,
) -> Result<Response, AppError> {
    let mut options = ReadOptions::default();
    let tmp = state.media.dir().join("tmp");
    let max = state.config.import.max_upload_bytes;
    let mut upload = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|err| AppError::BadRequest(format!("the upload could not be read: {err}")))?
    {
        match field.name() {
            Some("include_private") => options.include_private = true,
            Some("include_replies") => options.include_replies_to_others = true,
            Some("archive") => {
                let name = field
                    .file_name()
                    .map(str::to_owned)
                    .filter(|n| !n.trim().is_empty());
                let Some(name) = name else {
                    return refuse(
                        &state,
                        &ctx,
                        me.id,
                        "Choose an archive file to upload.".into(),
                    )
                    .await;
                };
                std::fs::create_dir_all(&tmp).map_err(|err| AppError::Internal(err.to_string()))?;
                let path = tmp.join(format!("upload-{:016x}", rand::random::<u64>()));
                let mut file = std::fs::File::create(&path)
                    .map_err(|err| AppError::Internal(err.to_string()))?;
                let mut size: u64 = 0;
                loop {
                    let chunk = match field.chunk().await {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) => break,
                        Err(err) => {
                            let _ = std::fs::remove_file(&path);
                            return refuse(
                                &state,
                                &ctx,
                                me.id,
                                format!("The upload broke off: {err}."),
                            )
                            .await;
                        }
                    };
                    size += chunk.len() as u64;
                    if size > max {
                        drop(file);
                        let _ = std::fs::remove_file(&path);
                        return refuse(
                            &state,
                            &ctx,
                            me.id,
                            format!(
                                "The archive is larger than this instance takes ({max} bytes, \
                             import.max_upload_bytes). Import it with `tributary import \
                             archive` on the server instead."
                            ),
                        )
                        .await;
                    }
                    if let Err(err) = file.write_all(&chunk) {
                        let _ = std::fs::remove_file(&path);
                        return Err(AppError::Internal(err.to_string()));
                    }
                }
                drop(file);
                upload = Some((path, name));
                break;
            }
            _ => {}
        }
    }
    let Some((path, name)) = upload else {
        return refuse(
            &state,
            &ctx,
            me.id,
            "Choose an archive file to upload.".into(),
        )
        .await;
    };
    let importer = ArchiveImporter {
        store: state.store.clone(),
        media: state.media.clone(),
        limits: (&state.config.import).into(),
        base_url: state.config.base_url(),
        sanitize_fast_path: state.config.normalize.sanitize_fast_path,
    };
    let user = me.id;
    // The archive is checked before anything is stored; a refusal is shown at once.
    // A checked archive is imported in the background, and the page shows its run.
    let (checked_tx, checked_rx) = tokio::sync::oneshot::channel::<Option<String>>();
    tokio::task::spawn_blocking(move || {
        let mut checked_tx = Some(checked_tx);
        let result = importer.run_blocking(user, &path, &name, &options, &mut |_| {
            if let Some(tx) = checked_tx.take() {
                let _ = tx.send(None);
            }
        });
        let _ = std::fs::remove_file(&path);
        if let Some(tx) = checked_tx.take() {
            let _ = tx.send(result.as_ref().err().map(ToString::to_string));
        }
        if let Err(err) = result {
            tracing::info!(user_id = %user, error = %err, "archive import stopped");
        }
    });
    match checked_rx.await {
        Ok(Some(error)) if !error.is_empty() => {
            refuse(
                &state,
                &ctx,
                me.id,
                format!("The archive was not imported: {error}."),
            )
            .await
        }
        _ => Ok(Redirect::to("/settings/import#archives").into_response()),
    }
}

pub async fn import_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<ImportForm>,
) -> Result<Markup, AppError> {
    import_opml(&state, me.id, &ctx, form.opml.as_bytes()).await
}

/// POST `/settings/import/opml` (multipart: `csrf`, then the file as `opml_file`), for
/// an OPML file chosen rather than pasted; at most [`MAX_OPML_UPLOAD_BYTES`].
pub async fn opml_upload_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    CsrfMultipart(mut form): CsrfMultipart,
) -> Result<Markup, AppError> {
    let mut file = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|err| AppError::BadRequest(format!("the upload could not be read: {err}")))?
    {
        if field.name() != Some("opml_file") {
            continue;
        }
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_OPML_UPLOAD_BYTES {
                        return opml_refused(&state, me.id, &ctx, &too_large()).await;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => {
                    // The route's body limit stops a larger file before this loop does.
                    let message = if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        format!("the upload broke off ({err})")
                    };
                    return opml_refused(&state, me.id, &ctx, &message).await;
                }
            }
        }
        file = Some(bytes);
        break;
    }
    match file.filter(|bytes| !bytes.is_empty()) {
        Some(bytes) => import_opml(&state, me.id, &ctx, &bytes).await,
        None => opml_refused(&state, me.id, &ctx, "no file was chosen").await,
    }
}

fn too_large() -> String {
    format!(
        "it is larger than {} MB",
        MAX_OPML_UPLOAD_BYTES / (1024 * 1024)
    )
}

/// The page again with why the OPML file was not imported.
async fn opml_refused(
    state: &AppState,
    user: UserId,
    ctx: &PageCtx,
    message: &str,
) -> Result<Markup, AppError> {
    let runs = recent(state, user).await?;
    Ok(import_page(ctx, None, Some(message), &runs, None))
}

/// Imports an OPML document for `user` and shows the report, or what was wrong with it.
async fn import_opml(
    state: &AppState,
    user: UserId,
    ctx: &PageCtx,
    opml: &[u8],
) -> Result<Markup, AppError> {
    let result = state
        .sources
        .import_opml(user, &state.config.fetch, opml)
        .await;
    let runs = recent(state, user).await?;
    match result {
        Ok(report) => Ok(import_page(ctx, Some(&report), None, &runs, None)),
        Err(ImportError::Store(err)) => Err(err.into()),
        Err(err) => Ok(import_page(ctx, None, Some(&err.to_string()), &runs, None)),
    }
}

fn import_page(
    ctx: &PageCtx,
    report: Option<&ImportReport>,
    error: Option<&str>,
    runs: &[ImportRow],
    archive_error: Option<&str>,
) -> Markup {
    let error = error.map(|e| format!("The file was not imported: {e}."));
    views::layout(
        ctx,
        "Import",
        html! {
            (archive_section(ctx, runs, archive_error))
            section.import {
                h1 { "Import subscriptions (OPML)" }
                (views::notice(error.as_deref(), true))
                @if let Some(report) = report {
                    (report_view(report))
                }
                form id="opml-upload" method="post" action="/settings/import/opml" enctype="multipart/form-data" {
                    (views::csrf_field(ctx))
                    div.field {
                        label for="f-opml-file" { "The OPML file exported by your feed reader" }
                        input id="f-opml-file" type="file" name="opml_file" accept=".opml,.xml,text/xml,application/xml,text/x-opml" required;
                    }
                    button type="submit" { "Upload and import" }
                }
                form id="opml-paste" method="post" action="/settings/import" {
                    (views::csrf_field(ctx))
                    div.field {
                        label for="f-opml" { "Or paste it here" }
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

fn archive_section(ctx: &PageCtx, runs: &[ImportRow], error: Option<&str>) -> Markup {
    html! {
        section.import-archive id="archives" {
            h1 { "Import an archive" }
            p {
                "Bring your past along: a Mastodon account export (.zip or .tar.gz), a Twitter/X "
                "archive (.zip), a Bluesky repository (.car), a FriendFeed export (.json) or an "
                "Instagram export (.zip). Posts keep their dates, their pictures are kept here, "
                "and nothing is sent to your followers. Importing the same archive again adds "
                "nothing new."
            }
            (views::notice(error, true))
            form method="post" action="/settings/import/archive" enctype="multipart/form-data" {
                (views::csrf_field(ctx))
                div.field.checkbox {
                    label {
                        input type="checkbox" name="include_private" value="1";
                        " Also followers-only posts (Mastodon). Direct messages are never imported."
                    }
                }
                div.field.checkbox {
                    label {
                        input type="checkbox" name="include_replies" value="1";
                        " Also my replies to other people's posts"
                    }
                }
                div.field {
                    label for="f-archive" { "Archive file" }
                    input id="f-archive" type="file" name="archive" required;
                }
                button type="submit" { "Upload and import" }
            }
            @if !runs.is_empty() {
                h2 { "Your imports" }
                ul.archive-runs {
                    @for run in runs { li.archive-run { (run_view(run)) } }
                }
            }
        }
    }
}

fn run_view(run: &ImportRow) -> Markup {
    let c = &run.counts;
    let platform: &str = match crate::archive::Platform::parse(&run.platform) {
        Some(platform) => platform.label(),
        None => &run.platform,
    };
    let status = match run.status.as_str() {
        "done" => "done",
        "running" => "importing…",
        _ => "stopped",
    };
    html! {
        strong { (platform) } " · " (run.file_name) " · "
        span class={ "status status-" (run.status) } { (status) }
        p.counts {
            (c.imported) " imported, " (c.present) " already there, " (c.skipped) " skipped; "
            "media: " (c.media) " stored, " (c.media_missing) " missing."
        }
        @if let Some(message) = &run.message {
            p.notice.error role="alert" { (message) " Import the archive again to continue." }
        }
        @if !c.reasons.is_empty() {
            ul.reasons {
                @for (reason, n) in &c.reasons { li { (n) " " (reason) } }
            }
        }
    }
}
