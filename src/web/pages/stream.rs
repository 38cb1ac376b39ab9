//! Streams: everyone's (`/`), a user's lifestream, friends, likes, discussions; follow.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use rusqlite::Connection;
use serde::Deserialize;

use crate::model::{Cursor, Item, ItemId, Page, SourceId, UserId};
use crate::social::Relation;
use crate::store::items::{StreamQuery, stream_page};
use crate::store::rules;
use crate::store::social::{self, ItemSocial, ProfileCounts};
use crate::store::sources::{self, SourceLabel};
use crate::store::users::{self, Profile};
use crate::store::visibility;
use crate::store::{Store, StoreError};
use crate::web::cards::{
    CardMode, CommentDraft, INLINE_COMMENTS, NAMED_LIKERS, StreamEntry, burst_card, group_bursts,
    item_card,
};
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views::{
    bdi, csrf_field, layout, layout_with_head, safe_next, shown_name, urlencode,
};
use crate::web::{AppState, PAGE_SIZE};
use crate::web::{assets, cache, services};

use super::auth::{FormErrors, NewUserForm, setup_page};
use super::federation;

#[derive(Debug, Default, Deserialize)]
pub struct StreamParams {
    pub before: Option<String>,
    /// The "Newer" link's cursor: the page of items just newer than it.
    pub after: Option<String>,
    /// A source kind: only items from sources of this kind.
    pub service: Option<String>,
    /// A source id: only items from this source.
    pub source: Option<i64>,
    /// `1`: show the items the viewer's rules hide, marked, instead of leaving them out.
    pub peek: Option<String>,
}

/// A form whose only field is where to go afterwards.
#[derive(Debug, Default, Deserialize)]
pub struct NextForm {
    #[serde(default)]
    pub next: String,
}

/// Everyone's stream; the setup form while the instance has no user.
pub async fn everyone_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if state.store.read(users::count).await? == 0 {
        return Ok(setup_page(&ctx, &NewUserForm::default(), &FormErrors::new()).into_response());
    }
    let render = {
        let (state, ctx) = (state.clone(), ctx.clone());
        async move {
            everyone_page(&state, &ctx, &params)
                .await
                .map(IntoResponse::into_response)
        }
    };
    cached_for_anonymous(&state, &ctx, &headers, render).await
}

async fn everyone_page(
    state: &AppState,
    ctx: &PageCtx,
    params: &StreamParams,
) -> Result<Markup, AppError> {
    let query = StreamQuery {
        source_kind: service(params),
        source: source(params),
        before: cursor(params.before.as_deref())?,
        after: cursor(params.after.as_deref())?,
        limit: PAGE_SIZE,
        ..StreamQuery::default()
    };
    let stream = load(&state.store, query, ctx, peeking(params)).await?;
    Ok(layout(
        ctx,
        "Everyone",
        html! {
            h1 { "Everyone" }
            (service_notice(params, "/"))
            (stream_body(ctx, &stream, "/", params, html! { p.empty { "Nothing here yet." } }))
        },
    ))
}

/// A user's lifestream: their items, newest activity first; their hidden ones too when
/// they look at it themselves.
pub async fn user_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(name): Path<String>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    // The same URL is the user's ActivityPub actor. That answer never goes through the
    // page cache (keyed by path and query only), so neither answer can stand in for the
    // other; both say `Vary: Accept` for caches outside.
    if federation::wants_activity_json(&headers) {
        let answer = federation::person_response(&state, &name).await;
        return Ok(federation::vary_accept(answer.into_response()));
    }
    let render = {
        let (store, ctx) = (state.store.clone(), ctx.clone());
        async move {
            match load_lifestream(&store, &ctx, &name, &params).await? {
                Some(page) => Ok(render_lifestream(&ctx, &page, &params).into_response()),
                None => Ok(not_found_in_layout(&ctx)),
            }
        }
    };
    let answer = cached_for_anonymous(&state, &ctx, &headers, render).await;
    Ok(federation::vary_accept(answer.into_response()))
}

/// Pages of viewers without a session are the same for all of them: those come from the
/// page cache. Everyone else gets a fresh render.
pub(super) async fn cached_for_anonymous(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    render: impl std::future::Future<Output = Result<Response, AppError>> + Send + 'static,
) -> Result<Response, AppError> {
    if ctx.user.is_some() {
        return render.await;
    }
    let version = state.store.version();
    cache::serve(
        &state.pages,
        version,
        ctx.path.clone(),
        cache::PAGE_TTL,
        headers,
        render,
    )
    .await
}

/// Everything a lifestream page shows, loaded from the store. The benchmarks keep one in
/// memory and render it again and again, to measure rendering alone.
pub struct Lifestream {
    header: Header,
    stream: Stream,
    /// The user's sources, for the filter chips.
    filters: Vec<SourceLabel>,
}

/// Loads `/{name}` as `ctx`'s viewer sees it; `None` when there is no such user.
pub async fn load_lifestream(
    store: &Store,
    ctx: &PageCtx,
    name: &str,
    params: &StreamParams,
) -> Result<Option<Lifestream>, AppError> {
    let (kind, one_source) = (service(params), source(params));
    let (before, after) = (
        cursor(params.before.as_deref())?,
        cursor(params.after.as_deref())?,
    );
    let viewer = ctx.user.as_ref().map(|me| me.id);
    let peek = peeking(params);
    let name = name.to_owned();
    // One read for the whole page: each read waits for a reader connection, and a cold
    // start has every request waiting on them.
    let found = store
        .read(move |conn| {
            let header = header_in(conn, &name, viewer)?;
            let user = &header.profile.user;
            let query = StreamQuery {
                user: Some(user.id),
                source_kind: kind,
                source: one_source,
                include_hidden_of: (viewer == Some(user.id)).then_some(user.id),
                before,
                after,
                limit: PAGE_SIZE,
                ..StreamQuery::default()
            };
            let stream = stream_in(conn, &query, viewer, peek)?;
            let filters = sources::labels(conn, user.id)?;
            Ok((header, stream, filters))
        })
        .await;
    let (header, stream, filters) = match found {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    Ok(Some(Lifestream {
        header,
        stream,
        filters,
    }))
}

/// The lifestream page. Pure.
pub fn render_lifestream(ctx: &PageCtx, page: &Lifestream, params: &StreamParams) -> Markup {
    let user = &page.header.profile.user;
    let path = format!("/{}", user.name);
    let empty = if ctx.is(user) && is_first_page(params) {
        html! {
            div.empty {
                p { "Your lifestream is empty." }
                p { a href="/settings/sources" { "Add a source" }
                    " (a blog feed, Mastodon, GitHub…) and its posts will show up here." }
            }
        }
    } else {
        html! { p.empty { "Nothing yet." } }
    };
    let filter = StreamFilter::of(params, &page.filters);
    user_page(
        ctx,
        &page.header,
        Tab::Lifestream,
        &filter,
        html! {
            @if ctx.is(user) && is_first_page(params) {
                (super::posts::compose_box(ctx, user, &super::posts::Compose::default()))
            }
            (filter_chips(&path, &page.filters, &filter))
            (stream_body(ctx, &page.stream, &path, params, empty))
        },
    )
}

/// Items of the people `{user}` follows, newest activity first.
pub async fn friends_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(name): Path<String>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let render = {
        let (state, ctx) = (state.clone(), ctx.clone());
        async move { related_stream(&state, &ctx, name, params, Tab::Friends).await }
    };
    cached_for_anonymous(&state, &ctx, &headers, render).await
}

/// Items `{user}` liked.
pub async fn likes_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(name): Path<String>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let render = {
        let (state, ctx) = (state.clone(), ctx.clone());
        async move { related_stream(&state, &ctx, name, params, Tab::Likes).await }
    };
    cached_for_anonymous(&state, &ctx, &headers, render).await
}

/// Items `{user}` commented on and `{user}`'s items others commented on, newest activity
/// first.
pub async fn discussions_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(name): Path<String>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let render = {
        let (state, ctx) = (state.clone(), ctx.clone());
        async move { related_stream(&state, &ctx, name, params, Tab::Discussions).await }
    };
    cached_for_anonymous(&state, &ctx, &headers, render).await
}

pub async fn follow_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let lookup = name.clone();
    let target = state
        .store
        .read(move |conn| users::by_name(conn, &lookup))
        .await?;
    if target.id == me.id {
        return Err(AppError::BadRequest("You cannot follow yourself.".into()));
    }
    let (me_id, target_id) = (me.id, target.id);
    let blocked = state
        .store
        .read(move |conn| visibility::relation(conn, target_id, Some(me_id)))
        .await?
        == Relation::Blocked;
    if blocked {
        return Err(AppError::NotFound);
    }
    let now = Utc::now();
    state
        .store
        .write(move |tx| social::follow(tx, me.id, target.id, now))
        .await?;
    Ok(Redirect::to(&back_to(
        &form.next,
        &format!("/{}", target.name),
    )))
}

pub async fn unfollow_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let lookup = name.clone();
    let target = state
        .store
        .read(move |conn| users::by_name(conn, &lookup))
        .await?;
    state
        .store
        .write(move |tx| social::unfollow(tx, me.id, target.id))
        .await?;
    Ok(Redirect::to(&back_to(
        &form.next,
        &format!("/{}", target.name),
    )))
}

/// `me` blocks `name`: neither sees the other's items or comments, and `name`'s follow of
/// `me` goes. `name` is not told. The list and "Unblock" are under Settings → Blocked.
pub async fn block_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(name): Path<String>,
    CsrfForm(_form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let lookup = name.clone();
    let target = state
        .store
        .read(move |conn| users::by_name(conn, &lookup))
        .await?;
    if target.id == me.id {
        return Err(AppError::BadRequest("You cannot block yourself.".into()));
    }
    let now = Utc::now();
    state
        .store
        .write(move |tx| visibility::block(tx, me.id, target.id, now))
        .await?;
    // Their page is no longer there for `me`: back to the list, where "Unblock" is.
    Ok(Redirect::to("/settings/blocked?done=blocked"))
}

pub async fn unblock_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(name): Path<String>,
    CsrfForm(_form): CsrfForm<NextForm>,
) -> Result<Redirect, AppError> {
    let lookup = name.clone();
    let target = state
        .store
        .read(move |conn| users::by_name(conn, &lookup))
        .await?;
    state
        .store
        .write(move |tx| visibility::unblock(tx, me.id, target.id))
        .await?;
    Ok(Redirect::to("/settings/blocked?done=unblocked"))
}

/// The users `me` blocked, each with "Unblock".
pub async fn blocked_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let blocked = state
        .store
        .read(move |conn| visibility::blocked_by(conn, me.id))
        .await?;
    let message = match query.done.as_deref() {
        Some("blocked") => Some("Blocked. They are not told."),
        Some("unblocked") => Some("Unblocked."),
        _ => None,
    };
    Ok(layout(
        &ctx,
        "Blocked users",
        html! {
            h1 { "Blocked users" }
            (crate::web::views::notice(message, false))
            p.help { "You and the people you block do not see each other's items or comments, they cannot comment on or like yours, and they do not follow you." }
            @if blocked.is_empty() {
                p.empty { "You have blocked nobody." }
            } @else {
                ul.blocked {
                    @for (_, name) in &blocked {
                        li {
                            (name) " "
                            form.inline method="post" action={ "/" (name) "/unblock" } {
                                (csrf_field(&ctx))
                                button.secondary type="submit" { "Unblock" }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// Where to go after a form: its `next` field when that is a local path, else `fallback`.
pub fn back_to(next: &str, fallback: &str) -> String {
    if !next.is_empty() && safe_next(Some(next)) == next {
        next.to_owned()
    } else {
        fallback.to_owned()
    }
}

/// The 404 page inside the normal layout, so the viewer keeps their navigation.
pub fn not_found_in_layout(ctx: &PageCtx) -> Response {
    let page = layout(
        ctx,
        "Not found",
        html! {
            section.error-page {
                h1 { "Not found" }
                p { "There is nothing at this address." }
                p { a href="/" { "Back to the front page" } }
            }
        },
    );
    (StatusCode::NOT_FOUND, page).into_response()
}

/// A page of items and what their cards show besides the items.
struct Stream {
    page: Page<Item>,
    social: HashMap<ItemId, ItemSocial>,
    /// The page's items the viewer's rules hide: left out of `page`, or, when peeking,
    /// kept in it and marked.
    hidden: HashSet<ItemId>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Lifestream,
    Friends,
    Likes,
    Discussions,
    Profile,
}

/// What the header of a user's pages shows.
pub(super) struct Header {
    pub(super) profile: Profile,
    pub(super) counts: ProfileCounts,
    /// The viewer follows this user (always false for anonymous viewers and the user).
    followed: bool,
}

async fn related_stream(
    state: &AppState,
    ctx: &PageCtx,
    name: String,
    params: StreamParams,
    tab: Tab,
) -> Result<Response, AppError> {
    let mut query = StreamQuery {
        source_kind: service(&params),
        source: source(&params),
        before: cursor(params.before.as_deref())?,
        after: cursor(params.after.as_deref())?,
        limit: PAGE_SIZE,
        ..StreamQuery::default()
    };
    let viewer = ctx.user.as_ref().map(|me| me.id);
    let peek = peeking(&params);
    // One read for the whole page (see `load_lifestream`).
    let found = state
        .store
        .read(move |conn| {
            let header = header_in(conn, &name, viewer)?;
            let user = header.profile.user.id;
            match tab {
                Tab::Friends => query.followed_by = Some(user),
                Tab::Likes => query.liked_by = Some(user),
                Tab::Discussions | Tab::Lifestream | Tab::Profile => {
                    query.discussions_of = Some(user)
                }
            }
            let stream = stream_in(conn, &query, viewer, peek)?;
            Ok((header, stream))
        })
        .await;
    let (header, stream) = match found {
        Ok(found) => found,
        Err(StoreError::NotFound) => return Ok(not_found_in_layout(ctx)),
        Err(err) => return Err(err.into()),
    };
    let user = &header.profile.user;
    let (path, empty) = match tab {
        Tab::Friends => {
            let empty = if ctx.is(user) {
                "You follow nobody yet. Open someone's page and press Follow to see their items here."
            } else {
                "Nothing yet."
            };
            (format!("/{}/friends", user.name), empty)
        }
        Tab::Likes => (format!("/{}/likes", user.name), "No liked items yet."),
        Tab::Discussions | Tab::Lifestream | Tab::Profile => {
            (format!("/{}/discussions", user.name), "No discussions yet.")
        }
    };
    let filter = StreamFilter::of(&params, &[]);
    Ok(user_page(
        ctx,
        &header,
        tab,
        &filter,
        html! {
            (service_notice(&params, &path))
            (stream_body(ctx, &stream, &path, &params, html! { p.empty { (empty) } }))
        },
    )
    .into_response())
}

/// The profile, counts and follow state of `name` as `viewer` sees them.
pub(super) fn header_in(
    conn: &Connection,
    name: &str,
    viewer: Option<UserId>,
) -> Result<Header, StoreError> {
    let profile = users::profile(conn, name)?;
    // A block either way: the one who blocked and the one blocked do not see each other.
    if visibility::relation(conn, profile.user.id, viewer)? == Relation::Blocked {
        return Err(StoreError::NotFound);
    }
    let counts = social::profile_counts(conn, profile.user.id)?;
    let followed = match viewer {
        Some(me) if me != profile.user.id => social::is_following(conn, me, profile.user.id)?,
        _ => false,
    };
    Ok(Header {
        profile,
        counts,
        followed,
    })
}

/// One page of the stream and, in a fixed number of queries, the likers and newest
/// comments of all its items. The viewer's rules hide others' items from the page (the
/// page's cursors stay those of the whole page, so paging goes on past hidden items);
/// `peek` keeps them, marked.
fn stream_in(
    conn: &Connection,
    query: &StreamQuery,
    viewer: Option<UserId>,
    peek: bool,
) -> Result<Stream, StoreError> {
    let query = StreamQuery {
        viewer,
        ..query.clone()
    };
    let mut page = stream_page(conn, &query)?;
    let mut hidden = HashSet::new();
    if let Some(me) = viewer {
        let rules = rules::viewer_matchers(conn, me)?;
        if !rules.is_empty() {
            hidden = page
                .items
                .iter()
                .filter(|item| item.user_id != me && crate::rules::hidden_by(&rules, item))
                .map(|item| item.id)
                .collect();
            if !peek {
                page.items.retain(|item| !hidden.contains(&item.id));
            }
        }
    }
    let ids: Vec<ItemId> = page.items.iter().map(|item| item.id).collect();
    let social = social::for_items(conn, &ids, viewer, NAMED_LIKERS, INLINE_COMMENTS)?;
    Ok(Stream {
        page,
        social,
        hidden,
    })
}

/// Whether the page asks to show what the viewer's rules hide.
fn peeking(params: &StreamParams) -> bool {
    params.peek.as_deref() == Some("1")
}

/// `stream_in` on a reader connection.
async fn load(
    store: &Store,
    query: StreamQuery,
    ctx: &PageCtx,
    peek: bool,
) -> Result<Stream, AppError> {
    let viewer: Option<UserId> = ctx.user.as_ref().map(|me| me.id);
    Ok(store
        .read(move |conn| stream_in(conn, &query, viewer, peek))
        .await?)
}

/// A page link's cursor (`?before=` or `?after=`); an empty one is none.
fn cursor(param: Option<&str>) -> Result<Option<Cursor>, AppError> {
    match param.filter(|text| !text.is_empty()) {
        Some(text) => Cursor::decode(text)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest("That page link is not valid.".into())),
        None => Ok(None),
    }
}

/// Whether `params` ask for the newest page (no cursor).
fn is_first_page(params: &StreamParams) -> bool {
    [&params.before, &params.after]
        .iter()
        .all(|param| param.as_deref().is_none_or(str::is_empty))
}

fn service(params: &StreamParams) -> Option<String> {
    params
        .service
        .as_deref()
        .map(str::trim)
        .filter(|kind| !kind.is_empty())
        .map(str::to_owned)
}

fn source(params: &StreamParams) -> Option<SourceId> {
    params.source.map(SourceId)
}

/// The filter a stream page is under: one service, one source, or none.
pub(super) enum StreamFilter {
    All,
    Service(String),
    /// A source id, with its label when it is one of the user's sources.
    Source(SourceId, Option<String>),
}

impl StreamFilter {
    fn of(params: &StreamParams, labels: &[SourceLabel]) -> StreamFilter {
        if let Some(id) = source(params) {
            let label = labels
                .iter()
                .find(|label| label.id == id)
                .map(|label| label.title.clone());
            StreamFilter::Source(id, label)
        } else if let Some(kind) = service(params) {
            StreamFilter::Service(kind)
        } else {
            StreamFilter::All
        }
    }
}

/// The query of a stream page's filter, for links that keep it: `&service=…`, `&source=…`.
fn filter_param(params: &StreamParams) -> String {
    let mut param = String::new();
    if let Some(kind) = service(params) {
        param.push_str(&format!("&service={}", urlencode(&kind)));
    }
    if let Some(id) = source(params) {
        param.push_str(&format!("&source={id}"));
    }
    param
}

/// "Showing only …" above a filtered stream of a page without chips.
fn service_notice(params: &StreamParams, path: &str) -> Markup {
    let shown = match StreamFilter::of(params, &[]) {
        StreamFilter::All => return html! {},
        StreamFilter::Service(kind) => services::service_of(&kind).name.to_owned(),
        StreamFilter::Source(id, _) => format!("source {id}"),
    };
    html! {
        p.filter-notice.muted {
            "Showing only " strong { (shown) } " items. " a href=(path) { "Show all" }
        }
    }
}

/// The chips above a lifestream: all items, each service the user has a source of, and
/// each source; the current one is marked. Each filtered stream has its own feeds.
fn filter_chips(path: &str, labels: &[SourceLabel], filter: &StreamFilter) -> Markup {
    if labels.is_empty() {
        return html! {};
    }
    let mut kinds: Vec<&str> = labels.iter().map(|label| label.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let is_all = matches!(filter, StreamFilter::All);
    html! {
        nav.filter-chips aria-label="Filter the stream" {
            a.chip href=(path) aria-current=[is_all.then_some("page")] { "All" }
            @for kind in &kinds {
                @let service = services::service_of(kind);
                @let current = matches!(filter, StreamFilter::Service(k) if k == kind);
                a.chip.service-chip href={ (path) "?service=" (urlencode(kind)) }
                    aria-current=[current.then_some("page")] {
                    img.service-icon src=(assets::url(service.icon)) alt="" width="16" height="16";
                    " " (service.name)
                }
            }
            @for label in labels {
                @let current = matches!(filter, StreamFilter::Source(id, _) if *id == label.id);
                a.chip.source-chip href={ (path) "?source=" (label.id) }
                    aria-current=[current.then_some("page")] {
                    @if let Some(hash) = label.icon_hash.as_deref().filter(|hash| crate::media::is_hash(hash)) {
                        img.service-icon src={ "/media/" (hash) } alt="" width="16" height="16";
                        " "
                    }
                    (bdi(&label.title))
                }
            }
        }
        @match filter {
            StreamFilter::All => {}
            StreamFilter::Service(kind) => {
                p.filter-notice.muted {
                    "Showing only " strong { (services::service_of(kind).name) } " items. "
                    a href=(path) { "Show all" }
                }
            }
            StreamFilter::Source(_, label) => {
                p.filter-notice.muted {
                    "Showing only items from " strong { (bdi(label.as_deref().unwrap_or("one source"))) } ". "
                    a href=(path) { "Show all" }
                }
            }
        }
    }
}

fn stream_body(
    ctx: &PageCtx,
    stream: &Stream,
    path: &str,
    params: &StreamParams,
    empty: Markup,
) -> Markup {
    let now = Utc::now();
    let no_social = ItemSocial::default();
    let filter_param = filter_param(params);
    let newest = match filter_param.strip_prefix('&') {
        Some(filter) => format!("{path}?{filter}"),
        None => path.to_owned(),
    };
    let page = &stream.page;
    let first = is_first_page(params);
    // A source's own stream shows every item: that is where a burst's "and K more" leads.
    let entries = if source(params).is_some() {
        stream.page.items.iter().map(StreamEntry::One).collect()
    } else {
        group_bursts(&stream.page.items)
    };
    let peek = peeking(params);
    let n_hidden = stream.hidden.len();
    // This very page with and without `peek=1`: its cursor and filter kept.
    let cursor_param = match (&params.before, &params.after) {
        (Some(before), _) if !before.is_empty() => format!("&before={}", urlencode(before)),
        (_, Some(after)) if !after.is_empty() => format!("&after={}", urlencode(after)),
        _ => String::new(),
    };
    let with_query = |query: String| match query.strip_prefix('&') {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let peek_link = with_query(format!("{cursor_param}{filter_param}&peek=1"));
    let unpeek_link = with_query(format!("{cursor_param}{filter_param}"));
    // Paging keeps the peek.
    let page_param = if peek {
        format!("{filter_param}&peek=1")
    } else {
        filter_param.clone()
    };
    html! {
        @if n_hidden > 0 {
            p.rules-notice.muted role="status" {
                @if peek {
                    "Showing " (n_hidden) " " (if n_hidden == 1 { "item" } else { "items" })
                    " your rules hide, marked. "
                    a href=(unpeek_link) { "Hide them again" }
                } @else {
                    (n_hidden) " " (if n_hidden == 1 { "item" } else { "items" }) " hidden by your rules. "
                    a href=(peek_link) { "Show them" }
                }
                " · " a href="/settings/rules" { "Your rules" }
            }
        }
        @if stream.page.items.is_empty() && n_hidden == 0 {
            (empty)
        }
        div.stream {
            @for entry in &entries {
                @match entry {
                    StreamEntry::One(item) if stream.hidden.contains(&item.id) => {
                        div.rule-hidden {
                            p.rule-hidden-note.muted { "Hidden by your rules" }
                            (item_card(ctx, item, stream.social.get(&item.id).unwrap_or(&no_social),
                                CardMode::Stream, &CommentDraft::default(), now))
                        }
                    }
                    StreamEntry::One(item) => {
                        (item_card(ctx, item, stream.social.get(&item.id).unwrap_or(&no_social),
                            CardMode::Stream, &CommentDraft::default(), now))
                    }
                    StreamEntry::Burst(items) => (burst_card(items, now)),
                }
            }
        }
        @if !first || page.next.is_some() {
            nav.pages aria-label="Pages" {
                @if !first {
                    a.newest href=(newest) { "Newest" }
                }
                @if let Some(prev) = page.prev {
                    a rel="prev" href={ (path) "?after=" (prev.encode()) (page_param) } { "Newer items" }
                }
                @if let Some(next) = page.next {
                    a rel="next" href={ (path) "?before=" (next.encode()) (page_param) } { "Older items" }
                }
            }
        }
    }
}

/// A page of `{user}`'s under `filter` (`?service=` or `?source=`).
pub(super) fn user_page(
    ctx: &PageCtx,
    header: &Header,
    tab: Tab,
    filter: &StreamFilter,
    body: Markup,
) -> Markup {
    let user = &header.profile.user;
    let name = shown_name(&user.display_name, &user.name);
    let title = match tab {
        Tab::Lifestream => name.to_owned(),
        Tab::Friends => format!("{name} · Friends"),
        Tab::Likes => format!("{name} · Likes"),
        Tab::Discussions => format!("{name} · Discussions"),
        Tab::Profile => format!("{name} · Profile"),
    };
    // Autodiscovery names the feed of the stream on the page: the friends stream, one
    // service's or one source's items, or the user's own.
    let (feed_base, feed_title) = match (tab, filter) {
        (Tab::Friends, StreamFilter::All) => (
            format!("/{}/friends/feed", user.name),
            format!("{name}'s friends"),
        ),
        (Tab::Lifestream, StreamFilter::Service(kind)) if crate::export::is_service_name(kind) => (
            format!("/{}/{kind}/feed", user.name),
            format!("{name}: {}", services::service_of(kind).name),
        ),
        (Tab::Lifestream, StreamFilter::Source(id, Some(label))) => (
            format!("/{}/source/{id}/feed", user.name),
            format!("{name}: {label}"),
        ),
        _ => (format!("/{}/feed", user.name), name.to_owned()),
    };
    let feeds = html! {
        link rel="alternate" type="application/atom+xml" title={ (feed_title) " (Atom)" }
            href={ (feed_base) ".atom" };
        link rel="alternate" type="application/rss+xml" title={ (feed_title) " (RSS)" }
            href={ (feed_base) ".rss" };
        link rel="alternate" type="application/feed+json" title={ (feed_title) " (JSON Feed)" }
            href={ (feed_base) ".json" };
    };
    layout_with_head(
        ctx,
        &title,
        feeds,
        html! {
            (profile_header(ctx, header))
            nav.tabs aria-label="Streams" {
                (tab_link(&format!("/{}", user.name), "Lifestream", tab == Tab::Lifestream))
                (tab_link(&format!("/{}/friends", user.name), "Friends", tab == Tab::Friends))
                (tab_link(&format!("/{}/likes", user.name), "Likes", tab == Tab::Likes))
                (tab_link(&format!("/{}/discussions", user.name), "Discussions", tab == Tab::Discussions))
                (tab_link(&format!("/{}/profile", user.name), "Profile", tab == Tab::Profile))
            }
            (body)
        },
    )
}

fn tab_link(href: &str, label: &str, current: bool) -> Markup {
    html! { a href=(href) aria-current=[current.then_some("page")] { (label) } }
}

fn profile_header(ctx: &PageCtx, header: &Header) -> Markup {
    let profile = &header.profile;
    let user = &profile.user;
    let avatar = profile.avatar_url.as_deref().filter(|url| is_web_url(url));
    let display_name = shown_name(&user.display_name, &user.name);
    let counts = &header.counts;
    html! {
        header.profile {
            @if let Some(avatar) = avatar {
                img.avatar src=(avatar) alt="" width="64" height="64" loading="lazy";
            }
            div.profile-text {
                h1 { (bdi(display_name)) }
                p.muted.handle { "@" (user.name) }
                @if !profile.bio.trim().is_empty() { p.bio dir="auto" { (profile.bio) } }
                p.counts.muted {
                    (counts.n_items) (if counts.n_items == 1 { " item" } else { " items" })
                    " · " (counts.n_followers) (if counts.n_followers == 1 { " follower" } else { " followers" })
                    " · following " (counts.n_following)
                }
            }
            @if ctx.user.is_some() && !ctx.is(user) {
                @let (action, label) = if header.followed { ("unfollow", "Unfollow") } else { ("follow", "Follow") };
                form.follow method="post" action={ "/" (user.name) "/" (action) } {
                    (csrf_field(ctx))
                    input type="hidden" name="next" value=(ctx.path);
                    button.secondary[header.followed] type="submit" { (label) }
                }
                form.block method="post" action={ "/" (user.name) "/block" } {
                    (csrf_field(ctx))
                    input type="hidden" name="next" value=(ctx.path);
                    button.secondary type="submit" { "Block" }
                }
            }
        }
    }
}

/// Avatars are shown only from `http(s)` addresses.
fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}
