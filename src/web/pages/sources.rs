//! Sources in the browser: paste anything, preview, add; health, schedule, poll now, remove.

use crate::web::error::AppError;

pub async fn sources_get() -> AppError {
    AppError::NotFound
}

pub async fn sources_add_post() -> AppError {
    AppError::NotFound
}

pub async fn sources_preview_post() -> AppError {
    AppError::NotFound
}

pub async fn source_get() -> AppError {
    AppError::NotFound
}

pub async fn source_edit_post() -> AppError {
    AppError::NotFound
}

pub async fn source_poll_post() -> AppError {
    AppError::NotFound
}

pub async fn source_enable_post() -> AppError {
    AppError::NotFound
}

pub async fn source_disable_post() -> AppError {
    AppError::NotFound
}

pub async fn source_remove_post() -> AppError {
    AppError::NotFound
}
