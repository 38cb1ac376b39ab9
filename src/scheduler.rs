//! The polling loop: finds due sources, polls them with bounded concurrency, sleeps until
//! the next one is due or someone wakes it. Timing rules live in `schedule` (pure).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::SchedulerConfig;
use crate::ingest::{Ingest, PollReport};
use crate::model::{Source, SourceId};
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

/// Which sources are being polled, and which finished since a due list was read. The due
/// list comes from a snapshot: a poll that commits while it is being read still looks due
/// in it, and must not start again.
#[derive(Debug, Default)]
struct Polls {
    in_flight: HashSet<SourceId>,
    /// Source → the sequence number of its last finish.
    finished: HashMap<SourceId, u64>,
    /// Counts finishes; a due read remembers the value it started at.
    finished_seq: u64,
}

impl Polls {
    /// Marks `id` as polled, unless it is in flight or finished after the due read that
    /// named it began (`read_at`).
    fn start(&mut self, id: SourceId, read_at: u64) -> bool {
        if self.finished.get(&id).is_some_and(|&seq| seq > read_at) {
            return false;
        }
        self.in_flight.insert(id)
    }

    fn finish(&mut self, id: SourceId) {
        self.in_flight.remove(&id);
        self.finished_seq += 1;
        self.finished.insert(id, self.finished_seq);
    }

    /// Finishes before `read_at` are visible to every due read from then on.
    fn forget_finished_before(&mut self, read_at: u64) {
        self.finished.retain(|_, seq| *seq > read_at);
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
        let polls: Arc<Mutex<Polls>> = Arc::default();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let read_at = polls.lock().expect("poll set").finished_seq;
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
            polls
                .lock()
                .expect("poll set")
                .forget_finished_before(read_at);
            for id in due {
                if !polls.lock().expect("poll set").start(id, read_at) {
                    continue;
                }
                let ingest = ingest.clone();
                let limit = limit.clone();
                let polls = polls.clone();
                let wake = wake.clone();
                tasks.spawn(async move {
                    if let Ok(_permit) = limit.acquire_owned().await
                        && let Err(err) = ingest.poll_source(id).await
                    {
                        tracing::error!(source_id = %id, error = %err, "cannot record poll");
                    }
                    polls.lock().expect("poll set").finish(id);
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
/// the polls finish. Used by tests and the benchmarks. The sources are read in one go
/// (a read per poll was about a third of the CPU time of a poll answered 304); one that
/// is gone by then is logged and left out.
pub async fn poll_now(
    ingest: &Ingest,
    ids: Vec<SourceId>,
    max_concurrent: usize,
) -> Vec<PollReport> {
    let loaded = match ingest
        .store()
        .read(move |conn| {
            Ok(ids
                .into_iter()
                .map(|id| (id, sources::get(conn, id)))
                .collect::<Vec<_>>())
        })
        .await
    {
        Ok(loaded) => loaded,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the sources to poll");
            return Vec::new();
        }
    };
    let sources = loaded
        .into_iter()
        .filter_map(|(id, source)| match source {
            Ok(source) => Some(source),
            Err(err) => {
                tracing::error!(source_id = %id, error = %err, "cannot read the source to poll");
                None
            }
        })
        .collect();
    poll_sources(ingest, sources, max_concurrent).await
}

/// [`poll_now`] for sources already read from the store.
pub async fn poll_sources(
    ingest: &Ingest,
    sources: Vec<Source>,
    max_concurrent: usize,
) -> Vec<PollReport> {
    let limit = Arc::new(Semaphore::new(max_concurrent.max(1)));
    let mut tasks = JoinSet::new();
    for source in sources {
        let ingest = ingest.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            ingest.poll_loaded(source).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_finished_during_a_due_read_is_not_started_again() {
        let mut polls = Polls::default();
        let (a, b) = (SourceId(1), SourceId(2));
        let read_at = polls.finished_seq;
        assert!(polls.start(a, read_at));
        assert!(!polls.start(a, read_at), "in flight");
        // A due read begins, then `a` commits and finishes: the read may still name it.
        let read_at = polls.finished_seq;
        polls.finish(a);
        polls.forget_finished_before(read_at);
        assert!(!polls.start(a, read_at), "finished after the read began");
        assert!(polls.start(b, read_at));
        // The next read began after the finish, so its snapshot is up to date.
        let read_at = polls.finished_seq;
        polls.forget_finished_before(read_at);
        assert!(polls.start(a, read_at));
    }
}
