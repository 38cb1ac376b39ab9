//! WebSub publishing (W3C WebSub, §5 "Publishing"): when a poll stores new items, the hub
//! named in `[websub] hub` hears which feeds changed, so subscribers get the items at once
//! instead of at their next poll.
//!
//! The ping is the form POST hubs understand (`hub.mode=publish`, `hub.url=TOPIC`), one per
//! topic. Topics are the `rel="self"` URLs of the subscription documents that changed: the
//! owner's stream, the owner's stream of that kind of source, and the friends stream of
//! everyone following the owner, each in Atom, RSS and JSON Feed. Landings are gathered
//! for [`BATCH_WINDOW`] so a burst of polls makes one ping per topic. A ping that fails is
//! tried again later; a hub that stays down costs subscribers nothing but the wait until
//! their own next poll.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use url::Url;

use crate::export::{self, Format, Site, StreamKind};
use crate::fetch::HttpClient;
use crate::model::UserId;
use crate::store::{Store, social, users};

/// How long landings are gathered before the hub is pinged.
pub const BATCH_WINDOW: Duration = Duration::from_secs(2);
/// Tries per topic, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// Wait before the second try; it doubles for each try after that.
pub const RETRY_DELAY: Duration = Duration::from_secs(30);
/// Landings waiting to be gathered; past this, new ones are dropped with a warning (the
/// feeds are still correct; subscribers just hear about them at their next poll).
const QUEUE: usize = 10_000;

/// Tells the hub about new items. Cheap to clone; dropping every clone stops the task.
#[derive(Clone, Debug)]
pub struct Publisher {
    tx: mpsc::Sender<(UserId, String)>,
}

impl Publisher {
    /// Starts the pinging task on the current runtime.
    pub fn start(hub: Url, site: Site, store: Store, http: HttpClient) -> Publisher {
        Publisher::start_with(hub, site, store, http, BATCH_WINDOW, RETRY_DELAY)
    }

    /// [`Publisher::start`] with other delays, for tests.
    pub fn start_with(
        hub: Url,
        site: Site,
        store: Store,
        http: HttpClient,
        window: Duration,
        retry_delay: Duration,
    ) -> Publisher {
        let (tx, rx) = mpsc::channel(QUEUE);
        let pinger = Pinger {
            hub,
            site,
            store,
            http,
            window,
            retry_delay,
        };
        tokio::spawn(pinger.run(rx));
        Publisher { tx }
    }

    /// New items of `kind` landed in `user`'s stream.
    pub fn items_landed(&self, user: UserId, kind: &str) {
        if let Err(err) = self.tx.try_send((user, kind.to_owned())) {
            tracing::warn!(error = %err, "websub: too many pings waiting; this one is dropped");
        }
    }
}

struct Pinger {
    hub: Url,
    site: Site,
    store: Store,
    http: HttpClient,
    window: Duration,
    retry_delay: Duration,
}

impl Pinger {
    async fn run(self, mut rx: mpsc::Receiver<(UserId, String)>) {
        while let Some(first) = rx.recv().await {
            let mut landed = BTreeSet::from([first]);
            let deadline = Instant::now() + self.window;
            let mut open = true;
            while open {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => break,
                    next = rx.recv() => match next {
                        Some(next) => { landed.insert(next); }
                        None => open = false,
                    },
                }
            }
            let topics = match self.topics(landed).await {
                Ok(topics) => topics,
                Err(err) => {
                    tracing::warn!(error = %err, "websub: cannot list the changed feeds");
                    continue;
                }
            };
            // Retries wait in their own task, so new landings keep being gathered.
            let ping = Ping {
                hub: self.hub.clone(),
                http: self.http.clone(),
                retry_delay: self.retry_delay,
            };
            tokio::spawn(ping.send_all(topics));
            if !open {
                return;
            }
        }
    }

    /// The subscription documents whose content changed.
    async fn topics(
        &self,
        landed: BTreeSet<(UserId, String)>,
    ) -> Result<BTreeSet<String>, crate::store::StoreError> {
        let site = self.site.clone();
        self.store
            .read(move |conn| {
                let mut topics = BTreeSet::new();
                for (user_id, kind) in &landed {
                    let owner = users::get(conn, *user_id)?;
                    let mut streams = vec![(owner.name.clone(), StreamKind::User)];
                    if export::is_service_name(kind) {
                        streams.push((owner.name.clone(), StreamKind::Service(kind)));
                    }
                    for follower in social::follower_names(conn, *user_id)? {
                        streams.push((follower, StreamKind::Friends));
                    }
                    for (name, stream) in streams {
                        for format in Format::ALL {
                            topics.insert(site.url(&export::stream_path(&name, stream, format)));
                        }
                    }
                }
                Ok(topics)
            })
            .await
    }
}

struct Ping {
    hub: Url,
    http: HttpClient,
    retry_delay: Duration,
}

impl Ping {
    async fn send_all(self, topics: BTreeSet<String>) {
        let mut pending: Vec<String> = topics.into_iter().collect();
        let mut delay = self.retry_delay;
        for attempt in 1..=MAX_ATTEMPTS {
            let mut failed = Vec::new();
            for topic in pending {
                match self.send(&topic).await {
                    Ok(()) => tracing::debug!(topic = %topic, hub = %self.hub, "websub: pinged"),
                    Err(reason) => {
                        tracing::warn!(topic = %topic, hub = %self.hub, attempt, %reason,
                            "websub: ping failed");
                        failed.push(topic);
                    }
                }
            }
            if failed.is_empty() {
                return;
            }
            if attempt == MAX_ATTEMPTS {
                tracing::warn!(n_topics = failed.len(), hub = %self.hub,
                    "websub: giving up; subscribers will see the items at their next poll");
                return;
            }
            pending = failed;
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }

    async fn send(&self, topic: &str) -> Result<(), String> {
        let form = [("hub.mode", "publish"), ("hub.url", topic)];
        match self.http.post_form(&self.hub, &form).await {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(format!("the hub answered HTTP {status}")),
            Err(err) => Err(err.to_string()),
        }
    }
}
