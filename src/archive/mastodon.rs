//! Mastodon's account export ("Request your archive": a zip, older ones a tar.gz):
//! `outbox.json` (an ActivityStreams OrderedCollection of the account's `Create` and
//! `Announce` activities, oldest first, streamed one at a time), `actor.json` (the
//! account) and `media_attachments/` (the files the attachments' `url`s name).
//!
//! Public and unlisted posts are read; followers-only ones only when asked for, direct
//! messages never. An `Announce` is a share of the boosted post's address. A reply to the
//! account's own post keeps its parent (the export lists parents first); a reply to
//! someone else is left out unless asked for. Content warnings (`summary`), `sensitive`,
//! alt text (`name` of an attachment) and hashtags are kept.

use chrono::{DateTime, Utc};
use connectors::{Content, ItemKind, RawAuthor};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::files::ArchiveFiles;
use super::json::for_each;
use super::{
    Account, ArchiveError, Entry, Platform, Post, PostMedia, ReadOptions, Reader, SkipReason,
};

const PUBLIC: [&str; 3] = [
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
];

pub struct Mastodon;

#[derive(Deserialize)]
struct Activity {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type", default)]
    kind: Value,
    #[serde(default)]
    object: Value,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    to: Value,
    #[serde(default)]
    cc: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Note {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Value,
    url: Value,
    published: Option<String>,
    summary: Option<String>,
    sensitive: Option<bool>,
    content: Option<String>,
    #[serde(rename = "contentMap")]
    content_map: Option<serde_json::Map<String, Value>>,
    #[serde(rename = "inReplyTo")]
    in_reply_to: Option<String>,
    to: Value,
    cc: Value,
    attachment: Value,
    tag: Value,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Actor {
    id: Option<String>,
    #[serde(rename = "preferredUsername")]
    preferred_username: Option<String>,
    name: Option<String>,
    url: Value,
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn first_url(value: &Value) -> Option<Url> {
    match value {
        Value::String(s) => Url::parse(s).ok(),
        Value::Array(items) => items.iter().find_map(first_url),
        Value::Object(map) => map.get("href").and_then(first_url),
        _ => None,
    }
}

fn date(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

enum Visibility {
    Public,
    Private,
    Direct,
}

fn visibility(to: &Value, cc: &Value) -> Visibility {
    let to = strings(to);
    let cc = strings(cc);
    if to.iter().chain(cc.iter()).any(|a| PUBLIC.contains(a)) {
        Visibility::Public
    } else if to
        .iter()
        .chain(cc.iter())
        .any(|a| a.ends_with("/followers"))
    {
        Visibility::Private
    } else {
        Visibility::Direct
    }
}

impl Mastodon {
    fn account(files: &mut ArchiveFiles) -> Account {
        let Some(name) = files.find_suffix("actor.json") else {
            return Account::default();
        };
        let Ok(bytes) = files.read_all(&name) else {
            return Account::default();
        };
        let Ok(actor) = serde_json::from_slice::<Actor>(&bytes) else {
            return Account::default();
        };
        let id = actor.id.as_deref().and_then(|id| Url::parse(id).ok());
        let handle = match (
            &actor.preferred_username,
            id.as_ref().and_then(Url::host_str),
        ) {
            (Some(user), Some(host)) => Some(format!("@{user}@{host}")),
            (Some(user), None) => Some(format!("@{user}")),
            _ => None,
        };
        Account {
            handle,
            name: actor.name.filter(|n| !n.trim().is_empty()),
            url: first_url(&actor.url).or(id),
        }
    }
}

impl Reader for Mastodon {
    fn platform(&self) -> Platform {
        Platform::Mastodon
    }

    fn detect(&self, files: &ArchiveFiles) -> bool {
        files.find_suffix("outbox.json").is_some() && files.find_suffix("actor.json").is_some()
    }

    fn read(
        &self,
        files: &mut ArchiveFiles,
        options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError> {
        let account = Mastodon::account(files);
        let outbox = files
            .find_suffix("outbox.json")
            .ok_or_else(|| ArchiveError::NotThisArchive("it has no outbox.json".into()))?;
        // Where the export keeps files: the folder holding `outbox.json`.
        let root = outbox.strip_suffix("outbox.json").unwrap_or("").to_owned();
        let names: std::collections::HashSet<String> = files.names().iter().cloned().collect();
        let mut actor_id: Option<String> = None;
        let reader = files.open_entry(&outbox)?;
        let mut index = 0u64;
        for_each::<Activity, _>(reader, &outbox, Some("orderedItems"), &mut |activity| {
            index += 1;
            let activity = match activity {
                Ok(activity) => activity,
                Err(err) => {
                    return emit(Entry::Skipped {
                        id: format!("#{index}"),
                        reason: SkipReason::Invalid(err.to_string()),
                    });
                }
            };
            let entry = read_activity(activity, index, &root, &names, options, &mut actor_id);
            emit(entry)
        })?;
        Ok(account)
    }
}

fn read_activity(
    activity: Activity,
    index: u64,
    root: &str,
    names: &std::collections::HashSet<String>,
    options: &ReadOptions,
    actor_id: &mut Option<String>,
) -> Entry {
    let id = activity.id.clone().unwrap_or_else(|| format!("#{index}"));
    let skipped = |reason| Entry::Skipped {
        id: id.clone(),
        reason,
    };
    let kind = activity.kind.as_str().unwrap_or("");
    match kind {
        "Create" => {}
        "Announce" => {
            let Some(target) = activity.object.as_str().and_then(|s| Url::parse(s).ok()) else {
                return skipped(SkipReason::Invalid("a boost of nothing".into()));
            };
            match visibility(&activity.to, &activity.cc) {
                Visibility::Public => {}
                Visibility::Private if options.include_private => {}
                Visibility::Private => return skipped(SkipReason::Private),
                Visibility::Direct => return skipped(SkipReason::Direct),
            }
            let Some(published) = date(activity.published.as_deref()) else {
                return skipped(SkipReason::Invalid("a boost without a date".into()));
            };
            let link = html_escape(target.as_str());
            let mut post = Post::note(
                id.clone(),
                published,
                Content::Html(format!("<p><a href=\"{link}\">{link}</a></p>")),
            );
            post.kind = ItemKind::Share;
            post.url = Some(target.clone());
            post.shared_from = Some(RawAuthor {
                name: None,
                url: Some(target),
                avatar: None,
            });
            return Entry::Post(Box::new(post));
        }
        other => {
            let what = if other.is_empty() {
                "an untyped activity"
            } else {
                other
            };
            return skipped(SkipReason::Unsupported(what.to_owned()));
        }
    }
    let note: Note = match serde_json::from_value(activity.object) {
        Ok(note) => note,
        Err(_) => return skipped(SkipReason::Invalid("a Create without an object".into())),
    };
    let note_kind = note.kind.as_str().unwrap_or("");
    if !matches!(note_kind, "Note" | "Article" | "Question" | "Page") {
        return skipped(SkipReason::Unsupported(format!("a {note_kind} object")));
    }
    let note_id = note.id.clone().unwrap_or_else(|| id.clone());
    match visibility(&note.to, &note.cc) {
        Visibility::Public => {}
        Visibility::Private if options.include_private => {}
        Visibility::Private => return skipped(SkipReason::Private),
        Visibility::Direct => return skipped(SkipReason::Direct),
    }
    // The account's statuses live under one prefix (`…/users/ana/statuses/`).
    let prefix = note_id.rsplit_once('/').map(|(head, _)| format!("{head}/"));
    if actor_id.is_none() {
        *actor_id = prefix.clone();
    }
    let reply_to = match &note.in_reply_to {
        None => None,
        Some(parent) if prefix.as_deref().is_some_and(|p| parent.starts_with(p)) => {
            Some(parent.clone())
        }
        Some(_) if options.include_replies_to_others => None,
        Some(_) => return skipped(SkipReason::ReplyToOther),
    };
    let Some(published) = date(note.published.as_deref().or(activity.published.as_deref())) else {
        return skipped(SkipReason::Invalid("a post without a date".into()));
    };
    let content = note
        .content
        .clone()
        .or_else(|| {
            note.content_map
                .as_ref()
                .and_then(|map| map.values().find_map(Value::as_str).map(str::to_owned))
        })
        .unwrap_or_default();
    let mut post = Post::note(note_id, published, Content::Html(content));
    post.url = first_url(&note.url).or_else(|| note.id.as_deref().and_then(|i| Url::parse(i).ok()));
    post.title = note.name.filter(|_| note_kind == "Article");
    if note_kind == "Article" {
        post.kind = ItemKind::Article;
    }
    post.summary = note.summary.filter(|s| !s.trim().is_empty());
    post.sensitive = note.sensitive.unwrap_or(false);
    post.in_reply_to_url = note.in_reply_to.as_deref().and_then(|u| Url::parse(u).ok());
    post.reply_to = reply_to;
    for tag in note.tag.as_array().into_iter().flatten() {
        if tag.get("type").and_then(Value::as_str) == Some("Hashtag")
            && let Some(name) = tag.get("name").and_then(Value::as_str)
        {
            post.tags.push(name.trim_start_matches('#').to_owned());
        }
    }
    let attachments: Vec<&Value> = match &note.attachment {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&note.attachment],
        _ => Vec::new(),
    };
    for attachment in attachments {
        let url_text = match attachment.get("url") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => first_url(other).map(String::from).unwrap_or_default(),
            None => String::new(),
        };
        // The export names files by path (`/media_attachments/files/…`), sometimes as a
        // full URL on the media host.
        let path = match Url::parse(&url_text) {
            Ok(url) => url.path().to_owned(),
            Err(_) => url_text.clone(),
        };
        let relative = path.trim_start_matches('/');
        let file = [format!("{root}{relative}"), relative.to_owned()]
            .into_iter()
            .find(|candidate| names.contains(candidate));
        let alt = attachment
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        post.media.push(PostMedia {
            file,
            url: Url::parse(&url_text).ok(),
            alt,
        });
    }
    Entry::Post(Box::new(post))
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    crate::normalize::text::push_escaped(&mut out, text);
    out
}
