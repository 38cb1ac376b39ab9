//! Sources in the browser: paste anything, preview, add; health, schedule, poll now, remove.
//! Every decision (what the input is, who may change what) is made by `crate::sources`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::events::Event;
use crate::model::{Source, SourceId};
use crate::social::Visibility;
use crate::sources::{AddSource, Candidate, Preview, SourcesError};
use crate::store::history::{Status, Walk};
use crate::store::sources::FetchLogRow;
use crate::store::websub::{State as PushState, Subscription};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views::{bdi, csrf_field, field, layout, notice, time};

/// Rows of the fetch log shown on a source's page.
const FETCH_LOG_ROWS: usize = 20;

type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Admins: every user's sources.
    all: Option<String>,
    /// What just happened, for a notice.
    done: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct InputForm {
    #[serde(default)]
    input: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    params: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    schedule: String,
}

/// The advanced form: a JSON document described by pointers (the `json` connector), or a
/// web page described by CSS selectors (the `html` connector).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AdvancedForm {
    /// `json` or `html`.
    #[serde(default)]
    adv_connector: String,
    #[serde(default)]
    adv_url: String,
    #[serde(default)]
    adv_items: String,
    #[serde(default)]
    adv_id: String,
    #[serde(default)]
    adv_title: String,
    #[serde(default)]
    adv_link: String,
    #[serde(default)]
    adv_date: String,
    #[serde(default)]
    adv_content: String,
    #[serde(default)]
    adv_image: String,
}

impl AdvancedForm {
    /// The connector the form names; anything else reads as `json`.
    fn kind(&self) -> &'static str {
        if self.adv_connector == "html" {
            "html"
        } else {
            "json"
        }
    }

    fn params(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (key, value) in [
            ("url", &self.adv_url),
            ("items", &self.adv_items),
            ("id", &self.adv_id),
            ("title", &self.adv_title),
            ("link", &self.adv_link),
            ("date", &self.adv_date),
            ("content", &self.adv_content),
            ("image", &self.adv_image),
        ] {
            if !value.trim().is_empty() {
                map.insert(key.into(), value.trim().into());
            }
        }
        serde_json::Value::Object(map)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    schedule: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

pub async fn sources_get(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let everyone = query.all.is_some() && user.is_admin;
    let list = state
        .sources
        .list(&user, everyone)
        .await
        .map_err(app_error)?;
    let message = match query.done.as_deref() {
        Some("removed") => {
            Some("Source removed. Its items left the stream; comments and likes on them are kept.")
        }
        _ => None,
    };
    Ok(sources_page(&ctx, "", None, message, &list, everyone))
}

pub async fn sources_preview_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<InputForm>,
) -> Result<Response, AppError> {
    let input = form.input.trim();
    let found = match state.sources.discover(input).await {
        Ok(found) => found,
        Err(SourcesError::Input(message)) => {
            return input_error(&state, &user, &ctx, input, &message).await;
        }
        Err(err) => return Err(app_error(err)),
    };
    if let [candidate] = found.as_slice() {
        match state.sources.preview(candidate).await {
            Ok(preview) => {
                let form = AddForm {
                    kind: preview.kind.clone(),
                    params: preview.params.to_string(),
                    title: preview.title.clone(),
                    schedule: String::new(),
                };
                let body = html! {
                    h1 { "Preview a source" }
                    (add_box(&ctx, input, None))
                    (preview_section(&ctx, &state, &preview, &form, &FieldErrors::new()))
                };
                Ok(layout(&ctx, "Preview a source", body).into_response())
            }
            Err(SourcesError::Input(message)) => {
                input_error(&state, &user, &ctx, input, &message).await
            }
            Err(err) => Err(app_error(err)),
        }
    } else {
        let body = html! {
            h1 { "Choose a feed" }
            (add_box(&ctx, input, None))
            (choose_section(&ctx, &found))
        };
        Ok(layout(&ctx, "Choose a feed", body).into_response())
    }
}

/// Previews a source described field by field; a refusal re-renders the form with the
/// reason.
pub async fn sources_advanced_post(
    State(state): State<AppState>,
    CurrentUser(_user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<AdvancedForm>,
) -> Result<Response, AppError> {
    match state
        .sources
        .preview_params(form.kind(), form.params())
        .await
    {
        Ok(preview) => {
            let confirm = AddForm {
                kind: preview.kind.clone(),
                params: preview.params.to_string(),
                title: preview.title.clone(),
                schedule: String::new(),
            };
            let body = html! {
                h1 { "Preview a source" }
                (advanced_box(&ctx, &form, None, true))
                (preview_section(&ctx, &state, &preview, &confirm, &FieldErrors::new()))
            };
            Ok(layout(&ctx, "Preview a source", body).into_response())
        }
        Err(SourcesError::Input(message)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(
                &ctx,
                "Add a source field by field",
                html! {
                    h1 { "Add a source field by field" }
                    (advanced_box(&ctx, &form, Some(&message), true))
                },
            ),
        )
            .into_response()),
        Err(err) => Err(app_error(err)),
    }
}

pub async fn sources_add_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, AppError> {
    let add = AddSource {
        kind: form.kind.clone(),
        params: form.params.clone(),
        title: form.title.clone(),
        schedule: form.schedule.clone(),
    };
    match state.sources.add(&user, &add).await {
        Ok(id) => Ok(Redirect::to(&format!("/settings/sources/{id}")).into_response()),
        Err(SourcesError::Fields(errors)) => {
            let body = html! {
                h1 { "Add a source" }
                section.preview {
                    (confirm_form(&ctx, &state, &form, &errors))
                    p { a href="/settings/sources" { "Start again" } }
                }
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&ctx, "Add a source", body),
            )
                .into_response())
        }
        Err(err) => Err(app_error(err)),
    }
}

pub async fn source_get(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let id = SourceId(id);
    let source = state.sources.get(&user, id).await.map_err(app_error)?;
    let log = state
        .sources
        .fetch_log(&user, id, FETCH_LOG_ROWS)
        .await
        .map_err(app_error)?;
    let push = state
        .sources
        .push_subscription(&user, id)
        .await
        .map_err(app_error)?;
    let message = match query.done.as_deref() {
        Some("saved") => Some("Saved."),
        Some("polled") => Some("Polled: its health and fetch log below are this poll's."),
        Some("polling") => Some("Polling… the result shows here when the poll ends."),
        Some("enabled") => Some("Enabled: the source is polled again, starting now."),
        Some("disabled") => Some("Disabled: the source is not polled until you enable it."),
        Some("history") => Some("Importing older items: the progress shows below."),
        Some("bad-budget") => Some(
            "Nothing was started: the page budget must be a whole number of pages from 1 to 100000.",
        ),
        _ => None,
    };
    let walk = state
        .sources
        .history_walk(&user, id)
        .await
        .map_err(app_error)?;
    let form = EditForm {
        title: source.title.clone(),
        schedule: display_schedule(&source.schedule),
    };
    let next_page_at = state.sources.next_page_at(id);
    let visibility = state
        .sources
        .visibility(&user, id)
        .await
        .map_err(app_error)?;
    Ok(source_page(
        &ctx,
        &state,
        &source,
        &log,
        &form,
        &FieldErrors::new(),
        message,
        HistoryView {
            walk: walk.as_ref(),
            next_page_at,
        },
        push.as_ref(),
        visibility,
    ))
}

pub async fn source_edit_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    match state
        .sources
        .edit(&user, id, &form.title, &form.schedule)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/settings/sources/{id}?done=saved")).into_response()),
        Err(SourcesError::Fields(errors)) => {
            let source = state.sources.get(&user, id).await.map_err(app_error)?;
            let log = state
                .sources
                .fetch_log(&user, id, FETCH_LOG_ROWS)
                .await
                .map_err(app_error)?;
            let push = state
                .sources
                .push_subscription(&user, id)
                .await
                .map_err(app_error)?;
            let visibility = state
                .sources
                .visibility(&user, id)
                .await
                .map_err(app_error)?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                source_page(
                    &ctx,
                    &state,
                    &source,
                    &log,
                    &form,
                    &errors,
                    None,
                    HistoryView::default(),
                    push.as_ref(),
                    visibility,
                ),
            )
                .into_response())
        }
        Err(err) => Err(app_error(err)),
    }
}

pub async fn source_poll_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    // Listening before the poll is asked for, so its end cannot be missed.
    let mut events = state.events.subscribe();
    state.sources.poll_now(&user, id).await.map_err(app_error)?;
    let finished = tokio::time::timeout(POLL_WAIT, async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if matches!(*event, Event::PollFinished { source_id, .. } if source_id == id) {
                        return true;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    // Done: the page shows the poll's stored result. Still running: "polling…", and the
    // page script reloads when the event stream says the poll ended.
    let done = if finished { "polled" } else { "polling" };
    Ok(Redirect::to(&format!("/settings/sources/{id}?done={done}")).into_response())
}

/// How long "Poll now" waits for its poll before it answers "polling…".
pub const POLL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Deserialize)]
pub struct HistoryForm {
    /// The page budget, when raised; empty keeps the stored one.
    #[serde(default)]
    pub pages: String,
}

/// The most pages a walk's budget may be raised to from the page.
const MAX_PAGE_BUDGET: u32 = 100_000;

/// "Import older items": starts the source's history walk in the background, with the
/// page budget raised when the form says so.
pub async fn source_history_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<HistoryForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    let pages = match form.pages.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE_BUDGET).contains(&n) => Some(n),
            _ => {
                return Ok(
                    Redirect::to(&format!("/settings/sources/{id}?done=bad-budget"))
                        .into_response(),
                );
            }
        },
    };
    state
        .sources
        .start_history(&user, id, pages)
        .await
        .map_err(app_error)?;
    Ok(Redirect::to(&format!("/settings/sources/{id}?done=history")).into_response())
}

pub async fn source_enable_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    state
        .sources
        .set_enabled(&user, id, true)
        .await
        .map_err(app_error)?;
    Ok(Redirect::to(&format!("/settings/sources/{id}?done=enabled")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct KeepDeletedForm {
    #[serde(default)]
    pub keep: String,
}

/// POST `/settings/sources/{id}/keep-deleted`: `keep=1` keeps items deleted upstream.
pub async fn source_keep_deleted_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<KeepDeletedForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    state
        .sources
        .set_keep_deleted(&user, id, form.keep == "1")
        .await
        .map_err(app_error)?;
    Ok(Redirect::to(&format!("/settings/sources/{id}?done=saved")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct VisibilityForm {
    #[serde(default)]
    pub visibility: String,
}

/// POST `/settings/sources/{id}/visibility`: who may see the source's items.
pub async fn source_visibility_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<VisibilityForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    let visibility = Visibility::parse(&form.visibility).ok_or_else(|| {
        AppError::BadRequest("Choose who can see its items: everyone, friends or only you.".into())
    })?;
    state
        .sources
        .set_visibility(&user, id, visibility)
        .await
        .map_err(app_error)?;
    state.federation.wake();
    Ok(Redirect::to(&format!("/settings/sources/{id}?done=saved")).into_response())
}

pub async fn source_disable_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let id = SourceId(id);
    state
        .sources
        .set_enabled(&user, id, false)
        .await
        .map_err(app_error)?;
    Ok(Redirect::to(&format!("/settings/sources/{id}?done=disabled")).into_response())
}

pub async fn source_remove_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    state
        .sources
        .remove(&user, SourceId(id))
        .await
        .map_err(app_error)?;
    Ok(Redirect::to("/settings/sources?done=removed").into_response())
}

/// The service's errors as web errors; input and field errors are rendered by the
/// handlers before they get here.
fn app_error(err: SourcesError) -> AppError {
    match err {
        SourcesError::NotFound => AppError::NotFound,
        SourcesError::Forbidden => AppError::Forbidden,
        SourcesError::Input(message) => AppError::BadRequest(message),
        SourcesError::Fields(errors) => {
            AppError::BadRequest(errors.into_values().collect::<Vec<_>>().join(" "))
        }
        SourcesError::Waiting { .. } => AppError::TooManyRequests(err.to_string()),
        SourcesError::Several(_) | SourcesError::Duplicate { .. } => {
            AppError::BadRequest(format!("{err}."))
        }
        SourcesError::Store(err) => AppError::Internal(err.to_string()),
    }
}

/// The sources page again with the message next to the box and the input kept (422).
async fn input_error(
    state: &AppState,
    user: &crate::model::User,
    ctx: &PageCtx,
    input: &str,
    message: &str,
) -> Result<Response, AppError> {
    let list = state.sources.list(user, false).await.map_err(app_error)?;
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        sources_page(ctx, input, Some(message), None, &list, false),
    )
        .into_response())
}

fn sources_page(
    ctx: &PageCtx,
    input: &str,
    error: Option<&str>,
    message: Option<&str>,
    list: &[Source],
    everyone: bool,
) -> Markup {
    let now = Utc::now();
    let is_admin = ctx.user.as_ref().is_some_and(|user| user.is_admin);
    layout(
        ctx,
        "Sources",
        html! {
            h1 { "Sources" }
            (notice(message, false))
            (add_box(ctx, input, error))
            (advanced_box(ctx, &AdvancedForm::default(), None, false))
            section.source-list {
                h2 { @if everyone { "Everyone's sources" } @else { "Your sources" } }
                @if is_admin {
                    p.source-scope {
                        @if everyone { a href="/settings/sources" { "Show only yours" } }
                        @else { a href="/settings/sources?all=1" { "Show every user's sources" } }
                    }
                }
                @if list.is_empty() {
                    p.empty { "No sources yet. Paste the address of a blog or a feed above to add one." }
                } @else {
                    table.sources {
                        thead {
                            tr {
                                th scope="col" { "Title" }
                                @if everyone { th scope="col" { "Owner" } }
                                th scope="col" { "Kind" }
                                th scope="col" { "Health" }
                                th scope="col" { "Items" }
                                th scope="col" { "Next attempt" }
                            }
                        }
                        tbody {
                            @for source in list {
                                @let (health_class, health_text) = health(source);
                                tr id={ "source-" (source.id) } {
                                    td data-label="Title" {
                                        a href={ "/settings/sources/" (source.id) } { (bdi(&source_label(source))) }
                                        @if let Some(url) = source.url() {
                                            br;
                                            small.source-url { (url) }
                                        }
                                    }
                                    @if everyone { td data-label="Owner" { (source.user_name) } }
                                    td data-label="Kind" { (source.kind) }
                                    td data-label="Health" { span.health.(health_class) { (health_text) } }
                                    td.number data-label="Items" { (source.n_items) }
                                    td data-label="Next attempt" { (next_attempt(source, now)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The one box everything starts from.
fn add_box(ctx: &PageCtx, input: &str, error: Option<&str>) -> Markup {
    html! {
        section.add-source {
            h2 { "Add a source" }
            form id="add-source" method="post" action="/settings/sources/preview" {
                (csrf_field(ctx))
                (field("Paste a web address, feed or handle", "input", "text", input, error,
                    Some("A blog or site (its feed is found for you), a feed address, or a profile or handle such as github.com/ana, @ana.bsky.social or youtube.com/@ana.")))
                button type="submit" { "Preview" }
            }
        }
    }
}

/// The advanced form: any JSON document (items found by JSON pointers) or web page (by
/// CSS selectors). Folded away (a `<details>`, no script) unless it is being corrected.
fn advanced_box(ctx: &PageCtx, form: &AdvancedForm, error: Option<&str>, open: bool) -> Markup {
    let is_html = form.kind() == "html";
    html! {
        details.advanced-source open[open] {
            summary { "Advanced: a JSON document or a web page, field by field" }
            form id="advanced-source" method="post" action="/settings/sources/advanced" {
                (csrf_field(ctx))
                (notice(error, true))
                fieldset {
                    legend { "Read it as" }
                    div.choice {
                        input type="radio" name="adv_connector" id="adv-json" value="json" checked[!is_html];
                        label for="adv-json" { "JSON: fields are JSON pointers such as /title" }
                    }
                    div.choice {
                        input type="radio" name="adv_connector" id="adv-html" value="html" checked[is_html];
                        label for="adv-html" { "Web page: fields are CSS selectors such as h2 a" }
                    }
                }
                (field("Address", "adv_url", "url", &form.adv_url, None,
                    Some("http or https.")))
                (field("Items", "adv_items", "text", &form.adv_items, None,
                    Some("JSON: where the list is, e.g. /data/posts (empty: the document is the list). Page: the selector of each item, e.g. article.post.")))
                (field("Id", "adv_id", "text", &form.adv_id, None,
                    Some("Inside each item, e.g. /id. Empty: the link.")))
                (field("Title", "adv_title", "text", &form.adv_title, None, Some("e.g. /title or h2")))
                (field("Link", "adv_link", "text", &form.adv_link, None,
                    Some("JSON: a pointer or a template such as https://site.example/p/{/slug}. Page: a selector; its href is read.")))
                (field("Date", "adv_date", "text", &form.adv_date, None,
                    Some("RFC 3339, RFC 2822 or unix seconds, e.g. /published_at or time.")))
                (field("Content", "adv_content", "text", &form.adv_content, None,
                    Some("HTML; it is cleaned before it is shown.")))
                (field("Image", "adv_image", "text", &form.adv_image, None, Some("An image URL, e.g. /cover or img.")))
                button type="submit" { "Preview" }
            }
        }
    }
}

fn choose_section(ctx: &PageCtx, found: &[Candidate]) -> Markup {
    html! {
        section.choose-feed {
            h2 { "This page names " (found.len()) " feeds" }
            form id="choose-feed" method="post" action="/settings/sources/preview" {
                (csrf_field(ctx))
                fieldset {
                    legend { "Pick one to preview" }
                    @for (idx, candidate) in found.iter().enumerate() {
                        @let id = format!("candidate-{idx}");
                        @let url = candidate.url.clone().unwrap_or_default();
                        div.choice {
                            input type="radio" name="input" id=(id) value=(url) checked[idx == 0];
                            label for=(id) {
                                @if let Some(title) = &candidate.title { strong { (bdi(title)) } " " }
                                span.source-url { (url) }
                            }
                        }
                    }
                }
                button type="submit" { "Preview" }
            }
        }
    }
}

fn preview_section(
    ctx: &PageCtx,
    state: &AppState,
    preview: &Preview,
    form: &AddForm,
    errors: &FieldErrors,
) -> Markup {
    let shown = preview.items.len();
    html! {
        section.preview {
            h2 {
                "Preview: "
                @if preview.title.is_empty() { (preview.url.as_deref().unwrap_or(&preview.kind)) }
                @else { (bdi(&preview.title)) }
            }
            @if preview.items.is_empty() {
                p.empty { "This source has no items right now; new ones appear once they are published." }
            } @else {
                p {
                    @if shown < preview.n_items {
                        "The newest " (shown) " of " (preview.n_items) " items it would import:"
                    } @else if shown == 1 {
                        "The one item it would import:"
                    } @else {
                        "The " (shown) " items it would import:"
                    }
                }
                ol.preview-items {
                    @let now = Utc::now();
                    @for item in &preview.items {
                        li.preview-item {
                            span.preview-title {
                                @if item.title.is_empty() { "(untitled)" } @else { (bdi(&item.title)) }
                            }
                            " "
                            span.kind { (item.kind.as_str()) }
                            " "
                            (time(item.published_at, now))
                        }
                    }
                }
            }
            (confirm_form(ctx, state, form, errors))
        }
    }
}

/// The form that adds what was previewed: hidden kind and params, title and schedule.
fn confirm_form(ctx: &PageCtx, state: &AppState, form: &AddForm, errors: &FieldErrors) -> Markup {
    let err = |key: &str| errors.get(key).map(String::as_str);
    // A feed or JSON source shows its address; a site connector or recipe its parameters
    // (`github · ana`).
    let url = serde_json::from_str::<serde_json::Value>(&form.params)
        .ok()
        .and_then(|params| {
            let url = params
                .get("url")
                .and_then(|u| u.as_str())
                .map(str::to_owned);
            url.or_else(|| {
                let values: Vec<String> = params
                    .as_object()?
                    .values()
                    .filter_map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .or(v.as_u64().map(|n| n.to_string()))
                    })
                    .collect();
                (!values.is_empty()).then(|| values.join(" · "))
            })
        });
    let schedule_help = format!(
        "When to check for new items, as in crontab, e.g. */15 * * * *. Empty: the default ({}).",
        state.config.scheduler.default_schedule
    );
    html! {
        form id="confirm-source" method="post" action="/settings/sources" {
            (csrf_field(ctx))
            input type="hidden" name="kind" value=(form.kind);
            input type="hidden" name="params" value=(form.params);
            (notice(err("source"), true))
            @if let Some(url) = url {
                p.source-url { (form.kind) " · " (url) }
            }
            (field("Title", "title", "text", &form.title, err("title"),
                Some("Shown with its items. Empty: the source's own title.")))
            (field("Schedule (optional)", "schedule", "text", &form.schedule, err("schedule"),
                Some(&schedule_help)))
            button type="submit" { "Add this source" }
        }
    }
}

/// The history walk as the source page shows it: the stored walk, and when a background
/// walk fetches its next page (while it waits).
#[derive(Clone, Copy, Default)]
struct HistoryView<'a> {
    walk: Option<&'a Walk>,
    next_page_at: Option<DateTime<Utc>>,
}

// One argument per part of the page, each from its own query.
#[allow(clippy::too_many_arguments)]
fn source_page(
    ctx: &PageCtx,
    state: &AppState,
    source: &Source,
    log: &[FetchLogRow],
    form: &EditForm,
    errors: &FieldErrors,
    message: Option<&str>,
    history: HistoryView<'_>,
    push: Option<&Subscription>,
    visibility: Visibility,
) -> Markup {
    let now = Utc::now();
    let walk = history.walk;
    let err = |key: &str| errors.get(key).map(String::as_str);
    let is_owner = ctx
        .user
        .as_ref()
        .is_some_and(|user| user.id == source.user_id);
    let (health_class, health_text) = health(source);
    let base = format!("/settings/sources/{}", source.id);
    let schedule_help = format!(
        "As in crontab, e.g. */15 * * * *. Empty: the default ({}).",
        state.config.scheduler.default_schedule
    );
    let label = source_label(source);
    layout(
        ctx,
        &label,
        html! {
            p.breadcrumb { a href="/settings/sources" { "Sources" } }
            h1 { (bdi(&label)) }
            (notice(message, false))
            dl.source-facts {
                dt { "Address" } dd { (source.url().unwrap_or("—")) }
                dt { "Kind" } dd { (source.kind) }
                @if !is_owner { dt { "Owner" } dd { a href={ "/" (source.user_name) } { (source.user_name) } } }
                dt { "Schedule" } dd {
                    @if source.schedule.is_empty() { "default (" (state.config.scheduler.default_schedule) ")" }
                    @else { code { (display_schedule(&source.schedule)) } }
                }
                dt { "Enabled" } dd { @if source.enabled { "yes" } @else { "no" } }
                dt { "Health" } dd { span.health.(health_class) { (health_text) } }
                dt { "Last success" } dd {
                    @match source.last_success_at { Some(at) => (time(at, now)), None => "never" }
                }
                dt { "Last error" } dd {
                    @match &source.last_error {
                        Some(error) => { (error) @if source.failure_count > 1 { " (" (source.failure_count) " failures in a row)" } }
                        None => "none",
                    }
                }
                dt { "Next attempt" } dd { (next_attempt(source, now)) }
                @if let Some(push) = push {
                    dt { "Push" } dd id="source-push" { (push_in_words(push, now)) }
                }
                dt { "Items" } dd { (source.n_items) }
                dt { "History" } dd id="source-history" {
                    @match walk {
                        None => "not imported",
                        Some(walk) => {
                            (walk.in_words())
                            @match walk.status {
                                Status::Running => {
                                    @if let Some(at) = history.next_page_at {
                                        ", next page in " (((at - now).num_milliseconds().max(0) + 999) / 1000) " s"
                                    }
                                    " (running)"
                                }
                                Status::Done => " (done: the oldest page was reached)",
                                _ => {}
                            }
                            @if let Some(message) = &walk.message {
                                @if walk.status == Status::Failed { " — failed: " } @else { " — " }
                                (message)
                            }
                        }
                    }
                }
            }
            @if is_owner {
                section.source-edit {
                    h2 { "Settings" }
                    form id="source-edit" method="post" action=(base) {
                        (csrf_field(ctx))
                        (field("Title", "title", "text", &form.title, err("title"),
                            Some("Empty: the source's own title.")))
                        (field("Schedule", "schedule", "text", &form.schedule, err("schedule"),
                            Some(&schedule_help)))
                        button type="submit" { "Save" }
                    }
                    form id="source-visibility" method="post" action={ (base) "/visibility" } {
                        (csrf_field(ctx))
                        label for="f-source-visibility" { "Who can see its items" }
                        " "
                        select id="f-source-visibility" name="visibility" {
                            @for v in Visibility::ALL {
                                option value=(v.as_str()) selected[v == visibility] { (v.label()) }
                            }
                        }
                        " "
                        button type="submit" { "Save" }
                        p.help { "Friends are the people who follow you and whom you follow back. Each item can be restricted further on its own page." }
                    }
                    form id="source-keep-deleted" method="post" action={ (base) "/keep-deleted" } {
                        (csrf_field(ctx))
                        @if source.keep_deleted {
                            p { "Items deleted where they were posted stay here, marked \"deleted at the source\"." }
                            input type="hidden" name="keep" value="0";
                            button type="submit" { "Remove deleted items instead" }
                        } @else {
                            p { "Items deleted where they were posted leave your stream; comments and likes on them are kept for their authors." }
                            input type="hidden" name="keep" value="1";
                            button type="submit" { "Keep deleted items (an archive)" }
                        }
                    }
                }
                section.source-actions {
                    h2 { "Actions" }
                    @if crate::store::archives::is_archive_params(&source.params) {
                        p.help { "This source holds an imported archive (Settings → Import): it is never polled." }
                    } @else if crate::store::posts::is_native_params(&source.params) {
                        p.help { "This source holds the posts you write here (the box at the top of your lifestream): it is never polled." }
                    } @else {
                    form.inline id="source-poll" method="post" action={ (base) "/poll" } {
                        (csrf_field(ctx))
                        button type="submit" { "Poll now" }
                    }
                    form.inline id="source-history-import" method="post" action={ (base) "/history" } {
                        (csrf_field(ctx))
                        label for="f-pages" { "Page budget " }
                        input id="f-pages" type="number" name="pages" min="1" max="100000"
                            placeholder=(walk.map_or(crate::store::history::DEFAULT_PAGE_BUDGET, |w| w.page_budget))
                            title="Pages fetched in all runs together; raise it to go further back";
                        " "
                        button type="submit" { "Import older items" }
                    }
                    @if source.enabled {
                        form.inline id="source-disable" method="post" action={ (base) "/disable" } {
                            (csrf_field(ctx))
                            button type="submit" { "Disable" }
                        }
                    } @else {
                        form.inline id="source-enable" method="post" action={ (base) "/enable" } {
                            (csrf_field(ctx))
                            button type="submit" { "Enable" }
                        }
                    }
                    }
                    form.inline id="source-remove" method="post" action={ (base) "/remove" } {
                        (csrf_field(ctx))
                        button.danger type="submit" { "Remove this source" }
                    }
                    p.help { "Removing hides its items from every page; comments and likes on them are kept." }
                }
            }
            section.fetch-log {
                h2 { "Recent fetches" }
                @if log.is_empty() {
                    p.empty { "Not polled yet." }
                } @else {
                    table.fetch-log {
                        thead {
                            tr {
                                th scope="col" { "When" }
                                th scope="col" { "Outcome" }
                                th scope="col" { "New" }
                                th scope="col" { "Updated" }
                                th scope="col" { "Took" }
                                th scope="col" { "Message" }
                            }
                        }
                        tbody {
                            @for row in log {
                                tr {
                                    td { (time(row.started_at, now)) }
                                    td { (row.outcome) }
                                    td.number { (row.n_new) }
                                    td.number { (row.n_updated) }
                                    td.number { (row.duration_ms) " ms" }
                                    td { (row.message.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn source_label(source: &Source) -> String {
    if !source.title.is_empty() {
        source.title.clone()
    } else if let Some(url) = source.url() {
        url.to_owned()
    } else {
        format!("{} source {}", source.kind, source.id)
    }
}

/// A stored schedule as people write it: the seconds field we added is dropped again.
fn display_schedule(stored: &str) -> String {
    match stored.strip_prefix("0 ") {
        Some(five) if five.split(' ').count() == 5 => five.to_owned(),
        _ => stored.to_owned(),
    }
}

/// The health of a source in words, with a class for its colour.
fn health(source: &Source) -> (&'static str, String) {
    match (&source.last_error, source.enabled) {
        (_, false) => ("disabled", "disabled".to_owned()),
        (Some(error), true) => ("failing", format!("failing: {error}")),
        (None, true) if source.last_success_at.is_some() => ("ok", "ok".to_owned()),
        (None, true) => ("pending", "not polled yet".to_owned()),
    }
}

fn next_attempt(source: &Source, now: DateTime<Utc>) -> Markup {
    let at = source.next_poll_at;
    html! {
        @if !source.enabled {
            "—"
        } @else if at <= now {
            time datetime=(at.to_rfc3339()) { "due now" }
        } @else {
            time datetime=(at.to_rfc3339()) title=(at.format("%Y-%m-%d %H:%M UTC").to_string()) {
                (in_words(at, now))
            }
        }
    }
}

/// "in 5 minutes", "in 3 hours", or the date when it is further away.
fn in_words(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds().max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("in 1 {unit}")
        } else {
            format!("in {n} {unit}s")
        }
    };
    match secs {
        0..60 => "in under a minute".to_owned(),
        60..3600 => plural(secs / 60, "minute"),
        3600..86_400 => plural(secs / 3600, "hour"),
        86_400..604_800 => plural(secs / 86_400, "day"),
        _ => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The source's WebSub subscription in words: "push via HUB, lease until …, last push …",
/// or where it stands, with its last error.
fn push_in_words(push: &Subscription, now: DateTime<Utc>) -> Markup {
    html! {
        @match push.state {
            PushState::Active if push.is_active(now) => {
                "push via " (push.hub)
                @if let Some(lease) = push.lease_expires_at { ", lease until " (time(lease, now)) }
                ", last push "
                @match push.last_push_at { Some(at) => (time(at, now)), None => "never" }
            }
            PushState::Active => { "push via " (push.hub) ": the lease ended; renewing" }
            PushState::Pending => { "subscribing at " (push.hub) " (waiting for the hub)" }
            PushState::Unsubscribing => { "unsubscribing from " (push.hub) }
        }
        @if let Some(error) = &push.last_error { " — last error: " (error) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn stored_schedules_read_like_crontab() {
        assert_eq!(display_schedule("0 */15 * * * *"), "*/15 * * * *");
        assert_eq!(display_schedule("30 0 * * * *"), "30 0 * * * *");
        assert_eq!(display_schedule("@hourly"), "@hourly");
        assert_eq!(display_schedule(""), "");
    }

    #[test]
    fn future_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(
            in_words(now + Duration::seconds(5), now),
            "in under a minute"
        );
        assert_eq!(in_words(now + Duration::minutes(61), now), "in 1 hour");
        assert_eq!(in_words(now + Duration::minutes(30), now), "in 30 minutes");
    }
}
