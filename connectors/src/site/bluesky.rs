//! `bluesky`: a Bluesky account's posts from the public AppView
//! (`app.bsky.feed.getAuthorFeed`). The handle is resolved to its DID once, and the DID is
//! what is polled (handles can change). Images keep their alt text, link cards become
//! links, reposts become shares with the original author, quote posts quote, and facets
//! (links, mentions, tags) are rendered as links. Older posts are walked by `cursor`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{ListShape, Listed, escape_html, get_json, poll_list, s};
use crate::http::FetchRequest;
use crate::item::{Content, ItemKind, Media, RawAuthor, RawItem};
use crate::params::required;
use crate::{
    ConnectorError, ConnectorInfo, Http, Poll, PollState, SourceAddresses, TypedConnector,
};

pub const API_BASE: &str = "https://public.api.bsky.app/xrpc";
/// Posts per request (the API allows 1–100).
pub const LIMIT: u32 = 50;
/// Images kept per post (Bluesky allows four).
const MAX_IMAGES: usize = 4;
/// Longest cursor we send back.
const MAX_CURSOR_CHARS: usize = 512;

/// A handle is a domain name: labels of letters, digits and hyphens, at least two.
fn is_handle(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    text.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()))
}

fn is_did(text: &str) -> bool {
    let rest = text
        .strip_prefix("did:plc:")
        .or_else(|| text.strip_prefix("did:web:"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 200
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-%".contains(&b))
    })
}

/// A Bluesky source: the handle (or DID) a person gave, and the DID it resolved to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorParams {
    #[serde(default)]
    pub actor: String,
    /// Stored after the first poll resolved the handle; left out when `actor` is a DID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
}

impl ActorParams {
    fn new(actor: &str) -> ActorParams {
        ActorParams {
            actor: actor.to_ascii_lowercase(),
            did: None,
        }
    }

    /// The DID to poll, when it is known without resolving the handle.
    fn known_did(&self) -> Option<&str> {
        self.did
            .as_deref()
            .or_else(|| is_did(&self.actor).then_some(self.actor.as_str()))
    }
}

pub struct BlueskyConnector;

const LIST: ListShape = ListShape {
    pointer: "/feed",
    element: "post",
    missing: "has no uri, author or date",
    no_list: "the answer has no `feed` list",
};

#[async_trait::async_trait]
impl TypedConnector for BlueskyConnector {
    type Params = ActorParams;

    fn info(&self) -> ConnectorInfo {
        ConnectorInfo {
            kind: "bluesky",
            title: "Bluesky",
            description: "A Bluesky account's posts and reposts, with images and link cards",
            params: vec![required("actor", "Bluesky handle (ana.bsky.social) or DID")],
            default_schedule: None,
            can_backfill: true,
            example_input: "@ana.bsky.social",
        }
    }

    fn recognize(&self, input: &str) -> Option<ActorParams> {
        let input = input.trim();
        // `@ana.bsky.social` or a custom-domain handle `@ana.example`; `@ana@host` is a
        // fediverse address and is left alone.
        if let Some(handle) = input.strip_prefix('@') {
            return (!handle.contains('@') && is_handle(handle)).then(|| ActorParams::new(handle));
        }
        if input.starts_with("did:") {
            return is_did(input).then(|| ActorParams::new(input));
        }
        let lower = input.to_ascii_lowercase();
        if !lower.contains('/') && lower.ends_with(".bsky.social") && is_handle(&lower) {
            return Some(ActorParams::new(&lower));
        }
        let url = super::site_url(input, "bsky.app")?;
        match super::segments(&url).as_slice() {
            [profile, actor] | [profile, actor, ..]
                if profile == "profile" && (is_handle(actor) || is_did(actor)) =>
            {
                Some(ActorParams::new(actor))
            }
            _ => None,
        }
    }

    /// The actor without `@`, lower-cased; a stored DID that is not one is forgotten (the
    /// handle is resolved again).
    fn check(&self, params: ActorParams) -> Result<ActorParams, ConnectorError> {
        let actor = params
            .actor
            .trim()
            .trim_start_matches('@')
            .to_ascii_lowercase();
        if actor.is_empty() {
            return Err(ConnectorError::Unsupported(
                "needs an `actor` parameter: a Bluesky handle such as ana.bsky.social".into(),
            ));
        }
        if !is_handle(&actor) && !is_did(&actor) {
            return Err(ConnectorError::Unsupported(format!(
                "`{actor}` is not a Bluesky handle or DID"
            )));
        }
        let did = params.did.filter(|did| is_did(did) && *did != actor);
        Ok(ActorParams { actor, did })
    }

    /// The account's profile page on bsky.app.
    fn addresses(&self, params: &ActorParams) -> SourceAddresses {
        SourceAddresses {
            feed: None,
            page: profile_url(&params.actor),
        }
    }

    async fn poll(
        &self,
        http: &dyn Http,
        params: &ActorParams,
        state: &PollState,
    ) -> Result<Poll, ConnectorError> {
        let (did, new_params) = match params.known_did() {
            Some(did) => (did.to_owned(), None),
            None => {
                let did = resolve_handle(http, &params.actor).await?;
                let resolved = ActorParams {
                    actor: params.actor.clone(),
                    did: Some(did.clone()),
                };
                (did, serde_json::to_value(resolved).ok())
            }
        };
        let mut poll = fetch(http, &did, None, state).await?;
        poll.new_params = new_params;
        Ok(poll)
    }

    async fn poll_page(
        &self,
        http: &dyn Http,
        params: &ActorParams,
        page: &Value,
    ) -> Result<Poll, ConnectorError> {
        let did = match params.known_did() {
            Some(did) => did.to_owned(),
            None => resolve_handle(http, &params.actor).await?,
        };
        let cursor = page
            .get("cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty() && c.len() <= MAX_CURSOR_CHARS)
            .ok_or_else(|| ConnectorError::Unsupported("no cursor to page with".into()))?;
        fetch(http, &did, Some(cursor), &PollState::default()).await
    }
}

async fn resolve_handle(http: &dyn Http, handle: &str) -> Result<String, ConnectorError> {
    let mut url = super::api_url(API_BASE, "/com.atproto.identity.resolveHandle")?;
    url.query_pairs_mut().append_pair("handle", handle);
    let (_, body) = get_json(http, FetchRequest::new(url, "application/json"))
        .await
        .map_err(|err| match err {
            ConnectorError::Status(400) => {
                ConnectorError::Invalid(format!("Bluesky does not know the handle {handle}"))
            }
            other => other,
        })?;
    s(&body, "/did")
        .filter(|did| is_did(did))
        .map(str::to_owned)
        .ok_or_else(|| ConnectorError::Invalid(format!("no DID for the handle {handle}")))
}

async fn fetch(
    http: &dyn Http,
    did: &str,
    cursor: Option<&str>,
    state: &PollState,
) -> Result<Poll, ConnectorError> {
    let mut url = super::api_url(API_BASE, "/app.bsky.feed.getAuthorFeed")?;
    url.query_pairs_mut()
        .append_pair("actor", did)
        .append_pair("limit", &LIMIT.to_string())
        .append_pair("filter", "posts_and_author_threads");
    if let Some(cursor) = cursor {
        url.query_pairs_mut().append_pair("cursor", cursor);
    }
    let request = FetchRequest::new(url, "application/json");
    let Listed {
        mut poll,
        body,
        n_listed,
        ..
    } = poll_list(http, request, state, &LIST, map_feed_entry).await?;
    if let Some(next) = s(&body, "/cursor").filter(|c| c.len() <= MAX_CURSOR_CHARS)
        && n_listed > 0
    {
        poll.next_page = Some(json!({ "cursor": next }));
    }
    if let Some(author) = body.pointer("/feed/0/post/author")
        && s(author, "/did") == Some(did)
    {
        poll.meta.title = s(author, "/displayName")
            .or(s(author, "/handle"))
            .map(str::to_owned);
        poll.meta.site_url = s(author, "/handle").and_then(profile_url);
        poll.meta.icon = s(author, "/avatar").and_then(super::http_url);
    }
    Ok(poll)
}

fn profile_url(actor: &str) -> Option<Url> {
    Url::parse(&format!("https://bsky.app/profile/{actor}")).ok()
}

/// `at://did/app.bsky.feed.post/rkey` → `https://bsky.app/profile/{handle}/post/{rkey}`.
fn post_url(uri: &str, handle: Option<&str>) -> Option<Url> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let did = parts.next()?;
    let collection = parts.next()?;
    let rkey = parts.next()?;
    if collection != "app.bsky.feed.post" || rkey.is_empty() {
        return None;
    }
    let who = handle.filter(|h| is_handle(h)).unwrap_or(did);
    let mut url = profile_url(who)?;
    url.path_segments_mut().ok()?.push("post").push(rkey);
    Some(url)
}

fn author_of(author: &Value) -> Option<RawAuthor> {
    let handle = s(author, "/handle")?;
    Some(RawAuthor {
        name: Some(
            s(author, "/displayName")
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(handle)
                .to_owned(),
        ),
        url: profile_url(handle),
        avatar: s(author, "/avatar").and_then(super::http_url),
    })
}

/// One entry of `getAuthorFeed` (`{post, reason?}`) as an item.
pub fn map_feed_entry(entry: &Value) -> Option<RawItem> {
    let post = entry.get("post")?;
    let uri = s(post, "/uri")?;
    let author = post.get("author")?;
    let handle = s(author, "/handle");
    let record = post.get("record").cloned().unwrap_or(Value::Null);
    let created = s(&record, "/createdAt")
        .and_then(super::parse_time)
        .or_else(|| s(post, "/indexedAt").and_then(super::parse_time))?;
    let text = s(&record, "/text").unwrap_or("");
    let repost = entry
        .pointer("/reason/$type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("reasonRepost"));

    let mut item = RawItem::new(uri.to_owned());
    item.url = post_url(uri, handle);
    item.published = Some(created);
    item.author = author_of(author);
    item.title = super::title_from_text(text, super::MAX_TITLE_CHARS);
    let mut html = render_facets(text, record.get("facets"));
    item.kind = ItemKind::Note;
    for (key, pointer) in [
        ("replies", "/replyCount"),
        ("reposts", "/repostCount"),
        ("likes", "/likeCount"),
        ("quotes", "/quoteCount"),
    ] {
        if let Some(count) = super::n(post, pointer) {
            item.extra.insert(key.into(), count.into());
        }
    }
    if let Some(parent) = s(&record, "/reply/parent/uri") {
        item.in_reply_to = post_url(parent, None);
    }
    if let Some(embed) = post.get("embed") {
        embed_into(embed, &mut item, &mut html);
    }
    if let Some(tags) = record.get("tags").and_then(Value::as_array) {
        item.tags = tags
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    if !html.is_empty() {
        item.content = Some(Content::Html(html));
    }
    if repost {
        // The repost itself is the item: who reposted is the source's owner; the original
        // author is kept apart.
        let by = entry.pointer("/reason/by");
        let at = s(entry, "/reason/indexedAt").and_then(super::parse_time);
        item.external_id = format!("repost:{uri}");
        item.kind = ItemKind::Share;
        item.shared_from = item.author.take();
        item.author = by.and_then(author_of);
        if let Some(at) = at {
            item.published = Some(at);
        }
        let original = item
            .shared_from
            .as_ref()
            .and_then(|a| a.name.clone())
            .unwrap_or_else(|| "someone".into());
        item.title = Some(match super::title_from_text(text, super::MAX_TITLE_CHARS) {
            Some(text) => format!("Reposted {original}: {text}"),
            None => format!("Reposted {original}"),
        });
    }
    Some(item)
}

/// Adds an embed (images, a link card, a quoted post, or media with a quote) to the item.
fn embed_into(embed: &Value, item: &mut RawItem, html: &mut String) {
    let kind = s(embed, "/$type").unwrap_or("");
    if kind.starts_with("app.bsky.embed.images") {
        let images = embed.get("images").and_then(Value::as_array);
        for image in images.into_iter().flatten().take(MAX_IMAGES) {
            let Some(full) = s(image, "/fullsize").and_then(super::http_url) else {
                continue;
            };
            item.media.push(Media {
                url: full,
                media_type: Some("image/jpeg".into()),
                width: super::n(image, "/aspectRatio/width").and_then(|w| u32::try_from(w).ok()),
                height: super::n(image, "/aspectRatio/height").and_then(|h| u32::try_from(h).ok()),
                length: None,
                thumbnail: s(image, "/thumb").and_then(super::http_url),
                alt: s(image, "/alt").map(str::to_owned),
            });
        }
        if !item.media.is_empty() {
            item.kind = ItemKind::Photo;
        }
    } else if kind.starts_with("app.bsky.embed.video") {
        if let Some(playlist) = s(embed, "/playlist").and_then(super::http_url) {
            item.media.push(Media {
                url: playlist,
                media_type: Some("application/x-mpegURL".into()),
                width: super::n(embed, "/aspectRatio/width").and_then(|w| u32::try_from(w).ok()),
                height: super::n(embed, "/aspectRatio/height").and_then(|h| u32::try_from(h).ok()),
                length: None,
                thumbnail: s(embed, "/thumbnail").and_then(super::http_url),
                alt: s(embed, "/alt").map(str::to_owned),
            });
            item.kind = ItemKind::Video;
        }
    } else if kind.starts_with("app.bsky.embed.external") {
        if let Some(link) = s(embed, "/external/uri").and_then(super::http_url) {
            let title = s(embed, "/external/title")
                .unwrap_or(link.as_str())
                .to_owned();
            html.push_str(&format!(
                "<blockquote><p><a href=\"{}\">{}</a></p>",
                escape_html(link.as_str()),
                escape_html(&title)
            ));
            if let Some(description) = s(embed, "/external/description") {
                html.push_str(&format!("<p>{}</p>", escape_html(description)));
            }
            html.push_str("</blockquote>");
            if let Some(thumb) = s(embed, "/external/thumb").and_then(super::http_url) {
                item.media.push(Media {
                    url: thumb,
                    media_type: Some("image/jpeg".into()),
                    width: None,
                    height: None,
                    length: None,
                    thumbnail: None,
                    alt: Some(title),
                });
            }
            item.extra.insert("link".into(), link.as_str().into());
            item.kind = ItemKind::Link;
        }
    } else if kind.starts_with("app.bsky.embed.recordWithMedia") {
        if let Some(media) = embed.get("media") {
            embed_into(media, item, html);
        }
        if let Some(record) = embed.pointer("/record/record") {
            quote_into(record, item, html);
        }
    } else if kind.starts_with("app.bsky.embed.record")
        && let Some(record) = embed.get("record")
    {
        quote_into(record, item, html);
    }
}

/// A quoted post (`app.bsky.embed.record#viewRecord`) as a blockquote.
fn quote_into(record: &Value, item: &mut RawItem, html: &mut String) {
    let Some(uri) = s(record, "/uri") else {
        return;
    };
    let handle = s(record, "/author/handle");
    let Some(link) = post_url(uri, handle) else {
        return;
    };
    let who = s(record, "/author/displayName")
        .or(handle)
        .unwrap_or("a post");
    let text = s(record, "/value/text").unwrap_or("");
    html.push_str(&format!(
        "<blockquote><p>{}</p><p>— <a href=\"{}\">{}</a></p></blockquote>",
        escape_html(text).replace('\n', "<br>"),
        escape_html(link.as_str()),
        escape_html(who)
    ));
    item.extra.insert("quoted".into(), link.as_str().into());
}

/// The post's text as HTML with its facets (byte ranges of the UTF-8 text) turned into
/// links. Facets that overlap, run backwards, fall outside the text or split a character
/// are ignored.
pub fn render_facets(text: &str, facets: Option<&Value>) -> String {
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for facet in facets.and_then(Value::as_array).into_iter().flatten() {
        let (Some(start), Some(end)) = (
            super::n(facet, "/index/byteStart"),
            super::n(facet, "/index/byteEnd"),
        ) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            continue;
        };
        if start >= end || text.get(start..end).is_none() {
            continue;
        }
        let Some(feature) = facet
            .get("features")
            .and_then(Value::as_array)
            .and_then(|f| f.first())
        else {
            continue;
        };
        let kind = s(feature, "/$type").unwrap_or("");
        let href = if kind.ends_with("#link") {
            s(feature, "/uri").and_then(super::http_url)
        } else if kind.ends_with("#mention") {
            s(feature, "/did")
                .filter(|d| is_did(d))
                .and_then(profile_url)
        } else if kind.ends_with("#tag") {
            s(feature, "/tag").and_then(|tag| {
                let mut url = Url::parse("https://bsky.app/hashtag").ok()?;
                url.path_segments_mut().ok()?.push(tag);
                Some(url)
            })
        } else {
            None
        };
        if let Some(href) = href {
            spans.push((start, end, href.to_string()));
        }
    }
    spans.sort_by_key(|span| span.0);
    let mut html = String::from("<p>");
    let mut at = 0;
    for (start, end, href) in spans {
        if start < at {
            continue;
        }
        let (Some(before), Some(inner)) = (text.get(at..start), text.get(start..end)) else {
            continue;
        };
        html.push_str(&escape_html(before).replace('\n', "<br>"));
        html.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            escape_html(&href),
            escape_html(inner)
        ));
        at = end;
    }
    html.push_str(&escape_html(text.get(at..).unwrap_or("")).replace('\n', "<br>"));
    html.push_str("</p>");
    if text.is_empty() {
        html.clear();
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_with_bad_offsets_are_ignored() {
        let text = "héllo https://x.example";
        let facets = json!([
            {"index": {"byteStart": 1, "byteEnd": 2}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"}]},
            {"index": {"byteStart": 7, "byteEnd": 99}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://b.example"}]},
            {"index": {"byteStart": -1, "byteEnd": 3}, "features": []},
            {"index": {"byteStart": 7, "byteEnd": 24}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "javascript:alert(1)"}]},
            {"index": {"byteStart": 7, "byteEnd": 24}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.example/"}]}
        ]);
        let html = render_facets(text, Some(&facets));
        assert_eq!(
            html,
            "<p>héllo <a href=\"https://x.example/\">https://x.example</a></p>"
        );
    }

    #[test]
    fn handles_and_dids() {
        assert!(is_handle("ana.bsky.social"));
        assert!(is_handle("example.com"));
        assert!(!is_handle("ana"));
        assert!(!is_handle("ana..social"));
        assert!(!is_handle("1.2.3.4"));
        assert!(is_did("did:plc:abc123"));
        assert!(!is_did("did:plc:"));
        assert!(!is_did("did:key:abc"));
    }
}
