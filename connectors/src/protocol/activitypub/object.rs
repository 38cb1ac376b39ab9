//! Mapping ActivityStreams activities and objects to raw items, and the trust rule: an
//! object counts only when its `id` has the origin of the actor whose outbox carried it.
//! Pure: every function here is a function of JSON values.

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use super::json::{
    addressed_to_public, first_id, has_addressing, has_type, http_url, id_of, language_string,
    link_url, plain_text, same_origin, small_number, string, types, values,
};
use crate::item::{Content, ItemKind, Media, RawAuthor, RawItem};

/// Attachments kept per item; the rest are dropped.
pub const MAX_MEDIA_PER_ITEM: usize = 16;
/// Hashtags kept per item.
pub const MAX_TAGS_PER_ITEM: usize = 32;
/// Longest content warning kept, in characters.
pub const MAX_CONTENT_WARNING_CHARS: usize = 500;
/// Poll options listed in a Question's text.
pub const MAX_POLL_OPTIONS: usize = 20;
/// Key in [`RawItem::extra`] holding a content warning (plain text): the page shows the
/// item collapsed behind it.
pub const EXTRA_CONTENT_WARNING: &str = "content_warning";
/// Key in [`RawItem::extra`] naming the original author of a share: `{name, url}`.
pub const EXTRA_SHARED_FROM: &str = "shared_from";

/// Object types mapped to items.
const POST_TYPES: [&str; 8] = [
    "Note", "Article", "Page", "Image", "Video", "Audio", "Event", "Question",
];

/// The person (or group, service…) whose outbox is read.
#[derive(Clone, Debug, PartialEq)]
pub struct Actor {
    pub id: Url,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    /// The profile page.
    pub url: Option<Url>,
    pub icon: Option<Url>,
    pub outbox: Option<Url>,
}

impl Actor {
    /// Reads an actor document. `None` when it has no usable http(s) `id`.
    pub fn from_json(doc: &Value) -> Option<Actor> {
        let id = string(doc, "id").and_then(http_url)?;
        let name = language_string(doc, "name")
            .map(|name| plain_text(name, 200))
            .filter(|name| !name.is_empty());
        Some(Actor {
            name,
            preferred_username: string(doc, "preferredUsername")
                .map(|name| plain_text(name, 200))
                .filter(|name| !name.is_empty()),
            url: values(doc, "url").into_iter().find_map(link_url),
            icon: values(doc, "icon").into_iter().find_map(link_url),
            outbox: first_id(doc, "outbox").and_then(http_url),
            id,
        })
    }

    pub fn author(&self) -> RawAuthor {
        RawAuthor {
            name: self
                .name
                .clone()
                .or_else(|| self.preferred_username.clone()),
            url: self.url.clone().or_else(|| Some(self.id.clone())),
            avatar: self.icon.clone(),
        }
    }
}

/// Why a document did not become an item. `class()` is a stable short name.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// Not JSON, or JSON that is not an object.
    NotJson(String),
    /// An activity or object type that is not a post (Follow, Like, Person, Collection…).
    NotAPost(String),
    /// A Delete, Undo or Tombstone: nothing to show.
    Removed,
    /// No usable `id`, so no stable identity.
    NoId,
    /// The id has another origin than the actor.
    ForeignOrigin(String),
    /// The activity's actor is someone else.
    NotByActor,
    /// A post that names no actor or author (only when classifying a lone document).
    NoAuthor,
    /// Not addressed to the public collection.
    NotPublic,
    /// A reply, and the source does not include replies.
    Reply,
    /// An Announce whose object must be fetched from its own id first.
    NeedsFetch(Url),
    /// That fetch failed (the reason in words).
    Unreachable(String),
}

impl Refusal {
    pub fn class(&self) -> &'static str {
        match self {
            Refusal::NotJson(_) => "not_json",
            Refusal::NotAPost(_) => "not_a_post",
            Refusal::Removed => "removed",
            Refusal::NoId => "no_id",
            Refusal::ForeignOrigin(_) => "foreign_origin",
            Refusal::NotByActor => "not_by_actor",
            Refusal::NoAuthor => "no_author",
            Refusal::NotPublic => "not_public",
            Refusal::Reply => "reply",
            Refusal::NeedsFetch(_) => "needs_fetch",
            Refusal::Unreachable(_) => "unreachable",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotJson(why) => write!(f, "not an ActivityStreams object: {why}"),
            Refusal::NotAPost(kind) => write!(f, "a {kind} is not a post"),
            Refusal::Removed => write!(f, "deleted or undone"),
            Refusal::NoId => write!(f, "no id"),
            Refusal::ForeignOrigin(id) => {
                write!(f, "{id} is not on the actor's server; dropped")
            }
            Refusal::NotByActor => write!(f, "the activity's actor is someone else"),
            Refusal::NoAuthor => write!(f, "a post without an actor or author"),
            Refusal::NotPublic => write!(f, "not public"),
            Refusal::Reply => write!(f, "a reply (replies are not included)"),
            Refusal::NeedsFetch(url) => write!(f, "the shared object must be fetched from {url}"),
            Refusal::Unreachable(why) => write!(f, "cannot fetch the shared object: {why}"),
        }
    }
}

/// What the mapping needs to know about the source.
#[derive(Clone, Debug)]
pub struct MapCtx<'a> {
    pub actor: &'a Actor,
    pub include_replies: bool,
}

/// Maps one outbox entry (an activity, or a bare object) of `ctx.actor`.
pub fn map_entry(entry: &Value, ctx: &MapCtx<'_>) -> Result<RawItem, Refusal> {
    if !entry.is_object() {
        return match entry {
            Value::String(id) => match http_url(id) {
                Some(url) if same_origin(&url, &ctx.actor.id) => Err(Refusal::NeedsFetch(url)),
                Some(url) => Err(Refusal::ForeignOrigin(url.to_string())),
                None => Err(Refusal::NoId),
            },
            _ => Err(Refusal::NotJson(
                "an entry that is not an object".to_owned(),
            )),
        };
    }
    let kinds = types(entry);
    if kinds
        .iter()
        .any(|t| ["Delete", "Undo", "Tombstone"].contains(t))
    {
        return Err(Refusal::Removed);
    }
    if kinds.contains(&"Create") || kinds.contains(&"Update") {
        return map_create(entry, ctx);
    }
    if kinds.contains(&"Announce") {
        return match announced_object(entry, ctx)? {
            AnnouncedObject::Embedded(object) => map_announce(entry, object, ctx),
            AnnouncedObject::Fetch(url) => Err(Refusal::NeedsFetch(url)),
        };
    }
    if kinds.iter().any(|t| POST_TYPES.contains(t)) {
        let id = own_id(entry, ctx)?;
        check_author(entry, ctx)?;
        check_public(None, entry)?;
        check_reply(entry, ctx)?;
        return Ok(map_object(entry, id, ctx.actor));
    }
    Err(Refusal::NotAPost(type_name(&kinds)))
}

fn type_name(kinds: &[&str]) -> String {
    kinds
        .first()
        .map_or("document without a type", |t| t)
        .to_owned()
}

/// The id of the actor's own post (or share) an outbox entry reports deleted: a `Delete`
/// of an object (or a `Tombstone`) on the actor's server, a `Create`/`Update` whose object
/// is a `Tombstone`, an `Undo` of an `Announce`, or a bare `Tombstone`. Entries by someone
/// else, or with ids on another server, report nothing.
pub fn deleted_id(entry: &Value, actor: &Actor) -> Option<String> {
    let kinds = types(entry);
    let own = |value: &Value| {
        id_of(value)
            .and_then(http_url)
            .filter(|url| same_origin(url, &actor.id))
            .map(String::from)
    };
    let by_actor = || match first_id(entry, "actor").and_then(http_url) {
        Some(who) => who == actor.id,
        None => true,
    };
    if kinds.contains(&"Tombstone") {
        return own(entry);
    }
    let object = entry.get("object")?;
    if kinds.contains(&"Delete") && by_actor() {
        return own(object);
    }
    if (kinds.contains(&"Create") || kinds.contains(&"Update"))
        && types(object).contains(&"Tombstone")
        && by_actor()
    {
        return own(object);
    }
    if kinds.contains(&"Undo") && by_actor() && types(object).contains(&"Announce") {
        return own(object);
    }
    if kinds.contains(&"Undo") && by_actor() && object.is_string() {
        // An Undo by reference names the activity undone; a share's id is that
        // activity's id, anything else simply matches no item.
        return own(object);
    }
    None
}

/// A Create (or Update) of one of the actor's own posts.
fn map_create(activity: &Value, ctx: &MapCtx<'_>) -> Result<RawItem, Refusal> {
    check_activity(activity, ctx)?;
    let Some(object) = activity.get("object").filter(|o| o.is_object()) else {
        return match activity.get("object").and_then(id_of).and_then(http_url) {
            Some(url) if same_origin(&url, &ctx.actor.id) => Err(Refusal::NeedsFetch(url)),
            Some(url) => Err(Refusal::ForeignOrigin(url.to_string())),
            None => Err(Refusal::NoId),
        };
    };
    let kinds = types(object);
    if kinds.contains(&"Tombstone") {
        return Err(Refusal::Removed);
    }
    if !kinds.iter().any(|t| POST_TYPES.contains(t)) {
        return Err(Refusal::NotAPost(type_name(&kinds)));
    }
    // The object must be the actor's own: an embedded object with a foreign id is not
    // something this server may vouch for.
    let id = own_id(object, ctx)?;
    check_author(object, ctx)?;
    check_public(Some(activity), object)?;
    check_reply(object, ctx)?;
    Ok(map_object(object, id, ctx.actor))
}

enum AnnouncedObject<'a> {
    Embedded(&'a Value),
    Fetch(Url),
}

/// The object of an Announce: embedded when it is on the actor's own server (rare),
/// otherwise fetched from its own id.
fn announced_object<'a>(
    activity: &'a Value,
    ctx: &MapCtx<'_>,
) -> Result<AnnouncedObject<'a>, Refusal> {
    check_activity(activity, ctx)?;
    if !addressed_to_public(activity) {
        return Err(Refusal::NotPublic);
    }
    let object = activity.get("object").ok_or(Refusal::NoId)?;
    let url = id_of(object).and_then(http_url).ok_or(Refusal::NoId)?;
    if object.is_object() && same_origin(&url, &ctx.actor.id) {
        return Ok(AnnouncedObject::Embedded(object));
    }
    Ok(AnnouncedObject::Fetch(url))
}

/// Maps an Announce once its object is known. `object` is either embedded on the actor's
/// origin or was fetched from its own id (whose origin the caller checked).
pub fn map_announce(
    activity: &Value,
    object: &Value,
    ctx: &MapCtx<'_>,
) -> Result<RawItem, Refusal> {
    let id = string(activity, "id")
        .and_then(http_url)
        .ok_or(Refusal::NoId)?;
    let object_id = string(object, "id")
        .and_then(http_url)
        .ok_or(Refusal::NoId)?;
    let kinds = types(object);
    if kinds.contains(&"Tombstone") {
        return Err(Refusal::Removed);
    }
    if !kinds.iter().any(|t| POST_TYPES.contains(t)) {
        return Err(Refusal::NotAPost(type_name(&kinds)));
    }
    if has_addressing(object) && !addressed_to_public(object) {
        return Err(Refusal::NotPublic);
    }
    let mut item = map_object(object, object_id, ctx.actor);
    item.external_id = id.to_string();
    item.kind = ItemKind::Share;
    item.published = parse_date(activity, "published").or(item.published);
    item.updated = None;
    let original = first_id(object, "attributedTo").and_then(http_url);
    let original_name = values(object, "attributedTo")
        .into_iter()
        .find_map(|author| language_string(author, "name"))
        .map(|name| plain_text(name, 200))
        .filter(|name| !name.is_empty());
    let mut shared = serde_json::Map::new();
    if let Some(name) = original_name.or_else(|| original.as_ref().map(short_actor_name)) {
        shared.insert("name".to_owned(), Value::String(name));
    }
    if let Some(url) = &original {
        shared.insert("url".to_owned(), Value::String(url.to_string()));
    }
    item.extra
        .insert(EXTRA_SHARED_FROM.to_owned(), Value::Object(shared));
    Ok(item)
}

/// `https://host/users/ana` → `ana@host`, for a shared post whose author has no name.
pub fn short_actor_name(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .unwrap_or("");
    match url.host_str() {
        Some(host) if !last.is_empty() => format!("{}@{host}", last.trim_start_matches('@')),
        Some(host) => host.to_owned(),
        None => url.to_string(),
    }
}

/// The activity must have an id on the actor's origin and be the actor's.
fn check_activity(activity: &Value, ctx: &MapCtx<'_>) -> Result<(), Refusal> {
    if let Some(id) = string(activity, "id") {
        let url = http_url(id).ok_or(Refusal::NoId)?;
        if !same_origin(&url, &ctx.actor.id) {
            return Err(Refusal::ForeignOrigin(url.to_string()));
        }
    }
    match first_id(activity, "actor") {
        Some(actor) if actor == ctx.actor.id.as_str() => Ok(()),
        Some(_) => Err(Refusal::NotByActor),
        // Some outboxes leave the actor out of their own activities.
        None => Ok(()),
    }
}

/// The object's own id, which must be on the actor's origin.
fn own_id(object: &Value, ctx: &MapCtx<'_>) -> Result<Url, Refusal> {
    let id = string(object, "id")
        .and_then(http_url)
        .ok_or(Refusal::NoId)?;
    if !same_origin(&id, &ctx.actor.id) {
        return Err(Refusal::ForeignOrigin(id.to_string()));
    }
    Ok(id)
}

fn check_author(object: &Value, ctx: &MapCtx<'_>) -> Result<(), Refusal> {
    let authors: Vec<&str> = values(object, "attributedTo")
        .into_iter()
        .filter_map(id_of)
        .collect();
    // PeerTube attributes a video to its account and its channel; one must be the actor.
    if authors.is_empty() || authors.contains(&ctx.actor.id.as_str()) {
        Ok(())
    } else {
        Err(Refusal::NotByActor)
    }
}

/// Public when every document that carries addressing addresses the public collection,
/// and at least one carries some.
fn check_public(activity: Option<&Value>, object: &Value) -> Result<(), Refusal> {
    let docs: Vec<&Value> = activity
        .into_iter()
        .chain(std::iter::once(object))
        .filter(|doc| has_addressing(doc))
        .collect();
    if !docs.is_empty() && docs.iter().all(|doc| addressed_to_public(doc)) {
        Ok(())
    } else {
        Err(Refusal::NotPublic)
    }
}

fn check_reply(object: &Value, ctx: &MapCtx<'_>) -> Result<(), Refusal> {
    if !ctx.include_replies && first_id(object, "inReplyTo").is_some() {
        return Err(Refusal::Reply);
    }
    Ok(())
}

fn parse_date(doc: &Value, key: &str) -> Option<DateTime<Utc>> {
    string(doc, key)
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
        .map(|date| date.with_timezone(&Utc))
}

/// Maps a post object whose id was checked.
pub fn map_object(object: &Value, id: Url, actor: &Actor) -> RawItem {
    let kinds = types(object);
    let mut item = RawItem::new(id.as_str());
    item.url = permalink(object).or_else(|| Some(id.clone()));
    item.published = parse_date(object, "published");
    item.updated = parse_date(object, "updated");
    item.author = Some(actor.author());
    item.in_reply_to = first_id(object, "inReplyTo").and_then(http_url);

    let is_note = kinds.iter().any(|t| ["Note", "Question"].contains(t));
    if !is_note {
        item.title = language_string(object, "name")
            .map(|name| plain_text(name, 500))
            .filter(|name| !name.is_empty());
    }
    let mut html = language_string(object, "content").map(str::to_owned);
    if kinds.contains(&"Question") {
        html = Some(question_html(object, html.unwrap_or_default()));
    }
    item.content = html.filter(|h| !h.trim().is_empty()).map(Content::Html);

    // Notes carry a content warning in `summary`; long-form objects an abstract.
    let summary = language_string(object, "summary").filter(|s| !s.trim().is_empty());
    let sensitive = object.get("sensitive").and_then(Value::as_bool) == Some(true);
    if is_note || (sensitive && summary.is_some()) {
        let warning = summary
            .map(|s| plain_text(s, MAX_CONTENT_WARNING_CHARS))
            .filter(|s| !s.is_empty());
        if let Some(warning) = warning.or_else(|| sensitive.then(|| "Sensitive content".to_owned()))
        {
            item.extra
                .insert(EXTRA_CONTENT_WARNING.to_owned(), Value::String(warning));
        }
    } else if let Some(summary) = summary {
        item.summary = Some(Content::Html(summary.to_owned()));
        if sensitive {
            item.extra.insert(
                EXTRA_CONTENT_WARNING.to_owned(),
                Value::String("Sensitive content".to_owned()),
            );
        }
    } else if sensitive {
        item.extra.insert(
            EXTRA_CONTENT_WARNING.to_owned(),
            Value::String("Sensitive content".to_owned()),
        );
    }

    item.media = media(object);
    item.tags = hashtags(object);
    item.kind = kind_of(&kinds, &item.media);
    if let Some(start) = string(object, "startTime") {
        item.extra
            .insert("start_time".to_owned(), Value::String(start.to_owned()));
    }
    item
}

fn kind_of(kinds: &[&str], media: &[Media]) -> ItemKind {
    let first_media = media
        .first()
        .and_then(|m| m.media_type.as_deref())
        .and_then(|t| t.split('/').next())
        .unwrap_or("");
    if kinds.contains(&"Video") {
        ItemKind::Video
    } else if kinds.contains(&"Audio") {
        ItemKind::Audio
    } else if kinds.contains(&"Image") {
        ItemKind::Photo
    } else if kinds.contains(&"Event") {
        ItemKind::Event
    } else if kinds.contains(&"Article") || kinds.contains(&"Page") {
        ItemKind::Article
    } else {
        match first_media {
            "image" => ItemKind::Photo,
            "video" => ItemKind::Video,
            "audio" => ItemKind::Audio,
            _ => ItemKind::Note,
        }
    }
}

/// The human-facing URL: an `url` that is a text/html link (or a plain string), else none.
fn permalink(object: &Value) -> Option<Url> {
    let links = values(object, "url");
    links.iter().find_map(|link| match link {
        Value::String(text) => http_url(text),
        Value::Object(_) => {
            let media_type = string(link, "mediaType").unwrap_or("text/html");
            media_type
                .starts_with("text/html")
                .then(|| link_url(link))
                .flatten()
        }
        _ => None,
    })
}

/// A Question's options, appended to its text as a list.
fn question_html(object: &Value, html: String) -> String {
    let options = values(object, "oneOf")
        .into_iter()
        .chain(values(object, "anyOf"))
        .filter_map(|option| language_string(option, "name"));
    with_poll_options(html, options)
}

/// `html` followed by a poll's options as a list of escaped plain text.
pub fn with_poll_options<'a>(mut html: String, options: impl Iterator<Item = &'a str>) -> String {
    let items: String = options
        .take(MAX_POLL_OPTIONS)
        .map(|name| {
            let text = plain_text(name, 200)
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!("<li>{text}</li>")
        })
        .collect();
    if !items.is_empty() {
        html.push_str("<ul>");
        html.push_str(&items);
        html.push_str("</ul>");
    }
    html
}

/// Attachments (`attachment`), and for Video, Audio and Image objects their own `url`
/// links. Alt text is the attachment's `name`.
fn media(object: &Value) -> Vec<Media> {
    let mut media = Vec::new();
    let thumbnail = values(object, "icon").into_iter().find_map(link_url);
    let own_media = ["Video", "Audio", "Image"]
        .iter()
        .any(|t| has_type(object, t));
    if own_media && let Some(found) = own_media_link(object) {
        media.push(Media {
            thumbnail: thumbnail.clone(),
            ..found
        });
    }
    for attachment in values(object, "attachment") {
        if media.len() >= MAX_MEDIA_PER_ITEM {
            break;
        }
        if has_type(attachment, "Link") && string(attachment, "mediaType").is_none() {
            // A Lemmy link post's target, or a PropertyValue: not media.
            continue;
        }
        if has_type(attachment, "PropertyValue") || has_type(attachment, "Hashtag") {
            continue;
        }
        // A link to a web page (Lemmy's link posts) is not media.
        if string(attachment, "mediaType").is_some_and(|t| t.starts_with("text/")) {
            continue;
        }
        let Some(url) = values(attachment, "url")
            .into_iter()
            .find_map(link_url)
            .or_else(|| string(attachment, "href").and_then(http_url))
        else {
            continue;
        };
        let media_type = string(attachment, "mediaType")
            .map(str::to_owned)
            .or_else(|| guess_media_type(attachment));
        media.push(Media {
            url,
            media_type,
            width: small_number(attachment, "width"),
            height: small_number(attachment, "height"),
            length: None,
            thumbnail: values(attachment, "icon").into_iter().find_map(link_url),
            alt: language_string(attachment, "name")
                .map(|alt| plain_text(alt, 1500))
                .filter(|alt| !alt.is_empty()),
        });
    }
    media
}

fn guess_media_type(attachment: &Value) -> Option<String> {
    let kinds = types(attachment);
    let guess = if kinds.contains(&"Image") {
        "image/*"
    } else if kinds.contains(&"Video") {
        "video/*"
    } else if kinds.contains(&"Audio") {
        "audio/*"
    } else {
        return None;
    };
    Some(guess.to_owned())
}

/// The playable file of a Video/Audio/Image object: the first `url` link whose media type
/// is video, audio or image (PeerTube lists several, plus HLS playlists and torrents).
fn own_media_link(object: &Value) -> Option<Media> {
    let mut links: Vec<&Value> = Vec::new();
    for link in values(object, "url") {
        links.push(link);
        // PeerTube nests the files of an HLS playlist in `tag`.
        links.extend(values(link, "tag"));
    }
    links.into_iter().find_map(|link| {
        let media_type = string(link, "mediaType")?;
        let major = media_type.split('/').next().unwrap_or("");
        if !["video", "audio", "image"].contains(&major) {
            return None;
        }
        Some(Media {
            url: link_url(link)?,
            media_type: Some(media_type.to_owned()),
            width: small_number(link, "width"),
            height: small_number(link, "height"),
            length: link.get("size").and_then(Value::as_u64),
            thumbnail: None,
            alt: None,
        })
    })
}

/// Hashtags from `tag`, without the `#`.
fn hashtags(object: &Value) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in values(object, "tag") {
        if !has_type(tag, "Hashtag") {
            continue;
        }
        let Some(name) = string(tag, "name") else {
            continue;
        };
        let name = plain_text(name.trim_start_matches('#'), 100);
        if !name.is_empty() && !tags.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            tags.push(name);
        }
        if tags.len() >= MAX_TAGS_PER_ITEM {
            break;
        }
    }
    tags
}

/// One stored document, classified on its own (the corpus test): parsed, and mapped as if
/// the actor it names were the source, or refused with a reason.
pub fn classify_document(bytes: &[u8]) -> Result<RawItem, Refusal> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|err| Refusal::NotJson(err.to_string()))?;
    if !doc.is_object() {
        return Err(Refusal::NotJson("not a JSON object".to_owned()));
    }
    let actor_id = first_id(&doc, "actor")
        .or_else(|| first_id(&doc, "attributedTo"))
        .and_then(http_url);
    let Some(actor_id) = actor_id else {
        let kinds = types(&doc);
        if kinds.iter().any(|t| POST_TYPES.contains(t)) {
            return Err(Refusal::NoAuthor);
        }
        return Err(Refusal::NotAPost(type_name(&kinds)));
    };
    let actor = Actor {
        id: actor_id,
        name: None,
        preferred_username: None,
        url: None,
        icon: None,
        outbox: None,
    };
    let ctx = MapCtx {
        actor: &actor,
        include_replies: false,
    };
    map_entry(&doc, &ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

    fn ana() -> Actor {
        Actor {
            id: Url::parse("https://social.example/users/ana").unwrap(),
            name: Some("Ana".to_owned()),
            preferred_username: Some("ana".to_owned()),
            url: None,
            icon: None,
            outbox: None,
        }
    }

    #[test]
    fn deletions_of_own_posts_and_shares_are_told_and_foreign_ones_are_not() {
        let actor = ana();
        let own = "https://social.example/users/ana/statuses/1";
        let cases = [
            (
                json!({"type": "Delete", "actor": actor.id.as_str(), "object": own}),
                Some(own),
            ),
            (
                json!({"type": "Delete", "object": {"id": own, "type": "Tombstone"}}),
                Some(own),
            ),
            (json!({"type": "Tombstone", "id": own}), Some(own)),
            (
                json!({"type": "Create", "object": {"id": own, "type": "Tombstone"}}),
                Some(own),
            ),
            (
                json!({"type": "Undo", "object": {"id": own, "type": "Announce"}}),
                Some(own),
            ),
            // Someone else's Delete, an id on another server, an ordinary Create.
            (
                json!({"type": "Delete", "actor": "https://social.example/users/bo", "object": own}),
                None,
            ),
            (
                json!({"type": "Delete", "object": "https://elsewhere.example/statuses/1"}),
                None,
            ),
            (
                json!({"type": "Create", "object": {"id": own, "type": "Note"}}),
                None,
            ),
            (
                json!({"type": "Undo", "object": {"id": own, "type": "Follow"}}),
                None,
            ),
        ];
        for (entry, expected) in cases {
            assert_eq!(deleted_id(&entry, &actor).as_deref(), expected, "{entry}");
        }
    }

    fn map(entry: serde_json::Value) -> Result<RawItem, Refusal> {
        let actor = ana();
        map_entry(
            &entry,
            &MapCtx {
                actor: &actor,
                include_replies: false,
            },
        )
    }

    fn create(object: serde_json::Value) -> serde_json::Value {
        json!({
            "id": "https://social.example/users/ana/statuses/1/activity",
            "type": "Create",
            "actor": "https://social.example/users/ana",
            "to": [PUBLIC],
            "object": object,
        })
    }

    #[test]
    fn own_public_note_maps() {
        let item = map(create(json!({
            "id": "https://social.example/users/ana/statuses/1",
            "type": "Note",
            "content": "<p>hi</p>",
            "sensitive": true,
            "to": PUBLIC,
        })))
        .unwrap();
        assert_eq!(
            item.external_id,
            "https://social.example/users/ana/statuses/1"
        );
        assert_eq!(item.extra[EXTRA_CONTENT_WARNING], "Sensitive content");
        assert_eq!(item.author.unwrap().name.as_deref(), Some("Ana"));
    }

    #[test]
    fn the_trust_rule_and_addressing_refuse() {
        let foreign = map(create(json!({
            "id": "https://evil.example/notes/1", "type": "Note", "to": PUBLIC,
        })));
        assert_eq!(foreign.unwrap_err().class(), "foreign_origin");
        let someone_else = map(json!({
            "id": "https://social.example/activities/2", "type": "Create",
            "actor": "https://social.example/users/bo", "to": PUBLIC,
            "object": { "id": "https://social.example/notes/2", "type": "Note", "to": PUBLIC },
        }));
        assert_eq!(someone_else.unwrap_err().class(), "not_by_actor");
        // The activity is public but the object is for followers only.
        let followers = map(create(json!({
            "id": "https://social.example/users/ana/statuses/3", "type": "Note",
            "to": "https://social.example/users/ana/followers",
        })));
        assert_eq!(followers.unwrap_err().class(), "not_public");
        let reply = map(create(json!({
            "id": "https://social.example/users/ana/statuses/4", "type": "Note",
            "to": PUBLIC, "inReplyTo": "https://other.example/notes/9",
        })));
        assert_eq!(reply.unwrap_err().class(), "reply");
        let boost = map(json!({
            "id": "https://social.example/users/ana/statuses/5/activity", "type": "Announce",
            "actor": "https://social.example/users/ana", "cc": [PUBLIC],
            "object": { "id": "https://other.example/notes/9", "type": "Note", "content": "forged" },
        }));
        assert_eq!(
            boost.unwrap_err(),
            Refusal::NeedsFetch(Url::parse("https://other.example/notes/9").unwrap())
        );
    }

    #[test]
    fn question_lists_its_options_escaped() {
        let item = map(create(json!({
            "id": "https://social.example/users/ana/statuses/6", "type": "Question",
            "content": "<p>Which?</p>", "to": PUBLIC,
            "oneOf": [{ "name": "<b>tea</b>" }, { "name": "a < b" }, { "name": 3 }],
        })))
        .unwrap();
        let Some(Content::Html(html)) = item.content else {
            panic!("no content")
        };
        assert!(html.contains("<li>tea</li>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }
}
