//! axe-core in the browser: the pinned `axe.min.js` from `tests/peer/node_modules`
//! (`tests/peer/package-lock.json`) injected into the open page over WebDriver, run with
//! `axe.run()`, and its serious and critical violations read back.

use std::path::PathBuf;

use serde::Deserialize;

use super::browser::Browser;

/// The script, relative to the repository (`tests/run` installs it with `npm ci`).
pub const AXE_SCRIPT: &str = "tests/peer/node_modules/axe-core/axe.min.js";

/// One rule a page breaks, with the elements that break it.
#[derive(Debug, Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    /// Each offending element: its CSS selector and the start of its markup.
    pub nodes: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} ({}): {}", self.id, self.impact, self.help)?;
        for node in &self.nodes {
            writeln!(f, "    {node}")?;
        }
        Ok(())
    }
}

/// Runs axe over the page `browser` shows and returns its serious and critical violations.
pub async fn serious_violations(browser: &Browser) -> Vec<Violation> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(AXE_SCRIPT);
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    // WebDriver's scripts run outside the page's CSP, so the page's strict policy (no
    // inline script) does not stop this.
    browser
        .client
        .execute(
            &format!("if (!window.axe) {{ {source}\n }} return typeof window.axe;"),
            Vec::new(),
        )
        .await
        .expect("inject axe-core");
    let found = browser
        .client
        .execute_async(RUN, Vec::new())
        .await
        .expect("run axe-core");
    if let Some(error) = found.get("error") {
        panic!("axe-core failed: {error}");
    }
    serde_json::from_value(found).expect("axe-core's violations")
}

const RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(result => done(result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map(n => n.target.join(' ') + '  ' + n.html.slice(0, 200)),
    }))))
  .catch(error => done({ error: String(error) }));
"#;
