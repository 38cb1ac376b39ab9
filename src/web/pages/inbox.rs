//! The inboxes: `POST /{user}/inbox`, the shared `POST /inbox` and the instance actor's
//! `POST /actor/inbox`. Each hands the request to `federation::Federation::receive`
//! (signature, key, origin and replay checks, then the activity's effect) and answers
//! 202, or the refusal's status with its reason in words. A comment or like that arrived
//! is told to the pages open on its item (live updates), as a local one is.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::events::Event;
use crate::federation::inbox::{Outcome, Touch};
use crate::federation::receive::{self, InboxError, Request};
use crate::model::ItemId;
use crate::store::{federation as db, items, social, users};
use crate::web::AppState;

/// `POST /{user}/inbox`.
pub async fn user_inbox_post(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let federates = state
        .store
        .read(move |conn| {
            let user = users::by_name(conn, &name)?;
            Ok(db::settings(conn, user.id)?.enabled)
        })
        .await;
    match federates {
        Ok(true) => receive_post(&state, &uri, headers, body).await,
        _ => refusal(StatusCode::NOT_FOUND, "no such inbox"),
    }
}

/// `POST /inbox` (the shared inbox) and `POST /actor/inbox`.
pub async fn shared_inbox_post(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive_post(&state, &uri, headers, body).await
}

async fn receive_post(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(target_uri) = url::Url::parse(&format!("{}{path}", state.config.base_url())) else {
        return refusal(StatusCode::BAD_REQUEST, "bad request target");
    };
    // Per remote host (the one the signature names), before any work.
    let host = receive::claimed_host(&headers, &target_uri).unwrap_or_else(|| "?".into());
    if let Err(wait) = state.inbox_limiter.try_hit(&host) {
        let mut response = refusal(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many activities from {host}; try again later"),
        );
        if let Ok(value) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let request = Request {
        method: Method::POST,
        target_uri,
        headers,
        body,
    };
    match state.federation.receive(request).await {
        Ok(Outcome::Done(what)) => {
            tracing::debug!(host = %host, what, "inbox: activity applied");
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Outcome::Touched { what, item, change }) => {
            tracing::debug!(host = %host, what, "inbox: activity applied");
            tell_pages(state, item, change).await;
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Outcome::Ignored(why)) => {
            tracing::debug!(host = %host, why = %why, "inbox: activity ignored");
            StatusCode::ACCEPTED.into_response()
        }
        Err(err) => {
            let status =
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if matches!(err, InboxError::Internal(_)) {
                tracing::warn!(host = %host, error = %err, "inbox: failed");
            } else {
                tracing::info!(host = %host, status = status.as_u16(), reason = %err, "inbox: refused");
            }
            refusal(status, &err.to_string())
        }
    }
}

/// Tells the event streams of `item`'s pages what changed, with the counts they show. A
/// failed read only costs the live update: the activity is stored.
async fn tell_pages(state: &AppState, item: ItemId, change: Touch) {
    let read = state
        .store
        .read(move |conn| {
            let owner = items::get(conn, item)?.user_id;
            let public = social::item_state(conn, item)?.is_public();
            let n = match change {
                Touch::Comment(_) => social::n_comments_of(conn, item)?,
                Touch::Likes => social::n_likers_of(conn, item)?,
            };
            Ok((owner, public, n))
        })
        .await;
    let (owner_id, public, n) = match read {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(item_id = %item, error = %err, "inbox: no live update");
            return;
        }
    };
    state.events.publish(match change {
        Touch::Comment(comment_id) => Event::Comment {
            item_id: item,
            owner_id,
            public,
            comment_id: Some(comment_id),
            n_comments: n,
        },
        Touch::Likes => Event::Likes {
            item_id: item,
            owner_id,
            public,
            n_likes: n,
        },
    });
}

fn refusal(status: StatusCode, reason: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{reason}\n"),
    )
        .into_response()
}
