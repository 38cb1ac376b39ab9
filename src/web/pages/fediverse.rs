//! The fediverse settings page: federation on or off, followers approved by hand, earlier
//! accounts, the follower list (approve, refuse, remove) and blocks, the user's and (for
//! admins) the instance's. Changes go through `state.federation`; no SQL here.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::federation::FederationError;
use crate::model::{ActorId, User};
use crate::store::federation::{Block, Follower, Settings, host_of};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::pages::auth::FormErrors;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views::{bdi, csrf_field, field, layout, notice, shown_name, time};

/// Most earlier accounts (`alsoKnownAs`) a user may list.
pub const MAX_ALSO_KNOWN_AS: usize = 8;
/// Longest actor URL or domain accepted in these forms.
pub const MAX_ADDRESS_CHARS: usize = 2048;

const PAGE: &str = "/settings/fediverse";

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The settings form as sent: unticked boxes are left out of the body.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    approve_followers: String,
    #[serde(default)]
    also_known_as: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct BlockForm {
    #[serde(default)]
    block: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct InstanceBlockForm {
    #[serde(default)]
    instance_block: String,
}

/// An "Unblock" button: the block as listed.
#[derive(Debug, Default, Deserialize)]
pub struct UnblockForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

pub async fn fediverse_get(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let message = match query.done.as_deref() {
        Some("settings") => Some("Fediverse settings saved."),
        Some("approved") => Some("Follower approved. Their server is told so."),
        Some("removed") => Some("Follower removed. Their server is told so."),
        Some("gone") => Some("Nothing changed: that account is not among your followers."),
        Some("blocked") => Some("Blocked."),
        Some("unblocked") => Some("Unblocked."),
        Some("instance-blocked") => Some("Blocked for the whole instance."),
        Some("instance-unblocked") => Some("Unblocked for the whole instance."),
        _ => None,
    };
    fediverse_page(&state, &ctx, &user, &Draft::default(), message).await
}

pub async fn fediverse_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, AppError> {
    match parse_also_known_as(&form.also_known_as) {
        Ok(also_known_as) => {
            let settings = Settings {
                enabled: !form.enabled.is_empty(),
                approve_followers: !form.approve_followers.is_empty(),
                also_known_as,
            };
            state
                .federation
                .set_settings(&user, settings)
                .await
                .map_err(federation_error)?;
            Ok(Redirect::to(&format!("{PAGE}?done=settings")).into_response())
        }
        Err(message) => {
            let draft = Draft {
                settings: Some(form),
                errors: FormErrors::from([("also_known_as", message)]),
                ..Draft::default()
            };
            invalid(fediverse_page(&state, &ctx, &user, &draft, None).await?)
        }
    }
}

pub async fn follower_approve_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(actor): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let done = state
        .federation
        .approve_follower(&user, ActorId(actor))
        .await
        .map_err(federation_error)?;
    Ok(back(if done { "approved" } else { "gone" }))
}

/// Removes an accepted follower, or refuses one who waits (a `Reject` either way).
pub async fn follower_remove_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    Path(actor): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    let done = state
        .federation
        .remove_follower(&user, ActorId(actor))
        .await
        .map_err(federation_error)?;
    Ok(back(if done { "removed" } else { "gone" }))
}

pub async fn blocks_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<BlockForm>,
) -> Result<Response, AppError> {
    match parse_block(&form.block) {
        Ok(block) => {
            state
                .federation
                .block(Some(user.id), block)
                .await
                .map_err(federation_error)?;
            Ok(back("blocked"))
        }
        Err(message) => {
            let draft = Draft {
                block: form.block,
                errors: FormErrors::from([("block", message)]),
                ..Draft::default()
            };
            invalid(fediverse_page(&state, &ctx, &user, &draft, None).await?)
        }
    }
}

pub async fn blocks_remove_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    CsrfForm(form): CsrfForm<UnblockForm>,
) -> Result<Response, AppError> {
    let block = listed_block(&form)?;
    state
        .federation
        .unblock(Some(user.id), block)
        .await
        .map_err(federation_error)?;
    Ok(back("unblocked"))
}

pub async fn instance_blocks_post(
    State(state): State<AppState>,
    CurrentUser(user, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<InstanceBlockForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    match parse_block(&form.instance_block) {
        Ok(block) => {
            state
                .federation
                .block(None, block)
                .await
                .map_err(federation_error)?;
            tracing::info!(by = %user.id, "instance block added");
            Ok(back("instance-blocked"))
        }
        Err(message) => {
            let draft = Draft {
                instance_block: form.instance_block,
                errors: FormErrors::from([("instance_block", message)]),
                ..Draft::default()
            };
            invalid(fediverse_page(&state, &ctx, &user, &draft, None).await?)
        }
    }
}

pub async fn instance_blocks_remove_post(
    State(state): State<AppState>,
    CurrentUser(user, _ctx): CurrentUser,
    CsrfForm(form): CsrfForm<UnblockForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let block = listed_block(&form)?;
    state
        .federation
        .unblock(None, block)
        .await
        .map_err(federation_error)?;
    tracing::info!(by = %user.id, "instance block removed");
    Ok(back("instance-unblocked"))
}

/// The earlier accounts, one actor URL a line. Blank lines are skipped and repeats kept
/// once; a bad line is named by its number.
pub fn parse_also_known_as(text: &str) -> Result<Vec<String>, String> {
    let mut accounts: Vec<String> = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = line_idx + 1;
        let url = actor_url(line).map_err(|why| format!("Line {n} (“{}”): {why}", cut(line)))?;
        if !accounts.contains(&url) {
            accounts.push(url);
        }
    }
    if accounts.len() > MAX_ALSO_KNOWN_AS {
        return Err(format!(
            "At most {MAX_ALSO_KNOWN_AS} earlier accounts; this lists {}.",
            accounts.len()
        ));
    }
    Ok(accounts)
}

/// What the block form accepts: an account's address (`https://host/users/name`) or a
/// domain (`host.example`, also written `@host.example`).
pub fn parse_block(text: &str) -> Result<Block, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "Type the address of an account (https://host.example/users/name) or a domain \
             (host.example)."
                .into(),
        );
    }
    if text.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format!(
            "That is longer than {MAX_ADDRESS_CHARS} characters."
        ));
    }
    if text.contains("://") {
        return actor_url(text).map(Block::Actor);
    }
    let bare = text.strip_prefix('@').unwrap_or(text);
    if bare.contains('@') {
        return Err(format!(
            "“{}” is a handle, which would have to be looked up on its server. Paste the \
             account's address instead (open its profile: https://host.example/users/name), \
             or block its whole domain.",
            cut(text)
        ));
    }
    domain(bare).map(Block::Domain).ok_or_else(|| {
        format!(
            "“{}” is neither an account's address (https://host.example/users/name) nor a \
             domain (host.example).",
            cut(text)
        )
    })
}

/// Changes a page may show: a form as the user sent it, and the errors beside it.
#[derive(Debug, Default)]
struct Draft {
    /// `None`: the settings as stored.
    settings: Option<SettingsForm>,
    block: String,
    instance_block: String,
    errors: FormErrors,
}

async fn fediverse_page(
    state: &AppState,
    ctx: &PageCtx,
    user: &User,
    draft: &Draft,
    message: Option<&str>,
) -> Result<Markup, AppError> {
    let federation = &state.federation;
    let stored = federation
        .settings(user.id)
        .await
        .map_err(federation_error)?;
    let followers = federation
        .followers(user.id)
        .await
        .map_err(federation_error)?;
    let blocks = federation
        .blocks(Some(user.id))
        .await
        .map_err(federation_error)?;
    let instance_blocks = if user.is_admin {
        federation.blocks(None).await.map_err(federation_error)?
    } else {
        Vec::new()
    };
    let (enabled, approve, aka) = match &draft.settings {
        Some(form) => (
            !form.enabled.is_empty(),
            !form.approve_followers.is_empty(),
            form.also_known_as.clone(),
        ),
        None => (
            stored.enabled,
            stored.approve_followers,
            stored.also_known_as.join("\n"),
        ),
    };
    let handle = format!("@{}@{}", user.name, host_of(&state.config.base_url()));
    let err = |key: &str| draft.errors.get(key).map(String::as_str);
    let aka_error = err("also_known_as");
    let (pending, accepted): (Vec<&Follower>, Vec<&Follower>) =
        followers.iter().partition(|f| !f.accepted);
    let now = Utc::now();
    Ok(layout(
        ctx,
        "Fediverse",
        html! {
            p.breadcrumb { a href="/settings" { "Settings" } }
            h1 { "Fediverse" }
            (notice(message, false))
            section.fediverse-settings {
                p.fediverse-handle {
                    "People on Mastodon and other fediverse servers follow you as "
                    strong { code { (handle) } } "."
                    @if !stored.enabled { " Federation is off, so nobody can find or follow you now." }
                }
                form id="fediverse" method="post" action=(PAGE) {
                    (csrf_field(ctx))
                    div.field.checkbox {
                        input id="f-enabled" type="checkbox" name="enabled" value="1" checked[enabled];
                        label for="f-enabled" { "Let the fediverse follow me" }
                    }
                    div.field.checkbox {
                        input id="f-approve_followers" type="checkbox" name="approve_followers" value="1" checked[approve];
                        label for="f-approve_followers" { "Approve new followers by hand" }
                    }
                    div.field.invalid[aka_error.is_some()] {
                        label for="f-also_known_as" { "Earlier accounts (alsoKnownAs)" }
                        textarea id="f-also_known_as" name="also_known_as" rows="3"
                            aria-invalid=[aka_error.map(|_| "true")]
                            aria-describedby=[aka_error.map(|_| "f-also_known_as-error")] { (aka) }
                        small.help {
                            "One account address a line (https://host.example/users/name), at most "
                            (MAX_ALSO_KNOWN_AS) ". Lets you move followers from an account you had elsewhere."
                        }
                        @if let Some(error) = aka_error { p.error id="f-also_known_as-error" role="alert" { (error) } }
                    }
                    button type="submit" { "Save" }
                }
            }
            section.fediverse-followers {
                h2 { "Followers" }
                @if followers.is_empty() {
                    p.empty { "Nobody in the fediverse follows you yet." }
                }
                @if !pending.is_empty() {
                    h3 { "Waiting for your approval" }
                    ul.followers.pending {
                        @for follower in &pending { (follower_row(ctx, follower, now)) }
                    }
                }
                @if !accepted.is_empty() {
                    @if !pending.is_empty() { h3 { "Following you" } }
                    ul.followers.accepted {
                        @for follower in &accepted { (follower_row(ctx, follower, now)) }
                    }
                }
            }
            section.fediverse-blocks {
                h2 { "Blocks" }
                p.help { "A blocked account or domain stops following you, and its new follows, replies and likes are refused." }
                (block_form(ctx, "block", &format!("{PAGE}/blocks"), &draft.block, err("block")))
                (block_list(ctx, &blocks, &format!("{PAGE}/blocks/remove")))
            }
            @if user.is_admin {
                section.fediverse-instance-blocks {
                    h2 { "Blocked domains for the whole instance" }
                    p.help { "These apply to every user of this instance." }
                    (block_form(ctx, "instance_block", &format!("{PAGE}/instance-blocks"),
                        &draft.instance_block, err("instance_block")))
                    (block_list(ctx, &instance_blocks, &format!("{PAGE}/instance-blocks/remove")))
                }
            }
        },
    ))
}

fn follower_row(ctx: &PageCtx, follower: &Follower, now: chrono::DateTime<Utc>) -> Markup {
    let actor = &follower.actor;
    let profile = web_url(actor.url.as_deref()).or_else(|| web_url(Some(&actor.uri)));
    let handle = if actor.handle.is_empty() {
        actor.uri.clone()
    } else {
        format!("@{}", actor.handle)
    };
    let name = shown_name(&actor.name, &handle);
    let id = actor.id.map_or(0, |id| id.0);
    html! {
        li.follower {
            @if let Some(icon) = web_url(actor.icon_url.as_deref()) {
                img.avatar.small src=(icon) alt="" width="32" height="32" loading="lazy"
                    referrerpolicy="no-referrer";
                " "
            }
            @if let Some(profile) = profile {
                a.follower-name href=(profile) rel="nofollow noopener noreferrer" { (bdi(name)) }
            } @else {
                span.follower-name { (bdi(name)) }
            }
            " " span.handle { (bdi(&handle)) }
            " · " span.since { @if follower.accepted { "since " } @else { "asked " } (time(follower.since, now)) }
            " "
            @if follower.accepted {
                form.inline method="post" action={ (PAGE) "/followers/" (id) "/remove" } {
                    (csrf_field(ctx))
                    button type="submit" { "Remove" }
                }
            } @else {
                form.inline method="post" action={ (PAGE) "/followers/" (id) "/approve" } {
                    (csrf_field(ctx))
                    button type="submit" { "Approve" }
                }
                " "
                form.inline method="post" action={ (PAGE) "/followers/" (id) "/remove" } {
                    (csrf_field(ctx))
                    button type="submit" { "Refuse" }
                }
            }
        }
    }
}

fn block_form(ctx: &PageCtx, name: &str, action: &str, value: &str, error: Option<&str>) -> Markup {
    html! {
        form id={ "form-" (name) } method="post" action=(action) {
            (csrf_field(ctx))
            (field("Block an account or a domain", name, "text", value, error,
                Some("An account's address (https://host.example/users/name) or a domain (host.example).")))
            button type="submit" { "Block" }
        }
    }
}

fn block_list(ctx: &PageCtx, blocks: &[Block], action: &str) -> Markup {
    html! {
        @if blocks.is_empty() {
            p.empty { "Nothing blocked." }
        } @else {
            ul.blocks {
                @for block in blocks {
                    @let (kind, target, what) = match block {
                        Block::Actor(uri) => ("actor", uri, "account"),
                        Block::Domain(host) => ("domain", host, "domain"),
                    };
                    li {
                        span.muted { (what) " " } code { (bdi(target)) } " "
                        form.inline method="post" action=(action) {
                            (csrf_field(ctx))
                            input type="hidden" name="kind" value=(kind);
                            input type="hidden" name="target" value=(target);
                            button type="submit" { "Unblock" }
                        }
                    }
                }
            }
        }
    }
}

/// An actor's address: an absolute `https` URL with a path (plain `http` only on a
/// loopback host, for tests), without its fragment.
fn actor_url(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_ADDRESS_CHARS {
        return Err(format!("longer than {MAX_ADDRESS_CHARS} characters."));
    }
    let mut url = url::Url::parse(text)
        .map_err(|_| "not an address; write it as https://host.example/users/name.".to_owned())?;
    let Some(host) = url.host() else {
        return Err("an address needs a host name.".into());
    };
    let loopback = match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("an account's address starts with https://.".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("an account's address has no user name or password in it.".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(
            "that is a server, not an account; write the account's address \
             (https://host.example/users/name)."
                .into(),
        );
    }
    url.set_fragment(None);
    Ok(url.to_string())
}

/// A domain as `blocks` stores it: the lower-case authority (`host` or `host:port`),
/// international names in their ASCII form. `None` when it is not one.
fn domain(text: &str) -> Option<String> {
    if text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@' | '\\'))
    {
        return None;
    }
    let url = url::Url::parse(&format!("https://{text}/")).ok()?;
    match url.host()? {
        url::Host::Domain(name) if name.contains('.') && !name.ends_with('.') => {}
        url::Host::Domain(_) => return None,
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => {}
    }
    Some(host_of(url.as_str())).filter(|host| !host.is_empty())
}

/// An address that may be linked: http(s) only.
fn web_url(text: Option<&str>) -> Option<String> {
    let url = url::Url::parse(text?).ok()?;
    matches!(url.scheme(), "https" | "http").then(|| url.to_string())
}

/// An "Unblock" button's fields as the block they name.
fn listed_block(form: &UnblockForm) -> Result<Block, AppError> {
    let target = form.target.trim().to_owned();
    if target.is_empty() || target.chars().count() > MAX_ADDRESS_CHARS {
        return Err(AppError::BadRequest("That block is not listed.".into()));
    }
    match form.kind.as_str() {
        "actor" => Ok(Block::Actor(target)),
        "domain" => Ok(Block::Domain(target)),
        _ => Err(AppError::BadRequest(
            "A block is of an account or a domain.".into(),
        )),
    }
}

/// A long input cut for an error message.
fn cut(text: &str) -> String {
    const SHOWN: usize = 80;
    if text.chars().count() <= SHOWN {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(SHOWN).collect::<String>())
    }
}

fn back(done: &str) -> Response {
    Redirect::to(&format!("{PAGE}?done={done}")).into_response()
}

fn invalid(page: Markup) -> Result<Response, AppError> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn federation_error(err: FederationError) -> AppError {
    match err {
        FederationError::Store(err) => err.into(),
        other => AppError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_block(input: &str, expected: Result<Block, &str>) {
        match (parse_block(input), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
            (Err(got), Err(part)) => assert!(got.contains(part), "{input}: {got}"),
            (got, want) => panic!("{input}: got {got:?}, expected {want:?}"),
        }
    }

    fn domain_block(host: &str) -> Result<Block, &'static str> {
        Ok(Block::Domain(host.into()))
    }

    #[test]
    fn a_bare_domain_is_a_domain_block() {
        check_block("  Spam.Example ", domain_block("spam.example"));
    }
    #[test]
    fn a_domain_with_an_at_sign_in_front_is_a_domain_block() {
        check_block("@spam.example", domain_block("spam.example"));
    }
    #[test]
    fn a_domain_keeps_its_port() {
        check_block("127.0.0.1:8080", domain_block("127.0.0.1:8080"));
    }
    #[test]
    fn an_international_domain_is_stored_in_ascii() {
        check_block("bücher.example", domain_block("xn--bcher-kva.example"));
    }
    #[test]
    fn an_actor_url_is_an_account_block() {
        check_block(
            "https://Host.Example/users/x#main-key",
            Ok(Block::Actor("https://host.example/users/x".into())),
        );
    }
    #[test]
    fn a_handle_is_refused_with_a_reason() {
        check_block("@user@host.example", Err("handle"));
        check_block("user@host.example", Err("handle"));
    }
    #[test]
    fn a_word_is_no_domain() {
        check_block("localhost", Err("neither"));
        check_block("spam", Err("neither"));
        check_block("spam.example/path", Err("neither"));
        check_block("", Err("Type"));
    }
    #[test]
    fn a_server_address_is_no_account() {
        check_block("https://host.example/", Err("server"));
    }
    #[test]
    fn plain_http_is_refused_off_loopback() {
        check_block("http://host.example/users/x", Err("https://"));
        check_block("javascript:alert(1)//x", Err("neither"));
    }

    #[test]
    fn also_known_as_lines_are_checked_and_kept_once() {
        assert_eq!(
            parse_also_known_as(
                "https://a.example/users/x\n\n http://127.0.0.1:9/u/y \nhttps://a.example/users/x"
            ),
            Ok(vec![
                "https://a.example/users/x".to_owned(),
                "http://127.0.0.1:9/u/y".to_owned()
            ])
        );
    }
    #[test]
    fn a_bad_also_known_as_line_is_named() {
        let err = parse_also_known_as("https://a.example/users/x\nftp://b.example/u").unwrap_err();
        assert!(err.starts_with("Line 2 (“ftp://b.example/u”)"), "{err}");
    }
    #[test]
    fn at_most_eight_earlier_accounts() {
        let lines: Vec<String> = (0..=MAX_ALSO_KNOWN_AS)
            .map(|n| format!("https://a.example/users/{n}"))
            .collect();
        let err = parse_also_known_as(&lines.join("\n")).unwrap_err();
        assert!(err.contains("At most 8"), "{err}");
    }
}
