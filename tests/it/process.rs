//! Tests that run the real `tributary` binary: crash safety under SIGKILL, the server on
//! its embedded defaults, and the CLI's output and error contracts.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::Connection;
use tributary::store::{Store, sources};

use crate::support::app::{binary, create_user, rss};
use crate::support::fixture_server::{FixtureServer, Reply};

/// A command for the binary with a clean environment: no config file, no overrides
/// except the ones a test sets.
fn tributary(dir: &Path) -> Command {
    let mut command = binary();
    command.current_dir(dir);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_poll_loses_nothing_and_makes_no_duplicates() {
    const N_FEEDS: usize = 30;
    const N_ITEMS: usize = 100;
    let server = FixtureServer::start().await;
    for feed in 0..N_FEEDS {
        let entries: Vec<(String, String, String)> = (0..N_ITEMS)
            .map(|n| {
                (
                    format!("f{feed}-i{n}"),
                    format!("Item {n} of feed {feed}"),
                    format!("http://example.invalid/{feed}/{n}"),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        server.set(
            &format!("/f{feed}.xml"),
            Reply::ok(rss(&refs)).content_type("application/rss+xml"),
        );
    }
    // A source that never finishes, so the process is surely mid-poll when killed.
    server.set(
        "/slow.xml",
        Reply::drip(100_000, Duration::from_millis(500)).content_type("application/rss+xml"),
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tributary.db");
    {
        let store = Store::open(&db, 1).unwrap();
        let user = create_user(&store, "ana");
        let mut urls: Vec<String> = (0..N_FEEDS)
            .map(|f| server.url(&format!("/f{f}.xml")))
            .collect();
        urls.insert(N_FEEDS / 2, server.url("/slow.xml"));
        for url in urls {
            let params = serde_json::json!({ "url": url });
            store
                .write_blocking(|tx| {
                    sources::insert(tx, &sources::NewSource::feed(user, &params), Utc::now())
                })
                .unwrap();
        }
    }

    let run = |timeout_secs: &str| {
        tributary(dir.path())
            .arg("poll")
            .env("TRIBUTARY_DATABASE_PATH", &db)
            .env("TRIBUTARY_FETCH_ALLOWED_PRIVATE_ORIGINS", server.origin())
            .env("TRIBUTARY_FETCH_TIMEOUT_SECS", timeout_secs)
            .env("TRIBUTARY_SCHEDULER_MAX_CONCURRENT_POLLS", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let count = |conn: &Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .unwrap_or(0)
    };

    let mut child = run("60");
    let started = Instant::now();
    let reader = loop {
        if let Ok(conn) =
            Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        {
            let n = count(&conn);
            if n > 0 && n < (N_FEEDS * N_ITEMS) as i64 {
                break conn;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no items were committed in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "poll finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(reader);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let conn = Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn
        .prepare("SELECT id, source_id, external_id FROM items")
        .unwrap();
    let survived: Vec<(i64, i64, String)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!survived.is_empty());
    // A poll is one transaction: every source has all of its items or none.
    let mut per_source = std::collections::BTreeMap::<i64, usize>::new();
    for (_, source, _) in &survived {
        *per_source.entry(*source).or_default() += 1;
    }
    assert!(per_source.values().all(|&n| n == N_ITEMS), "{per_source:?}");
    drop(stmt);
    drop(conn);

    // The slow source now answers quickly with an error; run a whole pass again.
    server.set("/slow.xml", Reply::status(500));
    let status = run("5").wait().unwrap();
    assert!(
        !status.success(),
        "the failing slow source makes the pass report failure"
    );

    let conn = Connection::open(&db).unwrap();
    assert_eq!(count(&conn), (N_FEEDS * N_ITEMS) as i64, "every item once");
    let distinct: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT DISTINCT source_id, external_id FROM items)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(distinct, (N_FEEDS * N_ITEMS) as i64);
    for (id, source, external_id) in survived {
        let still: i64 = conn
            .query_row(
                "SELECT id FROM items WHERE source_id = ?1 AND external_id = ?2",
                rusqlite::params![source, external_id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(still, id, "committed rows keep their ids");
    }
}

#[tokio::test]
async fn serve_runs_on_defaults_with_no_config_and_creates_database() {
    let dir = tempfile::tempdir().unwrap();
    // Port 0 instead of the default 8080 so parallel test runs cannot collide; the default
    // itself is checked by config::tests and by .ci/run.
    let mut child = tributary(dir.path())
        .arg("serve")
        .env("TRIBUTARY_SERVER_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(start) = line.find("http://127.0.0.1:") {
                let url: String = line[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                let _ = tx.send(url);
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens");
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health
            .headers()
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap()),
        Some("nosniff")
    );
    assert_eq!(health.text().await.unwrap(), "ok");
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Create the administrator"),
        "first run shows setup"
    );
    assert!(
        dir.path().join("tributary.db").is_file(),
        "the database is created in the working directory"
    );
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "SIGTERM stops the server cleanly: {exit}");
}

#[test]
fn errors_are_one_line_on_stderr_with_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out = tributary(dir.path())
        .args(["source", "add", "nobody", "https://blog.example/feed.xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim(), "error: no user named `nobody`");

    std::fs::write(
        dir.path().join("bad.toml"),
        "[fetch]\ntimeout_secs = \"soon\"\n",
    )
    .unwrap();
    let out = tributary(dir.path())
        .args(["--config", "bad.toml", "check-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("timeout_secs"),
        "{stderr}"
    );

    let out = tributary(dir.path())
        .args(["source", "test", "not a url or a file"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("error: Nothing here looks like a web address, feed or handle")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_source_commands_work_together() {
    let server = FixtureServer::start().await;
    server.set(
        "/feed.xml",
        Reply::ok(rss(&[("a", "First", "http://example.invalid/a")]))
            .content_type("application/rss+xml"),
    );
    let feed = server.url("/feed.xml");
    let dir = tempfile::tempdir().unwrap();
    let command = || {
        let mut command = tributary(dir.path());
        command.env("TRIBUTARY_FETCH_ALLOWED_PRIVATE_ORIGINS", server.origin());
        command
    };
    let mut child = command()
        .args(["user", "add", "ana", "--admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user ana"));

    let out = command()
        .args(["source", "add", "ana", &feed, "--schedule", "*/45 * * * *"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command()
        .args(["source", "add", "ana", &feed])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the same source twice is refused");

    // A bad schedule is refused before anything is fetched.
    let out = command()
        .args([
            "source",
            "add",
            "ana",
            "https://x.example/",
            "--schedule",
            "soon",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--schedule"),
        "{stderr}"
    );

    let out = command().args(["source", "list", "ana"]).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(&feed) && listing.contains("not polled yet"),
        "{listing}"
    );

    let out = command().args(["source", "remove", "1"]).output().unwrap();
    assert!(out.status.success());
    let out = command().args(["source", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&feed));

    let out = command().arg("connectors").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("feed"));
}

#[test]
fn source_test_reads_a_file_and_prints_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let feed = rss(&[
        ("a", "First <b>bold</b>", "http://example.invalid/a"),
        ("b", "Second", "http://example.invalid/b"),
    ]);
    std::fs::write(
        dir.path().join("feed.xml"),
        feed.replace("<b>", "&lt;b&gt;")
            .replace("</b>", "&lt;/b&gt;"),
    )
    .unwrap();
    let out = tributary(dir.path())
        .args(["source", "test", "feed.xml", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for key in ["id", "title", "url", "published", "updated", "kind"] {
        assert!(lines[0].get(key).is_some(), "missing {key} in {}", lines[0]);
    }
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["title"], "First bold");
    assert_eq!(lines[0]["url"], "http://example.invalid/a");
    assert_eq!(lines[0]["published"], "2026-11-02T10:00:00+00:00");
    // The store was not touched.
    assert!(!dir.path().join("tributary.db").exists());
}

/// `tests/run` with none of its tools on the PATH and installing forbidden stops before it
/// runs anything, naming every missing tool and the one command that installs them all.
#[test]
fn test_entry_point_without_its_tools_stops_with_the_install_command() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A `cargo` that leaves a mark if anything runs it.
    let marker = dir.path().join("cargo-ran");
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/run");
    let output = Command::new("/bin/bash")
        .arg(&script)
        .env_clear()
        .env("PATH", &bin)
        .env("TRIBUTARY_TEST_NO_INSTALL", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    for tool in [
        "chromium (",
        "chromedriver (",
        "jing (",
        "npm (",
        "python3 with venv (",
    ] {
        assert!(stderr.contains(tool), "{tool} is not named: {stderr}");
    }
    assert!(
        stderr.contains("sudo apt-get install -y chromium chromium-driver jing npm python3-venv\n"),
        "{stderr}"
    );
    assert!(!marker.exists(), "cargo ran although tools were missing");
}

/// `check-config` says when other fediverse servers could not follow this instance's
/// users, and stays quiet on the default loopback address.
#[test]
fn check_config_warns_when_the_base_url_cannot_federate() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = tributary(dir.path()).arg("check-config").output().unwrap();
    assert!(quiet.status.success());
    let stderr = String::from_utf8(quiet.stderr).unwrap();
    assert!(!stderr.contains("fediverse"), "{stderr}");

    let warned = tributary(dir.path())
        .arg("check-config")
        .env("TRIBUTARY_SERVER_BASE_URL", "http://social.example.org")
        .output()
        .unwrap();
    assert!(warned.status.success(), "a warning, not an error");
    let stderr = String::from_utf8(warned.stderr).unwrap();
    assert!(
        stderr.starts_with("warning: server.base_url is `http://social.example.org`")
            && stderr.contains("https"),
        "{stderr}"
    );
}
