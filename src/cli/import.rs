//! `tributary import opml`: a subscription list into a user's sources, through the
//! sources service's import (the same one `/settings/import` runs); every outline that
//! did not become a source is printed with its reason.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::source::find_user;
use crate::app;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Add the subscriptions of an OPML file to a user's sources.
    Opml { user: String, file: PathBuf },
}

pub async fn run(config: Config, command: ImportCommand) -> anyhow::Result<()> {
    let ImportCommand::Opml { user, file } = command;
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
