//! `tributary import opml`: a subscription list into a user's sources, through the
//! sources service's import (the same one `/settings/import` runs); every outline that
//! did not become a source is printed with its reason. `tributary import history`: a
//! source's older pages, through the sources service's history walk (the same one the
//! source page's button starts), with a progress bar on a terminal and log lines
//! otherwise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;

use super::source::find_user;
use crate::app;
use crate::archive::ReadOptions;
use crate::config::Config;
use crate::ingest::history::{self, HistoryOptions};
use crate::model::SourceId;
use crate::store::history::Status;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Add the subscriptions of an OPML file to a user's sources.
    Opml { user: String, file: PathBuf },
    /// Walk a source's history back to its oldest item, page by page (resumable: run it
    /// again to continue; a second run after the end adds nothing). Imported items keep
    /// their dates and are never delivered to followers.
    History {
        source_id: i64,
        /// The page budget (pages in all runs together; 100 unless raised).
        #[arg(long, value_name = "N")]
        pages: Option<u32>,
        /// The least wait between two pages, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        wait_ms: u64,
    },
    /// Import a platform archive into a user's stream: a Mastodon export (zip or tar.gz),
    /// a Twitter/X archive (zip), a Bluesky repository (.car), a FriendFeed export (JSON)
    /// or an Instagram export (zip). Run it again to continue after a failure; a second
    /// run of the same archive adds nothing. Imported posts keep their dates and are never
    /// delivered to followers.
    Archive {
        user: String,
        file: PathBuf,
        /// Also followers-only posts (Mastodon). Direct messages are never imported.
        #[arg(long)]
        include_private: bool,
        /// Also replies to other people's posts.
        #[arg(long)]
        include_replies: bool,
    },
}

pub async fn run(config: Config, command: ImportCommand) -> anyhow::Result<()> {
    let (user, file) = match command {
        ImportCommand::Opml { user, file } => (user, file),
        ImportCommand::History {
            source_id,
            pages,
            wait_ms,
        } => return history(config, SourceId(source_id), pages, wait_ms).await,
        ImportCommand::Archive {
            user,
            file,
            include_private,
            include_replies,
        } => {
            let options = ReadOptions {
                include_private,
                include_replies_to_others: include_replies,
            };
            return archive(config, &user, &file, options).await;
        }
    };
    let services = app::services(&config)?;
    let owner = find_user(&services.users, &user).await?;
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let report = services
        .sources
        .import_opml(owner.id, &config.fetch, &bytes)
        .await?;
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

async fn archive(
    config: Config,
    user: &str,
    file: &std::path::Path,
    options: ReadOptions,
) -> anyhow::Result<()> {
    let services = app::services(&config)?;
    let owner = find_user(&services.users, user).await?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".to_owned());
    let importer = services.archives.clone();
    let path = file.to_owned();
    let terminal = std::io::stderr().is_terminal();
    let row = tokio::task::spawn_blocking(move || {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let mut last_line = std::time::Instant::now();
        let result = importer.run_blocking(owner.id, &path, &name, &options, &mut |counts| {
            let line = archive_progress(counts);
            match &bar {
                Some(bar) => bar.set_message(line),
                None if last_line.elapsed() >= Duration::from_secs(2) => {
                    last_line = std::time::Instant::now();
                    eprintln!("{line}");
                }
                None => {}
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        result
    })
    .await
    .context("the import stopped")?
    .map_err(|err| anyhow::anyhow!("{}: {err}", file.display()))?;
    let counts = &row.counts;
    println!(
        "{} ({}): {} imported, {} already there, {} skipped; media: {} stored, {} missing",
        row.file_name,
        row.platform,
        counts.imported,
        counts.present,
        counts.skipped,
        counts.media,
        counts.media_missing
    );
    for (reason, n) in &counts.reasons {
        println!("  {n} {reason}");
    }
    Ok(())
}

fn archive_progress(counts: &crate::store::archives::Counts) -> String {
    format!(
        "{} imported, {} already there, {} skipped, {} media",
        history::thousands(counts.imported),
        history::thousands(counts.present),
        history::thousands(counts.skipped),
        history::thousands(counts.media)
    )
}

async fn history(
    config: Config,
    id: SourceId,
    pages: Option<u32>,
    wait_ms: u64,
) -> anyhow::Result<()> {
    let services = app::services(&config)?;
    let ingest = app::build_ingest(&config, services.store.clone())?;
    let options = HistoryOptions {
        page_budget: pages,
        min_gap: Duration::from_millis(wait_ms),
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let report = services
        .sources
        .import_history(&ingest, None, id, &options, |progress| match &bar {
            Some(bar) => bar.set_message(progress.line()),
            None if progress.next_in.is_none() => eprintln!("{}", progress.line()),
            None => {}
        })
        .await
        .map_err(|err| match err {
            crate::sources::SourcesError::NotFound => anyhow::anyhow!("no source with id {id}"),
            other => super::source::in_words(other),
        })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let walk = &report.walk;
    let summary = format!(
        "source {id}: {} new in this run ({} pages); in all {}",
        history::thousands(report.n_new),
        report.pages,
        history::in_words(walk)
    );
    match walk.status {
        Status::Done => println!("{summary}; done: the oldest page was reached"),
        Status::Running => println!(
            "{summary}; {}",
            walk.message.as_deref().unwrap_or("still running")
        ),
        Status::Budget => println!(
            "{summary}; {}",
            walk.message
                .as_deref()
                .unwrap_or("stopped at the page budget")
        ),
        Status::Failed => anyhow::bail!(
            "{summary}; failed: {} (run the command again to continue)",
            walk.message.as_deref().unwrap_or("unknown error")
        ),
    }
    Ok(())
}
