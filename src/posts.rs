//! Posts written in Tributary itself, and shares: the one path the web's compose box and
//! `tributary post` take. A post is an item of its author's native source (made on first
//! use, never polled): a message (plain text, stored as escaped HTML with its links made
//! clickable), a link with its preview (`preview`), or photos (`photos`, stored in the
//! media store). A share is such an item too, naming the item it shares. Each goes through
//! `normalize` (so the one sanitizer) and `items::upsert` like a polled item, and is
//! queued for fediverse followers in the same transaction: `Create` on post, `Update` on
//! edit, `Delete` on delete. Never touches axum.

pub mod photos;
pub mod preview;

use std::io::Cursor;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use connectors::{Content, Http, ItemKind, Media, RawItem};
use url::Url;

use crate::config::Config;
use crate::media::{MediaError, MediaRef, MediaStore};
use crate::model::{Item, ItemId, User, UserId};
use crate::normalize::text::push_escaped;
use crate::normalize::{NormalizeCtx, normalize, sanitize};
use crate::store::social::ItemState;
use crate::store::{Store, StoreError, federation, items, posts as post_rows, social};

/// The longest message, in characters (after trimming).
pub const MAX_POST_CHARS: usize = 2_000;
/// The longest comment a share carries, in characters.
pub const MAX_SHARE_COMMENT_CHARS: usize = 1_000;
/// The longest alt text of a photo, in characters.
pub const MAX_ALT_CHARS: usize = 1_000;
/// The longest link, in bytes.
pub const MAX_LINK_BYTES: usize = 2_048;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Something the person sent cannot be posted; the message says what, as a sentence.
    #[error("{0}")]
    Input(String),
    #[error("not found")]
    NotFound,
    #[error("only its author may change this post")]
    Forbidden,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Media(MediaError),
}

impl From<StoreError> for PostError {
    fn from(err: StoreError) -> PostError {
        match err {
            StoreError::NotFound => PostError::NotFound,
            other => PostError::Store(other),
        }
    }
}

impl From<MediaError> for PostError {
    fn from(err: MediaError) -> PostError {
        match err {
            err @ (MediaError::TooLarge { .. }
            | MediaError::OverUserCap { .. }
            | MediaError::Refused { .. }) => PostError::Input(format!("{err}.")),
            other => PostError::Media(other),
        }
    }
}

/// One uploaded photo with its alt text.
#[derive(Clone, Debug, Default)]
pub struct PhotoUpload {
    /// The file's name as sent, for messages only.
    pub name: String,
    pub bytes: Vec<u8>,
    pub alt: String,
}

/// What the compose box (or the command line) sends.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub text: String,
    pub link: String,
    pub photos: Vec<PhotoUpload>,
    /// The author chose to post photos without alt text.
    pub without_alt: bool,
}

/// Whether `viewer` may share `item`: somebody else's item that everyone may see, and
/// not itself a share (share the original). Per-item visibility will narrow this.
pub fn may_share(viewer: &User, item: &Item, state: ItemState) -> bool {
    state.is_public() && item.user_id != viewer.id && !is_share(item)
}

/// Whether `viewer` may edit or delete `item`: their own native post or share.
pub fn may_change(viewer: &User, item: &Item) -> bool {
    item.user_id == viewer.id && is_native(item)
}

/// Whether `item` was posted in Tributary (its source is a native one).
pub fn is_native(item: &Item) -> bool {
    item.source_kind == post_rows::NATIVE_KIND
}

/// Whether `item` is a native share.
pub fn is_share(item: &Item) -> bool {
    is_native(item) && item.extra.contains_key("share_of")
}

/// The message as it is stored: trimmed, `\n` line ends, no control characters but line
/// breaks and tabs, at most `max` characters. May be empty.
pub fn validate_text(text: &str, max: usize) -> Result<String, PostError> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let cleaned: String = normalized
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let trimmed = cleaned.trim();
    let n_chars = trimmed.chars().count();
    if n_chars > max {
        return Err(PostError::Input(format!(
            "A post is at most {max} characters (this one has {n_chars})."
        )));
    }
    Ok(trimmed.to_owned())
}

/// HTML for a message: escaped, blank lines start paragraphs, line breaks become `<br>`,
/// http(s) addresses become links; then sanitized like every stored HTML.
pub fn text_html(text: &str) -> crate::model::SafeHtml {
    let mut html = String::with_capacity(text.len() + text.len() / 4);
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        for (line_idx, line) in paragraph.trim().split('\n').enumerate() {
            if line_idx > 0 {
                html.push_str("<br>");
            }
            push_linked(&mut html, line.trim());
        }
        html.push_str("</p>");
    }
    sanitize(&html, None)
}

/// `line` escaped, with its http(s) addresses as links.
fn push_linked(html: &mut String, line: &str) {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    for span in finder.spans(line) {
        let web = span.kind().is_some()
            && Url::parse(span.as_str()).is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
        if web {
            html.push_str("<a href=\"");
            push_escaped(html, span.as_str());
            html.push_str("\">");
            push_escaped(html, span.as_str());
            html.push_str("</a>");
        } else {
            push_escaped(html, span.as_str());
        }
    }
}

/// The link a post names: an http(s) address, or none when the field is empty.
pub fn parse_link(text: &str) -> Result<Option<Url>, PostError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let refused =
        || PostError::Input("The link must be a web address (http:// or https://).".into());
    if text.len() > MAX_LINK_BYTES {
        return Err(PostError::Input(format!(
            "The link is longer than {MAX_LINK_BYTES} characters."
        )));
    }
    let url = Url::parse(text).map_err(|_| refused())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refused());
    }
    Ok(Some(url))
}

/// The posts service. Cheap to clone.
#[derive(Clone)]
pub struct Posts {
    store: Store,
    media: MediaStore,
    http: Arc<dyn Http>,
    /// Stored media are at `{base_url}/media/{hash}`.
    base_url: String,
    sanitize_fast_path: bool,
}

impl Posts {
    pub fn new(store: Store, media: MediaStore, http: Arc<dyn Http>, config: &Config) -> Posts {
        Posts {
            store,
            media,
            http,
            base_url: config.base_url(),
            sanitize_fast_path: config.normalize.sanitize_fast_path,
        }
    }

    /// Posts `draft` as `author`. Every check runs before anything is stored: a refused
    /// photo leaves no file, no media row and no item. A link whose preview cannot be
    /// fetched is posted as a plain link, with the reason kept for its author.
    pub async fn create(&self, author: &User, draft: Draft) -> Result<ItemId, PostError> {
        let text = validate_text(&draft.text, MAX_POST_CHARS)?;
        let link = parse_link(&draft.link)?;
        if text.is_empty() && link.is_none() && draft.photos.is_empty() {
            return Err(PostError::Input(
                "Write something, add a link or choose a photo.".into(),
            ));
        }
        if link.is_some() && !draft.photos.is_empty() {
            return Err(PostError::Input(
                "A post has a link or photos, not both: post them one after the other.".into(),
            ));
        }
        if draft.photos.len() > photos::MAX_PHOTOS {
            return Err(PostError::Input(format!(
                "A post takes at most {} photos.",
                photos::MAX_PHOTOS
            )));
        }
        let mut alts = Vec::with_capacity(draft.photos.len());
        for photo in &draft.photos {
            let alt = crate::normalize::plain_line(&photo.alt, MAX_ALT_CHARS + 1);
            if alt.chars().count() > MAX_ALT_CHARS {
                return Err(PostError::Input(format!(
                    "A photo's description is at most {MAX_ALT_CHARS} characters."
                )));
            }
            if alt.is_empty() && !draft.without_alt {
                return Err(PostError::Input(
                    "Please describe each photo in a few words (its alt text), for people who \
                     cannot see it, or choose to post without descriptions. Choose the photos \
                     again."
                        .into(),
                ));
            }
            alts.push(alt);
        }
        let uploads = draft.photos;
        let processed = tokio::task::spawn_blocking(move || {
            uploads
                .iter()
                .map(|photo| photos::process(&photo.bytes, &photo.name))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|err| PostError::Store(StoreError::Task(err.to_string())))?
        .map_err(|err| PostError::Input(format!("{err}. Nothing was posted.")))?;

        let mut media = Vec::with_capacity(processed.len());
        let mut sizes = Vec::with_capacity(processed.len());
        for (photo, alt) in processed.into_iter().zip(alts) {
            let full = self.put(author.id, photo.full.bytes, "photo").await?;
            let mut stored = self.media_of(&full)?;
            stored.width = Some(photo.full.width);
            stored.height = Some(photo.full.height);
            stored.alt = (!alt.is_empty()).then_some(alt);
            let mut photo_sizes = serde_json::Map::new();
            for (width, encoded) in photo.smaller {
                let copy = self.put(author.id, encoded.bytes, "photo").await?;
                let url = self.url_of(&copy)?;
                if width == photos::WIDTHS[0] {
                    stored.thumbnail = Some(url.clone());
                }
                photo_sizes.insert(width.to_string(), url.as_str().into());
            }
            sizes.push(serde_json::Value::Object(photo_sizes));
            media.push(stored);
        }

        let mut parts = Parts {
            text,
            ..Parts::default()
        };
        if !sizes.is_empty() {
            parts.photo_sizes = Some(serde_json::Value::Array(sizes));
        }
        if let Some(link) = link {
            match preview::fetch(self.http.as_ref(), &link).await {
                Ok(found) => {
                    parts.preview_title = found.title;
                    parts.preview_description = found.description;
                    if let Some(image) = found.image
                        && let Some(stored) = self.preview_image(author.id, &image).await
                    {
                        media.push(stored);
                    }
                }
                Err(reason) => parts.preview_error = Some(reason),
            }
            parts.link = Some(link);
        }
        let kind = if !media.is_empty() && parts.link.is_none() {
            ItemKind::Photo
        } else if parts.link.is_some() {
            ItemKind::Link
        } else {
            ItemKind::Note
        };
        let now = Utc::now();
        let external_id = format!("post-{:016x}", rand::random::<u64>());
        let raw = parts.raw(external_id, kind, media, now, None);
        self.store_new(author.id, raw, None).await
    }

    /// Changes the text of `author`'s post (or the comment of their share); its link,
    /// preview and photos stay. Followers get an `Update`.
    pub async fn edit(&self, author: &User, id: ItemId, text: &str) -> Result<(), PostError> {
        let item = self.changeable(author, id).await?;
        let max = if is_share(&item) {
            MAX_SHARE_COMMENT_CHARS
        } else {
            MAX_POST_CHARS
        };
        let text = validate_text(text, max)?;
        let mut parts = Parts::of(&item);
        if text.is_empty() && parts.link.is_none() && item.media.is_empty() && !is_share(&item) {
            return Err(PostError::Input("Write something first.".into()));
        }
        parts.text = text;
        let raw = parts.raw(
            item.external_id.clone(),
            item.kind,
            item.media.clone(),
            item.published_at,
            Some(Utc::now()),
        );
        let (item_ctx, now) = (self.ctx(), Utc::now());
        let (new_item, _) = normalize(raw, &item_ctx);
        let (source, user) = (item.source_id, item.user_id);
        self.store
            .write(move |tx| {
                let upsert = items::upsert(tx, source, user, &[new_item], now)?;
                federation::queue_items(
                    tx,
                    user,
                    &upsert.updated_ids,
                    federation::Verb::Update,
                    now,
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Deletes `author`'s post or share: tombstoned (followers get a `Delete`); a share's
    /// row goes too, and with it an unread notification of it.
    pub async fn delete(&self, author: &User, id: ItemId) -> Result<(), PostError> {
        self.changeable(author, id).await?;
        let now = Utc::now();
        self.store
            .write(move |tx| {
                items::tombstone(tx, id, now)?;
                post_rows::remove_share(tx, id)?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Shares `original` into `viewer`'s stream with an optional comment; its owner is
    /// notified. A second share of the same item is refused.
    pub async fn share(
        &self,
        viewer: &User,
        original: ItemId,
        comment: &str,
    ) -> Result<ItemId, PostError> {
        let me = viewer.id;
        let (item, state, existing) = self
            .store
            .read(move |conn| {
                Ok((
                    items::get(conn, original)?,
                    social::item_state(conn, original)?,
                    post_rows::share_of(conn, me, original)?,
                ))
            })
            .await?;
        if !state.is_public() && item.user_id != viewer.id {
            return Err(PostError::NotFound);
        }
        if !may_share(viewer, &item, state) {
            return Err(PostError::Input(if item.user_id == viewer.id {
                "Your own items are in your stream already.".into()
            } else if is_share(&item) {
                "This is a share: share the original item instead.".into()
            } else {
                "This item cannot be shared.".into()
            }));
        }
        if existing.is_some() {
            return Err(PostError::Input("You shared this item already.".into()));
        }
        let text = validate_text(comment, MAX_SHARE_COMMENT_CHARS)?;
        let parts = Parts {
            text,
            share_of: Some(serde_json::json!({
                "id": item.id.0,
                "user": item.user_name,
                "title": item.title,
                "url": item.url.as_ref().map(Url::as_str),
            })),
            ..Parts::default()
        };
        let now = Utc::now();
        let external_id = format!("share-{}", item.id);
        let raw = parts.raw(external_id, ItemKind::Share, Vec::new(), now, None);
        self.store_new(viewer.id, raw, Some(original)).await
    }

    /// Takes `viewer`'s share of `original` back (tombstoned, so followers get a
    /// `Delete`). Unsharing what was not shared does nothing.
    pub async fn unshare(&self, viewer: &User, original: ItemId) -> Result<(), PostError> {
        let me = viewer.id;
        let Some(share) = self
            .store
            .read(move |conn| post_rows::share_of(conn, me, original))
            .await?
        else {
            return Ok(());
        };
        let now = Utc::now();
        self.store
            .write(move |tx| {
                items::tombstone(tx, share, now)?;
                post_rows::remove_share(tx, share)?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// `id`, when `author` may edit or delete it.
    pub async fn changeable(&self, author: &User, id: ItemId) -> Result<Item, PostError> {
        let (item, state) = self
            .store
            .read(move |conn| Ok((items::get(conn, id)?, social::item_state(conn, id)?)))
            .await?;
        if item.user_id != author.id && !state.is_public() {
            return Err(PostError::NotFound);
        }
        if state.tombstoned {
            return Err(PostError::NotFound);
        }
        if !may_change(author, &item) {
            return Err(PostError::Forbidden);
        }
        Ok(item)
    }

    fn ctx(&self) -> NormalizeCtx {
        NormalizeCtx {
            base_url: None,
            fetched_at: Utc::now(),
            sanitize_fast_path: self.sanitize_fast_path,
        }
    }

    /// Normalizes and stores a new item of `user`'s native source, queues its `Create`,
    /// and for a share records what it shares (refused when already shared).
    async fn store_new(
        &self,
        user: UserId,
        raw: RawItem,
        shares: Option<ItemId>,
    ) -> Result<ItemId, PostError> {
        let (new_item, _warnings) = normalize(raw, &self.ctx());
        let now = Utc::now();
        let id = self
            .store
            .write(move |tx| {
                let source = post_rows::native_source(tx, user, now)?;
                let upsert = items::upsert(tx, source, user, &[new_item], now)?;
                let id = *upsert
                    .new_ids
                    .first()
                    .ok_or_else(|| StoreError::Conflict("this post exists already".into()))?;
                if let Some(original) = shares
                    && !post_rows::add_share(tx, id, original, user, now)?
                {
                    return Err(StoreError::Conflict("shared already".into()));
                }
                federation::queue_items(tx, user, &[id], federation::Verb::Create, now)?;
                Ok(id)
            })
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => PostError::Input("You shared this item already.".into()),
                other => other.into(),
            })?;
        Ok(id)
    }

    async fn put(&self, user: UserId, bytes: Vec<u8>, name: &str) -> Result<MediaRef, PostError> {
        Ok(self.media.put(user, Cursor::new(bytes), name).await?)
    }

    fn url_of(&self, stored: &MediaRef) -> Result<Url, PostError> {
        Url::parse(&format!("{}/media/{}", self.base_url, stored.hash))
            .map_err(|err| PostError::Store(StoreError::Corrupt(err.to_string())))
    }

    fn media_of(&self, stored: &MediaRef) -> Result<Media, PostError> {
        let mut media = Media::at(self.url_of(stored)?);
        media.media_type = Some(stored.mime.to_owned());
        media.length = Some(stored.size);
        Ok(media)
    }

    /// The preview image, fetched and decoded like a posted photo (so a hostile one is
    /// refused the same way) and stored; `None` when it cannot be.
    async fn preview_image(&self, user: UserId, url: &Url) -> Option<Media> {
        let bytes = match preview::fetch_image(self.http.as_ref(), url).await {
            Ok(bytes) => bytes,
            Err(reason) => {
                tracing::debug!(%url, %reason, "preview image not fetched");
                return None;
            }
        };
        let name = url.to_string();
        let processed = tokio::task::spawn_blocking(move || photos::process(&bytes, &name))
            .await
            .ok()?
            .map_err(|err| tracing::debug!(%url, error = %err, "preview image refused"))
            .ok()?;
        let stored = self
            .put(user, processed.full.bytes, url.as_str())
            .await
            .ok()?;
        let mut media = self.media_of(&stored).ok()?;
        media.width = Some(processed.full.width);
        media.height = Some(processed.full.height);
        if let Some((_, small)) = processed.smaller.into_iter().next()
            && let Ok(copy) = self.put(user, small.bytes, url.as_str()).await
        {
            media.thumbnail = self.url_of(&copy).ok();
        }
        Some(media)
    }
}

/// What a native item is made of, kept in its `extra` so an edit can make it again.
#[derive(Clone, Debug, Default)]
struct Parts {
    text: String,
    link: Option<Url>,
    preview_title: Option<String>,
    preview_description: Option<String>,
    preview_error: Option<String>,
    photo_sizes: Option<serde_json::Value>,
    share_of: Option<serde_json::Value>,
}

impl Parts {
    fn of(item: &Item) -> Parts {
        let text = |key: &str| {
            item.extra
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Parts {
            text: text("post_text").unwrap_or_default(),
            link: text("link").and_then(|link| Url::parse(&link).ok()),
            preview_title: text("preview_title"),
            preview_description: text("preview_description"),
            preview_error: text("preview_error"),
            photo_sizes: item.extra.get("photo_sizes").cloned(),
            share_of: item.extra.get("share_of").cloned(),
        }
    }

    fn raw(
        &self,
        external_id: String,
        kind: ItemKind,
        media: Vec<Media>,
        published: DateTime<Utc>,
        updated: Option<DateTime<Utc>>,
    ) -> RawItem {
        let mut raw = RawItem::new(external_id);
        raw.kind = kind;
        raw.media = media;
        raw.published = Some(published);
        raw.updated = updated;
        let mut html = text_html(&self.text).into_string();
        if let Some(description) = &self.preview_description {
            html.push_str("<blockquote><p>");
            push_escaped(&mut html, description);
            html.push_str("</p></blockquote>");
        }
        raw.content = Some(Content::Html(html));
        if let Some(link) = &self.link {
            raw.url = Some(link.clone());
            raw.title = Some(
                self.preview_title
                    .clone()
                    .unwrap_or_else(|| link.to_string()),
            );
        }
        let extra = &mut raw.extra;
        extra.insert("native".into(), true.into());
        extra.insert("post_text".into(), self.text.clone().into());
        let mut put = |key: &str, value: Option<serde_json::Value>| {
            if let Some(value) = value {
                extra.insert(key.into(), value);
            }
        };
        put("link", self.link.as_ref().map(|l| l.as_str().into()));
        put("preview_title", self.preview_title.clone().map(Into::into));
        put(
            "preview_description",
            self.preview_description.clone().map(Into::into),
        );
        put("preview_error", self.preview_error.clone().map(Into::into));
        put("photo_sizes", self.photo_sizes.clone());
        put("share_of", self.share_of.clone());
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_html(text: &str, expected: &str) {
        assert_eq!(text_html(text).as_str(), expected);
    }

    #[test]
    fn messages_are_escaped_and_links_clickable() {
        check_html(
            "<b>hi</b> & see https://example.org/a?b=1&c=2.",
            "<p>&lt;b&gt;hi&lt;/b&gt; &amp; see <a href=\"https://example.org/a?b=1&amp;c=2\" \
             referrerpolicy=\"no-referrer\" rel=\"noopener noreferrer nofollow\">https://example.org/a?b=1&amp;c=2</a>.</p>",
        );
    }

    #[test]
    fn other_schemes_stay_text() {
        check_html(
            "javascript:alert(1) ftp://x.example",
            "<p>javascript:alert(1) ftp://x.example</p>",
        );
    }

    #[test]
    fn long_messages_are_refused_with_the_count() {
        let long = "x".repeat(MAX_POST_CHARS + 1);
        let err = validate_text(&long, MAX_POST_CHARS).unwrap_err();
        assert!(err.to_string().contains("2001"), "{err}");
        assert_eq!(validate_text(" a\r\nb\u{7} ", 10).unwrap(), "a\nb");
    }

    #[test]
    fn links_must_be_web_addresses() {
        assert!(parse_link("javascript:alert(1)").is_err());
        assert!(parse_link("example.org").is_err());
        assert_eq!(parse_link("  ").unwrap(), None);
        assert!(parse_link("https://example.org/").unwrap().is_some());
    }
}
