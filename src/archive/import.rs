//! An archive import run: open and check the archive, pick its platform's reader, and
//! store what it reads in batches, each batch ONE transaction holding its items (marked
//! imported: never delivered to followers nor announced as new), their comments and likes
//! by name, and the run's counters. A kill loses at most the batch in flight; a second
//! run over the same archive finds every post in the id map (the platform's id is the
//! item's `external_id` in the platform's archive source) and adds nothing. Media files
//! go through the media store (sniffed, capped, content-addressed), so a file named in a
//! post but refused or absent is counted as missing and the post keeps the platform's
//! address of it, if it had one.

use std::path::Path;

use chrono::Utc;
use connectors::{Media, RawItem};
use url::Url;

use super::files::{ArchiveFiles, FilesError, Limits};
use super::{ArchiveError, Entry, Platform, Post, ReadOptions, Reader, SkipReason};
use crate::media::{MediaError, MediaStore};
use crate::model::{SourceId, UserId};
use crate::normalize::{NormalizeCtx, normalize};
use crate::store::archives::{self, Counts, ImportRow};
use crate::store::{Store, StoreError, history, items};

/// Posts stored per transaction.
const BATCH: usize = 500;
/// Distinct skip reasons kept in the summary; the rest are counted together.
const MAX_REASONS: usize = 40;
/// Reasons of media refusals kept in the summary, at most.
const MAX_MEDIA_REASONS: usize = 20;

/// The readers Tributary has, in the order they are tried on an archive.
pub fn readers() -> Vec<&'static dyn Reader> {
    vec![
        &super::mastodon::Mastodon,
        &super::twitter::Twitter,
        &super::instagram::Instagram,
        &super::bluesky::Bluesky,
        &super::friendfeed::FriendFeed,
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Files(#[from] FilesError),
    #[error(
        "this is not an archive Tributary reads (Mastodon, Twitter/X, Bluesky, FriendFeed \
         or Instagram): {0}"
    )]
    NotRecognized(String),
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import needs.
#[derive(Clone)]
pub struct ArchiveImporter {
    pub store: Store,
    pub media: MediaStore,
    pub limits: Limits,
    /// The instance's base URL without a trailing `/`: stored media are at
    /// `{base_url}/media/{hash}`.
    pub base_url: String,
    pub sanitize_fast_path: bool,
}

impl ArchiveImporter {
    /// Imports the archive at `path` (known to the user as `name`) into `user`'s stream.
    /// Blocking: run it on a blocking thread. `progress` hears the counters after every
    /// batch. An archive refused when it is opened stores nothing; a run that fails later
    /// keeps what its finished batches stored, and a new run continues.
    pub fn run_blocking(
        &self,
        user: UserId,
        path: &Path,
        name: &str,
        options: &ReadOptions,
        progress: &mut dyn FnMut(&Counts),
    ) -> Result<ImportRow, ImportError> {
        let scratch = self.media.dir().join("tmp");
        let mut files = ArchiveFiles::open(path, name, &self.limits, &scratch)?;
        let reader = readers()
            .into_iter()
            .find(|reader| reader.detect(&files))
            .ok_or_else(|| ImportError::NotRecognized(describe(&files)))?;
        let platform = reader.platform();
        let mut media_files = files.reopen()?;
        let now = Utc::now();
        let (import_id, source) = self.store.write_blocking(|tx| {
            let id = archives::start(tx, user, platform.as_str(), name, now)?;
            let source = archives::source_for(
                tx,
                user,
                platform.as_str(),
                "",
                &format!("{} archive", platform.label()),
                now,
            )?;
            archives::put(
                tx,
                id,
                Some(source),
                "running",
                &Counts::default(),
                None,
                now,
            )?;
            Ok((id, source))
        })?;
        let mut run = Run {
            importer: self,
            user,
            source,
            import_id,
            counts: Counts::default(),
            batch: Vec::with_capacity(BATCH),
            media_files: &mut media_files,
            progress,
            media_reasons: 0,
        };
        let result = reader.read(&mut files, options, &mut |entry| run.take(entry));
        let result = result.and_then(|account| run.flush().map(|()| account));
        let counts = run.counts.clone();
        let finished = Utc::now();
        match result {
            Ok(account) => {
                let title = match account.handle.as_deref().or(account.name.as_deref()) {
                    Some(who) if !who.trim().is_empty() => {
                        format!("{} ({})", platform.label(), who.trim())
                    }
                    _ => platform.label().to_owned(),
                };
                self.store.write_blocking(|tx| {
                    archives::set_title(tx, source, &title)?;
                    archives::put(tx, import_id, None, "done", &counts, None, finished)
                })?;
                self.store.touch();
            }
            Err(err) => {
                let message = match &err {
                    ArchiveError::Stopped => run_error_text(&counts),
                    other => other.to_string(),
                };
                self.store.write_blocking(|tx| {
                    archives::put(
                        tx,
                        import_id,
                        None,
                        "failed",
                        &counts,
                        Some(&message),
                        finished,
                    )
                })?;
                self.store.touch();
                return Err(match err {
                    ArchiveError::Stopped => ImportError::Archive(ArchiveError::Malformed {
                        file: name.to_owned(),
                        message,
                    }),
                    other => other.into(),
                });
            }
        }
        Ok(self
            .store
            .read_blocking(|conn| archives::get(conn, import_id))?
            .expect("the run's row was written above"))
    }
}

fn run_error_text(counts: &Counts) -> String {
    counts
        .reasons
        .keys()
        .find(|reason| reason.starts_with("store:"))
        .cloned()
        .unwrap_or_else(|| "the import stopped".to_owned())
}

/// Names of the files an unrecognized archive holds, for the error.
fn describe(files: &ArchiveFiles) -> String {
    let names = files.names();
    let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    match names.len() {
        0 => "it holds no files".to_owned(),
        n if n > shown.len() => format!(
            "it holds {}, and {} more",
            shown.join(", "),
            n - shown.len()
        ),
        _ => format!("it holds {}", shown.join(", ")),
    }
}

struct Run<'a> {
    importer: &'a ArchiveImporter,
    user: UserId,
    source: SourceId,
    import_id: i64,
    counts: Counts,
    batch: Vec<Post>,
    media_files: &'a mut ArchiveFiles,
    progress: &'a mut dyn FnMut(&Counts),
    media_reasons: usize,
}

impl Run<'_> {
    fn take(&mut self, entry: Entry) -> Result<(), ArchiveError> {
        match entry {
            Entry::Post(post) => {
                self.batch.push(*post);
                if self.batch.len() >= BATCH {
                    self.flush()?;
                }
            }
            Entry::Skipped { reason, .. } => self.skip(&reason),
        }
        Ok(())
    }

    fn skip(&mut self, reason: &SkipReason) {
        self.counts.skipped += 1;
        let mut words = reason.in_words();
        if self.counts.reasons.len() >= MAX_REASONS && !self.counts.reasons.contains_key(&words) {
            words = "other reasons".to_owned();
        }
        *self.counts.reasons.entry(words).or_default() += 1;
    }

    /// Stores the batch in one transaction.
    fn flush(&mut self) -> Result<(), ArchiveError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let posts = std::mem::take(&mut self.batch);
        let importer = self.importer;
        let store = &importer.store;
        let source = self.source;
        let ids: Vec<&str> = posts.iter().map(|post| post.id.as_str()).collect();
        let known = store
            .read_blocking(|conn| archives::known(conn, source, &ids))
            .map_err(|err| self.stop(err))?;
        let now = Utc::now();
        let ctx = NormalizeCtx {
            base_url: None,
            fetched_at: now,
            sanitize_fast_path: importer.sanitize_fast_path,
        };
        let mut items = Vec::with_capacity(posts.len());
        let mut social = Vec::new();
        let media_before = self.counts.media;
        for post in posts {
            if known.contains_key(&post.id) {
                self.counts.present += 1;
                continue;
            }
            let media = self.store_media(&post);
            let has_social = !post.comments.is_empty() || !post.likes.is_empty();
            let (raw, rest) = to_raw(post, media);
            let (item, _warnings) = normalize(raw, &ctx);
            if has_social {
                social.push((item.external_id.clone(), rest));
            }
            items.push(item);
        }
        if self.counts.media > media_before {
            // The batch's files are on disk before the rows that name them commit.
            importer
                .media
                .sync()
                .map_err(|err| self.stop(StoreError::Corrupt(format!("media folder: {err}"))))?;
        }
        let user = self.user;
        let import_id = self.import_id;
        let mut counts = self.counts.clone();
        let n_new = store
            .write_blocking(|tx| {
                let upsert = items::upsert(tx, source, user, &items, now)?;
                history::mark_imported(tx, &upsert.new_ids)?;
                for (external_id, rest) in &social {
                    let Some((item, _)) = archives::item_of(tx, source, external_id)? else {
                        continue;
                    };
                    for comment in &rest.comments {
                        archives::add_comment(
                            tx,
                            item,
                            &comment.author_name,
                            comment.author_url.as_ref().map(Url::as_str),
                            &comment.body,
                            comment.published,
                        )?;
                    }
                    for like in &rest.likes {
                        archives::add_like(
                            tx,
                            item,
                            &like.author_name,
                            like.author_url.as_ref().map(Url::as_str),
                            like.published,
                        )?;
                    }
                }
                counts.imported += upsert.new_ids.len() as u64;
                archives::put(tx, import_id, None, "running", &counts, None, now)?;
                Ok(upsert.new_ids.len() as u64)
            })
            .map_err(|err| self.stop(err))?;
        self.counts.imported += n_new;
        (self.progress)(&self.counts);
        Ok(())
    }

    fn stop(&mut self, err: StoreError) -> ArchiveError {
        self.counts.reasons.insert(format!("store: {err}"), 1);
        ArchiveError::Stopped
    }

    /// Each media file of the post into the media store; what could not be stored keeps
    /// the platform's address (if any) and counts as missing.
    fn store_media(&mut self, post: &Post) -> Vec<Media> {
        let mut out = Vec::with_capacity(post.media.len());
        for media in &post.media {
            let stored = match &media.file {
                Some(file) if self.media_files.has(file) => self.put(file),
                Some(file) => Err(format!("{file}: not in the archive")),
                None => Err("not in the archive".to_owned()),
            };
            match stored {
                Ok(mut stored) => {
                    stored.alt = media.alt.clone();
                    self.counts.media += 1;
                    out.push(stored);
                }
                Err(reason) => {
                    self.counts.media_missing += 1;
                    if self.media_reasons < MAX_MEDIA_REASONS && reason != "not in the archive" {
                        self.media_reasons += 1;
                        *self
                            .counts
                            .reasons
                            .entry(format!("media missing: {reason}"))
                            .or_default() += 1;
                    }
                    if let Some(url) = &media.url {
                        let mut kept = Media::at(url.clone());
                        kept.alt = media.alt.clone();
                        out.push(kept);
                    }
                }
            }
        }
        out
    }

    fn put(&mut self, file: &str) -> Result<Media, String> {
        let reader = self
            .media_files
            .open_entry(file)
            .map_err(|e| e.to_string())?;
        let stored = self
            .importer
            .media
            .put_blocking_deferred(self.user, reader, file)
            .map_err(|err| match err {
                MediaError::Refused { .. } | MediaError::TooLarge { .. } => err.to_string(),
                other => format!("{file}: {other}"),
            })?;
        let url = Url::parse(&format!("{}/media/{}", self.importer.base_url, stored.hash))
            .map_err(|err| err.to_string())?;
        let mut media = Media::at(url);
        media.media_type = Some(stored.mime.to_owned());
        media.length = Some(stored.size);
        Ok(media)
    }
}

/// What of a post is stored beside its item.
struct Rest {
    comments: Vec<super::PostComment>,
    likes: Vec<super::PostLike>,
}

/// A post as the raw item normalizing takes, plus its comments and likes.
fn to_raw(post: Post, media: Vec<Media>) -> (RawItem, Rest) {
    let mut raw = RawItem::new(post.id);
    raw.url = post.url;
    raw.title = post.title;
    raw.content = Some(post.content);
    raw.published = Some(post.published);
    raw.kind = post.kind;
    raw.media = media;
    raw.tags = post.tags;
    raw.author = post.author;
    raw.shared_from = post.shared_from;
    raw.in_reply_to = post.in_reply_to_url.clone();
    let text = |value: &str| serde_json::Value::String(value.to_owned());
    if let Some(warning) = post.summary.as_deref().filter(|w| !w.trim().is_empty()) {
        raw.extra.insert("content_warning".into(), text(warning));
    }
    if post.sensitive {
        raw.extra
            .insert("sensitive".into(), serde_json::Value::Bool(true));
    }
    if let Some(via) = post.via.as_deref().filter(|v| !v.trim().is_empty()) {
        raw.extra.insert("via".into(), text(via));
    }
    if let Some(url) = &post.in_reply_to_url {
        raw.extra.insert("reply_to_url".into(), text(url.as_str()));
    }
    if let Some(url) = &post.quote_of {
        raw.extra.insert("quote_url".into(), text(url.as_str()));
    }
    (
        raw,
        Rest {
            comments: post.comments,
            likes: post.likes,
        },
    )
}

/// Every platform has a reader.
pub fn platforms_read() -> Vec<Platform> {
    readers().into_iter().map(|r| r.platform()).collect()
}
