//! Exports served over HTTP: Atom, RSS and JSON Feed of streams (with RFC 5005 archive
//! pages at `?page=K`), the comments feed of an item, and a user's sources as OPML. Every
//! response carries an ETag and Last-Modified and answers a matching request with 304.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::export::opml::OpmlSource;
use crate::export::{self, Format, Owner, Site, StreamKind};
use crate::model::{ItemId, SourceId, User};
use crate::social::Relation;
use crate::store::export::{self as export_store, Scope};
use crate::store::{sources, users, visibility};
use crate::web::cache;
use crate::web::error::AppError;
use crate::web::session::{CurrentUser, PageCtx};
use crate::web::{AppState, assets};

/// Cache lifetime of documents that change when new items arrive.
const CURRENT_MAX_AGE_SECS: u64 = 300;
/// Cache lifetime of archive pages: new items never change them; only a deletion, an
/// edit or a comment does, and the ETag catches those on revalidation.
const ARCHIVE_MAX_AGE_SECS: u64 = 86_400;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// An archive page (1 is the oldest); none means the subscription document.
    pub page: Option<u64>,
}

pub async fn user_atom_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(user): Path<String>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    stream_get(
        state,
        &ctx,
        user,
        None,
        Format::Atom,
        query.page,
        &uri,
        &headers,
    )
    .await
}

pub async fn user_rss_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(user): Path<String>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    stream_get(
        state,
        &ctx,
        user,
        None,
        Format::Rss,
        query.page,
        &uri,
        &headers,
    )
    .await
}

pub async fn user_json_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(user): Path<String>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    stream_get(
        state,
        &ctx,
        user,
        None,
        Format::Json,
        query.page,
        &uri,
        &headers,
    )
    .await
}

/// `/{user}/friends/feed.{atom,rss,json}`.
pub async fn friends_feed_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((user, file)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let format = Format::from_file_name(&file).ok_or(AppError::NotFound)?;
    stream_get(
        state,
        &ctx,
        user,
        Some(Stream::Friends),
        format,
        query.page,
        &uri,
        &headers,
    )
    .await
}

/// `/{user}/{service}/feed.{atom,rss,json}`: the items from one kind of source.
pub async fn service_feed_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((user, service, file)): Path<(String, String, String)>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let format = Format::from_file_name(&file).ok_or(AppError::NotFound)?;
    if !export::is_service_name(&service) {
        return Err(AppError::NotFound);
    }
    stream_get(
        state,
        &ctx,
        user,
        Some(Stream::Service(service)),
        format,
        query.page,
        &uri,
        &headers,
    )
    .await
}

/// `/{user}/source/{id}/feed.{atom,rss,json}`: the items from one source.
pub async fn source_feed_get(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((user, source, file)): Path<(String, i64, String)>,
    Query(query): Query<PageQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let format = Format::from_file_name(&file).ok_or(AppError::NotFound)?;
    stream_get(
        state,
        &ctx,
        user,
        Some(Stream::Source(SourceId(source))),
        format,
        query.page,
        &uri,
        &headers,
    )
    .await
}

pub async fn comments_atom_get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = ItemId(id);
    let (entry, comments, activity, owner) = state
        .store
        .read(move |conn| {
            if !export_store::is_public(conn, id)? {
                return Err(crate::store::StoreError::NotFound);
            }
            let (entry, comments, activity) = export_store::item_with_comments(conn, id)?;
            let owner = users::get(conn, entry.item.user_id)?;
            Ok((entry, comments, activity, owner))
        })
        .await?;
    let site = site(&state);
    let comments: Vec<_> = comments
        .into_iter()
        .map(|mut comment| {
            // A remote author's profile is already a whole URL.
            if !comment.author_url.contains("://") {
                comment.author_url = site.url(&format!("/{}", comment.author_url));
            }
            comment
        })
        .collect();
    let updated = comments
        .iter()
        .map(|c| c.edited_at.unwrap_or(c.created_at))
        .chain([export::entry_updated(&entry.item)])
        .max()
        .unwrap_or(entry.item.published_at);
    let owner_view = owner_of(&owner);
    let title = if entry.item.title.trim().is_empty() {
        format!("Comments on an item by {}", owner_view.shown_name())
    } else {
        format!("Comments on “{}”", entry.item.title)
    };
    let meta = export::FeedMeta {
        site: site.clone(),
        id: site.feed_tag(&format!("item/{}/comments", id.0)),
        title,
        self_url: site.comments_feed(id),
        alternate_url: site.item_page(id),
        icon_url: site.url(&assets::url("icon.svg")),
        author_name: owner_view.shown_name().to_owned(),
        author_url: site.url(&format!("/{}", owner.name)),
        updated,
        paging: export::Paging::default(),
        hub: None,
    };
    let body = export::atom::comments_atom(&meta, &entry, &comments);
    Ok(conditional(
        &headers,
        body,
        Format::Atom.content_type(),
        activity.max(updated),
        CURRENT_MAX_AGE_SECS,
    ))
}

/// The OPML of a user's sources, for that user only: source parameters are where private
/// feed addresses keep their tokens (`?secret=…`, a token in the path, a key in a recipe
/// parameter), and no rule can tell a secret part of an address from a public one. Anyone
/// else gets 404 and nobody is told whether the list exists; a visitor without a session
/// is sent to log in first, so the owner's own link works from a logged-out browser.
pub async fn user_opml_get(
    State(state): State<AppState>,
    CurrentUser(me, _): CurrentUser,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if me.name != user {
        return Err(AppError::NotFound);
    }
    let owner_id = me.id;
    let (owner, list) = state
        .store
        .read(move |conn| {
            let owner = users::get(conn, owner_id)?;
            let list = sources::list(conn, Some(owner.id))?;
            Ok((owner, list))
        })
        .await?;
    let last_modified = list
        .iter()
        .map(|source| source.created_at)
        .max()
        .unwrap_or(owner.created_at);
    let body = opml_document(&state.sources.registry, &owner, &list, last_modified);
    let mut response = conditional(
        &headers,
        body,
        "text/x-opml; charset=utf-8",
        last_modified,
        CURRENT_MAX_AGE_SECS,
    );
    // One person's document: no shared cache may keep it.
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
    Ok(response)
}

/// The OPML document of a user's sources (also written by `tributary export opml`): every
/// source, with the addresses its connector gives for other readers.
pub fn opml_document(
    registry: &connectors::Registry,
    owner: &User,
    list: &[crate::model::Source],
    created: DateTime<Utc>,
) -> Vec<u8> {
    let sources: Vec<OpmlSource> = list
        .iter()
        .map(|source| {
            let addresses = registry
                .get(&source.kind)
                .map(|connector| connector.addresses(&source.params))
                .unwrap_or_default();
            OpmlSource {
                title: source.title.clone(),
                kind: source.kind.clone(),
                params: source.params.clone(),
                schedule: source.schedule.clone(),
                xml_url: addresses.feed.map(String::from),
                html_url: addresses.page.map(String::from),
            }
        })
        .collect();
    let title = format!("{}'s sources on Tributary", owner_of(owner).shown_name());
    export::opml::opml(&title, &owner.name, created, &sources)
}

/// Which stream besides the user's own.
enum Stream {
    Friends,
    Service(String),
    Source(SourceId),
}

/// A stream export, from the page cache when the content did not change since it was
/// rendered.
// One argument per part of the request the document depends on.
#[allow(clippy::too_many_arguments)]
async fn stream_get(
    state: AppState,
    ctx: &PageCtx,
    user_name: String,
    stream: Option<Stream>,
    format: Format,
    page: Option<u64>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    // Feeds are public, the same for everyone, but not there for a signed-in viewer the
    // owner blocked or who blocked the owner.
    if let Some(viewer) = ctx.user.as_ref().map(|me| me.id) {
        let name = user_name.clone();
        let relation = state
            .store
            .read(move |conn| {
                let owner = users::by_name(conn, &name)?;
                visibility::relation(conn, owner.id, Some(viewer))
            })
            .await?;
        if relation == Relation::Blocked {
            return Err(AppError::NotFound);
        }
    }
    let version = state.store.version();
    let key = uri.path_and_query().map_or("", |pq| pq.as_str()).to_owned();
    let pages = state.pages.clone();
    let render = render_stream(state, user_name, stream, format, page);
    cache::serve(&pages, version, key, cache::FEED_TTL, headers, render).await
}

async fn render_stream(
    state: AppState,
    user_name: String,
    stream: Option<Stream>,
    format: Format,
    page: Option<u64>,
) -> Result<Response, AppError> {
    let (owner, scope) = {
        let owner = state
            .store
            .read(move |conn| users::by_name(conn, &user_name))
            .await?;
        let scope = match &stream {
            None => Scope::User(owner.id),
            Some(Stream::Friends) => Scope::Friends(owner.id),
            Some(Stream::Service(service)) => Scope::Service(owner.id, service.clone()),
            Some(Stream::Source(source)) => Scope::Source(owner.id, *source),
        };
        (owner, scope)
    };
    // A service the user has no source of has no stream: 404, not an empty feed.
    let export_page = state
        .store
        .read(move |conn| {
            if let Scope::Service(user, kind) = &scope
                && !export_store::has_service(conn, *user, kind)?
            {
                return Err(crate::store::StoreError::NotFound);
            }
            // A source of someone else, or removed, has no stream here.
            let source_title = match &scope {
                Scope::Source(user, source) => {
                    if !export_store::has_source(conn, *user, *source)? {
                        return Err(crate::store::StoreError::NotFound);
                    }
                    let found = sources::get(conn, *source)?;
                    Some(if found.title.trim().is_empty() {
                        found.kind
                    } else {
                        found.title
                    })
                }
                _ => None,
            };
            Ok((export_store::page(conn, &scope, page)?, source_title))
        })
        .await?;
    let (export_page, source_title) = export_page;
    let kind = match &stream {
        None => StreamKind::User,
        Some(Stream::Friends) => StreamKind::Friends,
        Some(Stream::Service(service)) => StreamKind::Service(service),
        Some(Stream::Source(source)) => {
            StreamKind::Source(*source, source_title.as_deref().unwrap_or_default())
        }
    };
    let meta = export::stream_meta(
        &site(&state),
        owner_of(&owner),
        kind,
        format,
        &export_page.block,
        &export_page.entries,
        &assets::url("icon.svg"),
    );
    let body = format.render(&meta, &export_page.entries);
    let last_modified = export_page
        .last_activity
        .map_or(meta.updated, |at| at.max(meta.updated));
    let max_age = if export_page.block.page.is_some() {
        ARCHIVE_MAX_AGE_SECS
    } else {
        CURRENT_MAX_AGE_SECS
    };
    // Always the whole document: the cache decides on 304s from its validators.
    let (headers, body) = document(body, format.content_type(), last_modified, max_age);
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = headers;
    Ok(response)
}

fn site(state: &AppState) -> Site {
    Site::new(&state.config.base_url()).with_hub(state.config.websub.hub_url())
}

fn owner_of(user: &User) -> Owner<'_> {
    Owner {
        name: &user.name,
        display_name: &user.display_name,
        created_at: user.created_at,
    }
}

/// [`conditional`] for a document that changes when new items arrive.
pub fn conditional_current(
    request: &HeaderMap,
    body: Vec<u8>,
    content_type: &'static str,
    last_modified: DateTime<Utc>,
) -> Response {
    conditional(
        request,
        body,
        content_type,
        last_modified,
        CURRENT_MAX_AGE_SECS,
    )
}

/// 200 with validators, or 304 with no body when the request's validators match.
fn conditional(
    request: &HeaderMap,
    body: Vec<u8>,
    content_type: &'static str,
    last_modified: DateTime<Utc>,
    max_age_secs: u64,
) -> Response {
    let (headers, body) = document(body, content_type, last_modified, max_age_secs);
    cache::conditional(&headers, body, request)
}

/// An export's headers: an ETag over its bytes, Last-Modified, Cache-Control and its type.
fn document(
    body: Vec<u8>,
    content_type: &'static str,
    last_modified: DateTime<Utc>,
    max_age_secs: u64,
) -> (HeaderMap, Bytes) {
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    // `httpdate` writes years 1970 to 9999 only; a stored time outside them is clamped.
    let seconds = last_modified.timestamp().clamp(0, 253_402_300_799) as u64;
    let last_modified =
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds));
    let mut headers = HeaderMap::new();
    let value = |text: String| HeaderValue::from_str(&text).expect("ASCII header value");
    headers.insert(header::ETAG, value(etag));
    headers.insert(header::LAST_MODIFIED, value(last_modified));
    headers.insert(
        header::CACHE_CONTROL,
        value(format!("public, max-age={max_age_secs}")),
    );
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (headers, Bytes::from(body))
}
