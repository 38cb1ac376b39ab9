//! The `websub_subscriptions` table (migration 0018): a source's push subscription to the
//! hub its feed names, its callback token and secret, its state and lease, and how the
//! last request or push went. SQL only; `websub_in.rs` decides what to send and when.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::SourceId;

/// Where a subscription stands (W3C WebSub sections 5.1 and 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Wanted: a subscribe request is due or sent, its verification not yet heard.
    Pending,
    /// The hub verified it; pushes come until the lease ends (renewed before).
    Active,
    /// The source was removed: an unsubscribe request is due or sent.
    Unsubscribing,
}

impl State {
    /// The word stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Unsubscribing => "unsubscribing",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "active" => State::Active,
            "unsubscribing" => State::Unsubscribing,
            _ => State::Pending,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub source_id: SourceId,
    pub hub: String,
    pub topic: String,
    pub token: String,
    pub secret: String,
    pub state: State,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failures: u32,
    pub next_attempt_at: DateTime<Utc>,
}

impl Subscription {
    /// Pushes are taken: the hub verified the subscription and its lease has not ended.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.state == State::Active && self.lease_expires_at.is_some_and(|at| at > now)
    }
}

const COLUMNS: &str = "source_id, hub, topic, token, secret, state, lease_expires_at,
    last_push_at, last_error, failures, next_attempt_at";

/// What a new subscription starts with.
pub struct Offer<'a> {
    pub source_id: SourceId,
    pub hub: &'a str,
    pub topic: &'a str,
    pub token: &'a str,
    pub secret: &'a str,
}

/// A poll found that the source's feed names `offer.hub` for `offer.topic`. Makes a
/// pending subscription when the source has none, or starts over (pending, due now) when
/// the hub or topic changed; otherwise changes nothing. True when the worker has work.
pub fn offer(
    tx: &Transaction<'_>,
    offer: &Offer<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n_inserted = tx
        .prepare_cached(
            "INSERT INTO websub_subscriptions
                 (source_id, hub, topic, token, secret, state, next_attempt_at, created_at)
             VALUES (:source, :hub, :topic, :token, :secret, 'pending', :now, :now)
             ON CONFLICT (source_id) DO NOTHING",
        )?
        .execute(named_params! {
            ":source": offer.source_id.0,
            ":hub": offer.hub,
            ":topic": offer.topic,
            ":token": offer.token,
            ":secret": offer.secret,
            ":now": to_ms(now),
        })?;
    if n_inserted > 0 {
        return Ok(true);
    }
    let n_changed = tx
        .prepare_cached(
            "UPDATE websub_subscriptions
             SET hub = :hub, topic = :topic, state = 'pending', lease_expires_at = NULL,
                 failures = 0, last_error = NULL, next_attempt_at = :now
             WHERE source_id = :source AND state != 'unsubscribing'
               AND (hub != :hub OR topic != :topic)",
        )?
        .execute(named_params! {
            ":source": offer.source_id.0,
            ":hub": offer.hub,
            ":topic": offer.topic,
            ":now": to_ms(now),
        })?;
    Ok(n_changed > 0)
}

pub fn get(conn: &Connection, source_id: SourceId) -> Result<Option<Subscription>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM websub_subscriptions WHERE source_id = :source"
        ))?
        .query_row(named_params! { ":source": source_id.0 }, from_row)
        .optional()?)
}

/// The subscription whose callback is `/websub/{token}`.
pub fn by_token(conn: &Connection, token: &str) -> Result<Option<Subscription>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM websub_subscriptions WHERE token = :token"
        ))?
        .query_row(named_params! { ":token": token }, from_row)
        .optional()?)
}

/// Subscriptions the worker must act on now, the longest waiting first.
pub fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Subscription>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM websub_subscriptions
         WHERE next_attempt_at <= :now ORDER BY next_attempt_at LIMIT :limit"
    ))?;
    let rows = statement.query_map(
        named_params! { ":now": to_ms(now), ":limit": limit as i64 },
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The earliest next attempt of any subscription.
pub fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let ms: Option<i64> = conn
        .prepare_cached("SELECT min(next_attempt_at) FROM websub_subscriptions")?
        .query_row([], |row| row.get(0))?;
    Ok(ms.map(from_ms))
}

/// Whether the source's items are pushed now (for the relaxed safety-net poll).
pub fn is_active(
    conn: &Connection,
    source_id: SourceId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(get(conn, source_id)?.is_some_and(|sub| sub.is_active(now)))
}

/// The hub accepted a request: the attempt is counted (until the verification resets it)
/// and, if the verification does not come, the worker asks again at `next_attempt_at`.
/// Nothing changes when the row moved on since the worker read it at `previous` (a hub
/// that verifies before it answers).
pub fn requested(
    tx: &Transaction<'_>,
    source_id: SourceId,
    previous: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE websub_subscriptions SET next_attempt_at = :next, failures = failures + 1
         WHERE source_id = :source AND next_attempt_at = :previous",
    )?
    .execute(named_params! {
        ":source": source_id.0,
        ":previous": to_ms(previous),
        ":next": to_ms(next_attempt_at),
    })?;
    Ok(())
}

/// Nothing is sent now; the worker looks again at `next_attempt_at`.
pub fn postpone(
    tx: &Transaction<'_>,
    source_id: SourceId,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE websub_subscriptions SET next_attempt_at = :next WHERE source_id = :source",
    )?
    .execute(named_params! { ":source": source_id.0, ":next": to_ms(next_attempt_at) })?;
    Ok(())
}

/// A request failed, or the hub denied the subscription (`state` then goes back to
/// pending): the error in words and the next attempt. When pushes no longer come (a
/// denial, or a lease that ended), the source's relaxed poll is brought forward to `now`.
pub fn failed(
    tx: &Transaction<'_>,
    source_id: SourceId,
    error: &str,
    denied: bool,
    now: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE sources SET next_poll_at = min(next_poll_at, :now)
         WHERE id = :source AND deleted_at IS NULL AND EXISTS (
             SELECT 1 FROM websub_subscriptions w
             WHERE w.source_id = :source
               AND w.lease_expires_at IS NOT NULL
               AND (:denied OR w.lease_expires_at <= :now))",
    )?
    .execute(named_params! { ":source": source_id.0, ":denied": denied, ":now": to_ms(now) })?;
    tx.prepare_cached(
        "UPDATE websub_subscriptions
         SET last_error = :error, failures = failures + 1, next_attempt_at = :next,
             state = CASE WHEN :denied AND state != 'unsubscribing' THEN 'pending' ELSE state END,
             lease_expires_at = CASE WHEN :denied OR lease_expires_at <= :now THEN NULL
                                     ELSE lease_expires_at END
         WHERE source_id = :source",
    )?
    .execute(named_params! {
        ":source": source_id.0,
        ":error": error,
        ":denied": denied,
        ":now": to_ms(now),
        ":next": to_ms(next_attempt_at),
    })?;
    Ok(())
}

/// The hub verified the subscription: active until `lease_expires_at`, renewed at
/// `renew_at`.
pub fn verified(
    tx: &Transaction<'_>,
    source_id: SourceId,
    lease_expires_at: DateTime<Utc>,
    renew_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE websub_subscriptions
         SET state = 'active', lease_expires_at = :lease, next_attempt_at = :renew,
             failures = 0, last_error = NULL
         WHERE source_id = :source AND state != 'unsubscribing'",
    )?
    .execute(named_params! {
        ":source": source_id.0,
        ":lease": to_ms(lease_expires_at),
        ":renew": to_ms(renew_at),
    })?;
    Ok(())
}

/// A push was stored.
pub fn pushed(
    tx: &Transaction<'_>,
    source_id: SourceId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE websub_subscriptions SET last_push_at = :now WHERE source_id = :source",
    )?
    .execute(named_params! { ":source": source_id.0, ":now": to_ms(now) })?;
    Ok(())
}

/// A push was refused (bad signature, too large, not a feed): why, for the source page.
pub fn refused(tx: &Transaction<'_>, source_id: SourceId, error: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE websub_subscriptions SET last_error = :error WHERE source_id = :source",
    )?
    .execute(named_params! { ":source": source_id.0, ":error": error })?;
    Ok(())
}

/// The source was removed: the worker sends `hub.mode=unsubscribe` now.
pub fn begin_unsubscribe(
    tx: &Transaction<'_>,
    source_id: SourceId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE websub_subscriptions
         SET state = 'unsubscribing', failures = 0, next_attempt_at = :now
         WHERE source_id = :source",
    )?
    .execute(named_params! { ":source": source_id.0, ":now": to_ms(now) })?;
    Ok(())
}

/// The subscription is over (unsubscribed, or given up): its callback answers 410.
pub fn delete(tx: &Transaction<'_>, source_id: SourceId) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM websub_subscriptions WHERE source_id = :source")?
        .execute(named_params! { ":source": source_id.0 })?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Subscription> {
    let state: String = row.get(5)?;
    Ok(Subscription {
        source_id: SourceId(row.get(0)?),
        hub: row.get(1)?,
        topic: row.get(2)?,
        token: row.get(3)?,
        secret: row.get(4)?,
        state: State::parse(&state),
        lease_expires_at: row.get::<_, Option<i64>>(6)?.map(from_ms),
        last_push_at: row.get::<_, Option<i64>>(7)?.map(from_ms),
        last_error: row.get(8)?,
        failures: row.get::<_, i64>(9)?.clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: from_ms(row.get(10)?),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::store::sources;
    use crate::store::tests::{temp_store, user_with_feed};

    fn offer_of(source_id: SourceId, hub: &'static str, token: &'static str) -> Offer<'static> {
        Offer {
            source_id,
            hub,
            topic: "https://blog.example/feed",
            token,
            secret: "00",
        }
    }

    #[test]
    fn offering_the_same_hub_again_keeps_the_subscription_and_another_hub_starts_over() {
        let (_dir, store) = temp_store();
        let (_, source) = user_with_feed(&store, "ana");
        let now = Utc::now();
        let hub = "https://hub.example/";
        store
            .write_blocking(|tx| {
                assert!(offer(tx, &offer_of(source, hub, "t1"), now)?);
                verified(
                    tx,
                    source,
                    now + TimeDelta::days(1),
                    now + TimeDelta::hours(20),
                )?;
                assert!(!offer(tx, &offer_of(source, hub, "t2"), now)?);
                Ok(())
            })
            .unwrap();
        let sub = store
            .read_blocking(|conn| get(conn, source))
            .unwrap()
            .unwrap();
        assert_eq!((sub.state, sub.token.as_str()), (State::Active, "t1"));
        store
            .write_blocking(|tx| offer(tx, &offer_of(source, "https://other.example/", "t3"), now))
            .unwrap();
        let sub = store
            .read_blocking(|conn| get(conn, source))
            .unwrap()
            .unwrap();
        assert_eq!((sub.state, sub.token.as_str()), (State::Pending, "t1"));
        assert_eq!(sub.lease_expires_at, None);
    }

    #[test]
    fn a_lapsed_lease_brings_the_relaxed_poll_forward() {
        let (_dir, store) = temp_store();
        let (_, source) = user_with_feed(&store, "ana");
        let now = Utc::now();
        let later = now + TimeDelta::hours(6);
        store
            .write_blocking(|tx| {
                offer(tx, &offer_of(source, "https://hub.example/", "t1"), now)?;
                verified(tx, source, now - TimeDelta::seconds(1), now)?;
                sources::poll_now(tx, source, later)?;
                failed(tx, source, "the hub answered HTTP 500", false, now, now)
            })
            .unwrap();
        let polled_at = store
            .read_blocking(|conn| sources::get(conn, source))
            .unwrap()
            .next_poll_at;
        assert!(polled_at <= now + TimeDelta::seconds(1), "{polled_at}");
        let sub = store
            .read_blocking(|conn| get(conn, source))
            .unwrap()
            .unwrap();
        assert_eq!(sub.lease_expires_at, None);
        assert_eq!(sub.failures, 1);
    }
}
