//! Test groups that need a tool from outside the Rust toolchain (a browser, a schema
//! validator), and what happens when the tool is absent.
//!
//! Under `tests/run` (which sets `TRIBUTARY_TEST_EVERY_GROUP=1` after installing every
//! tool) a missing tool fails the test. Under plain `cargo test` the group is skipped: its
//! first test prints one line naming the group, how many tests it holds and how to get
//! the tool, and each of its tests returns without checking anything.
//! `TRIBUTARY_SKIP=browser,a11y,jing,feedparser,peer` skips groups on purpose under plain `cargo test`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Set by `tests/run`: every group must run.
const EVERY_GROUP_ENV: &str = "TRIBUTARY_TEST_EVERY_GROUP";
/// Comma-separated group names to skip under plain `cargo test`.
const SKIP_ENV: &str = "TRIBUTARY_SKIP";

/// A group of tests: the tests in one file of `tests/it/`, and the commands they need.
pub struct Group {
    pub name: &'static str,
    /// Commands looked up on `$PATH` (or, with a `/`, relative to the repository), each
    /// with an environment variable that may name it instead.
    pub commands: &'static [(&'static str, &'static str)],
    /// What gets the commands, as a command to run.
    pub install: &'static str,
    /// The group's source file, to count its tests.
    source: &'static str,
}

/// The browser tests: headless Chromium driven by chromedriver.
pub const BROWSER: Group = Group {
    name: "browser",
    commands: &[
        ("chromedriver", "TRIBUTARY_CHROMEDRIVER"),
        ("chromium", "TRIBUTARY_CHROME"),
    ],
    install: "apt-get install -y chromium chromium-driver",
    source: include_str!("../browser.rs"),
};

/// The accessibility checks: the browser's commands and axe-core, installed from
/// `tests/peer/package-lock.json` into `tests/peer/node_modules`.
pub const A11Y: Group = Group {
    name: "a11y",
    commands: &[
        ("chromedriver", "TRIBUTARY_CHROMEDRIVER"),
        ("chromium", "TRIBUTARY_CHROME"),
        (super::axe::AXE_SCRIPT, "TRIBUTARY_AXE"),
    ],
    install: "apt-get install -y chromium chromium-driver && \
              npm ci --prefix tests/peer --ignore-scripts --no-audit --no-fund",
    source: include_str!("../browser_a11y.rs"),
};

/// The notifications in a real browser (`browser_notifications.rs`): the same tools.
pub const BROWSER_NOTIFICATIONS: Group = Group {
    name: "browser_notifications",
    commands: BROWSER.commands,
    install: BROWSER.install,
    source: include_str!("../browser_notifications.rs"),
};

/// The browser tests of the stream's cards (`browser_cards.rs`): the browser's commands.
pub const BROWSER_CARDS: Group = Group {
    name: "browser_cards",
    commands: BROWSER.commands,
    install: BROWSER.install,
    source: include_str!("../browser_cards.rs"),
};

/// The live-update browser tests (two browsers at once), with the browser's commands.
pub const BROWSER_LIVE: Group = Group {
    name: "browser-live",
    commands: BROWSER.commands,
    install: BROWSER.install,
    source: include_str!("../browser_live.rs"),
};

/// Exports checked against their schemas by jing.
pub const JING: Group = Group {
    name: "jing",
    commands: &[("jing", "TRIBUTARY_JING")],
    install: "apt-get install -y jing",
    source: include_str!("../schema.rs"),
};

/// The feed connector read side by side with Python's feedparser, from the venv that
/// `tests/run` prepares.
pub const FEEDPARSER: Group = Group {
    name: "feedparser",
    commands: &[("target/test-venv/bin/python", "TRIBUTARY_FEEDPARSER_PYTHON")],
    install: "python3 -m venv target/test-venv && \
              target/test-venv/bin/pip install -r tests/conformance/requirements.txt",
    source: include_str!("../conformance.rs"),
};

/// The Fedify test peer (`support::peer`): Node 22 and Fedify, installed from
/// `tests/peer/package-lock.json` into `tests/peer/node_modules`.
pub const PEER: Group = Group {
    name: "peer",
    commands: &[("tests/peer/node_modules/.bin/node", "TRIBUTARY_PEER_NODE")],
    install: "npm ci --prefix tests/peer --ignore-scripts --no-audit --no-fund",
    source: include_str!("../federation_peer.rs"),
};

/// Groups whose skip line was printed already.
static ANNOUNCED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

impl Group {
    /// The paths of the group's commands, in the order of `commands`, or `None` when the
    /// group is skipped (see the module comment). Panics under `tests/run` when a command
    /// is missing.
    pub fn tools(&self) -> Option<Vec<PathBuf>> {
        let every_group = std::env::var(EVERY_GROUP_ENV).is_ok_and(|value| value == "1");
        if !every_group && self.skipped_on_purpose() {
            self.announce(&format!("{SKIP_ENV} names it"));
            return None;
        }
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (command, env) in self.commands {
            match find_command(command, env) {
                Some(path) => found.push(path),
                None => missing.push(*command),
            }
        }
        if missing.is_empty() {
            return Some(found);
        }
        let (missing, is, them) = match missing.as_slice() {
            [one] => (one.to_string(), "is", "it"),
            many => (many.join(" and "), "are", "them"),
        };
        if every_group {
            panic!(
                "the {} tests need {missing}, which {is} not there: \
                 `{}` (tests/run does this)",
                self.name, self.install
            );
        }
        self.announce(&format!(
            "{missing} {is} not there; `tests/run` installs {them} (or `{}`)",
            self.install
        ));
        None
    }

    /// How many tests the group's file holds.
    pub fn n_tests(&self) -> usize {
        self.source
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with("#[test]") || line.starts_with("#[tokio::test"))
            .count()
    }

    fn skipped_on_purpose(&self) -> bool {
        std::env::var(SKIP_ENV).is_ok_and(|names| {
            names
                .split(',')
                .any(|name| name.trim().eq_ignore_ascii_case(self.name))
        })
    }

    /// One line per group and process, written past the test harness's capture so that it
    /// shows however the run goes.
    fn announce(&self, why: &str) {
        let mut announced = ANNOUNCED
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if announced.insert(self.name) {
            let n_tests = self.n_tests();
            let tests = if n_tests == 1 { "test" } else { "tests" };
            let line = format!("skipped group `{}` ({n_tests} {tests}): {why}\n", self.name);
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// `$ENV` when it names a file, else `command` on `$PATH` (or in the repository, for a
/// path).
fn find_command(command: &str, env: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    if command.contains('/') {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(command);
        return path.is_file().then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(command))
        .find(|candidate| candidate.is_file())
}
