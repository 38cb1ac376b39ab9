//! The `activitypub` connector: a person on the fediverse, by handle or profile URL.
//!
//! Resolution: WebFinger (`acct:user@host`) → the actor (ActivityStreams JSON) → its outbox,
//! read page by page. Every request goes through the [`Http`] port; ActivityPub GETs ask
//! the app to sign them when a server refuses unsigned reads ([`Signing::OnDenied`]).
//!
//! Trust: a document is believed only about its own origin. The actor's `id` must be the
//! URL it was fetched from (else it is fetched again from its `id`), the outbox and its
//! pages must be on the actor's origin, and an item counts only when its `id` is too. A
//! shared (announced) post is fetched from its own id and believed only about that id's
//! origin.
//!
//! When the outbox refuses even signed reads, the connector falls back to Mastodon's REST
//! API and then to the public feeds the software may offer (Mastodon's RSS, Pixelfed and
//! Diaspora Atom, Lemmy and PeerTube feeds). The route in use is kept in the cursor and
//! reported as a poll warning.

pub mod json;
pub mod mastodon_api;
pub mod object;
pub mod target;
pub mod webfinger;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::http::{FetchRequest, FetchResponse, Signing};
use crate::item::RawItem;
use crate::params::{HttpUrl, lenient, optional};
use crate::protocol::feed;
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, SourceMeta,
    TypedConnector,
};
use json::{first_id, has_type, http_url, id_of, same_origin, string, values};
use object::{Actor, MapCtx, Refusal};
use target::{Account, Platform, Target};

/// `Accept` for ActivityPub documents (the ActivityPub spec's two spellings).
pub const ACCEPT_ACTIVITY: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
/// Outbox pages read per poll.
pub const MAX_PAGES_PER_POLL: usize = 5;
/// Items kept per poll (or per history page).
pub const MAX_ITEMS_PER_POLL: usize = 200;
/// Pages walked back through history, in all.
pub const MAX_BACKFILL_PAGES: usize = 500;
/// Shared objects (and referenced activities) fetched from their own ids per poll.
pub const MAX_OBJECT_FETCHES_PER_POLL: usize = 40;
/// Largest ActivityPub document read.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// Feed URLs tried in the last fallback step.
pub const MAX_FEED_CANDIDATES: usize = 5;
/// Warnings kept per poll.
const MAX_WARNINGS: usize = 50;

pub struct ActivityPubConnector;

/// A fediverse source: a handle or a profile URL, and whether replies count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<HttpUrl>,
    #[serde(
        default,
        deserialize_with = "lenient::switch",
        skip_serializing_if = "lenient::is_off"
    )]
    pub include_replies: bool,
}

impl Params {
    fn of(target: &Target, include_replies: bool) -> Params {
        Params {
            // A profile URL says more than the account it names (the software's shape).
            url: target.url.clone().map(HttpUrl),
            account: match target.url {
                Some(_) => None,
                None => target.account.as_ref().map(ToString::to_string),
            },
            include_replies,
        }
    }

    /// Who the parameters name.
    fn target(&self) -> Result<Target, ConnectorError> {
        let input = match (&self.account, &self.url) {
            (Some(account), _) if !account.trim().is_empty() => account.trim().to_owned(),
            (_, Some(url)) => url.0.to_string(),
            _ => {
                return Err(ConnectorError::Unsupported(
                    "give an account (user@host) or a profile URL".to_owned(),
                ));
            }
        };
        target::recognize(&input).ok_or_else(|| {
            ConnectorError::Unsupported(format!(
                "`{input}` is not a fediverse handle or profile URL"
            ))
        })
    }
}

#[async_trait::async_trait]
impl TypedConnector for ActivityPubConnector {
    type Params = Params;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "activitypub",
            title: "Fediverse",
            description: "Posts of a person on Mastodon, Pixelfed, PeerTube, Misskey, Lemmy, Friendica, Diaspora and other federated servers",
            params: vec![
                optional("account", "Handle, as @user@host or user@host"),
                optional(
                    "url",
                    "Profile or actor URL (https://host/@user, /users/user, /u/user, /a/user), instead of an account",
                ),
                optional(
                    "include_replies",
                    "true to include the person's replies to others (off by default)",
                ),
            ],
            default_schedule: None,
            can_backfill: true,
            example_input: "@ana@mastodon.example",
        }
    }

    fn recognize(&self, input: &str) -> Option<Params> {
        Some(Params::of(&target::recognize(input)?, false))
    }

    fn check(&self, params: Params) -> Result<Params, ConnectorError> {
        Ok(Params::of(&params.target()?, params.include_replies))
    }

    /// A post's own id, fetched as ActivityPub: 404, 410 or a `Tombstone` means it was
    /// deleted.
    async fn recheck(
        &self,
        http: &dyn Http,
        params: &Params,
        item: &crate::ItemRef,
    ) -> Result<crate::Recheck, ConnectorError> {
        let _ = params;
        let Some(url) = http_url(&item.external_id) else {
            return Ok(crate::Recheck::Unknown);
        };
        let mut request = FetchRequest::new(url, ACCEPT_ACTIVITY);
        request.max_bytes = Some(MAX_DOCUMENT_BYTES);
        request.sign = Signing::OnDenied;
        Ok(crate::http::recheck_url(http, request, |body| {
            serde_json::from_slice::<Value>(body)
                .map(|doc| json::types(&doc).contains(&"Tombstone"))
                .unwrap_or(false)
        })
        .await)
    }

    /// A profile URL is the person's page; a handle has no address without WebFinger.
    fn addresses(&self, params: &Params) -> SourceAddresses {
        SourceAddresses {
            feed: None,
            page: params.url.as_ref().map(|url| url.0.clone()),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &Params,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let target = params.target()?;
        let mut run = Run::new(http, params.include_replies);
        let newest_seen = state
            .cursor
            .as_ref()
            .and_then(|c| string(c, "newest"))
            .map(str::to_owned);
        let remembered_feed = state
            .cursor
            .as_ref()
            .and_then(|c| string(c, "feed"))
            .and_then(http_url);

        // 1. The outbox.
        let resolved = run.resolve(&target).await;
        let outbox_error = match &resolved.actor {
            Ok(actor) => match &actor.outbox {
                Some(outbox) => {
                    match run.read_outbox(actor, outbox, newest_seen.as_deref()).await {
                        Ok(mut poll) => {
                            let newest = poll.items.first().map(|i| i.external_id.clone());
                            poll.state.cursor = Some(json!({
                                "route": "outbox",
                                "actor": actor.id.as_str(),
                                "newest": newest.or(newest_seen),
                            }));
                            poll.meta = meta(actor);
                            poll.warnings = run.finish_warnings();
                            return Ok(poll);
                        }
                        Err(err) => err,
                    }
                }
                None => ConnectorError::Invalid("the actor has no outbox".to_owned()),
            },
            Err(err) => err.clone(),
        };
        if !falls_back(&outbox_error) {
            return Err(outbox_error);
        }
        let actor = resolved.actor.as_ref().ok();
        let account = resolved.account.clone();

        // 2. Mastodon's REST API.
        let mut errors = vec![format!("outbox: {outbox_error}")];
        if let Some(account) = &account {
            match run.read_rest(account, target.url.as_ref()).await {
                Ok(mut poll) => {
                    run.warn(format!(
                        "using the Mastodon API: the outbox did not answer ({outbox_error})"
                    ));
                    poll.state.cursor =
                        Some(json!({ "route": "rest", "why": outbox_error.to_string() }));
                    if let Some(actor) = actor {
                        poll.meta = meta(actor);
                    }
                    poll.warnings = run.finish_warnings();
                    return Ok(poll);
                }
                Err(err) if !falls_back(&err) => return Err(err),
                Err(err) => errors.push(format!("Mastodon API: {err}")),
            }
        }

        // 3. A public feed.
        let mut candidates: Vec<Url> = Vec::new();
        candidates.extend(remembered_feed);
        candidates.extend(resolved.feed.clone());
        if let Some(account) = &account
            && let Some(origin) = account_origin(http, account, target.url.as_ref())
        {
            candidates.extend(target::feed_candidates(&origin, &account.user, target.hint));
        }
        let mut tried = HashSet::new();
        candidates.retain(|url| tried.insert(url.clone()));
        for feed in candidates.into_iter().take(MAX_FEED_CANDIDATES) {
            let request = FetchRequest::new(feed.clone(), crate::http::ACCEPT_FEEDS);
            match feed::poll_request(http, request, &PollState::default()).await {
                Ok(mut poll) => {
                    run.warn(format!("using the feed {feed}: {}", errors.join("; ")));
                    poll.state = PollState {
                        validators: Default::default(),
                        cursor: Some(json!({
                            "route": "feed",
                            "feed": feed.as_str(),
                            "why": errors.join("; "),
                        })),
                    };
                    if let Some(actor) = actor {
                        poll.meta = meta(actor);
                    }
                    poll.next_page = None;
                    // A moved feed is found again next time; the source's own parameters
                    // (the person, not the feed) stay.
                    poll.new_params = None;
                    let mut warnings = run.finish_warnings();
                    warnings.append(&mut poll.warnings);
                    poll.warnings = warnings;
                    return Ok(poll);
                }
                Err(err) => errors.push(format!("feed {feed}: {err}")),
            }
        }
        Err(with_context(outbox_error, &errors))
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &Params,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        if string(page, "route") == Some("rest") {
            return rest_page(http, params, page).await;
        }
        let url = string(page, "page").and_then(http_url).ok_or_else(|| {
            ConnectorError::Unsupported("a history page needs a `page` URL".to_owned())
        })?;
        let actor_url = string(page, "actor").and_then(http_url).ok_or_else(|| {
            ConnectorError::Unsupported("a history page needs the `actor` URL".to_owned())
        })?;
        let visited: Vec<String> = values(page, "visited")
            .into_iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if visited.len() >= MAX_BACKFILL_PAGES {
            return Ok(Poll::default());
        }
        let mut run = Run::new(http, params.include_replies);
        let actor = run.fetch_actor(&actor_url).await?;
        if !same_origin(&url, &actor.id) {
            return Err(ConnectorError::Invalid(format!(
                "the page {url} is not on the actor's server"
            )));
        }
        let (_, doc) = run.get_document(&url).await?;
        let mut items = Vec::new();
        let next = run.read_page(&doc, &actor, &mut items, None).await;
        let mut visited = visited;
        visited.push(url.to_string());
        let next_page = next
            .filter(|next| !visited.iter().any(|v| v == next.as_str()))
            .map(|next| {
                json!({ "page": next.as_str(), "actor": actor.id.as_str(), "visited": visited })
            });
        Ok(Poll {
            items,
            deleted: std::mem::take(&mut run.deleted),
            warnings: run.finish_warnings(),
            meta: meta(&actor),
            base_url: Some(url),
            next_page,
            ..Poll::default()
        })
    }
}

/// Errors after which another route may still answer: refusals and unreadable documents,
/// not a server that is down, gone or asking us to slow down.
fn falls_back(err: &ConnectorError) -> bool {
    matches!(
        err,
        ConnectorError::Blocked(_)
            | ConnectorError::Status(_)
            | ConnectorError::Invalid(_)
            | ConnectorError::Unsupported(_)
            | ConnectorError::TooLarge { .. }
    )
}

fn with_context(err: ConnectorError, errors: &[String]) -> ConnectorError {
    let all = errors.join("; ");
    match err {
        ConnectorError::Blocked(_) => ConnectorError::Blocked(all),
        ConnectorError::Invalid(_) => ConnectorError::Invalid(all),
        ConnectorError::Unsupported(_) => ConnectorError::Unsupported(all),
        other => other,
    }
}

fn meta(actor: &Actor) -> SourceMeta {
    SourceMeta {
        title: actor
            .name
            .clone()
            .or_else(|| actor.preferred_username.clone()),
        site_url: actor.url.clone().or_else(|| Some(actor.id.clone())),
        icon: actor.icon.clone(),
        ..SourceMeta::default()
    }
}

/// The origin of an account's server: the pasted URL's, or `https://host` (`http://` only
/// for origins the app allows although they are private, such as a test server).
fn account_origin(http: &dyn Http, account: &Account, url: Option<&Url>) -> Option<Url> {
    if let Some(url) = url {
        return url.join("/").ok();
    }
    let plain = Url::parse(&format!("http://{}/", account.host)).ok()?;
    if http.allows_private_origin(&plain) {
        return Some(plain);
    }
    Url::parse(&format!("https://{}/", account.host)).ok()
}

/// What resolving the target found, route by route.
struct Resolved {
    actor: Result<Actor, ConnectorError>,
    /// `user@host`, from the input or the actor.
    account: Option<Account>,
    /// An Atom feed named by WebFinger.
    feed: Option<Url>,
}

/// One poll's requests, budget and warnings.
struct Run<'a> {
    http: &'a dyn Http,
    include_replies: bool,
    fetches_left: usize,
    warnings: Vec<String>,
    n_dropped: usize,
    /// The page just read held the newest item of the previous poll.
    saw_newest: bool,
    /// Ids of the actor's posts (or shares) the pages report deleted.
    deleted: Vec<String>,
}

impl<'a> Run<'a> {
    fn new(http: &'a dyn Http, include_replies: bool) -> Run<'a> {
        Run {
            http,
            include_replies,
            fetches_left: MAX_OBJECT_FETCHES_PER_POLL,
            warnings: Vec::new(),
            n_dropped: 0,
            saw_newest: false,
            deleted: Vec::new(),
        }
    }

    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.n_dropped += 1;
        }
    }

    fn finish_warnings(&mut self) -> Vec<String> {
        let mut warnings = std::mem::take(&mut self.warnings);
        if self.n_dropped > 0 {
            warnings.push(format!("… and {} more", self.n_dropped));
        }
        warnings
    }

    /// WebFinger (for a handle), then the actor.
    async fn resolve(&mut self, target: &Target) -> Resolved {
        let mut account = target.account.clone();
        let mut feed = None;
        let mut actor_url = None;
        if let Some(url) = &target.url {
            actor_url = Some(match target.hint {
                // PeerTube's `/a/name` is a page; the actor lives at `/accounts/name`.
                Platform::PeerTube => match &account {
                    Some(a) => url
                        .join(&format!("/accounts/{}", a.user))
                        .unwrap_or(url.clone()),
                    None => url.clone(),
                },
                _ => url.clone(),
            });
        } else if let Some(acct) = &account {
            match self.webfinger(acct).await {
                Ok(resolved) => {
                    feed = resolved.feed;
                    actor_url = resolved.actor;
                    if actor_url.is_none() {
                        return Resolved {
                            actor: Err(ConnectorError::Unsupported(format!(
                                "{acct} has no ActivityPub actor"
                            ))),
                            account,
                            feed,
                        };
                    }
                }
                Err(err) => {
                    return Resolved {
                        actor: Err(err),
                        account,
                        feed,
                    };
                }
            }
        }
        let Some(actor_url) = actor_url else {
            return Resolved {
                actor: Err(ConnectorError::Unsupported("nothing to resolve".to_owned())),
                account,
                feed,
            };
        };
        let actor = self.fetch_actor(&actor_url).await;
        if account.is_none()
            && let Ok(actor) = &actor
            && let (Some(user), Some(host)) =
                (&actor.preferred_username, target::authority(&actor.id))
        {
            account = Some(Account {
                user: user.clone(),
                host,
            });
        }
        Resolved {
            actor,
            account,
            feed,
        }
    }

    async fn webfinger(
        &mut self,
        account: &Account,
    ) -> Result<webfinger::Resolved, ConnectorError> {
        let origin = account_origin(self.http, account, None)
            .ok_or_else(|| ConnectorError::Unsupported(format!("bad host in {account}")))?;
        let url = webfinger::url_for(origin.scheme(), &account.user, &account.host)
            .ok_or_else(|| ConnectorError::Unsupported(format!("bad host in {account}")))?;
        let mut request = FetchRequest::new(url, webfinger::ACCEPT_JRD);
        request.max_bytes = Some(MAX_DOCUMENT_BYTES);
        let response = self.http.get(request).await?.check_status()?;
        webfinger::parse(&response.body)
            .map_err(|why| ConnectorError::Invalid(format!("WebFinger for {account}: {why}")))
    }

    /// GETs an ActivityStreams document (signed when refused) and parses it.
    async fn get_document(&mut self, url: &Url) -> Result<(Url, Value), ConnectorError> {
        let mut request = FetchRequest::new(url.clone(), ACCEPT_ACTIVITY);
        request.sign = Signing::OnDenied;
        request.max_bytes = Some(MAX_DOCUMENT_BYTES);
        let response = self.http.get(request).await?;
        let response = response.check_status()?;
        if response.status == 304 {
            return Err(ConnectorError::Invalid(format!(
                "{url} answered 304 to an unconditional request"
            )));
        }
        parse_document(&response).map(|doc| (response.final_url.clone(), doc))
    }

    /// Fetches an actor. When the document's `id` is not the URL it came from, the actor
    /// is fetched again from its `id`, which must then match.
    async fn fetch_actor(&mut self, url: &Url) -> Result<Actor, ConnectorError> {
        let (final_url, doc) = self.get_document(url).await?;
        let actor = Actor::from_json(&doc)
            .ok_or_else(|| ConnectorError::Invalid(format!("{url} is not an actor (no id)")))?;
        if actor.id == final_url {
            return check_actor(actor);
        }
        let (again_url, again) = self.get_document(&actor.id).await?;
        let again = Actor::from_json(&again)
            .ok_or_else(|| ConnectorError::Invalid(format!("{} is not an actor", actor.id)))?;
        if again.id != again_url {
            return Err(ConnectorError::Invalid(format!(
                "the actor fetched from {url} names itself {}, and that address names itself {}",
                actor.id, again.id
            )));
        }
        check_actor(again)
    }

    /// The outbox: its first page and the `next` ones, up to the caps, stopping at the
    /// newest item seen by the previous poll.
    async fn read_outbox(
        &mut self,
        actor: &Actor,
        outbox: &Url,
        newest_seen: Option<&str>,
    ) -> Result<Poll, ConnectorError> {
        if !same_origin(outbox, &actor.id) {
            return Err(ConnectorError::Invalid(format!(
                "the outbox {outbox} is not on the actor's server"
            )));
        }
        let (outbox_url, collection) = self.get_document(outbox).await?;
        let mut visited: Vec<String> = vec![outbox_url.to_string()];
        let mut items = Vec::new();
        // The collection itself may hold the items; else `first` names (or embeds) page 1.
        let mut page: Option<(Url, Value)> = match collection.get("first") {
            Some(first) if first.is_object() => Some((outbox_url.clone(), first.clone())),
            Some(first) => match id_of(first).and_then(http_url) {
                Some(url) => Some(self.page_document(actor, &url, &mut visited).await?),
                None => None,
            },
            None => Some((outbox_url.clone(), collection.clone())),
        };
        let mut next_page = None;
        let mut n_pages = 0;
        while let Some((_, doc)) = page.take() {
            n_pages += 1;
            let next = self.read_page(&doc, actor, &mut items, newest_seen).await;
            let reached_seen = self.saw_newest;
            let Some(next) = next else { break };
            if visited.iter().any(|v| v == next.as_str()) {
                self.warn(format!("the outbox's pages loop back to {next}; stopped"));
                break;
            }
            if reached_seen {
                break;
            }
            if n_pages >= MAX_PAGES_PER_POLL || items.len() >= MAX_ITEMS_PER_POLL {
                next_page = Some(json!({
                    "page": next.as_str(), "actor": actor.id.as_str(), "visited": visited,
                }));
                break;
            }
            match self.page_document(actor, &next, &mut visited).await {
                Ok(found) => page = Some(found),
                Err(err) => {
                    self.warn(format!("outbox page {next}: {err}"));
                    break;
                }
            }
        }
        items.truncate(MAX_ITEMS_PER_POLL);
        Ok(Poll {
            items,
            deleted: std::mem::take(&mut self.deleted),
            base_url: Some(outbox_url),
            next_page,
            ..Poll::default()
        })
    }

    async fn page_document(
        &mut self,
        actor: &Actor,
        url: &Url,
        visited: &mut Vec<String>,
    ) -> Result<(Url, Value), ConnectorError> {
        if !same_origin(url, &actor.id) {
            return Err(ConnectorError::Invalid(format!(
                "the outbox page {url} is not on the actor's server"
            )));
        }
        visited.push(url.to_string());
        let (final_url, doc) = self.get_document(url).await?;
        if !same_origin(&final_url, &actor.id) {
            return Err(ConnectorError::Invalid(format!(
                "the outbox page {url} redirected off the actor's server"
            )));
        }
        visited.push(final_url.to_string());
        Ok((final_url, doc))
    }

    /// Maps the items of one collection page into `items`; returns its `next` link.
    async fn read_page(
        &mut self,
        doc: &Value,
        actor: &Actor,
        items: &mut Vec<RawItem>,
        newest_seen: Option<&str>,
    ) -> Option<Url> {
        self.saw_newest = false;
        let entries: Vec<Value> = values(doc, "orderedItems")
            .into_iter()
            .chain(values(doc, "items"))
            .cloned()
            .collect();
        let include_replies = self.include_replies;
        for entry in entries {
            if items.len() >= MAX_ITEMS_PER_POLL {
                break;
            }
            let ctx = MapCtx {
                actor,
                include_replies,
            };
            if let Some(id) = object::deleted_id(&entry, actor)
                && !self.deleted.contains(&id)
            {
                self.deleted.push(id);
            }
            let result = match object::map_entry(&entry, &ctx) {
                Err(Refusal::NeedsFetch(url)) => self.fetch_for(&entry, &url, &ctx).await,
                other => other,
            };
            match result {
                Ok(item) => {
                    if newest_seen == Some(item.external_id.as_str()) {
                        self.saw_newest = true;
                    }
                    items.push(item);
                }
                Err(refusal) => self.note_refusal(&refusal, &entry),
            }
        }
        first_id(doc, "next").and_then(http_url)
    }

    fn note_refusal(&mut self, refusal: &Refusal, entry: &Value) {
        match refusal {
            // The ordinary reasons a post is not shown: no warning.
            Refusal::NotAPost(_) | Refusal::Removed | Refusal::NotPublic | Refusal::Reply => {}
            other => {
                let id = id_of(entry).unwrap_or("an entry without id");
                self.warn(format!("{id}: {other}"));
            }
        }
    }

    /// Resolves an entry that needs a document fetched from its own id: the shared object
    /// of an Announce, or an activity or object given by reference.
    async fn fetch_for(
        &mut self,
        entry: &Value,
        url: &Url,
        ctx: &MapCtx<'_>,
    ) -> Result<RawItem, Refusal> {
        if self.fetches_left == 0 {
            return Err(Refusal::NeedsFetch(url.clone()));
        }
        self.fetches_left -= 1;
        let fetched = match self.get_document(url).await {
            Ok((final_url, doc)) => {
                let id = string(&doc, "id").and_then(http_url);
                match id {
                    // A document speaks only for its own origin, and only for the
                    // address it was fetched from.
                    Some(id) if same_origin(&id, &final_url) && same_origin(&id, url) => doc,
                    Some(id) => return Err(Refusal::ForeignOrigin(id.to_string())),
                    None => return Err(Refusal::NoId),
                }
            }
            Err(err) => {
                self.warn(format!("{url}: {err}"));
                return Err(Refusal::NotAPost(
                    "document that could not be fetched".to_owned(),
                ));
            }
        };
        if has_type(entry, "Announce") {
            // The original's author must be on the original's server.
            let object_id = string(&fetched, "id").and_then(http_url);
            let author = first_id(&fetched, "attributedTo").and_then(http_url);
            if let (Some(object_id), Some(author)) = (&object_id, &author)
                && !same_origin(object_id, author)
            {
                return Err(Refusal::ForeignOrigin(author.to_string()));
            }
            return object::map_announce(entry, &fetched, ctx);
        }
        if entry.is_object() {
            let mut activity = entry.clone();
            if let Some(map) = activity.as_object_mut() {
                map.insert("object".to_owned(), fetched);
            }
            return match object::map_entry(&activity, ctx) {
                Err(Refusal::NeedsFetch(url)) => Err(Refusal::ForeignOrigin(url.to_string())),
                other => other,
            };
        }
        match object::map_entry(&fetched, ctx) {
            Err(Refusal::NeedsFetch(url)) => Err(Refusal::ForeignOrigin(url.to_string())),
            other => other,
        }
    }

    /// Mastodon's REST API: look the account up, read its latest public statuses.
    async fn read_rest(
        &mut self,
        account: &Account,
        url: Option<&Url>,
    ) -> Result<Poll, ConnectorError> {
        let origin = account_origin(self.http, account, url)
            .ok_or_else(|| ConnectorError::Unsupported(format!("bad host in {account}")))?;
        let lookup = mastodon_api::lookup_url(&origin, &account.user)
            .ok_or_else(|| ConnectorError::Unsupported(format!("bad host in {account}")))?;
        let response = self.get_json(lookup).await?;
        let (id, _author, _name) = mastodon_api::parse_account(&response.body)
            .map_err(|why| ConnectorError::Invalid(format!("account lookup: {why}")))?;
        self.read_statuses(&origin, &id, None, 0).await
    }

    /// One page of statuses, older than `max_id` when given; `depth` counts the pages
    /// walked back so far.
    async fn read_statuses(
        &mut self,
        origin: &Url,
        account_id: &str,
        max_id: Option<&str>,
        depth: usize,
    ) -> Result<Poll, ConnectorError> {
        let statuses = mastodon_api::statuses_url(origin, account_id, max_id)
            .ok_or_else(|| ConnectorError::Invalid(format!("odd account id `{account_id}`")))?;
        let response = self.get_json(statuses).await?;
        let (items, oldest) = mastodon_api::parse_statuses(
            &response.body,
            origin,
            self.include_replies,
            &mut self.warnings,
        )
        .map_err(|why| ConnectorError::Invalid(format!("statuses: {why}")))?;
        let next_page = oldest
            .filter(|oldest| Some(oldest.as_str()) != max_id && depth < MAX_BACKFILL_PAGES)
            .map(|oldest| {
                json!({
                    "route": "rest",
                    "account_id": account_id,
                    "max_id": oldest,
                    "depth": depth + 1,
                })
            });
        Ok(Poll {
            items,
            base_url: Some(response.final_url.clone()),
            next_page,
            ..Poll::default()
        })
    }

    async fn get_json(&mut self, url: Url) -> Result<FetchResponse, ConnectorError> {
        let mut request = FetchRequest::new(url, mastodon_api::ACCEPT_JSON);
        request.max_bytes = Some(MAX_DOCUMENT_BYTES);
        let response = self.http.get(request).await?.check_status()?;
        let json = response
            .content_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
        if !json {
            return Err(ConnectorError::Invalid(format!(
                "{} did not answer JSON",
                response.final_url
            )));
        }
        Ok(response)
    }
}

/// One older page of the REST route, named by a previous poll's `next_page`.
async fn rest_page(http: &dyn Http, params: &Params, page: &Value) -> Result<Poll, ConnectorError> {
    let target = params.target()?;
    let account = target
        .account
        .as_ref()
        .ok_or_else(|| ConnectorError::Unsupported("the REST route needs an account".to_owned()))?;
    let origin = account_origin(http, account, target.url.as_ref())
        .ok_or_else(|| ConnectorError::Unsupported(format!("bad host in {account}")))?;
    let account_id = string(page, "account_id").unwrap_or("");
    let max_id = string(page, "max_id");
    let depth = page
        .get("depth")
        .and_then(Value::as_u64)
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(0);
    let mut run = Run::new(http, params.include_replies);
    let mut poll = run
        .read_statuses(&origin, account_id, max_id, depth)
        .await?;
    poll.warnings = run.finish_warnings();
    Ok(poll)
}

fn check_actor(actor: Actor) -> Result<Actor, ConnectorError> {
    if let Some(outbox) = &actor.outbox
        && !same_origin(outbox, &actor.id)
    {
        return Err(ConnectorError::Invalid(format!(
            "the actor {} names an outbox on another server ({outbox})",
            actor.id
        )));
    }
    Ok(actor)
}

/// The body of an ActivityStreams answer: refused unless its content type says so.
fn parse_document(response: &FetchResponse) -> Result<Value, ConnectorError> {
    let content_type = response.content_type.as_deref().unwrap_or("");
    if !webfinger::is_activity_type(content_type) {
        return Err(ConnectorError::Invalid(format!(
            "{} answered {}, not ActivityStreams JSON",
            response.final_url,
            if content_type.is_empty() {
                "without a content type"
            } else {
                content_type
            }
        )));
    }
    let doc: Value = serde_json::from_slice(&response.body).map_err(|err| {
        ConnectorError::Invalid(format!("{} is not JSON: {err}", response.final_url))
    })?;
    if !doc.is_object() {
        return Err(ConnectorError::Invalid(format!(
            "{} is not a JSON object",
            response.final_url
        )));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Connector;

    #[test]
    fn recognize_stores_an_account_or_a_url() {
        let c = ActivityPubConnector;
        assert_eq!(
            Connector::recognize(&c, "@ana@social.example"),
            Some(json!({ "account": "ana@social.example" }))
        );
        assert_eq!(
            Connector::recognize(&c, "https://lemmy.example/u/ana"),
            Some(json!({ "url": "https://lemmy.example/u/ana" }))
        );
        assert_eq!(
            Connector::recognize(&c, "https://blog.example/feed.xml"),
            None
        );
    }

    #[test]
    fn validate_keeps_include_replies_and_refuses_junk() {
        let c = ActivityPubConnector;
        assert_eq!(
            c.validate(&json!({ "account": "@ana@social.example", "include_replies": true }))
                .unwrap(),
            json!({ "account": "ana@social.example", "include_replies": true })
        );
        assert!(c.validate(&json!({ "account": "nobody" })).is_err());
        assert!(c.validate(&json!({})).is_err());
        assert!(
            c.validate(&json!({ "account": "ana@social.example", "include_replies": 3 }))
                .is_err()
        );
    }
}
