//! Platform archives: the files people download when they leave a service (a Mastodon
//! account export, a Twitter/X archive, a Bluesky repository, FriendFeed's own export, an
//! Instagram export), read into posts for a user's stream.
//!
//! Three layers, each its own concern:
//! - `files.rs`: the container (zip, tar.gz, or one plain file), opened with every check
//!   of a hostile archive done before anything is read: names that leave the archive,
//!   symlinks, declared sizes over the caps, compression ratios of a bomb. Entries are read
//!   through a reader that stops at the declared size and at the cap.
//! - one module per platform (`mastodon.rs`, `twitter.rs`, `bluesky.rs`, `friendfeed.rs`,
//!   `instagram.rs`): pure readers of the platform's files into `Entry` values, streamed
//!   (`json.rs` reads one element of a large JSON array at a time).
//! - `import.rs`: the run. It stores each post through the same normalizing and
//!   sanitizing as a poll, its media through the media store, and keeps an id map per
//!   archive source so a second run (or one resumed after a kill) adds nothing.

pub mod bluesky;
pub mod files;
pub mod friendfeed;
pub mod import;
pub mod instagram;
pub mod json;
pub mod mastodon;
#[doc(hidden)]
pub mod testkit;
pub mod twitter;

use chrono::{DateTime, Utc};
use connectors::{Content, ItemKind, RawAuthor};
use url::Url;

pub use files::{ArchiveFiles, FilesError, Limits};

/// The platforms whose archives Tributary reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Mastodon,
    Twitter,
    Bluesky,
    FriendFeed,
    Instagram,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Mastodon,
        Platform::Twitter,
        Platform::Bluesky,
        Platform::FriendFeed,
        Platform::Instagram,
    ];

    /// The stored name (the archive source's kind).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Mastodon => "mastodon",
            Platform::Twitter => "twitter",
            Platform::Bluesky => "bluesky",
            Platform::FriendFeed => "friendfeed",
            Platform::Instagram => "instagram",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Mastodon => "Mastodon",
            Platform::Twitter => "Twitter",
            Platform::Bluesky => "Bluesky",
            Platform::FriendFeed => "FriendFeed",
            Platform::Instagram => "Instagram",
        }
    }

    pub fn parse(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// What the user chose to bring along.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Mastodon: also followers-only posts (never direct messages).
    pub include_private: bool,
    /// Twitter/X, Mastodon, Bluesky: also replies to other people's posts.
    pub include_replies_to_others: bool,
}

/// One media file of a post.
#[derive(Clone, Debug, PartialEq)]
pub struct PostMedia {
    /// The file's name inside the archive (as `ArchiveFiles::names` gives it), when the
    /// archive holds the file.
    pub file: Option<String>,
    /// Where the platform served it, when known; shown only when the file is missing.
    pub url: Option<Url>,
    /// Alt text.
    pub alt: Option<String>,
}

/// A comment carried by an archive (FriendFeed keeps them), by someone who is not a user
/// here: shown by name.
#[derive(Clone, Debug, PartialEq)]
pub struct PostComment {
    pub author_name: String,
    pub author_url: Option<Url>,
    /// Plain text.
    pub body: String,
    pub published: DateTime<Utc>,
}

/// A like carried by an archive.
#[derive(Clone, Debug, PartialEq)]
pub struct PostLike {
    pub author_name: String,
    pub author_url: Option<Url>,
    pub published: Option<DateTime<Utc>>,
}

/// One post read from an archive.
#[derive(Clone, Debug, PartialEq)]
pub struct Post {
    /// The platform's own id of the post (a status URI, a tweet id, a record's `at://`
    /// URI, an entry id): the key of the id map, stable between runs.
    pub id: String,
    /// The post's address on its platform.
    pub url: Option<Url>,
    pub published: DateTime<Utc>,
    pub title: Option<String>,
    /// The text: HTML (sanitized later, like any foreign HTML) or plain text. Entities and
    /// links already resolved by the reader (t.co expanded, facets turned into links).
    pub content: Content,
    /// A content warning.
    pub summary: Option<String>,
    pub sensitive: bool,
    /// `Note` for text, `Photo`/`Video` when media is the point, `Share` for a repost.
    pub kind: ItemKind,
    /// For a share: whose post it was.
    pub shared_from: Option<RawAuthor>,
    /// The author, when it is not the archive's owner (FriendFeed entries).
    pub author: Option<RawAuthor>,
    /// The platform id of the post this one answers, when that post is the owner's own
    /// (a thread); readers emit parents before their replies.
    pub reply_to: Option<String>,
    /// The address of the post this one answers.
    pub in_reply_to_url: Option<Url>,
    /// For a quote: the quoted post's address.
    pub quote_of: Option<Url>,
    /// "via" of the platform (FriendFeed's `via.name`, Twitter's client).
    pub via: Option<String>,
    pub media: Vec<PostMedia>,
    pub tags: Vec<String>,
    pub comments: Vec<PostComment>,
    pub likes: Vec<PostLike>,
}

impl Post {
    /// A plain note with the given id, date and text; the rest empty.
    pub fn note(id: impl Into<String>, published: DateTime<Utc>, content: Content) -> Post {
        Post {
            id: id.into(),
            url: None,
            published,
            title: None,
            content,
            summary: None,
            sensitive: false,
            kind: ItemKind::Note,
            shared_from: None,
            author: None,
            reply_to: None,
            in_reply_to_url: None,
            quote_of: None,
            via: None,
            media: Vec::new(),
            tags: Vec::new(),
            comments: Vec::new(),
            likes: Vec::new(),
        }
    }
}

/// Why a record of the archive was not imported.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A direct message: never imported.
    Direct,
    /// Followers-only (Mastodon) or otherwise not public, left out unless asked for.
    Private,
    /// A reply to someone else's post, left out unless asked for.
    ReplyToOther,
    /// A record kind Tributary does not show (a like, a follow, a poll vote…), named.
    Unsupported(String),
    /// A record that does not read: what is wrong with it.
    Invalid(String),
}

impl SkipReason {
    pub fn in_words(&self) -> String {
        match self {
            SkipReason::Direct => "direct message".to_owned(),
            SkipReason::Private => "not public".to_owned(),
            SkipReason::ReplyToOther => "reply to someone else".to_owned(),
            SkipReason::Unsupported(what) => format!("not imported: {what}"),
            SkipReason::Invalid(why) => format!("unreadable: {why}"),
        }
    }
}

/// What a reader hands over, one record at a time, in archive order.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Post(Box<Post>),
    Skipped { id: String, reason: SkipReason },
}

/// Who the archive belongs to, as far as it says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Account {
    /// `@ana@mastodon.example`, `@ana`, `ana.bsky.social`.
    pub handle: Option<String>,
    pub name: Option<String>,
    pub url: Option<Url>,
}

/// Errors of an archive as a whole (a bad record is an `Entry::Skipped` instead).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Files(#[from] FilesError),
    /// The archive is not the platform's, or lacks the file that holds the posts.
    #[error("{0}")]
    NotThisArchive(String),
    /// A file the platform writes does not read.
    #[error("{file}: {message}")]
    Malformed { file: String, message: String },
    /// The consumer stopped the run (its error is kept by the consumer).
    #[error("stopped")]
    Stopped,
}

/// A platform's reader. `read` emits every record, in an order where a thread's parent
/// comes before its replies, and returns the account.
pub trait Reader {
    fn platform(&self) -> Platform;
    /// Whether the files look like this platform's archive (by the names it holds).
    fn detect(&self, files: &ArchiveFiles) -> bool;
    fn read(
        &self,
        files: &mut ArchiveFiles,
        options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError>;
}
