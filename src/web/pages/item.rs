//! One item (`/e/{id}`) with its comments and likes; comment, like, hide.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::events::Event;
use crate::model::{CommentId, Item, ItemId, User};
use crate::social::{
    MAX_COMMENT_CHARS, Relation, Visibility, comment_bumps, like_bumps, may_delete_comment,
    may_edit_comment, may_hide_item, validate_comment,
};
use crate::store::social::{self, Comment, ItemSocial, ItemState};
use crate::store::{Store, items, visibility};
use crate::users::capitalized;
use crate::web::AppState;
use crate::web::cards::{CardMode, CommentDraft, comment_view, item_card};
use crate::web::error::AppError;
use crate::web::limit::describe_wait;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views::{csrf_field, layout, layout_with_head, notice};

use super::federation;
use super::stream::{NextForm, back_to};

#[derive(Debug, Default, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub next: String,
}

pub async fn item_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    // The same URL is the item's ActivityPub object, chosen by `Accept`.
    let answer = if federation::wants_activity_json(&headers) {
        match parse_id(&id) {
            Ok(id) => federation::note_response(&state, ItemId(id)).await,
            Err(err) => Err(err),
        }
    } else {
        item_html(&state, &ctx, &id).await
    };
    Ok(federation::vary_accept(answer.into_response()))
}

async fn item_html(state: &AppState, ctx: &PageCtx, id: &str) -> Result<Response, AppError> {
    let id = parse_id(id).map(ItemId)?;
    let full = load_full(&state.store, id, ctx).await?;
    Ok(item_page(ctx, &full, &CommentDraft::default()).into_response())
}

pub async fn comment_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<CommentForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    let script = from_script(&headers);
    let (item, item_state) = load_visible(&state.store, id, &me).await?;
    let limiter_key = me.id.to_string();
    let hit = match state.comment_limiter.try_hit(&limiter_key) {
        Ok(hit) => hit,
        Err(wait) => {
            // The page comes back with the typed text kept and the reason, not a bare
            // error page that loses the comment.
            let message = format!(
                "You are commenting too fast; try again in {}.",
                describe_wait(wait)
            );
            if script {
                return Ok(script_error(StatusCode::TOO_MANY_REQUESTS, message));
            }
            return refused(
                &state,
                ctx,
                id,
                &form,
                &message,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
    };
    let body = match validate_comment(&form.body) {
        Ok(body) => body,
        Err(err) => {
            // A refused comment does not count.
            state.comment_limiter.refund(hit);
            if script {
                let message = sentence(&err.to_string());
                return Ok(script_error(StatusCode::UNPROCESSABLE_ENTITY, message));
            }
            let message = sentence(&err.to_string());
            return refused(
                &state,
                ctx,
                id,
                &form,
                &message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let now = Utc::now();
    let federation = state.federation.clone();
    let owner_id = item.user_id;
    let (comment_id, queued, n_comments) = state
        .store
        .write(move |tx| {
            let comment_id = social::add_comment(tx, item.id, me.id, &body, now)?;
            if comment_bumps() {
                social::bump(tx, item.id, now)?;
            }
            // The owner answering a thread that has people from elsewhere in it.
            let queued = if me.id == item.user_id {
                federation.owner_reply_in(tx, &item, comment_id, &body, now)?
            } else {
                0
            };
            let n_comments = social::n_comments_of(tx, item.id)?;
            Ok((comment_id, queued, n_comments))
        })
        .await?;
    if queued > 0 {
        state.federation.wake();
    }
    tracing::debug!(item_id = %id, comment_id = %comment_id, "comment added");
    state.events.publish(Event::Comment {
        item_id: id,
        owner_id,
        public: item_state.is_public(),
        comment_id: Some(comment_id),
        n_comments,
    });
    if script {
        let answer = serde_json::json!({ "comment": comment_id, "n_comments": n_comments });
        return Ok(Json(answer).into_response());
    }
    let fallback = format!("/e/{id}#c-{comment_id}");
    Ok(Redirect::to(&back_to(&form.next, &fallback)).into_response())
}

/// The item page again with the comment form holding `form`'s text and `message`.
async fn refused(
    state: &AppState,
    ctx: PageCtx,
    id: ItemId,
    form: &CommentForm,
    message: &str,
    status: StatusCode,
) -> Result<Response, AppError> {
    let full = load_full(&state.store, id, &ctx).await?;
    // The re-rendered forms send people back where they came from, not to this POST-only
    // address.
    let back = back_to(&form.next, &format!("/e/{id}"));
    let ctx = PageCtx {
        path: back.split('#').next().unwrap_or_default().to_owned(),
        ..ctx
    };
    let draft = CommentDraft {
        body: &form.body,
        error: Some(message),
    };
    Ok((status, item_page(&ctx, &full, &draft)).into_response())
}

/// One comment as the item page shows it (`li.comment`), for the page script to add
/// where an event said a comment arrived; `NotFound` unless the viewer may see the item.
pub async fn comment_fragment_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, comment_id)): Path<(String, String)>,
) -> Result<Markup, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    let comment_id = parse_id(&comment_id).map(CommentId)?;
    let full = load_full(&state.store, id, &ctx).await?;
    let comment = full
        .social
        .comments
        .iter()
        .find(|comment| comment.id == comment_id)
        .ok_or(AppError::NotFound)?;
    Ok(comment_view(&ctx, comment, &full.item, Utc::now()))
}

pub async fn comment_edit_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let id = parse_id(&id).map(CommentId)?;
    let comment = load_editable(&state.store, id, &me).await?;
    Ok(edit_page(&ctx, &comment, &comment.body, None))
}

pub async fn comment_edit_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CommentForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id).map(CommentId)?;
    let comment = load_editable(&state.store, id, &me).await?;
    let body = match validate_comment(&form.body) {
        Ok(body) => body,
        Err(err) => {
            let message = sentence(&err.to_string());
            let page = edit_page(&ctx, &comment, &form.body, Some(&message));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let now = Utc::now();
    state
        .store
        .write(move |tx| social::edit_comment(tx, id, &body, now))
        .await?;
    let fallback = format!("/e/{}#c-{}", comment.item_id, comment.id);
    Ok(Redirect::to(&back_to(&form.next, &fallback)).into_response())
}

pub async fn comment_delete_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let id = parse_id(&id).map(CommentId)?;
    let comment = state
        .store
        .read(move |conn| social::comment(conn, id))
        .await?;
    let (item, item_state) = load_visible(&state.store, comment.item_id, &me).await?;
    if !may_delete_comment(&me, comment.user_id, item.user_id) {
        return Err(AppError::Forbidden);
    }
    let item_id = item.id;
    let n_comments = state
        .store
        .write(move |tx| {
            social::delete_comment(tx, id)?;
            social::n_comments_of(tx, item_id)
        })
        .await?;
    state.events.publish(Event::Comment {
        item_id,
        owner_id: item.user_id,
        public: item_state.is_public(),
        comment_id: None,
        n_comments,
    });
    Ok(Redirect::to(&back_to(
        &at_card(&form.next, item_id),
        &format!("/e/{}#comments", item.id),
    )))
}

pub async fn like_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    let (item, item_state) = load_visible(&state.store, id, &me).await?;
    let now = Utc::now();
    let bumps = like_bumps(item.published_at, now);
    let n_likes = state
        .store
        .write(move |tx| {
            let is_new = social::like(tx, id, me.id, now)?;
            if is_new && bumps {
                social::bump(tx, id, now)?;
            }
            social::n_likers_of(tx, id)
        })
        .await?;
    Ok(liked(
        &state, &headers, &form.next, &item, item_state, n_likes, true,
    ))
}

pub async fn unlike_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    let (item, item_state) = load_visible(&state.store, id, &me).await?;
    let n_likes = state
        .store
        .write(move |tx| {
            social::unlike(tx, id, me.id)?;
            social::n_likers_of(tx, id)
        })
        .await?;
    Ok(liked(
        &state, &headers, &form.next, &item, item_state, n_likes, false,
    ))
}

/// After a like or unlike: tells the item's event streams, then answers the page script
/// with JSON, a plain form with the redirect back.
fn liked(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    item: &Item,
    item_state: ItemState,
    n_likes: usize,
    liked: bool,
) -> Response {
    state.events.publish(Event::Likes {
        item_id: item.id,
        owner_id: item.user_id,
        public: item_state.is_public(),
        n_likes,
    });
    if from_script(headers) {
        let answer = serde_json::json!({ "liked": liked, "n_likes": n_likes });
        return Json(answer).into_response();
    }
    back_to_item(next, item.id).into_response()
}

/// Whether the page script sent this form (`X-Requested-With: fetch`): it wants JSON,
/// not a redirect. Plain forms keep the redirect.
fn from_script(headers: &HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"fetch"))
}

/// A refusal the page script shows beside the form, keeping the text typed.
fn script_error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

pub async fn hide_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    load_hideable(&state.store, id, &me).await?;
    state.store.write(move |tx| social::hide(tx, id)).await?;
    Ok(back_to_item(&form.next, id))
}

pub async fn unhide_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    load_hideable(&state.store, id, &me).await?;
    let visible = state.store.write(move |tx| social::unhide(tx, id)).await?;
    if !visible {
        return Err(AppError::BadRequest(
            "This item was deleted and cannot be shown again.".into(),
        ));
    }
    Ok(back_to_item(&form.next, id))
}

/// An item with everything its page shows.
struct FullItem {
    item: Item,
    state: ItemState,
    social: ItemSocial,
}

/// The item, all its likers and comments; `NotFound` unless the viewer may see it.
async fn load_full(store: &Store, id: ItemId, ctx: &PageCtx) -> Result<FullItem, AppError> {
    let viewer = ctx.user.as_ref().map(|me| me.id);
    let full = store
        .read(move |conn| {
            let item = items::get(conn, id)?;
            let state = social::item_state(conn, id)?;
            // A deleted item stays reachable, with the comments, for those who commented
            // on it or liked it.
            let took_part = || match viewer {
                Some(me) if state.tombstoned && !state.source_removed => {
                    crate::store::deletions::took_part(conn, id, me)
                }
                _ => Ok(false),
            };
            let relation = visibility::relation(conn, item.user_id, viewer)?;
            let sees = relation == Relation::Owner
                || (relation.may_see(state.visibility) && (state.is_live() || took_part()?));
            if !sees {
                return Err(crate::store::StoreError::NotFound);
            }
            let likers = social::likers_of(conn, id)?;
            let comments = social::comments_of(conn, id, viewer)?;
            let social = ItemSocial {
                n_likes: likers.len(),
                liked_by_viewer: viewer
                    .is_some_and(|me| likers.iter().any(|l| l.user_id == Some(me))),
                likers,
                n_comments: comments.len(),
                comments,
                n_shares: crate::store::federation::n_shares(conn, id)? as usize,
                shared_by_viewer: match viewer {
                    Some(me) => crate::store::posts::share_of(conn, me, id)?.is_some(),
                    None => false,
                },
                hidden: state.hidden,
                also_on: crate::store::also_on::for_items(conn, &[id])?
                    .remove(&id)
                    .unwrap_or_default(),
            };
            Ok(FullItem {
                item,
                state,
                social,
            })
        })
        .await?;
    Ok(full)
}

/// The item, when `me` may see it: theirs, or live and of a visibility their relation to
/// the owner allows (`social::Relation`). A block either way is a refusal (403).
async fn load_visible(store: &Store, id: ItemId, me: &User) -> Result<(Item, ItemState), AppError> {
    let viewer = me.id;
    let (item, state, relation) = store
        .read(move |conn| {
            let item = items::get(conn, id)?;
            let state = social::item_state(conn, id)?;
            let relation = visibility::relation(conn, item.user_id, Some(viewer))?;
            Ok((item, state, relation))
        })
        .await?;
    match relation {
        Relation::Owner => Ok((item, state)),
        Relation::Blocked => Err(AppError::Forbidden),
        _ if state.is_live() && relation.may_see(state.visibility) => Ok((item, state)),
        _ => Err(AppError::NotFound),
    }
}

/// An item `me` may see and hide (its owner's, or any for an admin).
async fn load_hideable(store: &Store, id: ItemId, me: &User) -> Result<Item, AppError> {
    let (item, _) = load_visible(store, id, me).await?;
    if !may_hide_item(me, item.user_id) {
        return Err(AppError::Forbidden);
    }
    Ok(item)
}

/// Back where the form came from (`next`), else to the item's page.
fn back_to_item(next: &str, id: ItemId) -> Redirect {
    Redirect::to(&back_to(&at_card(next, id), &format!("/e/{id}")))
}

/// `next` at the item's card: the page's action form sends the page's own path, and the
/// browser should come back where the button was.
fn at_card(next: &str, id: ItemId) -> String {
    if next.is_empty() || next.contains('#') {
        next.to_owned()
    } else {
        format!("{next}#item-{id}")
    }
}

/// A comment `me` wrote, on an item `me` may still see.
async fn load_editable(store: &Store, id: CommentId, me: &User) -> Result<Comment, AppError> {
    let comment = store.read(move |conn| social::comment(conn, id)).await?;
    load_visible(store, comment.item_id, me).await?;
    if !may_edit_comment(me, comment.user_id) {
        return Err(AppError::Forbidden);
    }
    Ok(comment)
}

fn item_page(ctx: &PageCtx, full: &FullItem, draft: &CommentDraft<'_>) -> Markup {
    let item = &full.item;
    let title = if item.title.is_empty() {
        format!("{}'s item", item.user_name)
    } else {
        item.title.clone()
    };
    let is_owner = ctx.user.as_ref().is_some_and(|me| me.id == item.user_id);
    if full.state.tombstoned && !is_owner {
        // Someone who commented or liked: the comments, not the deleted post.
        let now = Utc::now();
        return layout(
            ctx,
            "Deleted item",
            html! {
                (notice(Some("This item was deleted. Its comments stay here for those who commented on it or liked it."), false))
                @if !full.social.comments.is_empty() {
                    ul.comments id="comments" {
                        @for comment in &full.social.comments {
                            (comment_view(ctx, comment, item, now))
                        }
                    }
                }
            },
        );
    }
    let status = if full.state.tombstoned {
        Some(
            "This item was deleted. Only you and those who commented on it or liked it can see it.",
        )
    } else if full.state.source_removed {
        Some("The source of this item was removed. Only you can see it.")
    } else if full.state.hidden {
        Some("This item is hidden. Only you can see it.")
    } else {
        None
    };
    // The comments feed exists for public items only.
    let feeds = html! {
        @if full.state.is_public() {
            link rel="alternate" type="application/atom+xml" title="Comments (Atom)"
                href={ "/e/" (item.id) "/comments.atom" };
        }
    };
    layout_with_head(
        ctx,
        &title,
        feeds,
        html! {
            (notice(status, false))
            (item_card(ctx, item, &full.social, CardMode::Full, draft, Utc::now()))
            @if is_owner {
                (visibility_form(ctx, item))
            }
        },
    )
}

/// The owner's control of who sees the item (its source's visibility still applies).
fn visibility_form(ctx: &PageCtx, item: &Item) -> Markup {
    html! {
        form.visibility-form method="post" action={ "/e/" (item.id) "/visibility" } {
            (csrf_field(ctx))
            input type="hidden" name="next" value={ "/e/" (item.id) };
            label for="f-visibility" { "Who can see this item" }
            " "
            select id="f-visibility" name="visibility" {
                @for v in Visibility::ALL {
                    option value=(v.as_str()) selected[v == item.own_visibility] { (v.label()) }
                }
            }
            " "
            button type="submit" { "Save" }
            @if item.visibility > item.own_visibility {
                p.hint { "Its source is seen by fewer people: " (item.visibility.label().to_lowercase()) "." }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct VisibilityForm {
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    next: String,
}

/// The owner sets who may see an item.
pub async fn visibility_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<VisibilityForm>,
) -> Result<Redirect, AppError> {
    let id = parse_id(&id).map(ItemId)?;
    let item = load_hideable(&state.store, id, &me).await?;
    let visibility = Visibility::parse(&form.visibility).ok_or_else(|| {
        AppError::BadRequest("Choose who can see the item: everyone, friends or only you.".into())
    })?;
    let now = Utc::now();
    state
        .store
        .write(move |tx| visibility::set_item(tx, item.id, visibility, now))
        .await?;
    state.federation.wake();
    Ok(back_to_item(&form.next, id))
}

fn edit_page(ctx: &PageCtx, comment: &Comment, body: &str, error: Option<&str>) -> Markup {
    layout(
        ctx,
        "Edit comment",
        html! {
            h1 { "Edit comment" }
            form.comment-form method="post" action={ "/c/" (comment.id) "/edit" } {
                (csrf_field(ctx))
                input type="hidden" name="next" value={ "/e/" (comment.item_id) "#c-" (comment.id) };
                div.field.invalid[error.is_some()] {
                    label for="f-body" { "Comment" }
                    textarea id="f-body" name="body" rows="5" maxlength=(MAX_COMMENT_CHARS)
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| "f-body-error")] { (body) }
                    @if let Some(error) = error {
                        p.error id="f-body-error" role="alert" { (error) }
                    }
                }
                button type="submit" { "Save" }
                " "
                a href={ "/e/" (comment.item_id) "#c-" (comment.id) } { "Cancel" }
            }
        },
    )
}

/// Ids in paths are positive integers; anything else is a page that does not exist.
fn parse_id(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

/// A rule's message as a sentence.
fn sentence(message: &str) -> String {
    format!("{}.", capitalized(message))
}
