//! Posting and sharing: the compose box on the owner's lifestream and its page
//! (`/{user}/post`, a multipart form: message, link, photos with alt text), the edit and
//! delete pages of a native post (`/e/{id}/edit`, `/e/{id}/delete`), Share with an
//! optional comment (`/e/{id}/share`) and Unshare. Every change goes through
//! `posts::Posts`; a refused form comes back with the message and the text kept.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::model::{Item, ItemId, User};
use crate::posts::photos::{MAX_PHOTO_BYTES, MAX_PHOTOS};
use crate::posts::{
    Draft, MAX_ALT_CHARS, MAX_POST_CHARS, MAX_SHARE_COMMENT_CHARS, PhotoUpload, PostError,
};
use crate::store::items;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CsrfMultipart, CurrentUser, PageCtx};
use crate::web::views::{bdi, csrf_field, layout, notice, urlencode};

use super::stream::{NextForm, back_to};

/// The largest compose form taken: every photo at its largest, plus the text fields.
pub const MAX_COMPOSE_BYTES: usize = MAX_PHOTOS * MAX_PHOTO_BYTES + 256 * 1024;

/// What the compose form holds, for showing it again.
#[derive(Clone, Debug, Default)]
pub struct Compose {
    pub text: String,
    pub link: String,
    pub alts: Vec<String>,
    pub error: Option<String>,
}

/// The compose box at the top of the owner's own lifestream.
pub fn compose_box(ctx: &PageCtx, user: &User, form: &Compose) -> Markup {
    let invalid = form.error.is_some();
    html! {
        form.compose id="compose" method="post" action={ "/" (user.name) "/post" }
            enctype="multipart/form-data" {
            // The token comes first: the server checks it before it reads any file.
            (csrf_field(ctx))
            div.field.invalid[invalid] {
                label for="f-post-text" { "Share something" }
                textarea id="f-post-text" name="text" rows="3" maxlength=(MAX_POST_CHARS)
                    placeholder="What's new?"
                    aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then_some("f-post-error")] { (form.text) }
            }
            details.compose-more open[!form.link.is_empty() || !form.alts.iter().all(String::is_empty)] {
                summary { "Add a link or photos" }
                div.field {
                    label for="f-post-link" { "Link" }
                    input id="f-post-link" type="url" name="link" value=(form.link)
                        placeholder="https://…" inputmode="url";
                }
                @for n in 1..=MAX_PHOTOS {
                    fieldset.photo-field {
                        legend { "Photo " (n) }
                        label for={ "f-photo-" (n) } { "File" }
                        input id={ "f-photo-" (n) } type="file" name={ "photo_" (n) }
                            accept="image/jpeg,image/png,image/gif,image/webp";
                        label for={ "f-alt-" (n) } { "Description (alt text)" }
                        input id={ "f-alt-" (n) } type="text" name={ "alt_" (n) }
                            maxlength=(MAX_ALT_CHARS)
                            value=(form.alts.get(n - 1).map(String::as_str).unwrap_or_default())
                            placeholder="What the photo shows, for people who cannot see it";
                    }
                }
                label.checkbox {
                    input type="checkbox" name="without_alt" value="1";
                    " Post photos without descriptions"
                }
            }
            @if let Some(error) = &form.error {
                p.error id="f-post-error" role="alert" { (error) }
            }
            button type="submit" { "Post" }
        }
    }
}

/// GET `/{user}/post`: the compose form on a page of its own (the owner only).
pub async fn compose_get(
    CurrentUser(me, ctx): CurrentUser,
    Path(name): Path<String>,
) -> Result<Markup, AppError> {
    if !me.name.eq_ignore_ascii_case(&name) {
        return Err(AppError::NotFound);
    }
    Ok(compose_page(&ctx, &me, &Compose::default()))
}

/// GET `/{user}/tributary`: the user's posts, the stream of their native service.
pub async fn service_get(Path(name): Path<String>) -> Redirect {
    Redirect::to(&format!(
        "/{}?service={}",
        urlencode(&name),
        crate::store::posts::NATIVE_KIND
    ))
}

fn compose_page(ctx: &PageCtx, me: &User, form: &Compose) -> Markup {
    layout(
        ctx,
        "New post",
        html! {
            h1 { "New post" }
            (compose_box(ctx, me, form))
        },
    )
}

/// POST `/{user}/post` (multipart: `csrf` first, then `text`, `link`, `photo_N`,
/// `alt_N`, `without_alt`).
pub async fn compose_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    CsrfMultipart(mut form): CsrfMultipart,
) -> Result<Response, AppError> {
    if !me.name.eq_ignore_ascii_case(&name) {
        return Err(AppError::Forbidden);
    }
    // A body announced larger than the form can be is refused before it is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_COMPOSE_BYTES as u64) {
        return Ok(too_large());
    }
    let mut draft = Draft::default();
    let mut compose = Compose {
        alts: vec![String::new(); MAX_PHOTOS],
        ..Compose::default()
    };
    let mut files: Vec<Option<PhotoUpload>> = vec![None; MAX_PHOTOS];
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large()),
            Err(err) => {
                return Err(AppError::BadRequest(format!(
                    "the form could not be read: {err}"
                )));
            }
        };
        let field_name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mut field = field;
        let mut bytes: Vec<u8> = Vec::new();
        let cap = if field_name.starts_with("photo_") {
            MAX_PHOTO_BYTES
        } else {
            crate::web::session::MAX_FORM_BYTES
        };
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > cap {
                        if cap == MAX_PHOTO_BYTES {
                            compose.error = Some(format!(
                                "{} is larger than the {}-MiB limit for one photo. Nothing was posted.",
                                file_name.as_deref().unwrap_or("A photo"),
                                MAX_PHOTO_BYTES / (1024 * 1024)
                            ));
                            return Ok(refused(&ctx, &me, compose, StatusCode::PAYLOAD_TOO_LARGE));
                        }
                        return Ok(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Ok(too_large());
                }
                Err(err) => {
                    return Err(AppError::BadRequest(format!(
                        "the form could not be read: {err}"
                    )));
                }
            }
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match field_name.as_str() {
            "text" => draft.text = text(),
            "link" => draft.link = text(),
            "without_alt" => draft.without_alt = true,
            other => {
                let slot = |prefix: &str| {
                    other
                        .strip_prefix(prefix)
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|n| (1..=MAX_PHOTOS).contains(n))
                        .map(|n| n - 1)
                };
                if let Some(at) = slot("photo_") {
                    // A file input left empty sends an empty part without a name.
                    if !bytes.is_empty() {
                        files[at] = Some(PhotoUpload {
                            name: file_name
                                .filter(|n| !n.trim().is_empty())
                                .unwrap_or_else(|| format!("Photo {}", at + 1)),
                            bytes: std::mem::take(&mut bytes),
                            alt: String::new(),
                        });
                    }
                } else if let Some(at) = slot("alt_") {
                    compose.alts[at] = text();
                }
            }
        }
    }
    compose.text = draft.text.clone();
    compose.link = draft.link.clone();
    for (at, file) in files.into_iter().enumerate() {
        if let Some(mut photo) = file {
            photo.alt = compose.alts[at].clone();
            draft.photos.push(photo);
        }
    }
    match state.posts.create(&me, draft).await {
        Ok(id) => Ok(Redirect::to(&format!("/{}#item-{id}", me.name)).into_response()),
        Err(PostError::Input(message)) => {
            compose.error = Some(message);
            Ok(refused(
                &ctx,
                &me,
                compose,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(err) => Err(app_error(err)),
    }
}

fn refused(ctx: &PageCtx, me: &User, form: Compose, status: StatusCode) -> Response {
    let ctx = PageCtx {
        path: format!("/{}/post", me.name),
        ..ctx.clone()
    };
    (status, compose_page(&ctx, me, &form)).into_response()
}

/// The 413 page of a compose form over the limit: nothing was read further or stored.
fn too_large() -> Response {
    let page = crate::web::views::bare_layout(
        "Too large",
        html! {
            section.error-page {
                h1 { "Too large" }
                p {
                    "This post is larger than Tributary accepts: at most " (MAX_PHOTOS)
                    " photos of " (MAX_PHOTO_BYTES / (1024 * 1024)) " MiB each. Nothing was posted; go back and choose smaller photos."
                }
                p { a href="/" { "Back to the front page" } }
            }
        },
    );
    (StatusCode::PAYLOAD_TOO_LARGE, page).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct TextForm {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub next: String,
}

/// GET `/e/{id}/edit`: the author's edit form.
pub async fn edit_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let item = changeable(&state, &me, &id).await?;
    let text = stored_text(&item);
    Ok(edit_page(&ctx, &item, &text, None))
}

/// POST `/e/{id}/edit`.
pub async fn edit_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TextForm>,
) -> Result<Response, AppError> {
    let item = changeable(&state, &me, &id).await?;
    match state.posts.edit(&me, item.id, &form.text).await {
        Ok(()) => {
            Ok(Redirect::to(&back_to(&form.next, &format!("/e/{}", item.id))).into_response())
        }
        Err(PostError::Input(message)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            edit_page(&ctx, &item, &form.text, Some(&message)),
        )
            .into_response()),
        Err(err) => Err(app_error(err)),
    }
}

/// GET `/e/{id}/delete`: asks before deleting.
pub async fn delete_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let item = changeable(&state, &me, &id).await?;
    let what = if crate::posts::is_share(&item) {
        "share"
    } else {
        "post"
    };
    Ok(layout(
        &ctx,
        &format!("Delete this {what}?"),
        html! {
            h1 { "Delete this " (what) "?" }
            p { "It leaves your stream, your feeds and your followers' timelines. Comments on it stay for those who wrote them." }
            blockquote.delete-preview { (stored_text(&item)) }
            form method="post" action={ "/e/" (item.id) "/delete" } {
                (csrf_field(&ctx))
                button.danger type="submit" { "Delete" }
                " "
                a href={ "/e/" (item.id) } { "Cancel" }
            }
        },
    ))
}

/// POST `/e/{id}/delete`.
pub async fn delete_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(_form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let item = changeable(&state, &me, &id).await?;
    state.posts.delete(&me, item.id).await.map_err(app_error)?;
    Ok(Redirect::to(&format!("/{}", me.name)))
}

/// GET `/e/{id}/share`: Share with an optional comment.
pub async fn share_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let item = shareable(&state, &me, &id).await?;
    Ok(share_page(&ctx, &item, "", None))
}

/// POST `/e/{id}/share`.
pub async fn share_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TextForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    match state.posts.share(&me, id, &form.text).await {
        Ok(share) => Ok(Redirect::to(&format!("/{}#item-{share}", me.name)).into_response()),
        Err(PostError::Input(message)) => {
            let item = load(&state, id).await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                share_page(&ctx, &item, &form.text, Some(&message)),
            )
                .into_response())
        }
        Err(err) => Err(app_error(err)),
    }
}

/// POST `/e/{id}/unshare`.
pub async fn unshare_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let id = parse_id(&id)?;
    state.posts.unshare(&me, id).await.map_err(app_error)?;
    Ok(Redirect::to(&back_to(&form.next, &format!("/e/{id}"))))
}

fn share_page(ctx: &PageCtx, item: &Item, text: &str, error: Option<&str>) -> Markup {
    let invalid = error.is_some();
    layout(
        ctx,
        "Share",
        html! {
            h1 { "Share " (bdi(&item.user_name)) "'s item" }
            p {
                a href={ "/e/" (item.id) } {
                    @if item.title.is_empty() { "The item" } @else { "“" (bdi(&item.title)) "”" }
                }
                " goes into your stream, naming " (bdi(&item.user_name)) ", who will be told."
            }
            form.share-form method="post" action={ "/e/" (item.id) "/share" } {
                (csrf_field(ctx))
                div.field.invalid[invalid] {
                    label for="f-share-text" { "Your comment (optional)" }
                    textarea id="f-share-text" name="text" rows="3" maxlength=(MAX_SHARE_COMMENT_CHARS)
                        aria-invalid=[invalid.then_some("true")]
                        aria-describedby=[invalid.then_some("f-share-error")] { (text) }
                    @if let Some(error) = error {
                        p.error id="f-share-error" role="alert" { (error) }
                    }
                }
                button type="submit" { "Share" }
                " "
                a href={ "/e/" (item.id) } { "Cancel" }
            }
        },
    )
}

fn edit_page(ctx: &PageCtx, item: &Item, text: &str, error: Option<&str>) -> Markup {
    let invalid = error.is_some();
    let (heading, label, max) = if crate::posts::is_share(item) {
        ("Edit share", "Your comment", MAX_SHARE_COMMENT_CHARS)
    } else {
        ("Edit post", "Text", MAX_POST_CHARS)
    };
    layout(
        ctx,
        heading,
        html! {
            h1 { (heading) }
            (notice(None, false))
            form.edit-post method="post" action={ "/e/" (item.id) "/edit" } {
                (csrf_field(ctx))
                div.field.invalid[invalid] {
                    label for="f-edit-text" { (label) }
                    textarea id="f-edit-text" name="text" rows="5" maxlength=(max)
                        aria-invalid=[invalid.then_some("true")]
                        aria-describedby=[invalid.then_some("f-edit-error")] { (text) }
                    @if let Some(error) = error {
                        p.error id="f-edit-error" role="alert" { (error) }
                    }
                }
                button type="submit" { "Save" }
                " "
                a href={ "/e/" (item.id) } { "Cancel" }
            }
        },
    )
}

/// The text the author typed, as kept with the item.
fn stored_text(item: &Item) -> String {
    item.extra
        .get("post_text")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn changeable(state: &AppState, me: &User, id: &str) -> Result<Item, AppError> {
    let id = parse_id(id)?;
    state.posts.changeable(me, id).await.map_err(app_error)
}

async fn shareable(state: &AppState, me: &User, id: &str) -> Result<Item, AppError> {
    let id = parse_id(id)?;
    let (item, item_state) = state
        .store
        .read(move |conn| {
            Ok((
                items::get(conn, id)?,
                crate::store::social::item_state(conn, id)?,
            ))
        })
        .await?;
    if !item_state.is_public() && item.user_id != me.id {
        return Err(AppError::NotFound);
    }
    if !crate::posts::may_share(me, &item, item_state) {
        return Err(AppError::Forbidden);
    }
    Ok(item)
}

async fn load(state: &AppState, id: ItemId) -> Result<Item, AppError> {
    Ok(state.store.read(move |conn| items::get(conn, id)).await?)
}

fn app_error(err: PostError) -> AppError {
    match err {
        PostError::Input(message) => AppError::BadRequest(message),
        PostError::NotFound => AppError::NotFound,
        PostError::Forbidden => AppError::Forbidden,
        other => AppError::Internal(other.to_string()),
    }
}

/// Ids in paths are positive integers; anything else is a page that does not exist.
fn parse_id(text: &str) -> Result<ItemId, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ItemId)
        .ok_or(AppError::NotFound)
}
