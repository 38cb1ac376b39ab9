//! The Instagram export ("Download your information", JSON format, a zip):
//! `your_instagram_activity/content/posts_N.json` (older exports: `content/posts_N.json`)
//! lists the posts, each with its media files under `media/posts/YYYYMM/`; the account is
//! in `personal_information/personal_information.json`. Pure: reads entries of an opened
//! `ArchiveFiles`, no database, no network.
//!
//! Instagram writes its text as mojibake: the UTF-8 bytes of a caption, each written as a
//! `\u00XX` code point (`"caf\u00c3\u00a9"` for "café"). A string made only of code points
//! up to U+00FF whose bytes form valid UTF-8 is read back as that UTF-8; anything else is
//! kept as it is. A post has no id of its own in the export: its first media file's name
//! stands for it (stable between runs). There are no replies, so posts are emitted in the
//! file's order.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use connectors::{Content, ItemKind};
use serde::Deserialize;
use url::Url;

use super::{
    Account, ArchiveError, ArchiveFiles, Entry, Platform, Post, PostMedia, ReadOptions, Reader,
    SkipReason, json,
};

/// The Instagram export reader.
pub struct Instagram;

/// Where the posts files sit below the export's root, newest layout first.
const POSTS_FOLDERS: [&str; 3] = [
    "your_instagram_activity/content/",
    "your_instagram_activity/media/",
    "content/",
];

/// File extensions Instagram gives its videos.
const VIDEO_EXTENSIONS: [&str; 4] = ["mp4", "mov", "m4v", "webm"];

impl Reader for Instagram {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn detect(&self, files: &ArchiveFiles) -> bool {
        !posts_files(files).is_empty()
    }

    fn read(
        &self,
        files: &mut ArchiveFiles,
        _options: &ReadOptions,
        emit: &mut dyn FnMut(Entry) -> Result<(), ArchiveError>,
    ) -> Result<Account, ArchiveError> {
        let posts_files = posts_files(files);
        let Some((root, _)) = posts_files.first().cloned() else {
            return Err(ArchiveError::NotThisArchive(
                "this is not an Instagram export: it has no content/posts_1.json".to_owned(),
            ));
        };
        let account = account(files, &root);
        for (root, file) in &posts_files {
            // The records are read first and then looked up against the export's names
            // (the entry reader holds the archive while it is open). A posts file is
            // small: one record per post, with its file names and caption.
            let mut records = Vec::new();
            json::for_each::<RawPost, _>(files.open_entry(file)?, file, None, &mut |record| {
                records.push(record);
                Ok(())
            })?;
            let present = |uri: &str| {
                let name = format!("{root}{uri}");
                files.has(&name).then_some(name)
            };
            for (index, record) in records.into_iter().enumerate() {
                let index = index + 1;
                let fallback_id = || format!("{file}, record {index}");
                let entry = match record {
                    Err(err) => Entry::Skipped {
                        id: fallback_id(),
                        reason: SkipReason::Invalid(err.to_string()),
                    },
                    Ok(raw) => match post(raw, &present) {
                        Ok(post) => Entry::Post(Box::new(post)),
                        Err(why) => Entry::Skipped {
                            id: fallback_id(),
                            reason: SkipReason::Invalid(why),
                        },
                    },
                };
                emit(entry)?;
            }
        }
        Ok(account)
    }
}

/// Every `posts_N.json` with the export's root it belongs to (the part of its name
/// before the posts folder), in the order of N.
fn posts_files(files: &ArchiveFiles) -> Vec<(String, String)> {
    let mut found: Vec<(u32, String, String)> = files
        .names()
        .iter()
        .filter_map(|name| {
            let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
            let n: u32 = file
                .strip_prefix("posts_")?
                .strip_suffix(".json")?
                .parse()
                .ok()?;
            let dir = format!("{dir}/");
            let root = POSTS_FOLDERS.iter().find_map(|folder| {
                let root = dir.strip_suffix(folder)?;
                (root.is_empty() || root.ends_with('/')).then(|| root.to_owned())
            })?;
            Some((n, root, name.clone()))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|(_, root, name)| (root, name))
        .collect()
}

#[derive(Deserialize)]
struct RawPost {
    #[serde(default)]
    media: Vec<RawMedia>,
    title: Option<String>,
    creation_timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct RawMedia {
    uri: String,
    creation_timestamp: Option<i64>,
    title: Option<String>,
    /// Where Instagram served the file (newer exports).
    backup_uri: Option<String>,
}

fn post(raw: RawPost, present: &dyn Fn(&str) -> Option<String>) -> Result<Post, String> {
    let first = raw.media.first().ok_or("the post has no media")?;
    let id = first.uri.clone();
    let timestamp = raw
        .creation_timestamp
        .or(first.creation_timestamp)
        .ok_or("the post has no creation_timestamp")?;
    let published: DateTime<Utc> = DateTime::from_timestamp(timestamp, 0)
        .ok_or_else(|| format!("creation_timestamp {timestamp} is out of range"))?;
    let caption = [raw.title.as_deref(), first.title.as_deref()]
        .into_iter()
        .flatten()
        .find(|title| !title.trim().is_empty())
        .map(|title| fix_mojibake(title).trim().to_owned())
        .unwrap_or_default();
    let kind = if is_video(&first.uri) {
        ItemKind::Video
    } else {
        ItemKind::Photo
    };
    let media = raw
        .media
        .iter()
        .map(|media| {
            let web = |uri: &str| {
                Url::parse(uri)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https"))
            };
            let uri_is_web = web(&media.uri);
            PostMedia {
                file: if uri_is_web.is_some() {
                    None
                } else {
                    present(&media.uri)
                },
                url: uri_is_web.or_else(|| media.backup_uri.as_deref().and_then(web)),
                alt: None,
            }
        })
        .collect();
    let mut out = Post::note(id, published, Content::Text(caption.clone()));
    out.kind = kind;
    out.media = media;
    out.tags = hashtags(&caption);
    Ok(out)
}

fn is_video(uri: &str) -> bool {
    uri.rsplit_once('.').is_some_and(|(_, ext)| {
        VIDEO_EXTENSIONS
            .iter()
            .any(|video| ext.eq_ignore_ascii_case(video))
    })
}

/// The `#words` of a caption, without the `#`, each once.
fn hashtags(caption: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for (at, _) in caption.match_indices('#') {
        let tag: String = caption[at + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// Instagram's (and Facebook's) text: UTF-8 bytes written one code point each. Read back
/// when every code point is a byte and the bytes are UTF-8; else the text is kept.
pub fn fix_mojibake(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || text.chars().any(|c| u32::from(c) > 0xFF) {
        return Cow::Borrowed(text);
    }
    let bytes: Vec<u8> = text.chars().map(|c| u32::from(c) as u8).collect();
    match String::from_utf8(bytes) {
        Ok(fixed) => Cow::Owned(fixed),
        Err(_) => Cow::Borrowed(text),
    }
}

#[derive(Deserialize)]
struct PersonalInformation {
    #[serde(default)]
    profile_user: Vec<ProfileUser>,
}

#[derive(Deserialize)]
struct ProfileUser {
    #[serde(default)]
    string_map_data: std::collections::HashMap<String, StringValue>,
}

#[derive(Deserialize)]
struct StringValue {
    value: Option<String>,
}

/// The account from `personal_information.json`, when the export has it and it reads.
fn account(files: &mut ArchiveFiles, root: &str) -> Account {
    let name = [
        "personal_information/personal_information/personal_information.json",
        "personal_information/personal_information.json",
    ]
    .iter()
    .map(|rel| format!("{root}{rel}"))
    .find(|name| files.has(name));
    let Some(name) = name else {
        return Account::default();
    };
    let Ok(bytes) = files.read_all(&name) else {
        return Account::default();
    };
    let Ok(info) = serde_json::from_slice::<PersonalInformation>(&bytes) else {
        return Account::default();
    };
    let Some(user) = info.profile_user.into_iter().next() else {
        return Account::default();
    };
    let value = |key: &str| {
        user.string_map_data
            .get(key)
            .and_then(|v| v.value.as_deref())
            .map(|v| fix_mojibake(v).trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let username = value("Username");
    Account {
        handle: username.as_ref().map(|u| format!("@{u}")),
        name: value("Name"),
        url: username
            .as_ref()
            .and_then(|u| Url::parse(&format!("https://www.instagram.com/{u}/")).ok()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::archive::{Limits, testkit};

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/archives/instagram")
    }

    fn read_zip(path: &Path) -> (Vec<Entry>, Account) {
        let scratch = tempfile::tempdir().unwrap();
        let mut files =
            ArchiveFiles::open(path, "instagram.zip", &Limits::default(), scratch.path()).unwrap();
        assert!(Instagram.detect(&files));
        let mut entries = Vec::new();
        let account = Instagram
            .read(&mut files, &ReadOptions::default(), &mut |entry| {
                entries.push(entry);
                Ok(())
            })
            .unwrap();
        (entries, account)
    }

    fn read_sample() -> (Vec<Entry>, Account) {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("instagram.zip");
        testkit::zip_dir(&fixture(), &zip);
        read_zip(&zip)
    }

    use super::super::testkit::posts;

    fn file(uri: &str) -> PostMedia {
        PostMedia {
            file: Some(uri.to_owned()),
            url: None,
            alt: None,
        }
    }

    #[test]
    fn the_sample_reads_into_its_posts_and_skips() {
        let (entries, account) = read_sample();
        let posts = posts(&entries);
        let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "media/posts/202303/17900000000000005.jpg",
                "media/posts/202302/17900000000000004.mp4",
                "media/posts/202301/17900000000000002.jpg",
                "media/posts/202301/17900000000000001.jpg",
            ]
        );
        let skipped: Vec<(&str, &SkipReason)> = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Skipped { id, reason } => Some((id.as_str(), reason)),
                Entry::Post(_) => None,
            })
            .collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(
            skipped[0],
            (
                "your_instagram_activity/content/posts_1.json, record 5",
                &SkipReason::Invalid("the post has no media".to_owned())
            )
        );
        assert!(matches!(skipped[1].1, SkipReason::Invalid(_)));
        assert_eq!(
            account,
            Account {
                handle: Some("@ana.gram".to_owned()),
                name: Some("Ana María".to_owned()),
                url: Some(Url::parse("https://www.instagram.com/ana.gram/").unwrap()),
            }
        );
    }

    #[test]
    fn a_photo_has_its_mended_caption_date_and_file() {
        let (entries, _) = read_sample();
        let first = posts(&entries)[3];
        assert_eq!(first.kind, ItemKind::Photo);
        assert_eq!(
            first.content,
            Content::Text("Café au lait ☕\nfirst post".to_owned())
        );
        assert_eq!(first.published.to_rfc3339(), "2023-01-06T10:13:20+00:00");
        assert_eq!(
            first.media,
            [file("media/posts/202301/17900000000000001.jpg")]
        );
    }

    #[test]
    fn a_post_of_several_photos_keeps_them_all_and_its_own_caption() {
        let (entries, _) = read_sample();
        let album = posts(&entries)[2];
        assert_eq!(album.kind, ItemKind::Photo);
        assert_eq!(
            album.content,
            Content::Text("Two views of the bay, naïve & <b>bold</b>".to_owned())
        );
        assert_eq!(album.published.to_rfc3339(), "2023-01-07T14:00:00+00:00");
        assert_eq!(
            album.media,
            [
                file("media/posts/202301/17900000000000002.jpg"),
                file("media/posts/202301/17900000000000003.png"),
            ]
        );
    }

    #[test]
    fn a_video_is_a_video_with_its_tags() {
        let (entries, _) = read_sample();
        let video = posts(&entries)[1];
        assert_eq!(video.kind, ItemKind::Video);
        assert_eq!(
            video.content,
            Content::Text("Waves at dawn #sea".to_owned())
        );
        assert_eq!(video.tags, ["sea"]);
        assert_eq!(
            video.media,
            [file("media/posts/202302/17900000000000004.mp4")]
        );
    }

    #[test]
    fn a_missing_file_is_named_as_missing() {
        let (entries, _) = read_sample();
        let gone = posts(&entries)[0];
        assert_eq!(gone.content, Content::Text("Gone 😢".to_owned()));
        assert_eq!(
            gone.media,
            [PostMedia {
                file: None,
                url: Some(
                    Url::parse("https://scontent.cdninstagram.com/v/t51/17900000000000005.jpg")
                        .unwrap()
                ),
                alt: None
            }]
        );
    }

    #[test]
    fn the_sample_media_are_what_their_names_say() {
        assert_eq!(
            super::super::testkit::assert_media_match_names(&fixture().join("media/posts")),
            4
        );
    }

    #[test]
    fn an_older_export_under_a_top_folder_reads_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("export/content/posts_1.json", options)
            .unwrap();
        zip.write_all(
            br#"[{"media": [{"uri": "media/posts/201901/a.jpg", "creation_timestamp": 1546300800, "title": "old"}]}]"#,
        )
        .unwrap();
        zip.start_file("export/media/posts/201901/a.jpg", options)
            .unwrap();
        zip.write_all(b"\xff\xd8\xff").unwrap();
        zip.finish().unwrap();
        let (entries, account) = read_zip(&path);
        assert_eq!(account, Account::default());
        let posts = posts(&entries);
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].content, Content::Text("old".to_owned()));
        assert_eq!(posts[0].media, [file("export/media/posts/201901/a.jpg")]);
    }

    #[test]
    fn other_archives_are_not_instagram() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("twitter.zip");
        testkit::zip_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/archives/twitter"),
            &zip,
        );
        let scratch = tempfile::tempdir().unwrap();
        let mut files =
            ArchiveFiles::open(&zip, "t.zip", &Limits::default(), scratch.path()).unwrap();
        assert!(!Instagram.detect(&files));
        let err = Instagram
            .read(&mut files, &ReadOptions::default(), &mut |_| Ok(()))
            .unwrap_err();
        assert!(matches!(err, ArchiveError::NotThisArchive(_)), "{err}");
    }

    #[track_caller]
    fn check_mojibake(raw: &str, expected: &str) {
        assert_eq!(fix_mojibake(raw), expected);
    }

    #[test]
    fn mojibake_is_mended() {
        check_mojibake("caf\u{c3}\u{a9}", "café");
    }

    #[test]
    fn an_emoji_in_mojibake_is_mended() {
        check_mojibake("\u{f0}\u{9f}\u{98}\u{a2}", "😢");
    }

    #[test]
    fn latin1_that_is_not_utf8_stays() {
        check_mojibake("caf\u{e9}", "café");
    }

    #[test]
    fn text_beyond_latin1_stays() {
        check_mojibake("caf\u{c3}\u{a9} ☕", "caf\u{c3}\u{a9} ☕");
    }

    #[test]
    fn ascii_stays() {
        check_mojibake("plain & <b>", "plain & <b>");
    }
}
