//! Exports served over HTTP: Atom, RSS, JSON Feed, OPML.

use crate::web::error::AppError;

pub async fn user_atom_get() -> AppError {
    AppError::NotFound
}

pub async fn user_rss_get() -> AppError {
    AppError::NotFound
}

pub async fn user_json_get() -> AppError {
    AppError::NotFound
}

pub async fn user_opml_get() -> AppError {
    AppError::NotFound
}

pub async fn friends_atom_get() -> AppError {
    AppError::NotFound
}

pub async fn service_atom_get() -> AppError {
    AppError::NotFound
}

pub async fn comments_atom_get() -> AppError {
    AppError::NotFound
}
