//! Errors of handlers, mapped to statuses and error pages in one place. Internal errors are
//! logged once and shown only as "Something went wrong".

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::views;
use crate::store::StoreError;

#[derive(Debug)]
pub enum AppError {
    NotFound,
    /// Not logged in: go to the login page and come back to `next`.
    LoginRequired {
        next: String,
    },
    Forbidden,
    /// A form without the right CSRF token, or from another origin.
    Csrf,
    /// A form sent to a host name that is not this instance's (DNS rebinding).
    MisdirectedHost {
        host: String,
        base_url: String,
    },
    BadRequest(String),
    /// A request body over the form limit (413).
    PayloadTooLarge,
    TooManyRequests(String),
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
        let (status, title, message) = match self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.".to_owned(),
            ),
            AppError::LoginRequired { next } => {
                let location = format!("/login?next={}", views::urlencode(&next));
                return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
            }
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "You are not allowed to do that.".to_owned(),
            ),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from this site. Go back, reload the page and try again.".to_owned(),
            ),
            AppError::MisdirectedHost { host, base_url } => (
                StatusCode::MISDIRECTED_REQUEST,
                "Wrong address",
                format!(
                    "This form was sent to the host name “{host}”, which is not this instance's \
                     address. Open the instance at {base_url} and try again. If that is not its \
                     address, set server.base_url to the address people use."
                ),
            ),
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, "Bad request", message),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                format!(
                    "This form is larger than Tributary accepts ({} KiB). Nothing was saved; \
                     go back and send less.",
                    super::session::MAX_FORM_BYTES / 1024
                ),
            ),
            AppError::TooManyRequests(message) => {
                (StatusCode::TOO_MANY_REQUESTS, "Slow down", message)
            }
            AppError::Internal(err) => {
                tracing::error!(error = %err, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Try again in a moment.".to_owned(),
                )
            }
        };
        let page = views::bare_layout(
            title,
            html! {
                section.error-page {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/" { "Back to the front page" } }
                }
            },
        );
        (status, page).into_response()
    }
}
