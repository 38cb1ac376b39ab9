//! A small in-memory sliding-window limiter for logins and comments, keyed by client
//! address or user. Counts live in memory: a restart forgets them, which is acceptable.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys remembered at most; past this the oldest-idle keys are dropped.
const MAX_KEYS: usize = 10_000;

pub struct RateLimiter {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            max: max.max(1) as usize,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when `key` used up its allowance; the wait is until the oldest hit
    /// leaves the window.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = hits.get_mut(key) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        Ok(())
    }

    /// Counts one use (a failed login, a comment).
    pub fn hit(&self, key: &str) {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() >= MAX_KEYS && !hits.contains_key(key) {
            let window = self.window;
            hits.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        hits.entry(key.to_owned()).or_default().push_back(now);
    }

    pub fn reset(&self, key: &str) {
        self.hits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
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

    #[test]
    fn limits_after_max_hits() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        limiter.check("a").unwrap();
        limiter.hit("a");
        limiter.hit("a");
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::from_secs(50));
        limiter.check("b").unwrap();
        limiter.reset("a");
        limiter.check("a").unwrap();
    }
}
