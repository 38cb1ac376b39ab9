//! Runs the ActivityPub mapping over every document of the shared corpus: each one is
//! either mapped to an item or refused with a classified reason, and none panics.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use connectors::ItemKind;
use connectors::protocol::activitypub::object::{
    EXTRA_CONTENT_WARNING, EXTRA_SHARED_FROM, classify_document,
};

/// The corpus README lists 454 ActivityPub files; fewer means the checkout is incomplete.
const MIN_CORPUS_FILES: usize = 450;
/// A mapping that maps almost nothing is broken even if it never panics.
const MIN_MAPPED: usize = 60;

fn corpus_dir() -> PathBuf {
    std::env::var_os("TRIBUTARY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        })
        .join("activitypub")
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

fn read(relative: &str) -> Vec<u8> {
    let path = corpus_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn every_document_is_mapped_or_refused_with_a_reason() {
    let mut files = Vec::new();
    walk(&corpus_dir(), &mut files);
    files.sort();
    assert!(
        files.len() >= MIN_CORPUS_FILES,
        "only {} files in the corpus",
        files.len()
    );
    let mut by_class: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut panicked = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("a readable corpus file");
        match catch_unwind(AssertUnwindSafe(|| classify_document(&bytes))) {
            Ok(Ok(item)) => {
                assert!(!item.external_id.is_empty(), "{}", path.display());
                *by_class.entry("mapped").or_default() += 1;
            }
            Ok(Err(refusal)) => {
                assert!(!refusal.to_string().is_empty());
                *by_class.entry(refusal.class()).or_default() += 1;
            }
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    assert!(panicked.is_empty(), "panicked on {panicked:#?}");
    eprintln!("{by_class:#?}");
    assert_eq!(by_class.values().sum::<usize>(), files.len());
    let mapped = by_class.get("mapped").copied().unwrap_or(0);
    assert!(mapped >= MIN_MAPPED, "only {mapped} mapped: {by_class:?}");
}

#[test]
fn mastodon_content_warning_and_hashtags() {
    let item = classify_document(&read("pleroma-rebased/mastodon-post-activity.json")).unwrap();
    assert_eq!(item.kind, ItemKind::Note);
    assert_eq!(item.extra[EXTRA_CONTENT_WARNING], "cw", "{item:?}");
    let tagged = classify_document(&read("lemmy/wordpress/objects/page.json")).unwrap();
    assert_eq!(tagged.kind, ItemKind::Article);
    assert!(
        tagged.tags.iter().any(|t| t == "3DPrinting"),
        "{:?}",
        tagged.tags
    );
}

#[test]
fn mastodon_attachment_keeps_alt_text_and_size() {
    let item = classify_document(&read(
        "pleroma-rebased/mastodon-create-with-attachment.json",
    ))
    .unwrap();
    assert_eq!(item.kind, ItemKind::Photo, "{item:?}");
    assert!(!item.media.is_empty());
}

#[test]
fn peertube_video_is_a_video_with_a_playable_file() {
    let item =
        classify_document(&read("pleroma-rebased/tesla_mock/framatube.org-video.json")).unwrap();
    assert_eq!(item.kind, ItemKind::Video);
    assert!(item.title.is_some());
    assert!(
        item.media.iter().any(|m| m
            .media_type
            .as_deref()
            .is_some_and(|t| t.starts_with("video/"))),
        "{:?}",
        item.media
    );
}

#[test]
fn refusals_are_classified() {
    let follow = classify_document(&read("pleroma-rebased/mastodon-follow-activity.json"));
    assert_eq!(follow.unwrap_err().class(), "not_a_post");
    let delete = classify_document(&read("pleroma-rebased/mastodon-delete.json"));
    assert_eq!(delete.unwrap_err().class(), "removed");
    let boost = classify_document(&read("pleroma-rebased/mastodon-announce.json"));
    assert_eq!(boost.unwrap_err().class(), "needs_fetch");
    assert_eq!(
        classify_document(b"<html>").unwrap_err().class(),
        "not_json"
    );
    let _ = EXTRA_SHARED_FROM;
}

/// Every JSON document of the corpus with each property of it, and of its `object`,
/// replaced by values of every other JSON type: still mapped or refused, never a panic.
#[test]
fn mutated_documents_never_panic() {
    use serde_json::{Value, json};
    let replacements = [
        Value::Null,
        json!(-1),
        json!(1.5e300),
        json!(""),
        json!("not a url"),
        json!("https://elsewhere.example/x"),
        json!([]),
        json!([null, 1, "x", {}, []]),
        json!({}),
        json!({ "id": 3, "type": ["Note", 7], "url": [{}] }),
    ];
    let mut files = Vec::new();
    walk(&corpus_dir(), &mut files);
    let mut n_variants = 0;
    for path in &files {
        let Ok(doc) = serde_json::from_slice::<Value>(&std::fs::read(path).unwrap()) else {
            continue;
        };
        let Some(top) = doc.as_object() else { continue };
        let mut variants = Vec::new();
        for key in top.keys() {
            for value in &replacements {
                let mut changed = doc.clone();
                changed[key.as_str()] = value.clone();
                variants.push(changed);
            }
        }
        if let Some(object) = doc.get("object").and_then(Value::as_object) {
            for key in object.keys() {
                for value in &replacements {
                    let mut changed = doc.clone();
                    changed["object"][key.as_str()] = value.clone();
                    variants.push(changed);
                }
            }
        }
        for variant in variants {
            let bytes = serde_json::to_vec(&variant).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| classify_document(&bytes)));
            assert!(
                outcome.is_ok(),
                "panicked on a variant of {}",
                path.display()
            );
            n_variants += 1;
        }
    }
    assert!(n_variants > 10_000, "only {n_variants} variants");
}
