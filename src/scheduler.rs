//! The polling loop: finds due sources, polls them with bounded concurrency, sleeps until
//! the next one is due or someone wakes it. Timing rules live in `schedule` (pure).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::SchedulerConfig;
use crate::ingest::{Ingest, PollReport};
use crate::model::SourceId;
use crate::store::sources;

/// The loop never sleeps longer than this, so a clock change or a missed wake-up costs
/// at most this much delay.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Sources fetched from the database per scan.
const DUE_BATCH: usize = 256;

/// A handle to wake the scheduler after a source became due ("poll now", a new source).
#[derive(Clone, Default)]
pub struct SchedulerHandle {
    wake: Arc<Notify>,
}

impl SchedulerHandle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the loop on the runtime; it stops when `shutdown` is cancelled, letting polls in
/// flight finish (each is one transaction, so stopping mid-poll loses nothing either).
pub fn spawn(
    ingest: Ingest,
    cfg: SchedulerConfig,
    shutdown: CancellationToken,
) -> (SchedulerHandle, tokio::task::JoinHandle<()>) {
    let handle = SchedulerHandle::default();
    let wake = handle.wake.clone();
    let task = tokio::spawn(async move {
        let limit = Arc::new(Semaphore::new(cfg.max_concurrent_polls.max(1)));
        let in_flight: Arc<Mutex<HashSet<SourceId>>> = Arc::default();
        // Polls that finished, by a counter taken when each finished: a scan whose read
        // began before a poll's commit may still see that source as due, so it skips
        // sources that finished after the scan's counter.
        let finished: Arc<Mutex<HashMap<SourceId, u64>>> = Arc::default();
        let counter = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let scan_started = counter.load(Ordering::SeqCst);
            let due = match ingest
                .store()
                .read(move |conn| sources::due(conn, Utc::now(), DUE_BATCH))
                .await
            {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(error = %err, "cannot read due sources");
                    Vec::new()
                }
            };
            finished
                .lock()
                .expect("finished map")
                .retain(|_, at| *at > scan_started);
            for id in due {
                if finished.lock().expect("finished map").contains_key(&id) {
                    continue;
                }
                if !in_flight.lock().expect("in-flight set").insert(id) {
                    continue;
                }
                let ingest = ingest.clone();
                let limit = limit.clone();
                let in_flight = in_flight.clone();
                let finished = finished.clone();
                let counter = counter.clone();
                let wake = wake.clone();
                tasks.spawn(async move {
                    if let Ok(_permit) = limit.acquire_owned().await
                        && let Err(err) = ingest.poll_source(id).await
                    {
                        tracing::error!(source_id = %id, error = %err, "cannot record poll");
                    }
                    let at = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    finished.lock().expect("finished map").insert(id, at);
                    in_flight.lock().expect("in-flight set").remove(&id);
                    // The finished poll may have freed a slot for more due sources.
                    wake.notify_one();
                });
            }
            let sleep = match ingest.store().read(sources::next_due_at).await {
                Ok(Some(at)) => (at - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .clamp(Duration::from_millis(200), MAX_SLEEP),
                _ => MAX_SLEEP,
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    });
    (handle, task)
}

/// Polls the given sources now, at most `max_concurrent` at a time; reports in the order
/// the polls finish. Used by `tributary poll` and tests.
pub async fn poll_now(
    ingest: &Ingest,
    ids: Vec<SourceId>,
    max_concurrent: usize,
) -> Vec<PollReport> {
    let limit = Arc::new(Semaphore::new(max_concurrent.max(1)));
    let mut tasks = JoinSet::new();
    for id in ids {
        let ingest = ingest.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            ingest.poll_source(id).await
        });
    }
    let mut reports = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(err)) => tracing::error!(error = %err, "cannot record poll"),
            Err(err) => tracing::error!(error = %err, "poll task failed"),
        }
    }
    reports
}
