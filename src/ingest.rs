//! One poll of one source: registry → connector.poll → normalize → store, in one write
//! transaction. The only writer of items. A failed poll changes nothing but the source's
//! error fields, its next attempt and the fetch log (and, when it starts failing, its
//! owner's notification).

pub mod history;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use connectors::{ConnectorError, Http, Poll, Registry};

use crate::config::{NormalizeConfig, SchedulerConfig};
use crate::events::{Event, Events};
use crate::model::{NewItem, Source, SourceId};
use crate::normalize::{NormalizeCtx, normalize};
use crate::schedule::{self, Outcome};
use crate::store::sources::{FetchLogEntry, PollRecord};
use crate::store::{
    Store, StoreError, deletions, federation, items, notifications, sources, websub,
};
use crate::websub::Publisher;
use crate::websub_in::Subscriber;

/// Warnings kept per poll report; the rest are counted.
const MAX_WARNINGS: usize = 20;
/// A poll that found its host's request slots busy (other sources' requests held them
/// past `fetch.slot_wait_secs`) is tried again this much later. Not a failure, so no
/// back-off.
const HOST_BUSY_RETRY_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the normalize task stopped: {0}")]
    Task(String),
}

#[derive(Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    http: Arc<dyn Http>,
    registry: Arc<Registry>,
    cfg: SchedulerConfig,
    normalize: NormalizeConfig,
    /// `cfg.default_schedule`, parsed once (it is the schedule of most sources).
    default_schedule: cron::Schedule,
    /// Hears about new items, when a WebSub hub is configured.
    publisher: OnceLock<Publisher>,
    /// Woken when a poll queued items for followers elsewhere.
    federation: OnceLock<crate::federation::Federation>,
    /// Told of new items and of every finished poll (live updates).
    events: OnceLock<Events>,
    /// Sources whose history walk runs in this process now.
    walking: Mutex<HashSet<SourceId>>,
    /// Where site icons are kept; without it, none are fetched.
    media: OnceLock<crate::media::MediaStore>,
    /// WebSub in: polls that find a hub offer it a subscription; pushed sources are
    /// polled at its relaxed interval.
    subscriber: OnceLock<Subscriber>,
}

/// How a poll's document reached ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landing {
    /// Fetched by a poll: the source's state, next poll and fetch log move.
    Poll,
    /// Pushed by a WebSub hub: only the items and the fetch log; the source's health,
    /// validators and next poll stay.
    Push,
}

/// Items published this many days back are re-checked with their origin.
pub const RECHECK_WINDOW_DAYS: i64 = 7;
/// An item is re-checked at most this often (and not before this long after its fetch).
pub const RECHECK_EVERY_HOURS: i64 = 24;
/// Re-checks per poll of a source, at most.
pub const RECHECKS_PER_POLL: usize = 3;

/// What one poll did, for logs, the CLI and tests.
#[derive(Clone, Debug, PartialEq)]
pub struct PollReport {
    pub source_id: SourceId,
    pub n_new: usize,
    pub n_updated: usize,
    pub n_unchanged: usize,
    /// Items that left the stream (or were marked) because the origin deleted them: told
    /// by the poll, or found by a re-check.
    pub n_deleted: usize,
    pub not_modified: bool,
    /// The error in words, when the poll failed.
    pub error: Option<String>,
    /// Why the poll sent nothing (its host was busy with other sources' requests), when
    /// it was put off. Not a failure: only `next_poll_at` changed.
    pub deferred: Option<String>,
    pub warnings: Vec<String>,
    pub next_poll_at: DateTime<Utc>,
}

/// The fetch-log facts of a poll that ended in `err`.
struct FetchLog {
    started_at: DateTime<Utc>,
    duration_ms: i64,
    outcome: &'static str,
    message: String,
}

impl FetchLog {
    fn of(err: &ConnectorError, message: &str, started_at: DateTime<Utc>, clock: Instant) -> Self {
        FetchLog {
            started_at,
            duration_ms: clock.elapsed().as_millis() as i64,
            outcome: err.class(),
            message: message.to_owned(),
        }
    }
}

impl PollReport {
    /// The outcome as the source page says it: "failing: …", "put off: …", "ok: 2 new
    /// items", "ok: not modified".
    pub fn in_words(&self) -> String {
        if let Some(error) = &self.error {
            format!("failing: {error}")
        } else if let Some(why) = &self.deferred {
            format!("put off: {why}")
        } else if self.not_modified {
            "ok: not modified".to_owned()
        } else {
            let n = self.n_new;
            format!("ok: {n} new {}", if n == 1 { "item" } else { "items" })
        }
    }

    /// A poll that stored no item; the caller says why (`error` or `deferred`).
    fn nothing_stored(source_id: SourceId, next_poll_at: DateTime<Utc>) -> PollReport {
        PollReport {
            source_id,
            n_new: 0,
            n_updated: 0,
            n_unchanged: 0,
            n_deleted: 0,
            not_modified: false,
            error: None,
            deferred: None,
            warnings: Vec::new(),
            next_poll_at,
        }
    }
}

impl Ingest {
    pub fn new(
        store: Store,
        http: Arc<dyn Http>,
        registry: Arc<Registry>,
        cfg: SchedulerConfig,
    ) -> Ingest {
        // Validated with the config; should it still not parse, every 30 minutes.
        let default_schedule = schedule::parse_schedule(&cfg.default_schedule)
            .and_then(|text| schedule::compile(&text))
            .or_else(|_| schedule::compile("0 */30 * * * *"))
            .expect("the built-in fallback schedule parses");
        Ingest {
            inner: Arc::new(Inner {
                store,
                http,
                registry,
                cfg,
                normalize: NormalizeConfig::default(),
                default_schedule,
                publisher: OnceLock::new(),
                federation: OnceLock::new(),
                events: OnceLock::new(),
                walking: Mutex::new(HashSet::new()),
                media: OnceLock::new(),
                subscriber: OnceLock::new(),
            }),
        }
    }

    /// Normalizes with `normalize` instead of the defaults. Called while building, before
    /// the ingest is shared.
    pub fn with_normalize(mut self, normalize: NormalizeConfig) -> Ingest {
        Arc::get_mut(&mut self.inner)
            .expect("with_normalize is called before the ingest is cloned")
            .normalize = normalize;
        self
    }

    /// Tells `publisher` whenever a poll stores new items. Set once; later calls are
    /// ignored.
    pub fn set_publisher(&self, publisher: Publisher) {
        let _ = self.inner.publisher.set(publisher);
    }

    /// Wakes `federation`'s delivery worker whenever a poll queued items for followers.
    /// Set once; later calls are ignored.
    pub fn set_federation(&self, federation: crate::federation::Federation) {
        let _ = self.inner.federation.set(federation);
    }

    /// Tells `events` of new items and finished polls. Set once; later calls are ignored.
    pub fn set_events(&self, events: Events) {
        let _ = self.inner.events.set(events);
    }

    /// Keeps the site icons of sources without an embedded service icon in `media`
    /// (`site_icon.rs`): after a successful poll, when one is due. Set once; later calls
    /// are ignored.
    pub fn set_media(&self, media: crate::media::MediaStore) {
        let _ = self.inner.media.set(media);
    }

    /// Lets polls offer WebSub subscriptions to `subscriber` and relax the polls of pushed
    /// sources. Set once; later calls are ignored.
    pub fn set_subscriber(&self, subscriber: Subscriber) {
        let _ = self.inner.subscriber.set(subscriber);
    }

    /// Wakes the WebSub worker, if there is one (a source was removed).
    pub fn wake_subscriber(&self) {
        if let Some(subscriber) = self.inner.subscriber.get() {
            subscriber.wake();
        }
    }

    /// Stores a document a WebSub hub pushed for `source_id` (its signature already
    /// checked, its bytes parsed) through the same normalize and store path as a poll.
    pub async fn ingest_push(
        &self,
        source_id: SourceId,
        parsed: connectors::protocol::feed::ParsedFeed,
        base_url: Option<url::Url>,
    ) -> Result<PollReport, IngestError> {
        let source = self
            .inner
            .store
            .read(move |conn| sources::get(conn, source_id))
            .await?;
        let poll = Poll {
            items: parsed.items,
            deleted: parsed.deleted,
            state: source.state.clone(),
            warnings: parsed.warnings,
            meta: parsed.meta,
            base_url,
            ..Poll::default()
        };
        self.record_success(source, poll, Utc::now(), Instant::now(), Landing::Push)
            .await
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.inner.cfg
    }

    /// Polls one source now and records the outcome. `Err` only when storage fails; a
    /// source that fails to poll is an `Ok` report with `error` set.
    pub async fn poll_source(&self, id: SourceId) -> Result<PollReport, IngestError> {
        let source = self
            .inner
            .store
            .read(move |conn| sources::get(conn, id))
            .await?;
        self.poll_loaded(source).await
    }

    /// [`Ingest::poll_source`] for a source already read from the store.
    #[tracing::instrument(skip_all, fields(source_id = %source.id))]
    pub async fn poll_loaded(&self, source: Source) -> Result<PollReport, IngestError> {
        if crate::store::posts::is_native_params(&source.params) {
            // Posts written here: there is nothing to fetch.
            return Ok(PollReport {
                error: Some(
                    "this source holds posts written in Tributary; there is nothing to poll".into(),
                ),
                ..PollReport::nothing_stored(source.id, source.next_poll_at)
            });
        }
        if crate::store::archives::is_archive_params(&source.params) {
            // An imported archive's source has nothing to fetch (and may share its kind
            // with a connector, as Bluesky does): nothing is sent or stored.
            return Ok(PollReport {
                error: Some(
                    "this source holds an imported archive; there is nothing to poll".into(),
                ),
                ..PollReport::nothing_stored(source.id, source.next_poll_at)
            });
        }
        let started_at = Utc::now();
        let clock = Instant::now();
        let (source_id, owner_id) = (source.id, source.user_id);
        let result = match self.inner.registry.get(&source.kind) {
            Some(connector) => {
                connector
                    .poll(self.inner.http.as_ref(), &source.params, &source.state)
                    .await
            }
            None => Err(ConnectorError::Unsupported(format!(
                "no connector named `{}` in this version of Tributary",
                source.kind
            ))),
        };
        let report = match result {
            Ok(poll) => {
                let mut report = self
                    .record_success(source.clone(), poll, started_at, clock, Landing::Poll)
                    .await?;
                report.n_deleted += self.recheck_recent(&source).await?;
                report
            }
            Err(ConnectorError::NotModified) => {
                let poll = Poll {
                    not_modified: true,
                    state: source.state.clone(),
                    ..Poll::default()
                };
                let mut report = self
                    .record_success(source.clone(), poll, started_at, clock, Landing::Poll)
                    .await?;
                report.n_deleted += self.recheck_recent(&source).await?;
                report
            }
            Err(err @ ConnectorError::HostBusy { .. }) => {
                self.record_deferred(source, err, started_at, clock).await?
            }
            Err(err) => self.record_failure(source, err, started_at, clock).await?,
        };
        if let Some(error) = &report.error {
            tracing::warn!(error = %error, next = %report.next_poll_at, "poll failed");
        } else if let Some(why) = &report.deferred {
            tracing::info!(why = %why, next = %report.next_poll_at, "poll put off");
        } else {
            tracing::info!(
                n_new = report.n_new,
                n_updated = report.n_updated,
                not_modified = report.not_modified,
                n_warnings = report.warnings.len(),
                "polled"
            );
        }
        if let Some(events) = self.inner.events.get() {
            events.publish(Event::PollFinished {
                source_id,
                owner_id,
                result: report.in_words(),
            });
        }
        Ok(report)
    }

    /// Asks the origin about a few recent items of the source (published within
    /// [`RECHECK_WINDOW_DAYS`], neither fetched nor asked about for
    /// [`RECHECK_EVERY_HOURS`]), at most [`RECHECKS_PER_POLL`] per poll, and carries over
    /// the deletion of each one it reports gone. Returns how many left the stream.
    async fn recheck_recent(&self, source: &Source) -> Result<usize, IngestError> {
        let Some(connector) = self.inner.registry.get(&source.kind) else {
            return Ok(0);
        };
        let now = Utc::now();
        let id = source.id;
        let due = self
            .inner
            .store
            .read(move |conn| {
                deletions::due_rechecks(
                    conn,
                    id,
                    now - chrono::TimeDelta::days(RECHECK_WINDOW_DAYS),
                    now - chrono::TimeDelta::hours(RECHECK_EVERY_HOURS),
                    RECHECKS_PER_POLL,
                )
            })
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut gone = Vec::new();
        let mut asked = Vec::new();
        for item in &due {
            let item_ref = connectors::ItemRef {
                external_id: item.external_id.clone(),
                url: item.url.as_deref().and_then(|u| url::Url::parse(u).ok()),
            };
            let answer = connector
                .recheck(self.inner.http.as_ref(), &source.params, &item_ref)
                .await;
            if let Ok(connectors::Recheck::Gone) = answer {
                tracing::info!(item_id = %item.id, "deleted upstream");
                gone.push(item.external_id.clone());
            }
            asked.push(item.id);
        }
        let n_deleted = self
            .inner
            .store
            .write_quiet(move |tx| {
                deletions::mark_rechecked(tx, &asked, now)?;
                Ok(deletions::carry_over(tx, id, &gone, now)?.len())
            })
            .await?;
        if n_deleted > 0 {
            self.inner.store.touch();
            if let Some(federation) = self.inner.federation.get() {
                federation.wake();
            }
        }
        Ok(n_deleted)
    }

    async fn record_success(
        &self,
        source: Source,
        poll: Poll,
        started_at: DateTime<Utc>,
        clock: Instant,
        landing: Landing,
    ) -> Result<PollReport, IngestError> {
        let fetched_at = Utc::now();
        let Poll {
            items: raw_items,
            state,
            hint,
            not_modified,
            mut warnings,
            new_params,
            meta,
            base_url,
            next_page: _,
            deleted,
        } = poll;
        let (items, item_warnings) = self
            .normalize_items(raw_items, base_url, fetched_at)
            .await?;
        warnings.extend(item_warnings);
        let n_warnings = warnings.len();
        warnings.truncate(MAX_WARNINGS);
        if n_warnings > MAX_WARNINGS {
            warnings.push(format!("… and {} more", n_warnings - MAX_WARNINGS));
        }

        let schedule = self.schedule_of(&source);
        let next_poll_at = match landing {
            Landing::Poll => schedule::next_poll_at(
                &schedule,
                fetched_at,
                hint.not_before,
                Outcome::Success,
                source.id,
                &self.inner.cfg,
            ),
            Landing::Push => source.next_poll_at,
        };
        let subscriber = self.inner.subscriber.get().cloned();
        let offer = subscriber
            .as_ref()
            .filter(|_| landing == Landing::Poll)
            .and_then(|subscriber| subscriber.offer_for(&source, &meta));
        let relaxed_interval = subscriber
            .as_ref()
            .filter(|_| landing == Landing::Poll)
            .map(Subscriber::push_poll_interval);
        let icon_candidates = (landing == Landing::Poll
            && self.inner.media.get().is_some()
            && crate::web::services::wants_site_icon(&source.kind)
            && crate::site_icon::is_due(&source, fetched_at))
        .then(|| {
            let feed_url = source.url().and_then(|url| url::Url::parse(url).ok());
            crate::site_icon::candidates(&meta, feed_url.as_ref())
        });
        let title = meta
            .title
            .filter(|t| !t.trim().is_empty())
            .map(|t| crate::normalize::text::plain_title(&t));
        let message = (!warnings.is_empty()).then(|| warnings.join("; "));
        let duration_ms = clock.elapsed().as_millis() as i64;
        let source_id = source.id;
        let user_id = source.user_id;
        let retitled = title.as_deref().is_some_and(|t| t != source.title);
        // Quiet: a poll that stored nothing new leaves every cached page valid.
        let upsert = self
            .inner
            .store
            .write_quiet(move |tx| {
                // The owner's rules keep matching items out of the store; the fetch log
                // counts them.
                let matchers = crate::store::rules::source_matchers(tx, source_id)?;
                let (items, n_skipped) = crate::rules::skip_matching(items, &matchers);
                let message = match (message, n_skipped) {
                    (message, 0) => message,
                    (None, n) => Some(format!("{n} skipped by rules")),
                    (Some(message), n) => Some(format!("{n} skipped by rules; {message}")),
                };
                let upsert = items::upsert(tx, source_id, user_id, &items, fetched_at)?;
                // What the origin reports deleted leaves the stream (its `Delete` for
                // followers queued by the tombstone), in the same transaction.
                let n_deleted = deletions::carry_over(tx, source_id, &deleted, fetched_at)?.len();
                // Followers elsewhere hear of new and changed items: queued in this
                // transaction, so a crash after the poll loses no delivery.
                let queued = federation::queue_items(
                    tx,
                    user_id,
                    &upsert.new_ids,
                    federation::Verb::Create,
                    fetched_at,
                )? + federation::queue_items(
                    tx,
                    user_id,
                    &upsert.updated_ids,
                    federation::Verb::Update,
                    fetched_at,
                )?;
                // A feed that names a hub is offered a push subscription; one whose
                // items are pushed is still polled, at the relaxed interval.
                let offered = match &offer {
                    Some(offer) => websub::offer(tx, &offer.as_offer(), fetched_at)?,
                    None => false,
                };
                let next_poll_at = match relaxed_interval {
                    Some(interval) if websub::is_active(tx, source_id, fetched_at)? => {
                        crate::websub_in::relaxed(next_poll_at, fetched_at, interval)
                    }
                    _ => next_poll_at,
                };
                match landing {
                    // A push is no poll: the source's health, validators, cursor and next
                    // poll stay the polls' own.
                    Landing::Push => websub::pushed(tx, source_id, fetched_at)?,
                    Landing::Poll => sources::record_poll(
                        tx,
                        source_id,
                        &PollRecord {
                            polled_at: fetched_at,
                            next_poll_at,
                            error: None,
                            state: Some(&state),
                            params: new_params.as_ref(),
                            title: title.as_deref(),
                            disable: false,
                        },
                    )?,
                }
                sources::log_fetch(
                    tx,
                    source_id,
                    &FetchLogEntry {
                        started_at,
                        duration_ms,
                        outcome: match (landing, not_modified) {
                            (Landing::Push, _) => "push",
                            (Landing::Poll, true) => "not_modified",
                            (Landing::Poll, false) => "ok",
                        },
                        n_new: upsert.new_ids.len(),
                        n_updated: upsert.n_updated,
                        message: message.as_deref(),
                    },
                )?;
                // New items are as visible as their source: only public ones are pinged
                // to hubs and announced to live pages.
                let public = crate::store::visibility::of_source(tx, source_id)?
                    == crate::social::Visibility::Public;
                Ok((upsert, queued, n_deleted, offered, next_poll_at, public))
            })
            .await?;
        let (upsert, queued, n_deleted, offered, next_poll_at, public) = upsert;
        if offered && let Some(subscriber) = &subscriber {
            subscriber.wake();
        }
        if (queued > 0 || n_deleted > 0)
            && let Some(federation) = self.inner.federation.get()
        {
            federation.wake();
        }
        if !upsert.new_ids.is_empty() || upsert.n_updated > 0 || retitled || n_deleted > 0 {
            self.inner.store.touch();
        }
        if !upsert.new_ids.is_empty() && public {
            if let Some(publisher) = self.inner.publisher.get() {
                publisher.items_landed(user_id, &source.kind);
            }
            if let Some(events) = self.inner.events.get() {
                events.publish(Event::NewItems {
                    user_id,
                    n_new: upsert.new_ids.len(),
                });
            }
        }
        if let (Some(candidates), Some(media)) = (icon_candidates, self.inner.media.get()) {
            self.refresh_icon(&source, media, candidates).await?;
        }
        Ok(PollReport {
            source_id,
            n_new: upsert.new_ids.len(),
            n_updated: upsert.n_updated,
            n_unchanged: upsert.n_unchanged,
            n_deleted,
            not_modified,
            error: None,
            deferred: None,
            warnings,
            next_poll_at,
        })
    }

    /// Looks for `source`'s site icon at `candidates` and records what it found; a new
    /// icon changes the cards, so cached pages go.
    async fn refresh_icon(
        &self,
        source: &Source,
        media: &crate::media::MediaStore,
        candidates: Vec<url::Url>,
    ) -> Result<(), IngestError> {
        let found =
            crate::site_icon::fetch(self.inner.http.as_ref(), media, source, candidates).await;
        let changed = found.is_some() && found != source.icon_hash;
        let id = source.id;
        let now = Utc::now();
        self.inner
            .store
            .write_quiet(move |tx| sources::record_icon(tx, id, found.as_deref(), now))
            .await?;
        if changed {
            self.inner.store.touch();
        }
        Ok(())
    }

    /// A poll that sent nothing because its host's request slots stayed busy: only the
    /// next attempt moves (soon, without back-off) and the fetch log says why. The error,
    /// failure count and state stay as they were.
    async fn record_deferred(
        &self,
        source: Source,
        err: ConnectorError,
        started_at: DateTime<Utc>,
        clock: Instant,
    ) -> Result<PollReport, IngestError> {
        let next_poll_at = Utc::now() + chrono::TimeDelta::seconds(HOST_BUSY_RETRY_SECS);
        let message = err.to_string();
        let source_id = source.id;
        let log = FetchLog::of(&err, &message, started_at, clock);
        self.write_without_items(source_id, log, move |tx| {
            sources::defer(tx, source_id, next_poll_at)
        })
        .await?;
        Ok(PollReport {
            deferred: Some(message),
            ..PollReport::nothing_stored(source_id, next_poll_at)
        })
    }

    async fn record_failure(
        &self,
        source: Source,
        err: ConnectorError,
        started_at: DateTime<Utc>,
        clock: Instant,
    ) -> Result<PollReport, IngestError> {
        let now = Utc::now();
        let failures = source.failure_count.saturating_add(1);
        let not_before = match &err {
            ConnectorError::RateLimited { retry_after } => *retry_after,
            _ => None,
        };
        let disable = matches!(err, ConnectorError::Gone);
        let schedule = self.schedule_of(&source);
        let next_poll_at = schedule::next_poll_at(
            &schedule,
            now,
            not_before,
            Outcome::Failure { failures },
            source.id,
            &self.inner.cfg,
        );
        let message = if disable {
            format!("{err}; the source was disabled — check the address and enable it again")
        } else {
            err.to_string()
        };
        let source_id = source.id;
        let log = FetchLog::of(&err, &message, started_at, clock);
        let stored_message = message.clone();
        let owner = source.user_id;
        self.write_without_items(source_id, log, move |tx| {
            // The owner hears when a source starts failing, once: not of every failed
            // poll after it, nor of its recovery.
            if sources::failure_count(tx, source_id)? == 0 {
                notifications::source_failing(tx, owner, source_id, now)?;
            }
            sources::record_poll(
                tx,
                source_id,
                &PollRecord {
                    polled_at: now,
                    next_poll_at,
                    error: Some(&stored_message),
                    state: None,
                    params: None,
                    title: None,
                    disable,
                },
            )
        })
        .await?;
        Ok(PollReport {
            error: Some(message),
            ..PollReport::nothing_stored(source_id, next_poll_at)
        })
    }

    /// A poll that stored no item: `update` on the source, then its fetch-log row, in one
    /// transaction that does not bump the content version.
    async fn write_without_items(
        &self,
        source_id: SourceId,
        log: FetchLog,
        update: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), IngestError> {
        self.inner
            .store
            .write_quiet(move |tx| {
                update(tx)?;
                sources::log_fetch(
                    tx,
                    source_id,
                    &FetchLogEntry::without_items(
                        log.started_at,
                        log.duration_ms,
                        log.outcome,
                        &log.message,
                    ),
                )
            })
            .await?;
        Ok(())
    }

    /// Normalizes a poll's items, off the async workers when there are any (sanitizing
    /// is CPU work); each item's warnings are named by its external id.
    async fn normalize_items(
        &self,
        raw_items: Vec<connectors::RawItem>,
        base_url: Option<url::Url>,
        fetched_at: DateTime<Utc>,
    ) -> Result<(Vec<NewItem>, Vec<String>), IngestError> {
        let raw_items_empty = raw_items.is_empty();
        let sanitize_fast_path = self.inner.normalize.sanitize_fast_path;
        let normalize_all = move || {
            let ctx = NormalizeCtx {
                base_url,
                fetched_at,
                sanitize_fast_path,
            };
            let mut items: Vec<NewItem> = Vec::with_capacity(raw_items.len());
            let mut warnings = Vec::new();
            for raw in raw_items {
                let external_id = raw.external_id.clone();
                let (item, item_warnings) = normalize(raw, &ctx);
                warnings.extend(
                    item_warnings
                        .into_iter()
                        .map(|w| format!("item {external_id}: {w}")),
                );
                items.push(item);
            }
            (items, warnings)
        };
        if raw_items_empty {
            Ok(normalize_all())
        } else {
            tokio::task::spawn_blocking(normalize_all)
                .await
                .map_err(|err| IngestError::Task(err.to_string()))
        }
    }

    /// The source's own schedule, else the configured default. Both were validated when
    /// stored; should one still not parse, the default applies.
    fn schedule_of(&self, source: &Source) -> std::borrow::Cow<'_, cron::Schedule> {
        use std::borrow::Cow;
        if source.schedule.is_empty() {
            return Cow::Borrowed(&self.inner.default_schedule);
        }
        schedule::compile(&source.schedule)
            .map_or(Cow::Borrowed(&self.inner.default_schedule), Cow::Owned)
    }
}
