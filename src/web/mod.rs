//! The web app: axum router, maud views, security headers. Reads through `store`, and
//! changes sources and accounts only through the `sources` and `users` services; never
//! fetches, never normalizes.

pub mod assets;
pub mod cache;
pub mod cards;
pub mod error;
pub mod host;
pub mod limit;
pub mod pages;
pub mod services;
pub mod session;
pub mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use tokio::net::TcpListener;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

use crate::config::Config;
use crate::federation::receive::MAX_INBOX_BYTES;
use crate::sources::Sources;
use crate::store::Store;
use crate::users::Users;
use error::AppError;
use limit::{LoginLimiter, RateLimiter};
use pages::{
    actor, auth, events, federation, fediverse, feeds, import, inbox, item, media, notifications,
    posts, profile, rules, search, settings, sources, stream, websub,
};

/// Items on one page of a stream.
pub const PAGE_SIZE: usize = 30;
/// Bodies smaller than this go out as they are: compressing them saves less than the
/// header it costs.
pub(crate) const MIN_COMPRESSED_BYTES: usize = 512;
/// The brotli and gzip level for documents rendered per request: brotli's own default
/// (11) costs tens of milliseconds a page; 4 is about gzip's speed at a smaller size.
const COMPRESSION_LEVEL: i32 = 4;

/// The types that are compressed: our pages, style sheet, icon, feeds and documents.
/// Everything else goes out as it is: media files (`/media/`, already compressed) and
/// the event stream (`text/event-stream`, which must reach the browser as it is written).
const COMPRESSED_TYPES: [&str; 15] = [
    "text/html",
    "text/css",
    "text/plain",
    "text/xml",
    "text/x-opml",
    "image/svg+xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
    "application/json",
    "application/activity+json",
    "application/xml",
    "application/ld+json",
    "application/jrd+json",
    "application/xrd+xml",
];

/// Every response carries this. No inline script or style anywhere; feed HTML can load
/// images and media but no frames, scripts or forms elsewhere; nothing may frame us.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src https: http:; media-src https: http:; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub sources: Sources,
    pub users: Users,
    pub cookie_key: Key,
    pub login_limiter: Arc<LoginLimiter>,
    pub comment_limiter: Arc<RateLimiter>,
    /// Activities per remote host per minute, across the inboxes.
    pub inbox_limiter: Arc<RateLimiter>,
    /// The host names forms are accepted for (`host::check_host`).
    pub hosts: Arc<host::HostPolicy>,
    /// Rendered pages and exports for viewers without a session.
    pub pages: Arc<cache::PageCache>,
    /// The instance actor's key (beside the database), loaded on first use.
    pub instance_key: crate::instance_key::InstanceKeyCell,
    /// ActivityPub: actors, keys, inbox and deliveries.
    pub federation: crate::federation::Federation,
    /// Files from archives and posts, served at `/media/{hash}`.
    pub media: crate::media::MediaStore,
    /// Posts written here and shares (the compose box, edit, delete, share).
    pub posts: crate::posts::Posts,
    /// Live updates: handlers and ingest publish, `/events` streams subscribe.
    pub events: crate::events::Events,
    /// WebSub in: push subscriptions, their worker and the `/websub/{token}` callback.
    pub websub: crate::websub_in::Subscriber,
}

impl AppState {
    /// Loads (or creates, on first run) the cookie key beside the database.
    pub fn new(store: Store, config: Arc<Config>, sources: Sources) -> std::io::Result<AppState> {
        let cookie_key = session::load_or_create_key(store.path())?;
        let store_path = &store.path().to_path_buf();
        let login_limiter = Arc::new(LoginLimiter::new(
            config.auth.max_failed_logins,
            Duration::from_secs(config.auth.failed_login_window_secs),
        ));
        let comment_limiter = Arc::new(RateLimiter::new(
            config.auth.max_comments_per_minute,
            Duration::from_secs(60),
        ));
        let inbox_limiter = Arc::new(RateLimiter::new(
            config.federation.inbox_per_host_per_minute,
            Duration::from_secs(60),
        ));
        let hosts = Arc::new(host::HostPolicy::from_config(&config));
        let instance_key = crate::instance_key::InstanceKeyCell::beside(store_path);
        let federation = crate::federation::Federation::for_instance(
            store.clone(),
            config.clone(),
            instance_key.clone(),
        )
        .map_err(|err| std::io::Error::other(err.to_string()))?;
        let media = crate::media::MediaStore::new(store.clone(), &config.media);
        let posts =
            crate::posts::Posts::new(store.clone(), media.clone(), sources.http.clone(), &config);
        let websub =
            crate::websub_in::Subscriber::new(store.clone(), &config, sources.ingest.clone())
                .map_err(|err| std::io::Error::other(err.to_string()))?;
        Ok(AppState {
            websub,
            users: Users::new(store.clone()),
            media,
            posts,
            store,
            config,
            sources,
            cookie_key,
            login_limiter,
            comment_limiter,
            inbox_limiter,
            hosts,
            pages: Arc::default(),
            instance_key,
            federation,
            events: crate::events::Events::default(),
        })
    }
}

/// The whole route table. Pure: no IO here. Fixed first path segments must be in
/// `auth::RESERVED_NAMES` (checked by a test), because `/{user}` lives at the root.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The route table plus `extra` routes, behind the same middleware and headers. The
/// benchmark server adds its measuring routes this way; the product adds none.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    Router::new()
        .merge(extra)
        .route("/", get(stream::everyone_get).post(auth::setup_post))
        .route("/healthz", get(healthz_get))
        .route("/actor", get(actor::actor_get))
        .route("/actor/outbox", get(federation::actor_outbox_get))
        .route("/.well-known/webfinger", get(federation::webfinger_get))
        .route("/.well-known/nodeinfo", get(federation::nodeinfo_links_get))
        .route("/.well-known/host-meta", get(federation::host_meta_get))
        .route("/nodeinfo/2.1", get(federation::nodeinfo_get))
        .route("/static/{hash}/{file}", get(assets::static_get))
        .route("/media/{hash}", get(media::media_get))
        .route(
            "/websub/{token}",
            get(websub::callback_get).post(websub::callback_post),
        )
        .route("/login", get(auth::login_get).post(auth::login_post))
        .route("/logout", post(auth::logout_post))
        .route("/signup", get(auth::signup_get).post(auth::signup_post))
        .route(
            "/invite/{token}",
            get(auth::invite_get).post(auth::invite_post),
        )
        .route("/notifications", get(notifications::notifications_get))
        .route(
            "/notifications/read",
            post(notifications::notifications_read_post),
        )
        .route(
            "/notifications/feed/reset",
            post(notifications::notifications_feed_reset_post),
        )
        .route(
            "/notifications/feed.atom",
            get(notifications::notifications_feed_get),
        )
        .route("/settings", get(settings::settings_get))
        .route("/settings/blocked", get(stream::blocked_get))
        .route(
            "/settings/rules",
            get(rules::rules_get).post(rules::rules_post),
        )
        .route("/settings/rules/{id}/delete", post(rules::rule_delete_post))
        .route("/settings/profile", post(settings::profile_post))
        .route("/settings/password", post(settings::password_post))
        .route(
            "/settings/users",
            get(settings::users_get).post(settings::users_post),
        )
        .route("/settings/invites", post(settings::invites_post))
        .route(
            "/settings/invites/{id}/revoke",
            post(settings::invite_revoke_post),
        )
        .route(
            "/settings/fediverse",
            get(fediverse::fediverse_get).post(fediverse::fediverse_post),
        )
        .route(
            "/settings/fediverse/followers/{actor_id}/approve",
            post(fediverse::follower_approve_post),
        )
        .route(
            "/settings/fediverse/followers/{actor_id}/remove",
            post(fediverse::follower_remove_post),
        )
        .route("/settings/fediverse/blocks", post(fediverse::blocks_post))
        .route(
            "/settings/fediverse/blocks/remove",
            post(fediverse::blocks_remove_post),
        )
        .route(
            "/settings/fediverse/instance-blocks",
            post(fediverse::instance_blocks_post),
        )
        .route(
            "/settings/fediverse/instance-blocks/remove",
            post(fediverse::instance_blocks_remove_post),
        )
        .route(
            "/settings/import",
            get(import::import_get).post(import::import_post),
        )
        .route(
            "/settings/import/opml",
            post(import::opml_upload_post).layer(DefaultBodyLimit::max(
                import::MAX_OPML_UPLOAD_BYTES + session::MAX_FORM_BYTES,
            )),
        )
        .route(
            "/settings/import/archive",
            post(import::archive_post).layer(DefaultBodyLimit::max(
                usize::try_from(state.config.import.max_upload_bytes.saturating_add(1 << 20))
                    .unwrap_or(usize::MAX),
            )),
        )
        .route(
            "/settings/sources",
            get(sources::sources_get).post(sources::sources_add_post),
        )
        .route(
            "/settings/sources/preview",
            post(sources::sources_preview_post),
        )
        .route(
            "/settings/sources/advanced",
            post(sources::sources_advanced_post),
        )
        .route(
            "/settings/sources/{id}",
            get(sources::source_get).post(sources::source_edit_post),
        )
        .route(
            "/settings/sources/{id}/poll",
            post(sources::source_poll_post),
        )
        .route(
            "/settings/sources/{id}/history",
            post(sources::source_history_post),
        )
        .route(
            "/settings/sources/{id}/enable",
            post(sources::source_enable_post),
        )
        .route(
            "/settings/sources/{id}/disable",
            post(sources::source_disable_post),
        )
        .route(
            "/settings/sources/{id}/keep-deleted",
            post(sources::source_keep_deleted_post),
        )
        .route(
            "/settings/sources/{id}/visibility",
            post(sources::source_visibility_post),
        )
        .route(
            "/settings/sources/{id}/remove",
            post(sources::source_remove_post),
        )
        .route("/search", get(search::search_get))
        .route("/search/{file}", get(search::feed_get))
        .route("/search/saved", post(search::save_post))
        .route("/search/saved/{id}", get(search::saved_get))
        .route("/search/saved/{id}/delete", post(search::saved_delete_post))
        .route("/events", get(events::events_get))
        .route("/e/{id}", get(item::item_get))
        .route(
            "/e/{id}/comments/{comment_id}/fragment",
            get(item::comment_fragment_get),
        )
        .route("/e/{id}/comments", post(item::comment_post))
        .route("/e/{id}/comments.atom", get(feeds::comments_atom_get))
        .route("/e/{id}/like", post(item::like_post))
        .route("/e/{id}/unlike", post(item::unlike_post))
        .route("/e/{id}/hide", post(item::hide_post))
        .route("/e/{id}/edit", get(posts::edit_get).post(posts::edit_post))
        .route(
            "/e/{id}/delete",
            get(posts::delete_get).post(posts::delete_post),
        )
        .route(
            "/e/{id}/share",
            get(posts::share_get).post(posts::share_post),
        )
        .route("/e/{id}/unshare", post(posts::unshare_post))
        .route("/e/{id}/unhide", post(item::unhide_post))
        .route("/e/{id}/visibility", post(item::visibility_post))
        .route(
            "/c/{id}/edit",
            get(item::comment_edit_get).post(item::comment_edit_post),
        )
        .route("/c/{id}/delete", post(item::comment_delete_post))
        .route("/{user}", get(stream::user_get))
        .route("/{user}/friends", get(stream::friends_get))
        .route("/{user}/tributary", get(posts::service_get))
        .route(
            "/{user}/post",
            get(posts::compose_get)
                .post(posts::compose_post)
                .layer(DefaultBodyLimit::max(posts::MAX_COMPOSE_BYTES)),
        )
        .route("/{user}/likes", get(stream::likes_get))
        .route("/{user}/discussions", get(stream::discussions_get))
        .route("/{user}/profile", get(profile::profile_get))
        .route(
            "/{user}/inbox",
            post(inbox::user_inbox_post).layer(DefaultBodyLimit::max(MAX_INBOX_BYTES)),
        )
        .route(
            "/inbox",
            post(inbox::shared_inbox_post).layer(DefaultBodyLimit::max(MAX_INBOX_BYTES)),
        )
        .route(
            "/actor/inbox",
            post(inbox::shared_inbox_post).layer(DefaultBodyLimit::max(MAX_INBOX_BYTES)),
        )
        .route("/{user}/outbox", get(federation::outbox_get))
        .route("/{user}/followers", get(federation::followers_get))
        .route("/{user}/following", get(federation::following_get))
        .route("/{user}/follow", post(stream::follow_post))
        .route("/{user}/unfollow", post(stream::unfollow_post))
        .route("/{user}/block", post(stream::block_post))
        .route("/{user}/unblock", post(stream::unblock_post))
        .route("/{user}/feed.atom", get(feeds::user_atom_get))
        .route("/{user}/feed.rss", get(feeds::user_rss_get))
        .route("/{user}/feed.json", get(feeds::user_json_get))
        .route("/{user}/sources.opml", get(feeds::user_opml_get))
        .route("/{user}/friends/{file}", get(feeds::friends_feed_get))
        .route("/{user}/source/{id}/{file}", get(feeds::source_feed_get))
        .route("/{user}/{service}/{file}", get(feeds::service_feed_get))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::csrf_cookie,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            host::check_host,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(session::MAX_FORM_BYTES))
        .layer(compression())
        .with_state(state)
}

/// gzip and brotli, as the request's `Accept-Encoding` allows, for the types in
/// [`COMPRESSED_TYPES`]. A response that already has a `Content-Encoding` (a compressed
/// copy from the page cache) is left alone.
fn compression() -> CompressionLayer<impl Predicate> {
    let of_our_types = |_: axum::http::StatusCode,
                        _: axum::http::Version,
                        headers: &axum::http::HeaderMap,
                        _: &axum::http::Extensions| {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(is_compressed_type)
    };
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(COMPRESSION_LEVEL))
        .compress_when(SizeAbove::new(MIN_COMPRESSED_BYTES as u16).and(of_our_types))
}

/// Whether a response of `content_type` is compressed (parameters such as `charset`
/// aside).
pub fn is_compressed_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    COMPRESSED_TYPES.contains(&essence.as_str())
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A handler's own, stricter policy (`/media/` sets a sandbox) is kept.
///
/// `Referrer-Policy: same-origin`, not `no-referrer`: with `no-referrer` browsers send
/// `Origin: null` on our own form posts, which the CSRF origin check must refuse. Other
/// sites get no referrer from this header alone, so the cards' own links carry no `rel`;
/// sanitized content keeps the sanitizer's `referrerpolicy="no-referrer"`.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn healthz_get(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.store.read(crate::store::ping).await?;
    Ok("ok")
}

async fn not_found() -> AppError {
    AppError::NotFound
}
