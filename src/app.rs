//! The composition root: builds the store, fetcher, registry, ingest, scheduler, the
//! sources and users services and the web server from the config. The command line
//! (`cli/`) gets everything it runs from here, so it never names `web` or writes a
//! table itself.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use connectors::Registry;
use tokio_util::sync::CancellationToken;

use crate::archive::import::ArchiveImporter;
use crate::config::Config;
use crate::fetch::HttpClient;
use crate::ingest::Ingest;
use crate::model::{Source, User};
use crate::scheduler::{self, SchedulerHandle};
use crate::sources::Sources;
use crate::store::{Store, StoreError};
use crate::users::Users;
use crate::web;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: StoreError,
    },
    #[error("cannot build the fetcher: {0}")]
    Fetch(String),
    #[error("{0}")]
    Registry(String),
    #[error("server.listen: {0}")]
    Listen(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read or create the cookie key beside the database: {0}")]
    CookieKey(std::io::Error),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

pub fn open_store(config: &Config) -> Result<Store, StartError> {
    Store::open(&config.database.path, config.database.readers).map_err(|source| {
        StartError::Store {
            path: config.database.path.display().to_string(),
            source,
        }
    })
}

/// The fetcher, signing as the instance actor (key beside the database) when a server
/// refuses unsigned ActivityPub reads.
pub fn http_client(config: &Config) -> Result<HttpClient, StartError> {
    let key = crate::fetch::signing::InstanceKeyCell::beside(&config.database.path);
    let signer = crate::fetch::signing::Signer::new(key, &config.base_url());
    Ok(HttpClient::new(&config.fetch)
        .map_err(|err| StartError::Fetch(err.to_string()))?
        .with_signer(signer))
}

/// The connectors for this config: built-ins, the GitHub token, the operator's recipes
/// (each refused one is logged with its file and key).
pub fn build_registry(config: &Config) -> Result<Registry, StartError> {
    crate::registry::build_logged(&config.connectors)
        .map(|built| built.registry)
        .map_err(|err| StartError::Registry(err.to_string()))
}

pub fn build_ingest(config: &Config, store: Store) -> Result<Ingest, StartError> {
    let http = http_client(config)?;
    let media = crate::media::MediaStore::new(store.clone(), &config.media);
    let ingest = Ingest::new(
        store,
        Arc::new(http),
        Arc::new(build_registry(config)?),
        config.scheduler.clone(),
    )
    .with_normalize(config.normalize.clone());
    ingest.set_media(media);
    Ok(ingest)
}

/// The services a one-shot command uses. No scheduler runs in this process: a running
/// `tributary serve` finds new due sources within its longest sleep (a minute).
pub struct Services {
    pub store: Store,
    pub sources: Sources,
    pub users: Users,
    pub archives: ArchiveImporter,
    pub posts: crate::posts::Posts,
}

/// The archive importer over `store`, with the config's caps and media store.
pub fn archive_importer(config: &Config, store: &Store) -> ArchiveImporter {
    ArchiveImporter {
        store: store.clone(),
        media: crate::media::MediaStore::new(store.clone(), &config.media),
        limits: (&config.import).into(),
        base_url: config.base_url(),
        sanitize_fast_path: config.normalize.sanitize_fast_path,
    }
}

pub fn services(config: &Config) -> Result<Services, StartError> {
    let store = open_store(config)?;
    let http: Arc<dyn connectors::Http> = Arc::new(http_client(config)?);
    let registry = Arc::new(build_registry(config)?);
    let posts = crate::posts::Posts::new(
        store.clone(),
        crate::media::MediaStore::new(store.clone(), &config.media),
        http.clone(),
        config,
    );
    let sources = Sources::new(store.clone(), registry, http, SchedulerHandle::default());
    Ok(Services {
        posts,
        users: Users::new(store.clone()),
        archives: archive_importer(config, &store),
        sources,
        store,
    })
}

/// The OPML document of a user's sources, exactly as `/{user}/sources.opml` serves it.
pub fn opml_document(
    registry: &Registry,
    owner: &User,
    list: &[Source],
    created: DateTime<Utc>,
) -> Vec<u8> {
    web::pages::feeds::opml_document(registry, owner, list, created)
}

/// The site icon's path, as the web server serves it (for exported documents).
pub fn icon_path() -> String {
    web::assets::url("icon.svg")
}

/// Runs the web server and the scheduler until `stop` resolves (or SIGTERM/Ctrl-C).
pub async fn serve(
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let addr = config.listen_addr().map_err(StartError::Listen)?;
    let store = open_store(&config)?;
    let client = http_client(&config)?;
    let http: Arc<dyn connectors::Http> = Arc::new(client.clone());
    let registry = Arc::new(build_registry(&config)?);
    let ingest = Ingest::new(
        store.clone(),
        http.clone(),
        registry.clone(),
        config.scheduler.clone(),
    )
    .with_normalize(config.normalize.clone());
    if let Some(hub) = config.websub.hub_url() {
        let site = crate::export::Site::new(&config.base_url()).with_hub(Some(hub.clone()));
        tracing::info!(hub = %hub, "websub: feeds name this hub and it is pinged on new items");
        ingest.set_publisher(crate::websub::Publisher::start(
            hub,
            site,
            store.clone(),
            client,
        ));
    }
    let shutdown = CancellationToken::new();
    let polls = ingest.clone();
    let (scheduler_handle, scheduler_task) =
        scheduler::spawn(ingest.clone(), config.scheduler.clone(), shutdown.clone());
    let sources = Sources::new(store.clone(), registry, http, scheduler_handle);
    sources.set_ingest(ingest.clone());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(
        url = %format!("http://{local}"),
        database = %config.database.path.display(),
        "listening"
    );
    if let Some(problem) = config.federation_problem() {
        tracing::warn!("federation: {problem}");
    }
    let state =
        web::AppState::new(store, Arc::new(config), sources).map_err(StartError::CookieKey)?;
    // The instance actor's key: generated on the first run, read on the others.
    if let Err(err) = state.instance_key.get().await {
        tracing::warn!(error = %err, "no instance key: servers that demand signed reads will refuse");
    }
    // Followers elsewhere: polls queue their items, the worker delivers them.
    polls.set_federation(state.federation.clone());
    // Live updates: polls tell the pages' event streams.
    polls.set_events(state.events.clone());
    // Site icons of plain feeds go to the media store.
    polls.set_media(state.media.clone());
    // WebSub in: polls that find a hub offer subscriptions; the worker asks the hubs.
    polls.set_subscriber(state.websub.clone());
    let websub_task = state.websub.spawn_worker(shutdown.clone());
    let delivery_task = state.federation.spawn_worker(shutdown.clone());
    let signalled = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = stop => {}
            _ = shutdown_signal() => {}
        }
        signalled.cancel();
    });
    let wait = shutdown.clone();
    web::serve(listener, state, async move { wait.cancelled().await })
        .await
        .map_err(StartError::Serve)?;
    shutdown.cancel();
    let _ = scheduler_task.await;
    let _ = delivery_task.await;
    let _ = websub_task.await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
