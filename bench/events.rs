//! L1: live updates to many open pages. The server (`events-serve`, started as a child
//! process so its memory is its own) is the real router over a fresh database with two
//! users and one item of ana's. The driver (`events`) opens N Server-Sent Events streams on
//! ana's lifestream (`/events?scope=user:ana`, one connection each), waits until every one
//! is subscribed, logs in as bo and posts a comment on ana's item through the real form,
//! and times until each stream has the `comment` frame. It prints the delivery times
//! (p50, p99, max, from the POST) and the server's peak RSS, then checks that closing the
//! streams leaves no subscription behind.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use serde_json::json;
use tokio::sync::mpsc;
use tributary::config::Config;
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::scheduler::SchedulerHandle;
use tributary::sources::Sources;
use tributary::store::{Store, items, sources, users};
use tributary::web::{self, AppState};

/// bo's password in the bench database.
const PASSWORD: &str = "bench password, long enough";

// ---------------------------------------------------------------- the server

/// Serves a fresh database on 127.0.0.1; prints `ready PORT ITEM_ID`. With `parent_watch`
/// it exits when its stdin closes. The one route it adds, `GET /_events/subscribers`,
/// answers the hub's open subscriptions (for the clean-up check).
pub async fn serve(parent_watch: bool) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "tributary-events-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    ));
    std::fs::create_dir_all(&dir)?;
    let mut config = Config::default();
    config.database.path = dir.join("events.db");
    let store = Store::open(&config.database.path, config.database.readers)?;
    let hash = tributary::auth::hash_password(PASSWORD)?;
    let item_id = store.write_blocking(|tx| {
        let mut ana = None;
        for name in ["ana", "bo"] {
            let id = users::create(
                tx,
                &users::NewUser {
                    name,
                    display_name: name,
                    password_hash: &hash,
                    is_admin: false,
                },
                Utc::now(),
            )?;
            ana.get_or_insert(id);
        }
        let ana = ana.expect("ana was created first");
        let params = json!({ "url": "https://origin.example/feed.xml" });
        let source = sources::insert(tx, &sources::NewSource::feed(ana, &params), Utc::now())?;
        let stored = items::upsert(tx, source, ana, &[new_item()], Utc::now())?;
        Ok(stored.new_ids[0])
    })?;
    let http: Arc<dyn connectors::Http> =
        Arc::new(tributary::fetch::HttpClient::new(&config.fetch)?);
    let registry = Arc::new(connectors::Registry::default());
    let sources = Sources::new(store.clone(), registry, http, SchedulerHandle::default());
    let state = AppState::new(store, Arc::new(config), sources)?;
    let events = state.events.clone();
    let extra = axum::Router::new().route(
        "/_events/subscribers",
        axum::routing::get(move || {
            let events = events.clone();
            async move { events.n_subscribers().to_string() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("ready {} {}", listener.local_addr()?.port(), item_id.0);
    if parent_watch {
        std::thread::spawn(|| {
            let mut buf = [0u8; 64];
            while std::io::Read::read(&mut std::io::stdin(), &mut buf).is_ok_and(|n| n > 0) {}
            std::process::exit(0);
        });
    }
    axum::serve(
        listener,
        web::router_with(state, extra)
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}

fn new_item() -> tributary::model::NewItem {
    let mut raw = connectors::RawItem::new("events-1");
    raw.title = Some("A post a thousand people are looking at".to_owned());
    raw.url = url::Url::parse("https://origin.example/events-1").ok();
    raw.content = Some(connectors::Content::Html(
        "<p>Comment on me.</p>".to_owned(),
    ));
    raw.published = Some(Utc::now());
    let ctx = NormalizeCtx {
        base_url: None,
        fetched_at: Utc::now(),
        sanitize_fast_path: true,
    };
    normalize(raw, &ctx).0
}

// ---------------------------------------------------------------- the driver

/// The server child; killed when dropped.
struct ServerChild(Child);

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What each stream task reports.
enum Report {
    Subscribed,
    Arrived(Instant),
    Failed(String),
}

/// Opens `clients` streams, posts one comment, prints one JSON object.
pub async fn run(clients: usize, timeout: Duration) -> anyhow::Result<()> {
    let mut child = ServerChild(
        Command::new(std::env::current_exe()?)
            .args(["events-serve", "--parent-watch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start events-serve")?,
    );
    let stdout = child.0.stdout.take().context("the server has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let (port, item_id) = match (words.next(), words.next(), words.next()) {
        (Some("ready"), Some(port), Some(item)) => (port.parse::<u16>()?, item.parse::<i64>()?),
        _ => bail!("events-serve did not start: {line:?}"),
    };
    let pid = child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let rss_idle_kb = proc_status_kb(pid, "VmRSS:");

    // One connection per stream, as N browsers have.
    let streams = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(0)
        .build()?;
    let (reports, mut inbox) = mpsc::unbounded_channel();
    let opened = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let reports = reports.clone();
        let streams = streams.clone();
        let url = format!("{base}/events?scope=user:ana");
        tasks.push(tokio::spawn(async move {
            if let Err(err) = one_stream(&streams, &url, &reports).await {
                let _ = reports.send(Report::Failed(err.to_string()));
            }
        }));
    }
    drop(reports);
    let mut n_subscribed = 0;
    let mut failures = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while n_subscribed + failures.len() < clients {
        match tokio::time::timeout_at(deadline, inbox.recv()).await {
            Ok(Some(Report::Subscribed)) => n_subscribed += 1,
            Ok(Some(Report::Failed(err))) => failures.push(err),
            Ok(Some(Report::Arrived(_))) => failures.push("a frame before the comment".into()),
            Ok(None) | Err(_) => break,
        }
    }
    let open_s = opened.elapsed().as_secs_f64();
    let rss_open_kb = proc_status_kb(pid, "VmRSS:");

    // bo logs in and comments through the real forms.
    let bo = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login_page = bo.get(format!("{base}/login")).send().await?.text().await?;
    let token = csrf_in(&login_page).context("no CSRF field on /login")?;
    let login = bo
        .post(format!("{base}/login"))
        .form(&[("name", "bo"), ("password", PASSWORD), ("csrf", &token)])
        .send()
        .await?;
    if login.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("bo could not log in: {}", login.status());
    }
    let item_page = bo
        .get(format!("{base}/e/{item_id}"))
        .send()
        .await?
        .text()
        .await?;
    let token = csrf_in(&item_page).context("no CSRF field on the item page")?;
    let posted_at = Instant::now();
    let answer = bo
        .post(format!("{base}/e/{item_id}/comments"))
        .form(&[("body", "Hello, all of you"), ("csrf", &token)])
        .send()
        .await?;
    let post_ms = posted_at.elapsed().as_secs_f64() * 1000.0;
    if answer.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("the comment was refused: {}", answer.status());
    }
    let mut delivery_ms = Vec::with_capacity(n_subscribed);
    let deadline = tokio::time::Instant::now() + timeout;
    while delivery_ms.len() + failures.len() < clients {
        match tokio::time::timeout_at(deadline, inbox.recv()).await {
            Ok(Some(Report::Arrived(at))) => {
                delivery_ms.push(at.saturating_duration_since(posted_at).as_secs_f64() * 1000.0)
            }
            Ok(Some(Report::Failed(err))) => failures.push(err),
            Ok(Some(Report::Subscribed)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let peak_rss_kb = proc_status_kb(pid, "VmHWM:");
    let rss_delivered_kb = proc_status_kb(pid, "VmRSS:");

    // Every client goes away: the server drops every subscription.
    for task in &tasks {
        task.abort();
    }
    drop(streams);
    let closed = Instant::now();
    let mut left = usize::MAX;
    while closed.elapsed() < Duration::from_secs(10) {
        left = bo
            .get(format!("{base}/_events/subscribers"))
            .send()
            .await?
            .text()
            .await?
            .trim()
            .parse()
            .unwrap_or(usize::MAX);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cleanup_ms = closed.elapsed().as_secs_f64() * 1000.0;

    delivery_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if delivery_ms.is_empty() {
            return f64::NAN;
        }
        let idx = ((p / 100.0) * delivery_ms.len() as f64).ceil() as usize;
        delivery_ms[idx.clamp(1, delivery_ms.len()) - 1]
    };
    failures.truncate(3);
    println!(
        "{}",
        json!({
            "clients": clients, "subscribed": n_subscribed, "delivered": delivery_ms.len(),
            "open_s": open_s, "post_ms": post_ms,
            "p50_ms": pct(50.0), "p99_ms": pct(99.0), "max_ms": pct(100.0),
            "peak_rss_mb": peak_rss_kb as f64 / 1024.0,
            "rss_idle_mb": rss_idle_kb as f64 / 1024.0,
            "rss_open_mb": rss_open_kb as f64 / 1024.0,
            "rss_delivered_mb": rss_delivered_kb as f64 / 1024.0,
            "subscribers_left": left, "cleanup_ms": cleanup_ms,
            "failures": failures,
        })
    );
    drop(child);
    Ok(())
}

/// One browser's stream: reports when subscribed (the greeting arrived) and when the
/// comment frame arrived.
async fn one_stream(
    client: &reqwest::Client,
    url: &str,
    reports: &mpsc::UnboundedSender<Report>,
) -> anyhow::Result<()> {
    let mut response = client.get(url).send().await?;
    if !response.status().is_success() {
        bail!("{url}: {}", response.status());
    }
    let mut buffer = String::new();
    let mut subscribed = false;
    while let Some(chunk) = response.chunk().await? {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if !subscribed && buffer.contains(": hello") {
            subscribed = true;
            let _ = reports.send(Report::Subscribed);
        }
        if buffer.contains("event: comment") {
            let _ = reports.send(Report::Arrived(Instant::now()));
            // Stay connected, as a page does, until the driver closes everything.
            std::future::pending::<()>().await;
        }
    }
    bail!("the stream ended")
}

fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// A line of /proc/PID/status in KiB (`VmRSS:` now, `VmHWM:` the peak).
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
