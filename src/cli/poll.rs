//! `tributary poll`: poll one source or every enabled one now, through the scheduler's
//! own pass. The sources service decides what to fetch: a source whose server asked
//! Tributary to wait is skipped (and said so, with the time) unless `--force`.

use anyhow::{anyhow, bail};

use crate::app;
use crate::config::Config;
use crate::model::SourceId;
use crate::scheduler;
use crate::sources::SourcesError;

pub async fn run(config: Config, only: Option<SourceId>, force: bool) -> anyhow::Result<()> {
    let services = app::services(&config)?;
    let plan = services
        .sources
        .hand_poll(only, force)
        .await
        .map_err(|err| match (err, only) {
            (SourcesError::NotFound, Some(id)) => anyhow!("no source with id {id}"),
            (other, _) => super::source::in_words(other),
        })?;
    for (id, until) in &plan.waiting {
        println!(
            "source {id}: skipped: its server asked Tributary to wait until {} UTC; \
             `tributary poll --force` fetches it anyway",
            until.format("%Y-%m-%d %H:%M:%S")
        );
    }
    if plan.to_poll.is_empty() {
        if plan.waiting.is_empty() {
            println!("no enabled sources to poll");
        }
        return Ok(());
    }
    let n_sources = plan.to_poll.len();
    let ingest = app::build_ingest(&config, services.store.clone())?;
    let reports =
        scheduler::poll_sources(&ingest, plan.to_poll, config.scheduler.max_concurrent_polls).await;
    let mut n_failed = 0;
    for report in &reports {
        match &report.error {
            Some(error) => {
                n_failed += 1;
                eprintln!("source {}: {error}", report.source_id);
            }
            None if report.deferred.is_some() => println!(
                "source {}: {}; tried again at {}",
                report.source_id,
                report.deferred.as_deref().unwrap_or_default(),
                report.next_poll_at.format("%H:%M:%S UTC")
            ),
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
