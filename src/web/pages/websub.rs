//! The WebSub callback, `/websub/{token}` (W3C WebSub, subscriber side): `GET` is the
//! hub's intent verification (the challenge echoed as text/plain) or its denial, `POST`
//! a pushed document (body read under `websub.max_push_bytes`, then handed to
//! `websub_in::Subscriber::receive`, which checks the signature before parsing). Statuses
//! here; the rules in `websub_in.rs`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use crate::web::AppState;
use crate::websub_in::{PushBody, Pushed, Verification, Verified};

/// `GET /websub/{token}`.
pub async fn callback_get(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<Verification>,
) -> Response {
    match state.websub.verify(token, query).await {
        Ok(Verified::Challenge(challenge)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        Ok(Verified::Heard) => StatusCode::OK.into_response(),
        Ok(Verified::NotFound) => text(StatusCode::NOT_FOUND, "no such subscription"),
        Err(err) => {
            tracing::warn!(error = %err, "websub: verification failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong")
        }
    }
}

/// `POST /websub/{token}`.
pub async fn callback_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let max = usize::try_from(state.config.websub.max_push_bytes).unwrap_or(usize::MAX);
    let body = match Limited::new(body, max).collect().await {
        Ok(collected) => PushBody::Bytes(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => PushBody::TooLarge,
        Err(_) => return text(StatusCode::BAD_REQUEST, "the body could not be read"),
    };
    let signature = headers
        .get("x-hub-signature")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match state.websub.receive(token, signature, body).await {
        Pushed::Stored { .. } => text(StatusCode::ACCEPTED, "stored"),
        Pushed::Gone => text(StatusCode::GONE, "no such subscription"),
        Pushed::Forbidden(why) => text(StatusCode::FORBIDDEN, &why),
        Pushed::TooLarge(why) => text(StatusCode::PAYLOAD_TOO_LARGE, &why),
        Pushed::NotAFeed(why) => text(StatusCode::BAD_REQUEST, &why),
        Pushed::Failed => text(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong"),
    }
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}
