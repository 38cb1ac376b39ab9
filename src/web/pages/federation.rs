//! The read side of federation: WebFinger, NodeInfo and host-meta; users' actors and
//! items as ActivityPub documents (negotiated on `/{user}` and `/e/{id}`); outboxes and
//! the followers and following collections. The documents themselves are built by
//! `federation::documents`; this module loads what they need and answers.
//!
//! A user whose federation is off is not there for any of these (404), while their HTML
//! pages stay.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use crate::federation::documents::{self, ACTIVITY_JSON, ActorProfile, JRD_JSON};
use crate::model::{Cursor, ItemId, User};
use crate::store::federation::{self as db, Settings};
use crate::store::items::{self, StreamQuery};
use crate::store::{social, sources, users};
use crate::web::AppState;
use crate::web::error::AppError;

/// Items on one outbox page.
pub const OUTBOX_PAGE_SIZE: usize = 20;
/// The user part of the instance actor's handle.
pub const INSTANCE_USER: &str = "actor";
/// Connectors whose profile page is built from a public account name, so that it can be
/// shown on the actor. Other sources' addresses may hold secrets (a token in a feed URL)
/// and are shown to their owner only (ARCHITECTURE.md, invariants).
const PROFILE_PAGE_KINDS: [&str; 6] = [
    "github",
    "hackernews",
    "bluesky",
    "lobsters",
    "stackexchange",
    "activitypub",
];

/// Whether a request's `Accept` asks for ActivityStreams rather than a page: an
/// ActivityStreams type (`application/activity+json`, or `application/ld+json` with or
/// without a profile) is listed with a quality above 0 and no HTML type has a higher one.
/// Wildcards count for neither, so browsers (`text/html, …, */*;q=0.8`) get pages.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    let mut activity_q = 0.0_f32;
    let mut html_q = 0.0_f32;
    for accept in headers.get_all(header::ACCEPT) {
        let Ok(accept) = accept.to_str() else {
            continue;
        };
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0_f32;
            for param in parts {
                if let Some((name, value)) = param.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    q = value.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
                }
            }
            match media_type.as_str() {
                "application/activity+json" | "application/ld+json" => {
                    activity_q = activity_q.max(q);
                }
                "text/html" | "application/xhtml+xml" => html_q = html_q.max(q),
                _ => {}
            }
        }
    }
    activity_q > 0.0 && activity_q >= html_q
}

/// Adds `Vary: Accept`: `/{user}` and `/e/{id}` answer a page or a document by `Accept`,
/// so no shared cache may give one to a client that asked for the other.
pub fn vary_accept(mut response: Response) -> Response {
    let headers = response.headers_mut();
    // One value naming every field the answer varies on, `Accept` first (the page cache
    // and compression add `Accept-Encoding`).
    let mut names: Vec<String> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    if !names.iter().any(|name| name.eq_ignore_ascii_case("accept")) {
        names.insert(0, "Accept".to_owned());
    }
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        headers.insert(header::VARY, value);
    }
    response
}

/// A JSON document with its media type.
fn document(content_type: &'static str, body: &Value) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body.to_string()).into_response()
}

/// An ActivityPub document; public, so other servers may read it from anywhere.
fn activity(body: &Value) -> Response {
    let mut response = document(ACTIVITY_JSON, body);
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The user `name` with federation on, and their settings; `NotFound` otherwise.
async fn federating_user(state: &AppState, name: &str) -> Result<(User, Settings), AppError> {
    let name = name.to_owned();
    let (user, settings) = state
        .store
        .read(move |conn| {
            let user = users::by_name(conn, &name)?;
            let settings = db::settings(conn, user.id)?;
            Ok((user, settings))
        })
        .await?;
    if !settings.enabled {
        return Err(AppError::NotFound);
    }
    Ok((user, settings))
}

/// `authority` of the base URL (`host` or `host:port`, lower case).
fn authority(base: &str) -> String {
    url::Url::parse(base)
        .ok()
        .and_then(|url| connectors::protocol::activitypub::target::authority(&url))
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    #[serde(default)]
    resource: String,
}

/// Which local account a WebFinger `resource` names: `acct:name@authority` (the
/// authority compared without case), or the account's URL `B/name`.
fn webfinger_name(resource: &str, base: &str) -> Option<String> {
    let resource = resource.trim();
    if let Some(name) = resource.strip_prefix(&format!("{base}/")) {
        return (!name.is_empty() && !name.contains(['/', '?', '#'])).then(|| name.to_owned());
    }
    let acct = resource
        .strip_prefix("acct:")
        .unwrap_or(resource)
        .trim_start_matches('@');
    let (name, host) = acct.rsplit_once('@')?;
    (host.eq_ignore_ascii_case(&authority(base)) && !name.is_empty() && !name.contains('@'))
        .then(|| name.to_owned())
}

/// `GET /.well-known/webfinger?resource=…`: every user whose federation is on, and the
/// instance actor.
pub async fn webfinger_get(
    State(state): State<AppState>,
    Query(query): Query<WebfingerQuery>,
) -> Result<Response, AppError> {
    let base = state.config.base_url();
    let host = authority(&base);
    let name = webfinger_name(&query.resource, &base).ok_or(AppError::NotFound)?;
    let body = if name == INSTANCE_USER {
        documents::webfinger(INSTANCE_USER, &host, &format!("{base}/actor"), None)
    } else {
        let (user, _) = federating_user(&state, &name).await?;
        let actor = documents::actor_id(&base, &user.name);
        documents::webfinger(&user.name, &host, &actor, Some(&actor))
    };
    let mut response = document(JRD_JSON, &body);
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// `GET /.well-known/nodeinfo`.
pub async fn nodeinfo_links_get(State(state): State<AppState>) -> Response {
    let mut response = document(
        "application/json",
        &documents::nodeinfo_links(&state.config.base_url()),
    );
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /nodeinfo/2.1`: the software, and how many federating users and posts it has.
pub async fn nodeinfo_get(State(state): State<AppState>) -> Result<Response, AppError> {
    let now = Utc::now();
    let counted = state
        .store
        .read(move |conn| users::federated_usage(conn, now))
        .await?;
    let usage = documents::Usage {
        users: counted.users,
        active_month: counted.active_month,
        active_halfyear: counted.active_halfyear,
        local_posts: counted.local_posts,
    };
    let open = state.config.auth.signup == crate::config::Signup::Open;
    let mut response = document(documents::NODEINFO_JSON, &documents::nodeinfo(&usage, open));
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// `GET /.well-known/host-meta` (RFC 6415).
pub async fn host_meta_get(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        documents::host_meta(&state.config.base_url()),
    )
        .into_response()
}

/// `GET /{user}` asked for ActivityStreams: the user's `Person`.
pub async fn person_response(state: &AppState, name: &str) -> Result<Response, AppError> {
    let (user, settings) = federating_user(state, name).await?;
    let lookup = user.name.clone();
    let user_id = user.id;
    let (profile, list) = state
        .store
        .read(move |conn| {
            Ok((
                users::profile(conn, &lookup)?,
                sources::list(conn, Some(user_id))?,
            ))
        })
        .await?;
    let mut services: Vec<(String, String)> = Vec::new();
    for source in &list {
        if !PROFILE_PAGE_KINDS.contains(&source.kind.as_str()) {
            continue;
        }
        let Some(connector) = state.sources.registry.get(&source.kind) else {
            continue;
        };
        let Some(page) = connector.addresses(&source.params).page else {
            continue;
        };
        let page = page.to_string();
        if !services.iter().any(|(_, seen)| *seen == page) {
            services.push((connector.info().title.to_owned(), page));
        }
    }
    let key = state
        .federation
        .public_key_pem(user.id)
        .await
        .map_err(|err| AppError::Internal(err.to_string()))?;
    let base = state.config.base_url();
    let actor_profile = ActorProfile {
        bio: &profile.bio,
        avatar_url: profile.avatar_url.as_deref(),
        public_key_pem: &key,
        services: &services,
    };
    Ok(activity(&documents::person(
        &user,
        &actor_profile,
        &settings,
        &base,
    )))
}

/// `GET /e/{id}` asked for ActivityStreams: the item as a `Note` or `Article` when it is
/// public and its owner federates; a `Tombstone` (410) when it was deleted.
pub async fn note_response(state: &AppState, id: ItemId) -> Result<Response, AppError> {
    let (item, item_state, owner, settings) = state
        .store
        .read(move |conn| {
            let item = items::get(conn, id)?;
            let item_state = social::item_state(conn, id)?;
            let owner = users::get(conn, item.user_id)?;
            let settings = db::settings(conn, owner.id)?;
            Ok((item, item_state, owner, settings))
        })
        .await?;
    if !settings.enabled {
        return Err(AppError::NotFound);
    }
    let base = state.config.base_url();
    if item_state.tombstoned {
        let former = if documents::is_article(&item) {
            "Article"
        } else {
            "Note"
        };
        let mut response = activity(&documents::tombstone(id, &base, former, None));
        *response.status_mut() = StatusCode::GONE;
        return Ok(response);
    }
    if !item_state.is_public() {
        return Err(AppError::NotFound);
    }
    Ok(activity(&documents::note(&item, &owner, &base)))
}

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    /// `true` (or any value) asks for a page rather than the collection.
    pub page: Option<String>,
    /// Keyset cursor: the page of items older than this (as in stream pages).
    pub max_id: Option<String>,
}

/// `GET /{user}/outbox`: the collection (`totalItems`, `first`), or with `?page=true` /
/// `?max_id=…` a page of `Create` activities, newest first: the public items of the
/// lifestream, in its order.
pub async fn outbox_get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let (user, _) = federating_user(&state, &name).await?;
    let base = state.config.base_url();
    let id = format!("{}/outbox", documents::actor_id(&base, &user.name));
    let first = format!("{id}?page=true");
    if params.page.is_none() && params.max_id.is_none() {
        let user_id = user.id;
        let counts = state
            .store
            .read(move |conn| social::profile_counts(conn, user_id))
            .await?;
        return Ok(activity(&documents::ordered_collection(
            &id,
            counts.n_items,
            Some(&first),
            None,
        )));
    }
    let before = match params.max_id.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(
            Cursor::decode(text)
                .ok_or_else(|| AppError::BadRequest("That page link is not valid.".into()))?,
        ),
        None => None,
    };
    let query = StreamQuery {
        user: Some(user.id),
        before,
        limit: OUTBOX_PAGE_SIZE,
        ..StreamQuery::default()
    };
    let page = state
        .store
        .read(move |conn| items::stream_page(conn, &query))
        .await?;
    let activities: Vec<Value> = page
        .items
        .iter()
        .map(|item| documents::create(&documents::note(item, &user, &base), &user, &base))
        .collect();
    let this = match before {
        Some(cursor) => format!("{id}?page=true&max_id={}", cursor.encode()),
        None => first,
    };
    let next = page
        .next
        .map(|next| format!("{id}?page=true&max_id={}", next.encode()));
    Ok(activity(&documents::ordered_collection_page(
        &this,
        &id,
        activities,
        next.as_deref(),
        None,
    )))
}

/// `GET /{user}/followers`: how many remote accounts follow the user, and nothing more
/// (who follows whom is the followers' business, as on Mastodon when hidden).
pub async fn followers_get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let (user, _) = federating_user(&state, &name).await?;
    let user_id = user.id;
    let n = state
        .store
        .read(move |conn| db::n_followers(conn, user_id))
        .await?;
    let base = state.config.base_url();
    Ok(activity(&documents::ordered_collection(
        &documents::followers_id(&base, &user.name),
        n,
        None,
        None,
    )))
}

/// `GET /{user}/following`: the federating local users this user follows, as actor ids;
/// the list on its one page (`?page=true`).
pub async fn following_get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, AppError> {
    let (user, _) = federating_user(&state, &name).await?;
    let user_id = user.id;
    let names = state
        .store
        .read(move |conn| social::federating_followee_names(conn, user_id))
        .await?;
    let base = state.config.base_url();
    let id = format!("{}/following", documents::actor_id(&base, &user.name));
    let first = format!("{id}?page=true");
    if params.page.is_none() {
        return Ok(activity(&documents::ordered_collection(
            &id,
            names.len() as u64,
            Some(&first),
            Some(&first),
        )));
    }
    let actors = names
        .iter()
        .map(|name| Value::String(documents::actor_id(&base, name)))
        .collect();
    Ok(activity(&documents::ordered_collection_page(
        &first, &id, actors, None, None,
    )))
}

/// `GET /actor/outbox`: the instance actor posts nothing.
pub async fn actor_outbox_get(State(state): State<AppState>) -> Response {
    let id = format!("{}/actor/outbox", state.config.base_url());
    let mut doc = documents::ordered_collection(&id, 0, None, None);
    doc["orderedItems"] = Value::Array(Vec::new());
    activity(&doc)
}
