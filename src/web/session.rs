//! Who is asking: sessions in signed cookies, the page context every view gets, and CSRF
//! checks on every form. Sessions live in the store; only token hashes are kept there.

use std::path::{Path, PathBuf};

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::AppError;
use crate::config::Signup;
use crate::model::User;
use crate::store::{StoreError, notifications, search, sessions};

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "tributary_session";
/// The cookie holding the CSRF token of someone not logged in (login, setup, sign-up forms).
pub const CSRF_COOKIE: &str = "tributary_csrf";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Largest form body accepted.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The cookie-signing key, kept beside the database so a restart keeps people logged in.
pub fn key_path(db_path: &Path) -> PathBuf {
    let mut name = db_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "tributary.db".into());
    name.push(".key");
    db_path.with_file_name(name)
}

/// Reads the key file, or creates it with 64 random bytes (mode 0600) on first run.
pub fn load_or_create_key(db_path: &Path) -> std::io::Result<Key> {
    let path = key_path(db_path);
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 64 => return Ok(Key::from(&bytes[..64])),
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is shorter than 64 bytes; remove it to make a new key (everyone is logged out)",
                path.display()
            )));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut bytes = [0u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(&path)?.write_all(&bytes)?;
    Ok(Key::from(&bytes))
}

/// A fresh random token, hex encoded (32 bytes of entropy).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh random nonce an invitation's link is derived from.
pub fn new_invite_nonce() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.to_vec()
}

/// The token of an invitation's link: HMAC-SHA-256 of its nonce under the server's key.
/// The store keeps the nonce and the token's hash, so the link can be shown again to an
/// administrator while the database alone still gives no usable link.
pub fn invite_token(key: &Key, nonce: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.signing()).expect("HMAC takes a key of any length");
    mac.update(b"tributary invite link\0");
    mac.update(nonce);
    hex::encode(mac.finalize().into_bytes())
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares secrets without leaking where they differ through timing (`subtle`; only the
/// lengths, which are not secret, may show).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cookie_key.clone()
    }
}

/// What every page knows about the request: the viewer (if logged in) and the CSRF token
/// its forms must carry.
#[derive(Clone, Debug)]
pub struct PageCtx {
    pub user: Option<User>,
    pub csrf: String,
    pub signup: Signup,
    /// Path and query of this request, for "log in and come back".
    pub path: String,
    /// The viewer's unread notifications (0 for anonymous viewers), for the navigation.
    pub unread: u64,
    /// The viewer's saved searches (id, name), for the navigation.
    pub saved_searches: Vec<(i64, String)>,
}

impl PageCtx {
    pub fn is(&self, user: &User) -> bool {
        self.user.as_ref().is_some_and(|me| me.id == user.id)
    }
}

/// The anonymous CSRF token for this request, put in the extensions by [`csrf_cookie`].
#[derive(Clone, Debug)]
struct AnonCsrf(String);

/// Middleware: gives every visitor a signed CSRF cookie, so forms shown before login
/// (setup, login, sign-up) are protected by double submission. Only HTML pages can carry
/// a form, so only they set the cookie; assets and feeds skip the signing.
pub async fn csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let jar = SignedCookieJar::from_headers(request.headers(), state.cookie_key.clone());
    let existing = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 64);
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (new_token(), true),
    };
    request.extensions_mut().insert(AnonCsrf(token.clone()));
    let response = next.run(request).await;
    let is_page = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if fresh && is_page {
        let jar = jar.add(base_cookie(CSRF_COOKIE, token, &state));
        return (jar, response).into_response();
    }
    response
}

/// A cookie with our attributes: HttpOnly, SameSite=Lax, Path=/, Secure over https.
pub fn base_cookie(name: &'static str, value: String, state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(state.config.base_url().starts_with("https://"));
    cookie
}

/// Starts a session for `user` and returns the cookie jar to send back.
pub async fn log_in(
    state: &AppState,
    jar: SignedCookieJar,
    user: &User,
) -> Result<SignedCookieJar, AppError> {
    let token = new_token();
    let hash = token_hash(&token);
    let csrf = new_token();
    let now = Utc::now();
    let expires = now + Duration::days(i64::from(state.config.auth.session_days));
    let user_id = user.id;
    state
        .store
        .write_quiet(move |tx| sessions::create(tx, user_id, &hash, &csrf, now, expires))
        .await?;
    let mut cookie = base_cookie(SESSION_COOKIE, token, state);
    cookie.set_max_age(time_days(state.config.auth.session_days));
    // A new anonymous CSRF token too, so one seen before login is worthless after it.
    let jar = jar
        .add(cookie)
        .add(base_cookie(CSRF_COOKIE, new_token(), state));
    Ok(jar)
}

fn time_days(days: u32) -> cookie::time::Duration {
    cookie::time::Duration::days(i64::from(days))
}

/// Ends the session in the cookie, if any.
pub async fn log_out(state: &AppState, jar: SignedCookieJar) -> Result<SignedCookieJar, AppError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        let hash = token_hash(cookie.value());
        state
            .store
            .write_quiet(move |tx| sessions::delete(tx, &hash))
            .await?;
    }
    let mut removal = Cookie::from(SESSION_COOKIE);
    removal.set_path("/");
    Ok(jar
        .remove(removal)
        .add(base_cookie(CSRF_COOKIE, new_token(), state)))
}

/// The session token's hash from the request's cookie, if it carries one.
pub fn session_hash(jar: &SignedCookieJar) -> Option<Vec<u8>> {
    jar.get(SESSION_COOKIE).map(|c| token_hash(c.value()))
}

async fn resolve(parts: &mut Parts, state: &AppState) -> Result<PageCtx, AppError> {
    if let Some(ctx) = parts.extensions.get::<PageCtx>() {
        return Ok(ctx.clone());
    }
    let jar = SignedCookieJar::from_headers(&parts.headers, state.cookie_key.clone());
    let anon = parts
        .extensions
        .get::<AnonCsrf>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let session = match session_hash(&jar) {
        Some(hash) => {
            match state
                .store
                .read(move |conn| {
                    // The navigation's count rides on the session's read: one indexed count.
                    let (user, csrf) = sessions::lookup(conn, &hash, Utc::now())?;
                    let unread = notifications::unread_count(conn, user.id)?;
                    let saved = search::saved_of(conn, user.id)?
                        .into_iter()
                        .map(|saved| (saved.id, saved.name))
                        .collect();
                    Ok((user, csrf, unread, saved))
                })
                .await
            {
                Ok(found) => Some(found),
                Err(StoreError::NotFound) => None,
                Err(err) => return Err(err.into()),
            }
        }
        None => None,
    };
    let ctx = match session {
        Some((user, csrf, unread, saved_searches)) => PageCtx {
            user: Some(user),
            csrf,
            signup: state.config.auth.signup,
            path,
            unread,
            saved_searches,
        },
        None => PageCtx {
            user: None,
            csrf: anon,
            signup: state.config.auth.signup,
            path,
            unread: 0,
            saved_searches: Vec::new(),
        },
    };
    parts.extensions.insert(ctx.clone());
    Ok(ctx)
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        resolve(parts, state).await
    }
}

/// A logged-in viewer; anyone else is sent to the login page and back.
pub struct CurrentUser(pub User, pub PageCtx);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ctx = resolve(parts, state).await?;
        match ctx.user.clone() {
            Some(user) => Ok(CurrentUser(user, ctx)),
            None => Err(AppError::LoginRequired { next: ctx.path }),
        }
    }
}

/// The viewer of a form's POST, once the method and the `Origin` are checked (the token
/// is the caller's: it sits in the body).
async fn form_post(parts: &mut Parts, state: &AppState) -> Result<PageCtx, AppError> {
    let ctx = resolve(parts, state).await?;
    if parts.method != Method::POST {
        return Err(AppError::BadRequest("forms are sent with POST".into()));
    }
    check_origin(parts)?;
    Ok(ctx)
}

/// A form whose CSRF token matched the viewer's, and whose `Origin` (when sent) is ours.
/// Every POST handler takes its body through this.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = request.into_parts();
        let ctx = form_post(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|err| body_error(&err))?;
        let sent = form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == CSRF_FIELD)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        if sent.is_empty() || ctx.csrf.is_empty() || !same_secret(&sent, &ctx.csrf) {
            return Err(AppError::Csrf);
        }
        let value = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|err| AppError::BadRequest(format!("the form is not valid: {err}")))?;
        Ok(CsrfForm(value))
    }
}

/// A multipart form (a file upload) whose first field is the CSRF token, matching the
/// viewer's, and whose `Origin` (when sent) is ours. The rest of the fields are left to
/// the handler to stream; the route sets its own body limit.
pub struct CsrfMultipart(pub axum::extract::Multipart);

/// The longest CSRF field read from a multipart form.
const MAX_CSRF_FIELD_BYTES: usize = 256;

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        let (mut parts, body) = request.into_parts();
        let ctx = form_post(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let mut multipart = axum::extract::Multipart::from_request(request, state)
            .await
            .map_err(|err| AppError::BadRequest(format!("the form could not be read: {err}")))?;
        let mut field = multipart
            .next_field()
            .await
            .map_err(|_| AppError::Csrf)?
            .ok_or(AppError::Csrf)?;
        if field.name() != Some(CSRF_FIELD) {
            return Err(AppError::Csrf);
        }
        let mut sent = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| AppError::Csrf)? {
            sent.extend_from_slice(&chunk);
            if sent.len() > MAX_CSRF_FIELD_BYTES {
                return Err(AppError::Csrf);
            }
        }
        drop(field);
        let sent = String::from_utf8(sent).unwrap_or_default();
        if sent.is_empty() || ctx.csrf.is_empty() || !same_secret(&sent, &ctx.csrf) {
            return Err(AppError::Csrf);
        }
        Ok(CsrfMultipart(multipart))
    }
}

/// A body over [`MAX_FORM_BYTES`] is 413 (RFC 9110, section 15.5.14); any other failure
/// to read it is the client's broken request.
fn body_error(err: &axum::Error) -> AppError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return AppError::PayloadTooLarge;
        }
        cause = current.source();
    }
    AppError::BadRequest("the form could not be read".into())
}

/// A cross-site POST sends an `Origin` that is not ours; refuse it even before the token.
fn check_origin(parts: &Parts) -> Result<(), AppError> {
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    if origin == "null" {
        return Err(AppError::Csrf);
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    if !host.is_empty() && !origin_host.eq_ignore_ascii_case(host) {
        return Err(AppError::Csrf);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let first = load_or_create_key(&db).unwrap();
        let second = load_or_create_key(&db).unwrap();
        assert_eq!(first.master(), second.master());
        assert!(key_path(&db).ends_with("x.db.key"));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn form_fields_arrive_as_strings() {
        #[derive(serde::Deserialize)]
        struct Form {
            name: String,
            #[serde(default)]
            missing: String,
        }
        let form: Form = serde_urlencoded::from_bytes(b"name=a+b%21&csrf=x").unwrap();
        assert_eq!(form.name, "a b!");
        assert_eq!(form.missing, "");
    }
}
