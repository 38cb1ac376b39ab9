//! WebSub in (W3C WebSub, the subscriber's side): sources whose feeds name a hub get
//! their items pushed. A poll that finds `rel="hub"` offers a subscription (ingest, in the
//! poll's transaction); the worker here sends `hub.mode=subscribe` (and renews, retries,
//! unsubscribes for removed sources); `/websub/{token}` answers the hub's intent
//! verification and takes its pushes, each checked by HMAC before it is parsed, then
//! stored through ingest's one path. No SQL (that is `store/websub.rs`), no HTTP routes
//! (that is `web/pages/websub.rs`).

pub mod signature;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use connectors::SourceMeta;
use rand::RngCore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::{Config, WebSubConfig};
use crate::fetch::HttpClient;
use crate::ingest::Ingest;
use crate::model::{Source, SourceId};
use crate::store::websub::{self as rows, Offer, State, Subscription};
use crate::store::{Store, StoreError};

/// Random bytes of a callback token (hex in the URL).
const TOKEN_BYTES: usize = 24;
/// Random bytes of a subscription's secret (hex, sent as `hub.secret`).
const SECRET_BYTES: usize = 32;
/// Subscriptions handled per pass of the worker.
const BATCH: usize = 50;
/// The worker looks at the table at least this often (a source removed from the command
/// line, whose process cannot wake it, waits at most this long).
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// After a hub accepted a request, how long its verification may take before we ask again.
const VERIFY_WAIT_SECS: i64 = 600;
/// The first retry of a failed request waits this long; it doubles per failure.
const RETRY_BASE_SECS: i64 = 60;
/// The longest wait between retries.
const MAX_RETRY_SECS: i64 = 86_400;
/// Unsubscribe requests sent before the subscription is dropped anyway (its lease ends
/// on its own).
const MAX_UNSUBSCRIBE_ATTEMPTS: u32 = 5;
/// The longest lease taken from a hub, whatever it says (a year).
const MAX_LEASE_SECS: i64 = 366 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum WebSubError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up the fetcher: {0}")]
    Setup(String),
}

/// The subscriber: the worker, intent verification and pushes. Cheap to clone.
#[derive(Clone)]
pub struct Subscriber {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    http: HttpClient,
    cfg: WebSubConfig,
    base_url: String,
    /// Why new subscriptions are not made, if they are not.
    problem: Option<String>,
    /// The one writer of items; set by `serve` (shared with the sources service).
    ingest: Arc<OnceLock<Ingest>>,
    wake: Notify,
}

/// What the hub's verification GET carries (W3C WebSub sections 5.3 and 5.2).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Verification {
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.topic")]
    pub topic: Option<String>,
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
    #[serde(rename = "hub.lease_seconds")]
    pub lease_seconds: Option<String>,
    #[serde(rename = "hub.reason")]
    pub reason: Option<String>,
}

/// How a verification GET is answered.
#[derive(Debug, PartialEq)]
pub enum Verified {
    /// 200 with the challenge as the body.
    Challenge(String),
    /// 200, empty: a denial was heard.
    Heard,
    /// 404: no such subscription, or not the one the hub names.
    NotFound,
}

/// A push's body, as the route read it.
pub enum PushBody {
    Bytes(Bytes),
    /// Over `websub.max_push_bytes`.
    TooLarge,
}

/// How a push is answered.
#[derive(Debug, PartialEq)]
pub enum Pushed {
    /// 202: stored through ingest (`n_new` new items).
    Stored { n_new: usize },
    /// 410: no subscription has this callback (any more).
    Gone,
    /// 403: no signature, or a wrong one; nothing stored.
    Forbidden(String),
    /// 413: over the cap; nothing stored.
    TooLarge(String),
    /// 400: not a feed; nothing stored.
    NotAFeed(String),
    /// 500: storage failed.
    Failed,
}

impl Subscriber {
    pub fn new(
        store: Store,
        config: &Config,
        ingest: Arc<OnceLock<Ingest>>,
    ) -> Result<Subscriber, WebSubError> {
        let http =
            HttpClient::new(&config.fetch).map_err(|err| WebSubError::Setup(err.to_string()))?;
        Ok(Subscriber {
            inner: Arc::new(Inner {
                store,
                http,
                cfg: config.websub.clone(),
                base_url: config.base_url(),
                problem: config.websub_subscribe_problem(),
                ingest,
                wake: Notify::new(),
            }),
        })
    }

    /// Why polls make no new subscriptions, in words; `None` when they do.
    pub fn problem(&self) -> Option<&str> {
        self.inner.problem.as_deref()
    }

    /// The relaxed interval of a source whose items are pushed (`websub.push_poll_hours`).
    pub fn push_poll_interval(&self) -> TimeDelta {
        TimeDelta::hours(i64::try_from(self.inner.cfg.push_poll_hours).unwrap_or(i64::MAX / 4))
    }

    /// The callback URL of `token`.
    pub fn callback_url(&self, token: &str) -> String {
        format!("{}/websub/{token}", self.inner.base_url)
    }

    /// Asks the worker to look at the table now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The subscription a poll of `source` offers, when its feed names a hub and this
    /// instance subscribes: the first hub, for the feed's `rel="self"` (else the address
    /// polled), with a fresh token and secret (kept only if no subscription exists).
    pub fn offer_for(&self, source: &Source, meta: &SourceMeta) -> Option<OwnedOffer> {
        if self.inner.problem.is_some() {
            return None;
        }
        let hub = meta.hubs.first()?;
        let topic = meta
            .self_url
            .clone()
            .or_else(|| source.url().and_then(|url| Url::parse(url).ok()))?;
        Some(OwnedOffer {
            source_id: source.id,
            hub: hub.to_string(),
            topic: topic.to_string(),
            token: random_hex(TOKEN_BYTES),
            secret: random_hex(SECRET_BYTES),
        })
    }

    /// Runs the worker until `shutdown`: subscribes, renews leases before they lapse,
    /// retries with back-off, and unsubscribes removed sources.
    pub fn spawn_worker(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let subscriber = self.clone();
        tokio::spawn(async move { subscriber.run(shutdown).await })
    }

    async fn run(self, shutdown: CancellationToken) {
        if let Some(problem) = self.problem() {
            tracing::info!(%problem, "websub: no new push subscriptions");
        }
        loop {
            let sleep = match self.pass().await {
                Ok(sleep) => sleep,
                Err(err) => {
                    tracing::warn!(error = %err, "websub: the subscription worker failed a pass");
                    MAX_SLEEP
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Acts on every due subscription; returns how long to sleep.
    async fn pass(&self) -> Result<Duration, WebSubError> {
        loop {
            let now = Utc::now();
            let due = self
                .inner
                .store
                .read(move |conn| rows::due(conn, now, BATCH))
                .await?;
            let n_due = due.len();
            for sub in due {
                self.act(sub).await?;
            }
            if n_due < BATCH {
                break;
            }
        }
        let next = self.inner.store.read(rows::next_due).await?;
        Ok(next.map_or(MAX_SLEEP, |at| {
            (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP)
        }))
    }

    /// Sends the request `sub` is due for and records how it went.
    async fn act(&self, sub: Subscription) -> Result<(), WebSubError> {
        let now = Utc::now();
        let source_id = sub.source_id;
        if sub.state == State::Unsubscribing && sub.failures >= MAX_UNSUBSCRIBE_ATTEMPTS {
            tracing::info!(source_id = %source_id, hub = %sub.hub,
                "websub: the hub never confirmed the unsubscription; dropped (its lease ends)");
            self.write(move |tx| rows::delete(tx, source_id)).await?;
            return Ok(());
        }
        if sub.state != State::Unsubscribing && self.inner.problem.is_some() {
            // Subscribing was turned off: no renewal; look again in a day.
            let later = now + TimeDelta::seconds(MAX_RETRY_SECS);
            self.write(move |tx| rows::postpone(tx, source_id, later))
                .await?;
            return Ok(());
        }
        let mode = if sub.state == State::Unsubscribing {
            "unsubscribe"
        } else {
            "subscribe"
        };
        let result = self.send(&sub, mode).await;
        let failures = sub.failures.saturating_add(1);
        match result {
            Ok(()) => {
                tracing::info!(source_id = %source_id, hub = %sub.hub, mode,
                    "websub: the hub accepted the request; waiting for its verification");
                // Counted until the verification comes, so a hub that accepts and never
                // verifies is asked less and less often.
                let next = now + TimeDelta::seconds(VERIFY_WAIT_SECS.max(backoff_secs(failures)));
                let previous = sub.next_attempt_at;
                self.write(move |tx| rows::requested(tx, source_id, previous, next))
                    .await?;
            }
            Err(reason) => {
                tracing::warn!(source_id = %source_id, hub = %sub.hub, mode, %reason,
                    "websub: the request failed");
                let next = now + TimeDelta::seconds(backoff_secs(failures));
                let message = format!("{mode} request to {}: {reason}", sub.hub);
                self.write(move |tx| rows::failed(tx, source_id, &message, false, now, next))
                    .await?;
            }
        }
        Ok(())
    }

    async fn send(&self, sub: &Subscription, mode: &str) -> Result<(), String> {
        let hub = Url::parse(&sub.hub).map_err(|err| format!("the hub's URL: {err}"))?;
        let callback = self.callback_url(&sub.token);
        let lease = self.inner.cfg.lease_secs.to_string();
        let mut form = vec![
            ("hub.mode", mode),
            ("hub.topic", sub.topic.as_str()),
            ("hub.callback", callback.as_str()),
        ];
        if mode == "subscribe" {
            form.push(("hub.secret", sub.secret.as_str()));
            form.push(("hub.lease_seconds", lease.as_str()));
        }
        match self.inner.http.post_form(&hub, &form).await {
            // W3C WebSub 5.1.2: 202 Accepted (some hubs answer 204 or 200).
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(format!("the hub answered HTTP {status}")),
            Err(err) => Err(err.to_string()),
        }
    }

    /// Answers the hub's GET to `/websub/{token}`: intent verification (5.3) or a denial
    /// (5.2).
    pub async fn verify(
        &self,
        token: String,
        query: Verification,
    ) -> Result<Verified, WebSubError> {
        let now = Utc::now();
        let Some(sub) = self.subscription(token).await? else {
            return Ok(Verified::NotFound);
        };
        if query.topic.as_deref() != Some(sub.topic.as_str()) {
            return Ok(Verified::NotFound);
        }
        let source_id = sub.source_id;
        let challenge = query.challenge.filter(|c| !c.is_empty());
        match (query.mode.as_deref(), sub.state, challenge) {
            (Some("subscribe"), State::Pending | State::Active, Some(challenge)) => {
                let asked = i64::try_from(self.inner.cfg.lease_secs).unwrap_or(MAX_LEASE_SECS);
                let lease = query
                    .lease_seconds
                    .as_deref()
                    .and_then(|text| text.trim().parse::<i64>().ok())
                    .filter(|secs| *secs > 0)
                    .unwrap_or(asked)
                    .min(MAX_LEASE_SECS);
                let expires = now + TimeDelta::seconds(lease);
                let renew_at = expires - renew_margin(lease, self.inner.cfg.min_renew_secs);
                tracing::info!(source_id = %source_id, hub = %sub.hub, lease_secs = lease,
                    "websub: subscription verified");
                self.write(move |tx| rows::verified(tx, source_id, expires, renew_at))
                    .await?;
                self.wake();
                Ok(Verified::Challenge(challenge))
            }
            (Some("unsubscribe"), State::Unsubscribing, Some(challenge)) => {
                tracing::info!(source_id = %source_id, hub = %sub.hub,
                    "websub: unsubscription verified");
                self.write(move |tx| rows::delete(tx, source_id)).await?;
                Ok(Verified::Challenge(challenge))
            }
            (Some("denied"), _, _) => {
                let reason = query
                    .reason
                    .map(|reason| reason.chars().take(300).collect::<String>())
                    .unwrap_or_else(|| "no reason given".into());
                tracing::warn!(source_id = %source_id, hub = %sub.hub, %reason,
                    "websub: the hub denied the subscription");
                let message = format!("the hub {} denied the subscription: {reason}", sub.hub);
                let next = now + TimeDelta::seconds(backoff_secs(sub.failures.saturating_add(1)));
                self.write(move |tx| rows::failed(tx, source_id, &message, true, now, next))
                    .await?;
                Ok(Verified::Heard)
            }
            _ => Ok(Verified::NotFound),
        }
    }

    /// Takes a push to `/websub/{token}` (content distribution, section 7): the signature
    /// is checked before anything is parsed, then the feed goes through ingest like a
    /// poll's. Every refusal is recorded on the subscription (shown on the source page).
    pub async fn receive(
        &self,
        token: String,
        signature: Option<String>,
        body: PushBody,
    ) -> Pushed {
        match self.receive_inner(token, signature, body).await {
            Ok(pushed) => pushed,
            Err(err) => {
                tracing::warn!(error = %err, "websub: a push could not be stored");
                Pushed::Failed
            }
        }
    }

    async fn receive_inner(
        &self,
        token: String,
        signature: Option<String>,
        body: PushBody,
    ) -> Result<Pushed, WebSubError> {
        let Some(sub) = self.subscription(token).await? else {
            return Ok(Pushed::Gone);
        };
        if sub.state == State::Unsubscribing {
            return Ok(Pushed::Gone);
        }
        let source_id = sub.source_id;
        let body = match body {
            PushBody::Bytes(body) => body,
            PushBody::TooLarge => {
                let why = format!(
                    "a push over websub.max_push_bytes ({} bytes) was refused",
                    self.inner.cfg.max_push_bytes
                );
                self.refuse(source_id, &why).await?;
                return Ok(Pushed::TooLarge(why));
            }
        };
        if let Err(err) = signature::verify(signature.as_deref(), sub.secret.as_bytes(), &body) {
            let why = format!("a push was refused: {err}");
            self.refuse(source_id, &why).await?;
            return Ok(Pushed::Forbidden(why));
        }
        let Ok(topic) = Url::parse(&sub.topic) else {
            return Ok(Pushed::Gone);
        };
        let base = topic.clone();
        let parsed =
            tokio::task::spawn_blocking(move || connectors::protocol::feed::parse(&body, &base))
                .await;
        let parsed = match parsed {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(err)) => {
                let why = format!("a push that is not a feed was refused: {err}");
                self.refuse(source_id, &why).await?;
                return Ok(Pushed::NotAFeed(why));
            }
            Err(err) => {
                tracing::warn!(error = %err, "websub: the parse task stopped");
                return Ok(Pushed::Failed);
            }
        };
        let Some(ingest) = self.inner.ingest.get() else {
            tracing::warn!("websub: a push came before ingest was set up");
            return Ok(Pushed::Failed);
        };
        match ingest.ingest_push(source_id, parsed, Some(topic)).await {
            Ok(report) => {
                tracing::info!(source_id = %source_id, n_new = report.n_new,
                    n_updated = report.n_updated, "websub: push stored");
                Ok(Pushed::Stored {
                    n_new: report.n_new,
                })
            }
            Err(crate::ingest::IngestError::Store(StoreError::NotFound)) => Ok(Pushed::Gone),
            Err(err) => {
                tracing::warn!(source_id = %source_id, error = %err, "websub: push not stored");
                Ok(Pushed::Failed)
            }
        }
    }

    /// The subscription whose callback carries `token`.
    async fn subscription(&self, token: String) -> Result<Option<Subscription>, WebSubError> {
        Ok(self
            .inner
            .store
            .read(move |conn| rows::by_token(conn, &token))
            .await?)
    }

    async fn refuse(&self, source_id: SourceId, why: &str) -> Result<(), WebSubError> {
        tracing::warn!(source_id = %source_id, reason = %why, "websub: push refused");
        let why = why.to_owned();
        self.write(move |tx| rows::refused(tx, source_id, &why))
            .await
    }

    async fn write(
        &self,
        update: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), WebSubError> {
        Ok(self.inner.store.write_quiet(update).await?)
    }
}

/// [`Offer`] with owned strings, made before the poll's transaction.
#[derive(Clone, Debug)]
pub struct OwnedOffer {
    pub source_id: SourceId,
    pub hub: String,
    pub topic: String,
    pub token: String,
    pub secret: String,
}

impl OwnedOffer {
    pub fn as_offer(&self) -> Offer<'_> {
        Offer {
            source_id: self.source_id,
            hub: &self.hub,
            topic: &self.topic,
            token: &self.token,
            secret: &self.secret,
        }
    }
}

/// How long before its end a lease of `lease_secs` is renewed: a tenth of it or
/// `min_renew_secs`, whichever is more, but never more than half of it.
fn renew_margin(lease_secs: i64, min_renew_secs: u64) -> TimeDelta {
    let min_renew = i64::try_from(min_renew_secs).unwrap_or(i64::MAX);
    let margin_ms = (lease_secs * 100).max(min_renew.saturating_mul(1000));
    TimeDelta::milliseconds(margin_ms.min(lease_secs * 500))
}

/// The wait before retry number `failures` (1 for the first).
fn backoff_secs(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(20);
    RETRY_BASE_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_SECS)
}

fn random_hex(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// When a source whose items are pushed is next polled: no sooner than the relaxed
/// interval after `fetched_at`.
pub fn relaxed(
    next_poll_at: DateTime<Utc>,
    fetched_at: DateTime<Utc>,
    interval: TimeDelta,
) -> DateTime<Utc> {
    next_poll_at.max(fetched_at + interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_renewed_a_tenth_or_min_renew_before_their_end() {
        assert_eq!(renew_margin(864_000, 3600), TimeDelta::seconds(86_400));
        assert_eq!(renew_margin(10_000, 3600), TimeDelta::seconds(3600));
        assert_eq!(renew_margin(3, 1), TimeDelta::seconds(1));
        // Never more than half the lease, so a short lease is still used.
        assert_eq!(renew_margin(60, 3600), TimeDelta::seconds(30));
    }

    #[test]
    fn retries_back_off_to_a_day() {
        assert_eq!(backoff_secs(1), 60);
        assert_eq!(backoff_secs(2), 120);
        assert_eq!(backoff_secs(40), MAX_RETRY_SECS);
    }

    #[test]
    fn secrets_are_long_random_hex() {
        let secret = random_hex(SECRET_BYTES);
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(secret, random_hex(SECRET_BYTES));
    }
}
