//! Search reads (issue #20): a parsed [`Search`] run over the full-text indexes of items
//! and of comments (migration 0017), with its filters as SQL, scoped to what anyone may
//! see, and saved searches. SQL only; the query language is `crate::search`.
//!
//! What a viewer may see: visible items (never hidden or deleted ones, not even their
//! owner's own) of sources not removed. One card per post, as on stream pages: copies of
//! a post elsewhere are found through their main, unless a `service:` or `source:`
//! filter asks for that service's own items.
//!
//! Two orders. *Newest* walks the index from the newest item down (item ids grow as items
//! arrive, the order feeds use), stopping once a page is full, so it costs the same
//! however many items match. *Relevance* scores with BM25 (a title match weighs most),
//! among the [`RELEVANCE_WINDOW`] newest matches: ranking every match of a word that
//! half a million items hold would take seconds.
//!
//! An item matches when its own text does (title, text, author, tags) or when one of its
//! comments does; `-word` leaves out items whose own text has the word, and comments
//! that have it.

use chrono::{DateTime, NaiveTime, Utc};
use rusqlite::{Connection, OptionalExtension, ToSql, Transaction, named_params};

use super::{StoreError, items, to_ms};
use crate::model::{Item, ItemId, UserId};
use crate::search::{FilterValue, Search};

/// The most matches *Relevance* ranks: the newest ones.
pub const RELEVANCE_WINDOW: usize = 5_000;
/// The most matching comments one search looks through: the newest ones. Comments are
/// found in the order they were written, results are listed in item order, so finding
/// every comment match would sort them all for each page.
pub const COMMENT_WINDOW: usize = 1_000;
/// The most results one page shows.
pub const MAX_PAGE_SIZE: usize = 100;
/// The most saved searches one person keeps.
pub const MAX_SAVED: usize = 50;

/// Marks the start and end of a highlighted word in a [`Hit`]'s snippet (private-use
/// characters, which the snippet's plain text cannot hold: the page escapes the text,
/// then turns them into `<mark>`).
pub const MARK_START: char = '\u{E000}';
pub const MARK_END: char = '\u{E001}';

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Newest,
    Relevance,
}

impl Order {
    pub fn parse(text: &str) -> Option<Order> {
        match text {
            "" | "newest" => Some(Order::Newest),
            "relevance" => Some(Order::Relevance),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Newest => "newest",
            Order::Relevance => "relevance",
        }
    }
}

/// Where the next page starts: after the result with this score (BM25, lower is better;
/// 0 in *Newest*) and id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchCursor {
    pub score: f64,
    pub id: ItemId,
}

impl SearchCursor {
    /// Opaque text for URLs: `<id>` in *Newest*, `<score>_<id>` in *Relevance*.
    pub fn encode(&self, order: Order) -> String {
        match order {
            Order::Newest => self.id.0.to_string(),
            Order::Relevance => format!("{}_{}", self.score, self.id.0),
        }
    }

    pub fn decode(text: &str, order: Order) -> Option<SearchCursor> {
        let (score, id) = match order {
            Order::Newest => (0.0, text),
            Order::Relevance => {
                let (score, id) = text.split_once('_')?;
                let score: f64 = score.parse().ok()?;
                (score.is_finite().then_some(score)?, id)
            }
        };
        Some(SearchCursor {
            score,
            id: ItemId(id.parse().ok()?),
        })
    }
}

/// One search to run.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    pub search: Search,
    /// Who looks: `is:liked` and `is:commented` are about them.
    pub viewer: Option<UserId>,
    pub order: Order,
    pub after: Option<SearchCursor>,
    /// Only items newer than this one (a saved search's new matches).
    pub newer_than: Option<ItemId>,
    pub limit: usize,
}

/// One result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub item: Item,
    /// Where the words were found, with [`MARK_START`]/[`MARK_END`] around each; empty for
    /// a search of filters only.
    pub snippet: String,
    /// The words were found in a comment on the item, not in the item.
    pub in_comment: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    pub next: Option<SearchCursor>,
}

/// A result's key before its item is loaded.
#[derive(Clone, Debug)]
struct Key {
    id: i64,
    score: f64,
    in_comment: bool,
    /// The snippet, when the arm that found the key could make it on the way.
    snippet: Option<String>,
}

/// A page of results. `is:liked`/`is:commented` without a viewer match nothing (the page
/// says so before asking).
pub fn run(conn: &Connection, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let limit = query.limit.clamp(1, MAX_PAGE_SIZE);
    let keys = keys(conn, query, limit + 1)?;
    let more = keys.len() > limit;
    let mut hits = Vec::with_capacity(limit);
    let mut next = None;
    for key in keys.into_iter().take(limit) {
        let item = match items::get(conn, ItemId(key.id)) {
            Ok(item) => item,
            Err(StoreError::NotFound) => continue,
            Err(err) => return Err(err),
        };
        let snippet = match &key.snippet {
            Some(snippet) => snippet.clone(),
            None => snippet(conn, &query.search, &key)?,
        };
        next = Some(SearchCursor {
            score: key.score,
            id: ItemId(key.id),
        });
        hits.push(Hit {
            item,
            snippet,
            in_comment: key.in_comment,
        });
    }
    Ok(SearchPage {
        hits,
        next: next.filter(|_| more),
    })
}

/// How many items match that are newer than `newer_than`, counting up to `cap`.
pub fn count_newer(
    conn: &Connection,
    search: &Search,
    viewer: Option<UserId>,
    newer_than: ItemId,
    cap: usize,
) -> Result<usize, StoreError> {
    let query = SearchQuery {
        search: search.clone(),
        viewer,
        newer_than: Some(newer_than),
        ..SearchQuery::default()
    };
    Ok(keys(conn, &query, cap)?.len())
}

/// The newest matching item's id (0 when none matches).
pub fn newest_match(
    conn: &Connection,
    search: &Search,
    viewer: Option<UserId>,
) -> Result<ItemId, StoreError> {
    let query = SearchQuery {
        search: search.clone(),
        viewer,
        ..SearchQuery::default()
    };
    Ok(ItemId(
        keys(conn, &query, 1)?.first().map_or(0, |key| key.id),
    ))
}

/// Up to `n` result keys in the query's order, from the item index, the comment index,
/// or (for filters alone) the items themselves.
fn keys(conn: &Connection, query: &SearchQuery, n: usize) -> Result<Vec<Key>, StoreError> {
    let search = &query.search;
    let Some(matching) = &search.matching else {
        return scan_keys(conn, query, n);
    };
    let expression = match &search.excluding {
        Some(excluding) => format!("({matching}) NOT ({excluding})"),
        None => matching.clone(),
    };
    let mut found = item_keys(conn, query, &expression, n)?;
    let above = (query.order == Order::Newest && found.len() >= n)
        .then(|| found.last().map(|key| key.id))
        .flatten();
    found.extend(comment_keys(conn, query, matching, n, above)?);
    match query.order {
        Order::Newest => {
            found.sort_by(|a, b| b.id.cmp(&a.id).then(a.in_comment.cmp(&b.in_comment)))
        }
        Order::Relevance => found.sort_by(|a, b| {
            a.score
                .total_cmp(&b.score)
                .then(b.id.cmp(&a.id))
                .then(a.in_comment.cmp(&b.in_comment))
        }),
    }
    // An item found in its text and in a comment is one result (its text's).
    let mut seen = std::collections::HashSet::new();
    found.retain(|key| seen.insert(key.id));
    found.truncate(n);
    Ok(found)
}

/// SQL conditions on `i` (items), `s` (sources) and `u` (users), and their values in order.
struct Conditions {
    sql: String,
    values: Vec<Box<dyn ToSql>>,
}

impl Conditions {
    fn push(&mut self, sql: &str, values: impl IntoIterator<Item = Box<dyn ToSql>>) {
        self.sql.push_str(sql);
        self.values.extend(values);
    }
}

/// What every arm requires: visibility, the filters, the cursor and `newer_than`. The
/// cursor's condition is on `id_column` in *Newest*; in *Relevance* it applies later,
/// to the scores.
fn conditions(query: &SearchQuery, id_column: &str) -> Conditions {
    let mut c = Conditions {
        sql: " AND i.hidden = 0 AND s.deleted_at IS NULL".into(),
        values: Vec::new(),
    };
    let per_service = query.search.filters.iter().any(|filter| {
        !filter.negated
            && filter
                .any_of
                .iter()
                .all(|v| matches!(v, FilterValue::Service(_) | FilterValue::Source(_)))
    });
    if !per_service {
        c.push(" AND i.main_id IS NULL", []);
    }
    // Who may see what (`store::visibility`), its named viewer written positionally.
    let seen = super::visibility::condition(query.viewer);
    let n_viewer = seen.matches(":viewer").count();
    c.push(
        &seen.replace(":viewer", "?"),
        (0..n_viewer).map(|_| boxed(query.viewer.map_or(0, |user| user.0))),
    );
    let viewer = query.viewer.map_or(0, |user| user.0);
    for filter in &query.search.filters {
        c.push(
            if filter.negated {
                " AND NOT ("
            } else {
                " AND ("
            },
            [],
        );
        for (n, value) in filter.any_of.iter().enumerate() {
            if n > 0 {
                c.push(" OR ", []);
            }
            let start_of = |day: chrono::NaiveDate| -> i64 {
                to_ms(DateTime::from_naive_utc_and_offset(
                    day.and_time(NaiveTime::MIN),
                    Utc,
                ))
            };
            match value {
                FilterValue::From(name) => c.push("u.name = ?", [boxed(name.clone())]),
                FilterValue::Service(kind) => c.push("s.kind = ?", [boxed(kind.clone())]),
                FilterValue::Source(id) => c.push("i.source_id = ?", [boxed(*id)]),
                FilterValue::Kind(kind) => c.push("i.kind = ?", [boxed(kind.as_str())]),
                FilterValue::HasMedia => c.push("i.media <> '[]'", []),
                FilterValue::Liked => c.push(
                    "EXISTS (SELECT 1 FROM likes l WHERE l.item_id = i.id AND l.user_id = ?)",
                    [boxed(viewer)],
                ),
                FilterValue::Commented => c.push(
                    "EXISTS (SELECT 1 FROM comments c WHERE c.item_id = i.id AND c.user_id = ?)",
                    [boxed(viewer)],
                ),
                FilterValue::Before(day) => {
                    c.push("i.published_at < ?", [boxed(start_of(*day))]);
                }
                FilterValue::After(day) => {
                    let next = day.succ_opt().unwrap_or(*day);
                    c.push("i.published_at >= ?", [boxed(start_of(next))]);
                }
            }
        }
        c.push(")", []);
    }
    if let Some(newer_than) = query.newer_than {
        c.push(&format!(" AND {id_column} > ?"), [boxed(newer_than.0)]);
    }
    if query.order == Order::Newest
        && let Some(after) = query.after
    {
        c.push(&format!(" AND {id_column} < ?"), [boxed(after.id.0)]);
    }
    c
}

fn boxed<T: ToSql + 'static>(value: T) -> Box<dyn ToSql> {
    Box::new(value)
}

/// In *Relevance*, the condition that keeps results after the cursor, on `score`/`id`.
fn after_score(query: &SearchQuery, c: &mut Conditions) {
    if query.order == Order::Relevance
        && let Some(after) = query.after
    {
        c.push(
            " WHERE score > ? OR (score = ? AND id < ?)",
            [boxed(after.score), boxed(after.score), boxed(after.id.0)],
        );
    }
}

/// Keys of items whose own text matches `expression`.
fn item_keys(
    conn: &Connection,
    query: &SearchQuery,
    expression: &str,
    n: usize,
) -> Result<Vec<Key>, StoreError> {
    // In *Newest* the snippets are made here, where FTS5 stands on each row, for the
    // page's rows only; a lookup of each row by id afterwards walks the word's list again.
    let (snip, mut values) = match query.order {
        Order::Newest => (
            "snippet(items_fts, -1, ?, ?, '…', 24)",
            vec![boxed(MARK_START.to_string()), boxed(MARK_END.to_string())],
        ),
        Order::Relevance => ("NULL", Vec::new()),
    };
    values.push(boxed(expression.to_owned()));
    let mut c = Conditions {
        sql: String::new(),
        values,
    };
    let filters = conditions(query, "f.rowid");
    c.push(&filters.sql, filters.values);
    // BM25 only when ranking: its first call counts the documents holding each word,
    // a pass over the word's whole list (60 ms for a word in every item of a million),
    // where *Newest* reads only a page's worth of it.
    let (window, score) = match query.order {
        Order::Newest => (n, "0.0"),
        Order::Relevance => (RELEVANCE_WINDOW, "bm25(items_fts, 10.0, 1.0, 3.0, 3.0)"),
    };
    let mut sql = format!(
        "SELECT id, score, snip FROM (
            SELECT f.rowid AS id, {score} AS score, {snip} AS snip
            FROM items_fts f
            JOIN items i ON i.id = f.rowid
            JOIN sources s ON s.id = i.source_id
            JOIN users u ON u.id = i.user_id
            WHERE items_fts MATCH ?{filters}
            ORDER BY f.rowid DESC LIMIT {window})",
        filters = c.sql
    );
    c.sql.clear();
    after_score(query, &mut c);
    sql.push_str(&c.sql);
    finish(conn, query, sql, c.values, n, false)
}

/// Keys of items one of whose comments (among the [`COMMENT_WINDOW`] newest that match)
/// matches `matching` (and not the excluded words, in the comment or in the item's own
/// text). `above`: only items with a greater id can still make the page (the item arm
/// filled it down to that id), so the others are dropped before their rows are read.
fn comment_keys(
    conn: &Connection,
    query: &SearchQuery,
    matching: &str,
    n: usize,
    above: Option<i64>,
) -> Result<Vec<Key>, StoreError> {
    let expression = match &query.search.excluding {
        Some(excluding) => format!("({matching}) NOT ({excluding})"),
        None => matching.to_owned(),
    };
    let mut c = Conditions {
        sql: String::new(),
        values: vec![boxed(expression)],
    };
    if let Some(above) = above {
        c.push(" AND c.item_id > ?", [boxed(above)]);
    }
    let filters = conditions(query, "i.id");
    c.push(&filters.sql, filters.values);
    if let Some(excluding) = &query.search.excluding {
        c.push(
            " AND NOT EXISTS (SELECT 1 FROM items_fts(?) x WHERE x.rowid = i.id)",
            [boxed(excluding.clone())],
        );
    }
    let (window, score) = match query.order {
        Order::Newest => (n, "0.0"),
        Order::Relevance => (RELEVANCE_WINDOW, "bm25(comments_fts)"),
    };
    // The newest matching comments come from the index alone; only then are their rows
    // and items read. Materialized: SQLite cannot run bm25() inside the grouping.
    let mut sql = format!(
        "WITH recent AS MATERIALIZED (
            SELECT rowid AS comment_id, {score} AS score FROM comments_fts
            WHERE comments_fts MATCH ? ORDER BY rowid DESC LIMIT {COMMENT_WINDOW}),
        matched AS MATERIALIZED (
            SELECT i.id AS id, recent.score AS score
            FROM recent
            JOIN comments c ON c.id = recent.comment_id
            JOIN items i ON i.id = c.item_id
            JOIN sources s ON s.id = i.source_id
            JOIN users u ON u.id = i.user_id
            WHERE 1{filters})
        SELECT id, score, NULL AS snip FROM (
            SELECT id, min(score) AS score FROM matched
            GROUP BY id ORDER BY id DESC LIMIT {window})",
        filters = c.sql
    );
    c.sql.clear();
    after_score(query, &mut c);
    sql.push_str(&c.sql);
    finish(conn, query, sql, c.values, n, true)
}

/// Keys of a search of filters (and excluded words) only: the newest items that pass.
fn scan_keys(conn: &Connection, query: &SearchQuery, n: usize) -> Result<Vec<Key>, StoreError> {
    let mut c = conditions(query, "i.id");
    if let Some(excluding) = &query.search.excluding {
        c.push(
            " AND NOT EXISTS (SELECT 1 FROM items_fts(?) x WHERE x.rowid = i.id)",
            [boxed(excluding.clone())],
        );
    }
    let sql = format!(
        "SELECT i.id AS id, 0.0 AS score, NULL AS snip FROM items i
         JOIN sources s ON s.id = i.source_id
         JOIN users u ON u.id = i.user_id
         WHERE 1{}",
        c.sql
    );
    let newest = SearchQuery {
        order: Order::Newest,
        ..query.clone()
    };
    finish(conn, &newest, sql, c.values, n, false)
}

/// Orders and limits `sql` (which selects `id`, `score` and `snip`) and runs it.
fn finish(
    conn: &Connection,
    query: &SearchQuery,
    mut sql: String,
    values: Vec<Box<dyn ToSql>>,
    n: usize,
    in_comment: bool,
) -> Result<Vec<Key>, StoreError> {
    sql.push_str(match query.order {
        Order::Newest => " ORDER BY id DESC",
        Order::Relevance => " ORDER BY score, id DESC",
    });
    sql.push_str(&format!(" LIMIT {n}"));
    let mut stmt = conn.prepare_cached(&sql)?;
    let params: Vec<&dyn ToSql> = values.iter().map(|value| value.as_ref()).collect();
    let keys = stmt
        .query_map(params.as_slice(), |row| {
            Ok(Key {
                id: row.get(0)?,
                score: row.get(1)?,
                in_comment,
                snippet: row.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

/// The words of the search where a result holds them: in the item's text, or in the
/// best-matching of its comments.
fn snippet(conn: &Connection, search: &Search, key: &Key) -> Result<String, StoreError> {
    let Some(matching) = &search.matching else {
        return Ok(String::new());
    };
    let (start, end) = (MARK_START.to_string(), MARK_END.to_string());
    let found: Option<String> = if key.in_comment {
        conn.prepare_cached(
            "SELECT snippet(comments_fts, 0, :start, :end, '…', 24)
             FROM comments_fts JOIN comments c ON c.id = comments_fts.rowid
             WHERE comments_fts MATCH :matching AND c.item_id = :item
             ORDER BY bm25(comments_fts) LIMIT 1",
        )?
        .query_row(
            named_params! { ":start": start, ":end": end, ":matching": matching, ":item": key.id },
            |row| row.get(0),
        )
        .optional()?
    } else {
        conn.prepare_cached(
            "SELECT snippet(items_fts, -1, :start, :end, '…', 24)
             FROM items_fts WHERE items_fts MATCH :matching AND rowid = :item",
        )?
        .query_row(
            named_params! { ":start": start, ":end": end, ":matching": matching, ":item": key.id },
            |row| row.get(0),
        )
        .optional()?
    };
    Ok(found.unwrap_or_default())
}

/// A saved search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub query: String,
    /// The newest matching item when its owner last opened it.
    pub seen_item_id: ItemId,
}

/// `user`'s saved searches, in the order they were saved.
pub fn saved_of(conn: &Connection, user: UserId) -> Result<Vec<Saved>, StoreError> {
    let saved = conn
        .prepare_cached(
            "SELECT id, user_id, name, query, seen_item_id FROM saved_searches
             WHERE user_id = :user ORDER BY id",
        )?
        .query_map(named_params! { ":user": user.0 }, saved_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(saved)
}

/// Every saved search of the instance (new items are checked against them).
pub fn all_saved(conn: &Connection) -> Result<Vec<Saved>, StoreError> {
    let saved = conn
        .prepare_cached(
            "SELECT id, user_id, name, query, seen_item_id FROM saved_searches ORDER BY id",
        )?
        .query_map([], saved_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(saved)
}

/// `user`'s saved search `id`.
pub fn saved(conn: &Connection, user: UserId, id: i64) -> Result<Saved, StoreError> {
    conn.prepare_cached(
        "SELECT id, user_id, name, query, seen_item_id FROM saved_searches
         WHERE id = :id AND user_id = :user",
    )?
    .query_row(named_params! { ":id": id, ":user": user.0 }, saved_from_row)
    .optional()?
    .ok_or(StoreError::NotFound)
}

fn saved_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Saved> {
    Ok(Saved {
        id: row.get(0)?,
        user_id: UserId(row.get(1)?),
        name: row.get(2)?,
        query: row.get(3)?,
        seen_item_id: ItemId(row.get(4)?),
    })
}

/// Saves `query` for `user` under `name`, seen up to `seen`; the same query saved again
/// is renamed. `Conflict` past [`MAX_SAVED`].
pub fn save(
    tx: &Transaction<'_>,
    user: UserId,
    name: &str,
    query: &str,
    seen: ItemId,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM saved_searches WHERE user_id = :user")?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))?;
    let exists: Option<i64> = tx
        .prepare_cached("SELECT id FROM saved_searches WHERE user_id = :user AND query = :query")?
        .query_row(named_params! { ":user": user.0, ":query": query }, |row| {
            row.get(0)
        })
        .optional()?;
    if let Some(id) = exists {
        tx.prepare_cached("UPDATE saved_searches SET name = :name WHERE id = :id")?
            .execute(named_params! { ":name": name, ":id": id })?;
        return Ok(id);
    }
    if n as usize >= MAX_SAVED {
        return Err(StoreError::Conflict(format!(
            "You can keep at most {MAX_SAVED} saved searches; remove one first."
        )));
    }
    tx.prepare_cached(
        "INSERT INTO saved_searches (user_id, name, query, created_at, seen_item_id, seen_at)
         VALUES (:user, :name, :query, :now, :seen, :now)",
    )?
    .execute(named_params! {
        ":user": user.0, ":name": name, ":query": query, ":now": to_ms(now), ":seen": seen.0,
    })?;
    Ok(tx.last_insert_rowid())
}

/// Removes `user`'s saved search `id` (and its notifications); `NotFound` if none.
pub fn unsave(tx: &Transaction<'_>, user: UserId, id: i64) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM saved_searches WHERE id = :id AND user_id = :user")?
        .execute(named_params! { ":id": id, ":user": user.0 })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records that `user` saw saved search `id`'s matches up to `seen`.
pub fn mark_seen(
    tx: &Transaction<'_>,
    user: UserId,
    id: i64,
    seen: ItemId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE saved_searches SET seen_item_id = max(seen_item_id, :seen), seen_at = :now
         WHERE id = :id AND user_id = :user",
    )?
    .execute(named_params! { ":id": id, ":user": user.0, ":seen": seen.0, ":now": to_ms(now) })?;
    Ok(())
}

/// After new items were stored (their ids all above `newer_than`): each saved search
/// that one of them matches tells its owner, once until they read it.
pub fn new_items(
    tx: &Transaction<'_>,
    newer_than: ItemId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let saved = all_saved(tx)?;
    for one in saved {
        // A query saved by an older version that no longer parses matches nothing.
        let Ok(search) = crate::search::parse(&one.query) else {
            continue;
        };
        if count_newer(tx, &search, Some(one.user_id), newer_than, 1)? > 0 {
            super::notifications::saved_search_matched(tx, one.user_id, one.id, now)?;
        }
    }
    Ok(())
}
