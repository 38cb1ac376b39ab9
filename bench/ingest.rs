//! Tributary's side of the ingest benchmarks. E1/E2/E3 run the real pipeline (the fetcher
//! with its guard, the feed connector, normalize, one write per poll) through
//! `scheduler::poll_now`: one read of the sources, then `poll_sources` as `tributary poll`
//! runs it. P1 times parse + sanitize + map
//! alone on files held in memory, one thread, like the Python side.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Utc;
use connectors::Registry;
use connectors::protocol::feed;
use serde_json::json;
use tributary::config::Config;
use tributary::fetch::HttpClient;
use tributary::ingest::{Ingest, PollReport};
use tributary::model::SourceId;
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::scheduler;
use tributary::store::{Store, sources, users};

/// The feeds of the corpus in manifest order, as `(file name, URL)`; feed `n` lives on
/// host `hosts[n % hosts.len()]`.
pub fn feed_urls(dir: &Path, hosts: &[String], n: usize) -> anyhow::Result<Vec<String>> {
    let names = feed_files(dir, n)?;
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{}/{}", hosts[i % hosts.len()], name))
        .collect())
}

fn feed_files(dir: &Path, n: usize) -> anyhow::Result<Vec<String>> {
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv"))
        .with_context(|| format!("cannot read {}/manifest.tsv", dir.display()))?;
    let names: Vec<String> = manifest
        .lines()
        .filter_map(|line| line.split('\t').next())
        .filter(|name| name.ends_with(".xml") || name.ends_with(".atom"))
        .take(n)
        .map(str::to_owned)
        .collect();
    if names.len() < n {
        bail!("the corpus has {} feeds, {n} were asked for", names.len());
    }
    Ok(names)
}

/// One pass over every source; fails when any poll failed.
async fn pass(
    ingest: &Ingest,
    ids: &[SourceId],
    concurrency: usize,
) -> anyhow::Result<(f64, Vec<PollReport>)> {
    let started = Instant::now();
    let reports = scheduler::poll_now(ingest, ids.to_vec(), concurrency).await;
    let seconds = started.elapsed().as_secs_f64();
    if reports.len() != ids.len() {
        bail!("{} of {} polls were recorded", reports.len(), ids.len());
    }
    if let Some(failed) = reports.iter().find(|r| r.error.is_some()) {
        bail!(
            "source {} failed: {}",
            failed.source_id,
            failed.error.as_deref().unwrap_or("")
        );
    }
    Ok((seconds, reports))
}

/// E1 (first fetch into an empty database), E2 (re-poll answered 304), E3 (re-poll after
/// the server changed every validator but no byte). Prints one JSON object.
pub async fn run(
    db: PathBuf,
    urls: Vec<String>,
    bump_url: Option<String>,
    origins: Vec<String>,
) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.database.path = db;
    config.fetch.allowed_private_origins = origins;
    let store = Store::open(&config.database.path, config.database.readers)?;
    let ids = store.write_blocking(|tx| {
        let user = users::create(
            tx,
            &users::NewUser {
                name: "bench",
                display_name: "Bench",
                password_hash: "x",
                is_admin: false,
            },
            Utc::now(),
        )?;
        let mut ids = Vec::new();
        for url in &urls {
            let params = json!({ "url": url });
            ids.push(sources::insert(
                tx,
                &sources::NewSource::feed(user, &params),
                Utc::now(),
            )?);
        }
        Ok(ids)
    })?;
    let ingest = Ingest::new(
        store,
        Arc::new(HttpClient::new(&config.fetch)?),
        Arc::new(Registry::default()),
        config.scheduler.clone(),
    );
    let concurrency = config.scheduler.max_concurrent_polls;
    let cpu0 = cpu_seconds();
    let (e1, reports) = pass(&ingest, &ids, concurrency).await?;
    let cpu1 = cpu_seconds();
    let items: usize = reports.iter().map(|r| r.n_new).sum();
    let (e2, reports) = pass(&ingest, &ids, concurrency).await?;
    let cpu2 = cpu_seconds();
    let n_304 = reports.iter().filter(|r| r.not_modified).count();
    if let Some(bump) = bump_url {
        reqwest::Client::new()
            .post(&bump)
            .send()
            .await?
            .error_for_status()?;
    }
    let cpu3 = cpu_seconds();
    let (e3, reports) = pass(&ingest, &ids, concurrency).await?;
    let cpu4 = cpu_seconds();
    let e3_new: usize = reports.iter().map(|r| r.n_new + r.n_updated).sum();
    println!(
        "{}",
        json!({
            "feeds": ids.len(), "items": items, "e1_s": e1, "e2_s": e2, "e3_s": e3,
            "e1_cpu_s": cpu1 - cpu0, "e2_cpu_s": cpu2 - cpu1, "e3_cpu_s": cpu4 - cpu3,
            "e2_not_modified": n_304, "e3_changed": e3_new,
            "peak_rss_kb": peak_rss_kb(),
        })
    );
    Ok(())
}

/// P1: parse + sanitize + map of the first `n` feeds, `reps` times; prints items/s per rep.
pub fn parse(dir: &Path, n: usize, reps: usize, sanitize_fast_path: bool) -> anyhow::Result<()> {
    let base = url::Url::parse("https://feeds.example/").expect("a valid URL");
    let files: Vec<(url::Url, Vec<u8>)> = feed_files(dir, n)?
        .into_iter()
        .map(|name| Ok((base.join(&name)?, std::fs::read(dir.join(&name))?)))
        .collect::<anyhow::Result<_>>()?;
    let mut rates = Vec::new();
    let mut items = 0;
    for _ in 0..reps {
        items = 0;
        let started = Instant::now();
        for (url, bytes) in &files {
            let parsed = feed::parse(bytes, url)?;
            let ctx = NormalizeCtx {
                base_url: Some(url.clone()),
                fetched_at: Utc::now(),
                sanitize_fast_path,
            };
            for raw in parsed.items {
                let (item, _warnings) = normalize(raw, &ctx);
                std::hint::black_box(item);
                items += 1;
            }
        }
        rates.push(items as f64 / started.elapsed().as_secs_f64());
    }
    println!("{}", json!({ "items": items, "items_per_s": rates }));
    Ok(())
}

/// CPU time of this process (user + system), from procfs.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

/// The peak resident set of this process, in KiB.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
