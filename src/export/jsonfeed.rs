//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1) documents of a stream; `next_url`
//! walks to older archive pages as `prev-archive` does in Atom. Pure: no IO.

use std::borrow::Cow;

use serde::Serialize;

use super::uri::uri_text;
use super::{ExportItem, FeedMeta, entry_title, entry_updated, rfc3339, xml_text};

pub const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Debug, Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: Cow<'a, str>,
    feed_url: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<Cow<'a, str>>,
    icon: Cow<'a, str>,
    authors: Vec<Author<'a>>,
    /// JSON Feed 1.1 `hubs`: where to subscribe for real-time notification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Debug, Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: Cow<'a, str>,
}

#[derive(Debug, Serialize)]
struct Author<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<Cow<'a, str>>,
}

#[derive(Debug, Serialize)]
struct JsonItem<'a> {
    id: String,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<String>,
    title: Cow<'a, str>,
    /// JSON Feed 1.1 wants `content_html` or `content_text`: an item without a body
    /// carries its title as text instead of an empty `content_html`.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    summary: Cow<'a, str>,
    date_published: String,
    date_modified: String,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
}

#[derive(Debug, Serialize)]
struct Attachment<'a> {
    url: Cow<'a, str>,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

pub fn json_feed(meta: &FeedMeta, entries: &[ExportItem]) -> Vec<u8> {
    let feed = JsonFeed {
        version: VERSION,
        title: &meta.title,
        home_page_url: uri_text(&meta.alternate_url),
        feed_url: uri_text(&meta.self_url),
        next_url: meta.paging.prev_archive.as_deref().map(uri_text),
        icon: uri_text(&meta.icon_url),
        authors: vec![Author {
            name: &meta.author_name,
            url: Some(&meta.author_url)
                .filter(|url| !url.is_empty())
                .map(|url| uri_text(url)),
        }],
        hubs: meta
            .hub
            .iter()
            .map(|url| Hub {
                kind: "WebSub",
                url: uri_text(url),
            })
            .collect(),
        items: entries.iter().map(|entry| item(meta, entry)).collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&feed).expect("these structs always serialize");
    bytes.push(b'\n');
    bytes
}

fn item<'a>(meta: &FeedMeta, entry: &'a ExportItem) -> JsonItem<'a> {
    let item = &entry.item;
    let item_page = meta.site.item_page(item.id);
    let html = xml_text(item.content.as_str());
    let author = item
        .author_name
        .as_deref()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or(&item.user_name);
    JsonItem {
        id: meta.site.item_tag(item.id),
        url: uri_text(item.url.as_ref().map_or(item_page.as_str(), |u| u.as_str())).into_owned(),
        external_url: item.url.as_ref().map(|_| uri_text(&item_page).into_owned()),
        // The same text as the XML formats carry, so every format reads back alike.
        title: entry_title(item),
        content_text: html.trim().is_empty().then(|| entry_title(item)),
        content_html: Some(html).filter(|html| !html.trim().is_empty()),
        summary: xml_text(&item.summary_text),
        date_published: rfc3339(item.published_at),
        date_modified: rfc3339(entry_updated(item)),
        authors: vec![Author {
            name: author,
            url: None,
        }],
        tags: item
            .tags
            .iter()
            .map(String::as_str)
            .filter(|tag| !tag.trim().is_empty())
            .collect(),
        attachments: item
            .media
            .iter()
            .map(|media| Attachment {
                url: uri_text(media.url.as_str()),
                mime_type: media
                    .media_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
                size_in_bytes: media.length,
            })
            .collect(),
    }
}
