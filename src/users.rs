//! The users service: the one place that creates accounts and changes profiles and
//! passwords, for the web (setup, sign-up, invitations, the admin's form, settings) and
//! `tributary user add` alike. It holds every rule (user name, display name, bio,
//! password); it never renders and never reads a request.

use std::collections::BTreeMap;

use chrono::Utc;

use crate::auth;
use crate::model::{User, UserId};
use crate::store::{Store, StoreError, sessions, users as user_rows};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 80;
/// Longest bio, in characters.
pub const MAX_BIO_CHARS: usize = 500;
/// Longest avatar address, in characters.
pub const MAX_AVATAR_URL_CHARS: usize = 2000;

/// Field name → message. Field names are those of the web forms (`name`,
/// `display_name`, `password`, `password2`, …); the CLI prints the messages.
pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// One or more fields break a rule; each message is a sentence for a person.
    #[error("{}", .0.values().cloned().collect::<Vec<_>>().join(" "))]
    Fields(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for UsersError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => UsersError::NotFound,
            other => UsersError::Store(other),
        }
    }
}

/// A new account as typed: by a person in a form, or by the operator at the command line.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    pub name: String,
    /// Empty: the user name.
    pub display_name: String,
    pub password: String,
    /// The password typed a second time, when the form asks for it.
    pub password_again: Option<String>,
    pub is_admin: bool,
}

#[derive(Clone)]
pub struct Users {
    store: Store,
}

impl Users {
    pub fn new(store: Store) -> Users {
        Users { store }
    }

    /// Checks the names of a new account (before a password is asked for). Returns the
    /// user name and display name as they will be stored.
    pub fn check_names(
        &self,
        name: &str,
        display_name: &str,
    ) -> Result<(String, String), UsersError> {
        let mut errors = FieldErrors::new();
        let (name, display_name) = checked_names(name, display_name, &mut errors);
        if errors.is_empty() {
            Ok((name, display_name))
        } else {
            Err(UsersError::Fields(errors))
        }
    }

    /// Checks every field and creates the account. `check` runs inside the same write
    /// transaction (e.g. "there is still no user" for setup, "the invitation is unused");
    /// its `Conflict` or `NotFound` is a message on the `name` field.
    pub async fn create(
        &self,
        account: &NewAccount,
        check: impl FnOnce(&rusqlite::Transaction<'_>, UserId) -> Result<(), StoreError>
        + Send
        + 'static,
    ) -> Result<User, UsersError> {
        let mut errors = FieldErrors::new();
        let (name, display_name) = checked_names(&account.name, &account.display_name, &mut errors);
        if let Err(err) = auth::validate_password(&account.password) {
            errors.insert("password", err.to_string());
        } else if account
            .password_again
            .as_ref()
            .is_some_and(|again| *again != account.password)
        {
            errors.insert("password2", "the two passwords differ".into());
        }
        if !errors.is_empty() {
            return Err(UsersError::Fields(errors));
        }
        let hash = hash(&account.password)
            .await
            .map_err(|message| UsersError::Fields(FieldErrors::from([("password", message)])))?;
        let is_admin = account.is_admin;
        let lookup = name.clone();
        let result = self
            .store
            .write(move |tx| {
                let id = user_rows::create(
                    tx,
                    &user_rows::NewUser {
                        name: &name,
                        display_name: &display_name,
                        password_hash: &hash,
                        is_admin,
                    },
                    Utc::now(),
                )?;
                check(tx, id)?;
                user_rows::get(tx, id)
            })
            .await;
        match result {
            Ok(user) => {
                tracing::info!(user_id = %user.id, admin = user.is_admin, "user created");
                Ok(user)
            }
            Err(StoreError::Conflict(message)) => {
                Err(UsersError::Fields(FieldErrors::from([("name", message)])))
            }
            Err(StoreError::NotFound) => Err(UsersError::Fields(FieldErrors::from([(
                "name",
                "this form can no longer be used".into(),
            )]))),
            Err(err) => {
                tracing::error!(error = %err, user = %lookup, "cannot create user");
                Err(UsersError::Store(err))
            }
        }
    }

    /// Changes the display name (empty: the user name), bio and avatar address (empty:
    /// none).
    pub async fn update_profile(
        &self,
        user: &User,
        display_name: &str,
        bio: &str,
        avatar_url: &str,
    ) -> Result<(), UsersError> {
        let mut errors = FieldErrors::new();
        let display_name = match checked_display_name(display_name, &user.name) {
            Ok(display_name) => display_name,
            Err(message) => {
                errors.insert("display_name", message);
                String::new()
            }
        };
        let bio = bio.trim().replace("\r\n", "\n");
        if bio.chars().count() > MAX_BIO_CHARS {
            errors.insert("bio", format!("At most {MAX_BIO_CHARS} characters."));
        }
        let avatar_url = avatar_url.trim().to_owned();
        if let Err(message) = check_avatar_url(&avatar_url) {
            errors.insert("avatar_url", message);
        }
        if !errors.is_empty() {
            return Err(UsersError::Fields(errors));
        }
        let avatar_url = (!avatar_url.is_empty()).then_some(avatar_url);
        let id = user.id;
        self.store
            .write(move |tx| {
                user_rows::update_profile(tx, id, &display_name, &bio, avatar_url.as_deref())
            })
            .await?;
        Ok(())
    }

    /// Sets a new password after checking the current one, and ends every session of the
    /// user except `keep` (the session hash of the one that asked).
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        new_again: &str,
        keep: Vec<u8>,
    ) -> Result<(), UsersError> {
        let mut errors = FieldErrors::new();
        let lookup = user.name.clone();
        let (_, stored_hash) = self
            .store
            .read(move |conn| user_rows::credentials(conn, &lookup))
            .await?;
        let current = current.to_owned();
        let verified =
            tokio::task::spawn_blocking(move || auth::verify_password(&current, &stored_hash))
                .await
                .unwrap_or(false);
        if !verified {
            errors.insert(
                "current_password",
                "This is not your current password.".into(),
            );
        }
        if let Err(err) = auth::validate_password(new) {
            errors.insert("new_password", capitalized(&err.to_string()));
        } else if new != new_again {
            errors.insert("new_password2", "The two new passwords differ.".into());
        }
        if !errors.is_empty() {
            return Err(UsersError::Fields(errors));
        }
        let hash = hash(new).await.map_err(|message| {
            UsersError::Fields(FieldErrors::from([("new_password", message)]))
        })?;
        let id = user.id;
        self.store
            .write(move |tx| {
                user_rows::set_password(tx, id, &hash)?;
                sessions::delete_others(tx, id, &keep)
            })
            .await?;
        tracing::info!(user_id = %id, "password changed; other sessions ended");
        Ok(())
    }

    pub async fn by_name(&self, name: &str) -> Result<User, UsersError> {
        let lookup = name.to_owned();
        Ok(self
            .store
            .read(move |conn| user_rows::by_name(conn, &lookup))
            .await?)
    }

    pub async fn list(&self) -> Result<Vec<User>, UsersError> {
        Ok(self.store.read(user_rows::list).await?)
    }
}

/// The display-name rule: runs of white space become one space, at most
/// [`MAX_DISPLAY_NAME_CHARS`] characters, no control characters; empty means `user_name`.
pub fn checked_display_name(text: &str, user_name: &str) -> Result<String, String> {
    let display_name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!(
            "A display name has at most {MAX_DISPLAY_NAME_CHARS} characters."
        ));
    }
    if display_name.chars().any(char::is_control) {
        return Err("A display name cannot hold control characters.".into());
    }
    Ok(if display_name.is_empty() {
        user_name.to_owned()
    } else {
        display_name
    })
}

/// Empty, or an absolute http(s) address.
fn check_avatar_url(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    let complaint = "Give an address starting with https:// or http://, or leave it empty.";
    if text.chars().count() > MAX_AVATAR_URL_CHARS {
        return Err("That address is too long.".into());
    }
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(()),
        _ => Err(complaint.into()),
    }
}

fn checked_names(name: &str, display_name: &str, errors: &mut FieldErrors) -> (String, String) {
    let name = name.trim().to_owned();
    if let Err(err) = auth::validate_user_name(&name) {
        errors.insert("name", err.to_string());
    }
    let display_name = checked_display_name(display_name, &name).unwrap_or_else(|message| {
        errors.insert("display_name", message);
        String::new()
    });
    (name, display_name)
}

/// argon2id on the blocking pool; a failure is a message for the password field.
async fn hash(password: &str) -> Result<String, String> {
    let password = password.to_owned();
    match tokio::task::spawn_blocking(move || auth::hash_password(&password)).await {
        Ok(Ok(hash)) => Ok(hash),
        _ => Err("the password could not be stored; try again".into()),
    }
}

/// `text` with its first letter in upper case (messages start with a reason in words).
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Result<&str, &str>) {
        assert_eq!(
            checked_display_name(text, "ana")
                .as_deref()
                .map_err(String::as_str),
            expected
        );
    }

    #[test]
    fn empty_display_name_is_the_user_name() {
        check("  ", Ok("ana"))
    }

    #[test]
    fn display_name_white_space_is_collapsed() {
        check(" Ana \n  Lima ", Ok("Ana Lima"))
    }

    #[test]
    fn long_display_name_is_refused() {
        check(
            &"y".repeat(81),
            Err("A display name has at most 80 characters."),
        )
    }

    #[track_caller]
    fn check_avatar(text: &str, ok: bool) {
        assert_eq!(check_avatar_url(text).is_ok(), ok, "{text}");
    }

    #[test]
    fn empty_avatar_is_fine() {
        check_avatar("", true)
    }

    #[test]
    fn https_avatar_is_fine() {
        check_avatar("https://img.example/a.png", true)
    }

    #[test]
    fn relative_avatar_is_refused() {
        check_avatar("/a.png", false)
    }

    #[test]
    fn javascript_avatar_is_refused() {
        check_avatar("javascript:alert(1)", false)
    }

    #[test]
    fn data_avatar_is_refused() {
        check_avatar("data:image/png;base64,AAAA", false)
    }

    #[test]
    fn control_characters_are_refused() {
        check(
            "Ana\u{7}",
            Err("A display name cannot hold control characters."),
        )
    }
}
