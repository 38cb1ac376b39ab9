//! The web server: axum router, maud views, security headers. Reads through `store` and
//! never fetches. This is the plain first page (newest items, paginated); the full
//! lifestream site grows from here.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::model::{Cursor, Item, Page};
use crate::store::items::{StreamQuery, stream_page};
use crate::store::{Store, StoreError};

/// Items on one page of a stream.
pub const PAGE_SIZE: usize = 50;

/// Every response carries these. No inline script is allowed anywhere, feed HTML can
/// neither load frames nor submit forms elsewhere, and nothing may frame our pages.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src https: http: data:; \
     media-src https: http:; style-src 'self' 'unsafe-inline'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
}

/// The whole route table. Pure: no IO here.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(stream_get))
        .route("/healthz", get(healthz_get))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[derive(Deserialize)]
struct StreamParams {
    before: Option<String>,
}

async fn stream_get(
    State(state): State<AppState>,
    Query(params): Query<StreamParams>,
) -> Result<Markup, AppError> {
    let before = match params.before.as_deref() {
        Some(text) => Some(
            Cursor::decode(text)
                .ok_or(AppError::BadRequest("that page link is not valid".into()))?,
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
    Ok(stream_view(&page, Utc::now()))
}

async fn healthz_get(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state
        .store
        .read(crate::store::ping)
        .await?;
    Ok("ok")
}

async fn not_found() -> AppError {
    AppError::NotFound
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header { a href="/" { "Tributary" } }
                main { (body) }
            }
        }
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:0 auto;padding:0 1rem;color:#222}\
header{padding:1rem 0;border-bottom:1px solid #ddd;font-weight:600}header a{color:inherit;text-decoration:none}\
article{padding:1rem 0;border-bottom:1px solid #eee;overflow-wrap:anywhere}article img{max-width:100%;height:auto}\
.meta{color:#666;font-size:.875rem}.empty{color:#666;padding:2rem 0}nav.pages{padding:1rem 0}";

fn stream_view(page: &Page<Item>, now: DateTime<Utc>) -> Markup {
    layout(
        "Tributary",
        html! {
            @if page.items.is_empty() {
                p.empty { "Nothing here yet. Add a source with "
                    code { "tributary source add USER URL" } "." }
            }
            @for item in &page.items {
                article {
                    div.meta {
                        (item.user_name) " · " (item.source_title) " · "
                        time datetime=(item.published_at.to_rfc3339()) title=(item.published_at.format("%Y-%m-%d %H:%M UTC")) {
                            (relative_time(item.published_at, now))
                        }
                    }
                    @if !item.title.is_empty() {
                        h2 {
                            @if let Some(url) = &item.url {
                                a href=(url) rel="noopener noreferrer" referrerpolicy="no-referrer" { (item.title) }
                            } @else { (item.title) }
                        }
                    }
                    div.content { (item.content) }
                }
            }
            @if let Some(next) = page.next {
                nav.pages { a rel="next" href={ "/?before=" (next.encode()) } { "Older items →" } }
            }
        },
    )
}

/// "5 minutes ago", "3 days ago", or the date for older items.
pub fn relative_time(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => plural(secs / 60, "minute"),
        3600..86_400 => plural(secs / 3600, "hour"),
        86_400..2_592_000 => plural(secs / 86_400, "day"),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// Errors of handlers, mapped to statuses in one place. Internal errors are logged and
/// shown only as "Something went wrong".
#[derive(Debug)]
pub enum AppError {
    NotFound,
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "Nothing here.".to_owned()),
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            AppError::Internal(err) => {
                tracing::error!(error = %err, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong.".to_owned(),
                )
            }
        };
        (status, layout("Tributary", html! { p { (message) } })).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(
            relative_time(now - Duration::minutes(1), now),
            "1 minute ago"
        );
        assert_eq!(relative_time(now - Duration::hours(5), now), "5 hours ago");
        assert_eq!(relative_time(now + Duration::hours(5), now), "just now");
    }
}
