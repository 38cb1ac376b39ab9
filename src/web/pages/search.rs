//! Search (issue #20): `/search?q=` with its operators, highlighted snippets and keyset
//! pages; every search as Atom, RSS and JSON Feed (`/search/feed.{atom,rss,json}?q=`);
//! and saved searches (`/search/saved/{id}`), each in its owner's navigation with "N new
//! since your last visit". The query language is `crate::search`; the reads are
//! `store::search`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::export::{self, ExportItem, Format, Site};
use crate::model::{ItemId, UserId};
use crate::search::{self, FilterValue, Search};
use crate::store::search::{self as search_store, Hit, MARK_END, MARK_START, Order, SearchCursor};
use crate::store::{StoreError, export as export_store, social};
use crate::web::cards::{CardMode, CommentDraft, INLINE_COMMENTS, NAMED_LIKERS, item_card};
use crate::web::error::AppError;
use crate::web::session::{CsrfForm, CurrentUser, PageCtx};
use crate::web::views::{bdi, csrf_field, layout_with_head, urlencode};
use crate::web::{AppState, PAGE_SIZE, assets};

use super::feeds;

/// Results in a search feed.
const FEED_SIZE: usize = 50;
/// "N new since your last visit" counts up to this many.
const MAX_NEW_COUNTED: usize = 100;
/// The longest name of a saved search, in characters.
const MAX_NAME_CHARS: usize = 80;

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub order: String,
    /// The next page starts after this result.
    pub after: Option<String>,
}

/// What a search page shows, besides the results.
struct Shown<'a> {
    /// The page's own path (`/search` or a saved search's).
    path: String,
    params: &'a SearchParams,
    order: Order,
    error: Option<String>,
    /// A saved search: its id, name and how many items are new since the last visit.
    saved: Option<(i64, String, usize)>,
}

/// `/search`: the form, and the results when a query was given.
/// An anonymous visitor's results come from the page cache, like the other anonymous
/// pages: the same query again, with nothing stored since, is not searched again.
pub async fn search_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Result<Response, AppError> {
    let render = {
        let (state, ctx) = (state.clone(), ctx.clone());
        async move {
            let shown = Shown {
                path: "/search".into(),
                params: &params,
                order: Order::default(),
                error: None,
                saved: None,
            };
            results_page(&state, &ctx, shown).await
        }
    };
    super::stream::cached_for_anonymous(&state, &ctx, &headers, render).await
}

async fn results_page(
    state: &AppState,
    ctx: &PageCtx,
    mut shown: Shown<'_>,
) -> Result<Response, AppError> {
    let params = shown.params;
    let (search, order, after) = match understand(params, ctx.user.as_ref().map(|u| u.id)) {
        Ok(understood) => understood,
        Err(message) => {
            shown.error = Some(message);
            let page = render(ctx, &shown, None);
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    shown.order = order;
    if search == Search::default() {
        return Ok(render(ctx, &shown, None).into_response());
    }
    let viewer = ctx.user.as_ref().map(|me| me.id);
    let query = search_store::SearchQuery {
        search,
        viewer,
        order,
        after,
        newer_than: None,
        limit: PAGE_SIZE,
    };
    let found = state
        .store
        .read(move |conn| {
            let page = search_store::run(conn, &query)?;
            let ids: Vec<ItemId> = page.hits.iter().map(|hit| hit.item.id).collect();
            let social = social::for_items(conn, &ids, viewer, NAMED_LIKERS, INLINE_COMMENTS)?;
            Ok((page, social))
        })
        .await?;
    Ok(render(ctx, &shown, Some(found)).into_response())
}

/// The parsed query, order and cursor of `params`, or the message for the person.
fn understand(
    params: &SearchParams,
    viewer: Option<UserId>,
) -> Result<(Search, Order, Option<SearchCursor>), String> {
    let search = search::parse(&params.q).map_err(|err| err.to_string())?;
    let order = Order::parse(&params.order)
        .ok_or_else(|| "Results are ordered by “newest” or by “relevance”.".to_owned())?;
    let after = match params.after.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(
            SearchCursor::decode(text, order)
                .ok_or_else(|| "That page link is not valid.".to_owned())?,
        ),
        None => None,
    };
    let personal = search.filters.iter().any(|filter| {
        filter
            .any_of
            .iter()
            .any(|value| matches!(value, FilterValue::Liked | FilterValue::Commented))
    });
    if personal && viewer.is_none() {
        return Err("is:liked and is:commented are about what you liked and commented on: log in to use them.".into());
    }
    Ok((search, order, after))
}

type Found = (
    search_store::SearchPage,
    std::collections::HashMap<ItemId, social::ItemSocial>,
);

fn render(ctx: &PageCtx, shown: &Shown<'_>, found: Option<Found>) -> Markup {
    let q = shown.params.q.trim();
    let title = match &shown.saved {
        Some((_, name, _)) => format!("Saved search: {name}"),
        None if q.is_empty() => "Search".to_owned(),
        None => format!("Search: {q}"),
    };
    let feed = |format: Format| format!("/search/feed.{}?q={}", format.extension(), urlencode(q));
    let feeds_head = html! {
        @if !q.is_empty() && shown.error.is_none() {
            link rel="alternate" type="application/atom+xml" title={ "Search: " (q) " (Atom)" } href=(feed(Format::Atom));
            link rel="alternate" type="application/rss+xml" title={ "Search: " (q) " (RSS)" } href=(feed(Format::Rss));
            link rel="alternate" type="application/feed+json" title={ "Search: " (q) " (JSON Feed)" } href=(feed(Format::Json));
        }
    };
    let now = Utc::now();
    let body = html! {
        h1 { @match &shown.saved { Some((_, name, _)) => { "Saved search: " (bdi(name)) }, None => "Search" } }
        form.search-form role="search" method="get" action=(shown.path) {
            label for="search-q" { "Search for" }
            input #search-q type="search" name="q" value=(shown.params.q) maxlength=(search::MAX_QUERY_CHARS * 4)
                aria-describedby="search-help" aria-invalid=[shown.error.as_ref().map(|_| "true")];
            label for="search-order" { "Order" }
            select #search-order name="order" {
                option value="newest" selected[shown.order == Order::Newest] { "Newest first" }
                option value="relevance" selected[shown.order == Order::Relevance] { "Best match first" }
            }
            button type="submit" { "Search" }
        }
        @if let Some(error) = &shown.error {
            p.error role="alert" { (error) }
        }
        @if let Some((_, _, n_new)) = &shown.saved {
            p.search-new.muted {
                @if *n_new == 0 { "Nothing new since your last visit." }
                @else if *n_new >= MAX_NEW_COUNTED { (MAX_NEW_COUNTED) "+ new since your last visit." }
                @else if *n_new == 1 { "1 new since your last visit." }
                @else { (n_new) " new since your last visit." }
            }
        }
        details #search-help.search-help open[q.is_empty() && shown.error.is_none()] {
            summary { "How to search" }
            p { "All words must match: in titles, text, authors, tags and comments. "
                code { "\"exact phrase\"" } ", " code { "word*" } " (starts with), "
                code { "-word" } " (leave out), " code { "a OR b" } "." }
            p { "Filters: " code { "from:NAME" } ", " code { "service:github" } ", "
                code { "source:ID" } ", " code { "kind:photo" } ", " code { "has:media" } ", "
                code { "is:liked" } ", " code { "is:commented" } ", "
                code { "before:2024-01-01" } ", " code { "after:2024-01-01" }
                ". Put " code { "-" } " before a filter to leave its items out." }
        }
        @if let Some((page, social)) = &found {
            @if !q.is_empty() {
                p.search-feeds.muted {
                    "This search as a feed: "
                    a href=(feed(Format::Atom)) { "Atom" } ", "
                    a href=(feed(Format::Rss)) { "RSS" } ", "
                    a href=(feed(Format::Json)) { "JSON Feed" }
                    @if ctx.user.is_some() && shown.saved.is_none() {
                        (save_form(ctx, q))
                    }
                }
            }
            @if page.hits.is_empty() {
                p.empty { "Nothing matches." }
            }
            @let no_social = social::ItemSocial::default();
            div.stream.search-results {
                @for hit in &page.hits {
                    div.search-hit {
                        @if !hit.snippet.is_empty() {
                            p.snippet dir="auto" {
                                @if hit.in_comment { span.muted { "In a comment: " } }
                                (highlighted(&hit.snippet))
                            }
                        }
                        (item_card(ctx, &hit.item, social.get(&hit.item.id).unwrap_or(&no_social),
                            CardMode::Stream, &CommentDraft::default(), now))
                    }
                }
            }
            @if let Some(next) = page.next {
                nav.pages aria-label="Pages" {
                    a rel="next" href={ (shown.path) "?q=" (urlencode(&shown.params.q))
                        "&order=" (shown.order.as_str()) "&after=" (next.encode(shown.order)) } { "More results" }
                }
            }
        }
        @if let Some((id, _, _)) = &shown.saved {
            form.inline method="post" action={ "/search/saved/" (id) "/delete" } {
                (csrf_field(ctx))
                button.secondary type="submit" { "Remove this saved search" }
            }
        }
    };
    layout_with_head(ctx, &title, feeds_head, body)
}

fn save_form(ctx: &PageCtx, q: &str) -> Markup {
    html! {
        form.inline.save-search method="post" action="/search/saved" {
            (csrf_field(ctx))
            input type="hidden" name="q" value=(q);
            label for="save-name" { "Save as" }
            input #save-name type="text" name="name" value=(q) maxlength=(MAX_NAME_CHARS);
            button.secondary type="submit" { "Save search" }
        }
    }
}

/// A snippet's text, escaped, with its marked words in `<mark>`.
fn highlighted(snippet: &str) -> Markup {
    let escaped = maud::html! { (snippet) }.into_string();
    let marked = escaped
        .replace(MARK_START, "<mark>")
        .replace(MARK_END, "</mark>");
    // Marks that a cut snippet left unbalanced are closed by the browser's parser; a
    // lone end mark is dropped by it.
    PreEscaped(marked)
}

#[derive(Debug, Default, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub name: String,
}

/// Saves a search for the viewer; back to the search with the message when it cannot be.
pub async fn save_post(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    CsrfForm(form): CsrfForm<SaveForm>,
) -> Result<Response, AppError> {
    let q = form.q.trim().to_owned();
    let params = SearchParams {
        q: q.clone(),
        ..SearchParams::default()
    };
    let refuse = |message: String| -> Result<Response, AppError> {
        let shown = Shown {
            path: "/search".into(),
            params: &params,
            order: Order::default(),
            error: Some(message),
            saved: None,
        };
        Ok((StatusCode::BAD_REQUEST, render(&ctx, &shown, None)).into_response())
    };
    let search = match search::parse(&q) {
        Ok(search) if search != Search::default() => search,
        Ok(_) => return refuse("Type a search to save.".into()),
        Err(err) => return refuse(err.to_string()),
    };
    let name = match form.name.trim() {
        "" => q.clone(),
        name => name.to_owned(),
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse(format!(
            "A saved search's name is at most {MAX_NAME_CHARS} characters."
        ));
    }
    let now = Utc::now();
    let saved = state
        .store
        .write(move |tx| {
            let seen = search_store::newest_match(tx, &search, Some(me.id))?;
            search_store::save(tx, me.id, &name, &q, seen, now)
        })
        .await;
    match saved {
        Ok(id) => Ok(Redirect::to(&format!("/search/saved/{id}")).into_response()),
        Err(StoreError::Conflict(message)) => refuse(message),
        Err(err) => Err(err.into()),
    }
}

/// A saved search's page, for its owner: its results and how many are new since the last
/// visit, which this visit then marks seen.
pub async fn saved_get(
    State(state): State<AppState>,
    CurrentUser(me, ctx): CurrentUser,
    Path(id): Path<i64>,
    Query(mut params): Query<SearchParams>,
) -> Result<Response, AppError> {
    let saved = state
        .store
        .read(move |conn| search_store::saved(conn, me.id, id))
        .await?;
    params.q = saved.query.clone();
    let n_new = match search::parse(&saved.query) {
        Ok(search) => {
            let seen = saved.seen_item_id;
            let now = Utc::now();
            state
                .store
                .write(move |tx| {
                    let n =
                        search_store::count_newer(tx, &search, Some(me.id), seen, MAX_NEW_COUNTED)?;
                    let newest = search_store::newest_match(tx, &search, Some(me.id))?;
                    search_store::mark_seen(tx, me.id, id, newest, now)?;
                    Ok(n)
                })
                .await?
        }
        Err(_) => 0,
    };
    let shown = Shown {
        path: format!("/search/saved/{id}"),
        params: &params,
        order: Order::default(),
        error: None,
        saved: Some((id, saved.name.clone(), n_new)),
    };
    results_page(&state, &ctx, shown).await
}

/// Removes one of the viewer's saved searches.
pub async fn saved_delete_post(
    State(state): State<AppState>,
    CurrentUser(me, _ctx): CurrentUser,
    Path(id): Path<i64>,
    CsrfForm(_form): CsrfForm<super::stream::NextForm>,
) -> Result<Redirect, AppError> {
    state
        .store
        .write(move |tx| search_store::unsave(tx, me.id, id))
        .await?;
    Ok(Redirect::to("/search"))
}

/// `/search/feed.{atom,rss,json}?q=`: the newest results anyone may see, as a feed.
pub async fn feed_get(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<SearchParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let format = Format::from_file_name(&file).ok_or(AppError::NotFound)?;
    let params = SearchParams {
        order: String::new(),
        after: None,
        ..params
    };
    let (search, _, _) = understand(&params, None).map_err(AppError::BadRequest)?;
    if search == Search::default() {
        return Err(AppError::BadRequest(
            "A search feed needs a search: ?q=…".into(),
        ));
    }
    let query = search_store::SearchQuery {
        search,
        limit: FEED_SIZE,
        ..search_store::SearchQuery::default()
    };
    let (entries, last_activity) = state
        .store
        .read(move |conn| {
            let page = search_store::run(conn, &query)?;
            let mut last = None;
            let mut entries = Vec::with_capacity(page.hits.len());
            for Hit { item, .. } in page.hits {
                let (n_comments, commented) = export_store::comment_stats(conn, item.id)?;
                let activity = commented.map_or(item.fetched_at, |at| at.max(item.fetched_at));
                last = Some(last.map_or(activity, |at: chrono::DateTime<Utc>| at.max(activity)));
                entries.push(ExportItem { item, n_comments });
            }
            Ok((entries, last))
        })
        .await?;
    let site = Site::new(&state.config.base_url());
    let q = params.q.trim();
    let query_param = urlencode(q);
    let epoch = chrono::DateTime::<Utc>::UNIX_EPOCH;
    let meta = export::FeedMeta {
        site: site.clone(),
        id: site.feed_tag(&format!("search?q={query_param}")),
        title: format!("Search: {q}"),
        self_url: site.url(&format!(
            "/search/feed.{}?q={query_param}",
            format.extension()
        )),
        alternate_url: site.url(&format!("/search?q={query_param}")),
        icon_url: site.url(&assets::url("icon.svg")),
        author_name: "Tributary".into(),
        author_url: site.url("/"),
        updated: export::newest_update(&entries, epoch),
        paging: export::Paging::default(),
        hub: None,
    };
    let body = format.render(&meta, &entries);
    let last_modified = last_activity.map_or(meta.updated, |at| at.max(meta.updated));
    Ok(feeds::conditional_current(
        &headers,
        body,
        format.content_type(),
        last_modified,
    ))
}

/// The navigation's links to the viewer's saved searches.
pub fn nav_links(saved: &[(i64, String)]) -> Markup {
    html! {
        @if !saved.is_empty() {
            details.nav-saved {
                summary { "Saved searches" }
                ul {
                    @for (id, name) in saved {
                        li { a href={ "/search/saved/" (id) } { (bdi(name)) } }
                    }
                }
            }
        }
    }
}
