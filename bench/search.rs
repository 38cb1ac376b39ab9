//! S1's ceiling: the raw FTS5 query behind a search page, run in a plain rusqlite loop on
//! the benchmark database, with no HTTP, no filters beyond the one asked and no rendering.
//! `search-ceiling` runs it on THREADS threads (one connection each, as wrk's two threads
//! drive the server) for SECONDS and prints queries per second and the latency
//! percentiles as JSON.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// Results a search page shows (the router's page size).
const PAGE: i64 = 30;

/// Runs `expression` (an FTS5 MATCH string) over `db` until `seconds` have passed.
/// `kind`, when given, keeps the items of sources of that kind, as `service:` does.
pub fn ceiling(
    db: &Path,
    expression: &str,
    kind: Option<&str>,
    seconds: u64,
    threads: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (db, expression, kind) = (
                db.to_owned(),
                expression.to_owned(),
                kind.map(str::to_owned),
            );
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let conn = Connection::open_with_flags(
                    &db,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                // The page's rows: the newest matches with what a card shows of them.
                let sql =
                    format!(
                    "SELECT i.id, i.title, i.summary_text, i.content_html, i.url, i.published_at
                     FROM items_fts f JOIN items i ON i.id = f.rowid{}
                     WHERE items_fts MATCH ?1{}
                     ORDER BY f.rowid DESC LIMIT {PAGE}",
                    if kind.is_some() { " JOIN sources s ON s.id = i.source_id" } else { "" },
                    if kind.is_some() { " AND s.kind = ?2" } else { "" },
                );
                let mut stmt = conn.prepare(&sql)?;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let at = Instant::now();
                    let mut rows = match &kind {
                        Some(kind) => stmt.query(rusqlite::params![expression, kind])?,
                        None => stmt.query(rusqlite::params![expression])?,
                    };
                    let mut n = 0;
                    while let Some(row) = rows.next()? {
                        let _: (i64, String, String, String) =
                            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
                        n += 1;
                    }
                    anyhow::ensure!(n > 0, "the ceiling's query matched nothing");
                    latencies.push(at.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        let found = worker
            .join()
            .map_err(|_| anyhow::anyhow!("a ceiling thread panicked"))??;
        latencies.extend(found);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        let at = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[at].as_secs_f64() * 1000.0
    };
    println!(
        "{}",
        serde_json::json!({
            "rps": latencies.len() as f64 / elapsed,
            "p50": pct(0.50),
            "p99": pct(0.99),
            "queries": latencies.len(),
        })
    );
    Ok(())
}
