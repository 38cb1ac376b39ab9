//! In-memory sliding-window limiters: failed logins (per account and client address, per
//! address, and a per-account backstop that slows instead of locking) and comments per
//! user. Checking and counting are one step under one lock, so a parallel burst gets at
//! most the allowance through. Counts live in memory: a restart forgets them, which is
//! acceptable. No IO.
//!
//! Hand-written rather than a crate: `governor`, the field's keyed limiter, is not in the
//! lock, and its GCRA cells are spent by every check and cannot be given back. A login
//! counts only when it fails: an attempt is counted when it is let through (so parallel
//! attempts see each other), and a right password takes its count back and clears the
//! failures of its (account, address) pair.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Keys remembered at most per window map; past this the keys idle for a whole window go.
const MAX_KEYS: usize = 10_000;
/// Failed logins one address may have over all accounts, as a multiple of
/// `auth.max_failed_logins`: a password spray from one address stops there, while people
/// behind one shared address still have room to mistype.
const ADDRESS_FACTOR: usize = 4;
/// Failed logins an account may have from all addresses in the window, as a multiple of
/// `auth.max_failed_logins`, before its logins are slowed.
const ACCOUNT_BACKSTOP_FACTOR: usize = 4;
/// A slowed account takes one login attempt per this interval, from whatever address.
/// It is never locked: the right password still gets in on its turn.
pub const SLOWED_ACCOUNT_INTERVAL: Duration = Duration::from_secs(2);

/// A client address as the limiters count it: an IPv4 address, or the /64 of an IPv6 one
/// (one host usually has a whole /64 to pick addresses from, RFC 4291 section 2.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(String);

impl ClientAddr {
    pub fn new(ip: IpAddr) -> ClientAddr {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientAddr(v4.to_string()),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                ClientAddr(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
        }
    }

    /// The address of a request: the connecting socket's, or with `behind_proxy` the
    /// last `X-Forwarded-For` entry, the one our own proxy appended. Entries before it
    /// are whatever the client wrote and count for nothing.
    pub fn of_request(headers: &HeaderMap, peer: Option<IpAddr>, behind_proxy: bool) -> ClientAddr {
        let forwarded = behind_proxy.then(|| last_forwarded_for(headers)).flatten();
        match forwarded.or(peer) {
            Some(ip) => ClientAddr::new(ip),
            None => ClientAddr("unknown".to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The last entry of the last `X-Forwarded-For` header, when it is an address (bare, or
/// with a port as some proxies write it).
fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .rfind(|entry| !entry.is_empty())?;
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// Limits failed logins. Dropping a [`LoginAttempt`] leaves it counted as a failure.
pub struct LoginLimiter {
    per_pair: usize,
    per_address: usize,
    account_backstop: usize,
    state: Mutex<LoginState>,
}

struct LoginState {
    /// Failures per (account, address).
    pairs: Windows,
    /// Failures per address, over all accounts.
    addresses: Windows,
    /// Failures per account, from all addresses.
    accounts: Windows,
    /// When a slowed account last let an attempt through.
    slowed: HashMap<String, Instant>,
}

/// A login attempt that was let through, already counted as a failure until
/// [`LoginLimiter::succeeded`] takes it back.
#[must_use = "dropping the attempt counts it as a failure; call `succeeded` on success"]
pub struct LoginAttempt {
    account: String,
    address: ClientAddr,
    at: Instant,
}

impl LoginLimiter {
    /// `max_failed` failures per (account, address) in `window`.
    pub fn new(max_failed: u32, window: Duration) -> LoginLimiter {
        let per_pair = max_failed.max(1) as usize;
        LoginLimiter {
            per_pair,
            per_address: per_pair * ADDRESS_FACTOR,
            account_backstop: per_pair * ACCOUNT_BACKSTOP_FACTOR,
            state: Mutex::new(LoginState {
                pairs: Windows::new(window),
                addresses: Windows::new(window),
                accounts: Windows::new(window),
                slowed: HashMap::new(),
            }),
        }
    }

    /// Lets one attempt at `account` from `address` through and counts it, or says how
    /// long to wait. One step under the lock: of N attempts at once, at most the
    /// allowance passes.
    pub fn begin(&self, account: &str, address: &ClientAddr) -> Result<LoginAttempt, Duration> {
        let now = Instant::now();
        let pair = pair_key(account, address);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.pairs.allows(&pair, self.per_pair, now)?;
        state
            .addresses
            .allows(address.as_str(), self.per_address, now)?;
        if state
            .accounts
            .allows(account, self.account_backstop, now)
            .is_err()
        {
            if let Some(last) = state.slowed.get(account) {
                let since = now.duration_since(*last);
                if since < SLOWED_ACCOUNT_INTERVAL {
                    return Err(SLOWED_ACCOUNT_INTERVAL - since);
                }
            }
            if state.slowed.len() >= MAX_KEYS {
                state
                    .slowed
                    .retain(|_, last| now.duration_since(*last) < SLOWED_ACCOUNT_INTERVAL);
            }
            state.slowed.insert(account.to_owned(), now);
        }
        state.pairs.add(&pair, now);
        state.addresses.add(address.as_str(), now);
        state.accounts.add(account, now);
        Ok(LoginAttempt {
            account: account.to_owned(),
            address: address.clone(),
            at: now,
        })
    }

    /// The password was right: the attempt is not a failure, and the earlier failures
    /// of its (account, address) pair are forgiven. Those of other addresses stay.
    pub fn succeeded(&self, attempt: LoginAttempt) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .pairs
            .clear(&pair_key(&attempt.account, &attempt.address));
        state
            .addresses
            .take_back(attempt.address.as_str(), attempt.at);
        state.accounts.take_back(&attempt.account, attempt.at);
    }
}

/// An address never holds a space, so the first space splits the key unambiguously.
fn pair_key(account: &str, address: &ClientAddr) -> String {
    format!("{address} {account}")
}

/// Limits uses per key (comments per user).
pub struct RateLimiter {
    max: usize,
    windows: Mutex<Windows>,
}

/// One counted use, which [`RateLimiter::refund`] can take back.
pub struct Hit {
    key: String,
    at: Instant,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            max: max.max(1) as usize,
            windows: Mutex::new(Windows::new(window)),
        }
    }

    /// Counts one use of `key`, or says how long to wait when its allowance is used up
    /// (until the oldest use leaves the window). Check and count are one step.
    pub fn try_hit(&self, key: &str) -> Result<Hit, Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.allows(key, self.max, now)?;
        windows.add(key, now);
        Ok(Hit {
            key: key.to_owned(),
            at: now,
        })
    }

    /// Takes back a use that did not happen after all (a refused form).
    pub fn refund(&self, hit: Hit) {
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_back(&hit.key, hit.at);
    }
}

/// The times of each key's uses within one window.
struct Windows {
    window: Duration,
    hits: HashMap<String, VecDeque<Instant>>,
}

impl Windows {
    fn new(window: Duration) -> Windows {
        Windows {
            window,
            hits: HashMap::new(),
        }
    }

    /// `Err(wait)` when `key` has `max` uses in the window; the wait is until the oldest
    /// one leaves it.
    fn allows(&mut self, key: &str, max: usize, now: Instant) -> Result<(), Duration> {
        let Some(times) = self.hits.get_mut(key) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= max => {
                Err(self.window.saturating_sub(now.duration_since(*oldest)))
            }
            _ => Ok(()),
        }
    }

    fn add(&mut self, key: &str, now: Instant) {
        if self.hits.len() >= MAX_KEYS && !self.hits.contains_key(key) {
            let window = self.window;
            self.hits.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        self.hits.entry(key.to_owned()).or_default().push_back(now);
    }

    fn take_back(&mut self, key: &str, at: Instant) {
        if let Some(times) = self.hits.get_mut(key) {
            if let Some(index) = times.iter().rposition(|t| *t == at) {
                times.remove(index);
            }
            if times.is_empty() {
                self.hits.remove(key);
            }
        }
    }

    fn clear(&mut self, key: &str) {
        self.hits.remove(key);
    }
}

/// "2 minutes", "40 seconds".
pub fn describe_wait(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    if secs >= 90 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{secs} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(300);

    fn addr(text: &str) -> ClientAddr {
        ClientAddr::new(text.parse().unwrap())
    }

    #[test]
    fn limits_after_max_hits_and_refunds() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let first = limiter.try_hit("a").unwrap();
        limiter.try_hit("a").unwrap();
        let wait = limiter.try_hit("a").err().unwrap();
        assert!(wait > Duration::from_secs(50));
        limiter.try_hit("b").unwrap();
        limiter.refund(first);
        limiter.try_hit("a").unwrap();
        assert!(limiter.try_hit("a").is_err());
    }

    #[test]
    fn pair_is_locked_and_other_addresses_are_not() {
        let limiter = LoginLimiter::new(3, WINDOW);
        let (a, b) = (addr("192.0.2.1"), addr("192.0.2.2"));
        for _ in 0..3 {
            drop(limiter.begin("ana", &a).unwrap());
        }
        assert!(limiter.begin("ana", &a).is_err());
        limiter.succeeded(limiter.begin("ana", &b).unwrap());
        // Address A may still try other accounts, up to its own allowance.
        drop(limiter.begin("bo", &a).unwrap());
    }

    #[test]
    fn success_forgives_its_pair() {
        let limiter = LoginLimiter::new(3, WINDOW);
        let a = addr("192.0.2.1");
        for _ in 0..2 {
            drop(limiter.begin("ana", &a).unwrap());
        }
        limiter.succeeded(limiter.begin("ana", &a).unwrap());
        for _ in 0..3 {
            drop(limiter.begin("ana", &a).unwrap());
        }
        assert!(limiter.begin("ana", &a).is_err());
    }

    #[test]
    fn one_address_spraying_accounts_is_stopped() {
        let limiter = LoginLimiter::new(3, WINDOW);
        let a = addr("192.0.2.1");
        for n in 0..3 * ADDRESS_FACTOR {
            drop(limiter.begin(&format!("user{n}"), &a).unwrap());
        }
        assert!(limiter.begin("someone-else", &a).is_err());
        drop(limiter.begin("someone-else", &addr("192.0.2.9")).unwrap());
    }

    #[test]
    fn account_past_the_backstop_is_slowed_not_locked() {
        let limiter = LoginLimiter::new(2, WINDOW);
        for n in 0..2 * ACCOUNT_BACKSTOP_FACTOR {
            drop(
                limiter
                    .begin("ana", &addr(&format!("198.51.100.{n}")))
                    .unwrap(),
            );
        }
        // Past the backstop, one attempt gets through now, the next must wait its turn.
        let owner = addr("203.0.113.7");
        limiter.succeeded(limiter.begin("ana", &owner).unwrap());
        let wait = limiter.begin("ana", &owner).err().unwrap();
        assert!(wait <= SLOWED_ACCOUNT_INTERVAL, "{wait:?}");
        assert!(limiter.begin("ana", &addr("198.51.100.200")).is_err());
        // Other accounts are not slowed.
        drop(limiter.begin("bo", &addr("198.51.100.200")).unwrap());
    }

    #[test]
    fn ipv6_counts_by_64() {
        assert_eq!(addr("2001:db8:1:2::1"), addr("2001:db8:1:2:ffff::9"));
        assert_ne!(addr("2001:db8:1:2::1"), addr("2001:db8:1:3::1"));
        assert_eq!(addr("2001:db8:1:2::1").as_str(), "2001:db8:1:2::/64");
        assert_eq!(addr("::ffff:192.0.2.1"), addr("192.0.2.1"));
    }

    #[track_caller]
    fn check_forwarded(values: &[&str], behind_proxy: bool, expected: &str) {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let peer = Some("10.0.0.1".parse().unwrap());
        assert_eq!(
            ClientAddr::of_request(&headers, peer, behind_proxy).as_str(),
            expected
        );
    }

    #[test]
    fn forwarded_for_counts_only_the_last_entry() {
        check_forwarded(&["1.1.1.1, 192.0.2.7"], true, "192.0.2.7");
        check_forwarded(&["1.1.1.1", "2.2.2.2, 192.0.2.7 "], true, "192.0.2.7");
        check_forwarded(&["192.0.2.7:4711"], true, "192.0.2.7");
        check_forwarded(&["[2001:db8::1]:4711"], true, "2001:db8:0:0::/64");
        check_forwarded(&["1.1.1.1, garbage"], true, "10.0.0.1");
        check_forwarded(&[], true, "10.0.0.1");
        check_forwarded(&["192.0.2.7"], false, "10.0.0.1");
    }
}
