//! A running Tributary web server for tests: a temp database, the real router served on
//! 127.0.0.1:0, and cookie-keeping clients that log in and send forms like a browser.

use std::sync::Arc;

use chrono::Utc;
use reqwest::StatusCode;
use tributary::config::Config;
use tributary::fetch::HttpClient;
use tributary::model::UserId;
use tributary::scheduler::SchedulerHandle;
use tributary::sources::Sources;
use tributary::store::{Store, users};
use tributary::web::{self, AppState};

pub const PASSWORD: &str = "correct horse battery";

pub struct WebApp {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub state: AppState,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for WebApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl WebApp {
    /// A server whose fetcher may reach only `fixture_origin` among private addresses.
    pub async fn start(fixture_origin: &str) -> WebApp {
        WebApp::start_with(fixture_origin, |_| {}).await
    }

    pub async fn start_with(fixture_origin: &str, tweak: impl FnOnce(&mut Config)) -> WebApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.database.path = dir.path().join("tributary.db");
        config.fetch.allowed_private_origins = vec![fixture_origin.to_owned()];
        tweak(&mut config);
        let store = Store::open(&config.database.path, 2).unwrap();
        WebApp::serve(dir, store, config).await
    }

    /// A server whose `server.base_url` is its own address (`http://127.0.0.1:PORT`), so
    /// the links in its documents lead back to it, as on a live instance. Its fetcher may
    /// reach `fixture_origin` among private addresses.
    pub async fn start_at_own_address(fixture_origin: &str) -> WebApp {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = Config::default();
        config.database.path = dir.path().join("tributary.db");
        config.fetch.allowed_private_origins = vec![fixture_origin.to_owned()];
        config.server.base_url = format!("http://{}", listener.local_addr().unwrap());
        let store = Store::open(&config.database.path, 2).unwrap();
        let http = Arc::new(HttpClient::new(&config.fetch).unwrap());
        WebApp::serve_on(listener, dir, store, config, http).await
    }

    /// A server whose fetcher sends every request to the fixture server (see
    /// `support::rewrite`), for pasting site handles and URLs.
    pub async fn start_for_sites(fixture_origin: &str) -> WebApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.database.path = dir.path().join("tributary.db");
        let store = Store::open(&config.database.path, 2).unwrap();
        let http = Arc::new(super::rewrite::Rewrite::new(fixture_origin));
        WebApp::serve_with_http(dir, store, config, http).await
    }

    /// Serves an existing database again (a restart).
    pub async fn serve(dir: tempfile::TempDir, store: Store, config: Config) -> WebApp {
        let http = Arc::new(HttpClient::new(&config.fetch).unwrap());
        WebApp::serve_with_http(dir, store, config, http).await
    }

    async fn serve_with_http(
        dir: tempfile::TempDir,
        store: Store,
        config: Config,
        http: Arc<dyn connectors::Http>,
    ) -> WebApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        WebApp::serve_on(listener, dir, store, config, http).await
    }

    /// A server with its scheduler running, as `tributary serve` has: due sources (and
    /// "Poll now") are polled in the background. Its fetcher may reach `fixture_origin`.
    pub async fn start_with_scheduler(fixture_origin: &str) -> WebApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.database.path = dir.path().join("tributary.db");
        config.fetch.allowed_private_origins = vec![fixture_origin.to_owned()];
        let store = Store::open(&config.database.path, 2).unwrap();
        let http = Arc::new(HttpClient::new(&config.fetch).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        WebApp::serve_full(listener, dir, store, config, http, true).await
    }

    async fn serve_on(
        listener: tokio::net::TcpListener,
        dir: tempfile::TempDir,
        store: Store,
        config: Config,
        http: Arc<dyn connectors::Http>,
    ) -> WebApp {
        WebApp::serve_full(listener, dir, store, config, http, false).await
    }

    async fn serve_full(
        listener: tokio::net::TcpListener,
        dir: tempfile::TempDir,
        store: Store,
        config: Config,
        http: Arc<dyn connectors::Http>,
        with_scheduler: bool,
    ) -> WebApp {
        let registry = Arc::new(connectors::Registry::default());
        // History walks started from the source page run on an ingest, as in `serve`.
        let ingest = tributary::ingest::Ingest::new(
            store.clone(),
            http.clone(),
            registry.clone(),
            tributary::config::SchedulerConfig::default(),
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let scheduler = if with_scheduler {
            tributary::scheduler::spawn(ingest.clone(), config.scheduler.clone(), shutdown.clone())
                .0
        } else {
            SchedulerHandle::default()
        };
        let sources = Sources::new(store.clone(), registry.clone(), http, scheduler);
        sources.set_ingest(ingest.clone());
        let base = format!("http://{}", listener.local_addr().unwrap());
        // The instance's public URL is where it really listens (ActivityPub ids, links).
        let mut config = config;
        if config.server.base_url.is_empty() {
            config.server.base_url = base.clone();
        }
        let state = AppState::new(store.clone(), Arc::new(config), sources).unwrap();
        // Polls tell the pages' event streams, as in `serve`.
        ingest.set_events(state.events.clone());
        let stop = shutdown.clone();
        let serve_state = state.clone();
        // Deliveries to followers elsewhere, as `tributary serve` runs them.
        state.federation.spawn_worker(shutdown.clone());
        // WebSub in, as `tributary serve` runs it.
        ingest.set_subscriber(state.websub.clone());
        state.websub.spawn_worker(shutdown.clone());
        tokio::spawn(async move {
            web::serve(listener, serve_state, async move { stop.cancelled().await })
                .await
                .unwrap();
        });
        WebApp {
            dir,
            store,
            state,
            base,
            shutdown,
        }
    }

    /// Stops this server and serves the same database and key file again.
    pub async fn restart(mut self) -> WebApp {
        self.shutdown.cancel();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let store = self.store.clone();
        let config = (*self.state.config).clone();
        drop(self);
        WebApp::serve(dir, store, config).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user straight in the store (fast; no form).
    pub fn create_user(&self, name: &str, is_admin: bool) -> UserId {
        let hash = tributary::auth::hash_password(PASSWORD).unwrap();
        self.store
            .write_blocking(|tx| {
                users::create(
                    tx,
                    &users::NewUser {
                        name,
                        display_name: name,
                        password_hash: &hash,
                        is_admin,
                    },
                    Utc::now(),
                )
            })
            .unwrap()
    }

    /// A browser-like client (keeps cookies, does not follow redirects so tests see them).
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }

    /// A client logged in as `name` (created first if needed).
    pub async fn logged_in(&self, name: &str) -> Client {
        let client = self.client();
        let response = client.login(name, PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "login as {name}: {}",
            response.body
        );
        client
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

/// A response read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        csrf_in(&self.body).unwrap_or_else(|| panic!("no csrf field in page:\n{}", self.body))
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")?;
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl Client {
    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Posts a form as-is (the caller includes `csrf` or deliberately leaves it out).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Loads `form_page` for its CSRF token, then posts `fields` plus the token to `path`.
    pub async fn post_form(&self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &token));
        self.post_raw(path, &all).await
    }

    /// Posts a `multipart/form-data` body of `(name, file name, bytes)` parts in order (a
    /// part without a file name is a plain field), as a browser sends a file upload.
    pub async fn post_multipart(&self, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Page {
        let boundary = "----tributary-test-boundary-7e1f";
        let mut body = Vec::new();
        for (name, file_name, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file_name {
                Some(file) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub async fn login(&self, name: &str, password: &str) -> Page {
        self.post_form(
            "/login",
            "/login",
            &[("name", name), ("password", password)],
        )
        .await
    }
}

async fn read(response: reqwest::Response) -> Page {
    let status = response.status();
    let headers = response.headers().clone();
    let location = headers
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    Page {
        status,
        location,
        headers,
        body,
    }
}
