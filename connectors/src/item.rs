//! RawItem: the shape every connector returns. Everything in it is untrusted; the app
//! sanitizes and normalizes it before storage.

use chrono::{DateTime, Utc};
use url::Url;

#[derive(Clone, Debug, PartialEq)]
pub struct RawItem {
    /// Stable within the source; never empty, never random.
    pub external_id: String,
    /// Permalink, absolute.
    pub url: Option<Url>,
    /// Plain text, untrusted.
    pub title: Option<String>,
    /// Untrusted; sanitized later by the app.
    pub content: Option<Content>,
    pub summary: Option<Content>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub author: Option<RawAuthor>,
    pub kind: ItemKind,
    /// Enclosures, images, thumbnails.
    pub media: Vec<Media>,
    pub tags: Vec<String>,
    pub in_reply_to: Option<Url>,
    /// Small site facts: score, repo, counts.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// For a share (a repost, a boost): who wrote the original.
    pub shared_from: Option<RawAuthor>,
}

impl RawItem {
    pub fn new(external_id: impl Into<String>) -> RawItem {
        RawItem {
            external_id: external_id.into(),
            url: None,
            title: None,
            content: None,
            summary: None,
            published: None,
            updated: None,
            author: None,
            kind: ItemKind::Note,
            media: Vec::new(),
            tags: Vec::new(),
            in_reply_to: None,
            extra: serde_json::Map::new(),
            shared_from: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    Html(String),
    Text(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawAuthor {
    pub name: Option<String>,
    pub url: Option<Url>,
    pub avatar: Option<Url>,
}

/// What an item is, as shown on the page.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    #[default]
    Note,
    Article,
    Photo,
    Video,
    Audio,
    Link,
    Code,
    Event,
    Share,
    Comment,
    Like,
}

impl ItemKind {
    pub const ALL: [ItemKind; 11] = [
        ItemKind::Note,
        ItemKind::Article,
        ItemKind::Photo,
        ItemKind::Video,
        ItemKind::Audio,
        ItemKind::Link,
        ItemKind::Code,
        ItemKind::Event,
        ItemKind::Share,
        ItemKind::Comment,
        ItemKind::Like,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Note => "note",
            ItemKind::Article => "article",
            ItemKind::Photo => "photo",
            ItemKind::Video => "video",
            ItemKind::Audio => "audio",
            ItemKind::Link => "link",
            ItemKind::Code => "code",
            ItemKind::Event => "event",
            ItemKind::Share => "share",
            ItemKind::Comment => "comment",
            ItemKind::Like => "like",
        }
    }

    pub fn parse(name: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// A picture, video, audio file or other attachment of an item.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Media {
    pub url: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Url>,
    /// Alt text, plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

impl Media {
    /// A media file known only by its address.
    pub fn at(url: Url) -> Media {
        Media {
            url,
            media_type: None,
            width: None,
            height: None,
            length: None,
            thumbnail: None,
            alt: None,
        }
    }
}
