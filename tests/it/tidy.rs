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
        (
            "src/export/",
            &[
                "crate::store",
                "crate::web",
                "crate::ingest",
                "crate::scheduler",
                "rusqlite",
                "axum",
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

/// The rank of a top-level `use`: the standard library, other crates, then this crate
/// (`crate`, `super`, `self` and the file's own child modules).
fn import_rank(root: &str, own_modules: &[&str]) -> u8 {
    match root {
        "std" | "core" | "alloc" => 0,
        "crate" | "super" | "self" => 2,
        _ if own_modules.contains(&root) => 2,
        _ => 1,
    }
}

#[test]
fn imports_are_grouped_std_then_crates_then_our_own() {
    for dir in ["src", "connectors/src"] {
        for (path, text) in files_under(dir) {
            let own_modules: Vec<&str> = text
                .lines()
                .filter_map(|line| {
                    let line = line.strip_prefix("pub ").unwrap_or(line);
                    let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
                    line.strip_prefix("mod ")?.strip_suffix(';')
                })
                .collect();
            // (line index, rank) of each top-level `use`; re-exports are their own block.
            let uses: Vec<(usize, u8)> = text
                .lines()
                .enumerate()
                .filter_map(|(line_idx, line)| {
                    let rest = line.strip_prefix("use ")?;
                    let root = rest
                        .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                        .next()?;
                    Some((line_idx, import_rank(root, &own_modules)))
                })
                .collect();
            let lines: Vec<&str> = text.lines().collect();
            for pair in uses.windows(2) {
                let ((_, before), (line_idx, after)) = (pair[0], pair[1]);
                assert!(
                    before <= after,
                    "{path}:{}: imports go std, then other crates, then this crate's own",
                    line_idx + 1
                );
                if before != after {
                    assert!(
                        lines[line_idx - 1].trim().is_empty(),
                        "{path}:{}: a blank line parts one group of imports from the next",
                        line_idx + 1
                    );
                }
            }
        }
    }
}

/// Whether ARCHITECTURE.md names `rel` (a path below a crate's `src/`): by that path (or
/// its end, from a folder on), by a `{a,b}` list that expands to it, or by its file name
/// when no other file of the crate has that name. A `mod.rs` is named by its folder.
fn is_named(architecture: &str, rel: &str, unique_name: bool) -> bool {
    let mut names = Vec::new();
    for token in architecture.split('`') {
        match (token.find('{'), token.find('}')) {
            (Some(open), Some(close)) if open < close => {
                for part in token[open + 1..close].split(',') {
                    names.push(format!(
                        "{}{}{}",
                        &token[..open],
                        part.trim(),
                        &token[close + 1..]
                    ));
                }
            }
            _ => names.push(token.to_owned()),
        }
    }
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    let wanted: Vec<String> = match rel.strip_suffix("/mod.rs") {
        Some(folder) => vec![format!("{folder}/")],
        None if unique_name => vec![rel.to_owned(), file_name.to_owned()],
        None => vec![rel.to_owned()],
    };
    // A name with a folder in it may leave out the folders above (`pages/auth.rs`).
    names.iter().any(|name| {
        wanted.iter().any(|want| {
            name == want
                || name.ends_with(&format!("/{want}"))
                || (name.contains('/') && want.ends_with(&format!("/{name}")))
        })
    })
}

#[test]
fn every_module_file_is_named_in_the_architecture() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for dir in ["src", "connectors/src"] {
        let files = files_under(dir);
        let rels: Vec<String> = files
            .iter()
            .map(|(path, _)| path[dir.len() + 1..].to_owned())
            .collect();
        for rel in &rels {
            let file_name = rel.rsplit('/').next().unwrap_or(rel);
            let unique_name = rels
                .iter()
                .filter(|other| other.rsplit('/').next() == Some(file_name))
                .count()
                == 1;
            if !is_named(&architecture, rel, unique_name) {
                missing.push(format!("{dir}/{rel}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's codemap does not name these files (by their path below src/, \
         or their file name when it is unique): {missing:?}"
    );
}
