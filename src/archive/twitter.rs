//! The Twitter/X archive ("Download an archive of your data", a zip): `data/manifest.js`
//! for the account, `data/tweets.js` and `data/tweets-partN.js` (older archives:
//! `data/tweet.js`), `data/note-tweet.js` for long posts and `data/tweets_media/` for the
//! files. Pure: reads entries of an opened `ArchiveFiles`, no database, no network.
//!
//! What the archive gives and what is made of it:
//! - The text is HTML-escaped by Twitter (`&amp;`, `&lt;`, `&gt;`); it is decoded exactly
//!   once, so `&amp;lt;` stays the text `&lt;`. t.co links are replaced by the URLs their
//!   `entities` expand to, media links are taken out; a text with links is built as HTML
//!   with every piece of user text escaped, one without is plain text.
//! - A long post is a tweet whose text is cut short plus a `noteTweet` with the whole text
//!   under another id. The two share their creation second, and the tweet's text is the
//!   start of the note's: a note is matched to the tweet of its second whose text it
//!   starts with (or, failing that, to the only tweet of that second).
//! - "RT @name: …" is a share of `name`'s post; a reply to someone else's post is skipped
//!   unless asked for; a reply to one's own post keeps its parent (a thread).
//! - The archive lists tweets newest first, part by part. Posts are emitted by id, which
//!   Twitter hands out in time order, so a parent always comes before its replies. To
//!   sort, every post is held in a compact form (its finished text and a few short
//!   fields, about 300 bytes), not as the parsed record.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use connectors::{Content, ItemKind, RawAuthor};
use serde::Deserialize;
use url::Url;

use super::{
    Account, ArchiveError, ArchiveFiles, Entry, Platform, Post, PostMedia, ReadOptions, Reader,
    SkipReason, json,
};
use crate::normalize::text::push_escaped;

/// The Twitter/X archive reader.
pub struct Twitter;

/// How many characters of a tweet's text are compared with a note's start.
const NOTE_PREFIX_CHARS: usize = 60;

impl Reader for Twitter {
    fn platform(&self) -> Platform {
        Platform::Twitter
    }

    fn detect(&self, files: &ArchiveFiles) -> bool {
        data_dir(files).is_some()
    }

    fn read(
        &self,
        files: &mut ArchiveFiles,
        options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError> {
        let dir = data_dir(files).ok_or_else(|| {
            ArchiveError::NotThisArchive(
                "this is not a Twitter archive: it has no data/manifest.js or data/tweets.js"
                    .to_owned(),
            )
        })?;
        let owner = owner(files, &dir)?;
        let tweet_files = tweet_files(files, &dir);
        if tweet_files.is_empty() {
            return Err(ArchiveError::NotThisArchive(
                "the Twitter archive has no data/tweets.js".to_owned(),
            ));
        }
        let media_dir = format!("{dir}tweets_media/");
        let media_names: HashSet<String> = files
            .names()
            .iter()
            .filter_map(|name| name.strip_prefix(&media_dir))
            .map(str::to_owned)
            .collect();
        let notes = read_notes(files, &format!("{dir}note-tweet.js"))?;
        let mut reading = Reading {
            owner: &owner,
            options,
            media_dir,
            media_names,
            notes,
            clients: Clients::default(),
            held: Vec::new(),
        };
        for file in &tweet_files {
            let entry = files.open_entry(file)?;
            let body = json::after_assignment(entry).map_err(|err| ArchiveError::Malformed {
                file: file.clone(),
                message: err.to_string(),
            })?;
            let mut index = 0usize;
            json::for_each::<Tweet, _>(body, file, None, &mut |record| {
                index += 1;
                let fallback_id = || format!("{file}, record {index}");
                match record {
                    Err(err) => emit(Entry::Skipped {
                        id: fallback_id(),
                        reason: SkipReason::Invalid(err.to_string()),
                    }),
                    Ok(tweet) => match reading.hold(tweet.unwrapped()) {
                        Ok(Some(skipped)) => emit(skipped),
                        Ok(None) => Ok(()),
                        Err((id, why)) => emit(Entry::Skipped {
                            id: id.unwrap_or_else(fallback_id),
                            reason: SkipReason::Invalid(why),
                        }),
                    },
                }
            })?;
        }
        reading.emit_all(emit)?;
        Ok(owner.account())
    }
}

/// The folder that holds the archive's files (`data/`, or `top/data/` when the zip was
/// wrapped in a folder), with its trailing `/`.
fn data_dir(files: &ArchiveFiles) -> Option<String> {
    ["manifest.js", "tweets.js", "tweet.js"]
        .iter()
        .find_map(|file| {
            let name = files.find_suffix(&format!("data/{file}"))?;
            Some(name[..name.len() - file.len()].to_owned())
        })
}

/// The tweet files of the data folder, part 0 first: `tweets.js`, `tweets-part1.js`, …
/// (or the older `tweet.js`, `tweet-part1.js`, …).
fn tweet_files(files: &ArchiveFiles, dir: &str) -> Vec<String> {
    let mut found: Vec<(u32, String)> = files
        .names()
        .iter()
        .filter_map(|name| {
            let file = name.strip_prefix(dir)?;
            let stem = file.strip_suffix(".js")?;
            let rest = stem
                .strip_prefix("tweets")
                .or_else(|| stem.strip_prefix("tweet"))?;
            let part = match rest {
                "" => 0,
                _ => rest.strip_prefix("-part")?.parse::<u32>().ok()?,
            };
            Some((part, name.clone()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, name)| name).collect()
}

/// Who the archive belongs to: from `manifest.js`, else `account.js`.
#[derive(Debug, Default)]
struct Owner {
    id: Option<String>,
    user_name: Option<String>,
    display_name: Option<String>,
}

impl Owner {
    fn account(&self) -> Account {
        Account {
            handle: self.user_name.as_ref().map(|name| format!("@{name}")),
            name: self.display_name.clone(),
            url: self
                .user_name
                .as_ref()
                .and_then(|name| Url::parse(&format!("https://twitter.com/{name}")).ok()),
        }
    }

    fn known(&self) -> bool {
        self.id.is_some() || self.user_name.is_some()
    }

    fn is(&self, user_id: Option<&str>, screen_name: Option<&str>) -> bool {
        match (&self.id, user_id) {
            (Some(own), Some(other)) => own == other,
            _ => match (&self.user_name, screen_name) {
                (Some(own), Some(other)) => own.eq_ignore_ascii_case(other),
                _ => false,
            },
        }
    }

    fn status_url(&self, id: u64) -> Option<Url> {
        let url = match &self.user_name {
            Some(name) => format!("https://twitter.com/{name}/status/{id}"),
            None => format!("https://twitter.com/i/web/status/{id}"),
        };
        Url::parse(&url).ok()
    }
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(rename = "userInfo")]
    user_info: Option<UserInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserInfo {
    account_id: Option<String>,
    user_name: Option<String>,
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct AccountRecord {
    account: AccountInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountInfo {
    account_id: Option<String>,
    username: Option<String>,
    account_display_name: Option<String>,
}

fn owner(files: &mut ArchiveFiles, dir: &str) -> Result<Owner, ArchiveError> {
    let manifest = format!("{dir}manifest.js");
    if files.has(&manifest) {
        let info = read_assigned::<Manifest>(files, &manifest)?.user_info;
        if let Some(info) = info {
            return Ok(Owner {
                id: non_empty(info.account_id),
                user_name: non_empty(info.user_name),
                display_name: non_empty(info.display_name),
            });
        }
    }
    let account = format!("{dir}account.js");
    if files.has(&account) {
        let records = read_assigned::<Vec<AccountRecord>>(files, &account)?;
        if let Some(record) = records.into_iter().next() {
            return Ok(Owner {
                id: non_empty(record.account.account_id),
                user_name: non_empty(record.account.username),
                display_name: non_empty(record.account.account_display_name),
            });
        }
    }
    Ok(Owner::default())
}

/// A small `window.X = …` file, whole.
fn read_assigned<T: serde::de::DeserializeOwned>(
    files: &mut ArchiveFiles,
    name: &str,
) -> Result<T, ArchiveError> {
    let malformed = |message: String| ArchiveError::Malformed {
        file: name.to_owned(),
        message,
    };
    let bytes = files.read_all(name)?;
    let body = json::after_assignment(&bytes[..]).map_err(|err| malformed(err.to_string()))?;
    serde_json::from_reader(body).map_err(|err| malformed(err.to_string()))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// One element of a tweets file: `{"tweet": {…}}`, or the tweet itself in the oldest
/// archives. Every field is optional so that a record missing one still has its id for
/// the skip.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Tweet {
    tweet: Option<Box<Tweet>>,
    id_str: Option<String>,
    full_text: Option<String>,
    text: Option<String>,
    created_at: Option<String>,
    source: Option<String>,
    entities: Entities,
    extended_entities: Option<Entities>,
    in_reply_to_status_id_str: Option<String>,
    in_reply_to_user_id_str: Option<String>,
    in_reply_to_screen_name: Option<String>,
}

impl Tweet {
    fn unwrapped(self) -> Tweet {
        match self.tweet {
            Some(inner) => *inner,
            None => self,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entities {
    urls: Vec<UrlEntity>,
    media: Vec<MediaEntity>,
    hashtags: Vec<Hashtag>,
    user_mentions: Vec<Mention>,
}

#[derive(Deserialize)]
struct UrlEntity {
    url: String,
    expanded_url: Option<String>,
}

#[derive(Deserialize)]
struct MediaEntity {
    url: Option<String>,
    media_url_https: Option<String>,
    media_url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    ext_alt_text: Option<String>,
    video_info: Option<VideoInfo>,
}

#[derive(Deserialize)]
struct VideoInfo {
    #[serde(default)]
    variants: Vec<Variant>,
}

#[derive(Deserialize)]
struct Variant {
    /// A string in archives, a number in the API.
    bitrate: Option<serde_json::Value>,
    content_type: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct Hashtag {
    text: String,
}

#[derive(Deserialize)]
struct Mention {
    screen_name: String,
}

#[derive(Deserialize)]
struct NoteRecord {
    #[serde(rename = "noteTweet")]
    note_tweet: NoteTweet,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoteTweet {
    created_at: String,
    core: NoteCore,
}

#[derive(Deserialize)]
struct NoteCore {
    text: String,
    #[serde(default)]
    urls: Vec<NoteUrl>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NoteUrl {
    short_url: String,
    expanded_url: Option<String>,
}

/// The notes of `note-tweet.js`, by their creation second. A note that does not read is
/// left out (its tweet keeps the shortened text).
fn read_notes(
    files: &mut ArchiveFiles,
    name: &str,
) -> Result<HashMap<i64, Vec<NoteTweet>>, ArchiveError> {
    let mut notes: HashMap<i64, Vec<NoteTweet>> = HashMap::new();
    if !files.has(name) {
        return Ok(notes);
    }
    let entry = files.open_entry(name)?;
    let body = json::after_assignment(entry).map_err(|err| ArchiveError::Malformed {
        file: name.to_owned(),
        message: err.to_string(),
    })?;
    json::for_each::<NoteRecord, _>(body, name, None, &mut |record| {
        if let Ok(record) = record
            && let Ok(date) = DateTime::parse_from_rfc3339(&record.note_tweet.created_at)
        {
            notes
                .entry(date.timestamp())
                .or_default()
                .push(record.note_tweet);
        }
        Ok(())
    })?;
    Ok(notes)
}

/// Whom a held post answers.
enum Reply {
    None,
    /// One of the owner's own posts.
    Own(u64),
    /// Someone else's post (held only when asked for).
    Other {
        parent: Option<u64>,
        to: Box<str>,
    },
    /// The archive does not say whose account it is: the owner's own if the parent is in
    /// the archive (which holds nothing but the owner's tweets).
    Unknown {
        parent: u64,
        to: Option<Box<str>>,
    },
}

/// A post held for sorting: its finished text and short fields only.
struct Held {
    id: u64,
    published: DateTime<Utc>,
    /// HTML when `html`, else plain text.
    text: Box<str>,
    html: bool,
    kind: ItemKind,
    shared_from: Option<Box<str>>,
    reply: Reply,
    /// An index into `Clients`.
    via: Option<u32>,
    media: Box<[HeldMedia]>,
    tags: Box<[Box<str>]>,
}

struct HeldMedia {
    file: Option<Box<str>>,
    url: Option<Box<str>>,
    alt: Option<Box<str>>,
}

/// The client names of `source`, each kept once (an archive has a handful).
#[derive(Default)]
struct Clients {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Clients {
    fn intern(&mut self, name: &str) -> Option<u32> {
        if let Some(&idx) = self.index.get(name) {
            return Some(idx);
        }
        let idx = u32::try_from(self.names.len()).ok()?;
        self.names.push(name.into());
        self.index.insert(name.into(), idx);
        Some(idx)
    }
}

struct Reading<'a> {
    owner: &'a Owner,
    options: &'a ReadOptions,
    media_dir: String,
    /// The names under `tweets_media/`, without that folder.
    media_names: HashSet<String>,
    notes: HashMap<i64, Vec<NoteTweet>>,
    clients: Clients,
    held: Vec<Held>,
}

type Invalid = (Option<String>, String);

impl Reading<'_> {
    /// Holds the tweet for sorting, or says it is skipped (a reply to someone else), or
    /// why it does not read.
    fn hold(&mut self, tweet: Tweet) -> Result<Option<Entry>, Invalid> {
        let raw_id = non_empty(tweet.id_str.clone()).ok_or((None, "no id_str".to_owned()))?;
        let invalid = |why: String| (Some(raw_id.clone()), why);
        let id: u64 = raw_id
            .trim()
            .parse()
            .map_err(|_| invalid(format!("the id {raw_id:?} is not a number")))?;
        let created = tweet
            .created_at
            .as_deref()
            .ok_or_else(|| invalid("no created_at".to_owned()))?;
        let published = DateTime::parse_from_str(created, "%a %b %d %H:%M:%S %z %Y")
            .map_err(|err| invalid(format!("created_at {created:?} does not read: {err}")))?
            .with_timezone(&Utc);

        let parent = tweet
            .in_reply_to_status_id_str
            .as_deref()
            .and_then(|p| p.trim().parse::<u64>().ok());
        let to_user = tweet.in_reply_to_user_id_str.as_deref();
        let to_name = tweet.in_reply_to_screen_name.as_deref();
        let is_reply = parent.is_some() || to_user.is_some_and(|u| !u.is_empty());
        let reply = if !is_reply {
            Reply::None
        } else if self.owner.is(to_user, to_name) {
            match parent {
                Some(parent) => Reply::Own(parent),
                None => Reply::None,
            }
        } else if self.owner.known() || parent.is_none() {
            if !self.options.include_replies_to_others {
                return Ok(Some(Entry::Skipped {
                    id: raw_id,
                    reason: SkipReason::ReplyToOther,
                }));
            }
            Reply::Other {
                parent,
                to: to_name.unwrap_or_default().into(),
            }
        } else {
            Reply::Unknown {
                parent: parent.unwrap_or_default(),
                to: to_name.map(Into::into),
            }
        };

        let mut raw_text = tweet
            .full_text
            .as_deref()
            .or(tweet.text.as_deref())
            .unwrap_or_default();
        let mut links: Vec<(&str, Option<&str>)> = Vec::new();
        let note = self.take_note(published.timestamp(), raw_text);
        if let Some(note) = &note {
            raw_text = &note.core.text;
            for url in &note.core.urls {
                links.push((&url.short_url, url.expanded_url.as_deref()));
            }
        }
        for url in &tweet.entities.urls {
            links.push((&url.url, url.expanded_url.as_deref()));
        }
        let media_entities = match &tweet.extended_entities {
            Some(extended) if !extended.media.is_empty() => &extended.media,
            _ => &tweet.entities.media,
        };
        for media in media_entities.iter().chain(&tweet.entities.media) {
            if let Some(url) = &media.url {
                links.push((url, None));
            }
        }

        let mut kind = ItemKind::Note;
        let mut shared_from = None;
        if let Some((name, rest)) = retweet_of(raw_text) {
            kind = ItemKind::Share;
            let name = tweet
                .entities
                .user_mentions
                .iter()
                .find(|m| m.screen_name.eq_ignore_ascii_case(name))
                .map_or(name, |m| m.screen_name.as_str());
            shared_from = Some(name.into());
            raw_text = rest;
        }
        let (text, html) = render(raw_text, &links);

        let media: Box<[HeldMedia]> = media_entities.iter().map(|m| self.media(id, m)).collect();
        if kind == ItemKind::Note {
            kind = match media_entities.first().and_then(|m| m.kind.as_deref()) {
                Some("video" | "animated_gif") => ItemKind::Video,
                Some(_) => ItemKind::Photo,
                None => ItemKind::Note,
            };
        }
        let via = tweet
            .source
            .as_deref()
            .map(client_name)
            .filter(|name| !name.is_empty())
            .and_then(|name| self.clients.intern(&name));
        let tags = tweet
            .entities
            .hashtags
            .iter()
            .map(|tag| tag.text.as_str().into())
            .collect();
        self.held.push(Held {
            id,
            published,
            text: text.into(),
            html,
            kind,
            shared_from,
            reply,
            via,
            media,
            tags,
        });
        Ok(None)
    }

    /// The note whose text this tweet's text starts, created the same second.
    fn take_note(&mut self, second: i64, raw_text: &str) -> Option<NoteTweet> {
        let candidates = self.notes.get_mut(&second)?;
        let sample: String = comparable(raw_text)
            .trim_end_matches('…')
            .chars()
            .take(NOTE_PREFIX_CHARS)
            .collect();
        let found = candidates
            .iter()
            .position(|note| !sample.is_empty() && comparable(&note.core.text).starts_with(&sample))
            .or(if candidates.len() == 1 { Some(0) } else { None })?;
        let note = candidates.swap_remove(found);
        if candidates.is_empty() {
            self.notes.remove(&second);
        }
        Some(note)
    }

    fn media(&self, id: u64, media: &MediaEntity) -> HeldMedia {
        let picture = media
            .media_url_https
            .as_deref()
            .or(media.media_url.as_deref());
        // A video's file in the archive is its best MP4, named after that variant.
        let video = media.video_info.as_ref().and_then(|info| {
            info.variants
                .iter()
                .filter(|v| v.content_type.as_deref() == Some("video/mp4"))
                .max_by_key(|v| bitrate(v.bitrate.as_ref()))
        });
        let url = video.map(|v| v.url.as_str()).or(picture);
        let file = [video.map(|v| v.url.as_str()), picture]
            .into_iter()
            .flatten()
            .filter_map(file_name)
            .map(|base| format!("{id}-{base}"))
            .find(|name| self.media_names.contains(name))
            .map(|name| format!("{}{name}", self.media_dir).into_boxed_str());
        HeldMedia {
            file,
            url: url
                .filter(|u| Url::parse(u).is_ok_and(|u| is_web(&u)))
                .map(Into::into),
            alt: media
                .ext_alt_text
                .as_deref()
                .map(str::trim)
                .filter(|alt| !alt.is_empty())
                .map(Into::into),
        }
    }

    /// Emits the held posts by id: oldest first, parents before their replies.
    fn emit_all(
        self,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let Reading {
            owner,
            options,
            clients,
            mut held,
            ..
        } = self;
        held.sort_unstable_by_key(|post| post.id);
        held.dedup_by_key(|post| post.id);
        let ids: Vec<u64> = held.iter().map(|post| post.id).collect();
        for post in held {
            let (reply_to, in_reply_to_url) = match post.reply {
                Reply::None => (None, None),
                Reply::Own(parent) => (Some(parent), owner.status_url(parent)),
                Reply::Unknown { parent, to } if ids.binary_search(&parent).is_err() => {
                    if !options.include_replies_to_others {
                        emit(Entry::Skipped {
                            id: post.id.to_string(),
                            reason: SkipReason::ReplyToOther,
                        })?;
                        continue;
                    }
                    (None, other_status_url(to.as_deref(), Some(parent)))
                }
                Reply::Unknown { parent, .. } => (Some(parent), owner.status_url(parent)),
                Reply::Other { parent, to } => (None, other_status_url(Some(&to), parent)),
            };
            let content = if post.html {
                Content::Html(post.text.into())
            } else {
                Content::Text(post.text.into())
            };
            let mut out = Post::note(post.id.to_string(), post.published, content);
            out.url = owner.status_url(post.id);
            out.kind = post.kind;
            out.shared_from = post.shared_from.map(|name| RawAuthor {
                url: Url::parse(&format!("https://twitter.com/{name}")).ok(),
                name: Some(name.into()),
                avatar: None,
            });
            out.reply_to = reply_to.map(|id| id.to_string());
            out.in_reply_to_url = in_reply_to_url;
            out.via = post
                .via
                .and_then(|idx| clients.names.get(idx as usize))
                .map(|name| name.to_string());
            out.media = post
                .media
                .into_vec()
                .into_iter()
                .map(|m| PostMedia {
                    file: m.file.map(Into::into),
                    url: m.url.and_then(|u| Url::parse(&u).ok()),
                    alt: m.alt.map(Into::into),
                })
                .collect();
            out.tags = post.tags.into_vec().into_iter().map(Into::into).collect();
            emit(Entry::Post(Box::new(out)))?;
        }
        Ok(())
    }
}

fn other_status_url(to: Option<&str>, parent: Option<u64>) -> Option<Url> {
    let parent = parent?;
    let url = match to.filter(|name| !name.is_empty()) {
        Some(name) => format!("https://twitter.com/{name}/status/{parent}"),
        None => format!("https://twitter.com/i/web/status/{parent}"),
    };
    Url::parse(&url).ok()
}

/// `RT @name: rest` → (`name`, `rest`).
fn retweet_of(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix("RT @")?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (name, after) = rest.split_at(end);
    let after = after.strip_prefix(':')?;
    (!name.is_empty()).then(|| (name, after.trim_start()))
}

fn bitrate(value: Option<&serde_json::Value>) -> u64 {
    match value {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// The last path segment of a media URL, without its query: the archive names the file
/// `{tweet id}-{that}`.
fn file_name(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let base = path.rsplit('/').next()?;
    (!base.is_empty() && base != "." && base != "..").then_some(base)
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// The client's name out of `source` (`<a href="…" rel="nofollow">Twitter for iPhone</a>`).
fn client_name(source: &str) -> String {
    let inner = match (source.find('>'), source.rfind("</a>")) {
        (Some(open), Some(close)) if open < close => &source[open + 1..close],
        _ => source,
    };
    let mut out = String::new();
    decode_entities(inner.trim(), &mut out);
    out
}

/// A tweet's text made comparable with a note's: no links, single spaces, entities
/// decoded.
fn comparable(raw: &str) -> String {
    let mut decoded = String::new();
    decode_entities(raw, &mut decoded);
    decoded
        .split_whitespace()
        .filter(|word| !word.starts_with("http://") && !word.starts_with("https://"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text with its t.co links resolved: `links` maps a short URL to what it expands to
/// (`None`: a media link, taken out). Returns HTML (`true`) when a link was made, else
/// plain text; either way Twitter's entities are decoded exactly once.
fn render(raw: &str, links: &[(&str, Option<&str>)]) -> (String, bool) {
    enum Piece<'a> {
        Text(&'a str),
        Link(Url),
        /// An expansion that is not a web address: shown as text.
        Plain(&'a str),
    }
    let mut pieces = Vec::new();
    let mut rest = raw;
    loop {
        let next = links
            .iter()
            .filter(|(short, _)| !short.is_empty())
            .filter_map(|(short, expanded)| {
                find_link(rest, short).map(|at| (at, short.len(), *expanded))
            })
            .min_by_key(|(at, len, _)| (*at, usize::MAX - len));
        let Some((at, len, expanded)) = next else {
            pieces.push(Piece::Text(rest));
            break;
        };
        pieces.push(Piece::Text(&rest[..at]));
        match expanded {
            None => {}
            Some(expanded) => match Url::parse(expanded) {
                Ok(url) if is_web(&url) => pieces.push(Piece::Link(url)),
                _ => pieces.push(Piece::Plain(expanded)),
            },
        }
        rest = &rest[at + len..];
    }
    let has_link = pieces.iter().any(|p| matches!(p, Piece::Link(_)));
    if !has_link {
        let mut text = String::with_capacity(raw.len());
        for piece in &pieces {
            match piece {
                Piece::Text(t) => decode_entities(t, &mut text),
                Piece::Plain(t) => text.push_str(t),
                Piece::Link(_) => {}
            }
        }
        return (tidy_spaces(&text), false);
    }
    let mut html = String::with_capacity(raw.len() * 2);
    for piece in &pieces {
        match piece {
            Piece::Text(t) => {
                let mut text = String::with_capacity(t.len());
                decode_entities(t, &mut text);
                push_escaped(&mut html, &text);
            }
            Piece::Plain(t) => push_escaped(&mut html, t),
            Piece::Link(url) => {
                html.push_str("<a href=\"");
                push_escaped(&mut html, url.as_str());
                html.push_str("\">");
                push_escaped(&mut html, url.as_str());
                html.push_str("</a>");
            }
        }
    }
    (paragraphs(&tidy_spaces(&html)), true)
}

/// Where `short` occurs in `text` as a whole link (not the start of a longer one).
fn find_link(text: &str, short: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(short) {
        let at = from + found;
        let after = text[at + short.len()..].chars().next();
        if !after.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Some(at);
        }
        from = at + short.len();
    }
    None
}

/// Trailing spaces left where media links were taken out, and spaces at line ends.
fn tidy_spaces(text: &str) -> String {
    text.trim()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Blank lines start paragraphs, line breaks become `<br>` (as plain text is shown).
fn paragraphs(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    for paragraph in html.split("\n\n") {
        let paragraph = paragraph.trim_matches('\n');
        if paragraph.trim().is_empty() {
            continue;
        }
        out.push_str("<p>");
        out.push_str(&paragraph.replace('\n', "<br>"));
        out.push_str("</p>");
    }
    out
}

/// Decodes the entities Twitter writes (`&amp;` `&lt;` `&gt;`, and `&quot;` `&#39;`),
/// once: what a decoded `&amp;` leaves is not read again.
fn decode_entities(text: &str, out: &mut String) {
    const ENTITIES: [(&str, char); 5] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
    ];
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match ENTITIES.iter().find(|(entity, _)| tail.starts_with(entity)) {
            Some((entity, c)) => {
                out.push(*c);
                rest = &tail[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::archive::{Limits, testkit};

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/archives/twitter")
    }

    fn read_zip(path: &Path, options: &ReadOptions) -> (Vec<Entry>, Account) {
        let scratch = tempfile::tempdir().unwrap();
        let mut files =
            ArchiveFiles::open(path, "twitter.zip", &Limits::default(), scratch.path()).unwrap();
        assert!(Twitter.detect(&files));
        let mut entries = Vec::new();
        let account = Twitter
            .read(&mut files, options, &mut |entry| {
                entries.push(entry);
                Ok(())
            })
            .unwrap();
        (entries, account)
    }

    fn read_sample(options: &ReadOptions) -> (Vec<Entry>, Account) {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("twitter.zip");
        testkit::zip_dir(&fixture(), &zip);
        read_zip(&zip, options)
    }

    use super::super::testkit::posts;

    fn skipped(entries: &[Entry]) -> Vec<(&str, &SkipReason)> {
        entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Skipped { id, reason } => Some((id.as_str(), reason)),
                Entry::Post(_) => None,
            })
            .collect()
    }

    #[track_caller]
    fn post<'a>(entries: &'a [Entry], id: &str) -> &'a Post {
        posts(entries)
            .into_iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("no post {id}"))
    }

    fn url(text: &str) -> Option<Url> {
        Some(Url::parse(text).unwrap())
    }

    #[test]
    fn the_sample_reads_oldest_first_with_its_skips_and_account() {
        let (entries, account) = read_sample(&ReadOptions::default());
        let ids: Vec<&str> = posts(&entries).iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1009", "1010", "1011",
                "1013"
            ]
        );
        let skips = skipped(&entries);
        assert_eq!(skips.len(), 3, "{skips:?}");
        assert!(skips.contains(&("1008", &SkipReason::ReplyToOther)));
        assert!(skips.iter().any(|(id, r)| *id == "1012"
            && matches!(r, SkipReason::Invalid(why) if why.contains("created_at"))));
        assert!(skips.iter().any(
            |(id, r)| *id == "data/tweets.js, record 3" && matches!(r, SkipReason::Invalid(_))
        ));
        assert_eq!(
            account,
            Account {
                handle: Some("@ana_tw".to_owned()),
                name: Some("Ana Example".to_owned()),
                url: url("https://twitter.com/ana_tw"),
            }
        );
    }

    #[test]
    fn entities_are_decoded_once_and_the_date_url_client_and_tags_kept() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let first = post(&entries, "1001");
        assert_eq!(
            first.content,
            Content::Text("Tom & Jerry &lt;3 #rust".to_owned())
        );
        assert_eq!(first.published.to_rfc3339(), "2018-10-10T20:19:24+00:00");
        assert_eq!(first.url, url("https://twitter.com/ana_tw/status/1001"));
        assert_eq!(first.via.as_deref(), Some("Twitter Web App"));
        assert_eq!(first.tags, ["rust"]);
        assert_eq!(first.kind, ItemKind::Note);
        assert_eq!(first.reply_to, None);
    }

    #[test]
    fn tco_links_become_links_to_what_they_expand_to() {
        let (entries, _) = read_sample(&ReadOptions::default());
        assert_eq!(
            post(&entries, "1002").content,
            Content::Html(
                "<p>Read this <a href=\"https://example.com/post?a=1&amp;b=2\">\
                 https://example.com/post?a=1&amp;b=2</a> now</p>"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_photo_keeps_its_file_and_alt_text_and_loses_its_link() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let photo = post(&entries, "1003");
        assert_eq!(photo.kind, ItemKind::Photo);
        assert_eq!(photo.content, Content::Text("Sunset".to_owned()));
        assert_eq!(
            photo.media,
            [PostMedia {
                file: Some("data/tweets_media/1003-Sunset01.png".to_owned()),
                url: url("https://pbs.twimg.com/media/Sunset01.png"),
                alt: Some("A red sun over the sea".to_owned()),
            }]
        );
        let cat = post(&entries, "1013");
        assert_eq!(cat.via.as_deref(), Some("Tweetbot for Mac"));
        assert_eq!(
            cat.media[0].file.as_deref(),
            Some("data/tweets_media/1013-Cat00004.jpg")
        );
        assert_eq!(cat.media[0].alt, None, "an empty alt text is no alt text");
    }

    #[test]
    fn media_missing_from_the_archive_keeps_only_its_address() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let lost = post(&entries, "1004");
        assert_eq!(lost.content, Content::Text("Lost photo".to_owned()));
        assert_eq!(
            lost.media,
            [PostMedia {
                file: None,
                url: url("https://pbs.twimg.com/media/Gone0002.jpg"),
                alt: None,
            }]
        );
    }

    #[test]
    fn a_video_is_its_best_mp4() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let video = post(&entries, "1010");
        assert_eq!(video.kind, ItemKind::Video);
        assert_eq!(video.content, Content::Text("Surf! #waves".to_owned()));
        assert_eq!(
            video.media,
            [PostMedia {
                file: Some("data/tweets_media/1010-Clip0003.mp4".to_owned()),
                url: url(
                    "https://video.twimg.com/ext_tw_video/1010/pu/vid/720x720/Clip0003.mp4?tag=12"
                ),
                alt: None,
            }]
        );
    }

    #[test]
    fn a_retweet_is_a_share_of_its_author() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let share = post(&entries, "1005");
        assert_eq!(share.kind, ItemKind::Share);
        assert_eq!(
            share.shared_from,
            Some(RawAuthor {
                name: Some("bob".to_owned()),
                url: url("https://twitter.com/bob"),
                avatar: None,
            })
        );
        assert_eq!(
            share.content,
            Content::Text("Great & useful thing".to_owned())
        );
    }

    #[test]
    fn a_thread_keeps_its_parents_and_comes_parents_first() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let second = post(&entries, "1007");
        assert_eq!(second.reply_to.as_deref(), Some("1006"));
        assert_eq!(
            second.in_reply_to_url,
            url("https://twitter.com/ana_tw/status/1006")
        );
        assert_eq!(post(&entries, "1013").reply_to.as_deref(), Some("1007"));
        let position = |id: &str| posts(&entries).iter().position(|p| p.id == id).unwrap();
        assert!(position("1006") < position("1007"));
        assert!(position("1007") < position("1013"));
    }

    #[test]
    fn replies_to_others_come_only_when_asked_for() {
        let options = ReadOptions {
            include_replies_to_others: true,
            ..ReadOptions::default()
        };
        let (entries, _) = read_sample(&options);
        assert_eq!(posts(&entries).len(), 12);
        let reply = post(&entries, "1008");
        assert_eq!(reply.reply_to, None);
        assert_eq!(
            reply.in_reply_to_url,
            url("https://twitter.com/carol/status/900")
        );
        assert_eq!(reply.content, Content::Text("@carol I agree".to_owned()));
        assert!(!skipped(&entries).iter().any(|(id, _)| *id == "1008"));
    }

    #[test]
    fn a_long_post_has_its_notes_whole_text() {
        let (entries, _) = read_sample(&ReadOptions::default());
        let Content::Html(html) = &post(&entries, "1009").content else {
            panic!("the note has a link, so it is HTML");
        };
        assert!(
            html.starts_with("<p>This is a long post, longer than a tweet may be."),
            "{html}"
        );
        assert!(html.contains("the whole text &amp; the tweet keeps only its start"));
        assert!(html.ends_with(
            "linked at <a href=\"https://example.org/essay\">https://example.org/essay</a> \
             and nothing after.</p>"
        ));
        assert!(!html.contains("t.co"), "{html}");
    }

    #[test]
    fn markup_in_a_tweet_stays_text() {
        let (entries, _) = read_sample(&ReadOptions::default());
        assert_eq!(
            post(&entries, "1011").content,
            Content::Text(
                "<script>alert(1)</script> is how it starts\n\nand \"quotes\" stay".to_owned()
            )
        );
        for post in posts(&entries) {
            if let Content::Html(html) = &post.content {
                assert!(!html.contains("<script"), "{html}");
            }
        }
    }

    #[test]
    fn direct_messages_are_never_read() {
        let (entries, _) = read_sample(&ReadOptions {
            include_replies_to_others: true,
            include_private: true,
        });
        for post in posts(&entries) {
            let (Content::Html(text) | Content::Text(text)) = &post.content;
            assert!(!text.contains("private word"), "{text}");
        }
    }

    #[test]
    fn the_sample_media_are_what_their_names_say() {
        let dir = fixture().join("data/tweets_media");
        assert_eq!(super::super::testkit::assert_media_match_names(&dir), 3);
    }

    #[test]
    fn a_generated_archive_reads_whole_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("big.zip");
        testkit::write_twitter_archive(&zip, 2_000, 100);
        let (entries, account) = read_zip(&zip, &ReadOptions::default());
        assert_eq!(account.handle.as_deref(), Some("@bench_user"));
        let posts = posts(&entries);
        assert_eq!(posts.len(), 2_000);
        assert_eq!(entries.len(), 2_000);
        let ids: Vec<u64> = posts.iter().map(|p| p.id.parse().unwrap()).collect();
        let expected: Vec<u64> = (0..2_000)
            .map(|i| testkit::GENERATED_FIRST_ID + i)
            .collect();
        assert_eq!(ids, expected);
        let with_files = posts
            .iter()
            .filter(|p| p.media.iter().any(|m| m.file.is_some()))
            .count();
        assert_eq!(with_files, 100);
        let with_links = posts
            .iter()
            .filter(|p| matches!(&p.content, Content::Html(h) if h.contains("href=\"https://example.com/articles/")))
            .count();
        assert_eq!(with_links, 200);
        let replies = posts.iter().filter(|p| p.reply_to.is_some()).count();
        assert_eq!(replies, 80);
        let seventh = posts[7];
        assert_eq!(
            seventh.content,
            Content::Text(
                "Generated tweet number 7, a line of text about as long as most & more".to_owned()
            )
        );
        assert_eq!(
            posts[26].reply_to.as_deref(),
            Some((testkit::GENERATED_FIRST_ID + 25).to_string().as_str())
        );
    }

    /// A zip of the given files, in the given order.
    fn zip_of(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
        let path = dir.join("inline.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        for (name, body) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn tweet(id: u64, parent: Option<u64>, date: &str) -> String {
        let reply = parent.map_or(String::new(), |p| {
            format!(r#""in_reply_to_status_id_str": "{p}", "in_reply_to_user_id_str": "9","#)
        });
        format!(
            r#"{{"tweet": {{"id_str": "{id}", {reply} "created_at": "{date}", "full_text": "t{id}"}}}}"#
        )
    }

    #[test]
    fn without_an_account_a_reply_is_ones_own_when_its_parent_is_in_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let tweets = format!(
            "window.YTD.tweet.part0 = [{}, {}, {}]",
            tweet(30, Some(5), "Wed Oct 10 20:19:26 +0000 2018"),
            tweet(20, Some(10), "Wed Oct 10 20:19:25 +0000 2018"),
            tweet(10, None, "Wed Oct 10 20:19:24 +0000 2018"),
        );
        let zip = zip_of(dir.path(), &[("export/data/tweet.js", &tweets)]);
        let (entries, account) = read_zip(&zip, &ReadOptions::default());
        assert_eq!(account, Account::default());
        let ids: Vec<&str> = posts(&entries).iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["10", "20"]);
        assert_eq!(post(&entries, "20").reply_to.as_deref(), Some("10"));
        assert_eq!(
            post(&entries, "20").url,
            url("https://twitter.com/i/web/status/20")
        );
        assert_eq!(skipped(&entries), [("30", &SkipReason::ReplyToOther)]);
    }

    #[test]
    fn the_account_comes_from_account_js_without_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let tweets = format!(
            "window.YTD.tweets.part0 = [{}]",
            tweet(10, None, "Wed Oct 10 20:19:24 +0000 2018")
        );
        let account = r#"window.YTD.account.part0 = [{"account": {"accountId": "9", "username": "zed", "accountDisplayName": "Zed"}}]"#;
        let zip = zip_of(
            dir.path(),
            &[("data/account.js", account), ("data/tweets.js", &tweets)],
        );
        let (entries, account) = read_zip(&zip, &ReadOptions::default());
        assert_eq!(account.handle.as_deref(), Some("@zed"));
        assert_eq!(
            post(&entries, "10").url,
            url("https://twitter.com/zed/status/10")
        );
    }

    #[test]
    fn a_broken_tweets_file_is_malformed_and_other_archives_are_not_detected() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_of(
            dir.path(),
            &[("data/tweets.js", "window.YTD.tweets.part0 = [{\"tweet\": {")],
        );
        let scratch = tempfile::tempdir().unwrap();
        let mut files =
            ArchiveFiles::open(&zip, "t.zip", &Limits::default(), scratch.path()).unwrap();
        let err = Twitter
            .read(&mut files, &ReadOptions::default(), &mut |_| Ok(()))
            .unwrap_err();
        assert!(
            matches!(&err, ArchiveError::Malformed { file, .. } if file == "data/tweets.js"),
            "{err}"
        );

        let other = zip_of(dir.path(), &[("outbox.json", "{}")]);
        let mut files =
            ArchiveFiles::open(&other, "o.zip", &Limits::default(), scratch.path()).unwrap();
        assert!(!Twitter.detect(&files));
        let err = Twitter
            .read(&mut files, &ReadOptions::default(), &mut |_| Ok(()))
            .unwrap_err();
        assert!(matches!(err, ArchiveError::NotThisArchive(_)), "{err}");
    }

    #[test]
    fn a_consumer_that_stops_stops_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("twitter.zip");
        testkit::zip_dir(&fixture(), &zip);
        let mut files = ArchiveFiles::open(&zip, "t.zip", &Limits::default(), dir.path()).unwrap();
        let mut n_seen = 0;
        let result = Twitter.read(&mut files, &ReadOptions::default(), &mut |_| {
            n_seen += 1;
            Err(ArchiveError::Stopped)
        });
        assert!(matches!(result, Err(ArchiveError::Stopped)));
        assert_eq!(n_seen, 1);
    }

    #[track_caller]
    fn check_render(raw: &str, links: &[(&str, Option<&str>)], expected: &str, html: bool) {
        assert_eq!(render(raw, links), (expected.to_owned(), html));
    }

    #[test]
    fn entities_decode_once() {
        check_render("a &amp;amp; b &lt;i&gt;", &[], "a &amp; b <i>", false);
    }

    #[test]
    fn a_stray_ampersand_stays() {
        check_render("fish & chips &amp", &[], "fish & chips &amp", false);
    }

    #[test]
    fn a_link_escapes_the_text_around_it() {
        check_render(
            "&lt;b&gt; https://t.co/x1 &amp;amp;",
            &[("https://t.co/x1", Some("https://e.com/"))],
            "<p>&lt;b&gt; <a href=\"https://e.com/\">https://e.com/</a> &amp;amp;</p>",
            true,
        );
    }

    #[test]
    fn a_link_that_is_not_a_web_address_is_text() {
        check_render(
            "see https://t.co/x1",
            &[("https://t.co/x1", Some("javascript:alert(1)"))],
            "see javascript:alert(1)",
            false,
        );
    }

    #[test]
    fn a_short_link_is_not_matched_inside_a_longer_one() {
        check_render(
            "https://t.co/ab https://t.co/abc",
            &[("https://t.co/ab", None)],
            "https://t.co/abc",
            false,
        );
    }

    #[test]
    fn lines_become_breaks_and_paragraphs_in_html() {
        check_render(
            "one\ntwo\n\nthree https://t.co/x1",
            &[("https://t.co/x1", Some("https://e.com/"))],
            "<p>one<br>two</p><p>three <a href=\"https://e.com/\">https://e.com/</a></p>",
            true,
        );
    }

    #[test]
    fn a_retweet_prefix_names_its_author() {
        assert_eq!(retweet_of("RT @bob_1: hi"), Some(("bob_1", "hi")));
        assert_eq!(retweet_of("RT @: hi"), None);
        assert_eq!(retweet_of("RT bob: hi"), None);
    }
}
