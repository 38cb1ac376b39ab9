//! Headless Chromium driven over WebDriver: a private `chromedriver` on a free loopback
//! port, one browser session per test, killed (with the browser) when the guard drops.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`tests/run` installs them); without
//! them the group is skipped or fails as `support::tools` says.
//! The browser may only reach 127.0.0.1: every host name resolves to nothing, and the
//! background services that would phone home are off.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};

use super::tools::{BROWSER, Group};
use serde_json::{Value, json};

/// Browser tests run one at a time: each starts a whole Chromium, and the machine is shared.
static ONE_BROWSER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a page, a form submission or chromedriver itself may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Viewport height used with each screenshot width.
const SCREENSHOT_HEIGHT: u32 = 900;

#[derive(Clone, Copy, Debug)]
pub struct BrowserOptions {
    /// `false` blocks JavaScript for every site (Chrome's content setting), as a user who
    /// turned it off would have it.
    pub javascript: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions { javascript: true }
    }
}

/// A live browser session. Call [`Browser::close`] at the end of a test; if the test
/// panics first, dropping the guard kills chromedriver and its browser.
pub struct Browser {
    pub client: Client,
    /// chromedriver and this test's turn; `None` for a second session (`Browser::another`),
    /// which shares the first one's.
    driver: Option<Driver>,
    _turn: Option<tokio::sync::MutexGuard<'static, ()>>,
    /// chromedriver's address, the browser binary and a folder for further profiles.
    webdriver: String,
    chromium: PathBuf,
    profiles: PathBuf,
}

/// The chromedriver process (its own process group, so the browsers it starts go with it)
/// and the browser profile directory.
struct Driver {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (`process_group(0)`); the browser it launched
        // is in that group too. Only processes this guard started are signalled.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. `None` when the browser group is
    /// skipped (`support::tools::BROWSER`).
    pub async fn start(options: BrowserOptions) -> Option<Browser> {
        Browser::start_in(&BROWSER, options).await
    }

    /// The same for the tests of another file, skipped with its own `group`.
    pub async fn start_in(group: &Group, options: BrowserOptions) -> Option<Browser> {
        let tools = group.tools()?;
        let (chromedriver, chromium) = (&tools[0], &tools[1]);
        let turn = ONE_BROWSER_AT_A_TIME.lock().await;
        let dir = tempfile::tempdir().expect("a temp dir for the browser profile");
        let port = free_port();
        let log_path = dir.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("create the chromedriver log");
        let mut command = Command::new(chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", chromedriver.display()));
        let driver = Driver { child, dir };
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_ready(&webdriver, &log_path).await;

        let profiles = driver.dir.path().to_path_buf();
        let client = session(options, &profiles.join("profile"), chromium, &webdriver).await;
        Some(Browser {
            client,
            driver: Some(driver),
            _turn: Some(turn),
            webdriver,
            chromium: chromium.clone(),
            profiles,
        })
    }

    /// A second browser (its own profile, so its own cookies) on the same chromedriver,
    /// for tests of two people at once. Close it before the first.
    pub async fn another(&self, options: BrowserOptions, name: &str) -> Browser {
        let profile = self.profiles.join(format!("profile-{name}"));
        let client = session(options, &profile, &self.chromium, &self.webdriver).await;
        Browser {
            client,
            driver: None,
            _turn: None,
            webdriver: self.webdriver.clone(),
            chromium: self.chromium.clone(),
            profiles: self.profiles.clone(),
        }
    }

    /// Ends the session (the browser quits), then chromedriver.
    pub async fn close(self) {
        let Browser {
            client,
            driver,
            _turn,
            ..
        } = self;
        let _ = client.close().await;
        drop(driver);
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("open {url}: {err}"));
    }

    pub async fn current_url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// The current path (no query), e.g. `/ana`.
    pub async fn path(&self) -> String {
        self.current_url().await.path().to_owned()
    }

    /// The page source as the browser's DOM serializes it now.
    pub async fn html(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    /// Runs `script` (a function body; `return` a value) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("run script in the page: {err}\n{script}"))
    }

    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => panic!(
                "no element matches `{css}` on {}: {err}\n{}",
                self.current_url().await,
                self.main_html().await
            ),
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("find `{css}`: {err}"))
    }

    /// Whether any element matches `css` right now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The `<main>` element's markup (or the whole page), for failure messages.
    pub async fn main_html(&self) -> String {
        match self.client.find(Locator::Css("main")).await {
            Ok(main) => main.html(false).await.unwrap_or_default(),
            Err(_) => self.html().await,
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// Types `value` into the field matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear a field");
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("type into `{css}`: {err}"));
    }

    /// Clicks the button whose visible text is `label` (inside `within` when given, else
    /// the first on the page) and waits for the page it leads to, which must not be one of
    /// the app's error pages.
    pub async fn press(&self, within: Option<&Element>, label: &str) {
        let button = self.button(within, label).await;
        let before = self.current_url().await;
        let old_root = self.client.find(Locator::Css("html")).await.ok();
        button
            .click()
            .await
            .unwrap_or_else(|err| panic!("click the button `{label}`: {err}"));
        self.wait_for_new_page(old_root, &before).await;
        if let Ok(error) = self.client.find(Locator::Css(".error-page")).await {
            panic!(
                "pressing `{label}` on {before} led to an error page at {}: {}",
                self.current_url().await,
                error.text().await.unwrap_or_default()
            );
        }
    }

    /// Clicks the button labelled `label` (inside `within`) that the page script answers
    /// in place, without loading a page.
    pub async fn click(&self, within: Option<&Element>, label: &str) {
        self.button(within, label)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("click the button `{label}`: {err}"));
    }

    /// Waits until the text of the first element matching `css` contains `text`, within
    /// `within`; false if it never does.
    pub async fn wait_for_text(&self, css: &str, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.text().await.is_ok_and(|seen| seen.contains(text))
            {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The button labelled `label` (trimmed text, or an `<input type=submit>` value).
    pub async fn button(&self, within: Option<&Element>, label: &str) -> Element {
        let xpath = format!(
            ".//button[normalize-space(.)={q}] | .//input[@type='submit' and @value={q}]",
            q = xpath_literal(label)
        );
        let root;
        let scope = match within {
            Some(scope) => scope,
            None => {
                root = self.find("html").await;
                &root
            }
        };
        let found = scope
            .find_all(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|err| panic!("look for the button `{label}`: {err}"));
        match found.into_iter().next() {
            Some(button) => button,
            None => panic!(
                "no button labelled `{label}` on {}\n{}",
                self.current_url().await,
                self.main_html().await
            ),
        }
    }

    /// Waits until the document that was showing (`old_root`) is gone and the new one has
    /// loaded. Works without JavaScript in the page: only WebDriver element lookups.
    async fn wait_for_new_page(&self, old_root: Option<Element>, before: &url::Url) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let stale = match &old_root {
                Some(root) => root.tag_name().await.is_err(),
                None => true,
            };
            if stale && self.client.find(Locator::Css("body")).await.is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "no new page loaded within {TIMEOUT:?} after a click on {before}; now at {}",
                    self.current_url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resizes the window to `width` CSS pixels and writes a PNG of the viewport to the
    /// screenshot directory as `{name}-{width}.png`. Returns the file written.
    pub async fn screenshot(&self, name: &str, width: u32) -> PathBuf {
        self.client
            .set_window_size(width, SCREENSHOT_HEIGHT)
            .await
            .expect("resize the window");
        let png = self.client.screenshot().await.expect("take a screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|err| panic!("create {}: {err}", dir.display()));
        let path = dir.join(format!("{name}-{width}.png"));
        std::fs::write(&path, &png).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
        path
    }

    /// Restores the default window size after screenshots.
    pub async fn reset_window(&self) {
        self.client
            .set_window_size(1280, SCREENSHOT_HEIGHT)
            .await
            .expect("resize the window");
    }
}

/// A new WebDriver session: a headless Chromium with its own `profile`.
async fn session(
    options: BrowserOptions,
    profile: &Path,
    chromium: &Path,
    webdriver: &str,
) -> Client {
    let capabilities = capabilities(options, profile, chromium);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .unwrap_or_else(|err| panic!("chromedriver could not start Chromium: {err}"));
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(10)),
            Some(TIMEOUT),
            Some(Duration::ZERO),
        ))
        .await
        .expect("set the session timeouts");
    client
}

/// Where screenshots go: `$TRIBUTARY_SCREENSHOTS`, else `target/screenshots/` in the crate.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("TRIBUTARY_SCREENSHOTS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
    }
}

fn capabilities(
    options: BrowserOptions,
    profile: &Path,
    chromium: &Path,
) -> serde_json::Map<String, Value> {
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-default-apps".to_owned(),
        "--disable-extensions".to_owned(),
        "--disable-domain-reliability".to_owned(),
        "--disable-client-side-phishing-detection".to_owned(),
        "--no-pings".to_owned(),
        "--password-store=basic".to_owned(),
        "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"
            .to_owned(),
        // Traffic goes to loopback only: every host name fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size=1280,{SCREENSHOT_HEIGHT}"),
    ];
    if let Ok(extra) = std::env::var("TRIBUTARY_CHROME_ARGS") {
        args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let mut prefs = json!({
        "credentials_enable_service": false,
        "profile.password_manager_enabled": false,
        "profile.password_manager_leak_detection": false,
        "safebrowsing.enabled": false,
    });
    if !options.javascript {
        prefs["profile.managed_default_content_settings.javascript"] = json!(2);
    }
    let chrome = json!({
        "args": args,
        "prefs": prefs,
        "binary": chromium.to_string_lossy(),
    });
    let capabilities = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "goog:chromeOptions": chrome,
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("built as an object"),
    }
}

/// A port that was free a moment ago (chromedriver needs an explicit one).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// Polls chromedriver's `/status` until it says it is ready.
async fn wait_until_ready(webdriver: &str, log_path: &Path) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("a plain HTTP client");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok(response) = http.get(format!("{webdriver}/status")).send().await
            && let Ok(status) = response.json::<Value>().await
            && status["value"]["ready"] == json!(true)
        {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "chromedriver did not answer on {webdriver} within {TIMEOUT:?}\n{}",
                read_log(log_path)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    format!("--- chromedriver log ---\n{text}")
}

/// `text` as an XPath string literal (XPath 1.0 has no escapes; `concat` joins quote kinds).
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
