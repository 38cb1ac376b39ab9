//! Exports checked by an independent validator: jing (Debian's `jing`) validates the Atom
//! archive of the whole corpus against RFC 4287's RELAX NG schema
//! (`../shared/spec/atom-rfc4287.rnc`). The `jing` group of `support::tools`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::export::{CorpusArchive, export_corpus_archive};
use crate::support::tools::JING;

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
