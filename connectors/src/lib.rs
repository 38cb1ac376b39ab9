//! Tributary's connectors: turn somebody's activity elsewhere into [`RawItem`]s.
//!
//! This crate knows formats and HTTP semantics, never SQLite, axum or reqwest: it sees the
//! network only through the [`Http`] port that the app implements. Nothing here does IO of
//! its own, and nothing here may panic on input.

pub mod error;
pub mod http;
pub mod item;
pub mod params;
pub mod protocol;
pub mod recipe;
pub mod site;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use error::ConnectorError;
pub use http::{FetchError, FetchRequest, FetchResponse, Http, PollHint, Signing, Validators};
pub use item::{Content, ItemKind, Media, RawAuthor, RawItem};
pub use params::TypedConnector;

/// A connector turns user parameters into requests and responses into items. This is the
/// surface the app calls, with parameters as stored JSON; every connector implements it
/// through [`TypedConnector`], which reads them into its own type first.
#[async_trait::async_trait]
pub trait Connector: Send + Sync + 'static {
    /// Stable name stored in `sources.kind` and used in config (`kind = "feed"`).
    fn kind(&self) -> &'static str;
    /// Label, parameters with help text, default schedule: used by the CLI and the add form.
    fn info(&self) -> ConnectorInfo;
    /// Turns something a user pasted (a URL, a handle) into parameters, when this
    /// connector understands it. Pure: no network.
    fn recognize(&self, input: &str) -> Option<serde_json::Value>;
    /// Checks and canonicalizes parameters once, when a source is created or edited.
    fn validate(&self, params: &serde_json::Value) -> Result<serde_json::Value, ConnectorError>;
    /// What other feed readers can use of a source with these (validated) parameters, for
    /// exports such as OPML. Pure.
    fn addresses(&self, params: &serde_json::Value) -> SourceAddresses;
    /// Fetches what changed since `state`. Never panics; item-level problems go to
    /// [`Poll::warnings`].
    async fn poll(
        &self,
        http: &dyn Http,
        params: &serde_json::Value,
        state: &PollState,
    ) -> Result<Poll, ConnectorError>;
    /// The paging hook for walking history: fetches one older page named by a previous
    /// [`Poll::next_page`]. Connectors that cannot walk history refuse as unsupported.
    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &serde_json::Value,
        page: &serde_json::Value,
    ) -> Result<Poll, ConnectorError>;
    /// Asks the origin whether one stored item of the source still exists. Connectors
    /// that cannot tell answer [`Recheck::Unknown`] without a request.
    async fn recheck(
        &self,
        http: &dyn Http,
        params: &serde_json::Value,
        item: &ItemRef,
    ) -> Result<Recheck, ConnectorError>;
}

/// A stored item, as a re-check names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRef {
    pub external_id: String,
    pub url: Option<url::Url>,
}

/// What the origin said of an item on a re-check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recheck {
    /// Still there.
    Present,
    /// Deleted: 404 or 410, or an ActivityPub `Tombstone`.
    Gone,
    /// Not known (the connector cannot tell, or the answer said nothing either way).
    Unknown,
}

/// What a connector tells people about itself.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConnectorInfo {
    pub kind: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub params: Vec<ParamInfo>,
    /// Cron expression used when the user gives none; `None` means the app's default.
    pub default_schedule: Option<&'static str>,
    /// Whether [`Connector::poll_page`] can walk back through older items.
    pub can_backfill: bool,
    /// Something a person could paste that this connector recognizes.
    pub example_input: &'static str,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ParamInfo {
    pub name: &'static str,
    pub help: &'static str,
    pub required: bool,
}

/// The public addresses of a source: the feed document it reads, when that is a feed any
/// reader understands, and the web page that shows the same activity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceAddresses {
    pub feed: Option<url::Url>,
    pub page: Option<url::Url>,
}

/// Connector-private state kept between polls: conditional-GET validators and a cursor.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PollState {
    /// Validators of the primary URL.
    #[serde(default)]
    pub validators: Validators,
    /// Connector-private position (newest id seen, outbox URL, API cursor…).
    #[serde(default)]
    pub cursor: Option<serde_json::Value>,
}

impl PollState {
    /// The state after a 304: RFC 9111 section 4.3.4, a 304 may carry fresher
    /// validators, and each one it omits stays as stored.
    pub fn not_modified(&self, fresh: &Validators) -> PollState {
        let mut state = self.clone();
        if let Some(etag) = &fresh.etag {
            state.validators.etag = Some(etag.clone());
        }
        if let Some(last_modified) = &fresh.last_modified {
            state.validators.last_modified = Some(last_modified.clone());
        }
        state
    }
}

/// Facts about the source itself, learned while polling.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceMeta {
    pub title: Option<String>,
    pub site_url: Option<url::Url>,
    pub icon: Option<url::Url>,
    /// WebSub hubs the document names (`<link rel="hub">`, `atom:link rel="hub"`, JSON
    /// Feed `hubs`), in document order.
    pub hubs: Vec<url::Url>,
    /// The document's own address as it names it (`rel="self"`, JSON Feed `feed_url`):
    /// the topic a WebSub subscription asks for.
    pub self_url: Option<url::Url>,
}

/// The result of one poll.
#[derive(Debug, Default)]
pub struct Poll {
    /// New or changed items, in any order; may be empty.
    pub items: Vec<RawItem>,
    /// External ids the origin reports deleted (an ActivityPub `Delete`, a `Tombstone`,
    /// an `Undo` of a share): the app removes those items from the stream.
    pub deleted: Vec<String>,
    /// Persisted by the app for next time.
    pub state: PollState,
    /// The earliest next poll the origin asked for (Retry-After, max-age, Expires, ttl).
    pub hint: PollHint,
    /// The origin answered 304 Not Modified.
    pub not_modified: bool,
    /// Item-level problems that did not fail the poll.
    pub warnings: Vec<String>,
    /// Parameters the app should store instead of the current ones (a 301 moved the feed).
    pub new_params: Option<serde_json::Value>,
    /// Title, site and icon of the source, when the document says.
    pub meta: SourceMeta,
    /// The base URL relative links in item HTML resolve against (the feed's final URL).
    pub base_url: Option<url::Url>,
    /// An older page to walk next with [`Connector::poll_page`], if there is one.
    pub next_page: Option<serde_json::Value>,
}

/// Every built-in connector, by kind. Recognition asks them in registration order, so
/// specific connectors come before the catch-all `feed`.
pub struct Registry {
    ordered: Vec<Arc<dyn Connector>>,
    by_kind: BTreeMap<&'static str, Arc<dyn Connector>>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut registry = Registry::empty();
        site::register_all(&mut registry, &site::SiteSettings::default());
        registry.register(Arc::new(protocol::activitypub::ActivityPubConnector));
        registry.register(Arc::new(protocol::feed::FeedConnector));
        registry
    }
}

impl Registry {
    pub fn empty() -> Registry {
        Registry {
            ordered: Vec::new(),
            by_kind: BTreeMap::new(),
        }
    }

    pub fn register(&mut self, connector: Arc<dyn Connector>) {
        self.by_kind.insert(connector.kind(), connector.clone());
        self.ordered.push(connector);
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Connector>> {
        self.by_kind.get(kind)
    }

    /// Connectors in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Connector>> {
        self.ordered.iter()
    }

    /// Registers `connector` just before the catch-all `feed` (or last, without one), so
    /// its recognition is asked first. A connector of the same kind is replaced in place.
    pub fn register_before_feed(&mut self, connector: Arc<dyn Connector>) {
        let kind = connector.kind();
        if let Some(slot) = self.ordered.iter_mut().find(|c| c.kind() == kind) {
            *slot = connector.clone();
        } else {
            let at = self
                .ordered
                .iter()
                .position(|c| c.kind() == "feed")
                .unwrap_or(self.ordered.len());
            self.ordered.insert(at, connector.clone());
        }
        self.by_kind.insert(kind, connector);
    }

    /// The registry with the app's site settings (a GitHub token) and the operator's
    /// recipes, which replace built-in ones of the same name.
    pub fn with_settings(
        settings: &site::SiteSettings,
        extra_recipes: Vec<recipe::Recipe>,
    ) -> Registry {
        let mut registry = Registry::default();
        site::register_all(&mut registry, settings);
        for recipe in extra_recipes {
            registry.register_before_feed(Arc::new(recipe::RecipeConnector::new(recipe)));
        }
        registry
    }

    /// The first connector that understands `input`, with the parameters it derived.
    pub fn recognize(&self, input: &str) -> Option<(&Arc<dyn Connector>, serde_json::Value)> {
        let input = input.trim();
        self.ordered
            .iter()
            .find_map(|connector| connector.recognize(input).map(|params| (connector, params)))
    }
}
