//! `/notifications`: the viewer's notifications (shown ones are marked read), "mark all
//! read", and their private Atom feed at a secret address. Never in the anonymous cache.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::export::{self, NotificationEntry, Site};
use crate::model::ItemId;
use crate::store::notifications::{self, ActorView, Kind, Notification};
use crate::store::users;
use crate::web::AppState;
use crate::web::assets;
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx, new_token};
use crate::web::views::{bdi, csrf_field, layout, time, urlencode};

/// Notifications on one page.
pub const PAGE_SIZE: usize = 30;
/// Notifications in the feed.
pub const FEED_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub struct NotificationParams {
    #[serde(default)]
    pub before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FeedParams {
    #[serde(default)]
    pub token: String,
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

/// The page. Showing notifications marks them read: the write is the viewer's own and
/// the same a second time.
pub async fn notifications_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Query(params): Query<NotificationParams>,
) -> Result<Response, AppError> {
    let before = match params.before.as_deref().filter(|b| !b.is_empty()) {
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| AppError::BadRequest("That page link is not valid.".into()))?,
        ),
        None => None,
    };
    let fresh = new_token();
    let now = Utc::now();
    let user = me.id;
    let (page, token, unread) = state
        .store
        .write_quiet(move |tx| {
            let page = notifications::page(tx, user, before, PAGE_SIZE)?;
            let shown: Vec<i64> = page
                .notifications
                .iter()
                .filter(|n| !n.read)
                .map(|n| n.id)
                .collect();
            notifications::mark_read(tx, user, &shown, now)?;
            let token = notifications::put_feed_token(tx, user, &fresh, false, now)?;
            let unread = notifications::unread_count(tx, user)?;
            Ok((page, token, unread))
        })
        .await?;
    // The navigation counts what is still unread after this page.
    let ctx = PageCtx { unread, ..ctx };
    let feed_url = format!(
        "{}/notifications/feed.atom?token={}",
        state.config.base_url(),
        urlencode(&token)
    );
    let groups = group(&page.notifications);
    let now = Utc::now();
    let body = html! {
        h1 { "Notifications" }
        @if page.notifications.is_empty() {
            p.empty { "Nothing yet. Comments and likes on your items, replies, mentions, new followers and failing sources show up here." }
        } @else {
            ul.notifications {
                @for group in &groups {
                    li.notification.unread[group.unread] data-kind=(group.first().kind.as_str()) {
                        @if group.unread { strong.new { "New: " } }
                        (line(group))
                        " " (time(group.first().created_at, now))
                        @if let Some(excerpt) = excerpt_of(group.first()) {
                            span.excerpt dir="auto" { (excerpt) }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Notification pages" {
            @if before.is_some() { a href="/notifications" { "Newest" } " " }
            @if let Some(next) = page.next_before {
                a rel="next" href={ "/notifications?before=" (next) } { "Older" }
            }
        }
        @if ctx.unread > 0 {
            form.mark-read method="post" action="/notifications/read" {
                (csrf_field(&ctx))
                button type="submit" { "Mark all read" }
            }
        }
        section.notifications-feed id="feed" {
            h2 { "Feed" }
            p {
                "Your notifications as an Atom feed, for a feed reader. The address is private: "
                "anyone who has it can read them."
            }
            p { a href=(feed_url) { code { (feed_url) } } }
            form method="post" action="/notifications/feed/reset" {
                (csrf_field(&ctx))
                button type="submit" { "Reset the feed address" }
            }
        }
    };
    let mut response = layout(&ctx, "Notifications", body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// "Mark all read".
pub async fn notifications_read_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Result<Redirect, AppError> {
    let now = Utc::now();
    state
        .store
        .write_quiet(move |tx| notifications::mark_all_read(tx, me.id, now))
        .await?;
    Ok(Redirect::to("/notifications"))
}

/// A new feed address; the old one stops working.
pub async fn notifications_feed_reset_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    CsrfForm(_form): CsrfForm<EmptyForm>,
) -> Result<Redirect, AppError> {
    let fresh = new_token();
    let now = Utc::now();
    state
        .store
        .write_quiet(move |tx| notifications::put_feed_token(tx, me.id, &fresh, true, now))
        .await?;
    Ok(Redirect::to("/notifications#feed"))
}

/// The private feed: 404 unless `token` is someone's current feed secret. Reading it
/// marks nothing read.
pub async fn notifications_feed_get(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
) -> Result<Response, AppError> {
    let token = params.token;
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let (user, page) = state
        .store
        .read(move |conn| {
            let user = users::get(conn, notifications::user_of_feed_token(conn, &token)?)?;
            let page = notifications::page(conn, user.id, None, FEED_SIZE)?;
            Ok((user, page))
        })
        .await?;
    let site = Site::new(&state.config.base_url());
    let entries: Vec<NotificationEntry> = page
        .notifications
        .iter()
        .map(|n| NotificationEntry {
            id: site.feed_tag(&format!("notification/{}", n.id)),
            title: sentence(n),
            link: site.url(&target_path(n)),
            author_name: n
                .actor
                .as_ref()
                .map(|a| a.display_name.clone())
                .unwrap_or_default(),
            author_url: n
                .actor
                .as_ref()
                .map(|a| actor_href(a, &site))
                .unwrap_or_default(),
            updated: n.created_at,
            text: excerpt_of(n).unwrap_or_default(),
        })
        .collect();
    let shown = crate::web::views::shown_name(&user.display_name, &user.name).to_owned();
    let meta = export::FeedMeta {
        id: site.feed_tag(&format!("user/{}/notifications", user.name)),
        title: format!("Notifications for {shown}"),
        self_url: site.url("/notifications/feed.atom"),
        alternate_url: site.url("/notifications"),
        icon_url: site.url(&assets::url("icon.svg")),
        author_name: shown,
        author_url: site.url(&format!("/{}", user.name)),
        updated: page
            .notifications
            .first()
            .map(|n| n.created_at)
            .unwrap_or(user.created_at),
        paging: export::Paging::default(),
        hub: None,
        site,
    };
    let body = export::atom::notifications_atom(&meta, &entries);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export::Format::Atom.content_type()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// Notifications shown as one line: several likes of one item read "Bo and 2 others
/// liked …"; everything else is a line of its own.
struct Group<'a> {
    members: Vec<&'a Notification>,
    unread: bool,
}

impl Group<'_> {
    fn first(&self) -> &Notification {
        self.members[0]
    }
}

/// The page's notifications in lines, newest first; likes of one item join the line of
/// the newest of them.
fn group(list: &[Notification]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut likes_of: HashMap<ItemId, usize> = HashMap::new();
    for n in list {
        let item = n.item.as_ref().map(|i| i.id);
        if n.kind == Kind::Like
            && let Some(item) = item
        {
            if let Some(&at) = likes_of.get(&item) {
                groups[at].members.push(n);
                groups[at].unread |= !n.read;
                continue;
            }
            likes_of.insert(item, groups.len());
        }
        groups.push(Group {
            members: vec![n],
            unread: !n.read,
        });
    }
    groups
}

/// One line with its links.
fn line(group: &Group<'_>) -> Markup {
    let n = group.first();
    let who = html! {
        @match &n.actor {
            Some(actor) => (actor_link(actor)),
            None => "Someone",
        }
        @if group.members.len() > 1 {
            " and " (group.members.len() - 1)
            @if group.members.len() == 2 { " other" } @else { " others" }
        }
    };
    let item = html! {
        @if let Some(item) = &n.item {
            a href={ "/e/" (item.id) } {
                @if item.title.is_empty() { "an item" } @else { "“" (bdi(&item.title)) "”" }
            }
        } @else { "an item" }
    };
    let comment_href = match (&n.item, &n.comment) {
        (Some(item), Some(comment)) => format!("/e/{}#c-{}", item.id, comment.id),
        (Some(item), None) => format!("/e/{}#comments", item.id),
        _ => String::new(),
    };
    html! {
        @match n.kind {
            Kind::Comment => { (who) " " a href=(comment_href) { "commented" } " on " (item) }
            Kind::Reply => { (who) " " a href=(comment_href) { "replied" } " on " (item) ", where you commented" }
            Kind::Mention => {
                @if let Some(url) = &n.url {
                    (who) " mentioned you in "
                    a href=(url) rel="noreferrer nofollow" referrerpolicy="no-referrer" { "a post" }
                } @else {
                    (who) " " a href=(comment_href) { "mentioned you" } " on " (item)
                }
            }
            Kind::Like => { (who) " liked " (item) }
            Kind::Share => { (who) " shared " (item) }
            Kind::Follow => { (who) " started following you" }
            Kind::FollowRequest => {
                (who) " asks to follow you: "
                a href="/settings/fediverse" { "approve or refuse" }
            }
            Kind::SourceFailing => {
                @if let Some(source) = &n.source {
                    "Your source "
                    a href={ "/settings/sources/" (source.id) } { (bdi(source_name(source))) }
                    " started failing"
                } @else { "One of your sources started failing" }
            }
            Kind::SavedSearch => {
                @if let Some(saved) = &n.saved_search {
                    "New items match your saved search "
                    a href={ "/search/saved/" (saved.id) } { "“" (bdi(&saved.name)) "”" }
                } @else { "New items match one of your saved searches" }
            }
            Kind::Report => {
                (who) " reported " a href=(comment_href) { "a comment" } " on " (item) ": "
                a href="/admin/moderation" { "moderate" }
            }
        }
    }
}

fn source_name(source: &notifications::SourceRef) -> &str {
    if source.title.trim().is_empty() {
        &source.kind
    } else {
        &source.title
    }
}

/// The same line in words, for the feed.
fn sentence(n: &Notification) -> String {
    let who = n
        .actor
        .as_ref()
        .map(|a| a.display_name.as_str())
        .unwrap_or("Someone");
    let item = match &n.item {
        Some(item) if !item.title.is_empty() => format!("“{}”", item.title),
        _ => "an item".to_owned(),
    };
    match n.kind {
        Kind::Comment => format!("{who} commented on {item}"),
        Kind::Reply => format!("{who} replied on {item}, where you commented"),
        Kind::Mention if n.url.is_some() => format!("{who} mentioned you in a post"),
        Kind::Mention => format!("{who} mentioned you on {item}"),
        Kind::Like => format!("{who} liked {item}"),
        Kind::Share => format!("{who} shared {item}"),
        Kind::Follow => format!("{who} started following you"),
        Kind::FollowRequest => format!("{who} asks to follow you"),
        Kind::SourceFailing => match &n.source {
            Some(source) => format!("Your source {} started failing", source_name(source)),
            None => "One of your sources started failing".to_owned(),
        },
        Kind::SavedSearch => match &n.saved_search {
            Some(saved) => format!("New items match your saved search “{}”", saved.name),
            None => "New items match one of your saved searches".to_owned(),
        },
        Kind::Report => format!("{who} reported a comment on {item}"),
    }
}

/// What a notification's line adds below it: the comment's words, the source's error.
fn excerpt_of(n: &Notification) -> Option<String> {
    match n.kind {
        Kind::SourceFailing => n.source.as_ref().and_then(|s| s.last_error.clone()),
        _ => n.comment.as_ref().map(|c| c.body.clone()),
    }
    .filter(|text| !text.trim().is_empty())
}

/// Where a notification points, as a path on this site (a remote post's address is
/// outside it: the feed links the notifications page then).
fn target_path(n: &Notification) -> String {
    match (n.kind, &n.item, &n.comment, &n.source, &n.actor) {
        (Kind::Report, ..) => "/admin/moderation".to_owned(),
        (_, Some(item), Some(comment), _, _) => format!("/e/{}#c-{}", item.id, comment.id),
        (_, Some(item), None, _, _) => format!("/e/{}", item.id),
        (Kind::SourceFailing, _, _, Some(source), _) => format!("/settings/sources/{}", source.id),
        (Kind::FollowRequest, ..) => "/settings/fediverse".to_owned(),
        (Kind::SavedSearch, ..) if n.saved_search.is_some() => format!(
            "/search/saved/{}",
            n.saved_search.as_ref().map_or(0, |saved| saved.id)
        ),
        (Kind::Follow, _, _, _, Some(actor)) if actor.remote_url.is_none() => {
            format!("/{}", actor.name)
        }
        _ => "/notifications".to_owned(),
    }
}

fn actor_link(actor: &ActorView) -> Markup {
    html! {
        @match &actor.remote_url {
            Some(url) => a href=(url) rel="noreferrer nofollow" referrerpolicy="no-referrer" { (bdi(&actor.display_name)) },
            None => a href={ "/" (actor.name) } { (bdi(&actor.display_name)) },
        }
    }
}

fn actor_href(actor: &ActorView, site: &Site) -> String {
    match &actor.remote_url {
        Some(url) => url.clone(),
        None => site.url(&format!("/{}", actor.name)),
    }
}
