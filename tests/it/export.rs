//! Exports: Atom, RSS and JSON Feed re-read by feed-rs to what is stored, stable entry ids,
//! RFC 5005 archive walks, conditional GET, OPML in and out (hostile files included), and
//! the backup and archive commands of the binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use tributary::export::opml;
use tributary::model::{ItemId, UserId};
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::store::{Store, items, social, sources};
use url::Url;

use crate::support::app::{binary, create_user};
use crate::support::web::WebApp;

/// Any origin: these tests never fetch.
const NO_ORIGIN: &str = "http://127.0.0.1:9";

// ---------------------------------------------------------------------------------------
// Helpers.

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

pub fn corpus_feeds() -> PathBuf {
    std::env::var_os("TRIBUTARY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")))
        .join("feeds")
}

pub fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
    files.sort();
}

/// Parses `bytes` as a feed from `url` and stores its items as a `feed` source of `user`
/// (one source per URL); returns the ids of new items.
pub fn ingest(store: &Store, user: UserId, url: &str, bytes: &[u8]) -> Vec<ItemId> {
    let base = Url::parse(url).unwrap();
    let Ok(parsed) = connectors::protocol::feed::parse(bytes, &base) else {
        return Vec::new();
    };
    let ctx = NormalizeCtx {
        base_url: Some(base.clone()),
        fetched_at: Utc::now(),
        sanitize_fast_path: true,
    };
    let new_items: Vec<_> = parsed
        .items
        .into_iter()
        .map(|raw| normalize(raw, &ctx).0)
        .collect();
    let params = serde_json::json!({ "url": url });
    store
        .write_blocking(|tx| {
            let existing = sources::list(tx, Some(user))?
                .into_iter()
                .find(|s| s.url() == Some(url))
                .map(|s| s.id);
            let source = match existing {
                Some(id) => id,
                None => sources::insert(tx, &sources::NewSource::feed(user, &params), Utc::now())?,
            };
            Ok(items::upsert(tx, source, user, &new_items, Utc::now())?.new_ids)
        })
        .unwrap()
}

/// An RSS document with `(guid, title, link, description)` items.
pub fn rss_doc(entries: &[(String, String, String, String)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>t</title>\
         <link>https://src.example/</link><description>d</description>\n",
    );
    for (guid, title, link, description) in entries {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{link}</link>\
             <description>{description}</description><category>tag-a</category>\
             <enclosure url=\"https://src.example/a.mp3\" length=\"123\" type=\"audio/mpeg\"/>\
             <pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>\n"
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

fn simple_items(n: usize, title: &str) -> Vec<(String, String, String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("g{i}"),
                format!("{title} {i}"),
                format!("https://src.example/p/{i}"),
                format!("&lt;p&gt;Body {i}&lt;/p&gt;"),
            )
        })
        .collect()
}

/// What a stored title looks like after an XML round trip: forbidden characters gone,
/// line ends normalized (XML 1.0 §2.11), outer whitespace trimmed.
fn as_reread(text: &str) -> String {
    tributary::export::xml_text(text)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

fn secs(time: DateTime<Utc>) -> i64 {
    time.timestamp()
}

/// Checks every entry of a re-read feed against the stored item it names.
#[track_caller]
fn check_entries_match_store(
    store: &Store,
    feed: &feed_rs::model::Feed,
    alternate_rel: Option<&str>,
) {
    for entry in &feed.entries {
        let id: i64 = entry
            .id
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("id {}", entry.id));
        let item = store
            .read_blocking(|conn| items::get(conn, ItemId(id)))
            .unwrap();
        assert!(entry.id.starts_with("tag:"), "{}", entry.id);
        let title = entry
            .title
            .as_ref()
            .map(|t| t.content.trim().to_owned())
            .unwrap_or_default();
        if item.title.trim().is_empty() {
            assert!(
                !title.is_empty(),
                "untitled {} exported without a title",
                entry.id
            );
        } else {
            assert_eq!(title, as_reread(&item.title), "title of {}", entry.id);
        }
        let link = match alternate_rel {
            Some(rel) => entry.links.iter().find(|l| l.rel.as_deref() == Some(rel)),
            None => entry.links.first(),
        };
        let expected_link = item
            .url
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_else(|| format!("/e/{id}"));
        let link = link.unwrap_or_else(|| panic!("no link in {}", entry.id));
        // Exports percent-encode what RFC 3986 forbids; decoded, it is the stored URL.
        let (href, expected_link) = (percent_decoded(&link.href), percent_decoded(&expected_link));
        assert!(
            href.ends_with(&expected_link) || href == expected_link,
            "{} vs {}",
            link.href,
            expected_link
        );
        assert_eq!(
            entry.published.map(secs),
            Some(secs(item.published_at)),
            "published of {}",
            entry.id
        );
    }
}

/// `text` with every `%XX` decoded (as UTF-8, lossily).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_feed(bytes: &[u8]) -> feed_rs::model::Feed {
    feed_rs::parser::parse(bytes).unwrap_or_else(|err| {
        panic!(
            "feed-rs cannot read the export: {err}\n{}",
            String::from_utf8_lossy(bytes)
        )
    })
}

fn prev_archive(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).unwrap();
    let at = text.find("rel=\"prev-archive\"")?;
    let tail = &text[at..];
    let href = &tail[tail.find("href=\"")? + 6..];
    Some(href[..href.find('"')?].replace("&amp;", "&"))
}

/// A command for the binary with a clean environment and this database.
pub fn tributary(db: &Path) -> Command {
    let mut command = binary();
    command
        .env("TRIBUTARY_DATABASE_PATH", db)
        .env("TRIBUTARY_SERVER_BASE_URL", "https://tributary.example");
    command
}

pub fn run_ok(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{:?} failed\nstdout: {}\nstderr: {}",
        command,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

// ---------------------------------------------------------------------------------------
// The corpus archive (`schema.rs` validates it with jing).

/// The whole corpus in one user's stream, exported with `tributary export atom` into
/// `dir/atom`.
pub struct CorpusArchive {
    pub db: PathBuf,
    pub out: PathBuf,
    pub n_items: u64,
}

pub fn export_corpus_archive(dir: &Path) -> CorpusArchive {
    let db = dir.join("tributary.db");
    let store = Store::open(&db, 2).unwrap();
    let user = create_user(&store, "ana");
    let mut files = Vec::new();
    walk(&corpus_feeds(), &mut files);
    assert!(
        files.len() > 3000,
        "the corpus is incomplete: {} files",
        files.len()
    );
    for (index, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        ingest(
            &store,
            user,
            &format!("https://corpus.example/{index}/feed"),
            &bytes,
        );
    }
    let n_items = store
        .read_blocking(|conn| {
            tributary::store::export::count(conn, &tributary::store::export::Scope::User(user))
        })
        .unwrap();
    assert!(n_items > 1000, "only {n_items} items from the corpus");
    let out = dir.join("atom");
    drop(store);
    run_ok(
        tributary(&db)
            .args(["export", "atom", "ana", "--out"])
            .arg(&out),
    );
    CorpusArchive { db, out, n_items }
}

#[test]
fn corpus_stream_exports_a_complete_atom_archive() {
    let dir = tempfile::tempdir().unwrap();
    let CorpusArchive { db, out, n_items } = export_corpus_archive(dir.path());
    let store = Store::open(&db, 2).unwrap();
    let n_files = std::fs::read_dir(&out).unwrap().count() as u64;
    assert_eq!(n_files, tributary::export::n_archive_pages(n_items) + 1);
    // Walk prev-archive from the subscription document through the files.
    let mut seen = BTreeSet::new();
    let mut next = Some("feed.atom".to_owned());
    while let Some(name) = next {
        let bytes = std::fs::read(out.join(&name)).unwrap();
        let feed = parse_feed(&bytes);
        check_entries_match_store(&store, &feed, Some("alternate"));
        for entry in &feed.entries {
            assert!(seen.insert(entry.id.clone()), "{} seen twice", entry.id);
        }
        next = prev_archive(&bytes).map(|url| {
            let page = url.rsplit("page=").next().unwrap().to_owned();
            format!("feed-page-{page}.atom")
        });
    }
    assert_eq!(seen.len() as u64, n_items);
}

// ---------------------------------------------------------------------------------------
// Round trips through feed-rs and format rules.

#[tokio::test]
async fn every_format_rereads_to_the_stored_entries() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    let hostile = vec![
        (
            "h1".into(),
            "&lt;script&gt;alert(1)&lt;/script&gt; ]]&gt; end".into(),
            "https://src.example/1".into(),
            "&lt;b&gt;x&lt;/b&gt; ]]&gt;".into(),
        ),
        (
            "h2".into(),
            "second title".into(),
            "https://src.example/2".into(),
            "ok".into(),
        ),
        (
            "h3".into(),
            "Plain &amp; simple".into(),
            "https://src.example/3".into(),
            "".into(),
        ),
    ];
    let ids = ingest(
        &app.store,
        user,
        "https://src.example/feed",
        rss_doc(&hostile).as_bytes(),
    );
    assert_eq!(ids.len(), 3);
    let client = app.client();
    for (path, rel) in [
        ("/ana/feed.atom", Some("alternate")),
        ("/ana/feed.rss", None),
        ("/ana/feed.json", None),
    ] {
        let page = client.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let feed = parse_feed(page.body.as_bytes());
        assert_eq!(feed.entries.len(), 3, "{path}");
        check_entries_match_store(&app.store, &feed, rel);
    }
}

#[tokio::test]
async fn rss_items_carry_guid_is_permalink_and_rfc822_pub_date() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    ingest(
        &app.store,
        user,
        "https://src.example/feed",
        rss_doc(&simple_items(2, "Post")).as_bytes(),
    );
    let body = app.client().get("/ana/feed.rss").await.body;
    let channel = rss::Channel::read_from(body.as_bytes()).unwrap();
    assert_eq!(channel.items.len(), 2);
    for item in &channel.items {
        let guid = item.guid.as_ref().unwrap();
        assert!(!guid.permalink);
        assert!(
            guid.value.starts_with("tag:127.0.0.1,2026:item/"),
            "{}",
            guid.value
        );
        DateTime::parse_from_rfc2822(item.pub_date.as_deref().unwrap()).unwrap();
        assert!(item.enclosure.is_some());
    }
    assert_eq!(body.matches("isPermaLink=\"false\"").count(), 2);
}

#[tokio::test]
async fn json_feed_follows_the_field_rules() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    ingest(
        &app.store,
        user,
        "https://src.example/feed",
        rss_doc(&simple_items(3, "Post")).as_bytes(),
    );
    let page = app.client().get("/ana/feed.json").await;
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/feed+json")
    );
    let feed: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert!(feed["title"].is_string());
    for key in ["home_page_url", "feed_url", "icon"] {
        Url::parse(feed[key].as_str().unwrap()).unwrap();
    }
    let entries = feed["items"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for item in entries {
        assert!(item["id"].is_string(), "id must be a string");
        assert!(item["content_html"].is_string() || item["content_text"].is_string());
        Url::parse(item["url"].as_str().unwrap()).unwrap();
        DateTime::parse_from_rfc3339(item["date_published"].as_str().unwrap()).unwrap();
        DateTime::parse_from_rfc3339(item["date_modified"].as_str().unwrap()).unwrap();
        assert!(item["authors"][0]["name"].is_string());
        for attachment in item["attachments"].as_array().unwrap() {
            assert!(attachment["url"].is_string() && attachment["mime_type"].is_string());
        }
        for tag in item["tags"].as_array().unwrap() {
            assert!(tag.is_string());
        }
    }
}

#[tokio::test]
async fn entry_ids_survive_repolls_edits_and_comments() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    let url = "https://src.example/feed";
    let ids = ingest(
        &app.store,
        user,
        url,
        rss_doc(&simple_items(3, "Post")).as_bytes(),
    );
    let client = app.client();
    let ids_of = |body: &str| {
        parse_feed(body.as_bytes())
            .entries
            .into_iter()
            .map(|e| (e.links[0].href.clone(), e.id))
            .collect::<BTreeMap<_, _>>()
    };
    let before = ids_of(&client.get("/ana/feed.atom").await.body);
    // A re-poll of the same document, an edit of every title, and a comment.
    ingest(
        &app.store,
        user,
        url,
        rss_doc(&simple_items(3, "Post")).as_bytes(),
    );
    ingest(
        &app.store,
        user,
        url,
        rss_doc(&simple_items(3, "Edited")).as_bytes(),
    );
    app.store
        .write_blocking(|tx| social::add_comment(tx, ids[0], user, "nice", Utc::now()).map(|_| ()))
        .unwrap();
    let body = client.get("/ana/feed.atom").await.body;
    assert!(body.contains("Edited 0") && body.contains("<thr:total>1</thr:total>"));
    assert_eq!(ids_of(&body), before);
}

// ---------------------------------------------------------------------------------------
// Paging and caching.

#[tokio::test]
async fn prev_archive_walk_of_5000_items_yields_each_once() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    // The feed parser reads at most 1,000 items per document: five sources of 1,000.
    for batch in 0..5 {
        let url = format!("https://src{batch}.example/feed");
        let new = ingest(
            &app.store,
            user,
            &url,
            rss_doc(&simple_items(1000, "Item")).as_bytes(),
        );
        assert_eq!(new.len(), 1000);
    }
    let client = app.client();
    let mut seen = BTreeSet::new();
    let mut next = Some(app.url("/ana/feed.atom"));
    let mut n_docs = 0;
    while let Some(url) = next {
        let path = url
            .strip_prefix(&app.base)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                // Links use the configured base URL; keep the path and query.
                let parsed = Url::parse(&url).unwrap();
                format!("{}?{}", parsed.path(), parsed.query().unwrap_or(""))
            });
        let page = client.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let feed = parse_feed(page.body.as_bytes());
        for entry in feed.entries {
            assert!(seen.insert(entry.id.clone()), "{} twice", entry.id);
        }
        next = prev_archive(page.body.as_bytes());
        n_docs += 1;
    }
    assert_eq!(seen.len(), 5000);
    assert_eq!(n_docs, 100);
    // Archive pages do not move when new items arrive.
    let page_one = client.get("/ana/feed.atom?page=1").await.body;
    ingest(
        &app.store,
        user,
        "https://src.example/other",
        rss_doc(&simple_items(70, "New")).as_bytes(),
    );
    assert_eq!(client.get("/ana/feed.atom?page=1").await.body, page_one);
    assert_eq!(
        client.get("/ana/feed.atom?page=999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_export_route_answers_a_conditional_request_with_304() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    let bob = app.create_user("bob", false);
    let ids = ingest(
        &app.store,
        user,
        "https://src.example/feed",
        rss_doc(&simple_items(120, "Post")).as_bytes(),
    );
    app.store
        .write_blocking(|tx| {
            social::add_comment(tx, ids[0], bob, "hello", Utc::now())?;
            social::follow(tx, bob, user, Utc::now())?;
            Ok(())
        })
        .unwrap();
    let item = ids[0].0;
    let paths = [
        "/ana/feed.atom".to_owned(),
        "/ana/feed.atom?page=1".to_owned(),
        "/ana/feed.rss".to_owned(),
        "/ana/feed.json".to_owned(),
        "/bob/friends/feed.atom".to_owned(),
        "/bob/friends/feed.rss".to_owned(),
        "/bob/friends/feed.json".to_owned(),
        "/ana/feed/feed.atom".to_owned(),
        "/ana/feed/feed.rss".to_owned(),
        "/ana/feed/feed.json".to_owned(),
        format!("/e/{item}/comments.atom"),
    ];
    let http = reqwest::Client::new();
    for path in &paths {
        let first = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK, "{path}");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let last_modified = first.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!first.bytes().await.unwrap().is_empty());
        let by_etag = http
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            by_etag.status(),
            StatusCode::NOT_MODIFIED,
            "{path} If-None-Match"
        );
        assert!(by_etag.bytes().await.unwrap().is_empty());
        let by_date = http
            .get(app.url(path))
            .header("if-modified-since", &last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(
            by_date.status(),
            StatusCode::NOT_MODIFIED,
            "{path} If-Modified-Since"
        );
        assert!(by_date.bytes().await.unwrap().is_empty());
        let stale = http
            .get(app.url(path))
            .header("if-none-match", "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::OK, "{path} other ETag");
    }
    // The comments feed re-reads, and a new comment changes its ETag.
    let comments_path = paths.last().unwrap();
    let comments = http.get(app.url(comments_path)).send().await.unwrap();
    let etag = comments.headers()["etag"].to_str().unwrap().to_owned();
    let feed = parse_feed(&comments.bytes().await.unwrap());
    assert_eq!(feed.entries.len(), 1);
    app.store
        .write_blocking(|tx| social::add_comment(tx, ids[0], bob, "again", Utc::now()).map(|_| ()))
        .unwrap();
    let after = http
        .get(app.url(comments_path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// OPML.

#[tokio::test]
async fn opml_round_trip_recreates_the_sources() {
    let app = WebApp::start(NO_ORIGIN).await;
    let ana = app.create_user("ana", false);
    for url in [
        "https://a.example/feed.xml",
        "https://b.example/rss?x=1&y=2",
    ] {
        ingest(&app.store, ana, url, b"");
        app.store
            .write_blocking(|tx| {
                let params = serde_json::json!({ "url": url });
                match sources::insert(
                    tx,
                    &sources::NewSource {
                        user_id: ana,
                        kind: "feed",
                        params: &params,
                        title: "T",
                        schedule: "",
                    },
                    Utc::now(),
                ) {
                    Ok(_) | Err(tributary::store::StoreError::Conflict(_)) => Ok(()),
                    Err(err) => Err(err),
                }
            })
            .unwrap();
    }
    let exported = app
        .logged_in("ana")
        .await
        .get("/ana/sources.opml")
        .await
        .body;
    let bob = app.create_user("bob", false);
    let report = app
        .state
        .sources
        .import_opml(bob, &app.state.config.fetch, exported.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        (
            report.added.len(),
            report.already_present.len(),
            report.refused.len()
        ),
        (2, 0, 0),
        "{report:?}"
    );
    let urls = |user| {
        let mut urls: Vec<String> = app
            .store
            .read_blocking(move |conn| sources::list(conn, Some(user)))
            .unwrap()
            .into_iter()
            .map(|s| format!("{} {}", s.kind, s.url().unwrap()))
            .collect();
        urls.sort();
        urls
    };
    assert_eq!(urls(bob), urls(ana));
    // Importing again adds nothing.
    let again = app
        .state
        .sources
        .import_opml(bob, &app.state.config.fetch, exported.as_bytes())
        .await
        .unwrap();
    assert_eq!((again.added.len(), again.already_present.len()), (0, 2));
}

// See: #16
#[tokio::test]
async fn issue16_4_sources_opml_is_only_for_its_owner() {
    let app = WebApp::start(NO_ORIGIN).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let private_feed = "https://private.example/feed.atom?secret=s3cr3t-t0ken";
    app.store
        .write_blocking(|tx| {
            sources::insert(
                tx,
                &sources::NewSource {
                    user_id: ana,
                    kind: "feed",
                    params: &serde_json::json!({ "url": private_feed }),
                    title: "Private",
                    schedule: "",
                },
                Utc::now(),
            )
        })
        .unwrap();
    // Without a session: off to log in, and nothing of the list.
    let anonymous = app.client().get("/ana/sources.opml").await;
    assert_eq!(
        anonymous.status,
        StatusCode::SEE_OTHER,
        "{}",
        anonymous.body
    );
    assert_eq!(
        anonymous.location.as_deref(),
        Some("/login?next=%2Fana%2Fsources.opml")
    );
    assert!(!anonymous.body.contains("s3cr3t"), "{}", anonymous.body);
    // Another user: there is nothing here for them.
    let bo = app.logged_in("bo").await.get("/ana/sources.opml").await;
    assert_eq!(bo.status, StatusCode::NOT_FOUND);
    assert!(!bo.body.contains("s3cr3t"), "{}", bo.body);
    // The owner gets the whole list, kept out of shared caches, and 304 when unchanged.
    let owner = app.logged_in("ana").await;
    let mine = owner.get("/ana/sources.opml").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("secret=s3cr3t-t0ken"), "{}", mine.body);
    assert_eq!(mine.headers["cache-control"], "private, no-cache");
    let etag = mine.headers["etag"].to_str().unwrap();
    let again = owner
        .http
        .get(app.url("/ana/sources.opml"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn settings_import_page_reports_added_present_and_refused() {
    let app = WebApp::start(NO_ORIGIN).await;
    app.create_user("ana", false);
    let client = app.logged_in("ana").await;
    let hostile = std::fs::read_to_string(fixture("opml_hostile_urls.opml")).unwrap();
    let page = client
        .post_form(
            "/settings/import",
            "/settings/import",
            &[("opml", &hostile)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("1 added, 0 already present, 7 refused"),
        "{}",
        page.body
    );
    assert!(page.body.contains("javascript"));
    let again = client
        .post_form(
            "/settings/import",
            "/settings/import",
            &[("opml", &hostile)],
        )
        .await;
    assert!(
        again.body.contains("0 added, 1 already present, 7 refused"),
        "{}",
        again.body
    );
    let laughs = std::fs::read_to_string(fixture("opml_billion_laughs.opml")).unwrap();
    let refused = client
        .post_form("/settings/import", "/settings/import", &[("opml", &laughs)])
        .await;
    assert!(refused.body.contains("DOCTYPE"), "{}", refused.body);
}

#[test]
fn hostile_opml_urls_are_refused_with_reasons() {
    let bytes = std::fs::read(fixture("opml_hostile_urls.opml")).unwrap();
    let (entries, _) = opml::parse(&bytes).unwrap();
    let registry = connectors::Registry::default();
    let guard = opml::ssrf_guard(&tributary::config::FetchConfig::default()).unwrap();
    let mut report = opml::ImportReport::default();
    let planned = opml::plan(&entries, &registry, &guard, &mut report);
    assert_eq!(planned.len(), 1);
    let reasons: Vec<&str> = report
        .refused
        .iter()
        .map(|(_, reason)| reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 7, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("no xmlUrl, htmlUrl or tributary:kind"))
    );
    assert!(reasons.iter().any(|r| r.contains("javascript")));
    assert!(reasons.iter().any(|r| r.contains("file")));
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("private") || r.contains("loopback"))
    );
}

#[test]
fn billion_laughs_opml_is_refused() {
    let bytes = std::fs::read(fixture("opml_billion_laughs.opml")).unwrap();
    assert_eq!(opml::parse(&bytes), Err(opml::OpmlError::Doctype));
}

#[test]
fn ten_thousand_nested_outlines_are_skipped_quickly() {
    let mut doc = String::from("<opml version=\"2.0\"><head/><body>");
    for i in 0..10_000 {
        doc.push_str(&format!(
            "<outline text=\"{i}\" xmlUrl=\"https://n.example/{i}\">"
        ));
    }
    doc.push_str(&"</outline>".repeat(10_000));
    doc.push_str("</body></opml>");
    let started = Instant::now();
    let (entries, warnings) = opml::parse(doc.as_bytes()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        entries.len() <= opml::MAX_OPML_DEPTH + 1,
        "{}",
        entries.len()
    );
    assert!(!warnings.is_empty());
    let fixture_bytes = std::fs::read(fixture("opml_deep_nesting.opml")).unwrap();
    let (_, warnings) = opml::parse(&fixture_bytes).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("nested")),
        "{warnings:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The binary: backup, OPML export and import.

#[test]
fn backup_and_opml_commands_work_on_a_live_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tributary.db");
    let store = Store::open(&db, 2).unwrap();
    let user = create_user(&store, "ana");
    create_user(&store, "bob");
    ingest(
        &store,
        user,
        "https://src.example/feed",
        rss_doc(&simple_items(5, "Post")).as_bytes(),
    );
    // The store stays open (as a running server would hold it) during the backup.
    let copy = dir.path().join("copy.db");
    run_ok(tributary(&db).args(["export", "backup"]).arg(&copy));
    let restored = Store::open(&copy, 1).unwrap();
    let n = restored
        .read_blocking(|conn| {
            tributary::store::export::count(conn, &tributary::store::export::Scope::User(user))
        })
        .unwrap();
    assert_eq!(n, 5);
    let refused = tributary(&db)
        .args(["export", "backup"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let opml_text = run_ok(tributary(&db).args(["export", "opml", "ana"]));
    let opml_file = dir.path().join("ana.opml");
    std::fs::write(&opml_file, &opml_text).unwrap();
    let report = run_ok(
        tributary(&db)
            .args(["import", "opml", "bob"])
            .arg(&opml_file),
    );
    assert!(
        report.contains("1 added, 0 already present, 0 refused"),
        "{report}"
    );
    drop(store);
}

#[tokio::test]
async fn subscription_feeds_name_the_websub_hub_and_archive_pages_do_not() {
    let app = WebApp::start_with(NO_ORIGIN, |config| {
        config.websub.hub = "https://hub.example/".to_owned();
    })
    .await;
    let ana = app.create_user("ana", false);
    let bob = app.create_user("bob", false);
    ingest(
        &app.store,
        ana,
        "https://src.example/feed",
        rss_doc(&simple_items(120, "Post")).as_bytes(),
    );
    app.store
        .write_blocking(|tx| social::follow(tx, bob, ana, Utc::now()))
        .unwrap();
    let client = app.client();
    for path in [
        "/ana/feed.atom",
        "/ana/feed/feed.atom",
        "/bob/friends/feed.atom",
    ] {
        let feed = parse_feed(client.get(path).await.body.as_bytes());
        let hubs: Vec<&str> = feed
            .links
            .iter()
            .filter(|link| link.rel.as_deref() == Some("hub"))
            .map(|link| link.href.as_str())
            .collect();
        assert_eq!(hubs, ["https://hub.example/"], "{path}");
    }
    for path in [
        "/ana/feed.rss",
        "/ana/feed/feed.rss",
        "/bob/friends/feed.rss",
    ] {
        let body = client.get(path).await.body;
        assert!(
            body.contains(r#"<atom:link href="https://hub.example/" rel="hub">"#),
            "{path}: {body}"
        );
    }
    for path in [
        "/ana/feed.json",
        "/ana/feed/feed.json",
        "/bob/friends/feed.json",
    ] {
        let feed: serde_json::Value = serde_json::from_str(&client.get(path).await.body).unwrap();
        assert_eq!(
            feed["hubs"],
            serde_json::json!([{ "type": "WebSub", "url": "https://hub.example/" }]),
            "{path}"
        );
    }
    // Archive pages never change when items arrive: no hub.
    for path in ["/ana/feed.atom?page=1", "/ana/feed.rss?page=1"] {
        let body = client.get(path).await.body;
        assert!(
            body.contains("rel=\"current\""),
            "{path} is an archive page"
        );
        assert!(!body.contains("rel=\"hub\""), "{path}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&client.get("/ana/feed.json?page=1").await.body).unwrap();
    assert!(json.get("hubs").is_none());

    // Without a hub in the config, no feed names one.
    let plain = WebApp::start(NO_ORIGIN).await;
    let ana = plain.create_user("ana", false);
    ingest(
        &plain.store,
        ana,
        "https://src.example/feed",
        rss_doc(&simple_items(3, "Post")).as_bytes(),
    );
    let client = plain.client();
    for path in ["/ana/feed.atom", "/ana/feed.rss", "/ana/feed.json"] {
        let body = client.get(path).await.body;
        assert!(!body.contains("hub"), "{path}: {body}");
    }
}

#[tokio::test]
async fn pages_autodiscover_the_feed_of_the_stream_they_show() {
    let app = WebApp::start(NO_ORIGIN).await;
    let ana = app.create_user("ana", false);
    let bob = app.create_user("bob", false);
    let ids = ingest(
        &app.store,
        ana,
        "https://src.example/feed",
        rss_doc(&simple_items(3, "Post")).as_bytes(),
    );
    app.store
        .write_blocking(|tx| social::follow(tx, bob, ana, Utc::now()))
        .unwrap();
    let client = app.client();
    for (page, feed_base) in [
        ("/ana", "/ana/feed"),
        ("/ana?service=feed", "/ana/feed/feed"),
        ("/bob/friends", "/bob/friends/feed"),
        ("/ana/likes", "/ana/feed"),
    ] {
        let html = client.get(page).await.body;
        for (ext, media_type) in [
            ("atom", "application/atom+xml"),
            ("rss", "application/rss+xml"),
            ("json", "application/feed+json"),
        ] {
            let href = format!("{feed_base}.{ext}");
            assert!(
                html.contains(&format!(r#"type="{media_type}""#))
                    && html.contains(&format!(r#"href="{href}""#)),
                "{page} should link {href}"
            );
            let feed = client.get(&href).await;
            assert_eq!(feed.status, StatusCode::OK, "{href}");
            assert!(
                feed.headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with(media_type),
                "{href}"
            );
        }
    }
    // An item page names its comments feed.
    let item = ids[0].0;
    let html = client.get(&format!("/e/{item}")).await.body;
    assert!(
        html.contains(&format!(r#"href="/e/{item}/comments.atom""#)),
        "the item page should link its comments feed"
    );
    // Names that are not feeds of a stream are not found.
    for path in [
        "/bob/friends/feed.xml",
        "/ana/feed/feed.html",
        "/ana/Bad!/feed.rss",
    ] {
        assert_eq!(
            client.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

/// `export backup` copies the database only; once the media store holds files it names
/// the folder to copy alongside, and says nothing of it before.
#[test]
fn backup_names_the_media_folder_when_it_holds_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tributary.db");
    let store = Store::open(&db, 2).unwrap();
    let user = create_user(&store, "ana");
    let first = run_ok(
        tributary(&db)
            .args(["export", "backup"])
            .arg(dir.path().join("1.db")),
    );
    assert!(!first.contains("media"), "{first}");
    let media = tributary::media::MediaStore::new(store.clone(), &Default::default());
    media
        .put_blocking(user, crate::web_media::PNG_1X1, "x.png")
        .unwrap();
    let second = run_ok(
        tributary(&db)
            .args(["export", "backup"])
            .arg(dir.path().join("2.db")),
    );
    let folder = dir.path().join("tributary.media");
    assert!(
        second.contains(&format!(
            "the media folder {} (1 stored) is not in this copy",
            folder.display()
        )),
        "{second}"
    );
    drop(store);
}
