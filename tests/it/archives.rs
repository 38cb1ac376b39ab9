//! Archive imports end to end: each platform's sample archive (in `fixtures/archives/`,
//! zipped at test time) read into a real SQLite store with its media in the media store,
//! the counts and skip reasons of the summary, a second run that adds nothing, and hostile
//! archives (zip bomb, names that climb, a 2 GB declared entry, a symlink, a truncated
//! file) refused with nothing stored.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rusqlite::Connection;
use tributary::archive::ReadOptions;
use tributary::archive::import::{ArchiveImporter, ImportError};
use tributary::config::{ImportConfig, MediaConfig};
use tributary::media::MediaStore;
use tributary::store::archives::ImportRow;
use tributary::store::{Store, items};

use crate::support::app::{binary, create_user};

/// The fixture folder of a platform's sample archive.
pub fn sample(platform: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/it/fixtures/archives/{platform}"))
}

pub use tributary::archive::testkit::zip_dir;

/// A store, a user `ana` and an importer whose media live in the temp dir.
pub struct Importing {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub user: tributary::model::UserId,
    pub importer: ArchiveImporter,
}

impl Importing {
    pub fn new() -> Importing {
        Importing::with(ImportConfig::default())
    }

    pub fn with(config: ImportConfig) -> Importing {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("tributary.db"), 2).unwrap();
        let user = create_user(&store, "ana");
        let media = MediaStore::new(
            store.clone(),
            &MediaConfig {
                dir: dir.path().join("media").to_string_lossy().into_owned(),
                ..MediaConfig::default()
            },
        );
        let importer = ArchiveImporter {
            store: store.clone(),
            media,
            limits: (&config).into(),
            base_url: "http://tributary.test".to_owned(),
            sanitize_fast_path: true,
        };
        Importing {
            dir,
            store,
            user,
            importer,
        }
    }

    pub fn run(&self, path: &Path, options: &ReadOptions) -> Result<ImportRow, ImportError> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.importer
            .run_blocking(self.user, path, &name, options, &mut |_| {})
    }

    /// Zips a sample folder into the temp dir.
    pub fn zipped(&self, platform: &str) -> PathBuf {
        let out = self.dir.path().join(format!("{platform}.zip"));
        zip_dir(&sample(platform), &out);
        out
    }

    pub fn items(&self) -> Vec<tributary::model::Item> {
        let mut all = Vec::new();
        let ids: Vec<i64> = {
            let conn = Connection::open(self.dir.path().join("tributary.db")).unwrap();
            let mut stmt = conn.prepare("SELECT id FROM sources ORDER BY id").unwrap();
            stmt.query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        for id in ids {
            all.extend(
                self.store
                    .read_blocking(move |conn| {
                        items::of_source(conn, tributary::model::SourceId(id))
                    })
                    .unwrap(),
            );
        }
        all.sort_by_key(|item| (item.published_at, item.id));
        all
    }

    pub fn count(&self, sql: &str) -> i64 {
        let conn = Connection::open(self.dir.path().join("tributary.db")).unwrap();
        conn.query_row(sql, [], |row| row.get::<_, Option<i64>>(0))
            .unwrap()
            .unwrap_or(0)
    }

    /// Files in the media folder (outside `tmp/`).
    pub fn media_files(&self) -> usize {
        let root = self.dir.path().join("media");
        let Ok(dirs) = std::fs::read_dir(&root) else {
            return 0;
        };
        dirs.map(|d| d.unwrap().path())
            .filter(|p| p.is_dir() && p.file_name().unwrap() != "tmp")
            .map(|p| std::fs::read_dir(p).unwrap().count())
            .sum()
    }

    /// Entries left in the media store's scratch folder.
    pub fn scratch_left(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("media/tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

#[test]
fn a_mastodon_export_is_read_with_its_rules_and_a_second_run_adds_nothing() {
    let t = Importing::new();
    let zip = t.zipped("mastodon");
    let row = t.run(&zip, &ReadOptions::default()).unwrap();
    assert_eq!(row.platform, "mastodon");
    assert_eq!(row.status, "done");
    let c = &row.counts;
    assert_eq!((c.imported, c.present, c.skipped), (9, 0, 4), "{c:?}");
    assert_eq!((c.media, c.media_missing), (1, 1), "{c:?}");
    assert_eq!(c.reasons.get("direct message"), Some(&1), "{c:?}");
    assert_eq!(c.reasons.get("not public"), Some(&1), "{c:?}");
    assert_eq!(c.reasons.get("reply to someone else"), Some(&1), "{c:?}");

    let items = t.items();
    assert_eq!(items.len(), 9);
    let texts: Vec<&str> = items.iter().map(|i| i.summary_text.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("Hello fediverse")));
    assert!(texts.iter().any(|t| t.contains("Unlisted thoughts")));
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("Followers only") || t.contains("a secret"))
    );
    assert!(!texts.iter().any(|t| t.contains("Replying to bob")));
    // Own dates, oldest first as the export lists them.
    assert_eq!(
        items[0].published_at.to_rfc3339(),
        "2022-01-11T12:00:00+00:00"
    );
    // The content warning and the alt text.
    let cw = items
        .iter()
        .find(|i| i.summary_text.contains("Spoilers"))
        .unwrap();
    assert_eq!(
        cw.extra.get("content_warning").and_then(|v| v.as_str()),
        Some("Film spoilers")
    );
    let cat = items
        .iter()
        .find(|i| i.summary_text.contains("my cat"))
        .unwrap();
    assert_eq!(cat.media.len(), 1);
    assert_eq!(
        cat.media[0].alt.as_deref(),
        Some("A grey cat asleep on a keyboard")
    );
    assert_eq!(cat.media[0].media_type.as_deref(), Some("image/png"));
    assert!(
        cat.media[0]
            .url
            .as_str()
            .starts_with("http://tributary.test/media/")
    );
    assert_eq!(t.media_files(), 1);
    // The thread: the reply names its parent's address.
    let reply = items
        .iter()
        .find(|i| i.summary_text.contains("Thread continues"))
        .unwrap();
    assert_eq!(
        reply.extra.get("reply_to_url").and_then(|v| v.as_str()),
        Some("https://mastodon.example/users/ana/statuses/1")
    );
    // The boost is a share; hostile markup is gone.
    assert!(
        items
            .iter()
            .any(|i| i.kind == tributary::model::ItemKind::Share)
    );
    let hostile = items
        .iter()
        .find(|i| i.summary_text.contains("Hostile"))
        .unwrap();
    assert!(!hostile.content.as_str().contains("<script"));
    assert!(!hostile.content.as_str().contains("onerror"));
    assert_eq!(t.count("SELECT count(*) FROM items WHERE imported = 1"), 9);
    assert_eq!(t.count("SELECT count(*) FROM outbox_queue"), 0);
    let title = t.count("SELECT count(*) FROM sources WHERE title = 'Mastodon (@ana@mastodon.example)' AND enabled = 0");
    assert_eq!(title, 1);

    let again = t.run(&zip, &ReadOptions::default()).unwrap();
    assert_eq!((again.counts.imported, again.counts.present), (0, 9));
    assert_eq!(t.count("SELECT count(*) FROM items"), 9);
    assert_eq!(t.count("SELECT count(*) FROM sources"), 1);
    assert_eq!(t.scratch_left(), 0);
}

#[test]
fn followers_only_posts_and_replies_to_others_come_when_asked_but_never_direct_messages() {
    let t = Importing::new();
    let zip = t.zipped("mastodon");
    let options = ReadOptions {
        include_private: true,
        include_replies_to_others: true,
    };
    let row = t.run(&zip, &options).unwrap();
    assert_eq!(
        (row.counts.imported, row.counts.skipped),
        (11, 2),
        "{:?}",
        row.counts
    );
    assert_eq!(row.counts.reasons.get("direct message"), Some(&1));
}

#[test]
fn an_older_tar_gz_export_reads_the_same() {
    let t = Importing::new();
    let out = t.dir.path().join("export.tar.gz");
    {
        let gz =
            flate2::write::GzEncoder::new(File::create(&out).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.append_dir_all(".", sample("mastodon")).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let row = t.run(&out, &ReadOptions::default()).unwrap();
    assert_eq!(
        (row.counts.imported, row.counts.media),
        (9, 1),
        "{:?}",
        row.counts
    );
    assert_eq!(t.scratch_left(), 0);
}

#[test]
fn the_cli_imports_an_archive_and_prints_the_summary() {
    let t = Importing::new();
    let zip = t.zipped("mastodon");
    let db = t.dir.path().join("tributary.db");
    drop(t.importer.clone());
    let output = binary()
        .args(["import", "archive", "ana"])
        .arg(&zip)
        .env("TRIBUTARY_DATABASE_PATH", &db)
        .env("TRIBUTARY_MEDIA_DIR", t.dir.path().join("media"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("9 imported, 0 already there, 4 skipped; media: 1 stored, 1 missing"),
        "{stdout}"
    );
    assert!(stdout.contains("1 direct message"), "{stdout}");
    assert_eq!(t.count("SELECT count(*) FROM items"), 9);
}

fn refused(t: &Importing, path: &Path) -> String {
    let err = t
        .run(path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(t.count("SELECT count(*) FROM items"), 0, "{err}");
    assert_eq!(t.count("SELECT count(*) FROM archive_imports"), 0, "{err}");
    assert_eq!(t.media_files(), 0, "{err}");
    assert_eq!(t.scratch_left(), 0, "{err}");
    err
}

#[test]
fn hostile_zips_are_refused_and_nothing_is_stored() {
    let t = Importing::new();
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let write = |name: &str, f: &dyn Fn(&mut zip::ZipWriter<File>)| {
        let path = t.dir.path().join(name);
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file("outbox.json", deflated).unwrap();
        zip.write_all(br#"{"orderedItems": []}"#).unwrap();
        zip.start_file("actor.json", deflated).unwrap();
        zip.write_all(b"{}").unwrap();
        f(&mut zip);
        zip.finish().unwrap();
        path
    };

    // A bomb: 64 MiB of zeros in a few kilobytes.
    let bomb = write("bomb.zip", &|zip| {
        zip.start_file("media_attachments/zeros.bin", deflated)
            .unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            zip.write_all(&chunk).unwrap();
        }
    });
    let err = refused(&t, &bomb);
    assert!(err.contains("zip bomb"), "{err}");

    // Names that climb out.
    // A name no other program leaves in the temporary folder, so the check below is
    // about this archive alone.
    for (n, name) in [
        "../../tributary-climbed",
        "media/../../../tributary-climbed",
        "/etc/cron.d/tributary-climbed",
        "C:\\tributary-climbed",
    ]
    .iter()
    .enumerate()
    {
        let path = write(&format!("climb{n}.zip"), &|zip| {
            zip.start_file(*name, deflated).unwrap();
            zip.write_all(b"x").unwrap();
        });
        let err = refused(&t, &path);
        assert!(err.contains("points outside the archive"), "{name}: {err}");
    }
    assert!(
        !t.dir
            .path()
            .parent()
            .unwrap()
            .join("tributary-climbed")
            .exists()
    );

    // A symlink entry.
    let link = write("link.zip", &|zip| {
        zip.add_symlink("media_attachments/passwd", "/etc/passwd", deflated)
            .unwrap();
    });
    let err = refused(&t, &link);
    assert!(err.contains("link or special file"), "{err}");

    // Truncated: the central directory is cut off.
    let whole = t.zipped("mastodon");
    let bytes = std::fs::read(&whole).unwrap();
    let cut = t.dir.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(&whole).unwrap();
    let err = refused(&t, &cut);
    assert!(err.contains("damaged or cut short"), "{err}");
}

#[test]
fn an_entry_that_declares_two_gigabytes_is_refused() {
    let t = Importing::new();
    // A zip whose central directory declares 2 GiB for one entry: written as a stored
    // 1-byte entry, then the sizes in both headers patched (zip64 is not needed below 4 GiB).
    let path = t.dir.path().join("huge.zip");
    {
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("outbox.json", stored).unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    let two_gb: u32 = 2 * 1024 * 1024 * 1024;
    let central = bytes
        .windows(4)
        .position(|w| w == [b'P', b'K', 1, 2])
        .unwrap();
    // Uncompressed size at offset 24 of a central directory header.
    bytes[central + 24..central + 28].copy_from_slice(&two_gb.to_le_bytes());
    bytes[22..26].copy_from_slice(&two_gb.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = refused(&t, &path);
    assert!(err.contains("declares 2147483648 bytes"), "{err}");
}

#[test]
fn hostile_tar_gz_names_and_links_are_refused() {
    let t = Importing::new();
    let tar_with =
        |name: &str, entry: &dyn Fn(&mut tar::Builder<flate2::write::GzEncoder<File>>)| {
            let path = t.dir.path().join(name);
            let gz = flate2::write::GzEncoder::new(
                File::create(&path).unwrap(),
                flate2::Compression::fast(),
            );
            let mut tar = tar::Builder::new(gz);
            entry(&mut tar);
            tar.into_inner().unwrap().finish().unwrap();
            path
        };
    let climb = tar_with("climb.tar.gz", &|tar| {
        let mut header = tar::Header::new_gnu();
        // Written into the header by hand: the builder refuses `..` itself.
        header.as_old_mut().name[..7].copy_from_slice(b"../../x");
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, &b"x"[..]).unwrap();
    });
    let err = refused(&t, &climb);
    assert!(err.contains("points outside the archive"), "{err}");
    assert!(!t.dir.path().join("media/x").exists());

    let link = tar_with("link.tar.gz", &|tar| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_cksum();
        tar.append_link(&mut header, "outbox.json", "/etc/passwd")
            .unwrap();
    });
    let err = refused(&t, &link);
    assert!(err.contains("link or special file"), "{err}");

    // A gzip bomb inflating past the total cap.
    let small_total = Importing::with(ImportConfig {
        max_total_bytes: 1 << 20,
        ..ImportConfig::default()
    });
    let path = small_total.dir.path().join("bomb.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::best(),
        );
        let mut tar = tar::Builder::new(gz);
        let zeros = vec![0u8; 4 << 20];
        let mut header = tar::Header::new_gnu();
        header.set_size(zeros.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "outbox.json", &zeros[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
    }
    let err = refused(&small_total, &path);
    assert!(err.contains("more than the limit"), "{err}");
}

#[test]
fn a_file_of_no_known_platform_is_refused_by_name() {
    let t = Importing::new();
    let path = t.dir.path().join("notes.zip");
    {
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file("notes.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        zip.finish().unwrap();
    }
    let err = refused(&t, &path);
    assert!(
        err.contains("not an archive Tributary reads") && err.contains("notes.txt"),
        "{err}"
    );
}

mod web {
    use std::time::Duration;

    use reqwest::StatusCode;

    use super::*;
    use crate::support::web::WebApp;

    async fn wait_done(client: &crate::support::web::Client) -> String {
        for _ in 0..100 {
            let page = client.get("/settings/import").await;
            if !page.body.contains("importing…") {
                return page.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the import did not finish");
    }

    #[tokio::test]
    async fn an_uploaded_export_is_imported_in_the_background_and_summarized() {
        let app = WebApp::start("http://127.0.0.1:9").await;
        app.create_user("ana", false);
        let client = app.logged_in("ana").await;
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("archive-ana.zip");
        zip_dir(&sample("mastodon"), &zip);
        let bytes = std::fs::read(&zip).unwrap();
        let page = client.get("/settings/import").await;
        assert!(
            page.body.contains("enctype=\"multipart/form-data\""),
            "{}",
            page.body
        );
        let token = page.csrf();

        // Without the token (or with it after the file) nothing is read.
        let forged = client
            .post_multipart(
                "/settings/import/archive",
                &[("archive", Some("a.zip"), &bytes)],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
        let late = client
            .post_multipart(
                "/settings/import/archive",
                &[
                    ("archive", Some("a.zip"), &bytes),
                    ("csrf", None, token.as_bytes()),
                ],
            )
            .await;
        assert_eq!(late.status, StatusCode::FORBIDDEN);

        let sent = client
            .post_multipart(
                "/settings/import/archive",
                &[
                    ("csrf", None, token.as_bytes()),
                    ("archive", Some("archive-ana.zip"), &bytes),
                ],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let body = wait_done(&client).await;
        assert!(body.contains("archive-ana.zip"), "{body}");
        assert!(
            body.contains("9 imported, 0 already there, 4 skipped; media: 1 stored, 1 missing."),
            "{body}"
        );
        assert!(body.contains("1 direct message"), "{body}");
        // The archive's source is listed, and says it is never polled.
        let sources = client.get("/settings/sources").await;
        assert_eq!(sources.status, StatusCode::OK);
        assert!(
            sources.body.contains("Mastodon (@ana@mastodon.example)"),
            "{}",
            sources.body
        );
        let id: i64 = app
            .store
            .read_blocking(|conn| Ok(conn.query_row("SELECT id FROM sources", [], |r| r.get(0))?))
            .unwrap();
        let page = client.get(&format!("/settings/sources/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("it is never polled"), "{}", page.body);
        assert!(!page.body.contains("Poll now"), "{}", page.body);
        let stream = client.get("/ana").await;
        assert!(stream.body.contains("Hello fediverse"), "{}", stream.body);
        assert!(stream.body.contains("A grey cat asleep on a keyboard"));
        assert!(!stream.body.contains("a secret"));
        // The stored picture is served from the media store.
        let at = stream.body.find("/media/").unwrap();
        let hash = &stream.body[at + 7..at + 7 + 64];
        let media = client.get(&format!("/media/{hash}")).await;
        assert_eq!(media.status, StatusCode::OK);
        assert_eq!(media.headers["content-type"], "image/png");
        // No file is left behind in the scratch folder.
        let tmp = app.dir.path().join("tributary.media/tmp");
        let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0);
    }

    #[tokio::test]
    async fn friendfeed_comments_and_likes_show_by_name_on_the_stream() {
        let app = WebApp::start("http://127.0.0.1:9").await;
        app.create_user("ana", false);
        let client = app.logged_in("ana").await;
        let token = client.get("/settings/import").await.csrf();
        let bytes = std::fs::read(sample("friendfeed").join("feed.json")).unwrap();
        let sent = client
            .post_multipart(
                "/settings/import/archive",
                &[
                    ("csrf", None, token.as_bytes()),
                    ("archive", Some("feed.json"), &bytes),
                ],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
        let body = wait_done(&client).await;
        assert!(body.contains("FriendFeed"), "{body}");
        let stream = client.get("/ana").await;
        assert!(stream.body.contains("Bob Example"), "{}", stream.body);
        assert!(stream.body.contains("from an archive"), "{}", stream.body);
        assert!(stream.body.contains("liked this"), "{}", stream.body);
        // The page's own script is in its head; nothing from the archive adds one.
        let main = &stream.body[stream.body.find("<main").expect("a main element")..];
        assert!(!main.contains("<script"), "{}", stream.body);
        // A name from an archive is not a link to a local user.
        assert!(
            !stream.body.contains("href=\"/Bob Example\""),
            "{}",
            stream.body
        );
    }

    #[tokio::test]
    async fn a_hostile_or_oversized_upload_is_refused_with_the_reason_and_stores_nothing() {
        let app = WebApp::start_with("http://127.0.0.1:9", |config| {
            config.import.max_upload_bytes = 64 * 1024;
        })
        .await;
        app.create_user("ana", false);
        let client = app.logged_in("ana").await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evil.zip");
        {
            let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file("outbox.json", options).unwrap();
            zip.write_all(b"{}").unwrap();
            zip.start_file("../../x", options).unwrap();
            zip.write_all(b"x").unwrap();
            zip.finish().unwrap();
        }
        let token = client.get("/settings/import").await.csrf();
        let page = client
            .post_multipart(
                "/settings/import/archive",
                &[
                    ("csrf", None, token.as_bytes()),
                    ("archive", Some("evil.zip"), &std::fs::read(&path).unwrap()),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("The archive was not imported"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("points outside the archive"),
            "{}",
            page.body
        );

        let big = vec![b'x'; 100 * 1024];
        let page = client
            .post_multipart(
                "/settings/import/archive",
                &[
                    ("csrf", None, token.as_bytes()),
                    ("archive", Some("big.zip"), &big),
                ],
            )
            .await;
        assert!(
            page.body.contains("larger than this instance takes"),
            "{}",
            page.body
        );
        let count: i64 = app
            .store
            .read_blocking(|conn| {
                Ok(conn.query_row(
                    "SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM archive_imports)",
                    [],
                    |row| row.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(count, 0);
        let tmp = app.dir.path().join("tributary.media/tmp");
        assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
    }
}

#[test]
fn a_twitter_archive_is_read_with_its_media_and_a_second_run_adds_nothing() {
    let t = Importing::new();
    let zip = t.zipped("twitter");
    let row = t.run(&zip, &ReadOptions::default()).unwrap();
    assert_eq!(row.platform, "twitter");
    let c = &row.counts;
    assert_eq!(
        (c.imported, c.skipped, c.media, c.media_missing),
        (11, 3, 3, 1),
        "{c:?}"
    );
    assert_eq!(c.reasons.get("reply to someone else"), Some(&1), "{c:?}");
    let items = t.items();
    let by_id = |id: &str| items.iter().find(|i| i.external_id == id).unwrap();
    // Entities decoded once; the t.co link expanded; the tweet's own date.
    assert_eq!(by_id("1001").summary_text, "Tom & Jerry &lt;3 #rust");
    assert!(
        by_id("1002")
            .content
            .as_str()
            .contains("href=\"https://example.com/post?a=1&amp;b=2\"")
    );
    assert!(!by_id("1002").content.as_str().contains("t.co"));
    // A photo from tweets_media with its alt text, served from the media store.
    let photo = by_id("1003");
    assert_eq!(
        photo.media[0].alt.as_deref(),
        Some("A red sun over the sea")
    );
    assert!(
        photo.media[0]
            .url
            .as_str()
            .starts_with("http://tributary.test/media/")
    );
    // The retweet is a share; the long text comes from note-tweet.js; markup stays text.
    assert_eq!(by_id("1005").kind, tributary::model::ItemKind::Share);
    assert!(by_id("1009").summary_text.ends_with("and nothing after."));
    assert!(!by_id("1011").content.as_str().contains("<script"));
    assert!(
        by_id("1011")
            .summary_text
            .contains("<script>alert(1)</script>")
    );
    assert_eq!(t.media_files(), 3);
    assert_eq!(
        t.count("SELECT count(*) FROM sources WHERE kind = 'twitter' AND enabled = 0"),
        1
    );

    let again = t.run(&zip, &ReadOptions::default()).unwrap();
    assert_eq!((again.counts.imported, again.counts.present), (0, 11));
    assert_eq!(t.count("SELECT count(*) FROM items"), 11);
}

#[test]
fn an_instagram_export_is_read_with_its_photos_and_mended_captions() {
    let t = Importing::new();
    let zip = t.zipped("instagram");
    let row = t.run(&zip, &ReadOptions::default()).unwrap();
    let c = &row.counts;
    assert_eq!(row.platform, "instagram");
    assert_eq!(
        (c.imported, c.skipped, c.media, c.media_missing),
        (4, 2, 4, 1),
        "{c:?}"
    );
    let items = t.items();
    assert!(
        items[0].summary_text.starts_with("Café au lait ☕"),
        "{}",
        items[0].summary_text
    );
    assert_eq!(
        items[0].published_at.to_rfc3339(),
        "2023-01-06T10:13:20+00:00"
    );
    assert_eq!(items[1].media.len(), 2);
    assert_eq!(items[2].kind, tributary::model::ItemKind::Video);
    assert_eq!(t.media_files(), 4);
}

#[test]
fn a_bluesky_repository_is_read_with_its_facets_reposts_and_alt_text() {
    let t = Importing::new();
    let row = t
        .run(&sample("bluesky").join("repo.car"), &ReadOptions::default())
        .unwrap();
    assert_eq!(row.platform, "bluesky");
    let c = &row.counts;
    assert_eq!(
        (c.imported, c.skipped, c.media, c.media_missing),
        (12, 4, 0, 2),
        "{c:?}"
    );
    assert_eq!(c.reasons.get("not imported: like"), Some(&1), "{c:?}");
    assert_eq!(c.reasons.get("reply to someone else"), Some(&1), "{c:?}");
    let items = t.items();
    let by_text = |start: &str| {
        items
            .iter()
            .find(|i| i.summary_text.starts_with(start))
            .unwrap()
    };
    assert!(
        by_text("Café ☕ notes")
            .content
            .as_str()
            .contains("href=\"https://example.com/read\"")
    );
    assert!(
        by_text("Loving #rustlang")
            .content
            .as_str()
            .contains("href=")
    );
    assert_eq!(by_text("Reposted").kind, tributary::model::ItemKind::Share);
    let photo = by_text("Sunset");
    assert!(
        photo.media[0]
            .url
            .as_str()
            .starts_with("https://cdn.bsky.app/")
    );
    assert!(photo.media[0].alt.is_some());
    assert!(!by_text("<script>").content.as_str().contains("<script"));
    assert_eq!(
        items[0].published_at.to_rfc3339(),
        "2023-04-01T10:00:00+00:00"
    );
    let again = t
        .run(&sample("bluesky").join("repo.car"), &ReadOptions::default())
        .unwrap();
    assert_eq!((again.counts.imported, again.counts.present), (0, 12));
}

#[test]
fn a_friendfeed_export_keeps_comments_and_likes_by_name() {
    let t = Importing::new();
    let row = t
        .run(
            &sample("friendfeed").join("feed.json"),
            &ReadOptions::default(),
        )
        .unwrap();
    assert_eq!(row.platform, "friendfeed");
    let c = &row.counts;
    assert_eq!((c.imported, c.skipped), (6, 1), "{c:?}");
    assert_eq!(
        t.count("SELECT count(*) FROM comments WHERE author_name IS NOT NULL"),
        4
    );
    assert_eq!(t.count("SELECT count(*) FROM archived_likes"), 4);
    assert_eq!(
        t.count("SELECT count(*) FROM comments WHERE body LIKE '%<script%'"),
        0
    );
    let items = t.items();
    assert_eq!(
        items[0].published_at.to_rfc3339(),
        "2009-03-01T08:00:00+00:00"
    );
    assert!(
        items
            .iter()
            .all(|i| !i.content.as_str().contains("<script"))
    );
    // An entry by a friend keeps its author.
    assert!(items.iter().any(|i| i.author_name.is_some()));
}
