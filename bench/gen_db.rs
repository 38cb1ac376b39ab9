//! A fast generator of a realistic instance for the serving benchmarks: users, sources,
//! items with sanitized HTML bodies of blog-post size, comments, likes and follows. It goes
//! through the store's own functions (the same upsert a poll uses), so the rows, indexes
//! and FTS entries are exactly what a real instance holds.

use std::path::Path;
use std::time::Instant;

use chrono::{Duration, Utc};
use connectors::{Content, ItemKind, RawItem};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha256};
use tributary::model::{ItemId, NewItem, UserId};
use tributary::normalize::{NormalizeCtx, normalize};
use tributary::store::{Store, items, social, sources, users};

const WORDS: &[&str] = &[
    "stream", "feed", "friend", "photo", "link", "share", "comment", "like", "post", "update",
    "music", "video", "travel", "coffee", "rust", "sqlite", "server", "release", "weekend",
    "project", "garden", "café", "naïve", "Zürich", "river", "morning", "notes", "reading",
];
const SOURCES_PER_USER: usize = 4;
const TEMPLATES: usize = 64;
const ITEMS_PER_TRANSACTION: usize = 2_500;

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Blog-sized HTML (about 1.2 KB after sanitizing), with the hostile bits feeds carry.
fn body(rng: &mut StdRng) -> String {
    let mut html = String::new();
    for p in 0..rng.random_range(3..6) {
        html.push_str(&format!(
            "<p>{} <a href=\"https://example.com/{p}/{}\" onclick=\"x()\">{}</a> {}.</p>",
            words(rng, 25),
            rng.random_range(1..99_999),
            words(rng, 3),
            words(rng, 15)
        ));
    }
    if rng.random_bool(0.3) {
        html.push_str("<p><img src=\"https://photos.example.net/p.jpg\" alt=\"a photo\" width=\"640\" height=\"480\"></p>");
    }
    if rng.random_bool(0.2) {
        html.push_str("<script>alert(1)</script><blockquote>quoted &mdash; text</blockquote>");
    }
    html
}

pub fn run(db: &Path, n_users: usize, n_items: usize, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let store = Store::open(db, 2)?;
    // A generous page cache for the writer while generating: the indexes take their rows
    // in random order, and the default 2 MB cache made nearly every insert read pages back.
    store.write_blocking(|tx| Ok(tx.execute_batch("PRAGMA cache_size = -262144")?))?;
    let now = Utc::now();
    let ctx = NormalizeCtx {
        base_url: None,
        fetched_at: now,
        sanitize_fast_path: true,
    };
    let templates: Vec<NewItem> = (0..TEMPLATES)
        .map(|n| {
            let mut raw = RawItem::new(format!("template-{n}"));
            raw.content = Some(Content::Html(body(&mut rng)));
            raw.kind = if n % 5 == 0 {
                ItemKind::Photo
            } else {
                ItemKind::Article
            };
            raw.tags = vec![WORDS[n % WORDS.len()].to_owned()];
            normalize(raw, &ctx).0
        })
        .collect();

    let user_ids: Vec<UserId> = store.write_blocking(|tx| {
        (0..n_users)
            .map(|n| {
                let name = format!("user{n}");
                users::create(
                    tx,
                    &users::NewUser {
                        name: &name,
                        display_name: &format!("User {n}"),
                        password_hash: "x",
                        is_admin: n == 0,
                    },
                    now,
                )
            })
            .collect()
    })?;
    let per_source = n_items / (n_users * SOURCES_PER_USER);
    let span_ms = Duration::days(3 * 365).num_milliseconds();
    let mut all_items: Vec<ItemId> = Vec::with_capacity(n_items);
    for (u, &user) in user_ids.iter().enumerate() {
        for s in 0..SOURCES_PER_USER {
            let params = json!({ "url": format!("https://site{s}.example/user{u}/feed.xml") });
            let source = store.write_blocking(|tx| {
                sources::insert(
                    tx,
                    &sources::NewSource {
                        user_id: user,
                        kind: "feed",
                        params: &params,
                        title: &format!("Site {s}"),
                        schedule: "",
                    },
                    now,
                )
            })?;
            let mut batch = Vec::with_capacity(ITEMS_PER_TRANSACTION);
            for i in 0..per_source {
                let template = &templates[rng.random_range(0..TEMPLATES)];
                let mut item = template.clone();
                item.external_id = format!("u{u}-s{s}-{i}");
                let n_words = rng.random_range(3..9);
                item.title = words(&mut rng, n_words);
                item.url = url::Url::parse(&format!("https://site{s}.example/user{u}/{i}")).ok();
                item.canonical_url = item.url.clone();
                item.dedup_key = item.external_id.clone();
                item.published_at = now - Duration::milliseconds(rng.random_range(0..span_ms));
                item.content_hash = Sha256::digest(item.external_id.as_bytes()).into();
                batch.push(item);
                if batch.len() == ITEMS_PER_TRANSACTION || i + 1 == per_source {
                    let report =
                        store.write_blocking(|tx| items::upsert(tx, source, user, &batch, now))?;
                    all_items.extend(report.new_ids);
                    batch.clear();
                }
            }
        }
        eprintln!(
            "gen-db: user {}/{n_users}, {} items, {:.0} s",
            u + 1,
            all_items.len(),
            started.elapsed().as_secs_f64()
        );
    }

    // FriendFeed-like activity: a tenth of the items discussed, a fifth liked, each
    // person following about fifteen others.
    store.write_blocking(|tx| {
        for &follower in &user_ids {
            for _ in 0..15 {
                let followee = user_ids[rng.random_range(0..user_ids.len())];
                if followee != follower {
                    social::follow(tx, follower, followee, now)?;
                }
            }
        }
        Ok(())
    })?;
    for chunk in all_items.chunks(50_000) {
        store.write_blocking(|tx| {
            for &item in chunk {
                if rng.random_bool(0.1) {
                    for _ in 0..rng.random_range(1..5) {
                        let who = user_ids[rng.random_range(0..user_ids.len())];
                        let body =
                            format!("{} https://example.org/{}", words(&mut rng, 12), item.0);
                        social::add_comment(tx, item, who, &body, now)?;
                    }
                }
                if rng.random_bool(0.2) {
                    for _ in 0..rng.random_range(1..7) {
                        let who = user_ids[rng.random_range(0..user_ids.len())];
                        social::like(tx, item, who, now)?;
                    }
                }
            }
            Ok(())
        })?;
    }
    store.write_blocking(|tx| Ok(tx.execute_batch("ANALYZE")?))?;
    eprintln!(
        "gen-db: {} items in {:.0} s",
        all_items.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
