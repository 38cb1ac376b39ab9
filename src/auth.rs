//! Accounts: password hashing (argon2id) and the rules for user names. No IO.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (argon2 is fine with more; this bounds the work per login).
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Longest user name.
pub const MAX_USER_NAME_CHARS: usize = 32;

/// Names of fixed routes and words that must never be a user's name, because user
/// streams live at the root (`/{user}`).
pub const RESERVED_NAMES: &[&str] = &[
    "about",
    "account",
    "actor",
    "admin",
    "api",
    "assets",
    "auth",
    "c",
    "e",
    "events",
    "export",
    "favicon.ico",
    "feed",
    "feeds",
    "healthz",
    "help",
    "import",
    "inbox",
    "invite",
    "invites",
    "login",
    "logout",
    "media",
    "metrics",
    "new",
    "nodeinfo",
    "notifications",
    "opml",
    "robots.txt",
    "root",
    "search",
    "settings",
    "setup",
    "signup",
    "static",
    "system",
    "tributary",
    "u",
    "user",
    "users",
    "websub",
    "well-known",
    ".well-known",
    "www",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("{0}")]
    BadName(String),
    #[error("{0}")]
    BadPassword(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// A user name is 1–32 lower-case letters, digits, `_` or `-`, starting with a letter or
/// digit, and not a reserved word.
pub fn validate_user_name(name: &str) -> Result<(), AuthError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let starts_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.chars().count() > MAX_USER_NAME_CHARS || !ok_chars || !starts_ok {
        return Err(AuthError::BadName(format!(
            "`{name}` is not a valid user name: use 1 to {MAX_USER_NAME_CHARS} lower-case letters, digits, `_` or `-`, starting with a letter or digit"
        )));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(AuthError::BadName(format!(
            "`{name}` is reserved for a page of Tributary; choose another name"
        )));
    }
    Ok(())
}

pub fn validate_password(password: &str) -> Result<(), AuthError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AuthError::BadPassword(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AuthError::BadPassword(format!(
            "the password must have at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Hashes with argon2id and a random salt; the result is a PHC string.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|err| AuthError::Hash(err.to_string()))?;
    Ok(hash.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in ["ana", "bo-2", "x_y", "7up"] {
            validate_user_name(name).unwrap();
        }
    }

    #[test]
    fn bad_names_are_refused_readably() {
        for name in [
            "",
            "Ana",
            "-x",
            "a b",
            "ä",
            "settings",
            "login",
            &"a".repeat(33),
        ] {
            let err = validate_user_name(name).unwrap_err();
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn password_round_trips() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
