//! The command line: clap subcommands, dispatch and printing only. Every command gets
//! its services from `app` (the composition root) and goes through them, so the rules
//! the web keeps hold here too; one file per subcommand. `anyhow` lives here and in
//! main.rs.

mod connectors;
mod export;
mod import;
mod poll;
mod post;
mod source;
mod user;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::model::SourceId;

pub use export::ExportCommand;
pub use import::ImportCommand;
pub use source::SourceCommand;
pub use user::UserCommand;

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
    /// Poll sources once, now: one source, or every enabled source. A source whose
    /// server asked Tributary to wait (429 or 503, Retry-After) is skipped until then.
    Poll {
        #[arg(long, value_name = "ID")]
        source: Option<i64>,
        /// Fetch even the sources whose server asked Tributary to wait.
        #[arg(long)]
        force: bool,
    },
    /// Post a message, a link or photos into a user's stream (as the compose box does).
    Post(post::PostArgs),
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
            Command::Serve => Ok(crate::app::serve(config, std::future::pending()).await?),
            Command::User(command) => user::run(config, command).await,
            Command::Source(command) => source::run(config, command).await,
            Command::Poll { source, force } => poll::run(config, source.map(SourceId), force).await,
            Command::Post(args) => post::run(config, args).await,
            Command::Connectors => connectors::list(&config),
            Command::Export(command) => export::run(config, command).await,
            Command::Import(command) => import::run(config, command).await,
            Command::CheckConfig => connectors::check_config(&config),
        }
    })
}
