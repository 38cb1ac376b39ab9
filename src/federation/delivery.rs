//! The delivery queue's worker: claims due deliveries (one row per target inbox, a
//! shared inbox standing for all its followers), signs each with its user's key at every
//! try, POSTs it through the fetcher, and records the outcome. Failures are tried again
//! with exponential back-off and jitter, later when the server's Retry-After says so,
//! until `federation.delivery_give_up_hours`; a 4xx other than 401, 408 and 429 drops the
//! delivery at once. A claim is a lease: a process that dies mid-try leaves its claims to
//! run out, so a restart loses no delivery.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Federation;
use super::signature::{Scheme, sign_post};
use crate::store::federation::{self as db, Delivery};

/// How long a claimed delivery stays ours before another worker may take it.
const LEASE: TimeDelta = TimeDelta::minutes(10);
/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(30);
const MAX_BACKOFF: TimeDelta = TimeDelta::hours(6);
/// How long the inbox remembers activity ids (a replay older than 12 hours fails its
/// Date check anyway), and how often it forgets older ones.
const SEEN_KEPT: TimeDelta = TimeDelta::days(2);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The longest the worker sleeps without looking at the queue.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// What one try came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tried {
    Delivered(u16),
    /// Try again, not before the time given (a Retry-After), else after the back-off.
    Retry {
        error: String,
        not_before: Option<DateTime<Utc>>,
    },
    /// The server refused it for good (a 4xx), or it can never be sent.
    Drop(String),
}

/// Classifies an inbox's answer.
pub fn classify(status: u16, retry_after: Option<DateTime<Utc>>) -> Tried {
    match status {
        200..=299 => Tried::Delivered(status),
        401 | 408 | 429 => Tried::Retry {
            error: format!("the inbox answered {status}"),
            not_before: retry_after,
        },
        400..=499 => Tried::Drop(format!("the inbox refused it with {status}")),
        _ => Tried::Retry {
            error: format!("the inbox answered {status}"),
            not_before: retry_after,
        },
    }
}

/// The wait before try number `tries + 1`: 30 s doubling to 6 h, with up to a fifth more
/// or less as jitter (from the delivery's id, so a burst of failures spreads out).
pub fn backoff(tries: u32, seed: i64) -> TimeDelta {
    let doublings = tries.min(20);
    let base = FIRST_BACKOFF
        .checked_mul(1 << doublings.min(16))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    // A fixed mix of the seed and the try: -20 % … +20 %.
    let mix = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as i64) ^ i64::from(tries))
        .rem_euclid(41)
        - 20;
    base + base * (mix as i32) / 100
}

impl Federation {
    /// Runs the outbox fan-out and the delivery queue until `shutdown`.
    pub fn spawn_worker(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let federation = self.clone();
        tokio::spawn(async move { federation.run_worker(shutdown).await })
    }

    async fn run_worker(self, shutdown: CancellationToken) {
        let concurrency = self.inner.config.federation.delivery_concurrency.max(1);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            if let Err(err) = self.fan_out().await {
                tracing::warn!(error = %err, "federation: the outbox fan-out failed");
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(std::time::Instant::now());
                let before = Utc::now() - SEEN_KEPT;
                if let Err(err) = self
                    .inner
                    .store
                    .write_quiet(move |tx| db::prune_seen(tx, before))
                    .await
                {
                    tracing::warn!(error = %err, "federation: cannot prune the replay guard");
                }
            }
            let free = concurrency.saturating_sub(running.len());
            let claimed = if free > 0 {
                let now = Utc::now();
                match self
                    .inner
                    .store
                    .write_quiet(move |tx| db::claim_deliveries(tx, free, LEASE, now))
                    .await
                {
                    Ok(claimed) => claimed,
                    Err(err) => {
                        tracing::warn!(error = %err, "federation: cannot claim deliveries");
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            let n_claimed = claimed.len();
            for delivery in claimed {
                let federation = self.clone();
                running.spawn(async move { federation.deliver_one(delivery).await });
            }
            if n_claimed > 0 && n_claimed == free {
                // Maybe more are due: claim again once a slot frees up.
                tokio::select! {
                    _ = running.join_next() => {}
                    _ = shutdown.cancelled() => break,
                }
                continue;
            }
            let sleep = self.next_wake().await;
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        // Tries under way finish (each within the fetch deadline); the rest wait in the
        // queue for the next start.
        while running.join_next().await.is_some() {}
    }

    /// How long until the next delivery is due (at most a minute).
    async fn next_wake(&self) -> Duration {
        match self.inner.store.read(db::next_delivery_at).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP)
                .max(Duration::from_millis(10)),
            _ => MAX_SLEEP,
        }
    }

    /// Wakes the worker: something was queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// One try of one delivery, and its outcome stored.
    async fn deliver_one(&self, delivery: Delivery) {
        let tried = self.try_delivery(&delivery).await;
        let now = Utc::now();
        let cfg = &self.inner.config.federation;
        let give_up_at = delivery.created_at + TimeDelta::hours(cfg.delivery_give_up_hours as i64);
        let dead_after = TimeDelta::days(cfg.dead_host_days as i64);
        let (id, host) = (delivery.id, delivery.host.clone());
        let outcome = match &tried {
            Tried::Delivered(status) => {
                tracing::debug!(inbox = %delivery.inbox, status, "federation: delivered");
                Outcome::Finish(true)
            }
            Tried::Drop(reason) => {
                tracing::info!(inbox = %delivery.inbox, reason = %reason, "federation: delivery dropped");
                Outcome::Finish(false)
            }
            Tried::Retry { error, not_before } => {
                let wait = backoff(delivery.tries, delivery.id.0);
                let next = not_before.map_or(now + wait, |at| at.max(now + TimeDelta::seconds(1)));
                let dead = self
                    .inner
                    .store
                    .read({
                        let host = host.clone();
                        move |conn| db::host_dead(conn, &host, now - dead_after)
                    })
                    .await
                    .unwrap_or(false);
                if next > give_up_at || dead {
                    tracing::info!(
                        inbox = %delivery.inbox,
                        tries = delivery.tries + 1,
                        error = %error,
                        "federation: delivery given up"
                    );
                    Outcome::GiveUp(error.clone())
                } else {
                    tracing::debug!(inbox = %delivery.inbox, error = %error, next = %next, "federation: delivery will be tried again");
                    Outcome::Retry(next, error.clone())
                }
            }
        };
        let written = self
            .inner
            .store
            .write_quiet(move |tx| match outcome {
                Outcome::Finish(delivered) => db::finish_delivery(tx, id, &host, delivered),
                Outcome::Retry(next, error) => db::retry_delivery(tx, id, &host, next, &error, now),
                Outcome::GiveUp(error) => {
                    // The failure still counts towards the host's run of failures.
                    db::retry_delivery(tx, id, &host, now, &error, now)?;
                    db::finish_delivery(tx, id, &host, false)
                }
            })
            .await;
        if let Err(err) = written {
            // The lease runs out and the delivery is tried again: at least once, never lost.
            tracing::warn!(error = %err, "federation: cannot record a delivery");
        }
    }

    async fn try_delivery(&self, delivery: &Delivery) -> Tried {
        let Ok(url) = Url::parse(&delivery.inbox) else {
            return Tried::Drop(format!("`{}` is not a URL", delivery.inbox));
        };
        let key = match self.user_key(delivery.user).await {
            Ok(key) => key,
            Err(err) => {
                return Tried::Retry {
                    error: err.to_string(),
                    not_before: None,
                };
            }
        };
        let key_id = super::key_id(&self.base_url(), &delivery.user_name);
        let body = Bytes::from(delivery.body.clone());
        let scheme = self.scheme();
        let headers = match sign_post(
            &key.pair,
            &key_id,
            &url,
            &body,
            scheme,
            std::time::SystemTime::now(),
        ) {
            Ok(headers) => headers,
            Err(err) => return Tried::Drop(format!("cannot sign: {err}")),
        };
        match self.inner.http.post_signed(&url, body, headers).await {
            Ok(reply) => classify(reply.status, reply.retry_after),
            Err(connectors::FetchError::Forbidden(reason)) => {
                Tried::Drop(format!("forbidden address: {reason}"))
            }
            Err(connectors::FetchError::BadUrl(reason)) => Tried::Drop(reason),
            Err(err) => Tried::Retry {
                error: err.to_string(),
                not_before: None,
            },
        }
    }

    /// The signature scheme deliveries use (`federation.signature`).
    pub fn scheme(&self) -> Scheme {
        if self.inner.config.federation.signature == "rfc9421" {
            Scheme::Rfc9421
        } else {
            Scheme::Cavage
        }
    }
}

enum Outcome {
    Finish(bool),
    Retry(DateTime<Utc>, String),
    GiveUp(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify(202, None), Tried::Delivered(202));
        assert!(matches!(classify(503, None), Tried::Retry { .. }));
        assert!(matches!(classify(429, None), Tried::Retry { .. }));
        assert!(matches!(classify(401, None), Tried::Retry { .. }));
        assert!(matches!(classify(410, None), Tried::Drop(_)));
        assert!(matches!(classify(400, None), Tried::Drop(_)));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for seed in 0..50 {
            let first = backoff(0, seed);
            assert!(
                first >= TimeDelta::seconds(24) && first <= TimeDelta::seconds(36),
                "{first}"
            );
            let fifth = backoff(4, seed);
            assert!(
                fifth >= TimeDelta::seconds(384) && fifth <= TimeDelta::seconds(576),
                "{fifth}"
            );
            assert!(backoff(40, seed) <= MAX_BACKOFF + MAX_BACKOFF / 5);
        }
        // About two days of tries before giving up at 48 h.
        let total: TimeDelta = (0..17).map(|t| backoff(t, 7)).sum();
        assert!(total > TimeDelta::hours(40), "{total}");
    }
}
