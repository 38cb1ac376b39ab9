//! Streams: everyone's (`/`), a user's lifestream, friends, likes, discussions; follow.

use axum::extract::{Query, State};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::model::Cursor;
use crate::store::items::{StreamQuery, stream_page};
use crate::store::users;
use crate::web::error::AppError;
use crate::web::session::PageCtx;
use crate::web::views::{layout, time};
use crate::web::{AppState, PAGE_SIZE};

use super::auth::{FormErrors, NewUserForm, setup_page};

#[derive(Debug, Default, Deserialize)]
pub struct StreamParams {
    pub before: Option<String>,
}

/// Everyone's stream; the setup form while the instance has no user.
pub async fn everyone_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(params): Query<StreamParams>,
) -> Result<Markup, AppError> {
    if state.store.read(users::count).await? == 0 {
        return Ok(setup_page(&ctx, &NewUserForm::default(), &FormErrors::new()));
    }
    let before = match params.before.as_deref() {
        Some(text) => Some(
            Cursor::decode(text)
                .ok_or_else(|| AppError::BadRequest("that page link is not valid".into()))?,
        ),
        None => None,
    };
    let query = StreamQuery {
        before,
        limit: PAGE_SIZE,
        ..StreamQuery::default()
    };
    let page = state
        .store
        .read(move |conn| stream_page(conn, &query))
        .await?;
    let now = Utc::now();
    Ok(layout(
        &ctx,
        "Everyone",
        html! {
            @if page.items.is_empty() {
                p.empty { "Nothing here yet." }
            }
            @for item in &page.items {
                article {
                    p.muted { (item.user_name) " · " (item.source_title) " · " (time(item.published_at, now)) }
                    @if !item.title.is_empty() { h2 { (item.title) } }
                    div.content { (item.content) }
                }
            }
            @if let Some(next) = page.next {
                nav.pages { a rel="next" href={ "/?before=" (next.encode()) } { "Older items" } }
            }
        },
    ))
}

pub async fn user_get() -> AppError {
    AppError::NotFound
}

pub async fn friends_get() -> AppError {
    AppError::NotFound
}

pub async fn likes_get() -> AppError {
    AppError::NotFound
}

pub async fn discussions_get() -> AppError {
    AppError::NotFound
}

pub async fn follow_post() -> AppError {
    AppError::NotFound
}

pub async fn unfollow_post() -> AppError {
    AppError::NotFound
}
