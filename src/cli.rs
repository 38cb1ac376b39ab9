//! The command line and the composition root: builds the store, fetcher, registry,
//! ingest, scheduler and web server from the config. `anyhow` lives here and in main.rs.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::{Parser, Subcommand};
use connectors::{PollState, Registry};
use tokio_util::sync::CancellationToken;

use crate::auth;
use crate::config::Config;
use crate::fetch::HttpClient;
use crate::ingest::Ingest;
use crate::model::{NewItem, SourceId};
use crate::normalize::{NormalizeCtx, normalize};
use crate::schedule;
use crate::scheduler;
use crate::store::{Store, StoreError, sources, users};
use crate::web;

#[derive(Debug, Parser)]
#[command(
    name = "tributary",
    version,
    about = "A self-hosted, FriendFeed-style lifestream"
)]
pub struct Cli {
    /// Configuration file (TOML). Without one, built-in defaults apply.
    #[arg(long, global = true, env = crate::config::CONFIG_ENV, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the scheduler (the default).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage sources.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Poll sources once, now: one source, or every enabled source.
    Poll {
        #[arg(long, value_name = "ID")]
        source: Option<i64>,
    },
    /// List the connectors, their parameters and an example input.
    Connectors,
    /// Load the configuration, report problems, print the effective values.
    CheckConfig,
    /// Export a stream, a source list or the whole database.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Import a source list.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write a user's whole stream as Atom files: feed.atom (the newest items) and
    /// feed-page-K.atom for every archive page (1 is the oldest).
    Atom {
        user: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print a user's sources as OPML.
    Opml { user: String },
    /// Copy the database to FILE, consistently, even while the server runs.
    Backup { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Add the subscriptions of an OPML file to a user's sources.
    Opml { user: String, file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is asked for, or read from standard input.
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Name shown on pages; defaults to the user name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a source to a user's stream: a feed URL, or anything a connector recognizes.
    Add {
        user: String,
        input: String,
        /// Cron schedule (5 fields as in crontab); the configured default otherwise.
        #[arg(long)]
        schedule: Option<String>,
        /// Use this connector instead of recognizing the input.
        #[arg(long)]
        kind: Option<String>,
        /// A connector parameter, KEY=VALUE (repeatable), beside or instead of what the
        /// input gives: `include_replies=true`, or for the json connector (with --kind)
        /// `--param items=/posts --param title=/title`.
        #[arg(long, value_name = "KEY=VALUE", value_parser = param_pair)]
        param: Vec<(String, String)>,
    },
    /// List sources, of one user or of everyone.
    List { user: Option<String> },
    /// Remove a source: its items leave the stream; comments and likes are kept.
    Remove { id: i64 },
    /// Fetch (or read from a file), parse and normalize, print the items; store nothing.
    Test {
        input: String,
        /// One JSON object per item instead of a table.
        #[arg(long)]
        json: bool,
        /// Use this connector instead of recognizing the input.
        #[arg(long)]
        kind: Option<String>,
        /// A connector parameter, KEY=VALUE (repeatable; with --kind).
        #[arg(long, value_name = "KEY=VALUE", value_parser = param_pair)]
        param: Vec<(String, String)>,
    },
}

/// Logs go to stderr; `RUST_LOG` overrides the default level (info for the server, warn
/// for one-shot commands, so their output stays readable).
pub fn init_logging(cli: &Cli) {
    let default = match cli.command {
        None | Some(Command::Serve) | Some(Command::Poll { .. }) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), std::env::vars())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::User(command) => user(config, command).await,
            Command::Source(command) => source(config, command).await,
            Command::Poll { source } => poll(config, source.map(SourceId)).await,
            Command::Connectors => connectors_list(&config),
            Command::Export(command) => export(config, command).await,
            Command::Import(command) => import(config, command).await,
            Command::CheckConfig => {
                let built = crate::registry::build(&config.connectors)?;
                for problem in &built.problems {
                    eprintln!("warning: {problem}; the other recipes are loaded");
                }
                println!("configuration is valid; effective values:\n");
                print!("{}", config.printable());
                Ok(())
            }
        }
    })
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open(&config.database.path, config.database.readers).with_context(|| {
        format!(
            "cannot open the database {}",
            config.database.path.display()
        )
    })
}

/// The fetcher, signing as the instance actor (key beside the database) when a server
/// refuses unsigned ActivityPub reads.
fn http_client(config: &Config) -> anyhow::Result<HttpClient> {
    let key = crate::fetch::signing::InstanceKeyCell::beside(&config.database.path);
    let signer = crate::fetch::signing::Signer::new(key, &config.base_url());
    Ok(HttpClient::new(&config.fetch)?.with_signer(signer))
}

fn build_ingest(config: &Config, store: Store) -> anyhow::Result<Ingest> {
    let http = http_client(config)?;
    Ok(Ingest::new(
        store,
        Arc::new(http),
        Arc::new(build_registry(config)?),
        config.scheduler.clone(),
    )
    .with_normalize(config.normalize.clone()))
}

/// The connectors for this config: built-ins, the GitHub token, the operator's recipes
/// (each refused one is logged with its file and key).
fn build_registry(config: &Config) -> anyhow::Result<Registry> {
    Ok(crate::registry::build_logged(&config.connectors)?.registry)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config
        .listen_addr()
        .map_err(|message| anyhow!("server.listen: {message}"))?;
    let store = open_store(&config)?;
    let client = http_client(&config)?;
    let http: Arc<dyn connectors::Http> = Arc::new(client.clone());
    let registry = Arc::new(build_registry(&config)?);
    let ingest = Ingest::new(
        store.clone(),
        http.clone(),
        registry.clone(),
        config.scheduler.clone(),
    )
    .with_normalize(config.normalize.clone());
    if let Some(hub) = config.websub.hub_url() {
        let site = crate::export::Site::new(&config.base_url()).with_hub(Some(hub.clone()));
        tracing::info!(hub = %hub, "websub: feeds name this hub and it is pinged on new items");
        ingest.set_publisher(crate::websub::Publisher::start(
            hub,
            site,
            store.clone(),
            client,
        ));
    }
    let shutdown = CancellationToken::new();
    let (scheduler_handle, scheduler_task) =
        scheduler::spawn(ingest, config.scheduler.clone(), shutdown.clone());
    let sources = crate::sources::Sources::new(store.clone(), registry, http, scheduler_handle);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(
        url = %format!("http://{}", listener.local_addr()?),
        database = %config.database.path.display(),
        "listening"
    );
    let state = web::AppState::new(store, Arc::new(config), sources)
        .with_context(|| "cannot read or create the cookie key beside the database".to_string())?;
    // The instance actor's key: generated on the first run, read on the others.
    if let Err(err) = state.instance_key.get().await {
        tracing::warn!(error = %err, "no instance key: servers that demand signed reads will refuse");
    }
    let stop = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    let wait = shutdown.clone();
    web::serve(listener, state, async move { wait.cancelled().await }).await?;
    shutdown.cancel();
    let _ = scheduler_task.await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    match command {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
            display_name,
        } => {
            auth::validate_user_name(&name)?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            } else {
                if !std::io::stdin().is_terminal() {
                    bail!("no terminal to ask for a password; pass it with --password-stdin");
                }
                let first = rpassword::prompt_password(format!("Password for {name}: "))?;
                let again = rpassword::prompt_password("Again: ")?;
                if first != again {
                    bail!("the two passwords differ");
                }
                first
            };
            auth::validate_password(&password)?;
            let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
                .await
                .context("password hashing stopped")??;
            let display_name = display_name.unwrap_or_else(|| name.clone());
            let id = {
                let name = name.clone();
                store
                    .write(move |tx| {
                        users::create(
                            tx,
                            &users::NewUser {
                                name: &name,
                                display_name: &display_name,
                                password_hash: &hash,
                                is_admin: admin,
                            },
                            Utc::now(),
                        )
                    })
                    .await?
            };
            println!(
                "created user {name} (id {id}{})",
                if admin { ", admin" } else { "" }
            );
        }
        UserCommand::List => {
            let users = store.read(users::list).await?;
            if users.is_empty() {
                println!("no users yet; create one with `tributary user add NAME --admin`");
            }
            for user in users {
                println!(
                    "{:>4}  {}{}",
                    user.id,
                    user.name,
                    if user.is_admin { "  (admin)" } else { "" }
                );
            }
        }
    }
    Ok(())
}

async fn source(config: Config, command: SourceCommand) -> anyhow::Result<()> {
    match command {
        SourceCommand::Add {
            user,
            input,
            schedule,
            kind,
            param,
        } => {
            let store = open_store(&config)?;
            let registry = build_registry(&config)?;
            let owner = {
                let lookup = user.clone();
                store
                    .read(move |conn| users::by_name(conn, &lookup))
                    .await
                    .map_err(|err| match err {
                        StoreError::NotFound => anyhow!("no user named `{user}`"),
                        other => other.into(),
                    })?
            };
            let (kind, params) = recognize(&registry, &input, kind.as_deref(), &param)?;
            let schedule = match schedule {
                Some(text) => schedule::parse_schedule(&text)
                    .map_err(|message| anyhow!("--schedule: {message}"))?,
                None => String::new(),
            };
            let id = {
                let kind = kind.clone();
                let params = params.clone();
                store
                    .write(move |tx| {
                        sources::insert(
                            tx,
                            &sources::NewSource {
                                user_id: owner.id,
                                kind: &kind,
                                params: &params,
                                title: "",
                                schedule: &schedule,
                            },
                            Utc::now(),
                        )
                    })
                    .await?
            };
            println!(
                "added source {id} ({kind} {}) to {}'s stream; it is polled on the next pass of `tributary serve` or `tributary poll`",
                params
                    .get("url")
                    .or_else(|| params.get("account"))
                    .and_then(|u| u.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| params.to_string()),
                owner.name
            );
        }
        SourceCommand::List { user } => {
            let store = open_store(&config)?;
            let owner = match user {
                Some(name) => {
                    let lookup = name.clone();
                    Some(
                        store
                            .read(move |conn| users::by_name(conn, &lookup))
                            .await
                            .map_err(|err| match err {
                                StoreError::NotFound => anyhow!("no user named `{name}`"),
                                other => other.into(),
                            })?
                            .id,
                    )
                }
                None => None,
            };
            let list = store.read(move |conn| sources::list(conn, owner)).await?;
            if list.is_empty() {
                println!("no sources; add one with `tributary source add USER URL`");
            }
            for source in list {
                let status = match (&source.last_error, source.enabled) {
                    (_, false) => "disabled".to_owned(),
                    (Some(err), true) => format!("failing ({} times): {err}", source.failure_count),
                    (None, true) if source.last_success_at.is_some() => "ok".to_owned(),
                    (None, true) => "not polled yet".to_owned(),
                };
                println!(
                    "{:>4}  {:<8} {:<10} {:>6} items  next {}  {}  [{}]",
                    source.id,
                    source.user_name,
                    source.kind,
                    source.n_items,
                    source.next_poll_at.format("%Y-%m-%d %H:%M"),
                    source
                        .url()
                        .or_else(|| source.params.get("account").and_then(|a| a.as_str()))
                        .unwrap_or(&source.title),
                    status
                );
            }
        }
        SourceCommand::Remove { id } => {
            let store = open_store(&config)?;
            store
                .write(move |tx| sources::remove(tx, SourceId(id), Utc::now()))
                .await
                .map_err(|err| match err {
                    StoreError::NotFound => anyhow!("no source with id {id}"),
                    other => other.into(),
                })?;
            println!("removed source {id}; its items are hidden, comments and likes are kept");
        }
        SourceCommand::Test {
            input,
            json,
            kind,
            param,
        } => source_test(&config, &input, json, kind.as_deref(), &param).await?,
    }
    Ok(())
}

/// `KEY=VALUE` of `--param`.
fn param_pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{text}` has no key"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

fn recognize(
    registry: &Registry,
    input: &str,
    kind: Option<&str>,
    extra: &[(String, String)],
) -> anyhow::Result<(String, serde_json::Value)> {
    let (connector, params) = match kind {
        Some(kind) => {
            let connector = registry
                .get(kind)
                .ok_or_else(|| anyhow!("no connector named `{kind}`; see `tributary connectors`"))?;
            let params = match connector.recognize(input) {
                Some(params) => params,
                // With --param, the input is the connector's URL (the generic json
                // connector recognizes nothing by itself).
                None if !extra.is_empty() => serde_json::json!({ "url": input }),
                None => bail!(
                    "the {kind} connector does not understand `{input}`; give its parameters with --param KEY=VALUE"
                ),
            };
            (connector, params)
        }
        None => registry.recognize(input).ok_or_else(|| {
            anyhow!("no connector recognizes `{input}`; give a feed URL such as https://blog.example/feed.xml")
        })?,
    };
    let mut params = params;
    if !extra.is_empty() {
        let Some(map) = params.as_object_mut() else {
            bail!(
                "the {} connector's parameters are not an object",
                connector.kind()
            );
        };
        for (key, value) in extra {
            // `true` and `false` are switches (`include_replies=true`); the rest is text.
            let value = match value.as_str() {
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                _ => serde_json::Value::String(value.clone()),
            };
            map.insert(key.clone(), value);
        }
    }
    let params = connector.validate(&params)?;
    Ok((connector.kind().to_owned(), params))
}

async fn source_test(
    config: &Config,
    input: &str,
    json: bool,
    kind: Option<&str>,
    extra: &[(String, String)],
) -> anyhow::Result<()> {
    let fetched_at = Utc::now();
    let path = Path::new(input);
    let (raw_items, base_url, warnings) = if kind.is_none() && path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let absolute = std::fs::canonicalize(path)?;
        let base = url::Url::from_file_path(&absolute)
            .map_err(|_| anyhow!("cannot make a URL of {}", absolute.display()))?;
        let parsed = connectors::protocol::feed::parse(&bytes, &base)?;
        (parsed.items, None, parsed.warnings)
    } else {
        let registry = build_registry(config)?;
        let (kind, params) = recognize(&registry, input, kind, extra)?;
        let connector = registry
            .get(&kind)
            .expect("recognize returned a registered kind");
        let http = http_client(config)?;
        let poll = connector
            .poll(&http, &params, &PollState::default())
            .await?;
        (poll.items, poll.base_url, poll.warnings)
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let ctx = NormalizeCtx {
        base_url,
        fetched_at,
        sanitize_fast_path: config.normalize.sanitize_fast_path,
    };
    let items: Vec<NewItem> = raw_items
        .into_iter()
        .map(|raw| {
            let (item, item_warnings) = normalize(raw, &ctx);
            for warning in item_warnings {
                eprintln!("warning: item {}: {warning}", item.external_id);
            }
            item
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        for item in &items {
            let line = serde_json::json!({
                "id": item.external_id,
                "title": item.title,
                "url": item.url.as_ref().map(|u| u.as_str()),
                "published": item.published_at.to_rfc3339(),
                "updated": item.updated_at.map(|t| t.to_rfc3339()),
                "kind": item.kind.as_str(),
                "author": item.author_name,
                "tags": item.tags,
                "media": item.media,
                "summary": crate::normalize::text::truncate_chars(&item.summary_text, 280),
            });
            writeln!(out, "{line}")?;
        }
    } else {
        writeln!(
            out,
            "{:<16}  {:<7}  {:<50}  url",
            "published", "kind", "title"
        )?;
        for item in &items {
            writeln!(
                out,
                "{:<16}  {:<7}  {:<50}  {}",
                item.published_at.format("%Y-%m-%d %H:%M"),
                item.kind.as_str(),
                crate::normalize::text::truncate_chars(&item.title, 50),
                item.url.as_ref().map(|u| u.as_str()).unwrap_or("")
            )?;
        }
        writeln!(out, "{} items", items.len())?;
    }
    Ok(())
}

async fn poll(config: Config, only: Option<SourceId>) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    let to_poll = match only {
        Some(id) => vec![
            store
                .read(move |conn| sources::get(conn, id))
                .await
                .map_err(|err| match err {
                    StoreError::NotFound => anyhow!("no source with id {id}"),
                    other => other.into(),
                })?,
        ],
        None => store
            .read(|conn| sources::list(conn, None))
            .await?
            .into_iter()
            .filter(|source| source.enabled)
            .collect(),
    };
    if to_poll.is_empty() {
        println!("no enabled sources to poll");
        return Ok(());
    }
    let n_sources = to_poll.len();
    let ingest = build_ingest(&config, store)?;
    let reports =
        scheduler::poll_sources(&ingest, to_poll, config.scheduler.max_concurrent_polls).await;
    let mut n_failed = 0;
    for report in &reports {
        match &report.error {
            Some(error) => {
                n_failed += 1;
                eprintln!("source {}: {error}", report.source_id);
            }
            None if report.not_modified => println!("source {}: not modified", report.source_id),
            None => println!(
                "source {}: {} new, {} updated",
                report.source_id, report.n_new, report.n_updated
            ),
        }
    }
    if reports.len() < n_sources {
        bail!(
            "{} of {n_sources} polls could not be recorded",
            n_sources - reports.len()
        );
    }
    if n_failed > 0 {
        bail!("{n_failed} of {n_sources} sources failed");
    }
    Ok(())
}

async fn find_user(store: &Store, name: &str) -> anyhow::Result<crate::model::User> {
    let lookup = name.to_owned();
    store
        .read(move |conn| users::by_name(conn, &lookup))
        .await
        .map_err(|err| match err {
            StoreError::NotFound => anyhow!("no user named `{name}`"),
            other => other.into(),
        })
}

async fn export(config: Config, command: ExportCommand) -> anyhow::Result<()> {
    use crate::export::{Format, Owner, Site, StreamKind, stream_meta};
    use crate::store::export::{Scope, backup, page};

    let store = open_store(&config)?;
    match command {
        ExportCommand::Atom { user, out } => {
            let owner = find_user(&store, &user).await?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let site = Site::new(&config.base_url());
            let icon = web::assets::url("icon.svg");
            let mut number = None;
            let mut n_files = 0;
            let mut n_entries = 0;
            loop {
                let scope = Scope::User(owner.id);
                let doc = store.read(move |conn| page(conn, &scope, number)).await?;
                let meta = stream_meta(
                    &site,
                    Owner {
                        name: &owner.name,
                        display_name: &owner.display_name,
                        created_at: owner.created_at,
                    },
                    StreamKind::User,
                    Format::Atom,
                    &doc.block,
                    &doc.entries,
                    &icon,
                );
                let name = match number {
                    None => "feed.atom".to_owned(),
                    Some(k) => format!("feed-page-{k}.atom"),
                };
                let path = out.join(&name);
                std::fs::write(&path, Format::Atom.render(&meta, &doc.entries))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                n_files += 1;
                n_entries += doc.entries.len();
                let next = number.map_or(1, |k| k + 1);
                if next > doc.block.n_archive_pages {
                    break;
                }
                number = Some(next);
            }
            println!(
                "wrote {n_entries} entries in {n_files} files to {}",
                out.display()
            );
        }
        ExportCommand::Opml { user } => {
            let owner = find_user(&store, &user).await?;
            let owner_id = owner.id;
            let list = store
                .read(move |conn| sources::list(conn, Some(owner_id)))
                .await?;
            let created = list
                .iter()
                .map(|s| s.created_at)
                .max()
                .unwrap_or(owner.created_at);
            let registry = build_registry(&config)?;
            let bytes = web::pages::feeds::opml_document(&registry, &owner, &list, created);
            std::io::stdout().lock().write_all(&bytes)?;
        }
        ExportCommand::Backup { file } => {
            if file.exists() {
                bail!("{} already exists; choose a new file", file.display());
            }
            let target = file
                .to_str()
                .ok_or_else(|| anyhow!("the backup path must be valid UTF-8"))?
                .to_owned();
            store.read(move |conn| backup(conn, &target)).await?;
            println!(
                "backed up {} to {}",
                config.database.path.display(),
                file.display()
            );
        }
    }
    Ok(())
}

async fn import(config: Config, command: ImportCommand) -> anyhow::Result<()> {
    let ImportCommand::Opml { user, file } = command;
    let store = open_store(&config)?;
    let owner = find_user(&store, &user).await?;
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let registry = build_registry(&config)?;
    let report =
        web::pages::import::run_import(&store, &registry, &config.fetch, owner.id, &bytes).await?;
    for message in &report.messages {
        println!("note: {message}");
    }
    for url in &report.added {
        println!("added: {url}");
    }
    for url in &report.already_present {
        println!("already present: {url}");
    }
    for (url, reason) in &report.refused {
        println!("refused: {url}: {reason}");
    }
    println!(
        "{} added, {} already present, {} refused",
        report.added.len(),
        report.already_present.len(),
        report.refused.len()
    );
    Ok(())
}

fn connectors_list(config: &Config) -> anyhow::Result<()> {
    let built = crate::registry::build(&config.connectors)?;
    let builtin_recipes: Vec<&str> = connectors::recipe::embedded()
        .iter()
        .map(|recipe| recipe.name)
        .collect();
    let mut out = std::io::stdout().lock();
    for connector in built.registry.iter() {
        let info = connector.info();
        let origin = match built
            .operator_recipes
            .iter()
            .find(|(kind, _)| kind == info.kind)
        {
            Some((_, path)) => format!("  (recipe from {})", path.display()),
            None if builtin_recipes.contains(&info.kind) => "  (built-in recipe)".to_owned(),
            None => String::new(),
        };
        writeln!(out, "{}  —  {}{origin}", info.kind, info.title)?;
        if !info.description.is_empty() {
            writeln!(out, "    {}", info.description)?;
        }
        for param in &info.params {
            writeln!(
                out,
                "    param {}{}: {}",
                param.name,
                if param.required { " (required)" } else { "" },
                param.help
            )?;
        }
        writeln!(
            out,
            "    example: tributary source add USER {}",
            info.example_input
        )?;
        if let Some(schedule) = info.default_schedule {
            writeln!(out, "    default schedule: {schedule}")?;
        }
        if info.can_backfill {
            writeln!(out, "    can walk history back to older items")?;
        }
        writeln!(out)?;
    }
    for problem in &built.problems {
        eprintln!("warning: {problem}; the other recipes are loaded");
    }
    Ok(())
}
