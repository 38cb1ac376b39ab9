//! The sources service, the one path to a new or changed source: recognize what a person
//! pasted, discover feeds, preview (the test fetch), store with the duplicate check, and
//! wake the scheduler. The web pages, `tributary source`, `tributary poll` and OPML import
//! (`import.rs`) all call it; none of them writes sources itself. Never renders.
//!
//! Every change checks ownership here, so no page can forget it: a source is changed
//! only by its owner and seen only by its owner or an admin. The `operator_*` calls are
//! for the command line, whose user owns the database.

mod import;
mod rules;

pub use import::ImportError;
pub use rules::{NewRule, RuleAdded};

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use connectors::protocol::{discover, feed};
use connectors::{Connector, ConnectorError, FetchRequest, Http, ItemKind, Poll, Registry};
use url::Url;

use crate::ingest::history::{self, HistoryOptions, HistoryReport};
use crate::ingest::{Ingest, IngestError};
use crate::model::{Source, SourceId, User, UserId};
use crate::normalize::text::truncate_chars;
use crate::normalize::{NormalizeCtx, normalize};
use crate::schedule;
use crate::scheduler::SchedulerHandle;
use crate::social::Visibility;
use crate::store::history as history_rows;
use crate::store::sources::{self as source_rows, FetchLogRow, NewSource};
use crate::store::{Store, StoreError};
use crate::users::capitalized;

/// Items shown in a preview.
pub const MAX_PREVIEW_ITEMS: usize = 10;
/// Longest source title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest pasted input accepted, in characters.
pub const MAX_INPUT_CHARS: usize = 2000;
/// Characters of an item's text used as its title in a preview when it has none.
const UNTITLED_PREVIEW_CHARS: usize = 100;

/// What went wrong, in terms the web maps to statuses and messages.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("not found")]
    NotFound,
    /// The source belongs to someone else.
    #[error("this source belongs to someone else")]
    Forbidden,
    /// What was pasted cannot become a source; the message is for the person who pasted.
    #[error("{0}")]
    Input(String),
    /// Fields of the add or edit form are wrong: field name → message.
    #[error("some fields are not valid")]
    Fields(BTreeMap<&'static str, String>),
    /// The page names several feeds; the person picks one.
    #[error("this page names {} feeds; choose one", .0.len())]
    Several(Vec<Candidate>),
    /// The owner already has a source of this kind with these parameters.
    #[error("{owner} already has this source ({shown})")]
    Duplicate { owner: String, shown: String },
    /// The source's server asked Tributary to wait (a 429 or 503, with or without
    /// Retry-After), and that time has not come.
    #[error(
        "The server asked Tributary to wait; this source is fetched again at {} UTC, not before.",
        .until.format("%Y-%m-%d %H:%M:%S")
    )]
    Waiting { until: DateTime<Utc> },
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SourcesError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => SourcesError::NotFound,
            other => SourcesError::Store(other),
        }
    }
}

/// Something the input may become: one connector with its parameters.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub kind: String,
    pub params: serde_json::Value,
    /// The feed's address, when the source has one.
    pub url: Option<String>,
    /// What the page calls it (a `<link title>`), if anything.
    pub title: Option<String>,
    /// Already fetched and parsed while discovering, so previewing costs no request.
    preview: Option<Preview>,
}

/// What a source would import, before anything is stored.
#[derive(Clone, Debug)]
pub struct Preview {
    pub kind: String,
    /// Validated parameters, as they will be stored.
    pub params: serde_json::Value,
    pub url: Option<String>,
    /// The source's own title, or empty.
    pub title: String,
    /// The newest items, normalized (plain-text titles), at most [`MAX_PREVIEW_ITEMS`].
    pub items: Vec<PreviewItem>,
    /// How many items the document has in all.
    pub n_items: usize,
}

#[derive(Clone, Debug)]
pub struct PreviewItem {
    pub title: String,
    pub url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub kind: ItemKind,
}

/// The add form as sent: the preview's hidden fields plus what the person typed.
#[derive(Clone, Debug, Default)]
pub struct AddSource {
    pub kind: String,
    /// Parameters as JSON text.
    pub params: String,
    pub title: String,
    /// Cron text; empty for the default schedule.
    pub schedule: String,
}

/// A source described in one go, without a preview step: `tributary source add`.
#[derive(Clone, Debug, Default)]
pub struct AddInput {
    /// What was pasted: an address, a handle, anything a connector recognizes.
    pub input: String,
    /// This connector instead of recognizing the input.
    pub kind: Option<String>,
    /// Parameters beside or instead of what the input gives (`true`/`false` are switches).
    pub params: Vec<(String, String)>,
    /// Empty: the source's own title (from the test fetch), or none.
    pub title: String,
    /// Cron text; empty for the default schedule.
    pub schedule: String,
    /// Discover and test-fetch before storing, as the web's preview does. Without it the
    /// input is only recognized and validated (for a source that is offline now).
    pub check: bool,
}

/// A source that [`Sources::add_input`] stored.
#[derive(Clone, Debug)]
pub struct Added {
    pub id: SourceId,
    pub kind: String,
    pub params: serde_json::Value,
    /// The test fetch, when there was one.
    pub preview: Option<Preview>,
}

/// What a poll by hand (`tributary poll`) is to do: the sources to fetch now, and those
/// whose server asked to wait, with the time they may be fetched again.
#[derive(Clone, Debug, Default)]
pub struct HandPoll {
    pub to_poll: Vec<Source>,
    pub waiting: Vec<(SourceId, DateTime<Utc>)>,
}

#[derive(Clone)]
pub struct Sources {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub http: Arc<dyn Http>,
    pub scheduler: SchedulerHandle,
    /// The ingest that history walks started from the web run on (set by `serve`).
    pub ingest: Arc<std::sync::OnceLock<Ingest>>,
    /// When the next page of each running background walk is fetched (while it waits).
    next_pages: Arc<std::sync::Mutex<std::collections::HashMap<SourceId, DateTime<Utc>>>>,
}

impl Sources {
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        http: Arc<dyn Http>,
        scheduler: SchedulerHandle,
    ) -> Sources {
        Sources {
            store,
            registry,
            http,
            scheduler,
            ingest: Arc::new(std::sync::OnceLock::new()),
            next_pages: Arc::default(),
        }
    }

    /// When the background walk of `id` fetches its next page, while it waits for it.
    pub fn next_page_at(&self, id: SourceId) -> Option<DateTime<Utc>> {
        let next = self
            .next_pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .copied();
        next.filter(|at| *at > Utc::now())
    }

    /// Lets the web start history walks on `ingest`. Set once; later calls are ignored.
    pub fn set_ingest(&self, ingest: Ingest) {
        let _ = self.ingest.set(ingest);
    }

    /// Starts the owner's history walk of `id` in the background (the source page's
    /// button); refused while one runs for this source.
    pub async fn start_history(
        &self,
        viewer: &User,
        id: SourceId,
        page_budget: Option<u32>,
    ) -> Result<(), SourcesError> {
        let source = self.owned(viewer, id).await?;
        if crate::store::archives::is_archive_params(&source.params) {
            return Err(SourcesError::Input(
                "this source holds an imported archive; it has no older pages".into(),
            ));
        }
        if crate::store::posts::is_native_params(&source.params) {
            return Err(SourcesError::Input(
                "this source holds your posts written here; it has no older pages".into(),
            ));
        }
        let ingest = self.ingest.get().cloned().ok_or_else(|| {
            SourcesError::Input("history import runs only in the server".to_owned())
        })?;
        if ingest.is_walking(id) {
            return Err(SourcesError::Input(
                "a history import of this source is already running".to_owned(),
            ));
        }
        let next_pages = self.next_pages.clone();
        let options = HistoryOptions {
            page_budget,
            ..HistoryOptions::default()
        };
        tokio::spawn(async move {
            let note = |at: Option<DateTime<Utc>>| {
                let mut pages = next_pages
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match at {
                    Some(at) => pages.insert(id, at),
                    None => pages.remove(&id),
                };
            };
            let result = ingest
                .import_history(id, &options, |progress| {
                    let wait = progress.next_in.filter(|wait| !wait.is_zero());
                    note(wait.and_then(|wait| {
                        chrono::TimeDelta::from_std(wait)
                            .ok()
                            .map(|d| Utc::now() + d)
                    }));
                })
                .await;
            note(None);
            if let Err(err) = result {
                tracing::warn!(source_id = %id, error = %err, "history import failed");
            }
        });
        Ok(())
    }

    /// What `input` may become. A feed address is fetched (through the guarded fetcher):
    /// a feed is the one candidate; an HTML page gives the feeds its
    /// `<link rel="alternate">`s name or, without any, the first usual feed path on its
    /// site that answers with a feed. Never empty on `Ok`.
    pub async fn discover(&self, input: &str) -> Result<Vec<Candidate>, SourcesError> {
        self.discover_with(input, None, &[]).await
    }

    /// [`Sources::discover`], with a connector named instead of recognized and extra
    /// parameters (the command line's `--kind` and `--param`).
    pub async fn discover_with(
        &self,
        input: &str,
        kind: Option<&str>,
        extra: &[(String, String)],
    ) -> Result<Vec<Candidate>, SourcesError> {
        let candidate = self.recognized(input, kind, extra)?;
        if candidate.kind != "feed" {
            return Ok(vec![candidate]);
        }
        let url = candidate
            .url
            .as_deref()
            .and_then(|text| Url::parse(text).ok())
            .ok_or_else(|| SourcesError::Input("That is not a full web address.".into()))?;
        self.discover_feed(url).await
    }

    /// The connector and checked parameters for `input`, with no request made: the one
    /// recognition every entry point uses ([`recognize`]).
    pub fn recognized(
        &self,
        input: &str,
        kind: Option<&str>,
        extra: &[(String, String)],
    ) -> Result<Candidate, SourcesError> {
        recognize(&self.registry, input, kind, extra)
    }

    /// The preview of a source a person described field by field (the "advanced" form:
    /// the generic `json` connector). The connector checks the parameters first; its
    /// refusal is an input error in words.
    pub async fn preview_params(
        &self,
        kind: &str,
        params: serde_json::Value,
    ) -> Result<Preview, SourcesError> {
        let connector = self.connector(kind)?;
        let params = connector
            .validate(&params)
            .map_err(|err| SourcesError::Input(capitalized(&err.to_string())))?;
        self.preview(&Candidate {
            kind: kind.to_owned(),
            url: url_of(&params),
            params,
            title: None,
            preview: None,
        })
        .await
    }

    /// The preview of one candidate: fetched now unless discovery already read it.
    pub async fn preview(&self, candidate: &Candidate) -> Result<Preview, SourcesError> {
        if let Some(preview) = &candidate.preview {
            return Ok(preview.clone());
        }
        let connector = self.connector(&candidate.kind)?;
        let poll = connector
            .poll(
                self.http.as_ref(),
                &candidate.params,
                &connectors::PollState::default(),
            )
            .await
            .map_err(|err| SourcesError::Input(fetch_error_in_words(&err)))?;
        Ok(preview_of_poll(
            &candidate.kind,
            candidate.params.clone(),
            poll,
        ))
    }

    /// Checks the add form and stores the source for `owner`, due now; wakes the
    /// scheduler. Field errors come back as [`SourcesError::Fields`]; a source the owner
    /// already has is an error on the `source` field.
    pub async fn add(&self, owner: &User, form: &AddSource) -> Result<SourceId, SourcesError> {
        let mut errors = BTreeMap::new();
        let params = match self.checked_params(&form.kind, &form.params) {
            Ok(params) => Some(params),
            Err(message) => {
                errors.insert("source", message);
                None
            }
        };
        let schedule = checked_schedule(&form.schedule, &mut errors);
        let title = checked_title(&form.title, &mut errors);
        let Some(params) = params.filter(|_| errors.is_empty()) else {
            return Err(SourcesError::Fields(errors));
        };
        match self
            .insert(owner, &form.kind, params, title, schedule)
            .await
        {
            Ok(id) => Ok(id),
            Err(SourcesError::Duplicate { .. }) => {
                errors.insert("source", "You already have this source.".into());
                Err(SourcesError::Fields(errors))
            }
            Err(err) => Err(err),
        }
    }

    /// Recognizes, discovers, test-fetches (with `check`) and stores a source described
    /// in one go, for `owner`; wakes the scheduler. The same checks as the web's
    /// preview and add: a page that names one feed becomes that feed, a page that names
    /// several is [`SourcesError::Several`], an HTML page is never stored as a feed, and a
    /// source the owner already has is [`SourcesError::Duplicate`].
    pub async fn add_input(&self, owner: &User, add: &AddInput) -> Result<Added, SourcesError> {
        let mut errors = BTreeMap::new();
        let schedule = checked_schedule(&add.schedule, &mut errors);
        let title = checked_title(&add.title, &mut errors);
        if !errors.is_empty() {
            return Err(SourcesError::Fields(errors));
        }
        let (candidate, preview) = if add.check {
            let mut found = self
                .discover_with(&add.input, add.kind.as_deref(), &add.params)
                .await?;
            if found.len() > 1 {
                return Err(SourcesError::Several(found));
            }
            let candidate = found.pop().expect("discovery is never empty on Ok");
            let preview = self.preview(&candidate).await?;
            (candidate, Some(preview))
        } else {
            let candidate = self.recognized(&add.input, add.kind.as_deref(), &add.params)?;
            (candidate, None)
        };
        let title = match &preview {
            Some(preview) if title.is_empty() => preview.title.clone(),
            _ => title,
        };
        let params = preview
            .as_ref()
            .map_or(candidate.params.clone(), |preview| preview.params.clone());
        let id = self
            .insert(owner, &candidate.kind, params.clone(), title, schedule)
            .await?;
        Ok(Added {
            id,
            kind: candidate.kind,
            params,
            preview,
        })
    }

    /// Stores a checked source, due now, and wakes the scheduler.
    async fn insert(
        &self,
        owner: &User,
        kind: &str,
        params: serde_json::Value,
        title: String,
        schedule: String,
    ) -> Result<SourceId, SourcesError> {
        let user_id = owner.id;
        let shown = shown_params(&params);
        let kind = kind.to_owned();
        let inserted = self
            .store
            .write(move |tx| {
                source_rows::insert(
                    tx,
                    &NewSource {
                        user_id,
                        kind: &kind,
                        params: &params,
                        title: &title,
                        schedule: &schedule,
                    },
                    Utc::now(),
                )
            })
            .await;
        match inserted {
            Ok(id) => {
                tracing::info!(source_id = %id, user_id = %user_id, "source added");
                self.scheduler.wake();
                Ok(id)
            }
            Err(StoreError::Conflict(_)) => Err(SourcesError::Duplicate {
                owner: owner.name.clone(),
                shown,
            }),
            Err(err) => Err(err.into()),
        }
    }

    /// Every source of `owner`, or of everyone: for the operator at the command line.
    pub async fn operator_list(&self, owner: Option<UserId>) -> Result<Vec<Source>, SourcesError> {
        Ok(self
            .store
            .read(move |conn| source_rows::list(conn, owner))
            .await?)
    }

    /// Removes any source (soft delete): for the operator at the command line.
    pub async fn operator_remove(&self, id: SourceId) -> Result<(), SourcesError> {
        self.store
            .write(move |tx| source_rows::remove(tx, id, Utc::now()))
            .await?;
        // Its push subscription (if any) is now due for `hub.mode=unsubscribe`.
        if let Some(ingest) = self.ingest.get() {
            ingest.wake_subscriber();
        }
        tracing::info!(source_id = %id, "source removed");
        Ok(())
    }

    /// What a poll by hand fetches: one source, or every enabled one. A source whose
    /// server asked Tributary to wait (a 429 or 503, its Retry-After or our back-off kept
    /// as the next attempt) is left out until then, unless `force`.
    pub async fn hand_poll(
        &self,
        only: Option<SourceId>,
        force: bool,
    ) -> Result<HandPoll, SourcesError> {
        let candidates = match only {
            Some(id) => vec![
                self.store
                    .read(move |conn| source_rows::get(conn, id))
                    .await?,
            ],
            None => self
                .store
                .read(|conn| source_rows::list(conn, None))
                .await?
                .into_iter()
                .filter(|source| source.enabled)
                .collect(),
        };
        let waiting = if force {
            Vec::new()
        } else {
            self.asked_to_wait().await?
        };
        let mut plan = HandPoll::default();
        for source in candidates {
            match waiting.iter().find(|(id, _)| *id == source.id) {
                Some(&(id, until)) => plan.waiting.push((id, until)),
                None => plan.to_poll.push(source),
            }
        }
        Ok(plan)
    }

    async fn asked_to_wait(&self) -> Result<Vec<(SourceId, DateTime<Utc>)>, SourcesError> {
        Ok(self
            .store
            .read(|conn| source_rows::asked_to_wait(conn, Utc::now()))
            .await?)
    }

    /// The viewer's sources; with `everyone` (admins only), every user's.
    pub async fn list(&self, viewer: &User, everyone: bool) -> Result<Vec<Source>, SourcesError> {
        if everyone && !viewer.is_admin {
            return Err(SourcesError::Forbidden);
        }
        let owner = (!everyone).then_some(viewer.id);
        Ok(self
            .store
            .read(move |conn| source_rows::list(conn, owner))
            .await?)
    }

    /// One source, for its owner or an admin.
    pub async fn get(&self, viewer: &User, id: SourceId) -> Result<Source, SourcesError> {
        let source = self
            .store
            .read(move |conn| source_rows::get(conn, id))
            .await?;
        if source.user_id != viewer.id && !viewer.is_admin {
            return Err(SourcesError::Forbidden);
        }
        Ok(source)
    }

    /// The newest rows of a source's fetch log, for its owner or an admin.
    pub async fn fetch_log(
        &self,
        viewer: &User,
        id: SourceId,
        limit: usize,
    ) -> Result<Vec<FetchLogRow>, SourcesError> {
        self.get(viewer, id).await?;
        Ok(self
            .store
            .read(move |conn| source_rows::fetch_log(conn, id, limit))
            .await?)
    }

    /// The source's WebSub push subscription, if its feed named a hub.
    pub async fn push_subscription(
        &self,
        viewer: &User,
        id: SourceId,
    ) -> Result<Option<crate::store::websub::Subscription>, SourcesError> {
        self.get(viewer, id).await?;
        Ok(self
            .store
            .read(move |conn| crate::store::websub::get(conn, id))
            .await?)
    }

    /// Changes title and schedule. A new schedule that fires before the planned next
    /// attempt brings that attempt forward.
    pub async fn edit(
        &self,
        viewer: &User,
        id: SourceId,
        title: &str,
        schedule_text: &str,
    ) -> Result<(), SourcesError> {
        let source = self.owned(viewer, id).await?;
        let mut errors = BTreeMap::new();
        let schedule = checked_schedule(schedule_text, &mut errors);
        let title = checked_title(title, &mut errors);
        if !errors.is_empty() {
            return Err(SourcesError::Fields(errors));
        }
        let due_by = if schedule != source.schedule && !schedule.is_empty() {
            schedule::compile(&schedule)
                .ok()
                .and_then(|compiled| compiled.upcoming(Utc).next())
        } else {
            None
        };
        self.store
            .write(move |tx| source_rows::update_settings(tx, id, &title, &schedule, due_by))
            .await?;
        if due_by.is_some() {
            self.scheduler.wake();
        }
        Ok(())
    }

    /// Turns polling on (due now) or off.
    /// Whether the source keeps items deleted upstream (marked) instead of removing them.
    pub async fn set_keep_deleted(
        &self,
        viewer: &User,
        id: SourceId,
        keep: bool,
    ) -> Result<(), SourcesError> {
        self.owned(viewer, id).await?;
        self.store
            .write(move |tx| crate::store::deletions::set_keep_deleted(tx, id, keep))
            .await?;
        Ok(())
    }

    /// Who may see the source's items (each item's own setting may restrict it further).
    pub async fn visibility(
        &self,
        viewer: &User,
        id: SourceId,
    ) -> Result<Visibility, SourcesError> {
        // The owner or an admin, as for the source's page.
        self.get(viewer, id).await?;
        Ok(self
            .store
            .read(move |conn| crate::store::visibility::of_source(conn, id))
            .await?)
    }

    /// Sets who may see the source's items; followers elsewhere are told of items that
    /// stop or start being public.
    pub async fn set_visibility(
        &self,
        viewer: &User,
        id: SourceId,
        visibility: Visibility,
    ) -> Result<(), SourcesError> {
        self.owned(viewer, id).await?;
        let now = Utc::now();
        self.store
            .write(move |tx| crate::store::visibility::set_source(tx, id, visibility, now))
            .await?;
        Ok(())
    }

    pub async fn set_enabled(
        &self,
        viewer: &User,
        id: SourceId,
        enabled: bool,
    ) -> Result<(), SourcesError> {
        let source = self.owned(viewer, id).await?;
        if enabled && crate::store::archives::is_archive_params(&source.params) {
            return Err(SourcesError::Input(
                "this source holds an imported archive; there is nothing to poll".into(),
            ));
        }
        if enabled && crate::store::posts::is_native_params(&source.params) {
            return Err(SourcesError::Input(
                "this source holds your posts written here; there is nothing to poll".into(),
            ));
        }
        self.store
            .write(move |tx| source_rows::set_enabled(tx, id, enabled, Utc::now()))
            .await?;
        if enabled {
            self.scheduler.wake();
        }
        Ok(())
    }

    /// Makes the source due now and wakes the scheduler, unless its server asked
    /// Tributary to wait ([`SourcesError::Waiting`]).
    pub async fn poll_now(&self, viewer: &User, id: SourceId) -> Result<(), SourcesError> {
        let source = self.owned(viewer, id).await?;
        if crate::store::posts::is_native_params(&source.params) {
            return Err(SourcesError::Input(
                "this source holds your posts written here; there is nothing to poll".into(),
            ));
        }
        if crate::store::archives::is_archive_params(&source.params) {
            return Err(SourcesError::Input(
                "this source holds an imported archive; there is nothing to poll".into(),
            ));
        }
        if let Some(&(_, until)) = self
            .asked_to_wait()
            .await?
            .iter()
            .find(|(waiting, _)| *waiting == id)
        {
            return Err(SourcesError::Waiting { until });
        }
        self.store
            .write_quiet(move |tx| source_rows::poll_now(tx, id, Utc::now()))
            .await?;
        self.scheduler.wake();
        Ok(())
    }

    /// Soft delete: the items leave every page; comments and likes on them are kept.
    pub async fn remove(&self, viewer: &User, id: SourceId) -> Result<(), SourcesError> {
        self.owned(viewer, id).await?;
        self.store
            .write(move |tx| source_rows::remove(tx, id, Utc::now()))
            .await?;
        // Its push subscription (if any) is now due for `hub.mode=unsubscribe`.
        if let Some(ingest) = self.ingest.get() {
            ingest.wake_subscriber();
        }
        tracing::info!(source_id = %id, "source removed");
        Ok(())
    }

    /// A source its owner is about to change; admins only look.
    /// Walks a source's history back through `ingest` (the one writer of items): for its
    /// owner (`viewer`), or for the operator at the command line (`None`). See
    /// [`Ingest::import_history`]: resumable, idempotent, nothing delivered.
    pub async fn import_history(
        &self,
        ingest: &Ingest,
        viewer: Option<&User>,
        id: SourceId,
        options: &HistoryOptions,
        progress: impl FnMut(history::Progress<'_>) + Send,
    ) -> Result<HistoryReport, SourcesError> {
        match viewer {
            Some(viewer) => {
                self.owned(viewer, id).await?;
            }
            None => {
                self.store
                    .read(move |conn| source_rows::get(conn, id))
                    .await?;
            }
        }
        ingest
            .import_history(id, options, progress)
            .await
            .map_err(|err| match err {
                IngestError::Store(err) => SourcesError::from(err),
                other => SourcesError::Input(format!("the history import stopped: {other}")),
            })
    }

    /// A source's history walk as stored, for its owner or an admin.
    pub async fn history_walk(
        &self,
        viewer: &User,
        id: SourceId,
    ) -> Result<Option<history_rows::Walk>, SourcesError> {
        self.get(viewer, id).await?;
        Ok(self
            .store
            .read(move |conn| history_rows::get(conn, id))
            .await?)
    }

    async fn owned(&self, viewer: &User, id: SourceId) -> Result<Source, SourcesError> {
        let source = self
            .store
            .read(move |conn| source_rows::get(conn, id))
            .await?;
        if source.user_id != viewer.id {
            return Err(SourcesError::Forbidden);
        }
        Ok(source)
    }

    fn connector(&self, kind: &str) -> Result<&Arc<dyn Connector>, SourcesError> {
        connector_of(&self.registry, kind)
    }

    /// Kind and params from the add form's hidden fields, checked by their connector.
    fn checked_params(&self, kind: &str, params: &str) -> Result<serde_json::Value, String> {
        let again = "Paste the address again and preview it.";
        let connector = self
            .registry
            .get(kind)
            .ok_or_else(|| format!("Unknown kind of source `{kind}`. {again}"))?;
        let params: serde_json::Value = serde_json::from_str(params)
            .map_err(|_| format!("The source's settings are not readable. {again}"))?;
        connector
            .validate(&params)
            .map_err(|err| format!("{} {again}", capitalized(&err.to_string())))
    }

    async fn discover_feed(&self, url: Url) -> Result<Vec<Candidate>, SourcesError> {
        let response = self
            .http
            .get(FetchRequest::new(
                url.clone(),
                connectors::http::ACCEPT_FEEDS,
            ))
            .await
            .map_err(|err| SourcesError::Input(fetch_error_in_words(&err.into())))?
            .check_status()
            .map_err(|err| SourcesError::Input(fetch_error_in_words(&err)))?;
        let charset = response.content_type.as_deref().and_then(charset_of);
        let not_a_feed =
            match feed::parse_with_charset(&response.body, &response.final_url, charset) {
                Ok(parsed) => {
                    let stored = response.moved_permanently_to.clone().unwrap_or(url);
                    return Ok(vec![feed_candidate(&stored, parsed, &response.final_url)]);
                }
                Err(err) => err,
            };
        let is_html = response
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"))
            || discover::looks_like_html(&response.body);
        if is_html {
            let page = String::from_utf8_lossy(&response.body);
            let links = discover::feed_links(&page, &response.final_url);
            if !links.is_empty() {
                return Ok(links
                    .into_iter()
                    .map(|link| {
                        let params = serde_json::json!({ "url": link.url.as_str() });
                        Candidate {
                            kind: "feed".into(),
                            url: Some(link.url.to_string()),
                            params,
                            title: link.title,
                            preview: None,
                        }
                    })
                    .collect());
            }
        }
        if let Some(found) = self.probe_common_paths(&response.final_url).await {
            return Ok(vec![found]);
        }
        let origin = response.final_url.origin().ascii_serialization();
        Err(SourcesError::Input(if is_html {
            format!(
                "This page is not a feed and names none, and {origin} has no feed at the usual \
                 places ({}). Paste the address of its RSS or Atom feed.",
                discover::COMMON_FEED_PATHS.join(", ")
            )
        } else {
            format!(
                "This is not a feed Tributary can read ({}), and {origin} has no feed at the \
                 usual places.",
                reason_of(&not_a_feed)
            )
        }))
    }

    /// Fetches the usual feed paths of the page's site at once and keeps the first (in
    /// [`discover::COMMON_FEED_PATHS`] order) that answers with a feed.
    async fn probe_common_paths(&self, page_url: &Url) -> Option<Candidate> {
        let mut probes = tokio::task::JoinSet::new();
        for (path_idx, url) in discover::common_feed_urls(page_url)
            .into_iter()
            .enumerate()
            .filter(|(_, url)| url != page_url)
        {
            let http = self.http.clone();
            probes.spawn(async move {
                let response = http
                    .get(FetchRequest::new(
                        url.clone(),
                        connectors::http::ACCEPT_FEEDS,
                    ))
                    .await
                    .ok()?;
                if !(200..300).contains(&response.status) {
                    return None;
                }
                let charset = response.content_type.as_deref().and_then(charset_of);
                let parsed =
                    feed::parse_with_charset(&response.body, &response.final_url, charset).ok()?;
                Some((path_idx, feed_candidate(&url, parsed, &response.final_url)))
            });
        }
        let mut found: Vec<(usize, Candidate)> = Vec::new();
        while let Some(joined) = probes.join_next().await {
            if let Ok(Some(hit)) = joined {
                found.push(hit);
            }
        }
        found.sort_by_key(|(path_idx, _)| *path_idx);
        found.into_iter().next().map(|(_, candidate)| candidate)
    }
}

/// The connector and checked parameters for `input`, with no request made: the one
/// recognition of pasted input (the web, `tributary source add` and `source test`). With
/// `kind`, that connector is asked instead of every one; `extra` parameters are added
/// (`true` and `false` are switches) before the connector validates them all.
pub fn recognize(
    registry: &Registry,
    input: &str,
    kind: Option<&str>,
    extra: &[(String, String)],
) -> Result<Candidate, SourcesError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(SourcesError::Input(
            "Paste a web address, a feed address or a handle first.".into(),
        ));
    }
    if input.chars().count() > MAX_INPUT_CHARS {
        return Err(SourcesError::Input(
            "That is too long to be an address.".into(),
        ));
    }
    let (connector, mut params) = match kind {
        Some(kind) => {
            let connector = connector_of(registry, kind)?;
            let params = match connector.recognize(input) {
                Some(params) => params,
                // With parameters given, the input is the connector's URL (the
                // generic json connector recognizes nothing by itself).
                None if !extra.is_empty() => serde_json::json!({ "url": input }),
                None => {
                    return Err(SourcesError::Input(format!(
                        "The {kind} connector does not understand `{input}`; give its \
                         parameters too (see `tributary connectors`)."
                    )));
                }
            };
            (connector.clone(), params)
        }
        None => {
            let Some((connector, params)) = registry.recognize(input) else {
                return Err(SourcesError::Input(format!(
                    "Nothing here looks like a web address, feed or handle. Paste an \
                     address such as {}.",
                    example_input(registry)
                )));
            };
            (connector.clone(), params)
        }
    };
    if !extra.is_empty() {
        let Some(map) = params.as_object_mut() else {
            return Err(SourcesError::Input(format!(
                "The {} connector's parameters are not an object.",
                connector.kind()
            )));
        };
        for (key, value) in extra {
            // `true` and `false` are switches (`include_replies=true`); the rest is text.
            let value = match value.as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                _ => serde_json::Value::String(value.clone()),
            };
            map.insert(key.clone(), value);
        }
    }
    let params = connector
        .validate(&params)
        .map_err(|err| SourcesError::Input(capitalized(&err.to_string())))?;
    Ok(Candidate {
        kind: connector.kind().to_owned(),
        url: url_of(&params),
        params,
        title: None,
        preview: None,
    })
}

fn connector_of<'r>(
    registry: &'r Registry,
    kind: &str,
) -> Result<&'r Arc<dyn Connector>, SourcesError> {
    registry.get(kind).ok_or_else(|| {
        SourcesError::Input(format!(
            "This version of Tributary has no `{kind}` connector."
        ))
    })
}

fn example_input(registry: &Registry) -> &'static str {
    registry
        .get("feed")
        .map_or("https://blog.example/feed.xml", |feed| {
            feed.info().example_input
        })
}

/// A person-readable sentence for a failed fetch or poll.
pub fn fetch_error_in_words(err: &ConnectorError) -> String {
    match err {
        ConnectorError::Forbidden(why) => format!(
            "Tributary does not fetch private, local or otherwise forbidden addresses: {why}."
        ),
        ConnectorError::Status(404) => {
            "Nothing was found at this address (the server answered 404 Not Found).".into()
        }
        ConnectorError::Status(status) => {
            format!("The server could not give this address (it answered HTTP {status}).")
        }
        ConnectorError::Gone => "The server says this address is gone for good (HTTP 410).".into(),
        ConnectorError::Blocked(why) => format!("The server refused to let Tributary in: {why}."),
        ConnectorError::RateLimited { .. } => {
            "The server asks Tributary to slow down; try again later.".into()
        }
        ConnectorError::Network(why) => format!("The server could not be reached: {why}."),
        ConnectorError::TooLarge { limit } => {
            format!("The document is larger than Tributary's limit of {limit} bytes.")
        }
        ConnectorError::Invalid(why) => format!("This is not a feed Tributary can read: {why}."),
        other => capitalized(&other.to_string()),
    }
}

/// Checks a schedule field; empty means the default and gives "".
fn checked_schedule(text: &str, errors: &mut BTreeMap<&'static str, String>) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    match schedule::parse_schedule(text) {
        Ok(normalized) => normalized,
        Err(message) => {
            errors.insert("schedule", capitalized(&message));
            String::new()
        }
    }
}

fn checked_title(text: &str, errors: &mut BTreeMap<&'static str, String>) -> String {
    let title = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.chars().count() > MAX_TITLE_CHARS {
        errors.insert("title", format!("At most {MAX_TITLE_CHARS} characters."));
    }
    title
}

fn feed_candidate(stored_url: &Url, parsed: feed::ParsedFeed, base: &Url) -> Candidate {
    let params = serde_json::json!({ "url": stored_url.as_str() });
    let title = parsed.meta.title.clone();
    let poll = Poll {
        items: parsed.items,
        meta: parsed.meta,
        base_url: Some(base.clone()),
        ..Poll::default()
    };
    let preview = preview_of_poll("feed", params.clone(), poll);
    Candidate {
        kind: "feed".into(),
        url: Some(stored_url.to_string()),
        params,
        title,
        preview: Some(preview),
    }
}

/// Normalizes a poll's items (so nothing unsanitized reaches a page) and keeps the
/// newest [`MAX_PREVIEW_ITEMS`].
fn preview_of_poll(kind: &str, params: serde_json::Value, poll: Poll) -> Preview {
    let ctx = NormalizeCtx {
        base_url: poll.base_url.clone(),
        fetched_at: Utc::now(),
        sanitize_fast_path: true,
    };
    let n_items = poll.items.len();
    let mut items: Vec<PreviewItem> = poll
        .items
        .into_iter()
        .map(|raw| {
            let (item, _warnings) = normalize(raw, &ctx);
            let title = if item.title.trim().is_empty() {
                truncate_chars(&item.summary_text, UNTITLED_PREVIEW_CHARS)
            } else {
                item.title
            };
            PreviewItem {
                title,
                url: item.url.map(|url| url.to_string()),
                published_at: item.published_at,
                kind: item.kind,
            }
        })
        .collect();
    items.sort_by_key(|item| std::cmp::Reverse(item.published_at));
    items.truncate(MAX_PREVIEW_ITEMS);
    let title = poll
        .meta
        .title
        .map(|title| title.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|title| truncate_chars(&title, MAX_TITLE_CHARS))
        .unwrap_or_default();
    Preview {
        kind: kind.to_owned(),
        url: url_of(&params),
        params,
        title,
        items,
        n_items,
    }
}

/// What a message calls a source: its address or account, else its parameters.
pub fn shown_params(params: &serde_json::Value) -> String {
    ["url", "account", "user", "handle"]
        .iter()
        .find_map(|key| params.get(*key).and_then(serde_json::Value::as_str))
        .map_or_else(|| params.to_string(), str::to_owned)
}

fn url_of(params: &serde_json::Value) -> Option<String> {
    params
        .get("url")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The parser's reason without the error class prefix.
fn reason_of(err: &ConnectorError) -> String {
    match err {
        ConnectorError::Invalid(why) => why.clone(),
        other => other.to_string(),
    }
}

/// The `charset` parameter of a Content-Type header value.
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_errors_are_sentences() {
        let mut errors = BTreeMap::new();
        assert_eq!(checked_schedule("  ", &mut errors), "");
        assert_eq!(
            checked_schedule("*/15 * * * *", &mut errors),
            "0 */15 * * * *"
        );
        assert!(errors.is_empty());
        checked_schedule("every tuesday", &mut errors);
        assert!(errors["schedule"].starts_with('`'), "{errors:?}");
    }

    #[test]
    fn forbidden_fetch_names_the_reason() {
        let words = fetch_error_in_words(&ConnectorError::Forbidden(
            "127.0.0.2 is a loopback address".into(),
        ));
        assert!(words.contains("127.0.0.2 is a loopback address"), "{words}");
        assert!(words.starts_with("Tributary does not fetch"), "{words}");
    }

    #[test]
    fn charset_is_read_from_content_type() {
        assert_eq!(
            charset_of("text/html; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        assert_eq!(charset_of("application/rss+xml"), None);
    }
}
