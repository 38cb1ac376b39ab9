//! Rules the compiler cannot check: module headers, no debugging leftovers, SQL only in
//! the store, and who may import whom (ARCHITECTURE.md, "Invariants").

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files_under(rel: &str) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    rust_files(&root().join(rel), &mut paths);
    assert!(!paths.is_empty(), "no Rust files under {rel}");
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let rel = path.strip_prefix(root()).unwrap().display().to_string();
            (rel, text)
        })
        .collect()
}

#[test]
fn every_file_says_what_it_does() {
    for dir in ["src", "connectors/src", "tests/it", "connectors/tests"] {
        for (path, text) in files_under(dir) {
            assert!(
                text.starts_with("//!"),
                "{path} must start with a `//!` line saying what it does"
            );
        }
    }
}

#[test]
fn no_debugging_leftovers() {
    // Built from pieces so this file does not trip its own check.
    let banned = [
        format!("{}!(", "dbg"),
        format!("{}!(", "todo"),
        format!("{}!(", "unimplemented"),
        format!("#[{}]", "ignore"),
        format!("{}:", "TODO"),
        format!("{}(", "TODO"),
    ];
    for dir in ["src", "connectors/src", "tests/it", "connectors/tests"] {
        for (path, text) in files_under(dir) {
            for word in &banned {
                assert!(!text.contains(word.as_str()), "{path} contains `{word}`");
            }
        }
    }
}

#[test]
fn sql_lives_only_in_the_store() {
    for (path, text) in files_under("src") {
        if path.starts_with("src/store/") {
            continue;
        }
        for keyword in [
            "SELECT ",
            "INSERT INTO",
            "UPDATE items",
            "UPDATE sources",
            "DELETE FROM",
            "PRAGMA ",
        ] {
            assert!(
                !text.contains(keyword),
                "{path} contains SQL (`{keyword}`); SQL belongs in src/store/"
            );
        }
    }
}

#[test]
fn modules_respect_their_boundaries() {
    // (directory or file prefix, modules it must not use)
    let rules: &[(&str, &[&str])] = &[
        (
            "src/normalize/",
            &[
                "crate::store",
                "crate::fetch",
                "crate::web",
                "crate::ingest",
                "reqwest",
                "rusqlite",
            ],
        ),
        (
            "src/fetch/",
            &[
                "crate::store",
                "crate::web",
                "crate::normalize",
                "crate::ingest",
                "rusqlite",
            ],
        ),
        (
            "src/store/",
            &[
                "crate::fetch",
                "crate::web",
                "crate::normalize",
                "crate::ingest",
                "axum",
                "maud::",
                "reqwest",
            ],
        ),
        (
            "src/schedule.rs",
            &["crate::store", "crate::fetch", "crate::web", "tokio"],
        ),
        (
            "src/web/",
            &[
                "crate::fetch",
                "crate::normalize",
                "crate::ingest",
                "crate::scheduler",
                "reqwest",
            ],
        ),
        ("src/model.rs", &["crate::", "rusqlite", "axum", "reqwest"]),
        // The command line dispatches and prints: it reaches sources and accounts only
        // through the services, and the web only through `app`.
        (
            "src/cli/",
            &[
                "crate::web",
                "rusqlite",
                "users::create",
                "sources::insert",
                ".write(",
                ".write_blocking(",
            ],
        ),
        // The services never render and never read a request.
        ("src/sources", &["crate::web", "axum", "maud::"]),
        ("src/users.rs", &["crate::web", "axum", "maud::"]),
        (
            "src/config.rs",
            &[
                "crate::store",
                "crate::fetch",
                "crate::web",
                "crate::ingest",
            ],
        ),
    ];
    for (path, text) in files_under("src") {
        for (prefix, banned) in rules {
            if !path.starts_with(prefix) {
                continue;
            }
            for word in *banned {
                let found = text
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .any(|line| line.contains(word));
                assert!(!found, "{path} uses `{word}`, which its layer must not");
            }
        }
    }
}

#[test]
fn connectors_crate_never_depends_on_the_app_stack() {
    let manifest = std::fs::read_to_string(root().join("connectors/Cargo.toml")).unwrap();
    for name in ["rusqlite", "axum", "maud", "reqwest", "tributary"] {
        assert!(
            !manifest.contains(name),
            "connectors/Cargo.toml mentions {name}"
        );
    }
}
