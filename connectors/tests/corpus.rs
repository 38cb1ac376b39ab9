//! Runs the feed parser over every third-party feed in the shared corpus: it must never
//! panic, must read most of them, and must decode the legacy encodings properly.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use connectors::Content;
use connectors::protocol::feed::{ParsedFeed, parse};
use url::Url;

/// The corpus README lists 3,101 feed files; fewer means the checkout is incomplete.
const MIN_CORPUS_FILES: usize = 3000;
/// A parser that fails on most of the corpus is broken even if it never panics.
const MIN_FILES_WITH_ITEMS: usize = 1000;

fn corpus_dir() -> PathBuf {
    let root = std::env::var_os("TRIBUTARY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        });
    root.join("feeds")
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot read corpus directory {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry of the corpus").path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// A fake address under which a corpus file is parsed, so relative links have a base.
fn base_for(relative: &Path) -> Url {
    let path = relative.to_string_lossy().replace('\\', "/");
    Url::parse("https://corpus.example/")
        .and_then(|root| root.join(&path))
        .expect("corpus paths make valid URLs")
}

/// Groups parser errors by class and the start of their message.
fn error_bucket(message: &str) -> String {
    let reason = message.trim_start_matches("invalid document: ");
    let bucket = if reason.starts_with("this is an HTML page") {
        "html page"
    } else if reason.starts_with("not a feed") {
        "no feed root"
    } else if reason.starts_with("unable to parse XML") {
        "xml syntax"
    } else if reason.starts_with("unable to parse JSON") {
        "json syntax"
    } else if reason.starts_with("not a JSON Feed") {
        "json, not a JSON Feed"
    } else if reason.starts_with("unable to parse feed") {
        "feed structure"
    } else if reason.starts_with("the document is empty") {
        "empty"
    } else {
        "other"
    };
    bucket.to_string()
}

#[test]
fn every_corpus_feed_parses_without_panicking() {
    let dir = corpus_dir();
    assert!(dir.is_dir(), "the corpus is missing at {}", dir.display());
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    assert!(
        files.len() >= MIN_CORPUS_FILES,
        "only {} files under {}, expected at least {MIN_CORPUS_FILES}",
        files.len(),
        dir.display()
    );

    // Set TRIBUTARY_CORPUS_VERBOSE=1 to list each failing file with its reason.
    let verbose = std::env::var_os("TRIBUTARY_CORPUS_VERBOSE").is_some();
    let mut panics = Vec::new();
    // Parsed with no items and no warning saying why: a silent success.
    let mut silent_empty = Vec::new();
    let mut n_with_items = 0;
    let mut n_empty = 0;
    let mut n_items = 0;
    let mut n_warnings = 0;
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for path in &files {
        let bytes = std::fs::read(path).expect("a readable corpus file");
        let relative = path.strip_prefix(&dir).unwrap_or(path);
        let base = base_for(relative);
        match catch_unwind(AssertUnwindSafe(|| parse(&bytes, &base))) {
            Err(payload) => {
                let why = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panics.push(format!("{}: {why}", relative.display()));
            }
            Ok(Ok(parsed)) => {
                check_items(relative, &parsed);
                if verbose {
                    for warning in &parsed.warnings {
                        println!("{}: warning: {warning}", relative.display());
                    }
                }
                n_warnings += parsed.warnings.len();
                if parsed.items.is_empty() {
                    n_empty += 1;
                    if parsed.warnings.is_empty() {
                        silent_empty.push(relative.display().to_string());
                    }
                } else {
                    n_with_items += 1;
                    n_items += parsed.items.len();
                }
            }
            Ok(Err(err)) => {
                if verbose {
                    println!("{}: {err}", relative.display());
                }
                let key = format!("{} / {}", err.class(), error_bucket(&err.to_string()));
                *errors.entry(key).or_default() += 1;
            }
        }
    }
    std::panic::set_hook(default_hook);

    println!("corpus: {} files under {}", files.len(), dir.display());
    println!("  parsed with items: {n_with_items} ({n_items} items, {n_warnings} warnings)");
    println!("  parsed, no items:  {n_empty} (each with a warning saying why)");
    for (class, count) in &errors {
        println!("  error {class}: {count}");
    }
    println!("  panics: {}", panics.len());
    assert!(
        panics.is_empty(),
        "the parser panicked on:\n{}",
        panics.join("\n")
    );
    assert!(
        silent_empty.is_empty(),
        "parsed with no items and no warning:\n{}",
        silent_empty.join("\n")
    );
    assert!(
        n_with_items >= MIN_FILES_WITH_ITEMS,
        "only {n_with_items} corpus files yielded items, expected at least {MIN_FILES_WITH_ITEMS}"
    );
}

/// Invariants every item of every document must hold.
fn check_items(relative: &Path, parsed: &ParsedFeed) {
    let mut ids = std::collections::HashSet::new();
    for item in &parsed.items {
        assert!(
            !item.external_id.is_empty(),
            "{}: an empty id",
            relative.display()
        );
        assert!(
            ids.insert(item.external_id.clone()),
            "{}: id {} appears twice",
            relative.display(),
            item.external_id
        );
        for url in item
            .url
            .iter()
            .chain(item.media.iter().map(|media| &media.url))
        {
            assert!(
                matches!(url.scheme(), "http" | "https"),
                "{}: a non-http URL {url}",
                relative.display()
            );
        }
    }
}

fn parse_corpus_file(relative: &str) -> ParsedFeed {
    let path = corpus_dir().join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    parse(&bytes, &base_for(Path::new(relative)))
        .unwrap_or_else(|err| panic!("{relative} did not parse: {err}"))
}

#[track_caller]
fn check_feed_title(relative: &str, expected: &str) {
    let parsed = parse_corpus_file(relative);
    assert_eq!(parsed.meta.title.as_deref(), Some(expected), "{relative}");
}

#[test]
fn iso_8859_1_feed_decodes() {
    check_feed_title("miniflux/encoding/iso-8859-1.xml", "Café");
}

#[test]
fn windows_1252_feed_decodes() {
    check_feed_title("miniflux/encoding/windows-1252.xml", "Euro €");
}

#[test]
fn koi8_r_feed_decodes() {
    let parsed = parse_corpus_file("miniflux/encoding/koi8r.xml");
    let title = parsed.meta.title.unwrap_or_default();
    assert!(
        title
            .chars()
            .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c))),
        "expected Cyrillic, got {title:?}"
    );
}

#[test]
fn utf8_feed_with_a_lying_prolog_stays_utf8() {
    check_feed_title("miniflux/encoding/utf8-incorrect-prolog.xml", "테스트 피드");
    check_feed_title(
        "miniflux/encoding/windows-1252-incorrect-prolog.xml",
        "Euro €",
    );
}

#[test]
fn feed_with_an_unknown_declared_encoding_reads_as_utf8() {
    let parsed = parse_corpus_file("miniflux/encoding/invalid-prolog.xml");
    assert_eq!(
        parsed.items.first().and_then(|item| item.title.as_deref()),
        Some("Café")
    );
}

#[test]
fn latin1_feed_without_a_declaration_decodes() {
    let parsed = parse_corpus_file("miniflux/parser/no_encoding_ISO-8859-1.xml");
    let all_text: String = parsed
        .items
        .iter()
        .filter_map(|item| item.title.clone())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !all_text.contains('\u{fffd}'),
        "replacement characters in {all_text:?}"
    );
    assert!(!all_text.contains("Ã"), "mojibake in {all_text:?}");
}

#[test]
fn atom_links_resolve_against_xml_base() {
    let parsed = parse_corpus_file("rome/rome/atom_1.0_bray.xml");
    let first = parsed.items.first().expect("the Bray feed has entries");
    let url = first.url.as_ref().expect("the entry has a link");
    assert!(
        url.as_str().starts_with("http://www.example.com/blog/"),
        "got {url}"
    );
}

#[test]
fn podcast_enclosures_make_audio_items() {
    let parsed = parse_corpus_file("granary/feed_with_audio_video.rss.xml");
    let kinds: Vec<_> = parsed.items.iter().map(|item| item.kind).collect();
    assert!(
        kinds.contains(&connectors::ItemKind::Audio),
        "kinds were {kinds:?}"
    );
}

#[test]
fn rss_content_encoded_is_html_content() {
    let parsed = parse_corpus_file("miniflux/parser/encoding_ISO-8859-1.xml");
    assert!(
        parsed
            .items
            .iter()
            .any(|item| matches!(item.content, Some(Content::Html(_)))),
        "no HTML content in encoding_ISO-8859-1.xml"
    );
}

/// See: #15. Atom 0.3 is read like Atom 1.0.
#[test]
fn issue_15_atom_03_corpus_feed_has_its_entries() {
    let parsed = parse_corpus_file("rome/rome/atom_0.3.xml");
    assert_eq!(parsed.items.len(), 2, "{:?}", parsed.warnings);
    let first = &parsed.items[0];
    assert_eq!(first.title.as_deref(), Some("atom_0.3.feed.entry[0].title"));
    assert_eq!(first.external_id, "atom_0.3.feed.entry[0]^id");
    // `issued` is the published date, `modified` the updated one; `created` stands back.
    assert_eq!(
        first.published.map(|date| date.to_rfc3339()),
        Some("2000-01-01T01:00:00+00:00".to_owned())
    );
    assert_eq!(
        first.updated.map(|date| date.to_rfc3339()),
        Some("2000-01-01T00:00:00+00:00".to_owned())
    );
}

/// See: #15. An RSS 0.90 document (RDF with Netscape's namespace) gives its 60 items.
#[test]
fn issue_15_rss_090_corpus_feed_has_its_items() {
    let parsed = parse_corpus_file("miniflux/parser/rdf_UTF8.xml");
    assert_eq!(parsed.items.len(), 60, "{:?}", parsed.warnings);
    let first = &parsed.items[0];
    assert_eq!(
        first.title.as_deref(),
        Some("OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen")
    );
    assert!(first.url.as_ref().is_some_and(|url| {
        url.as_str()
            .starts_with("https://www.heise.de/newsticker/meldung/OLED-TVs")
    }));
}
