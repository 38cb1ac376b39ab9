//! The ActivityPub, WebFinger and NodeInfo documents Tributary publishes: actors, notes,
//! activities, collections, the discovery documents. Pure: functions of data to JSON (or
//! XML), shared by the web routes and the delivery queue. Ids follow one layout (the
//! actor `B/{user}`, an item `B/e/{id}`, its activities `B/e/{id}#create`, `#update-{ms}`,
//! `#delete`), so a document built twice names the same things.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::{Item, ItemId, ItemKind, Media, User};
use crate::store::federation::Settings;

/// The media type of ActivityPub documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// The media type of WebFinger answers (RFC 7033).
pub const JRD_JSON: &str = "application/jrd+json";
/// NodeInfo 2.1's schema, as a link relation and a profile.
pub const NODEINFO_SCHEMA: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";
/// The media type of a NodeInfo 2.1 document.
pub const NODEINFO_JSON: &str =
    "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"";
/// The public collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// ActivityStreams' context.
pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
/// The security vocabulary (`publicKey`).
pub const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";
/// An item with a title is an `Article` when its text is longer than this (in
/// characters), or when it is an article already; every other item is a `Note`.
pub const ARTICLE_MIN_CHARS: usize = 500;
/// Hashtags published per item.
pub const MAX_HASHTAGS: usize = 32;
/// Attachments published per item.
pub const MAX_ATTACHMENTS: usize = 16;

/// The terms beyond ActivityStreams that Tributary's documents use, named as Mastodon
/// names them, so that servers reading JSON-LD and servers reading plain JSON agree.
fn extensions() -> Value {
    json!({
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "alsoKnownAs": { "@id": "as:alsoKnownAs", "@type": "@id" },
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
    })
}

/// `@context` of actors (they carry a key).
pub fn actor_context() -> Value {
    json!([AS_CONTEXT, SECURITY_CONTEXT, extensions()])
}

/// `@context` of objects, activities and collections.
pub fn context() -> Value {
    json!([AS_CONTEXT, extensions()])
}

/// `B/{user}`: a user's actor id (also their lifestream page).
pub fn actor_id(base: &str, user: &str) -> String {
    format!("{base}/{user}")
}

/// `B/e/{id}`: an item's object id (also its page).
pub fn object_id(base: &str, item: ItemId) -> String {
    format!("{base}/e/{}", item.0)
}

/// `B/{user}/followers`.
pub fn followers_id(base: &str, user: &str) -> String {
    format!("{base}/{user}/followers")
}

/// What a user's actor shows besides the account itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActorProfile<'a> {
    /// Plain text, as the user typed it.
    pub bio: &'a str,
    pub avatar_url: Option<&'a str>,
    /// SPKI PEM.
    pub public_key_pem: &'a str,
    /// (service label, public profile page) of each source that has one, e.g.
    /// `("GitHub", "https://github.com/ana")`.
    pub services: &'a [(String, String)],
}

/// A user's `Person`.
pub fn person(user: &User, profile: &ActorProfile<'_>, settings: &Settings, base: &str) -> Value {
    let id = actor_id(base, &user.name);
    let name = if user.display_name.trim().is_empty() {
        &user.name
    } else {
        &user.display_name
    };
    let mut doc = json!({
        "@context": actor_context(),
        "id": id,
        "type": "Person",
        "preferredUsername": user.name,
        "name": name,
        "summary": text_html(profile.bio),
        "url": id,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": followers_id(base, &user.name),
        "following": format!("{id}/following"),
        "endpoints": { "sharedInbox": format!("{base}/inbox") },
        "publicKey": {
            "id": crate::federation::key_id(base, &user.name),
            "owner": id,
            "publicKeyPem": profile.public_key_pem,
        },
        "manuallyApprovesFollowers": settings.approve_followers,
        "discoverable": true,
        "published": rfc3339(user.created_at),
        "attachment": profile
            .services
            .iter()
            .filter(|(_, url)| is_web_url(url))
            .map(|(label, url)| property_value(label, url))
            .collect::<Vec<_>>(),
        "alsoKnownAs": settings.also_known_as,
    });
    if let Some(avatar) = profile.avatar_url.filter(|url| is_web_url(url)) {
        let mut icon = json!({ "type": "Image", "url": avatar });
        if let Some(media_type) = image_type_of(avatar) {
            icon["mediaType"] = json!(media_type);
        }
        doc["icon"] = icon;
    }
    doc
}

/// A profile field as Mastodon shows it: the label, and a link marked `rel="me"`.
fn property_value(label: &str, url: &str) -> Value {
    let shown = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url)
        .trim_end_matches('/');
    json!({
        "type": "PropertyValue",
        "name": label,
        "value": format!(
            "<a href=\"{}\" rel=\"me nofollow noopener\" target=\"_blank\">{}</a>",
            escape(url),
            escape(shown),
        ),
    })
}

/// Whether an item is published as an `Article` rather than a `Note`.
pub fn is_article(item: &Item) -> bool {
    !item.title.trim().is_empty()
        && (item.kind == ItemKind::Article
            || item.summary_text.chars().nth(ARTICLE_MIN_CHARS).is_some())
}

/// An item as a `Note` (or an `Article`, see [`is_article`]), with `@context`.
pub fn note(item: &Item, owner: &User, base: &str) -> Value {
    let id = object_id(base, item.id);
    let article = is_article(item);
    let original = item
        .url
        .as_ref()
        .filter(|url| matches!(url.scheme(), "http" | "https"));
    let mut content = String::new();
    let title = item.title.trim();
    if !article && !title.is_empty() {
        // A Note has no title of its own: it opens the text.
        match original {
            Some(url) => content.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape(url.as_str()),
                escape(title)
            )),
            None => content.push_str(&format!("<p>{}</p>", escape(title))),
        }
    }
    if !item.content.is_empty() {
        content.push_str(item.content.as_str());
    } else if !item.summary_text.trim().is_empty() {
        content.push_str(&text_html(&item.summary_text));
    }
    let label = escape(item.source_label());
    match original {
        Some(url) => content.push_str(&format!(
            "<p>via <a href=\"{}\" rel=\"nofollow noopener\">{label}</a></p>",
            escape(url.as_str())
        )),
        None => content.push_str(&format!("<p>via {label}</p>")),
    }
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": if article { "Article" } else { "Note" },
        "attributedTo": actor_id(base, &owner.name),
        "to": [PUBLIC],
        "cc": [followers_id(base, &owner.name)],
        "content": content,
        "url": id,
        "published": rfc3339(item.published_at),
        "sensitive": false,
        "attachment": item
            .media
            .iter()
            .filter_map(|media| attachment(item.kind, media))
            .take(MAX_ATTACHMENTS)
            .collect::<Vec<_>>(),
        "tag": hashtags(&item.tags),
    });
    if article {
        doc["name"] = json!(title);
    }
    if let Some(updated) = item.updated_at.filter(|at| *at > item.published_at) {
        doc["updated"] = json!(rfc3339(updated));
    }
    if let Some(warning) = content_warning(item) {
        doc["sensitive"] = json!(true);
        doc["summary"] = json!(escape(&warning));
    }
    doc
}

/// The content warning a source gave the item (`extra.content_warning`), plain text.
fn content_warning(item: &Item) -> Option<String> {
    let warning = item.extra.get("content_warning")?.as_str()?.trim();
    (!warning.is_empty()).then(|| warning.chars().take(500).collect())
}

/// One attachment: `Image`, `Video`, `Audio` (or `Document` when the type is unknown),
/// with its alt text as `name`. Only http(s) files.
fn attachment(kind: ItemKind, media: &Media) -> Option<Value> {
    if !matches!(media.url.scheme(), "http" | "https") {
        return None;
    }
    let media_type = media.media_type.as_deref().unwrap_or("");
    let object_type = match media_type.split('/').next().unwrap_or("") {
        "image" => "Image",
        "video" => "Video",
        "audio" => "Audio",
        _ => match kind {
            ItemKind::Photo if media_type.is_empty() => "Image",
            ItemKind::Video if media_type.is_empty() => "Video",
            ItemKind::Audio if media_type.is_empty() => "Audio",
            _ => "Document",
        },
    };
    let mut doc = json!({ "type": object_type, "url": media.url.as_str() });
    if !media_type.is_empty() {
        doc["mediaType"] = json!(media_type);
    }
    if let Some(alt) = media
        .alt
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        doc["name"] = json!(alt);
    }
    if let Some(width) = media.width {
        doc["width"] = json!(width);
    }
    if let Some(height) = media.height {
        doc["height"] = json!(height);
    }
    Some(doc)
}

/// Tags as `Hashtag`s; a tag that is not one word (letters, digits, `_`) is left out,
/// since no server could link it.
fn hashtags(tags: &[String]) -> Vec<Value> {
    let mut seen: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().trim_start_matches('#');
        if tag.is_empty() || !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let lower = tag.to_lowercase();
        if !seen.contains(&lower) {
            seen.push(lower);
        }
        if seen.len() >= MAX_HASHTAGS {
            break;
        }
    }
    seen.into_iter()
        .map(|tag| json!({ "type": "Hashtag", "name": format!("#{tag}") }))
        .collect()
}

/// The object without its `@context`, to embed in an activity.
fn embedded(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("@context");
    }
    object
}

/// `Create` of a [`note`]: id `{object id}#create`, addressed as the object is.
pub fn create(note: &Value, owner: &User, base: &str) -> Value {
    let object_id = note["id"].as_str().unwrap_or_default();
    json!({
        "@context": context(),
        "id": format!("{object_id}#create"),
        "type": "Create",
        "actor": actor_id(base, &owner.name),
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": embedded(note),
    })
}

/// `Update` of a [`note`] that changed at `updated`: id `{object id}#update-{unix ms}`;
/// the object keeps its `published` and gets `updated`.
pub fn update(note: &Value, owner: &User, base: &str, updated: DateTime<Utc>) -> Value {
    let object_id = note["id"].as_str().unwrap_or_default();
    let mut object = embedded(note);
    object["updated"] = json!(rfc3339(updated));
    json!({
        "@context": context(),
        "id": format!("{object_id}#update-{}", updated.timestamp_millis()),
        "type": "Update",
        "actor": actor_id(base, &owner.name),
        "published": rfc3339(updated),
        "to": note["to"],
        "cc": note["cc"],
        "object": object,
    })
}

/// What is left of a deleted item: a `Tombstone` (`former_type` is `Note` or `Article`),
/// with when it was deleted when that is known.
pub fn tombstone(
    item: ItemId,
    base: &str,
    former_type: &str,
    deleted: Option<DateTime<Utc>>,
) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": object_id(base, item),
        "type": "Tombstone",
        "formerType": former_type,
    });
    if let Some(deleted) = deleted {
        doc["deleted"] = json!(rfc3339(deleted));
    }
    doc
}

/// `Delete` of an item: id `B/e/{id}#delete`, its object a [`tombstone`].
pub fn delete(
    item: ItemId,
    owner: &User,
    base: &str,
    former_type: &str,
    deleted: DateTime<Utc>,
) -> Value {
    json!({
        "@context": context(),
        "id": format!("{}#delete", object_id(base, item)),
        "type": "Delete",
        "actor": actor_id(base, &owner.name),
        "to": [PUBLIC],
        "cc": [followers_id(base, &owner.name)],
        "object": embedded(&tombstone(item, base, former_type, Some(deleted))),
    })
}

/// `Accept` of the Follow `follow_id` by `follower`: id `B/{user}#accepts/{h}`, where
/// `h` is a hash of the Follow's id, so the same Follow is always accepted by one id.
pub fn accept(follow_id: &str, follower: &str, user: &User, base: &str) -> Value {
    answer("Accept", "accepts", follow_id, follower, user, base)
}

/// `Reject` of the Follow `follow_id` by `follower`: id `B/{user}#rejects/{h}`.
pub fn reject(follow_id: &str, follower: &str, user: &User, base: &str) -> Value {
    answer("Reject", "rejects", follow_id, follower, user, base)
}

fn answer(
    kind: &str,
    fragment: &str,
    follow_id: &str,
    follower: &str,
    user: &User,
    base: &str,
) -> Value {
    let actor = actor_id(base, &user.name);
    let digest = Sha256::digest(follow_id.as_bytes());
    json!({
        "@context": context(),
        "id": format!("{actor}#{fragment}/{}", hex::encode(&digest[..16])),
        "type": kind,
        "actor": actor,
        "to": [follower],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower,
            "object": actor,
        },
    })
}

/// An `OrderedCollection` with its size and, when it has pages, its first and last.
pub fn ordered_collection(id: &str, total: u64, first: Option<&str>, last: Option<&str>) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    });
    if let Some(first) = first {
        doc["first"] = json!(first);
    }
    if let Some(last) = last {
        doc["last"] = json!(last);
    }
    doc
}

/// One `OrderedCollectionPage` of the collection `part_of`.
pub fn ordered_collection_page(
    id: &str,
    part_of: &str,
    items: Vec<Value>,
    next: Option<&str>,
    prev: Option<&str>,
) -> Value {
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items.iter().map(embedded).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        doc["next"] = json!(next);
    }
    if let Some(prev) = prev {
        doc["prev"] = json!(prev);
    }
    doc
}

/// The WebFinger answer (JRD, RFC 7033) for `acct:{user}@{authority}`: the actor as
/// `self`, and the profile page when there is one.
pub fn webfinger(user: &str, authority: &str, actor: &str, profile_page: Option<&str>) -> Value {
    let mut links = vec![json!({ "rel": "self", "type": ACTIVITY_JSON, "href": actor })];
    if let Some(page) = profile_page {
        links.push(json!({
            "rel": "http://webfinger.net/rel/profile-page",
            "type": "text/html",
            "href": page,
        }));
    }
    json!({
        "subject": format!("acct:{user}@{authority}"),
        "aliases": [actor],
        "links": links,
    })
}

/// What NodeInfo counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub users: u64,
    pub active_month: u64,
    pub active_halfyear: u64,
    pub local_posts: u64,
}

/// The NodeInfo 2.1 document.
pub fn nodeinfo(usage: &Usage, open_registrations: bool) -> Value {
    json!({
        "version": "2.1",
        "software": {
            "name": "tributary",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": ["atom1.0", "rss2.0"] },
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": usage.users,
                "activeMonth": usage.active_month,
                "activeHalfyear": usage.active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": {},
    })
}

/// `/.well-known/nodeinfo`: where the NodeInfo document is.
pub fn nodeinfo_links(base: &str) -> Value {
    json!({
        "links": [{ "rel": NODEINFO_SCHEMA, "href": format!("{base}/nodeinfo/2.1") }],
    })
}

/// `/.well-known/host-meta` (RFC 6415): the WebFinger template, for older servers.
pub fn host_meta(base: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" type=\"application/jrd+json\" \
         template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        escape(base)
    )
}

/// RFC 3339 in UTC with seconds, as Mastodon writes dates.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Plain text as HTML paragraphs: escaped, blank lines between paragraphs, line breaks
/// kept. Empty text gives an empty string.
pub fn text_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.split("\n\n")
        .map(str::trim)
        .filter(|para| !para.is_empty())
        .map(|para| {
            let lines: Vec<String> = para.lines().map(|line| escape(line.trim_end())).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// Escapes text for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// An image's media type from its file name, when the name says it.
fn image_type_of(url: &str) -> Option<&'static str> {
    let path = url::Url::parse(url).ok()?.path().to_ascii_lowercase();
    let extension = path.rsplit_once('.')?.1.to_owned();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SafeHtml, SourceId, UserId};

    const B: &str = "https://social.example";

    fn ana() -> User {
        User {
            id: UserId(1),
            name: "ana".into(),
            display_name: "Ana <Lima>".into(),
            is_admin: false,
            created_at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    fn item() -> Item {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc);
        Item {
            id: ItemId(7),
            user_id: UserId(1),
            user_name: "ana".into(),
            user_avatar: None,
            source_icon: None,
            source_id: SourceId(3),
            source_kind: "github".into(),
            source_title: "GitHub".into(),
            external_id: "x".into(),
            url: Some(url::Url::parse("https://github.com/ana/repo/commit/1?a=1&b=2").unwrap()),
            title: String::new(),
            author_name: None,
            content: SafeHtml::assume_sanitized("<p>pushed a fix</p>".into()),
            summary_text: "pushed a fix".into(),
            kind: ItemKind::Code,
            media: Vec::new(),
            tags: Vec::new(),
            extra: serde_json::Map::new(),
            published_at: at,
            updated_at: None,
            fetched_at: at,
            bumped_at: at,
            visibility: Default::default(),
            own_visibility: Default::default(),
        }
    }

    #[test]
    fn person_has_the_ids_of_the_layout_and_escapes_what_users_typed() {
        let services = vec![(
            "GitHub".to_owned(),
            "https://github.com/ana?x=\"1\"&y=<2>".to_owned(),
        )];
        let settings = Settings {
            enabled: true,
            approve_followers: true,
            also_known_as: vec!["https://old.example/users/ana".into()],
        };
        let profile = ActorProfile {
            bio: "I <3 rivers\n\nand & lakes",
            avatar_url: Some("https://cdn.example/a.PNG"),
            public_key_pem: "PEM",
            services: &services,
        };
        let doc = person(&ana(), &profile, &settings, B);
        assert_eq!(doc["id"], "https://social.example/ana");
        assert_eq!(doc["type"], "Person");
        assert_eq!(doc["preferredUsername"], "ana");
        assert_eq!(doc["name"], "Ana <Lima>");
        assert_eq!(
            doc["summary"],
            "<p>I &lt;3 rivers</p><p>and &amp; lakes</p>"
        );
        assert_eq!(doc["inbox"], "https://social.example/ana/inbox");
        assert_eq!(doc["outbox"], "https://social.example/ana/outbox");
        assert_eq!(doc["followers"], "https://social.example/ana/followers");
        assert_eq!(doc["following"], "https://social.example/ana/following");
        assert_eq!(
            doc["endpoints"]["sharedInbox"],
            "https://social.example/inbox"
        );
        assert_eq!(
            doc["publicKey"]["id"],
            "https://social.example/ana#main-key"
        );
        assert_eq!(doc["publicKey"]["owner"], doc["id"]);
        assert_eq!(doc["publicKey"]["publicKeyPem"], "PEM");
        assert_eq!(doc["manuallyApprovesFollowers"], true);
        assert_eq!(doc["discoverable"], true);
        assert_eq!(doc["published"], "2026-01-02T03:04:05Z");
        assert_eq!(doc["icon"]["mediaType"], "image/png");
        assert_eq!(doc["alsoKnownAs"][0], "https://old.example/users/ana");
        let field = &doc["attachment"][0];
        assert_eq!(field["type"], "PropertyValue");
        assert_eq!(field["name"], "GitHub");
        assert_eq!(
            field["value"],
            "<a href=\"https://github.com/ana?x=&quot;1&quot;&amp;y=&lt;2&gt;\" \
             rel=\"me nofollow noopener\" target=\"_blank\">github.com/ana?x=&quot;1&quot;&amp;y=&lt;2&gt;</a>"
        );
        assert_eq!(doc["@context"][1], SECURITY_CONTEXT);
        assert_eq!(doc["@context"][2]["PropertyValue"], "schema:PropertyValue");
    }

    #[test]
    fn person_leaves_out_avatars_and_pages_that_are_not_web_addresses() {
        let services = vec![("X".to_owned(), "javascript:alert(1)".to_owned())];
        let profile = ActorProfile {
            avatar_url: Some("data:image/png;base64,AAAA"),
            services: &services,
            ..ActorProfile::default()
        };
        let doc = person(&ana(), &profile, &Settings::default(), B);
        assert!(doc.get("icon").is_none(), "{doc:#}");
        assert_eq!(doc["attachment"], json!([]));
        assert_eq!(doc["summary"], "");
    }

    #[test]
    fn a_note_says_where_it_came_from() {
        let doc = note(&item(), &ana(), B);
        assert_eq!(doc["type"], "Note");
        assert_eq!(doc["id"], "https://social.example/e/7");
        assert_eq!(doc["url"], "https://social.example/e/7");
        assert_eq!(doc["attributedTo"], "https://social.example/ana");
        assert_eq!(doc["to"], json!([PUBLIC]));
        assert_eq!(doc["cc"], json!(["https://social.example/ana/followers"]));
        assert_eq!(doc["published"], "2026-03-01T10:00:00Z");
        assert_eq!(
            doc["content"],
            "<p>pushed a fix</p><p>via <a href=\"https://github.com/ana/repo/commit/1?a=1&amp;b=2\" \
             rel=\"nofollow noopener\">GitHub</a></p>"
        );
        assert!(doc.get("updated").is_none());
        assert!(doc.get("name").is_none());
        assert_eq!(doc["sensitive"], false);
    }

    #[test]
    fn long_titled_items_and_articles_are_articles() {
        let mut long = item();
        long.title = "A trip".into();
        long.summary_text = "word ".repeat(120);
        assert!(is_article(&long));
        let doc = note(&long, &ana(), B);
        assert_eq!(doc["type"], "Article");
        assert_eq!(doc["name"], "A trip");
        let mut short = item();
        short.title = "Short <b>one</b>".into();
        assert!(!is_article(&short));
        let doc = note(&short, &ana(), B);
        assert_eq!(doc["type"], "Note");
        // The title opens a note's text, escaped.
        assert!(
            doc["content"]
                .as_str()
                .unwrap()
                .starts_with("<p><a href=\"https://github.com/ana/repo/commit/1?a=1&amp;b=2\">Short &lt;b&gt;one&lt;/b&gt;</a></p>"),
            "{doc:#}"
        );
        let mut article = item();
        article.title = "Post".into();
        article.kind = ItemKind::Article;
        assert!(is_article(&article));
        // Without a title, even a long text stays a note.
        let mut untitled = item();
        untitled.summary_text = "x".repeat(2000);
        assert!(!is_article(&untitled));
    }

    #[test]
    fn media_warnings_tags_and_edits() {
        let mut it = item();
        it.kind = ItemKind::Photo;
        let media = |url: &str, media_type: Option<&str>, alt: Option<&str>| Media {
            url: url::Url::parse(url).unwrap(),
            media_type: media_type.map(str::to_owned),
            width: Some(640),
            height: None,
            length: None,
            thumbnail: None,
            alt: alt.map(str::to_owned),
        };
        it.media = vec![
            media("https://cdn.example/a.jpg", None, Some("a heron")),
            media("https://cdn.example/v.mp4", Some("video/mp4"), None),
            media("https://cdn.example/s.ogg", Some("audio/ogg"), None),
            media("https://cdn.example/f.pdf", Some("application/pdf"), None),
            media("ftp://cdn.example/x.jpg", Some("image/jpeg"), None),
        ];
        it.tags = vec![
            "Birds".into(),
            "#birds".into(),
            "two words".into(),
            "río".into(),
        ];
        it.extra
            .insert("content_warning".into(), json!("heron <eats> fish"));
        it.updated_at = Some(it.published_at + chrono::Duration::hours(1));
        let doc = note(&it, &ana(), B);
        let types: Vec<&str> = doc["attachment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["Image", "Video", "Audio", "Document"]);
        assert_eq!(doc["attachment"][0]["name"], "a heron");
        assert_eq!(doc["attachment"][0]["width"], 640);
        assert!(doc["attachment"][0].get("mediaType").is_none());
        assert_eq!(doc["attachment"][1]["mediaType"], "video/mp4");
        assert_eq!(
            doc["tag"],
            json!([{ "type": "Hashtag", "name": "#birds" }, { "type": "Hashtag", "name": "#río" }])
        );
        assert_eq!(doc["sensitive"], true);
        assert_eq!(doc["summary"], "heron &lt;eats&gt; fish");
        assert_eq!(doc["updated"], "2026-03-01T11:00:00Z");
    }

    #[test]
    fn activities_have_the_ids_of_the_layout() {
        let doc = note(&item(), &ana(), B);
        let created = create(&doc, &ana(), B);
        assert_eq!(created["id"], "https://social.example/e/7#create");
        assert_eq!(created["actor"], "https://social.example/ana");
        assert_eq!(created["object"]["id"], doc["id"]);
        assert!(created["object"].get("@context").is_none());
        assert_eq!(created["to"], doc["to"]);
        assert_eq!(created["published"], doc["published"]);

        let at = item().published_at + chrono::Duration::minutes(5);
        let updated = update(&doc, &ana(), B, at);
        assert_eq!(
            updated["id"],
            format!(
                "https://social.example/e/7#update-{}",
                at.timestamp_millis()
            )
        );
        assert_eq!(updated["object"]["published"], doc["published"]);
        assert_eq!(updated["object"]["updated"], "2026-03-01T10:05:00Z");

        let deleted = delete(ItemId(7), &ana(), B, "Note", at);
        assert_eq!(deleted["id"], "https://social.example/e/7#delete");
        assert_eq!(deleted["object"]["type"], "Tombstone");
        assert_eq!(deleted["object"]["formerType"], "Note");
        assert_eq!(deleted["object"]["id"], "https://social.example/e/7");
    }

    #[test]
    fn answers_to_a_follow_have_stable_ids() {
        let follow = "https://remote.example/f/1";
        let bo = "https://remote.example/users/bo";
        let one = accept(follow, bo, &ana(), B);
        assert_eq!(one, accept(follow, bo, &ana(), B));
        assert_ne!(
            one["id"],
            accept("https://remote.example/f/2", bo, &ana(), B)["id"]
        );
        let id = one["id"].as_str().unwrap();
        assert!(
            id.starts_with("https://social.example/ana#accepts/"),
            "{id}"
        );
        assert_eq!(one["object"]["id"], follow);
        assert_eq!(one["object"]["actor"], bo);
        assert_eq!(one["object"]["object"], "https://social.example/ana");
        let no = reject(follow, bo, &ana(), B);
        assert_eq!(no["type"], "Reject");
        assert!(no["id"].as_str().unwrap().contains("#rejects/"));
    }

    #[test]
    fn collections_and_pages() {
        let c = ordered_collection("https://s/c", 3, Some("https://s/c?page=true"), None);
        assert_eq!(c["totalItems"], 3);
        assert_eq!(c["first"], "https://s/c?page=true");
        assert!(c.get("last").is_none());
        let p = ordered_collection_page(
            "https://s/c?page=true",
            "https://s/c",
            vec![json!({ "@context": "x", "id": "a" })],
            Some("https://s/c?max_id=1"),
            None,
        );
        assert_eq!(p["type"], "OrderedCollectionPage");
        assert_eq!(p["partOf"], "https://s/c");
        assert_eq!(p["orderedItems"], json!([{ "id": "a" }]));
        assert_eq!(p["next"], "https://s/c?max_id=1");
    }

    #[test]
    fn discovery_documents() {
        let jrd = webfinger(
            "ana",
            "social.example",
            "https://social.example/ana",
            Some("https://social.example/ana"),
        );
        assert_eq!(jrd["subject"], "acct:ana@social.example");
        assert_eq!(jrd["aliases"], json!(["https://social.example/ana"]));
        assert_eq!(jrd["links"][0]["rel"], "self");
        assert_eq!(jrd["links"][0]["type"], ACTIVITY_JSON);
        assert_eq!(
            jrd["links"][1]["rel"],
            "http://webfinger.net/rel/profile-page"
        );
        let usage = Usage {
            users: 2,
            active_month: 1,
            active_halfyear: 2,
            local_posts: 45,
        };
        let info = nodeinfo(&usage, false);
        assert_eq!(info["version"], "2.1");
        assert_eq!(info["software"]["name"], "tributary");
        assert_eq!(info["software"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(info["protocols"], json!(["activitypub"]));
        assert_eq!(info["usage"]["users"]["total"], 2);
        assert_eq!(info["usage"]["localPosts"], 45);
        assert_eq!(info["openRegistrations"], false);
        assert_eq!(
            nodeinfo_links(B)["links"][0]["href"],
            "https://social.example/nodeinfo/2.1"
        );
        let xrd = host_meta(B);
        assert!(
            xrd.contains(
                "template=\"https://social.example/.well-known/webfinger?resource={uri}\""
            ),
            "{xrd}"
        );
    }
}
