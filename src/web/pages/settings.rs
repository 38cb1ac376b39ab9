//! Settings: profile, password, users and invitations (admins).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::SignedCookieJar;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use crate::config::Signup;
use crate::model::{InviteId, User};
use crate::store::sessions::{Invite, InviteState};
use crate::store::{StoreError, sessions, users};
use crate::users::UsersError;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::pages::auth::{FormErrors, NewUserForm, create_user, new_user_fields};
use crate::web::session::{
    CsrfForm, CurrentUser, PageCtx, invite_token, new_invite_nonce, session_hash, token_hash,
};
use crate::web::views::{csrf_field, field, layout, notice, time};

/// How long an invitation link stays usable.
pub const INVITE_DAYS: i64 = 7;

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    bio: String,
    #[serde(default)]
    avatar_url: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password2: String,
}

/// The admin's new-user form: the sign-up fields plus "administrator".
#[derive(Debug, Default, Deserialize)]
pub struct AdminNewUserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default)]
    is_admin: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

pub async fn settings_get(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let profile = load_profile(&state, &user).await?;
    let form = ProfileForm {
        display_name: profile.user.display_name,
        bio: profile.bio,
        avatar_url: profile.avatar_url.unwrap_or_default(),
    };
    let message = match query.done.as_deref() {
        Some("profile") => Some("Profile saved."),
        Some("password") => Some("Password changed. Every other session was logged out."),
        _ => None,
    };
    Ok(settings_page(
        &ctx,
        &user,
        &form,
        &FormErrors::new(),
        &FormErrors::new(),
        message,
    ))
}

pub async fn profile_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, AppError> {
    match state
        .users
        .update_profile(&user, &form.display_name, &form.bio, &form.avatar_url)
        .await
    {
        Ok(()) => Ok(Redirect::to("/settings?done=profile").into_response()),
        Err(UsersError::Fields(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            settings_page(&ctx, &user, &form, &errors, &FormErrors::new(), None),
        )
            .into_response()),
        Err(err) => Err(users_error(err)),
    }
}

pub async fn password_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    jar: SignedCookieJar,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    // CurrentUser proved the cookie names a live session, so it has a hash.
    let keep = session_hash(&jar).ok_or(AppError::LoginRequired {
        next: "/settings".into(),
    })?;
    let changed = state
        .users
        .change_password(
            &user,
            &form.current_password,
            &form.new_password,
            &form.new_password2,
            keep,
        )
        .await;
    match changed {
        Ok(()) => Ok(Redirect::to("/settings?done=password").into_response()),
        Err(UsersError::Fields(errors)) => {
            let profile = load_profile(&state, &user).await?;
            let profile_form = ProfileForm {
                display_name: profile.user.display_name,
                bio: profile.bio,
                avatar_url: profile.avatar_url.unwrap_or_default(),
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                settings_page(
                    &ctx,
                    &user,
                    &profile_form,
                    &FormErrors::new(),
                    &errors,
                    None,
                ),
            )
                .into_response())
        }
        Err(err) => Err(users_error(err)),
    }
}

pub async fn users_get(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    require_admin(&user)?;
    let message = match query.done.as_deref() {
        Some("created") => Some("Account created."),
        Some("revoked") => Some("Invitation revoked: its link no longer works."),
        _ => None,
    };
    users_page(
        &state,
        &ctx,
        &AdminNewUserForm::default(),
        &FormErrors::new(),
        message,
        None,
    )
    .await
}

pub async fn users_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<AdminNewUserForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let new_user = NewUserForm {
        name: form.name.clone(),
        display_name: form.display_name.clone(),
        password: form.password.clone(),
        password2: form.password2.clone(),
    };
    let is_admin = !form.is_admin.is_empty();
    match create_user(&state, &new_user, is_admin, |_, _| Ok(())).await {
        Ok(created) => {
            tracing::info!(user_id = %created.id, by = %user.id, "user created by an admin");
            Ok(Redirect::to("/settings/users?done=created").into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            users_page(&state, &ctx, &form, &errors, None, None).await?,
        )
            .into_response()),
    }
}

pub async fn invites_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Markup, AppError> {
    require_admin(&user)?;
    if state.config.auth.signup == Signup::Closed {
        return Err(AppError::BadRequest(
            "Sign-up is closed on this instance, so invitations cannot be used. Set auth.signup to \"invite\" first."
                .into(),
        ));
    }
    let nonce = new_invite_nonce();
    let token = invite_token(&state.cookie_key, &nonce);
    let hash = token_hash(&token);
    let now = Utc::now();
    let expires = now + Duration::days(INVITE_DAYS);
    let by = user.id;
    state
        .store
        .write(move |tx| sessions::create_invite(tx, by, &hash, &nonce, now, expires))
        .await?;
    let link = invite_link(&state, &token);
    users_page(
        &state,
        &ctx,
        &AdminNewUserForm::default(),
        &FormErrors::new(),
        None,
        Some(&link),
    )
    .await
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn load_profile(state: &AppState, user: &User) -> Result<users::Profile, AppError> {
    let name = user.name.clone();
    match state
        .store
        .read(move |conn| users::profile(conn, &name))
        .await
    {
        Ok(profile) => Ok(profile),
        Err(StoreError::NotFound) => Err(AppError::LoginRequired {
            next: "/settings".into(),
        }),
        Err(err) => Err(err.into()),
    }
}

fn users_error(err: UsersError) -> AppError {
    match err {
        UsersError::NotFound => AppError::LoginRequired {
            next: "/settings".into(),
        },
        other => AppError::Internal(other.to_string()),
    }
}

fn signup_in_words(signup: Signup) -> &'static str {
    match signup {
        Signup::Closed => "closed: only an administrator creates accounts",
        Signup::Invite => "by invitation: an administrator makes one-time links",
        Signup::Open => "open: anyone may create an account",
    }
}

fn settings_page(
    ctx: &PageCtx,
    user: &User,
    form: &ProfileForm,
    profile_errors: &FormErrors,
    password_errors: &FormErrors,
    message: Option<&str>,
) -> Markup {
    let profile_err = |key: &str| profile_errors.get(key).map(String::as_str);
    let password_err = |key: &str| password_errors.get(key).map(String::as_str);
    let bio_error = profile_err("bio");
    layout(
        ctx,
        "Settings",
        html! {
            h1 { "Settings" }
            (notice(message, false))
            section.settings-profile {
                h2 { "Profile" }
                p { "Your stream lives at " a href={ "/" (user.name) } { "/" (user.name) } "." }
                form id="profile" method="post" action="/settings/profile" {
                    (csrf_field(ctx))
                    (field("Display name", "display_name", "text", &form.display_name,
                        profile_err("display_name"), Some("At most 80 characters. Empty: your user name.")))
                    div.field.invalid[bio_error.is_some()] {
                        label for="f-bio" { "About you" }
                        textarea id="f-bio" name="bio" rows="4"
                            aria-invalid=[bio_error.map(|_| "true")]
                            aria-describedby=[bio_error.map(|_| "f-bio-error")] { (form.bio) }
                        small.help { "At most 500 characters, shown on your stream." }
                        @if let Some(error) = bio_error { p.error id="f-bio-error" role="alert" { (error) } }
                    }
                    (field("Avatar address", "avatar_url", "url", &form.avatar_url,
                        profile_err("avatar_url"), Some("An https:// address of a picture, or empty.")))
                    button type="submit" { "Save profile" }
                }
            }
            section.settings-password {
                h2 { "Password" }
                form id="password" method="post" action="/settings/password" {
                    (csrf_field(ctx))
                    (field("Current password", "current_password", "password", "",
                        password_err("current_password"), None))
                    (field("New password", "new_password", "new-password", "",
                        password_err("new_password"), Some("At least 8 characters.")))
                    (field("New password again", "new_password2", "new-password", "",
                        password_err("new_password2"), None))
                    button type="submit" { "Change password" }
                }
                p.help { "Changing it logs you out everywhere else." }
            }
            section.settings-instance {
                h2 { "This instance" }
                p.signup-mode { "Sign-up is " (signup_in_words(ctx.signup)) "." }
                @if user.is_admin {
                    p { a href="/settings/users" { "Users and invitations" } }
                }
                p { a href="/settings/sources" { "Your sources" } " · " a href="/settings/import" { "Import sources (OPML)" } }
                p { a href="/settings/fediverse" { "Fediverse: followers and blocks" } }
                p { a href="/settings/blocked" { "Blocked users" } " · " a href="/settings/rules" { "Hide rules" } }
            }
        },
    )
}

/// Revokes an unused invitation: its link then says so.
pub async fn invite_revoke_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Redirect, AppError> {
    require_admin(&user)?;
    let now = Utc::now();
    state
        .store
        .write(move |tx| sessions::revoke_invite(tx, InviteId(id), now))
        .await?;
    Ok(Redirect::to("/settings/users?done=revoked#invites"))
}

/// The address an invitation's token is used at.
fn invite_link(state: &AppState, token: &str) -> String {
    format!(
        "{}/invite/{token}",
        state.config.base_url().trim_end_matches('/')
    )
}

/// The invitations list: each one's state, its link again while it is usable (copy it
/// from the read-only field), and a revoke button.
fn invites_table(state: &AppState, ctx: &PageCtx, invites: &[Invite]) -> Markup {
    let now = Utc::now();
    html! {
        @if invites.is_empty() {
            p.empty { "No invitations yet." }
        } @else {
            table.invite-list {
                thead {
                    tr {
                        th scope="col" { "Made" }
                        th scope="col" { "State" }
                        th scope="col" { "Link" }
                        th scope="col" { span.visually-hidden { "Actions" } }
                    }
                }
                tbody {
                    @for invite in invites {
                        @let state_now = invite.state(now);
                        tr id={ "invite-" (invite.id) } {
                            td { (time(invite.created_at, now)) " by " (invite.created_by) }
                            td.invite-state {
                                @match state_now {
                                    InviteState::Usable => { "open until " (time(invite.expires_at, now)) }
                                    InviteState::Used => {
                                        "used"
                                        @if let Some(name) = &invite.used_by { " by " a href={ "/" (name) } { (name) } }
                                    }
                                    InviteState::Revoked => { "revoked" }
                                    InviteState::Expired => { "expired" }
                                }
                            }
                            td {
                                @match (&invite.link_nonce, state_now) {
                                    (Some(nonce), InviteState::Usable) => {
                                        @let link = invite_link(state, &invite_token(&state.cookie_key, nonce));
                                        @let field_id = format!("invite-link-{}", invite.id);
                                        label.visually-hidden for=(field_id) { "Invitation link" }
                                        input.invite-link id=(field_id) type="text" readonly value=(link);
                                    }
                                    (None, InviteState::Usable) => { span.muted { "shown only when made" } }
                                    _ => {}
                                }
                            }
                            td {
                                @if state_now == InviteState::Usable {
                                    form.inline method="post" action={ "/settings/invites/" (invite.id) "/revoke" } {
                                        (csrf_field(ctx))
                                        button.secondary type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn users_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &AdminNewUserForm,
    errors: &FormErrors,
    message: Option<&str>,
    invite_link: Option<&str>,
) -> Result<Markup, AppError> {
    let list = state.store.read(users::list).await?;
    let invites = state.store.read(sessions::list_invites).await?;
    let now = Utc::now();
    let new_user = NewUserForm {
        name: form.name.clone(),
        display_name: form.display_name.clone(),
        password: String::new(),
        password2: String::new(),
    };
    let signup = state.config.auth.signup;
    Ok(layout(
        ctx,
        "Users",
        html! {
            p.breadcrumb { a href="/settings" { "Settings" } }
            h1 { "Users" }
            (notice(message, false))
            table.users {
                thead {
                    tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Display name" }
                        th scope="col" { "Role" }
                        th scope="col" { "Joined" }
                    }
                }
                tbody {
                    @for user in &list {
                        tr {
                            td { a href={ "/" (user.name) } { (user.name) } }
                            td { (user.display_name) }
                            td { @if user.is_admin { "administrator" } @else { "member" } }
                            td { (time(user.created_at, now)) }
                        }
                    }
                }
            }
            section.new-user {
                h2 { "Create an account" }
                form id="new-user" method="post" action="/settings/users" {
                    (csrf_field(ctx))
                    (new_user_fields(&new_user, errors))
                    div.field.checkbox {
                        input id="f-is_admin" type="checkbox" name="is_admin" value="1" checked[!form.is_admin.is_empty()];
                        label for="f-is_admin" { "Administrator" }
                    }
                    button type="submit" { "Create account" }
                }
            }
            section.invites id="invites" {
                h2 { "Invitations" }
                p.signup-mode { "Sign-up is " (signup_in_words(signup)) "." }
                @if let Some(link) = invite_link {
                    div.invite-created role="status" {
                        p { "Send this link to the person you invite. It works once, for " (INVITE_DAYS) " days; it stays in the list below until it is used:" }
                        p { code.invite-link { (link) } }
                    }
                }
                @if signup == Signup::Closed {
                    p.help { "Invitations need auth.signup = \"invite\" (or \"open\") in the configuration." }
                } @else {
                    form id="new-invite" method="post" action="/settings/invites" {
                        (csrf_field(ctx))
                        button type="submit" { "Create an invitation link" }
                    }
                }
                (invites_table(state, ctx, &invites))
            }
        },
    ))
}
