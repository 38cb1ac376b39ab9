//! `tributary-bench`: the programs behind `bench/run`. Each subcommand is one side of one
//! measurement; `bench/run.py` starts them, interleaves the sides and writes the table.

mod archive;
mod corpus_server;
mod events;
mod fanout;
mod gen_db;
mod ingest;
mod search;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Tributary's benchmark programs (run them through bench/run)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a corpus folder on loopback with validators and conditional requests.
    ServeCorpus {
        dir: PathBuf,
        /// Addresses to listen on (the same corpus on each).
        #[arg(long, required = true)]
        listen: Vec<SocketAddr>,
    },
    /// E1/E2/E3: poll the first N feeds of a served corpus into a new database, three times.
    Ingest {
        /// The corpus folder (for its manifest).
        dir: PathBuf,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        feeds: usize,
        /// Base URLs of the corpus server, one per host; feeds are spread over them.
        #[arg(long, required = true)]
        host: Vec<String>,
        /// POSTed between E2 and E3, to give every feed new validators.
        #[arg(long)]
        bump: Option<String>,
    },
    /// P1: parse + sanitize + map the first N feeds from memory, REPS times.
    Parse {
        dir: PathBuf,
        #[arg(long)]
        feeds: usize,
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Send every item through the full HTML parser, as with `[normalize]
        /// sanitize_fast_path = false`.
        #[arg(long)]
        no_sanitize_fast_path: bool,
    },
    /// Generate an instance database for the serving benchmarks.
    GenDb {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 100)]
        users: usize,
        #[arg(long, default_value_t = 1_000_000)]
        items: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// F1: fan out one `Create` to FOLLOWERS followers over INBOXES shared inboxes on
    /// loopback (starts its own `inbox-sink`); prints seconds, deliveries/s and peak RSS.
    Fanout {
        #[arg(long, default_value_t = 10_000)]
        followers: usize,
        #[arg(long, default_value_t = 1_000)]
        inboxes: usize,
        /// `federation.delivery_concurrency` (default: the config's default).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Stop waiting after this many seconds and report what is left.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// A1's input: a synthetic Twitter/X archive of TWEETS tweets and MEDIA media files.
    ArchiveGen {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        tweets: usize,
        #[arg(long, default_value_t = 5_000)]
        media: usize,
    },
    /// A1: import ARCHIVE into a fresh database and media folder under WORK (the real
    /// importer); prints items/s and peak RSS. `--read-only`: the reader alone (the
    /// ceiling), nothing stored.
    ArchiveImport {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        work: PathBuf,
        #[arg(long)]
        read_only: bool,
    },
    /// The receiving side of F1: `POST /inbox` answered 202 on HOSTS loopback addresses
    /// (127.0.1.1, 127.0.1.2, …, one port), counted per host; `GET /_counts`.
    InboxSink {
        #[arg(long, default_value_t = 1_000)]
        hosts: usize,
        /// Exit when stdin closes (the parent that started it went away).
        #[arg(long)]
        parent_watch: bool,
    },
    /// L1: CLIENTS Server-Sent Events streams on one user's page, one comment posted
    /// (starts its own `events-serve`); prints delivery p50/p99/max and the server's
    /// peak RSS.
    Events {
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// Stop waiting after this many seconds and report what is left.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// The serving side of L1: the real router over a fresh two-user database.
    EventsServe {
        /// Exit when stdin closes (the parent that started it went away).
        #[arg(long)]
        parent_watch: bool,
    },
    /// S1's ceiling: the raw FTS5 query of a search page in a plain rusqlite loop.
    SearchCeiling {
        #[arg(long)]
        db: PathBuf,
        /// The FTS5 MATCH expression.
        #[arg(long)]
        expression: String,
        /// Only items of sources of this kind (as `service:` does).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Serve a generated database with the real router plus the render-ceiling route.
    Serve {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        #[arg(long, default_value_t = 100)]
        users: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::ServeCorpus { dir, listen } => runtime.block_on(corpus_server::run(&dir, listen)),
        Command::Ingest {
            dir,
            db,
            feeds,
            host,
            bump,
        } => {
            let urls = ingest::feed_urls(&dir, &host, feeds)?;
            runtime.block_on(ingest::run(db, urls, bump, host))
        }
        Command::Parse {
            dir,
            feeds,
            reps,
            no_sanitize_fast_path,
        } => ingest::parse(&dir, feeds, reps, !no_sanitize_fast_path),
        Command::GenDb {
            db,
            users,
            items,
            seed,
        } => gen_db::run(&db, users, items, seed),
        Command::SearchCeiling {
            db,
            expression,
            kind,
            seconds,
            threads,
        } => search::ceiling(&db, &expression, kind.as_deref(), seconds, threads),
        Command::Serve { db, listen, users } => runtime.block_on(serve::run(db, listen, users)),
        Command::Fanout {
            followers,
            inboxes,
            concurrency,
            timeout,
        } => runtime.block_on(fanout::run(fanout::FanoutArgs {
            followers,
            inboxes,
            concurrency,
            timeout: std::time::Duration::from_secs(timeout),
        })),
        Command::ArchiveGen { out, tweets, media } => archive::generate(&out, tweets, media),
        Command::ArchiveImport {
            archive,
            work,
            read_only,
        } => archive::import(&archive, &work, read_only),
        Command::Events { clients, timeout } => runtime.block_on(events::run(
            clients,
            std::time::Duration::from_secs(timeout),
        )),
        Command::EventsServe { parent_watch } => runtime.block_on(events::serve(parent_watch)),
        Command::InboxSink {
            hosts,
            parent_watch,
        } => runtime.block_on(fanout::sink(hosts, parent_watch)),
    }
}
