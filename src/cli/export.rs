//! `tributary export`: a user's stream as Atom files, a user's sources as OPML (the same
//! document the web serves), and a consistent copy of the database.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

use super::source::{find_user, in_words};
use crate::app;
use crate::config::Config;

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
    /// Copy the database to FILE, consistently, even while the server runs. The media
    /// folder is not included: it is named when it holds files, to copy alongside.
    Backup { file: PathBuf },
}

pub async fn run(config: Config, command: ExportCommand) -> anyhow::Result<()> {
    use crate::export::{Format, Owner, Site, StreamKind, stream_meta};
    use crate::store::export::{Scope, backup, page};

    let services = app::services(&config)?;
    let store = services.store.clone();
    match command {
        ExportCommand::Atom { user, out } => {
            let owner = find_user(&services.users, &user).await?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let site = Site::new(&config.base_url());
            let icon = app::icon_path();
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
            let owner = find_user(&services.users, &user).await?;
            let owner_id = owner.id;
            let list = services
                .sources
                .operator_list(Some(owner_id))
                .await
                .map_err(in_words)?;
            let created = list
                .iter()
                .map(|s| s.created_at)
                .max()
                .unwrap_or(owner.created_at);
            let bytes = app::opml_document(&services.sources.registry, &owner, &list, created);
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
            // The media store's files are not in the database copy: say so when there
            // are any, so that no backup is mistaken for a whole one.
            let n_media = store.read(crate::store::media::count).await?;
            if n_media > 0 {
                let dir = config.media.dir_for(&config.database.path);
                println!(
                    "the media folder {} ({n_media} stored) is not in this copy: back it up \
                     alongside (files are never changed once written, so any copy \
                     tool works, e.g. rsync -a {}/ BACKUP/media/)",
                    dir.display(),
                    dir.display()
                );
            }
        }
    }
    Ok(())
}
