//! A Bluesky repository export (`repo.car` from `com.atproto.sync.getRepo`) read into
//! posts and reposts. Pure: reads the archive's one file, no network, no store.
//!
//! The file is a CARv1: a DAG-CBOR header naming the root, then blocks, each a CID and
//! its bytes. Every block is checked against its CID (sha2-256, the only hash the atproto
//! repository spec allows) before it is decoded; a block that does not match refuses the
//! whole file, and so does a file cut short. The CAR framing is read here (a length, a
//! CID, the bytes), bounded at every step; CIDs are parsed by `cid` (through
//! `ipld-core`) and blocks decoded by `serde_ipld_dagcbor`.
//!
//! The root is the signed commit (`{did, version: 3, data, rev, sig}`, the signature not
//! checked: that needs the account's DID document); `data` is the root of the Merkle
//! Search Tree whose keys are `collection/rkey` and whose values are the records' CIDs.
//! Each block is decoded as it streams by into a compact form (a tree node, or a record
//! reduced to what a post needs), so the raw file is never held; the tree is walked once
//! the file is read. Records the tree does not reach (none in a real export) are left.
//!
//! Posts keep their facets as links (the connector's `render_facets`, byte offsets into
//! the UTF-8 text), their images as addresses on Bluesky's image CDN with alt text (the
//! export holds no blobs), link cards, and quotes; reposts become shares; a reply to one
//! of the owner's own posts is threaded to it, a reply to someone else is left out unless
//! asked for. Likes, follows, the profile and other records are skipped by name.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Read};

use chrono::{DateTime, Utc};
use connectors::site::bluesky::render_facets;
use connectors::site::{escape_html, http_url};
use connectors::{Content, ItemKind, RawAuthor};
use ipld_core::cid::Cid;
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    Account, ArchiveError, ArchiveFiles, Entry, Platform, Post, PostMedia, ReadOptions, Reader,
    SkipReason,
};

/// The CAR header is a few dozen bytes; anything near this is not a repository.
const MAX_HEADER_BYTES: u64 = 64 * 1024;
/// A record is at most 1 MiB under the atproto limits; tree nodes are far smaller.
const MAX_BLOCK_BYTES: u64 = 4 * 1024 * 1024;
/// Multicodec codes (the multiformats table).
const DAG_CBOR: u64 = 0x71;
const SHA2_256: u64 = 0x12;

const POST: &str = "app.bsky.feed.post";
const REPOST: &str = "app.bsky.feed.repost";
const PROFILE: &str = "app.bsky.actor.profile";

/// The reader of a Bluesky repository export.
pub struct Bluesky;

impl Reader for Bluesky {
    fn platform(&self) -> Platform {
        Platform::Bluesky
    }

    fn detect(&self, files: &ArchiveFiles) -> bool {
        car_name(files).is_some()
    }

    fn read(
        &self,
        files: &mut ArchiveFiles,
        options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError> {
        let name = car_name(files)
            .ok_or_else(|| ArchiveError::NotThisArchive("it holds no .car file".to_owned()))?;
        let repo = {
            let entry = files.open_entry(&name)?;
            read_car(BufReader::with_capacity(1 << 16, entry), &name)?
        };
        repo.emit(options, emit)
    }
}

/// The repository file: the one ending `.car` (any case).
fn car_name(files: &ArchiveFiles) -> Option<String> {
    files.find(|name| name.to_ascii_lowercase().ends_with(".car"))
}

// --- The CAR file ---

#[derive(Deserialize)]
struct CarHeader {
    version: u64,
    roots: Vec<Cid>,
}

#[derive(Deserialize)]
struct Commit {
    did: String,
    version: u64,
    data: Cid,
}

/// What a block is told apart by: records carry `$type`, tree nodes an `e` list.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "$type")]
    kind: Option<String>,
    e: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Node {
    l: Option<Cid>,
    e: Vec<NodeEntry>,
}

#[derive(Deserialize)]
struct NodeEntry {
    /// Bytes shared with the previous key of the node.
    p: usize,
    /// The rest of the key.
    k: serde_bytes::ByteBuf,
    v: Cid,
    t: Option<Cid>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostRecord {
    #[serde(default)]
    text: String,
    created_at: String,
    /// Kept as JSON for `render_facets`, which the connector uses too.
    #[serde(default)]
    facets: Option<serde_json::Value>,
    reply: Option<ReplyRef>,
    embed: Option<Embed>,
    #[serde(default)]
    tags: Vec<String>,
    labels: Option<SelfLabels>,
}

#[derive(Deserialize)]
struct ReplyRef {
    parent: StrongRef,
}

#[derive(Deserialize)]
struct StrongRef {
    uri: String,
}

#[derive(Deserialize)]
struct SelfLabels {
    #[serde(default)]
    values: Vec<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Embed {
    #[serde(rename = "$type")]
    kind: String,
    #[serde(default)]
    images: Vec<Image>,
    video: Option<Blob>,
    alt: Option<String>,
    external: Option<External>,
    /// A strong ref (`embed.record`) or, in `recordWithMedia`, an `embed.record`.
    record: Option<EmbedRecord>,
    media: Option<Box<Embed>>,
}

#[derive(Deserialize)]
struct EmbedRecord {
    uri: Option<String>,
    record: Option<StrongRef>,
}

#[derive(Deserialize)]
struct Image {
    image: Option<Blob>,
    alt: Option<String>,
}

/// A blob: `{$type: blob, ref: link, mimeType, size}`, or the legacy `{cid, mimeType}`.
#[derive(Deserialize)]
struct Blob {
    #[serde(rename = "ref")]
    link: Option<Cid>,
    cid: Option<String>,
}

#[derive(Deserialize)]
struct External {
    uri: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepostRecord {
    created_at: String,
    subject: StrongRef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileRecord {
    display_name: Option<String>,
}

/// A block, reduced to what the walk and the posts need.
enum Block {
    Node(Node),
    Post(Box<PostRecord>),
    Repost(RepostRecord),
    Profile(ProfileRecord),
    /// Another record, by its `$type`.
    Other(String),
    /// A record that does not decode: why.
    Unreadable(String),
}

/// The repository as read: the commit and the decoded blocks by CID.
struct Repo {
    /// The file's name in the archive, for errors.
    file: String,
    did: String,
    data: Cid,
    blocks: HashMap<Cid, Block>,
}

fn malformed(file: &str, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Malformed {
        file: file.to_owned(),
        message: message.into(),
    }
}

fn read_error(file: &str, err: &io::Error) -> ArchiveError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        malformed(file, "the file is cut short")
    } else {
        malformed(file, err.to_string())
    }
}

/// An unsigned LEB128 varint (multiformats `unsigned-varint`: at most 9 bytes). `None`
/// when the file ends before its first byte.
fn read_varint(reader: &mut impl Read, file: &str) -> Result<Option<u64>, ArchiveError> {
    let mut value = 0u64;
    for index in 0..9 {
        let mut byte = [0u8; 1];
        let n = loop {
            match reader.read(&mut byte) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(read_error(file, &err)),
            }
        };
        if n == 0 {
            return if index == 0 {
                Ok(None)
            } else {
                Err(malformed(file, "the file is cut short"))
            };
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * index);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(malformed(
        file,
        "a length in the file is not a valid varint",
    ))
}

fn read_exact_vec(reader: &mut impl Read, len: u64, file: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    let got = reader
        .take(len)
        .read_to_end(&mut bytes)
        .map_err(|err| read_error(file, &err))?;
    if got as u64 != len {
        return Err(malformed(file, "the file is cut short"));
    }
    Ok(bytes)
}

fn read_car(mut reader: impl Read, file: &str) -> Result<Repo, ArchiveError> {
    let not_car = || {
        ArchiveError::NotThisArchive(format!(
            "{file} is not a repository export (a CARv1 file from getRepo)"
        ))
    };
    let header_len = read_varint(&mut reader, file)?.ok_or_else(not_car)?;
    if header_len == 0 || header_len > MAX_HEADER_BYTES {
        return Err(not_car());
    }
    let header = read_exact_vec(&mut reader, header_len, file)?;
    let header: CarHeader = serde_ipld_dagcbor::from_slice(&header).map_err(|_| not_car())?;
    if header.version != 1 {
        return Err(malformed(
            file,
            format!(
                "CAR version {} is not read; getRepo writes version 1",
                header.version
            ),
        ));
    }
    let root = *header
        .roots
        .first()
        .ok_or_else(|| malformed(file, "the file names no root commit"))?;

    let mut commit = None;
    let mut blocks = HashMap::new();
    while let Some(len) = read_varint(&mut reader, file)? {
        if len == 0 || len > MAX_BLOCK_BYTES {
            return Err(malformed(file, format!("a block declares {len} bytes")));
        }
        let section = read_exact_vec(&mut reader, len, file)?;
        let mut rest = &section[..];
        let cid = Cid::read_bytes(&mut rest)
            .map_err(|err| malformed(file, format!("a block's CID does not read: {err}")))?;
        let hash = cid.hash();
        if hash.code() != SHA2_256 || hash.digest().len() != 32 {
            return Err(malformed(
                file,
                format!("the block {cid} is not addressed by sha2-256, which atproto requires"),
            ));
        }
        if Sha256::digest(rest).as_slice() != hash.digest() {
            return Err(malformed(
                file,
                format!("the block {cid} does not match its CID (damaged or altered)"),
            ));
        }
        if cid.codec() != DAG_CBOR {
            // Raw blocks (blobs) are no part of a repository's records.
            continue;
        }
        if cid == root {
            let decoded: Commit = serde_ipld_dagcbor::from_slice(rest)
                .map_err(|err| malformed(file, format!("the commit does not read: {err}")))?;
            commit = Some(decoded);
            continue;
        }
        blocks.insert(cid, decode_block(rest));
    }
    let commit = commit.ok_or_else(|| malformed(file, "the root commit is not in the file"))?;
    if commit.version != 3 && commit.version != 2 {
        return Err(malformed(
            file,
            format!("repository version {} is not read", commit.version),
        ));
    }
    if !commit.did.starts_with("did:") {
        return Err(malformed(file, "the commit names no DID"));
    }
    Ok(Repo {
        file: file.to_owned(),
        did: commit.did,
        data: commit.data,
        blocks,
    })
}

fn decode_block(bytes: &[u8]) -> Block {
    let probe: Probe = match serde_ipld_dagcbor::from_slice(bytes) {
        Ok(probe) => probe,
        Err(err) => return Block::Unreadable(err.to_string()),
    };
    fn decoded<T: for<'de> Deserialize<'de>>(bytes: &[u8], wrap: impl Fn(T) -> Block) -> Block {
        match serde_ipld_dagcbor::from_slice(bytes) {
            Ok(value) => wrap(value),
            Err(err) => Block::Unreadable(err.to_string()),
        }
    }
    match probe.kind.as_deref() {
        Some(POST) => decoded(bytes, |post| Block::Post(Box::new(post))),
        Some(REPOST) => decoded(bytes, Block::Repost),
        Some(PROFILE) => decoded(bytes, Block::Profile),
        Some(other) => Block::Other(other.to_owned()),
        None if probe.e.is_some() => decoded(bytes, Block::Node),
        None => Block::Unreadable("neither a record nor a tree node".to_owned()),
    }
}

// --- The tree and the records ---

/// A record's place: its collection and key.
struct Key {
    collection: String,
    rkey: String,
}

impl Repo {
    /// Every `(key, record CID)` of the tree, in key order.
    fn walk(&self) -> Result<Vec<(Key, Cid)>, ArchiveError> {
        let file = self.file.as_str();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![self.data];
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            let node = match self.blocks.get(&cid) {
                Some(Block::Node(node)) => node,
                Some(_) => return Err(malformed(file, format!("{cid} is not a tree node"))),
                None => {
                    return Err(malformed(
                        file,
                        format!("the repository is incomplete: the tree node {cid} is missing"),
                    ));
                }
            };
            stack.extend(node.l);
            let mut previous: Vec<u8> = Vec::new();
            for entry in &node.e {
                let Some(shared) = previous.get(..entry.p) else {
                    return Err(malformed(file, format!("a key in {cid} does not read")));
                };
                let mut key = shared.to_vec();
                key.extend_from_slice(&entry.k);
                stack.extend(entry.t);
                let text = String::from_utf8(key.clone())
                    .map_err(|_| malformed(file, format!("a key in {cid} is not text")))?;
                let (collection, rkey) = text
                    .split_once('/')
                    .ok_or_else(|| malformed(file, format!("the key {text:?} has no `/`")))?;
                out.push((
                    Key {
                        collection: collection.to_owned(),
                        rkey: rkey.to_owned(),
                    },
                    entry.v,
                ));
                previous = key;
            }
        }
        out.sort_by(|a, b| (&a.0.collection, &a.0.rkey).cmp(&(&b.0.collection, &b.0.rkey)));
        Ok(out)
    }

    fn emit(
        self,
        options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError> {
        let did = self.did.clone();
        let mut account = Account {
            handle: None,
            name: None,
            url: profile_url(&did),
        };
        let mut drafts = Vec::new();
        let mut skipped = Vec::new();
        for (key, cid) in self.walk()? {
            let id = format!("at://{did}/{}/{}", key.collection, key.rkey);
            let skip = |reason| Entry::Skipped {
                id: id.clone(),
                reason,
            };
            match self.blocks.get(&cid) {
                None => skipped.push(skip(SkipReason::Invalid(
                    "the record is not in the file".to_owned(),
                ))),
                Some(Block::Post(record)) => match post_draft(&did, &key.rkey, record) {
                    Ok(draft) => drafts.push(draft),
                    Err(why) => skipped.push(skip(SkipReason::Invalid(why))),
                },
                Some(Block::Repost(record)) => match repost(&did, &key.rkey, record) {
                    Ok(post) => drafts.push(Draft { post, parent: None }),
                    Err(why) => skipped.push(skip(SkipReason::Invalid(why))),
                },
                Some(Block::Profile(profile)) => {
                    if key.rkey == "self" {
                        account.name = profile
                            .display_name
                            .as_deref()
                            .map(str::trim)
                            .filter(|name| !name.is_empty())
                            .map(str::to_owned);
                    }
                    skipped.push(skip(SkipReason::Unsupported("profile".to_owned())));
                }
                Some(Block::Other(kind)) => {
                    skipped.push(skip(SkipReason::Unsupported(kind_name(kind))));
                }
                Some(Block::Node(_)) => skipped.push(skip(SkipReason::Invalid(
                    "a tree node where a record belongs".to_owned(),
                ))),
                Some(Block::Unreadable(why)) => {
                    skipped.push(skip(SkipReason::Invalid(why.clone())));
                }
            }
        }
        drop(self);
        for entry in thread(&did, drafts, options, &mut skipped) {
            emit(Entry::Post(Box::new(entry)))?;
        }
        for entry in skipped {
            emit(entry)?;
        }
        Ok(account)
    }
}

/// A post before the threading: the parent it answers, as `(did, at:// URI)`.
struct Draft {
    post: Post,
    parent: Option<(String, String)>,
}

/// The short name of a record type for the summary: `like` for `app.bsky.feed.like`,
/// the whole NSID for another application's records.
fn kind_name(kind: &str) -> String {
    match kind.strip_prefix("app.bsky.") {
        Some(rest) => rest.rsplit('.').next().unwrap_or(rest).to_owned(),
        None => kind.to_owned(),
    }
}

fn profile_url(did: &str) -> Option<Url> {
    let mut url = Url::parse("https://bsky.app/profile").ok()?;
    url.path_segments_mut().ok()?.push(did);
    Some(url)
}

/// `at://{did}/{collection}/{rkey}` → its parts.
fn parse_at_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let mut parts = uri.strip_prefix("at://")?.split('/');
    let did = parts.next().filter(|did| !did.is_empty())?;
    let collection = parts.next()?;
    let rkey = parts.next().filter(|rkey| !rkey.is_empty())?;
    parts.next().is_none().then_some((did, collection, rkey))
}

/// The bsky.app address of a post's `at://` URI.
fn post_url(uri: &str) -> Option<Url> {
    let (did, collection, rkey) = parse_at_uri(uri)?;
    if collection != POST {
        return None;
    }
    let mut url = profile_url(did)?;
    url.path_segments_mut().ok()?.push("post").push(rkey);
    Some(url)
}

fn parse_date(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|date| date.with_timezone(&Utc))
        .map_err(|_| format!("the date {text:?} does not read"))
}

/// The image CDN's address of a blob (the export holds the record, not the image).
fn image_url(did: &str, blob: &Blob) -> Option<Url> {
    let cid = blob_cid(blob)?;
    Url::parse(&format!(
        "https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg"
    ))
    .ok()
}

fn blob_cid(blob: &Blob) -> Option<String> {
    let cid = match (&blob.link, &blob.cid) {
        (Some(link), _) => link.to_string(),
        (None, Some(text)) => Cid::try_from(text.as_str()).ok()?.to_string(),
        (None, None) => return None,
    };
    Some(cid)
}

fn post_draft(did: &str, rkey: &str, record: &PostRecord) -> Result<Draft, String> {
    let published = parse_date(&record.created_at)?;
    let id = format!("at://{did}/{POST}/{rkey}");
    let mut html = render_facets(&record.text, record.facets.as_ref());
    let mut post = Post::note(id.clone(), published, Content::Html(String::new()));
    post.url = post_url(&id);
    post.tags = record.tags.clone();
    for tag in facet_tags(record.facets.as_ref()) {
        if !post.tags.contains(&tag) {
            post.tags.push(tag);
        }
    }
    post.sensitive = record
        .labels
        .as_ref()
        .is_some_and(|labels| !labels.values.is_empty());
    if let Some(embed) = &record.embed {
        embed_into(did, embed, &mut post, &mut html);
    }
    post.content = Content::Html(html);
    let parent = record.reply.as_ref().and_then(|reply| {
        let (parent_did, _, _) = parse_at_uri(&reply.parent.uri)?;
        Some((parent_did.to_owned(), reply.parent.uri.clone()))
    });
    if let Some((_, uri)) = &parent {
        post.in_reply_to_url = post_url(uri);
    }
    Ok(Draft { post, parent })
}

/// The tags of `#tag` facets.
fn facet_tags(facets: Option<&serde_json::Value>) -> Vec<String> {
    let mut tags = Vec::new();
    for facet in facets.and_then(|f| f.as_array()).into_iter().flatten() {
        let features = facet.get("features").and_then(|f| f.as_array());
        for feature in features.into_iter().flatten() {
            let kind = feature.get("$type").and_then(|t| t.as_str()).unwrap_or("");
            if kind.ends_with("#tag")
                && let Some(tag) = feature.get("tag").and_then(|t| t.as_str())
            {
                tags.push(tag.to_owned());
            }
        }
    }
    tags
}

fn embed_into(did: &str, embed: &Embed, post: &mut Post, html: &mut String) {
    let kind = embed.kind.as_str();
    if kind.starts_with("app.bsky.embed.images") {
        for image in &embed.images {
            let Some(url) = image.image.as_ref().and_then(|blob| image_url(did, blob)) else {
                continue;
            };
            post.media.push(PostMedia {
                file: None,
                url: Some(url),
                alt: image.alt.clone().filter(|alt| !alt.trim().is_empty()),
            });
        }
        if !post.media.is_empty() {
            post.kind = ItemKind::Photo;
        }
    } else if kind.starts_with("app.bsky.embed.video") {
        let cid = embed.video.as_ref().and_then(blob_cid);
        if let Some(url) = cid.and_then(|cid| {
            Url::parse(&format!(
                "https://video.bsky.app/watch/{did}/{cid}/playlist.m3u8"
            ))
            .ok()
        }) {
            post.media.push(PostMedia {
                file: None,
                url: Some(url),
                alt: embed.alt.clone().filter(|alt| !alt.trim().is_empty()),
            });
            post.kind = ItemKind::Video;
        }
    } else if kind.starts_with("app.bsky.embed.external") {
        if let Some(external) = &embed.external
            && let Some(link) = http_url(&external.uri)
        {
            let title = if external.title.trim().is_empty() {
                link.as_str()
            } else {
                external.title.as_str()
            };
            html.push_str(&format!(
                "<blockquote><p><a href=\"{}\">{}</a></p>",
                escape_html(link.as_str()),
                escape_html(title)
            ));
            if !external.description.trim().is_empty() {
                html.push_str(&format!("<p>{}</p>", escape_html(&external.description)));
            }
            html.push_str("</blockquote>");
            if post.kind == ItemKind::Note {
                post.kind = ItemKind::Link;
            }
        }
    } else if kind.starts_with("app.bsky.embed.recordWithMedia") {
        if let Some(media) = &embed.media {
            embed_into(did, media, post, html);
        }
        let quoted = embed
            .record
            .as_ref()
            .and_then(|record| record.record.as_ref());
        if let Some(quoted) = quoted {
            post.quote_of = post_url(&quoted.uri);
        }
    } else if kind.starts_with("app.bsky.embed.record")
        && let Some(uri) = embed.record.as_ref().and_then(|r| r.uri.as_deref())
    {
        post.quote_of = post_url(uri);
    }
}

fn repost(did: &str, rkey: &str, record: &RepostRecord) -> Result<Post, String> {
    let published = parse_date(&record.created_at)?;
    let uri = &record.subject.uri;
    let (subject_did, _, _) =
        parse_at_uri(uri).ok_or_else(|| format!("the reposted {uri:?} does not read"))?;
    let link = post_url(uri).ok_or_else(|| format!("the reposted {uri:?} is not a post"))?;
    let html = format!(
        "<p>Reposted <a href=\"{}\">{}</a></p>",
        escape_html(link.as_str()),
        escape_html(link.as_str())
    );
    let mut post = Post::note(
        format!("at://{did}/{REPOST}/{rkey}"),
        published,
        Content::Html(html),
    );
    post.kind = ItemKind::Share;
    post.shared_from = Some(RawAuthor {
        name: None,
        url: profile_url(subject_did),
        avatar: None,
    });
    Ok(post)
}

/// Threads the posts: a reply to one of the owner's own posts that is imported gets
/// `reply_to`; a reply to someone else (or to a reply that was left out) is left out
/// unless asked for. Sorted by date, with every parent before its replies.
fn thread(
    did: &str,
    drafts: Vec<Draft>,
    options: &ReadOptions,
    skipped: &mut Vec<Entry>,
) -> Vec<Post> {
    let index: HashMap<String, usize> = drafts
        .iter()
        .enumerate()
        .map(|(idx, draft)| (draft.post.id.clone(), idx))
        .collect();
    // The imported parent of each draft, by index.
    let parent_of: Vec<Option<usize>> = drafts
        .iter()
        .map(|draft| {
            let (parent_did, uri) = draft.parent.as_ref()?;
            (parent_did == did).then(|| index.get(uri).copied())?
        })
        .collect();
    // Whether a draft is kept: not a reply to another, nor below one. Resolved up each
    // chain of parents once; a cycle (possible in a hostile file) ends a chain.
    let n_drafts = drafts.len();
    let mut kept: Vec<Option<bool>> = vec![None; n_drafts];
    let mut reply_to: Vec<Option<usize>> = parent_of.clone();
    for start in 0..n_drafts {
        let mut path = Vec::new();
        let mut on_path = HashSet::new();
        let mut at = start;
        let verdict = loop {
            if let Some(known) = kept[at] {
                break known;
            }
            path.push(at);
            on_path.insert(at);
            let draft = &drafts[at];
            match (&draft.parent, parent_of[at]) {
                (None, _) => break true,
                (Some((parent_did, _)), _) if parent_did != did => {
                    break options.include_replies_to_others;
                }
                // The owner's own post that is not in the repository (deleted).
                (Some(_), None) => break true,
                (Some(_), Some(parent)) if on_path.contains(&parent) => {
                    reply_to[at] = None;
                    break true;
                }
                (Some(_), Some(parent)) => at = parent,
            }
        };
        for idx in path {
            kept[idx] = Some(verdict);
        }
    }

    let mut order: Vec<usize> = (0..n_drafts).collect();
    order.sort_by(|&a, &b| {
        (drafts[a].post.published, &drafts[a].post.id)
            .cmp(&(drafts[b].post.published, &drafts[b].post.id))
    });
    let mut waiting: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut emitted = vec![false; n_drafts];
    let mut sequence = Vec::with_capacity(n_drafts);
    for idx in order {
        if kept[idx] != Some(true) {
            continue;
        }
        if let Some(parent) = reply_to[idx]
            && !emitted[parent]
        {
            waiting.entry(parent).or_default().push(idx);
            continue;
        }
        let mut ready = vec![idx];
        while let Some(next) = ready.pop() {
            emitted[next] = true;
            sequence.push(next);
            if let Some(children) = waiting.remove(&next) {
                ready.extend(children.into_iter().rev());
            }
        }
    }

    let mut slots: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
    for (idx, slot) in slots.iter_mut().enumerate() {
        if kept[idx] == Some(false)
            && let Some(draft) = slot.take()
        {
            skipped.push(Entry::Skipped {
                id: draft.post.id,
                reason: SkipReason::ReplyToOther,
            });
        }
    }
    let ids: Vec<Option<String>> = slots
        .iter()
        .map(|slot| slot.as_ref().map(|draft| draft.post.id.clone()))
        .collect();
    sequence
        .into_iter()
        .filter_map(|idx| {
            let mut post = slots[idx].take()?.post;
            post.reply_to = reply_to[idx].and_then(|parent| ids[parent].clone());
            Some(post)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::archive::Limits;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/archives/bluesky/repo.car")
    }

    const DID: &str = "did:plc:ana2tributary3example4xy";
    const BOB: &str = "did:plc:bob2tributary3example4xy";

    fn read_path(
        path: &Path,
        options: &ReadOptions,
    ) -> Result<(Vec<Entry>, Account), ArchiveError> {
        let tmp = tempfile::tempdir().unwrap();
        let mut files = ArchiveFiles::open(path, "repo.car", &Limits::default(), tmp.path())?;
        assert!(Bluesky.detect(&files));
        let mut entries = Vec::new();
        let account = Bluesky.read(&mut files, options, &mut |entry| {
            entries.push(entry);
            Ok(())
        })?;
        Ok((entries, account))
    }

    fn read(options: &ReadOptions) -> (Vec<Post>, Vec<(String, SkipReason)>, Account) {
        let (entries, account) = read_path(&fixture(), options).unwrap();
        let mut posts = Vec::new();
        let mut skipped = Vec::new();
        for entry in entries {
            match entry {
                Entry::Post(post) => posts.push(*post),
                Entry::Skipped { id, reason } => skipped.push((id, reason)),
            }
        }
        (posts, skipped, account)
    }

    fn html(post: &Post) -> &str {
        match &post.content {
            Content::Html(html) => html,
            Content::Text(text) => panic!("text content {text:?}"),
        }
    }

    fn by_text<'a>(posts: &'a [Post], needle: &str) -> &'a Post {
        posts
            .iter()
            .find(|post| html(post).contains(needle))
            .unwrap_or_else(|| panic!("no post with {needle:?}"))
    }

    #[test]
    fn the_sample_repository_reads_into_posts_and_reposts() {
        let (posts, skipped, account) = read(&ReadOptions::default());
        assert_eq!(
            posts.len(),
            12,
            "{:#?}",
            posts.iter().map(html).collect::<Vec<_>>()
        );
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert_eq!(account.name.as_deref(), Some("Ana Example"));
        assert_eq!(account.handle, None);
        assert_eq!(
            account.url.unwrap().as_str(),
            format!("https://bsky.app/profile/{DID}")
        );

        let hello = by_text(&posts, "Hello from the archive.");
        assert_eq!(hello.published.to_rfc3339(), "2023-04-01T10:00:00+00:00");
        let rkey = hello.id.rsplit('/').next().unwrap();
        assert_eq!(hello.id, format!("at://{DID}/app.bsky.feed.post/{rkey}"));
        assert_eq!(
            hello.url.as_ref().unwrap().as_str(),
            format!("https://bsky.app/profile/{DID}/post/{rkey}")
        );
        assert_eq!(html(hello), "<p>Hello from the archive.</p>");
        assert_eq!(hello.kind, ItemKind::Note);
    }

    #[test]
    fn facets_become_links_at_their_byte_offsets() {
        let (posts, ..) = read(&ReadOptions::default());
        assert_eq!(
            html(by_text(&posts, "Café")),
            "<p>Café ☕ notes: <a href=\"https://example.com/read\">example.com/read</a> more</p>"
        );
        assert_eq!(
            html(by_text(&posts, "Thanks")),
            format!(
                "<p>Thanks <a href=\"https://bsky.app/profile/{BOB}\">@bob.example</a> for this</p>"
            )
        );
        let tagged = by_text(&posts, "Loving");
        assert_eq!(
            html(tagged),
            "<p>Loving <a href=\"https://bsky.app/hashtag/rustlang\">#rustlang</a> today</p>"
        );
        assert_eq!(tagged.tags, ["sunday", "rustlang"]);
    }

    #[test]
    fn bad_facets_are_ignored_and_text_is_escaped() {
        let (posts, ..) = read(&ReadOptions::default());
        assert_eq!(
            html(by_text(&posts, "script")),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; é</p>"
        );
    }

    #[test]
    fn images_keep_their_alt_text_and_a_cdn_address() {
        let (posts, ..) = read(&ReadOptions::default());
        let sunset = by_text(&posts, "Sunset");
        assert_eq!(sunset.kind, ItemKind::Photo);
        assert_eq!(sunset.media.len(), 1);
        let media = &sunset.media[0];
        assert_eq!(media.file, None);
        assert_eq!(media.alt.as_deref(), Some("A red sunset over the sea"));
        let url = media.url.as_ref().unwrap().as_str();
        assert!(
            url.starts_with(&format!(
                "https://cdn.bsky.app/img/feed_fullsize/plain/{DID}/bafkrei"
            )) && url.ends_with("@jpeg"),
            "{url}"
        );
    }

    #[test]
    fn quotes_link_cards_and_media_with_a_quote() {
        let (posts, ..) = read(&ReadOptions::default());
        let quote = by_text(&posts, "So true");
        let quoted = quote.quote_of.as_ref().unwrap().as_str();
        assert!(
            quoted.starts_with(&format!("https://bsky.app/profile/{BOB}/post/")),
            "{quoted}"
        );
        let card = by_text(&posts, "Worth a read");
        assert_eq!(card.kind, ItemKind::Link);
        assert!(html(card).ends_with(
            "<blockquote><p><a href=\"https://essay.example/long\">An essay</a></p>\
             <p>A &lt;b&gt;long&lt;/b&gt; read</p></blockquote>"
        ));
        let both = by_text(&posts, "Look at this &amp; that");
        assert_eq!(both.quote_of.as_ref().unwrap().as_str(), quoted);
        assert_eq!(both.kind, ItemKind::Photo);
        assert_eq!(both.media.len(), 1);
        assert_eq!(both.media[0].alt, None);
    }

    #[test]
    fn a_repost_is_a_share_linking_the_post() {
        let (posts, ..) = read(&ReadOptions::default());
        let share = posts.iter().find(|p| p.kind == ItemKind::Share).unwrap();
        assert!(
            share
                .id
                .starts_with(&format!("at://{DID}/app.bsky.feed.repost/"))
        );
        assert_eq!(share.published.to_rfc3339(), "2023-04-06T11:05:00+00:00");
        let link = by_text(&posts, "So true").quote_of.clone().unwrap();
        assert_eq!(
            html(share),
            format!("<p>Reposted <a href=\"{link}\">{link}</a></p>")
        );
        assert_eq!(
            share
                .shared_from
                .as_ref()
                .unwrap()
                .url
                .as_ref()
                .unwrap()
                .as_str(),
            format!("https://bsky.app/profile/{BOB}")
        );
    }

    #[test]
    fn replies_to_self_thread_and_replies_to_others_are_left_out() {
        let (posts, skipped, _) = read(&ReadOptions::default());
        let hello = by_text(&posts, "Hello from the archive.");
        let follow_up = by_text(&posts, "And a follow-up.");
        let third = by_text(&posts, "Third in the thread.");
        assert_eq!(follow_up.reply_to.as_deref(), Some(hello.id.as_str()));
        assert_eq!(follow_up.in_reply_to_url, hello.url);
        assert_eq!(third.reply_to.as_deref(), Some(follow_up.id.as_str()));
        assert!(posts.iter().all(|p| !html(p).contains("Nice one")));
        let reasons: Vec<&SkipReason> = skipped.iter().map(|(_, reason)| reason).collect();
        assert_eq!(
            reasons,
            [
                &SkipReason::Unsupported("profile".to_owned()),
                &SkipReason::Unsupported("like".to_owned()),
                &SkipReason::Unsupported("follow".to_owned()),
                &SkipReason::ReplyToOther,
            ]
        );
        assert!(
            skipped[1]
                .0
                .starts_with(&format!("at://{DID}/app.bsky.feed.like/"))
        );

        let (posts, skipped, _) = read(&ReadOptions {
            include_replies_to_others: true,
            ..ReadOptions::default()
        });
        assert_eq!(posts.len(), 13);
        assert_eq!(skipped.len(), 3);
        let other = by_text(&posts, "Nice one");
        assert_eq!(other.reply_to, None);
        assert!(
            other
                .in_reply_to_url
                .as_ref()
                .unwrap()
                .as_str()
                .starts_with(&format!("https://bsky.app/profile/{BOB}/post/"))
        );
    }

    #[test]
    fn posts_come_by_date_with_parents_before_replies() {
        let (posts, ..) = read(&ReadOptions::default());
        let position = |needle: &str| {
            posts
                .iter()
                .position(|post| html(post).contains(needle))
                .unwrap()
        };
        // The third post's clock ran behind its parent's: it still follows it.
        assert!(position("And a follow-up.") < position("Third in the thread."));
        assert!(
            posts[..position("And a follow-up.")]
                .iter()
                .chain(&posts[position("Third in the thread.") + 1..])
                .collect::<Vec<_>>()
                .windows(2)
                .all(|pair| pair[0].published <= pair[1].published)
        );
        assert_eq!(position("Hello from the archive."), 0);
    }

    #[test]
    fn a_truncated_repository_is_malformed() {
        let bytes = std::fs::read(fixture()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for cut in [bytes.len() - 7, bytes.len() / 2, 40] {
            let path = dir.path().join("cut.car");
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = read_path(&path, &ReadOptions::default()).unwrap_err();
            assert!(
                matches!(&err, ArchiveError::Malformed { message, .. } if message.contains("cut short")),
                "{cut}: {err}"
            );
        }
        let path = dir.path().join("empty.car");
        std::fs::write(&path, b"").unwrap();
        let err = read_path(&path, &ReadOptions::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::NotThisArchive(_)), "{err}");
    }

    #[test]
    fn a_tampered_block_is_refused() {
        let mut bytes = std::fs::read(fixture()).unwrap();
        let at = bytes
            .windows(5)
            .position(|w| w == b"Hello")
            .expect("the sample holds the first post");
        bytes[at] = b'J';
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tampered.car");
        std::fs::write(&path, &bytes).unwrap();
        let err = read_path(&path, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(&err, ArchiveError::Malformed { message, .. } if message.contains("does not match its CID")),
            "{err}"
        );
    }

    #[test]
    fn hostile_lengths_are_refused_without_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.car");
        for bytes in [
            &[0xff; 12][..],
            &[0x05, 1, 2, 3, 4, 5][..],
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01][..],
        ] {
            std::fs::write(&path, bytes).unwrap();
            assert!(read_path(&path, &ReadOptions::default()).is_err());
        }
        // A valid header, then a block declaring a gigabyte.
        let bytes = std::fs::read(fixture()).unwrap();
        let header_len = usize::from(bytes[0]) + 1;
        let mut forged = bytes[..header_len].to_vec();
        forged.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]);
        std::fs::write(&path, &forged).unwrap();
        let err = read_path(&path, &ReadOptions::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Malformed { .. }), "{err}");
    }

    #[test]
    fn record_types_have_short_names() {
        assert_eq!(kind_name("app.bsky.feed.like"), "like");
        assert_eq!(kind_name("app.bsky.graph.follow"), "follow");
        assert_eq!(kind_name("com.example.thing"), "com.example.thing");
        assert_eq!(parse_at_uri("at://did:x/app.bsky.feed.post/1/2"), None);
        assert_eq!(post_url("at://did:x/app.bsky.feed.like/1"), None);
    }
}
