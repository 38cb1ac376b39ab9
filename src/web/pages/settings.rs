//! Settings: profile, password, users and invitations (admins).

use crate::web::error::AppError;

pub async fn settings_get() -> AppError {
    AppError::NotFound
}

pub async fn profile_post() -> AppError {
    AppError::NotFound
}

pub async fn password_post() -> AppError {
    AppError::NotFound
}

pub async fn users_get() -> AppError {
    AppError::NotFound
}

pub async fn users_post() -> AppError {
    AppError::NotFound
}

pub async fn invites_post() -> AppError {
    AppError::NotFound
}
