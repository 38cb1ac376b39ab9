//! F1: the ActivityPub fan-out of one `Create`. The sender (`fanout`, the measured
//! process) stores one user with N remote followers whose shared inboxes are spread over
//! M loopback hosts, stores one item, queues it as `Create` and runs the real federation
//! worker (outbox fan-out, delivery queue, signing, the fetcher's POSTs) until every
//! delivery is gone from the queue. The receiver (`inbox-sink`, started by the sender as a
//! child process so its memory is its own) listens on M loopback addresses, answers
//! `POST /inbox` with 202, checks that each POST carries a `Signature` and a digest of its
//! body, and counts POSTs per host; `GET /_counts` answers the counts.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tributary::config::Config;
use tributary::federation::Federation;
use tributary::fetch::HttpClient;
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::store::federation::{self as fed, Actor, Verb};
use tributary::store::{Store, items, sources, users};

use crate::ingest::{cpu_seconds, peak_rss_kb};

/// Loopback address of sink host `k` (0-based): 127.0.1.1, 127.0.1.2, … 250 per /24.
pub fn host_addr(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (1 + k / 250) as u8, (1 + k % 250) as u8)
}

/// Hosts the sink can listen on with [`host_addr`] (127.0.1.1 to 127.0.254.250).
pub const MAX_HOSTS: usize = 254 * 250;

// ---------------------------------------------------------------- the sink

#[derive(Default)]
struct Sink {
    per_host: Vec<AtomicU32>,
    posts: AtomicU64,
    no_signature: AtomicU64,
    bad_digest: AtomicU64,
}

#[derive(Clone)]
struct HostState {
    sink: Arc<Sink>,
    k: usize,
}

/// Listens on `hosts` loopback addresses, one port for all; prints `ready PORT` once they
/// all listen. With `parent_watch` it exits when its stdin closes (its parent went away).
pub async fn sink(hosts: usize, parent_watch: bool) -> anyhow::Result<()> {
    if hosts == 0 || hosts > MAX_HOSTS {
        bail!("--hosts must be between 1 and {MAX_HOSTS}");
    }
    let sink = Arc::new(Sink {
        per_host: (0..hosts).map(|_| AtomicU32::new(0)).collect(),
        ..Sink::default()
    });
    let (port, listeners) = bind_all(hosts).await?;
    let mut servers = Vec::with_capacity(hosts);
    for (k, listener) in listeners.into_iter().enumerate() {
        let app = Router::new()
            .route("/inbox", post(inbox))
            .route("/_counts", get(counts))
            .with_state(HostState {
                sink: sink.clone(),
                k,
            });
        servers.push(tokio::spawn(axum::serve(listener, app).into_future()));
    }
    println!("ready {port}");
    if parent_watch {
        std::thread::spawn(|| {
            let mut buf = [0u8; 64];
            while std::io::Read::read(&mut std::io::stdin(), &mut buf).is_ok_and(|n| n > 0) {}
            std::process::exit(0);
        });
    }
    for server in servers {
        server.await??;
    }
    Ok(())
}

/// One port free on every address: the first address picks it, the others follow; a port
/// taken on some address makes it try another.
async fn bind_all(hosts: usize) -> anyhow::Result<(u16, Vec<tokio::net::TcpListener>)> {
    let mut last_err = None;
    for _ in 0..20 {
        let first = tokio::net::TcpListener::bind((host_addr(0), 0)).await?;
        let port = first.local_addr()?.port();
        let mut listeners = vec![first];
        for k in 1..hosts {
            match tokio::net::TcpListener::bind((host_addr(k), port)).await {
                Ok(listener) => listeners.push(listener),
                Err(err) => {
                    last_err = Some(err);
                    break;
                }
            }
        }
        if listeners.len() == hosts {
            return Ok((port, listeners));
        }
    }
    Err(last_err.map_or_else(|| anyhow::anyhow!("no free port"), Into::into))
        .context("cannot listen on the loopback addresses")
}

async fn inbox(State(state): State<HostState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sink = &state.sink;
    sink.posts.fetch_add(1, Ordering::Relaxed);
    sink.per_host[state.k].fetch_add(1, Ordering::Relaxed);
    if !headers.contains_key("signature") {
        sink.no_signature.fetch_add(1, Ordering::Relaxed);
    }
    if !digest_matches(&headers, &body) {
        sink.bad_digest.fetch_add(1, Ordering::Relaxed);
    }
    StatusCode::ACCEPTED
}

/// `Digest: SHA-256=…` (draft-cavage) or `Content-Digest: sha-256=:…:` (RFC 9530) of the
/// body; either one matching is enough.
fn digest_matches(headers: &HeaderMap, body: &[u8]) -> bool {
    let want = base64(&Sha256::digest(body));
    let digest = headers
        .get_all("digest")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().split_once('='))
        .any(|(alg, value)| alg.eq_ignore_ascii_case("sha-256") && value == want);
    let content_digest = headers
        .get_all("content-digest")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().split_once('='))
        .any(|(alg, value)| alg.eq_ignore_ascii_case("sha-256") && value.trim_matches(':') == want);
    digest || content_digest
}

/// Standard base64 with padding (the sink's own, so the check does not share code with
/// the signer).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(char::from(ALPHABET[(v >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn counts(State(state): State<HostState>) -> axum::Json<serde_json::Value> {
    let s = &state.sink;
    let per_host: Vec<u32> = s
        .per_host
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    axum::Json(json!({
        "posts": s.posts.load(Ordering::Relaxed),
        "no_signature": s.no_signature.load(Ordering::Relaxed),
        "bad_digest": s.bad_digest.load(Ordering::Relaxed),
        "per_host": per_host,
    }))
}

// ---------------------------------------------------------------- the sender

/// The sink child; killed when dropped.
struct SinkChild(Child);

impl Drop for SinkChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sink(hosts: usize) -> anyhow::Result<(SinkChild, u16)> {
    let mut child = SinkChild(
        Command::new(std::env::current_exe()?)
            .args([
                "inbox-sink",
                "--hosts",
                &hosts.to_string(),
                "--parent-watch",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the inbox sink")?,
    );
    let stdout = child.0.stdout.take().context("the sink has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let port = line
        .strip_prefix("ready ")
        .and_then(|p| p.trim().parse().ok())
        .with_context(|| format!("the inbox sink did not start: {line:?}"))?;
    Ok((child, port))
}

/// Options of one fan-out run.
pub struct FanoutArgs {
    pub followers: usize,
    pub inboxes: usize,
    /// `federation.delivery_concurrency`; `None` keeps the default.
    pub concurrency: Option<usize>,
    /// Gives up waiting after this long (and reports what is left).
    pub timeout: Duration,
}

/// Sets up the database, starts the sink and the worker, queues one `Create` and waits
/// for every delivery; prints one JSON object.
pub async fn run(args: FanoutArgs) -> anyhow::Result<()> {
    if args.inboxes == 0 || args.inboxes > MAX_HOSTS || args.followers < args.inboxes {
        bail!("--inboxes must be between 1 and {MAX_HOSTS}, and at most --followers");
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let (_sink, port) = start_sink(args.inboxes)?;
    let dir = tempfile_dir()?;
    let mut config = Config::default();
    config.database.path = dir.join("fanout.db");
    config.fetch.allow_private_networks = true;
    if let Some(n) = args.concurrency {
        config.federation.delivery_concurrency = n;
    }
    let config = Arc::new(config);
    let store = Store::open(&config.database.path, config.database.readers)?;

    let setup = Instant::now();
    let (user, source) = store.write_blocking(|tx| {
        let user = users::create(
            tx,
            &users::NewUser {
                name: "bench",
                display_name: "Bench",
                password_hash: "x",
                is_admin: false,
            },
            Utc::now(),
        )?;
        let params = json!({ "url": "https://origin.example/feed.xml" });
        let source = sources::insert(tx, &sources::NewSource::feed(user, &params), Utc::now())?;
        Ok((user, source))
    })?;
    let followers = args.followers;
    let inboxes = args.inboxes;
    store.write_blocking(|tx| {
        let now = Utc::now();
        for i in 0..followers {
            let k = i % inboxes;
            let host = format!("{}:{port}", host_addr(k));
            let uri = format!("http://{host}/users/f{i}");
            let id = fed::put_actor(
                tx,
                &Actor {
                    id: None,
                    handle: format!("f{i}@{host}"),
                    name: format!("Follower {i}"),
                    inbox: format!("{uri}/inbox"),
                    shared_inbox: Some(format!("http://{host}/inbox")),
                    key_id: Some(format!("{uri}#main-key")),
                    uri,
                    host,
                    fetched_at: now,
                    ..Actor::default()
                },
            )?;
            fed::put_follower(tx, user, id, &format!("http://x/follow/{i}"), true, now)?;
        }
        Ok(())
    })?;
    let http = HttpClient::new(&config.fetch)?;
    let federation = Federation::new(store.clone(), config.clone(), http);
    // The key exists before the measurement, as it does on an instance that has posted.
    let key_ready = federation.user_key(user).await;
    let setup_s = setup.elapsed().as_secs_f64();

    let shutdown = CancellationToken::new();
    let worker = federation.spawn_worker(shutdown.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let item = new_item();
    store.write_blocking(|tx| {
        let stored = items::upsert(tx, source, user, &[item], Utc::now())?;
        fed::queue_items(tx, user, &stored.new_ids, Verb::Create, Utc::now())
    })?;

    let rss_at_wake_kb = rss_kb("VmRSS:");
    perf_control("enable");
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    federation.wake();
    let mut seen = 0u64;
    let mut timed_out = false;
    loop {
        let (outbox, waiting) = store
            .read(|conn| {
                Ok((
                    fed::outbox_queue(conn, 1)?.len(),
                    fed::queue_counts(conn)?.0,
                ))
            })
            .await?;
        seen = seen.max(waiting);
        if outbox == 0 && waiting == 0 && seen > 0 {
            break;
        }
        if started.elapsed() > args.timeout {
            timed_out = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds() - cpu0;
    perf_control("disable");
    // Connections the client keeps open after the run (its idle pool), and what is left
    // resident: both grow with the number of distinct inboxes.
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    let rss_at_end_kb = rss_kb("VmRSS:");
    shutdown.cancel();
    let _ = worker.await;

    let counts: serde_json::Value = reqwest::Client::new()
        .get(format!("http://{}:{port}/_counts", host_addr(0)))
        .send()
        .await?
        .json()
        .await?;
    let per_host: Vec<u64> = counts["per_host"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n.as_u64()).collect())
        .unwrap_or_default();
    let hosts_missed: Vec<usize> = (0..inboxes)
        .filter(|&k| per_host.get(k).copied().unwrap_or(0) == 0)
        .collect();
    let hosts_repeated: Vec<usize> = (0..inboxes)
        .filter(|&k| per_host.get(k).copied().unwrap_or(0) > 1)
        .collect();
    let posts = counts["posts"].as_u64().unwrap_or(0);
    let no_signature = counts["no_signature"].as_u64().unwrap_or(0);
    let bad_digest = counts["bad_digest"].as_u64().unwrap_or(0);
    let left: Vec<(u32, Option<String>)> = store
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT tries, last_error FROM deliveries LIMIT 3")?;
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    let (_, waiting) = store.read(fed::queue_counts).await?;
    let failures = hosts_missed.len() + hosts_repeated.len() + (no_signature + bad_digest) as usize;
    let delivered = per_host.iter().filter(|&&n| n > 0).count();
    println!(
        "{}",
        json!({
            "followers": followers, "inboxes": inboxes, "deliveries": delivered,
            "posts": posts, "seconds": seconds,
            "deliveries_per_sec": delivered as f64 / seconds,
            "cpu_s": cpu_s, "setup_s": setup_s,
            "peak_rss_mb": peak_rss_kb() as f64 / 1024.0,
            "rss_at_wake_mb": rss_at_wake_kb as f64 / 1024.0,
            "rss_at_end_mb": rss_at_end_kb as f64 / 1024.0,
            "open_fds_at_end": open_fds,
            "failures": failures, "timed_out": timed_out,
            "hosts_missed": hosts_missed.len(), "hosts_repeated": hosts_repeated.len(),
            "no_signature": no_signature, "bad_digest": bad_digest,
            "left_in_queue": waiting,
            "left_errors": left.iter().map(|(tries, err)| json!({"tries": tries, "error": err})).collect::<Vec<_>>(),
            "key": key_ready.err().map(|e| e.to_string()),
        })
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A line of /proc/self/status in KiB (`VmRSS:` now; `VmHWM:` is the peak).
fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// With `TRIBUTARY_BENCH_PERF_CTL=FIFO`, tells `perf record --control fifo:FIFO -D -1`
/// to sample the measured window only (from the wake until the queue is empty).
fn perf_control(command: &str) {
    if let Some(fifo) = std::env::var_os("TRIBUTARY_BENCH_PERF_CTL") {
        let _ = std::fs::write(fifo, format!("{command}\n"));
    }
}

/// A fresh directory under the system's temporary folder.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "tributary-fanout-{}-{}",
        std::process::id(),
        Utc::now().timestamp_millis()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The one item: a short post published now, as a poll would store it.
fn new_item() -> tributary::model::NewItem {
    let mut raw = connectors::RawItem::new("fanout-1");
    raw.title = Some("A post for every follower".to_owned());
    raw.url = url::Url::parse("https://origin.example/fanout-1").ok();
    raw.content = Some(connectors::Content::Html(
        "<p>One <b>Create</b>, ten thousand followers.</p>".to_owned(),
    ));
    raw.published = Some(Utc::now());
    let ctx = NormalizeCtx {
        base_url: None,
        fetched_at: Utc::now(),
        sanitize_fast_path: true,
    };
    normalize(raw, &ctx).0
}
