//! The polling loop: finds due sources, polls them with bounded concurrency (and a bound
//! per host), sleeps until the next one is due or someone wakes it. Timing rules live in
//! `schedule` (pure).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use connectors::Registry;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::SchedulerConfig;
use crate::ingest::{Ingest, PollReport};
use crate::model::{Source, SourceId};
use crate::store::{StoreError, sources};

/// The loop never sleeps longer than this, so a clock change or a missed wake-up costs
/// at most this much delay.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Sources fetched from the database per scan, besides those already being polled.
const DUE_BATCH: usize = 256;
/// Past this many hosts the map of per-host shares drops entries nobody is using.
const HOST_MAP_PRUNE_AT: usize = 256;

/// Each host's share of the poll slots: a poll takes its host's share before a slot, so
/// sources waiting behind a slow host hold no slot the other hosts could use.
struct HostShares {
    per_host: usize,
    /// Host → semaphore of `per_host` permits.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostShares {
    fn new(per_host: usize) -> HostShares {
        HostShares {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    async fn acquire(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            if hosts.len() >= HOST_MAP_PRUNE_AT {
                // A count of one is the map's own reference: nobody holds or awaits a share.
                hosts.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
            }
            Arc::clone(
                hosts
                    .entry(host.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        // Never closed; should it be, the poll goes ahead without its share.
        semaphore.acquire_owned().await.ok()
    }
}

/// The host a source's polls talk to, for its share of the poll slots: the host of its
/// feed or page address (a site's page stands for its API, which is one host for all its
/// sources), else of its `url` parameter, else one name per connector.
pub fn poll_host(registry: &Registry, source: &Source) -> String {
    let address = registry.get(&source.kind).and_then(|connector| {
        let addresses = connector.addresses(&source.params);
        addresses.feed.or(addresses.page)
    });
    let address = address.or_else(|| {
        source
            .params
            .get("url")
            .and_then(serde_json::Value::as_str)
            .and_then(|url| url::Url::parse(url).ok())
    });
    match address.as_ref().and_then(url::Url::host_str) {
        Some(host) => host.to_ascii_lowercase(),
        // Not a host name (a colon ends it), so it cannot share a host's slots.
        None => format!("{}:", source.kind),
    }
}

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
        let shares = Arc::new(HostShares::new(cfg.max_polls_per_host));
        let polls: Arc<Mutex<Polls>> = Arc::default();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.try_join_next().is_some() {}
            let (read_at, in_flight) = {
                let polls = polls.lock().expect("poll set");
                (polls.finished_seq, polls.in_flight.clone())
            };
            // Sources in flight are still due; reading past them keeps the sources of
            // other hosts in view while a slow host's sources wait for their share.
            let due = match ingest
                .store()
                .read(move |conn| {
                    let due = sources::due(conn, Utc::now(), DUE_BATCH + in_flight.len())?;
                    let mut loaded = Vec::with_capacity(due.len());
                    for id in due.into_iter().filter(|id| !in_flight.contains(id)) {
                        match sources::get(conn, id) {
                            Ok(source) => loaded.push(source),
                            // Removed since the due read: nothing to poll.
                            Err(StoreError::NotFound) => {}
                            Err(err) => return Err(err),
                        }
                    }
                    Ok(loaded)
                })
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
            for source in due {
                let id = source.id;
                let host = poll_host(ingest.registry(), &source);
                if !polls.lock().expect("poll set").start(id, read_at) {
                    continue;
                }
                let ingest = ingest.clone();
                let limit = limit.clone();
                let shares = shares.clone();
                let polls = polls.clone();
                let wake = wake.clone();
                tasks.spawn(async move {
                    let _share = shares.acquire(&host).await;
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

/// Polls the given sources now, at most `max_concurrent` at a time and at most
/// `scheduler.max_polls_per_host` of one host; reports in the order the polls finish. Used by tests and the benchmarks. The sources are read in one go
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
    let shares = Arc::new(HostShares::new(ingest.config().max_polls_per_host));
    let mut tasks = JoinSet::new();
    for source in sources {
        let ingest = ingest.clone();
        let limit = limit.clone();
        let shares = shares.clone();
        let host = poll_host(ingest.registry(), &source);
        tasks.spawn(async move {
            let _share = shares.acquire(&host).await;
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
