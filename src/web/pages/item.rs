//! One item (`/e/{id}`) with its comments and likes; comment, like, hide.

use crate::web::error::AppError;

pub async fn item_get() -> AppError {
    AppError::NotFound
}

pub async fn comment_post() -> AppError {
    AppError::NotFound
}

pub async fn comment_edit_get() -> AppError {
    AppError::NotFound
}

pub async fn comment_edit_post() -> AppError {
    AppError::NotFound
}

pub async fn comment_delete_post() -> AppError {
    AppError::NotFound
}

pub async fn like_post() -> AppError {
    AppError::NotFound
}

pub async fn unlike_post() -> AppError {
    AppError::NotFound
}

pub async fn hide_post() -> AppError {
    AppError::NotFound
}

pub async fn unhide_post() -> AppError {
    AppError::NotFound
}
