//! A Tributary instance for tests: a temp-dir SQLite file, the real fetcher (guard on, with
//! only the fixture server's origin allowed) and the real ingest pipeline.

use std::process::Command;
use std::sync::Arc;

use chrono::Utc;
use tempfile::TempDir;
use tributary::config::{FetchConfig, SchedulerConfig};
use tributary::fetch::HttpClient;
use tributary::ingest::{Ingest, PollReport};
use tributary::model::{Item, Source, SourceId, UserId};
use tributary::store::{Store, items, sources, users};

/// The `tributary` binary with a clean environment: no config file and no
/// `TRIBUTARY_*` overrides but the ones a test sets.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    for (key, _) in std::env::vars() {
        if key.starts_with("TRIBUTARY_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

/// A user with the given name (and that display name), no admin, an unusable password.
pub fn create_user(store: &Store, name: &str) -> UserId {
    store
        .write_blocking(|tx| {
            users::create(
                tx,
                &users::NewUser {
                    name,
                    display_name: name,
                    password_hash: "x",
                    is_admin: false,
                },
                Utc::now(),
            )
        })
        .unwrap()
}

pub struct TestApp {
    pub dir: TempDir,
    pub store: Store,
    pub ingest: Ingest,
    pub user: UserId,
}

impl TestApp {
    /// The guard stays on; only `origin` (the fixture server) is allowed.
    pub fn new(origin: &str) -> TestApp {
        TestApp::with_config(origin, |_, _| {})
    }

    pub fn with_fetch(origin: &str, tweak: impl FnOnce(&mut FetchConfig)) -> TestApp {
        TestApp::with_config(origin, |fetch, _| tweak(fetch))
    }

    pub fn with_config(
        origin: &str,
        tweak: impl FnOnce(&mut FetchConfig, &mut SchedulerConfig),
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("tributary.db"), 2).unwrap();
        let mut fetch = FetchConfig {
            allowed_private_origins: vec![origin.to_owned()],
            ..FetchConfig::default()
        };
        let mut scheduler = SchedulerConfig::default();
        tweak(&mut fetch, &mut scheduler);
        // Signs as the instance actor (key beside the database, made on first use) when a
        // server refuses unsigned ActivityPub reads, as the real app does.
        let signer = tributary::fetch::signing::Signer::new(
            tributary::fetch::signing::InstanceKeyCell::beside(&dir.path().join("tributary.db")),
            "http://tributary.test",
        );
        let http = HttpClient::new(&fetch).unwrap().with_signer(signer);
        let ingest = Ingest::new(
            store.clone(),
            Arc::new(http),
            Arc::new(connectors::Registry::default()),
            scheduler,
        );
        let user = store
            .write_blocking(|tx| {
                users::create(
                    tx,
                    &users::NewUser {
                        name: "ana",
                        display_name: "Ana",
                        password_hash: "x",
                        is_admin: true,
                    },
                    Utc::now(),
                )
            })
            .unwrap();
        TestApp {
            dir,
            store,
            ingest,
            user,
        }
    }

    /// A test instance whose fetcher sends every request to the fixture server at
    /// `origin`, by way of [`super::rewrite::Rewrite`]: for site connectors and recipes,
    /// which only talk to their own constant hosts.
    pub fn for_sites(origin: &str) -> TestApp {
        let mut app = TestApp::new(origin);
        app.ingest = Ingest::new(
            app.store.clone(),
            Arc::new(super::rewrite::Rewrite::new(origin)),
            Arc::new(connectors::Registry::default()),
            SchedulerConfig::default(),
        );
        app
    }

    pub fn add_source(&self, kind: &str, params: &serde_json::Value) -> SourceId {
        let user = self.user;
        self.store
            .write_blocking(|tx| {
                sources::insert(
                    tx,
                    &sources::NewSource {
                        user_id: user,
                        kind,
                        params,
                        title: "",
                        schedule: "",
                    },
                    Utc::now(),
                )
            })
            .unwrap()
    }

    pub fn add_feed(&self, url: &str) -> SourceId {
        let params = serde_json::json!({ "url": url });
        let user = self.user;
        self.store
            .write_blocking(|tx| {
                sources::insert(tx, &sources::NewSource::feed(user, &params), Utc::now())
            })
            .unwrap()
    }

    pub async fn poll(&self, id: SourceId) -> PollReport {
        self.ingest.poll_source(id).await.unwrap()
    }

    pub fn source(&self, id: SourceId) -> Source {
        self.store
            .read_blocking(|conn| sources::get(conn, id))
            .unwrap()
    }

    /// Every stored item of the source, oldest first.
    pub fn items(&self, id: SourceId) -> Vec<Item> {
        self.store
            .read_blocking(|conn| items::of_source(conn, id))
            .unwrap()
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("tributary.db")
    }
}

/// An RSS 2.0 document with `(guid, title, link)` items.
pub fn rss(items: &[(&str, &str, &str)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Test feed</title><link>http://example.invalid/</link><description>d</description>\n",
    );
    for (guid, title, link) in items {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link>\
             <description>Body of {title}</description>\
             <pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>\n"
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}
