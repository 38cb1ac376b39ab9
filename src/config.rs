//! Configuration: one struct per section, defaults in code, an optional TOML file, and
//! `TRIBUTARY_<SECTION>_<KEY>` environment variables that override single keys.
//!
//! Knows nothing of the other modules; callers pass each section where it is needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "TRIBUTARY_CONFIG";
/// Environment variables with this prefix override single keys.
pub const ENV_PREFIX: &str = "TRIBUTARY_";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub fetch: FetchConfig,
    pub scheduler: SchedulerConfig,
    pub auth: AuthConfig,
    pub websub: WebSubConfig,
    pub federation: FederationConfig,
    pub connectors: ConnectorsConfig,
    pub normalize: NormalizeConfig,
    pub media: MediaConfig,
    pub import: ImportConfig,
}

/// Archive imports (`tributary import archive`, Settings → Import): the caps an uploaded
/// or named archive is held to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// The largest archive the upload form takes, in bytes.
    pub max_upload_bytes: u64,
    /// The largest file inside an archive, uncompressed, in bytes.
    pub max_entry_bytes: u64,
    /// All files of an archive together, uncompressed, in bytes.
    pub max_total_bytes: u64,
    /// How many files an archive may hold.
    pub max_entries: u64,
    /// The largest ratio of a file's size to its compressed size (for files over 1 MiB).
    pub max_ratio: u64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
            max_entry_bytes: 1024 * 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_entries: 500_000,
            max_ratio: 200,
        }
    }
}

/// The media store: content-addressed files (images, audio, video) beside the database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// The folder the files live in. Empty means beside the database: `tributary.db` →
    /// `tributary.media/`.
    pub dir: String,
    /// The largest file stored, in bytes.
    pub max_file_bytes: u64,
    /// What one user's files may take together, in bytes.
    pub max_user_bytes: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            dir: String::new(),
            max_file_bytes: 50 * 1024 * 1024,
            max_user_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

impl MediaConfig {
    /// The media folder for the database at `db_path`.
    pub fn dir_for(&self, db_path: &Path) -> PathBuf {
        if self.dir.trim().is_empty() {
            db_path.with_extension("media")
        } else {
            PathBuf::from(&self.dir)
        }
    }
}

/// ActivityPub: delivery to followers' inboxes and what the inbox takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationConfig {
    /// Deliveries sent at once (each to its own inbox; `fetch.max_per_host` still caps
    /// each host).
    pub delivery_concurrency: usize,
    /// A delivery that keeps failing is given up after this many hours.
    pub delivery_give_up_hours: u64,
    /// A host whose deliveries have all failed for this many days is marked dead: it gets
    /// no new deliveries until it sends us an activity or a delivery to it goes through.
    pub dead_host_days: u64,
    /// Items published longer ago than this are not delivered when a poll first stores
    /// them (a new source's backlog, a history import); they stay in the outbox.
    pub deliver_max_age_hours: u64,
    /// How deliveries are signed: "draft-cavage" (what Mastodon sends; every fediverse
    /// server reads it) or "rfc9421" (RFC 9421 HTTP Message Signatures).
    pub signature: String,
    /// Activities one remote host may post to our inboxes per minute.
    pub inbox_per_host_per_minute: u32,
}

impl Default for FederationConfig {
    fn default() -> FederationConfig {
        FederationConfig {
            delivery_concurrency: 64,
            delivery_give_up_hours: 48,
            dead_host_days: 7,
            deliver_max_age_hours: 48,
            signature: "draft-cavage".into(),
            inbox_per_host_per_minute: 300,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorsConfig {
    /// A folder of extra recipe files (`*.toml`), read at start. Empty means none.
    pub recipes_dir: String,
    /// A GitHub token (no scopes needed): raises GitHub's limit from 60 to 5,000 requests
    /// an hour. Empty means none.
    pub github_token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port the web server listens on.
    pub listen: String,
    /// The public URL of this instance, used in links that leave the page (feeds, e-mails).
    /// Empty means `http://{listen}`.
    pub base_url: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".to_owned(),
            base_url: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The SQLite file; created on first run. Relative paths are relative to the working
    /// directory.
    pub path: PathBuf,
    /// Read-only connections kept open for pages and exports.
    pub readers: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("tributary.db"),
            readers: 4,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// Sent with every request. Sites such as Reddit refuse generic agents.
    pub user_agent: String,
    /// Deadline for one whole request once it is sent: connect, redirects and body. The
    /// wait for one of the host's `max_per_host` slots comes before and is not counted.
    pub timeout_secs: u64,
    /// Limit on the decoded body; larger responses are cut and the poll fails.
    pub max_body_bytes: usize,
    /// Redirects followed per request; every hop is checked again.
    pub max_redirects: usize,
    /// Requests in flight to one host at a time.
    pub max_per_host: usize,
    /// Longest wait for one of those slots. A poll that waits longer sends nothing, is
    /// not counted as a failure (no error, no back-off) and is tried again a minute later.
    pub slot_wait_secs: u64,
    /// Allow loopback, private, link-local and other non-public addresses. Off by default:
    /// a pasted URL must never reach the machine's own network.
    pub allow_private_networks: bool,
    /// Origins (`http://127.0.0.1:8081`) allowed even though their address is private;
    /// for a feed server on the same machine without opening the whole private network.
    /// Matched as scheme, host and port for the first request and every redirect hop;
    /// another port or scheme of the same host stays refused. A host name allows whatever
    /// addresses it resolves to, on that port only.
    pub allowed_private_origins: Vec<String>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: concat!(
                "Tributary/",
                env!("CARGO_PKG_VERSION"),
                " (self-hosted lifestream; +https://github.com/tributary-lifestream/tributary)"
            )
            .to_owned(),
            timeout_secs: 20,
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            max_per_host: 2,
            slot_wait_secs: 30,
            allow_private_networks: false,
            allowed_private_origins: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Cron schedule for sources that name none (5 fields as in crontab, or 6 with seconds).
    pub default_schedule: String,
    /// Polls running at the same time.
    pub max_concurrent_polls: usize,
    /// Of those, polls of sources on one host (a feed's host, a site's API): a slow host
    /// holds at most this many slots, and the other hosts' sources use the rest. Keep it
    /// at most `fetch.max_per_host`, or polls wait for that host's request slots.
    pub max_polls_per_host: usize,
    /// No source is polled more often than this, whatever its schedule says.
    pub min_interval_secs: u64,
    /// Each source's polls are shifted by a stable random delay of up to this much, so
    /// sources on the same schedule do not all fire at once.
    pub jitter_secs: u64,
    /// After failures, the wait doubles from `min_interval_secs` up to this.
    pub max_backoff_secs: u64,
    /// Longest wait a server's caching headers (max-age, Expires, ttl) may impose.
    pub max_hint_secs: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            default_schedule: "*/30 * * * *".to_owned(),
            max_concurrent_polls: 8,
            max_polls_per_host: 2,
            min_interval_secs: 300,
            jitter_secs: 120,
            max_backoff_secs: 86_400,
            max_hint_secs: 86_400,
        }
    }
}

/// Who may create an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// Only an admin creates users (in the browser or with `tributary user add`).
    #[default]
    Closed,
    /// An admin makes one-time invitation links.
    Invite,
    /// Anyone may sign up.
    Open,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `closed`, `invite` or `open`.
    pub signup: Signup,
    /// How long a login lasts without activity, in days.
    pub session_days: u32,
    /// Failed logins allowed per account from one client address in the window. One
    /// address gets four times this over all accounts; past four times this from all
    /// addresses, an account takes one attempt every 2 seconds (slowed, never locked).
    pub max_failed_logins: u32,
    /// The window for `max_failed_logins`, in seconds.
    pub failed_login_window_secs: u64,
    /// Comments one user may post per minute.
    pub max_comments_per_minute: u32,
    /// Trust `X-Forwarded-For` for the client address (only behind your own proxy): its
    /// last entry, the one the proxy appended, is the client.
    pub behind_proxy: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            signup: Signup::Closed,
            session_days: 30,
            max_failed_logins: 5,
            failed_login_window_secs: 300,
            max_comments_per_minute: 10,
            behind_proxy: false,
        }
    }
}

/// WebSub (W3C): publishing (feeds name a hub, and the hub hears when they change) and
/// subscribing (sources whose feeds name a hub get their items pushed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSubConfig {
    /// The hub's URL (`https://pubsubhubbub.appspot.com/`). Empty means off: feeds name no
    /// hub and nothing is pinged. A hub on a private address must also be listed in
    /// `fetch.allowed_private_origins`.
    pub hub: String,
    /// Subscribe to the hubs polled feeds name, so their items are pushed. Only when
    /// `server.base_url` is a public address (or `private_callback` is on): a hub must
    /// reach the callback.
    pub subscribe: bool,
    /// Subscribe even when `server.base_url` is not public (a hub on this machine or
    /// network can still reach it).
    pub private_callback: bool,
    /// The lease asked of hubs, in seconds; a hub may grant another.
    pub lease_secs: u64,
    /// A lease is renewed when less than this (or a tenth of the lease, if more) is left,
    /// in seconds.
    pub min_renew_secs: u64,
    /// A source whose items are pushed is still polled, at most this often, in hours.
    pub push_poll_hours: u64,
    /// The largest pushed body taken, in bytes; a larger one is refused with 413.
    pub max_push_bytes: u64,
}

impl Default for WebSubConfig {
    fn default() -> Self {
        WebSubConfig {
            hub: String::new(),
            subscribe: true,
            private_callback: false,
            lease_secs: 864_000,
            min_renew_secs: 3600,
            push_poll_hours: 6,
            max_push_bytes: 2 * 1024 * 1024,
        }
    }
}

impl WebSubConfig {
    /// The hub, when one is configured (checked by [`Config::validate`]).
    pub fn hub_url(&self) -> Option<url::Url> {
        let hub = self.hub.trim();
        if hub.is_empty() {
            return None;
        }
        url::Url::parse(hub).ok()
    }
}

/// How items are cleaned before they are stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Try the sanitizer's one-pass fast path before the full HTML parser. Both write the
    /// same bytes; off sends every item through the parser (slower, for ruling the fast
    /// path out).
    pub sanitize_fast_path: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            sanitize_fast_path: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{origin}: key `{key}`: {message}")]
    Invalid {
        origin: String,
        key: &'static str,
        message: String,
    },
}

impl Config {
    /// Loads defaults, then `path` (if any), then `TRIBUTARY_*` overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut table, origin) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                // Deserializing the text directly gives errors with the key and the line.
                toml::from_str::<Config>(&text).map_err(|err| ConfigError::File {
                    path: path.to_owned(),
                    message: one_line(&err.to_string()),
                })?;
                let table =
                    toml::from_str::<toml::Table>(&text).map_err(|err| ConfigError::File {
                        path: path.to_owned(),
                        message: one_line(&err.to_string()),
                    })?;
                (table, path.display().to_string())
            }
            None => (toml::Table::new(), "built-in defaults".to_owned()),
        };
        let mut overridden = false;
        for (var, value) in env {
            if let Some(rest) = var.strip_prefix(ENV_PREFIX)
                && apply_env(&mut table, &var, rest, &value)?
            {
                overridden = true;
            }
        }
        let origin = if overridden {
            format!("{origin} with TRIBUTARY_* overrides")
        } else {
            origin
        };
        let config =
            Config::deserialize(toml::Value::Table(table)).map_err(|err| ConfigError::File {
                path: PathBuf::from(&origin),
                message: one_line(&err.to_string()),
            })?;
        config.validate(&origin)?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key,
            message,
        };
        self.listen_addr()
            .map_err(|message| invalid("server.listen", message))?;
        if !self.server.base_url.is_empty() {
            match url::Url::parse(&self.server.base_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                Ok(_) => return Err(invalid("server.base_url", "must be http or https".into())),
                Err(err) => return Err(invalid("server.base_url", err.to_string())),
            }
        }
        if self.database.readers == 0 {
            return Err(invalid("database.readers", "must be at least 1".into()));
        }
        if self.fetch.user_agent.trim().is_empty() {
            return Err(invalid("fetch.user_agent", "must not be empty".into()));
        }
        if self.fetch.timeout_secs == 0 {
            return Err(invalid("fetch.timeout_secs", "must be at least 1".into()));
        }
        if self.fetch.max_body_bytes < 1024 {
            return Err(invalid(
                "fetch.max_body_bytes",
                "must be at least 1024".into(),
            ));
        }
        if self.fetch.max_per_host == 0 {
            return Err(invalid("fetch.max_per_host", "must be at least 1".into()));
        }
        if self.fetch.slot_wait_secs == 0 {
            return Err(invalid("fetch.slot_wait_secs", "must be at least 1".into()));
        }
        for origin_text in &self.fetch.allowed_private_origins {
            match url::Url::parse(origin_text) {
                // An origin and nothing more: a path would read as a limit that is not
                // applied.
                Ok(url)
                    if matches!(url.scheme(), "http" | "https")
                        && url.host().is_some()
                        && url.path() == "/"
                        && url.username().is_empty()
                        && url.password().is_none()
                        && url.query().is_none()
                        && url.fragment().is_none() => {}
                _ => {
                    return Err(invalid(
                        "fetch.allowed_private_origins",
                        format!("`{origin_text}` is not an origin such as http://127.0.0.1:8081"),
                    ));
                }
            }
        }
        if self.scheduler.max_concurrent_polls == 0 {
            return Err(invalid(
                "scheduler.max_concurrent_polls",
                "must be at least 1".into(),
            ));
        }
        if self.scheduler.max_polls_per_host == 0 {
            return Err(invalid(
                "scheduler.max_polls_per_host",
                "must be at least 1".into(),
            ));
        }
        if self.scheduler.max_backoff_secs < self.scheduler.min_interval_secs {
            return Err(invalid(
                "scheduler.max_backoff_secs",
                "must not be less than scheduler.min_interval_secs".into(),
            ));
        }
        if self.auth.session_days == 0 {
            return Err(invalid("auth.session_days", "must be at least 1".into()));
        }
        if self.auth.max_failed_logins == 0 {
            return Err(invalid(
                "auth.max_failed_logins",
                "must be at least 1".into(),
            ));
        }
        let token = &self.connectors.github_token;
        if !token.is_empty() && (token.len() > 255 || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(invalid(
                "connectors.github_token",
                "must be a token without spaces, such as ghp_… or github_pat_…".into(),
            ));
        }
        if let Err(message) = crate::schedule::parse_schedule(&self.scheduler.default_schedule) {
            return Err(invalid("scheduler.default_schedule", message));
        }
        let signature = self.federation.signature.as_str();
        if !matches!(signature, "draft-cavage" | "rfc9421") {
            return Err(invalid(
                "federation.signature",
                format!("`{signature}`: must be \"draft-cavage\" or \"rfc9421\""),
            ));
        }
        if self.federation.delivery_concurrency == 0 {
            return Err(invalid(
                "federation.delivery_concurrency",
                "must be at least 1".into(),
            ));
        }
        for (key, value) in [
            ("import.max_upload_bytes", self.import.max_upload_bytes),
            ("import.max_entry_bytes", self.import.max_entry_bytes),
            ("import.max_total_bytes", self.import.max_total_bytes),
            ("import.max_entries", self.import.max_entries),
            ("import.max_ratio", self.import.max_ratio),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1".into()));
            }
        }
        if self.media.max_file_bytes == 0 {
            return Err(invalid("media.max_file_bytes", "must be at least 1".into()));
        }
        if self.media.max_user_bytes < self.media.max_file_bytes {
            return Err(invalid(
                "media.max_user_bytes",
                "must not be less than media.max_file_bytes".into(),
            ));
        }
        let hub = self.websub.hub.trim();
        if !hub.is_empty() {
            match url::Url::parse(hub) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                Ok(_) => return Err(invalid("websub.hub", "must be an http or https URL".into())),
                Err(err) => return Err(invalid("websub.hub", format!("`{hub}`: {err}"))),
            }
        }
        if self.websub.lease_secs == 0 {
            return Err(invalid("websub.lease_secs", "must be at least 1".into()));
        }
        if self.websub.min_renew_secs >= self.websub.lease_secs {
            return Err(invalid(
                "websub.min_renew_secs",
                "must be less than websub.lease_secs".into(),
            ));
        }
        if self.websub.push_poll_hours == 0 {
            return Err(invalid(
                "websub.push_poll_hours",
                "must be at least 1".into(),
            ));
        }
        if self.websub.max_push_bytes < 1024 {
            return Err(invalid(
                "websub.max_push_bytes",
                "must be at least 1024".into(),
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        self.server.listen.parse().map_err(|_| {
            format!(
                "`{}` is not an address and port such as 127.0.0.1:8080",
                self.server.listen
            )
        })
    }

    /// The configuration as TOML, for `check-config`, with secrets replaced.
    pub fn printable(&self) -> String {
        let mut shown = self.clone();
        if !shown.connectors.github_token.is_empty() {
            shown.connectors.github_token = "(set, hidden)".into();
        }
        toml::to_string(&shown).unwrap_or_default()
    }

    /// Why other fediverse servers could not follow this instance's users at
    /// [`Config::base_url`], in words; `None` when they can. Federation needs a public
    /// https address; plain http works only between programs on one machine (a loopback
    /// host), which is the default (`http://127.0.0.1:8080`) and what tests use. A warning
    /// rather than an error: an instance nobody follows from outside still works.
    pub fn federation_problem(&self) -> Option<String> {
        let base = self.base_url();
        let origin = if self.server.base_url.is_empty() {
            format!(
                "server.base_url is not set, so the instance calls itself `{base}` (from server.listen)"
            )
        } else {
            format!("server.base_url is `{base}`")
        };
        let url = url::Url::parse(&base).ok()?;
        let host = url.host()?;
        let loopback = match &host {
            url::Host::Domain(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name.to_ascii_lowercase().ends_with(".localhost")
            }
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        let unspecified = match &host {
            url::Host::Ipv4(ip) => ip.is_unspecified(),
            url::Host::Ipv6(ip) => ip.is_unspecified(),
            url::Host::Domain(_) => false,
        };
        if unspecified {
            return Some(format!(
                "{origin}, which is no address anyone can reach: set server.base_url to the \
                 public https address of this instance (such as https://social.example.org) \
                 so that fediverse servers can find and follow its users"
            ));
        }
        if url.scheme() == "http" && !loopback {
            return Some(format!(
                "{origin}: fediverse servers fetch actors and deliver to inboxes only over \
                 https, so its users cannot be followed from them; set server.base_url to the \
                 public https address (such as https://social.example.org). Plain http is \
                 accepted only for a loopback host (127.0.0.1, ::1, localhost), for trying \
                 federation on one machine"
            ));
        }
        if url.path() != "/" {
            return Some(format!(
                "{origin}, which has a path: WebFinger and NodeInfo live at the root of a \
                 host (/.well-known/…), so serve Tributary at the root of its own host name"
            ));
        }
        None
    }

    /// Why this instance does not subscribe to the WebSub hubs its sources' feeds name, in
    /// words; `None` when it does. A hub must reach `{base_url}/websub/…`, so a loopback,
    /// private or unspecified host is refused unless `websub.private_callback` is on.
    pub fn websub_subscribe_problem(&self) -> Option<String> {
        if !self.websub.subscribe {
            return Some("websub.subscribe is off".into());
        }
        if self.websub.private_callback {
            return None;
        }
        let base = self.base_url();
        let private = match url::Url::parse(&base)
            .ok()
            .and_then(|url| url.host().map(|h| h.to_owned()))
        {
            None => true,
            Some(url::Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost") || !name.contains('.')
            }
            Some(url::Host::Ipv4(ip)) => {
                ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
            }
            Some(url::Host::Ipv6(ip)) => {
                ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
            }
        };
        private.then(|| {
            format!(
                "server.base_url (`{base}`) is not a public address a hub can reach; set it, \
                 or websub.private_callback for a hub on this machine or network"
            )
        })
    }

    /// The public base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        if self.server.base_url.is_empty() {
            format!("http://{}", self.server.listen)
        } else {
            self.server.base_url.trim_end_matches('/').to_owned()
        }
    }
}

/// Applies `TRIBUTARY_SECTION_KEY=value`. Returns false for variables that are not keys
/// (such as `TRIBUTARY_CONFIG`).
fn apply_env(
    table: &mut toml::Table,
    var: &str,
    rest: &str,
    value: &str,
) -> Result<bool, ConfigError> {
    const SECTIONS: [&str; 11] = [
        "server",
        "database",
        "fetch",
        "scheduler",
        "auth",
        "connectors",
        "websub",
        "federation",
        "normalize",
        "media",
        "import",
    ];
    let lower = rest.to_ascii_lowercase();
    let Some((section, key)) = SECTIONS.iter().find_map(|section| {
        lower
            .strip_prefix(section)
            .and_then(|key| key.strip_prefix('_'))
            .map(|key| (*section, key.to_owned()))
    }) else {
        return Ok(false);
    };
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
    let Some(default_value) = defaults
        .get(section)
        .and_then(|s| s.as_table())
        .and_then(|s| s.get(&key))
    else {
        return Err(ConfigError::Env {
            var: var.to_owned(),
            message: format!("there is no key `{section}.{key}`"),
        });
    };
    let parsed = match default_value {
        toml::Value::String(_) => toml::Value::String(value.to_owned()),
        toml::Value::Array(_) => toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(|part| toml::Value::String(part.to_owned()))
                .collect(),
        ),
        _ => {
            let wrapped = format!("v = {value}");
            let parsed: toml::Table = toml::from_str(&wrapped).map_err(|_| ConfigError::Env {
                var: var.to_owned(),
                message: format!("`{value}` is not a valid value for `{section}.{key}`"),
            })?;
            parsed.get("v").cloned().expect("just parsed")
        }
    };
    table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .ok_or_else(|| ConfigError::Env {
            var: var.to_owned(),
            message: format!("`{section}` is not a table in the config file"),
        })?
        .insert(key, parsed);
    Ok(true)
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tributary.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(
            Some(&path),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn example_config_equals_defaults() {
        let text = include_str!("../config.example.toml");
        let parsed: Config = toml::from_str(text).expect("config.example.toml parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn federation_needs_https_except_on_loopback() {
        let with = |listen: &str, base: &str| {
            let mut config = Config::default();
            config.server.listen = listen.into();
            config.server.base_url = base.into();
            config.federation_problem()
        };
        // The default run and loopback addresses are fine.
        assert_eq!(Config::default().federation_problem(), None);
        assert_eq!(with("127.0.0.1:8080", "http://localhost:8080"), None);
        assert_eq!(with("[::1]:8080", ""), None);
        assert_eq!(with("127.0.0.1:8080", "https://social.example.org/"), None);
        // Plain http elsewhere, no address at all, or a path: each says what to set.
        let lan = with("192.168.1.5:8080", "").unwrap();
        assert!(lan.contains("server.base_url is not set"), "{lan}");
        assert!(lan.contains("https"), "{lan}");
        let public_http = with("127.0.0.1:8080", "http://social.example.org").unwrap();
        assert!(
            public_http.contains("`http://social.example.org`"),
            "{public_http}"
        );
        assert!(
            with("0.0.0.0:8080", "")
                .unwrap()
                .contains("no address anyone can reach")
        );
        assert!(
            with("127.0.0.1:8080", "https://example.org/tributary")
                .unwrap()
                .contains("has a path")
        );
    }

    #[test]
    fn runs_without_a_file() {
        let config = Config::load(None, Vec::new()).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn env_overrides_single_keys() {
        let config = load_str(
            "[server]\nlisten = \"127.0.0.1:9000\"\n",
            &[
                ("TRIBUTARY_FETCH_TIMEOUT_SECS", "7"),
                ("TRIBUTARY_DATABASE_PATH", "/tmp/x.db"),
                ("TRIBUTARY_FETCH_ALLOW_PRIVATE_NETWORKS", "true"),
                ("TRIBUTARY_CONFIG", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:9000");
        assert_eq!(config.fetch.timeout_secs, 7);
        assert!(config.fetch.allow_private_networks);
        assert_eq!(config.database.path, PathBuf::from("/tmp/x.db"));
    }

    #[test]
    fn bad_file_names_file_key_and_reason() {
        let err = load_str("[fetch]\ntimeout_secs = \"soon\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("tributary.toml"), "{err}");
        assert!(err.contains("timeout_secs"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load_str("[fetch]\ntimeout = 3\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `timeout`"), "{err}");
    }

    #[test]
    fn bad_media_caps_are_named() {
        let err = load_str("[media]\nmax_file_bytes = 0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("media.max_file_bytes"), "{err}");
        let err = load_str("[media]\nmax_file_bytes = 10\nmax_user_bytes = 9\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("media.max_user_bytes"), "{err}");
        let err = load_str("[media]\nfolder = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `folder`"), "{err}");
    }

    #[test]
    fn media_dir_defaults_to_beside_the_database() {
        let media = MediaConfig::default();
        assert_eq!(
            media.dir_for(Path::new("/srv/t/tributary.db")),
            PathBuf::from("/srv/t/tributary.media")
        );
        let chosen = MediaConfig {
            dir: "/data/media".into(),
            ..MediaConfig::default()
        };
        assert_eq!(
            chosen.dir_for(Path::new("/srv/t/tributary.db")),
            PathBuf::from("/data/media")
        );
    }

    #[test]
    fn bad_schedule_is_named() {
        let err = load_str("[scheduler]\ndefault_schedule = \"every tuesday\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("scheduler.default_schedule"), "{err}");
    }

    #[test]
    fn bad_hub_is_named_with_the_file() {
        let err = load_str("[websub]\nhub = \"ftp://hub.example/\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("websub.hub"), "{err}");
        assert!(err.contains("tributary.toml"), "{err}");
        let err = load_str("[websub]\nhub = \"not a url\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("websub.hub"), "{err}");
        let config = load_str("[websub]\nhub = \"https://hub.example/\"\n", &[]).unwrap();
        assert_eq!(
            config.websub.hub_url().map(String::from).as_deref(),
            Some("https://hub.example/")
        );
        assert_eq!(Config::default().websub.hub_url(), None);
        let mut config = Config::default();
        assert!(
            config.websub_subscribe_problem().is_some(),
            "loopback by default"
        );
        config.server.base_url = "https://social.example.org".into();
        assert_eq!(config.websub_subscribe_problem(), None);
        config.server.base_url = "http://192.168.1.5:8080".into();
        assert!(config.websub_subscribe_problem().is_some());
        config.websub.private_callback = true;
        assert_eq!(config.websub_subscribe_problem(), None);
        config.websub.subscribe = false;
        assert!(config.websub_subscribe_problem().is_some());
        for (text, key) in [
            ("[websub]\nlease_secs = 0\n", "websub.lease_secs"),
            (
                "[websub]\nmin_renew_secs = 864000\n",
                "websub.min_renew_secs",
            ),
            ("[websub]\npush_poll_hours = 0\n", "websub.push_poll_hours"),
            ("[websub]\nmax_push_bytes = 10\n", "websub.max_push_bytes"),
        ] {
            let err = load_str(text, &[]).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn bad_github_token_is_named() {
        let err = load_str("[connectors]\ngithub_token = \"two words\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("connectors.github_token"), "{err}");
        assert!(err.contains("tributary.toml"), "{err}");
        let config = load_str("", &[("TRIBUTARY_CONNECTORS_RECIPES_DIR", "/srv/recipes")]).unwrap();
        assert_eq!(config.connectors.recipes_dir, "/srv/recipes");
    }

    // See: #16
    #[test]
    fn issue_16_sanitize_fast_path_is_on_by_default_and_turns_off() {
        assert!(Config::default().normalize.sanitize_fast_path);
        let config = load_str("[normalize]\nsanitize_fast_path = false\n", &[]).unwrap();
        assert!(!config.normalize.sanitize_fast_path);
        let config = load_str("", &[("TRIBUTARY_NORMALIZE_SANITIZE_FAST_PATH", "false")]).unwrap();
        assert!(!config.normalize.sanitize_fast_path);
    }

    /// The effective configuration as `check-config` prints it, with secrets replaced.
    #[test]
    fn printed_config_hides_the_token() {
        let mut config = Config::default();
        config.connectors.github_token = "ghp_secret".into();
        let text = config.printable();
        assert!(!text.contains("ghp_secret"), "{text}");
        assert!(text.contains("github_token"), "{text}");
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let err = load_str("", &[("TRIBUTARY_FETCH_TIMEOUT_SECS", "soon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("TRIBUTARY_FETCH_TIMEOUT_SECS"), "{err}");
        let err = load_str("", &[("TRIBUTARY_FETCH_NOPE", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("fetch.nope"), "{err}");
    }
}
