//! First-run setup, login, logout, sign-up and invitations.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SignedCookieJar;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::auth;
use crate::config::Signup;
use crate::model::User;
use crate::store::sessions::InviteState;
use crate::store::{StoreError, sessions, users};
use crate::users::{NewAccount, UsersError};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::limit::{ClientAddr, describe_wait};
use crate::web::session::{CsrfForm, PageCtx, log_in, log_out, token_hash};
use crate::web::views::{csrf_field, field, layout, notice, safe_next};

/// Field name → message, for re-rendering a form next to the fields.
pub type FormErrors = BTreeMap<&'static str, String>;

/// The client address for rate limits: the connecting socket's, or with
/// `auth.behind_proxy` the last `X-Forwarded-For` entry (the one our proxy appended).
pub struct ClientIp(pub ClientAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(ClientIp(ClientAddr::of_request(
            &parts.headers,
            peer,
            state.config.auth.behind_proxy,
        )))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password2: String,
}

/// Creates the account through the users service (every rule lives there); its errors
/// come back as messages beside the fields. `check` runs inside the same write
/// transaction (e.g. "there is still no user" for setup, "the invitation is unused").
pub async fn create_user(
    state: &AppState,
    form: &NewUserForm,
    is_admin: bool,
    check: impl FnOnce(&rusqlite::Transaction<'_>, crate::model::UserId) -> Result<(), StoreError>
    + Send
    + 'static,
) -> Result<User, FormErrors> {
    let account = NewAccount {
        name: form.name.clone(),
        display_name: form.display_name.clone(),
        password: form.password.clone(),
        password_again: Some(form.password2.clone()),
        is_admin,
    };
    match state.users.create(&account, check).await {
        Ok(user) => Ok(user),
        Err(UsersError::Fields(errors)) => Err(errors),
        Err(_) => Err(FormErrors::from([(
            "name",
            "the account could not be created; try again".to_owned(),
        )])),
    }
}

/// The fields of a new-account form, keeping what was typed (never the passwords).
pub fn new_user_fields(form: &NewUserForm, errors: &FormErrors) -> Markup {
    let err = |key: &str| errors.get(key).map(String::as_str);
    html! {
        (field("User name", "name", "text", &form.name, err("name"),
            Some("Lower-case letters, digits, - and _. Your stream lives at /name.")))
        (field("Display name", "display_name", "text", &form.display_name, err("display_name"), None))
        (field("Password", "password", "new-password", "", err("password"),
            Some("At least 8 characters.")))
        (field("Password again", "password2", "new-password", "", err("password2"), None))
    }
}

/// The first-run page: shown at `/` while the instance has no user.
pub fn setup_page(ctx: &PageCtx, form: &NewUserForm, errors: &FormErrors) -> Markup {
    layout(
        ctx,
        "Welcome",
        html! {
            h1 { "Welcome to Tributary" }
            p { "This instance has no accounts yet. Create the administrator account to begin." }
            form method="post" action="/" {
                (csrf_field(ctx))
                (new_user_fields(form, errors))
                button type="submit" { "Create the administrator" }
            }
        },
    )
}

pub async fn setup_post(
    State(state): State<AppState>,
    ctx: PageCtx,
    jar: SignedCookieJar,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> Result<Response, AppError> {
    if state.store.read(users::count).await? > 0 {
        return Err(AppError::Forbidden);
    }
    let created = create_user(&state, &form, true, |tx, _| {
        // Two setup forms sent at once: only the first one may create the admin.
        if users::count(tx)? == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(
                "this instance is already set up".into(),
            ))
        }
    })
    .await;
    match created {
        Ok(user) => {
            let jar = log_in(&state, jar, &user).await?;
            Ok((jar, Redirect::to("/settings/sources")).into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            setup_page(&ctx, &form, &errors),
        )
            .into_response()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn login_page(ctx: &PageCtx, form: &LoginForm, error: Option<&str>) -> Markup {
    layout(
        ctx,
        "Log in",
        html! {
            h1 { "Log in" }
            (notice(error, true))
            form method="post" action="/login" {
                (csrf_field(ctx))
                input type="hidden" name="next" value=(form.next);
                (field("User name", "name", "text", &form.name, None, None))
                (field("Password", "password", "password", "", None, None))
                button type="submit" { "Log in" }
            }
            @if ctx.signup == Signup::Open {
                p { "No account yet? " a href="/signup" { "Sign up" } "." }
            }
        },
    )
}

pub async fn login_get(ctx: PageCtx, Query(query): Query<NextQuery>) -> Response {
    if ctx.user.is_some() {
        return Redirect::to(&safe_next(query.next.as_deref())).into_response();
    }
    let form = LoginForm {
        next: safe_next(query.next.as_deref()),
        ..LoginForm::default()
    };
    login_page(&ctx, &form, None).into_response()
}

pub async fn login_post(
    State(state): State<AppState>,
    ctx: PageCtx,
    ClientIp(ip): ClientIp,
    jar: SignedCookieJar,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let name = form.name.trim().to_ascii_lowercase();
    // Counted as a failure from here on; a right password takes it back.
    let attempt = match state.login_limiter.begin(&name, &ip) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let message = format!(
                "Too many failed logins. Try again in {}.",
                describe_wait(wait)
            );
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                login_page(&ctx, &form, Some(&message)),
            )
                .into_response());
        }
    };
    let lookup = name.clone();
    let found = match state
        .store
        .read(move |conn| users::credentials(conn, &lookup))
        .await
    {
        Ok(found) => Some(found),
        Err(StoreError::NotFound) => None,
        Err(err) => return Err(err.into()),
    };
    let password = form.password.clone();
    // Without a user, hash anyway so both failures take the same time.
    let verified = tokio::task::spawn_blocking(move || match &found {
        Some((user, hash)) => auth::verify_password(&password, hash).then(|| user.clone()),
        None => {
            let _ = auth::verify_password(&password, &DUMMY_HASH);
            None
        }
    })
    .await
    .map_err(|err| AppError::Internal(err.to_string()))?;
    match verified {
        Some(user) => {
            state.login_limiter.succeeded(attempt);
            let jar = log_in(&state, jar, &user).await?;
            let next = match safe_next(Some(&form.next)).as_str() {
                "/" => format!("/{}", user.name),
                other => other.to_owned(),
            };
            Ok((jar, Redirect::to(&next)).into_response())
        }
        None => {
            // The attempt stays counted as a failure.
            drop(attempt);
            Ok((
                StatusCode::UNAUTHORIZED,
                login_page(&ctx, &form, Some("Wrong user name or password.")),
            )
                .into_response())
        }
    }
}

/// A hash of a random password, verified against when the user does not exist, so an
/// unknown name takes as long as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    auth::hash_password(&crate::web::session::new_token()).unwrap_or_default()
});

#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

pub async fn logout_post(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let jar = log_out(&state, jar).await?;
    Ok((jar, Redirect::to("/")).into_response())
}

fn signup_page(ctx: &PageCtx, action: &str, form: &NewUserForm, errors: &FormErrors) -> Markup {
    layout(
        ctx,
        "Sign up",
        html! {
            h1 { "Create your account" }
            form method="post" action=(action) {
                (csrf_field(ctx))
                (new_user_fields(form, errors))
                button type="submit" { "Sign up" }
            }
        },
    )
}

pub async fn signup_get(State(state): State<AppState>, ctx: PageCtx) -> Result<Markup, AppError> {
    if state.config.auth.signup != Signup::Open {
        return Err(AppError::NotFound);
    }
    Ok(signup_page(
        &ctx,
        "/signup",
        &NewUserForm::default(),
        &FormErrors::new(),
    ))
}

pub async fn signup_post(
    State(state): State<AppState>,
    ctx: PageCtx,
    jar: SignedCookieJar,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> Result<Response, AppError> {
    if state.config.auth.signup != Signup::Open {
        return Err(AppError::NotFound);
    }
    match create_user(&state, &form, false, |_, _| Ok(())).await {
        Ok(user) => {
            let jar = log_in(&state, jar, &user).await?;
            Ok((jar, Redirect::to("/settings/sources")).into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            signup_page(&ctx, "/signup", &form, &errors),
        )
            .into_response()),
    }
}

/// Whether the invitation `token` can be used: `Ok(None)` when it can, else the page
/// that says why (a used, revoked or expired one says so; an unknown one is 404).
async fn invite_refusal(
    state: &AppState,
    ctx: &PageCtx,
    token: &str,
) -> Result<Option<Response>, AppError> {
    if state.config.auth.signup == Signup::Closed {
        return Err(AppError::NotFound);
    }
    let hash = token_hash(token);
    let found = state
        .store
        .read(move |conn| sessions::invite_state(conn, &hash, Utc::now()))
        .await;
    let reason = match found {
        Ok(InviteState::Usable) => return Ok(None),
        Ok(InviteState::Used) => "This invitation was already used.",
        Ok(InviteState::Revoked) => "This invitation was revoked.",
        Ok(InviteState::Expired) => "This invitation has expired.",
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(err) => return Err(err.into()),
    };
    let page = layout(
        ctx,
        "Invitation not usable",
        html! {
            section.error-page {
                h1 { (reason) }
                p { "If you already have an account, " a href="/login" { "log in" } ". "
                    "Otherwise ask the person who invited you for a new link." }
            }
        },
    );
    Ok(Some((StatusCode::GONE, page).into_response()))
}

pub async fn invite_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if let Some(refusal) = invite_refusal(&state, &ctx, &token).await? {
        return Ok(refusal);
    }
    Ok(signup_page(
        &ctx,
        &format!("/invite/{token}"),
        &NewUserForm::default(),
        &FormErrors::new(),
    )
    .into_response())
}

pub async fn invite_post(
    State(state): State<AppState>,
    ctx: PageCtx,
    jar: SignedCookieJar,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> Result<Response, AppError> {
    if let Some(refusal) = invite_refusal(&state, &ctx, &token).await? {
        return Ok(refusal);
    }
    let hash = token_hash(&token);
    let created = create_user(&state, &form, false, move |tx, id| {
        sessions::use_invite(tx, &hash, id, Utc::now())
    })
    .await;
    match created {
        Ok(user) => {
            let jar = log_in(&state, jar, &user).await?;
            Ok((jar, Redirect::to("/settings/sources")).into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            signup_page(&ctx, &format!("/invite/{token}"), &form, &errors),
        )
            .into_response()),
    }
}
