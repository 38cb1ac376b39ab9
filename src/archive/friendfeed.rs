//! FriendFeed's own archive: the API v2 feed JSON (`{id, name, entries: [...]}`), as one
//! file or as several in a zip (one per page, or `entries.json`), or a bare array of
//! entries. Pure: reads the archive's files, no network, no store.
//!
//! An entry (`{id: "e/…", url, date, body, from, via, thumbnails, files, comments,
//! likes}`) becomes a post with its body as HTML (sanitized later, like any foreign
//! HTML), its comments (plain text, by name) and likes kept. An entry someone else posted
//! to the feed keeps its author by name. Thumbnails are media by address, or by the file
//! in the zip when the address is a relative name it holds. The `entries` list is
//! streamed one entry at a time; an entry seen in two pages is read once.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};

use chrono::{DateTime, Utc};
use connectors::site::{escape_html, http_url};
use connectors::{Content, ItemKind, RawAuthor};
use serde::Deserialize;
use serde::de::IgnoredAny;
use url::Url;

use super::files::safe_name;
use super::{
    Account, ArchiveError, ArchiveFiles, Entry, Platform, Post, PostComment, PostLike, PostMedia,
    ReadOptions, Reader, SkipReason, json,
};
use crate::normalize::text::html_to_text;

/// The reader of a FriendFeed archive.
pub struct FriendFeed;

impl Reader for FriendFeed {
    fn platform(&self) -> Platform {
        Platform::FriendFeed
    }

    /// A FriendFeed archive is JSON only: one `.json` file, or a zip of them with an
    /// `entries.json` or a name saying `friendfeed`, and none of the files that mark
    /// another platform's export (Mastodon's `outbox.json`, Instagram's `posts_1.json`).
    fn detect(&self, files: &ArchiveFiles) -> bool {
        let names = files.names();
        let json: Vec<&String> = names.iter().filter(|name| is_json(name)).collect();
        if json.is_empty() || files.find_suffix("outbox.json").is_some() {
            return false;
        }
        if json
            .iter()
            .any(|name| base_name(name).starts_with("posts_"))
        {
            return false;
        }
        names.len() == 1
            || json.iter().any(|name| {
                base_name(name) == "entries.json"
                    || name.to_ascii_lowercase().contains("friendfeed")
            })
    }

    fn read(
        &self,
        files: &mut ArchiveFiles,
        _options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError> {
        let names: Vec<String> = files
            .names()
            .iter()
            .filter(|name| is_json(name))
            .cloned()
            .collect();
        if names.is_empty() {
            return Err(ArchiveError::NotThisArchive(
                "it holds no FriendFeed JSON file".to_owned(),
            ));
        }
        // First the shape of each file and who the feed is, without reading the entries.
        let mut shapes = Vec::new();
        let mut feed: Option<FeedHead> = None;
        for name in &names {
            let shape = shape_of(files, name)?;
            if let Shape::Feed(head) = &shape
                && feed.as_ref().is_none_or(|f| f.id.is_none())
            {
                feed = Some(head.clone());
            }
            shapes.push(shape);
        }
        let owner = match feed.as_ref().and_then(|f| f.id.clone()) {
            Some(id) => Some(id),
            None => most_frequent_author(files, &names, &shapes)?,
        };
        let account = Account {
            handle: owner.clone(),
            name: feed.and_then(|f| f.name).filter(|n| !n.trim().is_empty()),
            url: owner.as_deref().and_then(profile_url),
        };

        let known: HashSet<String> = files.names().iter().cloned().collect();
        let mut seen = HashSet::new();
        let mut listed = 0usize;
        for (name, shape) in names.iter().zip(&shapes) {
            let key = match shape {
                Shape::Feed(head) if head.has_entries => Some("entries"),
                Shape::Feed(_) => continue,
                Shape::List => None,
            };
            listed += 1;
            let folder = name
                .rsplit_once('/')
                .map(|(folder, _)| folder)
                .unwrap_or("");
            let reader = files.open_entry(name)?;
            json::for_each::<RawEntry, _>(reader, name, key, &mut |raw| {
                let raw = match raw {
                    Ok(raw) => raw,
                    Err(err) => {
                        return emit(Entry::Skipped {
                            id: format!("{name}: an entry"),
                            reason: SkipReason::Invalid(err.to_string()),
                        });
                    }
                };
                if !raw.id.is_empty() && !seen.insert(raw.id.clone()) {
                    return Ok(());
                }
                let entry = match to_post(raw, owner.as_deref(), folder, &known) {
                    Ok(post) => Entry::Post(Box::new(post)),
                    Err((id, why)) => Entry::Skipped {
                        id,
                        reason: SkipReason::Invalid(why),
                    },
                };
                emit(entry)
            })?;
        }
        if listed == 0 {
            return Err(ArchiveError::NotThisArchive(
                "none of its JSON files holds FriendFeed entries".to_owned(),
            ));
        }
        Ok(account)
    }
}

fn is_json(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".json")
}

fn base_name(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase()
}

fn profile_url(id: &str) -> Option<Url> {
    let mut url = Url::parse("https://friendfeed.com/").ok()?;
    url.path_segments_mut().ok()?.pop_if_empty().push(id);
    Some(url)
}

/// The top of a feed file: who the feed is, and whether it lists entries.
#[derive(Clone, Default)]
struct FeedHead {
    id: Option<String>,
    name: Option<String>,
    has_entries: bool,
}

#[derive(Deserialize)]
struct FeedFile {
    id: Option<String>,
    name: Option<String>,
    entries: Option<IgnoredAny>,
}

enum Shape {
    /// An object: a feed (with or without entries).
    Feed(FeedHead),
    /// A bare array of entries.
    List,
}

/// Whether the file is an object or an array (its first byte past the whitespace and a
/// byte-order mark), and for an object its `id` and `name`: read through once with the
/// entries ignored, so they are never held.
fn shape_of(files: &mut ArchiveFiles, name: &str) -> Result<Shape, ArchiveError> {
    let malformed = |message: String| ArchiveError::Malformed {
        file: name.to_owned(),
        message,
    };
    let mut reader = BufReader::with_capacity(1 << 16, files.open_entry(name)?);
    let first = loop {
        let buf = reader
            .fill_buf()
            .map_err(|err| malformed(err.to_string()))?;
        let Some(&byte) = buf.first() else {
            return Err(malformed("the file is empty".to_owned()));
        };
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => reader.consume(1),
            0xef | 0xbb | 0xbf => reader.consume(1),
            other => break other,
        }
    };
    match first {
        b'[' => Ok(Shape::List),
        b'{' => {
            let file: FeedFile =
                serde_json::from_reader(reader).map_err(|err| malformed(err.to_string()))?;
            Ok(Shape::Feed(FeedHead {
                id: file.id.filter(|id| !id.trim().is_empty()),
                name: file.name,
                has_entries: file.entries.is_some(),
            }))
        }
        _ => Err(malformed(
            "it is not a FriendFeed feed (a JSON object or list)".to_owned(),
        )),
    }
}

/// The feed's owner when no file names it: whoever posted most of the entries.
fn most_frequent_author(
    files: &mut ArchiveFiles,
    names: &[String],
    shapes: &[Shape],
) -> Result<Option<String>, ArchiveError> {
    #[derive(Deserialize)]
    struct ByWhom {
        from: Option<Person>,
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (name, shape) in names.iter().zip(shapes) {
        let key = match shape {
            Shape::Feed(head) if head.has_entries => Some("entries"),
            Shape::Feed(_) => continue,
            Shape::List => None,
        };
        let reader = files.open_entry(name)?;
        json::for_each::<ByWhom, _>(reader, name, key, &mut |entry| {
            if let Ok(ByWhom { from: Some(from) }) = entry
                && let Some(id) = from.id
            {
                *counts.entry(id).or_default() += 1;
            }
            Ok(())
        })?;
    }
    Ok(counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(id, _)| id))
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    id: String,
    url: Option<String>,
    date: Option<String>,
    #[serde(default)]
    body: String,
    from: Option<Person>,
    via: Option<Via>,
    #[serde(default)]
    thumbnails: Vec<Thumbnail>,
    #[serde(default)]
    files: Vec<Attachment>,
    #[serde(default)]
    comments: Vec<RawComment>,
    #[serde(default)]
    likes: Vec<RawLike>,
}

#[derive(Deserialize)]
struct Person {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Via {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Thumbnail {
    url: Option<String>,
}

#[derive(Deserialize)]
struct Attachment {
    url: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    media_type: Option<String>,
}

/// A comment; `placeholder` stands for comments the API left out (`maxcomments`).
#[derive(Deserialize)]
struct RawComment {
    date: Option<String>,
    #[serde(default)]
    body: String,
    from: Option<Person>,
    #[serde(default)]
    placeholder: bool,
}

#[derive(Deserialize)]
struct RawLike {
    date: Option<String>,
    from: Option<Person>,
    #[serde(default)]
    placeholder: bool,
}

fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

/// A person by name (their id when the name is missing), with their FriendFeed address.
fn person(from: Option<&Person>) -> (String, Option<Url>) {
    let id = from
        .and_then(|f| f.id.as_deref())
        .filter(|id| !id.trim().is_empty());
    let name = from
        .and_then(|f| f.name.as_deref())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .or(id)
        .unwrap_or("someone");
    (name.to_owned(), id.and_then(profile_url))
}

/// A media file's name in the archive, for an address relative to the JSON file.
fn archived_file(address: &str, folder: &str, known: &HashSet<String>) -> Option<String> {
    if address.contains(':') || address.starts_with('/') {
        return None;
    }
    let joined = if folder.is_empty() {
        address.to_owned()
    } else {
        format!("{folder}/{address}")
    };
    let name = safe_name(&joined).ok()?;
    known.contains(&name).then_some(name)
}

fn to_post(
    raw: RawEntry,
    owner: Option<&str>,
    folder: &str,
    known: &HashSet<String>,
) -> Result<Post, (String, String)> {
    if raw.id.trim().is_empty() {
        return Err(("an entry".to_owned(), "it has no id".to_owned()));
    }
    let id = raw.id;
    let published = raw
        .date
        .as_deref()
        .and_then(parse_date)
        .ok_or_else(|| (id.clone(), "it has no readable date".to_owned()))?;
    let mut html = raw.body;
    let mut media = Vec::new();
    for thumbnail in raw.thumbnails {
        let Some(address) = thumbnail.url else {
            continue;
        };
        let file = archived_file(&address, folder, known);
        let url = http_url(&address);
        if file.is_some() || url.is_some() {
            media.push(PostMedia {
                file,
                url,
                alt: None,
            });
        }
    }
    for attachment in raw.files {
        let Some(address) = attachment.url else {
            continue;
        };
        let file = archived_file(&address, folder, known);
        let url = http_url(&address);
        let is_media = attachment
            .media_type
            .as_deref()
            .is_some_and(|t| t.starts_with("image/") || t.starts_with("video/"));
        if is_media && (file.is_some() || url.is_some()) {
            media.push(PostMedia {
                file,
                url,
                alt: attachment.name,
            });
        } else if let Some(url) = url {
            let label = attachment.name.unwrap_or_else(|| url.to_string());
            html.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape_html(url.as_str()),
                escape_html(&label)
            ));
        }
    }

    let mut post = Post::note(id, published, Content::Html(html));
    post.url = raw.url.as_deref().and_then(http_url);
    post.via = raw
        .via
        .and_then(|via| via.name)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    if !media.is_empty() {
        post.kind = ItemKind::Photo;
    }
    post.media = media;
    let from_id = raw.from.as_ref().and_then(|from| from.id.as_deref());
    if owner.is_some() && from_id.is_some() && from_id != owner {
        let (name, url) = person(raw.from.as_ref());
        post.author = Some(RawAuthor {
            name: Some(name),
            url,
            avatar: None,
        });
    }
    post.comments = raw
        .comments
        .into_iter()
        .filter(|comment| !comment.placeholder)
        .map(|comment| {
            let (author_name, author_url) = person(comment.from.as_ref());
            PostComment {
                author_name,
                author_url,
                body: html_to_text(&comment.body).trim().to_owned(),
                published: comment
                    .date
                    .as_deref()
                    .and_then(parse_date)
                    .unwrap_or(published),
            }
        })
        .collect();
    post.likes = raw
        .likes
        .into_iter()
        .filter(|like| !like.placeholder)
        .map(|like| {
            let (author_name, author_url) = person(like.from.as_ref());
            PostLike {
                author_name,
                author_url,
                published: like.date.as_deref().and_then(parse_date),
            }
        })
        .collect();
    Ok(post)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::archive::Limits;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/archives/friendfeed/feed.json")
    }

    fn read_path(path: &Path, name: &str) -> Result<(Vec<Entry>, Account), ArchiveError> {
        let tmp = tempfile::tempdir().unwrap();
        let mut files = ArchiveFiles::open(path, name, &Limits::default(), tmp.path())?;
        assert!(FriendFeed.detect(&files), "{:?}", files.names());
        let mut entries = Vec::new();
        let account = FriendFeed.read(&mut files, &ReadOptions::default(), &mut |entry| {
            entries.push(entry);
            Ok(())
        })?;
        Ok((entries, account))
    }

    use super::super::testkit::posts;

    fn html(post: &Post) -> &str {
        match &post.content {
            Content::Html(html) => html,
            Content::Text(text) => panic!("text content {text:?}"),
        }
    }

    #[test]
    fn the_sample_feed_reads_with_comments_likes_and_authors() {
        let (entries, account) = read_path(&fixture(), "feed.json").unwrap();
        assert_eq!(account.handle.as_deref(), Some("ana"));
        assert_eq!(account.name.as_deref(), Some("Ana Example"));
        assert_eq!(account.url.unwrap().as_str(), "https://friendfeed.com/ana");
        let posts = posts(&entries);
        assert_eq!(posts.len(), 6);
        let skipped: Vec<&Entry> = entries
            .iter()
            .filter(|e| matches!(e, Entry::Skipped { .. }))
            .collect();
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(matches!(
            skipped[0],
            Entry::Skipped { id, reason: SkipReason::Invalid(_) } if id == "e/0000000000000000000000000000bad1"
        ));

        let first = posts[0];
        assert_eq!(first.id, "e/6f0a6a0f5e1b4c3a9d2e8f7a6b5c4d3e");
        assert_eq!(first.published.to_rfc3339(), "2009-03-24T12:34:56+00:00");
        assert_eq!(
            first.url.as_ref().unwrap().as_str(),
            "http://friendfeed.com/ana/6f0a6a0f/reading-about-lifestreams"
        );
        assert_eq!(
            html(first),
            "Reading about <a href=\"http://example.com/lifestreams\">lifestreams</a>"
        );
        assert_eq!(first.via.as_deref(), Some("Bookmarklet"));
        assert_eq!(first.author, None);
        assert_eq!(first.comments.len(), 2);
        assert_eq!(first.comments[0].author_name, "Bob Example");
        assert_eq!(
            first.comments[0].author_url.as_ref().unwrap().as_str(),
            "https://friendfeed.com/bob"
        );
        assert_eq!(first.comments[0].body, "Great find! See example.org");
        assert_eq!(
            first.comments[0].published.to_rfc3339(),
            "2009-03-24T13:00:00+00:00"
        );
        assert_eq!(first.likes.len(), 2);
        assert_eq!(first.likes[1].author_name, "carol");
        assert_eq!(
            first.likes[0].published.unwrap().to_rfc3339(),
            "2009-03-24T14:00:00+00:00"
        );

        let photo = posts[1];
        assert_eq!(photo.kind, ItemKind::Photo);
        assert_eq!(photo.via.as_deref(), Some("Flickr"));
        assert_eq!(
            photo.media,
            [PostMedia {
                file: None,
                url: Some(Url::parse("http://m.friendfeed-media.com/abc123").unwrap()),
                alt: None,
            }]
        );

        let by_bob = posts[2];
        assert_eq!(
            by_bob.author,
            Some(RawAuthor {
                name: Some("Bob Example".to_owned()),
                url: Some(Url::parse("https://friendfeed.com/bob").unwrap()),
                avatar: None,
            })
        );
    }

    #[test]
    fn scripts_pass_through_in_bodies_and_leave_comments_as_text() {
        let (entries, _) = read_path(&fixture(), "feed.json").unwrap();
        let posts = posts(&entries);
        let hostile = posts
            .iter()
            .find(|p| html(p).contains("<script>"))
            .expect("the body is passed on for the sanitizer");
        assert_eq!(hostile.comments.len(), 1);
        assert_eq!(hostile.comments[0].body, "nice & safe");
        // A placeholder for left-out comments is no comment.
        assert!(
            posts
                .iter()
                .all(|p| p.comments.iter().all(|c| c.author_name != "someone"))
        );
    }

    #[test]
    fn a_zip_of_pages_reads_each_entry_once_and_finds_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("friendfeed.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("ana/entries.json", options).unwrap();
        zip.write_all(
            br#"[{"id": "e/1", "date": "2009-01-01T00:00:00Z", "body": "one",
                  "from": {"id": "ana", "name": "Ana"},
                  "thumbnails": [{"url": "images/1.jpg", "link": "images/1.jpg"}]},
                 {"id": "e/2", "date": "2009-01-02T00:00:00Z", "body": "two",
                  "from": {"id": "bob", "name": "Bob"}}]"#,
        )
        .unwrap();
        zip.start_file("ana/page2.json", options).unwrap();
        zip.write_all(
            br#"{"entries": [{"id": "e/2", "date": "2009-01-02T00:00:00Z", "body": "two",
                  "from": {"id": "bob"}},
                 {"id": "e/3", "date": "2009-01-03T00:00:00Z", "body": "three",
                  "from": {"id": "ana"},
                  "thumbnails": [{"url": "../../etc/passwd"}]}]}"#,
        )
        .unwrap();
        zip.start_file("ana/images/1.jpg", options).unwrap();
        zip.write_all(b"\xff\xd8\xff").unwrap();
        zip.finish().unwrap();

        let (entries, account) = read_path(&path, "friendfeed.zip").unwrap();
        assert_eq!(account.handle.as_deref(), Some("ana"));
        let posts = posts(&entries);
        let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["e/1", "e/2", "e/3"]);
        assert_eq!(posts[0].media[0].file.as_deref(), Some("ana/images/1.jpg"));
        assert_eq!(
            posts[1].author.as_ref().unwrap().name.as_deref(),
            Some("Bob")
        );
        assert!(posts[2].media.is_empty());
    }

    #[test]
    fn other_platforms_and_broken_files_are_not_friendfeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, b"{\"entries\": [1, 2").unwrap();
        let err = read_path(&path, "x.json").unwrap_err();
        assert!(matches!(err, ArchiveError::Malformed { .. }), "{err}");

        let zip_path = dir.path().join("mastodon.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("outbox.json", options).unwrap();
        zip.write_all(b"{}").unwrap();
        zip.start_file("actor.json", options).unwrap();
        zip.write_all(b"{}").unwrap();
        zip.finish().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let files = ArchiveFiles::open(&zip_path, "m.zip", &Limits::default(), tmp.path()).unwrap();
        assert!(!FriendFeed.detect(&files));
    }
}
