//! Exports that validators accept: every URL in Atom, RSS and JSON Feed is written with
//! only the characters RFC 3986 allows (the corpus archive and our own hostile feed), no
//! empty `content` or `description` is written, untitled entries get a title, and the
//! stream of a service the user does not have is 404.

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use reqwest::StatusCode;
use tributary::export::{self, Format, Owner, Site, StreamKind};
use tributary::model::UserId;
use tributary::store::Store;
use tributary::store::export::{self as export_store, Scope};

use crate::export::{CorpusArchive, export_corpus_archive, fixture, ingest, rss_doc};
use crate::support::app::create_user;
use crate::support::web::WebApp;

/// Any origin: these tests never fetch.
const NO_ORIGIN: &str = "http://127.0.0.1:9";

/// Why `uri` is not an RFC 3986 URI reference made of allowed characters, if it is not:
/// `%` must start `%XX`, brackets may only enclose an IP-literal host, only one `#`, and
/// nothing outside unreserved, reserved and `%`.
fn forbidden_in(uri: &str) -> Option<String> {
    let bytes = uri.as_bytes();
    let authority_end = uri.find("://").map(|at| {
        let start = at + 3;
        start
            + uri[start..]
                .find(['/', '?', '#'])
                .unwrap_or(uri.len() - start)
    });
    let mut n_hashes = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let in_authority = authority_end.is_some_and(|end| index < end);
        let ok = match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
            b'-' | b'.' | b'_' | b'~' => true,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
            b':' | b'/' | b'?' | b'@' => true,
            b'[' | b']' => in_authority,
            b'#' => {
                n_hashes += 1;
                n_hashes == 1
            }
            b'%' => {
                bytes.len() > index + 2
                    && bytes[index + 1].is_ascii_hexdigit()
                    && bytes[index + 2].is_ascii_hexdigit()
            }
            _ => false,
        };
        if !ok {
            return Some(format!(
                "{:?} at byte {index} of {uri}",
                uri[index..].chars().next().unwrap_or('?')
            ));
        }
    }
    None
}

/// Every URL an Atom or RSS document writes: `href`, `url`, `ref` and `src` attributes
/// and the text of `uri`, `icon`, `link`, `comments` and `id`/`guid` elements.
fn xml_urls(bytes: &[u8]) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut urls = Vec::new();
    let mut text: Option<String> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).expect("the export is XML") {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let name = start.local_name();
                text = matches!(
                    name.into_inner(),
                    "uri" | "icon" | "link" | "comments" | "id" | "guid"
                )
                .then(String::new);
                for attribute in start.attributes() {
                    let attribute = attribute.unwrap();
                    if matches!(
                        attribute.key.local_name().into_inner(),
                        "href" | "url" | "ref" | "src"
                    ) {
                        let value = attribute.normalized_value(XmlVersion::Implicit1_0).unwrap();
                        urls.push(value.into_owned());
                    }
                }
            }
            Event::Text(part) => {
                if let Some(text) = &mut text {
                    text.push_str(&part.xml10_content());
                }
            }
            Event::CData(part) => {
                if let Some(text) = &mut text {
                    text.push_str(part.as_ref());
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(text) = &mut text {
                    text.push(match reference.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        _ => '\'',
                    });
                }
            }
            Event::End(_) => {
                if let Some(text) = text.take().filter(|t| !t.trim().is_empty()) {
                    urls.push(text.trim().to_owned());
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    urls
}

/// Every URL a JSON Feed document writes: the values of `*url` keys and `icon`.
fn json_urls(bytes: &[u8]) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(text)
                            if key.ends_with("url") || key == "icon" || key == "id" =>
                        {
                            out.push(text.clone())
                        }
                        other => walk(other, out),
                    }
                }
            }
            serde_json::Value::Array(values) => values.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut urls = Vec::new();
    walk(&serde_json::from_slice(bytes).unwrap(), &mut urls);
    urls
}

/// Every document of `user`'s stream in every format, rendered as the routes render them.
fn every_stream_document(store: &Store, user: UserId) -> Vec<(Format, Vec<u8>)> {
    let owner = store
        .read_blocking(move |conn| tributary::store::users::get(conn, user))
        .unwrap();
    let n_items = store
        .read_blocking(move |conn| export_store::count(conn, &Scope::User(user)))
        .unwrap();
    let site = Site::new("https://t.example");
    let mut documents = Vec::new();
    let pages = std::iter::once(None).chain((1..=export::n_archive_pages(n_items)).map(Some));
    for page in pages {
        let export_page = store
            .read_blocking(move |conn| export_store::page(conn, &Scope::User(user), page))
            .unwrap();
        for format in Format::ALL {
            let meta = export::stream_meta(
                &site,
                Owner {
                    name: &owner.name,
                    display_name: &owner.display_name,
                    created_at: owner.created_at,
                },
                StreamKind::User,
                format,
                &export_page.block,
                &export_page.entries,
                "/icon.svg",
            );
            documents.push((format, format.render(&meta, &export_page.entries)));
        }
    }
    documents
}

/// The URLs of `documents` that carry a character RFC 3986 forbids, with the reason.
fn forbidden_urls(documents: &[(Format, Vec<u8>)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (format, bytes) in documents {
        let urls = match format {
            Format::Json => json_urls(bytes),
            Format::Atom | Format::Rss => xml_urls(bytes),
        };
        bad.extend(
            urls.iter()
                .filter_map(|url| forbidden_in(url))
                .map(|why| format!("{format:?}: {why}")),
        );
    }
    bad
}

#[track_caller]
fn check_no_forbidden_urls(documents: &[(Format, Vec<u8>)]) {
    let bad = forbidden_urls(documents);
    assert!(
        bad.is_empty(),
        "{} URLs with characters RFC 3986 forbids, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
}

#[test]
fn url_checker_refuses_what_rfc_3986_forbids() {
    assert_eq!(forbidden_in("https://[::1]:80/a?b=%20#c"), None);
    assert_eq!(forbidden_in("tag:t.example,2026:item/1"), None);
    for bad in [
        "https://a.example/[x]",
        "https://a.example/^",
        "https://a.example/#a#b",
        "https://a.example/%zz",
        "https://a.example/é",
        "https://a.example/a b",
    ] {
        assert!(forbidden_in(bad).is_some(), "{bad}");
    }
}

#[test]
fn hostile_item_urls_are_percent_encoded_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db"), 2).unwrap();
    let user = create_user(&store, "ana");
    let bytes = std::fs::read(fixture("rfc3986_forbidden_url_characters.rss")).unwrap();
    let ids = ingest(&store, user, "https://src.example/feed", &bytes);
    assert_eq!(ids.len(), 3);
    let documents = every_stream_document(&store, user);
    // The stored URLs do carry such characters: the exports must encode them.
    let stored = store
        .read_blocking(move |conn| tributary::store::items::get(conn, ids[0]))
        .unwrap();
    assert!(
        forbidden_in(stored.url.as_ref().unwrap().as_str()).is_some(),
        "{:?}",
        stored.url
    );
    check_no_forbidden_urls(&documents);
    // Encoding keeps the address: readers that decode get the stored URL back.
    let atom = &documents[0].1;
    let feed = feed_rs::parser::parse(&atom[..]).unwrap();
    let hrefs: Vec<&str> = feed
        .entries
        .iter()
        .flat_map(|entry| entry.links.iter().map(|link| link.href.as_str()))
        .collect();
    assert!(
        hrefs
            .iter()
            .any(|href| href.contains("/a%5B1%5D/b%5Ec%7Cd?list%5B%5D=1&q=")),
        "{hrefs:?}"
    );
}

#[test]
fn corpus_archive_urls_use_only_characters_rfc_3986_allows() {
    let dir = tempfile::tempdir().unwrap();
    let CorpusArchive { db, out, .. } = export_corpus_archive(dir.path());
    let mut documents = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        documents.push((Format::Atom, std::fs::read(entry.unwrap().path()).unwrap()));
    }
    let store = Store::open(&db, 2).unwrap();
    let user = store
        .read_blocking(|conn| tributary::store::users::by_name(conn, "ana"))
        .unwrap()
        .id;
    documents.extend(
        every_stream_document(&store, user)
            .into_iter()
            .filter(|(format, _)| *format != Format::Atom),
    );
    check_no_forbidden_urls(&documents);
}

/// An RSS item with this guid, title, link and description, as `rss_doc` writes it.
fn rss_item(guid: &str, title: &str, description: &str) -> (String, String, String, String) {
    (
        guid.to_owned(),
        title.to_owned(),
        format!("https://src.example/{guid}"),
        description.to_owned(),
    )
}

#[tokio::test]
async fn empty_bodies_are_left_out_and_untitled_entries_get_a_title_from_their_text() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    let doc = rss_doc(&[
        rss_item("t1", "Has a title", ""),
        rss_item("t2", "", "&lt;p&gt;Only   a body, no title&lt;/p&gt;"),
    ]);
    assert_eq!(
        ingest(&app.store, user, "https://src.example/feed", doc.as_bytes()).len(),
        2
    );
    let client = app.client();
    let atom = client.get("/ana/feed.atom").await.body;
    assert!(!atom.contains("<![CDATA[]]>"), "{atom}");
    assert_eq!(atom.matches("<content").count(), 1, "{atom}");
    assert!(
        atom.contains("<title type=\"text\">Only a body, no title</title>"),
        "{atom}"
    );
    assert!(!atom.contains("<title type=\"text\"></title>"), "{atom}");
    assert!(!atom.contains("<title type=\"text\"/>"), "{atom}");
    let rss = client.get("/ana/feed.rss").await.body;
    let channel = rss::Channel::read_from(rss.as_bytes()).unwrap();
    let untitled = channel
        .items
        .iter()
        .find(|i| i.link.as_deref() == Some("https://src.example/t2"));
    assert_eq!(
        untitled.and_then(|i| i.title.as_deref()),
        Some("Only a body, no title"),
        "{rss}"
    );
    assert!(!rss.contains("<description></description>"), "{rss}");
    assert!(!rss.contains("<description/>"), "{rss}");
    assert!(
        !rss.contains("<description><![CDATA[]]></description>"),
        "{rss}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&client.get("/ana/feed.json").await.body).unwrap();
    for item in json["items"].as_array().unwrap() {
        assert!(!item["title"].as_str().unwrap().is_empty(), "{item}");
        assert_ne!(item["content_html"], "", "{item}");
        assert!(item["content_html"].is_string() || item["content_text"].is_string());
    }
}

#[tokio::test]
async fn stream_of_a_service_the_user_does_not_have_is_404() {
    let app = WebApp::start(NO_ORIGIN).await;
    let user = app.create_user("ana", false);
    ingest(
        &app.store,
        user,
        "https://src.example/feed",
        rss_doc(&[rss_item("s1", "Post", "body")]).as_bytes(),
    );
    let client = app.client();
    for format in ["atom", "rss", "json"] {
        let have = client.get(&format!("/ana/feed/feed.{format}")).await;
        assert_eq!(have.status, StatusCode::OK, "feed.{format}");
        let lack = client.get(&format!("/ana/github/feed.{format}")).await;
        assert_eq!(lack.status, StatusCode::NOT_FOUND, "github feed.{format}");
    }
}
