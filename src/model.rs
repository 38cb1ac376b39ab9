//! The app's plain data: id newtypes, users, sources, items, pages. No IO.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

pub use connectors::{ItemKind, Media};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A row of `users`.
    UserId,
    /// A row of `sources`.
    SourceId,
    /// A row of `items`.
    ItemId,
    /// A row of `comments`.
    CommentId,
    /// A row of `actors`: a remote ActivityPub account.
    ActorId,
    /// A row of `deliveries`.
    DeliveryId,
    /// A row of `invites`.
    InviteId,
);

/// HTML that went through `normalize::sanitize`. The only HTML views may emit unescaped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SafeHtml(String);

impl SafeHtml {
    /// Only the sanitizer and the store (reading what the sanitizer wrote) create these.
    pub(crate) fn assume_sanitized(html: String) -> SafeHtml {
        SafeHtml(html)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl maud::Render for SafeHtml {
    fn render(&self) -> maud::Markup {
        maud::PreEscaped(self.0.clone())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub display_name: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
}

/// An item ready for storage: sanitized, absolutized, clamped, capped.
#[derive(Clone, Debug, PartialEq)]
pub struct NewItem {
    pub external_id: String,
    pub url: Option<Url>,
    /// `url` without tracking parameters; the basis of `dedup_key`.
    pub canonical_url: Option<Url>,
    /// Identifies the same post seen through two sources of one user.
    pub dedup_key: String,
    /// Plain text; may be empty.
    pub title: String,
    pub author_name: Option<String>,
    pub author_url: Option<Url>,
    pub content: SafeHtml,
    /// Plain text of the content, for search and excerpts.
    pub summary_text: String,
    pub kind: ItemKind,
    pub media: Vec<Media>,
    pub tags: Vec<String>,
    pub in_reply_to: Option<Url>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    /// SHA-256 over everything stored above; an unchanged hash means nothing to write.
    pub content_hash: [u8; 32],
}

/// A stored item as pages and exports read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: ItemId,
    pub user_id: UserId,
    pub user_name: String,
    /// The user's avatar address as they set it (untrusted: shown only when http(s)).
    pub user_avatar: Option<String>,
    /// The source's fetched icon (a media store hash), when it has one.
    pub source_icon: Option<String>,
    pub source_id: SourceId,
    pub source_kind: String,
    pub source_title: String,
    pub external_id: String,
    pub url: Option<Url>,
    pub title: String,
    pub author_name: Option<String>,
    pub content: SafeHtml,
    pub summary_text: String,
    pub kind: ItemKind,
    pub media: Vec<Media>,
    pub tags: Vec<String>,
    /// Small connector facts (points, comments, rating, a content warning, who a share
    /// came from); untrusted plain values, escaped wherever they are shown.
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub fetched_at: DateTime<Utc>,
    pub bumped_at: DateTime<Utc>,
    /// Who may see it: the more restrictive of its own visibility and its source's.
    pub visibility: Visibility,
    /// The visibility its owner set on the item itself.
    pub own_visibility: Visibility,
}

impl Item {
    /// What pages call the place the item came from ("via …"): the source's title, or
    /// its kind when it has none.
    pub fn source_label(&self) -> &str {
        if self.source_title.trim().is_empty() {
            &self.source_kind
        } else {
            &self.source_title
        }
    }
}

/// A configured source of one user.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub id: SourceId,
    pub user_id: UserId,
    pub user_name: String,
    pub kind: String,
    pub params: serde_json::Value,
    pub title: String,
    /// Normalized 6-field cron expression; empty means the configured default.
    pub schedule: String,
    pub enabled: bool,
    pub state: connectors::PollState,
    pub next_poll_at: DateTime<Utc>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub failure_count: u32,
    pub last_error: Option<String>,
    pub n_items: u64,
    pub created_at: DateTime<Utc>,
    /// Items deleted upstream stay, marked, instead of leaving the stream.
    pub keep_deleted: bool,
    /// The site's icon in the media store (a hash), for a source whose service has no
    /// embedded icon; fetched once and refreshed now and then.
    pub icon_hash: Option<String>,
    /// When the icon was last looked for, found or not.
    pub icon_checked_at: Option<DateTime<Utc>>,
}

impl Source {
    /// The URL in the parameters, for display and host limits.
    pub fn url(&self) -> Option<&str> {
        self.params.get("url").and_then(|v| v.as_str())
    }
}

/// A position in a stream: items strictly older (`before`) or newer (`after`) than this
/// come next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub bumped_at_ms: i64,
    pub id: ItemId,
}

impl Cursor {
    /// Opaque text for URLs: `<millis>-<id>`.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.bumped_at_ms, self.id.0)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (ms, id) = text.split_once('-')?;
        Some(Cursor {
            bumped_at_ms: ms.parse().ok()?,
            id: ItemId(id.parse().ok()?),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next (older) page starts, when there is one.
    pub next: Option<Cursor>,
    /// Where the previous (newer) page ends, when there is one: items strictly newer
    /// than it, read forward from it.
    pub prev: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            bumped_at_ms: 1_700_000_000_123,
            id: ItemId(42),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("x-1"), None);
        assert_eq!(Cursor::decode(""), None);
    }
}

/// Who may see an item or the items of a source. Ordered from the most open: the
/// effective visibility of an item is the most restrictive (`max`) of its own and its
/// source's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Visibility {
    /// Everyone, signed in or not, feeds and the fediverse.
    #[default]
    Public,
    /// The owner, and the local users who follow the owner and whom the owner follows
    /// back.
    Friends,
    /// The owner only.
    Private,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Visibility::Public, Visibility::Friends, Visibility::Private];

    /// The stored number (`items.visibility`, `sources.visibility`).
    pub fn as_i64(self) -> i64 {
        match self {
            Visibility::Public => 0,
            Visibility::Friends => 1,
            Visibility::Private => 2,
        }
    }

    /// The stored number back; an unknown one is the most restrictive.
    pub fn from_i64(n: i64) -> Visibility {
        match n {
            0 => Visibility::Public,
            1 => Visibility::Friends,
            _ => Visibility::Private,
        }
    }

    /// The form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Friends => "friends",
            Visibility::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Visibility> {
        Visibility::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// What the owner's forms call it.
    pub fn label(self) -> &'static str {
        match self {
            Visibility::Public => "Everyone",
            Visibility::Friends => "Friends only",
            Visibility::Private => "Only you",
        }
    }

    /// The badge the owner sees on an item, none for a public one.
    pub fn badge(self) -> Option<&'static str> {
        match self {
            Visibility::Public => None,
            Visibility::Friends => Some("Friends only"),
            Visibility::Private => Some("Only you"),
        }
    }
}
