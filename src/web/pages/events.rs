//! `GET /events?scope=…`: a page's Server-Sent Events stream (`user:NAME`,
//! `friends:NAME`, `item:ID`, `source:ID`). The scope is resolved and checked once when the
//! stream opens; then each event of the hub is filtered in memory (`events::Scope`), so an
//! open stream costs a receiver and no query per event.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::events::Scope;
use crate::model::{ItemId, SourceId};
use crate::store::{items, social, users};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::session::PageCtx;

/// A comment line this often keeps proxies and browsers from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a browser waits before it reconnects a dropped stream (the SSE `retry`).
const RETRY: Duration = Duration::from_secs(3);

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    pub scope: String,
}

pub async fn events_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(query): Query<EventsQuery>,
) -> Result<Response, AppError> {
    let viewer = ctx.user.as_ref().map(|me| me.id);
    let scope = resolve(&state, &ctx, &query.scope).await?;
    let receiver = state.events.subscribe();
    let hello = SseEvent::default().retry(RETRY).comment("hello");
    let events = stream::unfold((receiver, scope), move |(mut receiver, scope)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) if scope.admits(&event, viewer) => {
                    let (name, data) = event.frame();
                    let frame = SseEvent::default().event(name).data(data);
                    return Some((Ok::<_, Infallible>(frame), (receiver, scope)));
                }
                Ok(_) => {}
                // This stream fell behind: the page is told to reload what it shows.
                Err(RecvError::Lagged(n_missed)) => {
                    let frame = SseEvent::default()
                        .event("lagged")
                        .data(n_missed.to_string());
                    return Some((Ok(frame), (receiver, scope)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let frames = futures_util::StreamExt::chain(stream::once(async { Ok(hello) }), events);
    let mut response = Sse::new(frames)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    // Proxies (nginx) must pass frames on as they come.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// The scope named by `text`, when the viewer may see that page: an unknown user or item,
/// an item that is not public (unless it is the viewer's), or someone else's source is
/// `NotFound`, as the page itself is.
async fn resolve(state: &AppState, ctx: &PageCtx, text: &str) -> Result<Scope, AppError> {
    let viewer = ctx.user.clone();
    let (kind, value) = text.split_once(':').ok_or(AppError::NotFound)?;
    match kind {
        "user" | "friends" => {
            let name = value.to_owned();
            let want_friends = kind == "friends";
            state
                .store
                .read(move |conn| {
                    let user = users::by_name(conn, &name)?;
                    Ok(if want_friends {
                        let followees: HashSet<_> =
                            social::followee_ids(conn, user.id)?.into_iter().collect();
                        Scope::Friends(followees)
                    } else {
                        Scope::User(user.id)
                    })
                })
                .await
                .map_err(AppError::from)
        }
        "item" => {
            let id = parse_id(value).map(ItemId)?;
            let (item, item_state) = state
                .store
                .read(move |conn| Ok((items::get(conn, id)?, social::item_state(conn, id)?)))
                .await?;
            let is_owner = viewer.is_some_and(|me| me.id == item.user_id);
            if !item_state.is_public() && !is_owner {
                return Err(AppError::NotFound);
            }
            Ok(Scope::Item(id))
        }
        "source" => {
            let id = parse_id(value).map(SourceId)?;
            let me = viewer.ok_or(AppError::NotFound)?;
            match state.sources.get(&me, id).await {
                Ok(source) if source.user_id == me.id => Ok(Scope::Source(id)),
                _ => Err(AppError::NotFound),
            }
        }
        _ => Err(AppError::NotFound),
    }
}

fn parse_id(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}
