//! Poll timing, pure: cron parsing (5-field crontab accepted) and the next poll time from
//! the schedule, the origin's hints, failures and jitter. No IO, no clock of its own.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::config::SchedulerConfig;
use crate::model::SourceId;

/// Longest text accepted as a schedule.
const MAX_SCHEDULE_CHARS: usize = 200;

/// Parses a cron schedule and returns its normalized 6-field text.
///
/// The `cron` crate wants a seconds field first; people write 5-field crontab, so five
/// fields get a leading `0`. Shortcuts such as `@hourly` pass through.
pub fn parse_schedule(expr: &str) -> Result<String, String> {
    let expr = expr.split_whitespace().collect::<Vec<_>>().join(" ");
    if expr.is_empty() {
        return Err("the schedule is empty; write it as in crontab, e.g. `*/30 * * * *`".into());
    }
    if expr.chars().count() > MAX_SCHEDULE_CHARS {
        return Err("the schedule is too long".into());
    }
    let normalized = if expr.starts_with('@') {
        expr.clone()
    } else {
        match expr.split(' ').count() {
            5 => format!("0 {expr}"),
            6 | 7 => expr.clone(),
            n => {
                return Err(format!(
                    "`{expr}` has {n} fields; write 5 as in crontab (minute hour day month weekday), e.g. `*/30 * * * *`"
                ));
            }
        }
    };
    let schedule = cron::Schedule::from_str(&normalized)
        .map_err(|err| format!("`{expr}` is not a valid cron schedule: {err}"))?;
    if schedule.upcoming(Utc).next().is_none() {
        return Err(format!("`{expr}` never fires"));
    }
    Ok(normalized)
}

/// The parsed form of a normalized schedule (as stored).
pub fn compile(normalized: &str) -> Result<cron::Schedule, String> {
    cron::Schedule::from_str(normalized).map_err(|err| format!("bad stored schedule: {err}"))
}

/// What happened in the poll whose successor we are timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The poll worked (or the origin said 304).
    Success,
    /// The poll failed; `failures` counts consecutive failures including this one.
    Failure { failures: u32 },
}

/// When to poll a source next.
///
/// After a success: the next cron time after `now`, shifted by the source's stable jitter,
/// but never sooner than `min_interval_secs` and never sooner than the origin asked for
/// (Retry-After, Cache-Control max-age, Expires, RSS ttl — capped at `max_hint_secs`).
/// After a failure: `min_interval · 2^(failures-1)` up to `max_backoff_secs`, plus jitter,
/// and never sooner than the origin asked for. Never "never": a failing source is tried
/// again at the latest after `max_backoff_secs` plus jitter.
pub fn next_poll_at(
    schedule: &cron::Schedule,
    now: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    outcome: Outcome,
    source: SourceId,
    cfg: &SchedulerConfig,
) -> DateTime<Utc> {
    let jitter = jitter(source, cfg.jitter_secs);
    let min_interval = Duration::seconds(clamp_secs(cfg.min_interval_secs));
    let planned = match outcome {
        Outcome::Success => {
            let by_cron = schedule
                .after(&now)
                .next()
                .unwrap_or(now + Duration::seconds(clamp_secs(cfg.max_backoff_secs)));
            (by_cron + jitter).max(now + min_interval)
        }
        Outcome::Failure { failures } => {
            let exponent = failures.saturating_sub(1).min(30);
            let backoff_secs = cfg
                .min_interval_secs
                .saturating_mul(1u64 << exponent)
                .min(cfg.max_backoff_secs);
            now + Duration::seconds(clamp_secs(backoff_secs)) + jitter
        }
    };
    let max_hint = now + Duration::seconds(clamp_secs(cfg.max_hint_secs));
    match not_before {
        Some(hint) => planned.max(hint.min(max_hint)),
        None => planned,
    }
}

/// A delay in `[0, max_secs]` that is the same for a source every time, so that sources on
/// one schedule spread out but each keeps a steady rhythm.
pub fn jitter(source: SourceId, max_secs: u64) -> Duration {
    if max_secs == 0 {
        return Duration::zero();
    }
    let digest = Sha256::digest(source.0.to_le_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let secs = u64::from_le_bytes(first) % (max_secs + 1);
    Duration::seconds(clamp_secs(secs))
}

fn clamp_secs(secs: u64) -> i64 {
    // Ten years is more than any schedule needs and keeps chrono far from overflow.
    const MAX_SECS: u64 = 10 * 365 * 86_400;
    secs.min(MAX_SECS) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(parse_schedule(input).unwrap(), expected);
    }

    #[track_caller]
    fn check_err(input: &str, needle: &str) {
        let err = parse_schedule(input).unwrap_err();
        assert!(err.contains(needle), "{err}");
    }

    #[test]
    fn five_fields_get_seconds() {
        check("*/15 * * * *", "0 */15 * * * *")
    }
    #[test]
    fn six_fields_pass() {
        check("0 0 * * * *", "0 0 * * * *")
    }
    #[test]
    fn whitespace_is_folded() {
        check("  */5   *  * * * ", "0 */5 * * * *")
    }
    #[test]
    fn shortcut_passes() {
        check("@hourly", "@hourly")
    }
    #[test]
    fn garbage_is_refused_readably() {
        check_err("every tuesday", "has 2 fields")
    }
    #[test]
    fn bad_field_is_refused() {
        check_err("99 * * * *", "not a valid cron schedule")
    }
    #[test]
    fn empty_is_refused() {
        check_err("   ", "empty")
    }

    fn cfg() -> SchedulerConfig {
        SchedulerConfig {
            jitter_secs: 0,
            ..SchedulerConfig::default()
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, m, 0).unwrap()
    }

    #[test]
    fn success_follows_cron() {
        let schedule = compile(&parse_schedule("*/30 * * * *").unwrap()).unwrap();
        let next = next_poll_at(
            &schedule,
            at(10, 1),
            None,
            Outcome::Success,
            SourceId(1),
            &cfg(),
        );
        assert_eq!(next, at(10, 30));
    }

    #[test]
    fn min_interval_wins_over_frequent_cron() {
        let schedule = compile(&parse_schedule("* * * * *").unwrap()).unwrap();
        let next = next_poll_at(
            &schedule,
            at(10, 0),
            None,
            Outcome::Success,
            SourceId(1),
            &cfg(),
        );
        assert_eq!(next, at(10, 5));
    }

    #[test]
    fn hint_postpones() {
        let schedule = compile(&parse_schedule("*/30 * * * *").unwrap()).unwrap();
        let next = next_poll_at(
            &schedule,
            at(10, 1),
            Some(at(12, 0)),
            Outcome::Success,
            SourceId(1),
            &cfg(),
        );
        assert_eq!(next, at(12, 0));
    }

    #[test]
    fn hint_is_capped() {
        let schedule = compile(&parse_schedule("*/30 * * * *").unwrap()).unwrap();
        let far = at(10, 0) + Duration::days(30);
        let next = next_poll_at(
            &schedule,
            at(10, 0),
            Some(far),
            Outcome::Success,
            SourceId(1),
            &cfg(),
        );
        assert_eq!(next, at(10, 0) + Duration::days(1));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_max() {
        let schedule = compile(&parse_schedule("*/30 * * * *").unwrap()).unwrap();
        let wait = |failures| {
            next_poll_at(
                &schedule,
                at(0, 0),
                None,
                Outcome::Failure { failures },
                SourceId(1),
                &cfg(),
            ) - at(0, 0)
        };
        assert_eq!(wait(1), Duration::seconds(300));
        assert_eq!(wait(2), Duration::seconds(600));
        assert_eq!(wait(3), Duration::seconds(1200));
        assert_eq!(wait(40), Duration::seconds(86_400));
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        for id in 0..200 {
            let a = jitter(SourceId(id), 120);
            assert_eq!(a, jitter(SourceId(id), 120));
            assert!(a >= Duration::zero() && a <= Duration::seconds(120));
        }
        assert_ne!(jitter(SourceId(1), 120), jitter(SourceId(2), 120));
    }
}
