//! A1: importing a platform archive. `archive-gen` writes a synthetic Twitter/X archive
//! in the real shape (`data/manifest.js`, `data/tweets.js` and `tweets-part1.js` behind
//! their `window.YTD… =`, small PNGs under `data/tweets_media/`); `archive-import` (the
//! measured process, fresh database and media folder) runs the real import
//! (`ArchiveImporter::run_blocking`: the checked zip, the streamed reader, normalizing and
//! sanitizing, batched transactions, media through the media store) and prints items/s
//! and peak RSS. `--read-only` is the ceiling in the same run: the same archive opened and
//! read by the same reader, every post counted and dropped, nothing normalized or stored.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use serde_json::json;
use tributary::archive::import::ArchiveImporter;
use tributary::archive::{ArchiveFiles, Entry, Limits, ReadOptions};
use tributary::config::{MediaConfig, NormalizeConfig};
use tributary::media::MediaStore;
use tributary::store::{Store, users};

use crate::ingest::{cpu_seconds, peak_rss_kb};

pub fn generate(out: &Path, tweets: usize, media: usize) -> anyhow::Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let started = Instant::now();
    tributary::archive::testkit::write_twitter_archive(out, tweets, media);
    let size = std::fs::metadata(out)?.len();
    println!(
        "{}",
        json!({ "tweets": tweets, "media": media, "bytes": size,
                "seconds": started.elapsed().as_secs_f64() })
    );
    Ok(())
}

pub fn import(archive: &Path, work: &Path, read_only: bool) -> anyhow::Result<()> {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive.zip".to_owned());
    if read_only {
        return read_only_pass(archive, &name, work);
    }
    if work.exists() {
        std::fs::remove_dir_all(work)?;
    }
    std::fs::create_dir_all(work)?;
    let store = Store::open(&work.join("tributary.db"), 2)?;
    let user = store.write_blocking(|tx| {
        users::create(
            tx,
            &users::NewUser {
                name: "ana",
                display_name: "Ana",
                password_hash: "x",
                is_admin: false,
            },
            Utc::now(),
        )
    })?;
    let media = MediaStore::new(
        store.clone(),
        &MediaConfig {
            dir: work.join("media").to_string_lossy().into_owned(),
            ..MediaConfig::default()
        },
    );
    let importer = ArchiveImporter {
        store: store.clone(),
        media,
        limits: Limits::default(),
        base_url: "http://tributary.bench".to_owned(),
        sanitize_fast_path: NormalizeConfig::default().sanitize_fast_path,
    };
    let started = Instant::now();
    let cpu = cpu_seconds();
    let row = importer
        .run_blocking(user, archive, &name, &ReadOptions::default(), &mut |_| {})
        .context("the import failed")?;
    let seconds = started.elapsed().as_secs_f64();
    let c = &row.counts;
    println!(
        "{}",
        json!({
            "mode": "import",
            "items": c.imported, "skipped": c.skipped, "media": c.media,
            "media_missing": c.media_missing, "seconds": seconds,
            "items_per_sec": c.imported as f64 / seconds,
            "cpu_s": cpu_seconds() - cpu,
            "peak_rss_mb": peak_rss_kb() as f64 / 1024.0,
        })
    );
    Ok(())
}

/// The ceiling: the reader alone over the same archive.
fn read_only_pass(archive: &Path, name: &str, work: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(work)?;
    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut files = ArchiveFiles::open(archive, name, &Limits::default(), &work.join("scratch"))?;
    let reader = tributary::archive::import::readers()
        .into_iter()
        .find(|r| r.detect(&files))
        .context("no reader knows this archive")?;
    let mut posts = 0u64;
    let mut skipped = 0u64;
    reader.read(&mut files, &ReadOptions::default(), &mut |entry| {
        match entry {
            Entry::Post(post) => {
                posts += 1;
                std::hint::black_box(post);
            }
            Entry::Skipped { .. } => skipped += 1,
        }
        Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "mode": "read", "items": posts, "skipped": skipped, "seconds": seconds,
            "items_per_sec": posts as f64 / seconds, "cpu_s": cpu_seconds() - cpu,
            "peak_rss_mb": peak_rss_kb() as f64 / 1024.0,
        })
    );
    Ok(())
}
