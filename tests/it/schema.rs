//! Exports checked by an independent validator: jing (Debian's `jing`) validates against
//! RFC 4287's RELAX NG schema (`../shared/spec/atom-rfc4287.rnc`) the Atom archive of the
//! whole corpus, and the Atom documents the server answers: a lifestream's feed and the
//! private notifications feed and a search feed. The `jing` group of `support::tools`.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;

use crate::export::{CorpusArchive, export_corpus_archive};
use crate::support::tools::JING;
use crate::support::web::WebApp;
use crate::web_notifications::feed_path;
use crate::web_stream::{NO_FIXTURES, add_item, add_source, comment, post};

fn schema() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/spec/atom-rfc4287.rnc"
    ))
}

/// Runs jing over `files` in one process. `Err` holds jing's complaints.
fn jing(jing: &Path, files: &[PathBuf]) -> Result<(), String> {
    let output = Command::new(jing)
        .arg("-c")
        .arg(schema())
        .args(files)
        .output()
        .unwrap_or_else(|err| panic!("could not start {}: {err}", jing.display()));
    // Debian's wrapper warns about its class path on stderr; that is not a finding.
    let complaints: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .filter(|line| !line.trim().is_empty() && !line.starts_with("[warning]"))
        .map(str::to_owned)
        .collect();
    if output.status.success() && complaints.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", output.status, complaints.join("\n")))
    }
}

#[test]
fn corpus_atom_archive_is_valid_rfc4287() {
    let Some(tools) = JING.tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let CorpusArchive { out, .. } = export_corpus_archive(dir.path());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "atom"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "expected a subscription document and archive pages, found {} files",
        files.len()
    );
    if let Err(complaints) = jing(&tools[0], &files) {
        panic!(
            "jing rejects the exported archive ({} files):\n{complaints}",
            files.len()
        );
    }
    // The same run over a document that breaks RFC 4287 (an entry without atom:id) must
    // fail, or the check above proves nothing.
    let broken = dir.path().join("broken.atom");
    let first = std::fs::read_to_string(&files[0]).unwrap();
    let start = first.find("<entry>").expect("the first file has an entry");
    let id_start = start + first[start..].find("<id>").expect("an entry has an id");
    let id_end = id_start + first[id_start..].find("</id>").unwrap() + "</id>".len();
    std::fs::write(
        &broken,
        format!("{}{}", &first[..id_start], &first[id_end..]),
    )
    .unwrap();
    let complaints = jing(&tools[0], &[broken]).expect_err("jing accepts an entry without an id");
    assert!(complaints.contains("broken.atom"), "{complaints}");
}

#[tokio::test]
async fn served_atom_feeds_are_valid_rfc4287() {
    let Some(tools) = JING.tools() else {
        return;
    };
    let app = WebApp::start(NO_FIXTURES).await;
    let ana = app.create_user("ana", false);
    app.create_user("bo", false);
    let source = add_source(&app, ana, "feed");
    let item = add_item(&app, source, ana, "post", 30);
    let bo = app.logged_in("bo").await;
    comment(&bo, item, "A comment with <markup> & an ampersand").await;
    post(&bo, &format!("/e/{item}/like")).await;
    let notifications = feed_path(&app.logged_in("ana").await, &app).await;

    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, path, entries) in [
        ("lifestream.atom", "/ana/feed.atom".to_owned(), 1),
        ("notifications.atom", notifications, 2),
        (
            "search.atom",
            "/search/feed.atom?q=body+-nothing".to_owned(),
            1,
        ),
    ] {
        let feed = app.client().get(&path).await;
        assert_eq!(feed.status, StatusCode::OK, "{path}: {}", feed.body);
        assert_eq!(
            feed.body.matches("<entry>").count(),
            entries,
            "{path}: {}",
            feed.body
        );
        let file = dir.path().join(name);
        std::fs::write(&file, &feed.body).unwrap();
        files.push(file);
    }
    if let Err(complaints) = jing(&tools[0], &files) {
        panic!("jing rejects a served feed:\n{complaints}");
    }
}
