//! Reads the response headers that say when to ask again (Retry-After, Cache-Control,
//! Expires, Date) into a `PollHint`. Pure: no IO, no clock of its own (`now` is passed in).

use chrono::{DateTime, TimeDelta, Utc};
use connectors::PollHint;

/// Longest wait a server may ask for with Retry-After; anything longer is capped (the
/// scheduler caps again with `scheduler.max_hint_secs`).
pub const MAX_RETRY_AFTER_SECS: i64 = 7 * 86_400;
/// Longest freshness lifetime taken from max-age or Expires.
pub const MAX_CACHE_SECS: i64 = 7 * 86_400;

/// When a 429 or 503 says to try again, from `Retry-After` (RFC 9110 §10.2.3): either
/// delta-seconds or an HTTP-date. `None` for unparseable values and dates not in the
/// future; values past [`MAX_RETRY_AFTER_SECS`] are capped.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: delta-seconds, possibly too long for any integer type.
        let secs = value
            .parse::<i64>()
            .unwrap_or(MAX_RETRY_AFTER_SECS)
            .min(MAX_RETRY_AFTER_SECS);
        if secs == 0 {
            return None;
        }
        return Some(now + TimeDelta::seconds(secs));
    }
    let at = parse_http_date(value)?;
    if at <= now {
        return None;
    }
    Some(at.min(now + TimeDelta::seconds(MAX_RETRY_AFTER_SECS)))
}

/// When the response stops being fresh (RFC 9111 §4.2.1): `max-age` from Cache-Control,
/// else `Expires` measured against the server's `Date` (so a server with a wrong clock
/// still gets the lifetime it meant). `no-cache` and `no-store` mean no hint; a lifetime
/// of zero, an invalid Expires or one in the past also mean none.
pub fn cache_hint(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut max_age = None;
    for directive in cache_control.unwrap_or("").split(',') {
        let (name, argument) = match directive.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return None;
        }
        if name.eq_ignore_ascii_case("max-age") {
            // RFC 9111 §1.2.2: a delta-seconds too large for us is as good as the cap.
            max_age = argument
                .filter(|arg| !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()))
                .map(|arg| arg.parse::<i64>().unwrap_or(MAX_CACHE_SECS));
        }
    }
    // RFC 9111 §5.3: with max-age present, Expires is ignored.
    let lifetime_secs = match max_age {
        Some(secs) => secs,
        None => {
            let expires = parse_http_date(expires?)?;
            let reference = date.and_then(parse_http_date).unwrap_or(now);
            (expires - reference).num_seconds()
        }
    };
    if lifetime_secs <= 0 {
        return None;
    }
    Some(now + TimeDelta::seconds(lifetime_secs.min(MAX_CACHE_SECS)))
}

/// The hint of one response: its freshness lifetime, and for 429 Too Many Requests and
/// 503 Service Unavailable also Retry-After, whichever is later. Header names are
/// compared case-insensitively; the first occurrence of each counts.
pub fn hint_for(status: u16, headers: &[(String, String)], now: DateTime<Utc>) -> PollHint {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let cache = PollHint {
        not_before: cache_hint(
            header("cache-control"),
            header("expires"),
            header("date"),
            now,
        ),
    };
    // RFC 9110 §10.2.3 also allows Retry-After on 3xx, but there it delays following the
    // redirect, which the fetcher has already done.
    let retry = match status {
        429 | 503 => PollHint {
            not_before: header("retry-after").and_then(|value| parse_retry_after(value, now)),
        },
        _ => PollHint::default(),
    };
    cache.max(retry)
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) with the `httpdate` crate: the preferred
/// IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must still accept.
pub fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(value.trim())
        .ok()
        .map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .expect("fixed test instant")
            .with_timezone(&Utc)
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    #[track_caller]
    fn check_retry(value: &str, expected: Option<&str>) {
        assert_eq!(parse_retry_after(value, now()), expected.map(at), "{value}");
    }

    #[track_caller]
    fn check_cache(
        cache_control: Option<&str>,
        expires: Option<&str>,
        date: Option<&str>,
        expected: Option<&str>,
    ) {
        assert_eq!(
            cache_hint(cache_control, expires, date, now()),
            expected.map(at),
            "{cache_control:?} {expires:?} {date:?}"
        );
    }

    #[test]
    fn retry_after_delta_seconds() {
        check_retry("120", Some("2024-05-01T12:02:00Z"));
        check_retry(" 3600 ", Some("2024-05-01T13:00:00Z"));
        check_retry("0", None);
    }

    #[test]
    fn retry_after_http_date() {
        check_retry(
            "Wed, 01 May 2024 12:30:00 GMT",
            Some("2024-05-01T12:30:00Z"),
        );
        check_retry(
            "Wednesday, 01-May-24 12:30:00 GMT",
            Some("2024-05-01T12:30:00Z"),
        );
        check_retry("Wed May  1 12:30:00 2024", Some("2024-05-01T12:30:00Z"));
    }

    #[test]
    fn http_dates_in_other_shapes_are_no_hint() {
        // Not an HTTP-date: a numeric zone, a weekday that does not match, no zone.
        check_retry("Wed, 01 May 2024 12:30:00 +0000", None);
        check_retry("Thu, 01 May 2024 12:30:00 GMT", None);
        check_retry("Wed, 01 May 2024 12:30:00", None);
    }

    #[test]
    fn retry_after_in_the_past_is_no_hint() {
        check_retry("Sun, 06 Nov 1994 08:49:37 GMT", None);
    }

    #[test]
    fn absurd_retry_after_is_capped() {
        check_retry("99999999999999999999999", Some("2024-05-08T12:00:00Z"));
        check_retry("31536000", Some("2024-05-08T12:00:00Z"));
        check_retry(
            "Fri, 01 Jan 2100 00:00:00 GMT",
            Some("2024-05-08T12:00:00Z"),
        );
    }

    #[test]
    fn garbage_retry_after_is_no_hint() {
        check_retry("", None);
        check_retry("-5", None);
        check_retry("soon", None);
        check_retry("1.5", None);
    }

    #[test]
    fn max_age_sets_the_hint() {
        check_cache(
            Some("public, max-age=600"),
            None,
            None,
            Some("2024-05-01T12:10:00Z"),
        );
        check_cache(
            Some("MAX-AGE=\"60\""),
            None,
            None,
            Some("2024-05-01T12:01:00Z"),
        );
        check_cache(Some("max-age=0"), None, None, None);
        check_cache(Some("max-age=abc"), None, None, None);
    }

    #[test]
    fn no_cache_and_no_store_mean_no_hint() {
        check_cache(Some("no-cache, max-age=600"), None, None, None);
        check_cache(Some("max-age=600, No-Store"), None, None, None);
    }

    #[test]
    fn max_age_wins_over_expires() {
        check_cache(
            Some("max-age=60"),
            Some("Wed, 01 May 2024 14:00:00 GMT"),
            None,
            Some("2024-05-01T12:01:00Z"),
        );
    }

    #[test]
    fn expires_is_measured_against_date() {
        // The server's clock is an hour behind ours: it still means "fresh for 10 minutes".
        check_cache(
            None,
            Some("Wed, 01 May 2024 11:10:00 GMT"),
            Some("Wed, 01 May 2024 11:00:00 GMT"),
            Some("2024-05-01T12:10:00Z"),
        );
        check_cache(
            None,
            Some("Wed, 01 May 2024 12:05:00 GMT"),
            None,
            Some("2024-05-01T12:05:00Z"),
        );
    }

    #[test]
    fn invalid_or_past_expires_is_no_hint() {
        check_cache(None, Some("0"), None, None);
        check_cache(None, Some("Sun, 06 Nov 1994 08:49:37 GMT"), None, None);
        check_cache(None, None, Some("Wed, 01 May 2024 11:00:00 GMT"), None);
    }

    #[test]
    fn huge_max_age_is_capped() {
        check_cache(
            Some("max-age=99999999999999999999"),
            None,
            None,
            Some("2024-05-08T12:00:00Z"),
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn hint_uses_retry_after_for_429_and_503() {
        let h = headers(&[("Retry-After", "120")]);
        assert_eq!(
            hint_for(429, &h, now()).not_before,
            Some(at("2024-05-01T12:02:00Z"))
        );
        assert_eq!(
            hint_for(503, &h, now()).not_before,
            Some(at("2024-05-01T12:02:00Z"))
        );
        assert_eq!(hint_for(200, &h, now()).not_before, None);
    }

    #[test]
    fn hint_takes_the_later_of_retry_after_and_max_age() {
        let h = headers(&[("retry-after", "120"), ("cache-control", "max-age=600")]);
        assert_eq!(
            hint_for(429, &h, now()).not_before,
            Some(at("2024-05-01T12:10:00Z"))
        );
        assert_eq!(
            hint_for(200, &h, now()).not_before,
            Some(at("2024-05-01T12:10:00Z"))
        );
    }

    #[test]
    fn hint_without_headers_is_empty() {
        assert_eq!(hint_for(200, &[], now()), PollHint::default());
        assert_eq!(hint_for(304, &[], now()), PollHint::default());
    }
}
