//! The `items` table: upsert from a poll, tombstones, keyset-paginated streams.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{Cursor, Item, ItemId, ItemKind, NewItem, Page, SafeHtml, SourceId, UserId};
use crate::social::Visibility;

/// The most items one page of a stream may ask for.
pub const MAX_PAGE_SIZE: usize = 200;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpsertReport {
    pub new_ids: Vec<ItemId>,
    /// Items that changed upstream (same id, new content).
    pub updated_ids: Vec<ItemId>,
    pub n_updated: usize,
    pub n_unchanged: usize,
    /// Items deleted on purpose earlier, not brought back.
    pub n_tombstoned: usize,
}

/// Stores a poll's items for one source: inserts new ones, updates changed ones in place
/// (same id, so comments and likes stay attached), skips unchanged and tombstoned ones.
/// Runs inside the caller's transaction: a poll is one transaction.
pub fn upsert(
    tx: &Transaction<'_>,
    source: SourceId,
    user: UserId,
    items: &[NewItem],
    fetched_at: DateTime<Utc>,
) -> Result<UpsertReport, StoreError> {
    let mut report = UpsertReport::default();
    let mut tombstoned = tx.prepare_cached(
        "SELECT 1 FROM item_tombstones WHERE source_id = :source AND external_id = :external_id",
    )?;
    let mut existing = tx.prepare_cached(
        "SELECT id, content_hash FROM items WHERE source_id = :source AND external_id = :external_id",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO items (source_id, user_id, external_id, url, canonical_url, dedup_key, title,
            author_name, author_url, content_html, summary_text, kind, media, tags, in_reply_to,
            extra, published_at, updated_at, fetched_at, bumped_at, content_hash)
         VALUES (:source, :user, :external_id, :url, :canonical_url, :dedup_key, :title,
            :author_name, :author_url, :content_html, :summary_text, :kind, :media, :tags,
            :in_reply_to, :extra, :published_at, :updated_at, :fetched_at, :published_at,
            :content_hash)",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE items SET url = :url, canonical_url = :canonical_url, dedup_key = :dedup_key,
            title = :title, author_name = :author_name, author_url = :author_url,
            content_html = :content_html, summary_text = :summary_text, kind = :kind,
            media = :media, tags = :tags, in_reply_to = :in_reply_to, extra = :extra,
            published_at = :published_at, updated_at = :updated_at, fetched_at = :fetched_at,
            content_hash = :content_hash
         WHERE id = :id",
    )?;
    for item in items {
        let key = named_params! { ":source": source.0, ":external_id": item.external_id };
        if tombstoned.exists(key)? {
            report.n_tombstoned += 1;
            continue;
        }
        let found: Option<(i64, Vec<u8>)> = existing
            .query_row(key, |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let media = serde_json::to_string(&item.media).unwrap_or_else(|_| "[]".into());
        let tags = serde_json::to_string(&item.tags).unwrap_or_else(|_| "[]".into());
        let extra = serde_json::Value::Object(item.extra.clone()).to_string();
        let url = item.url.as_ref().map(|u| u.as_str());
        let canonical_url = item.canonical_url.as_ref().map(|u| u.as_str());
        let author_url = item.author_url.as_ref().map(|u| u.as_str());
        let in_reply_to = item.in_reply_to.as_ref().map(|u| u.as_str());
        let (published_at, updated_at) = (to_ms(item.published_at), item.updated_at.map(to_ms));
        let fetched_ms = to_ms(fetched_at);
        // What an insert and an update both write.
        let fields = named_params! {
            ":url": url,
            ":canonical_url": canonical_url,
            ":dedup_key": item.dedup_key,
            ":title": item.title,
            ":author_name": item.author_name,
            ":author_url": author_url,
            ":content_html": item.content.as_str(),
            ":summary_text": item.summary_text,
            ":kind": item.kind.as_str(),
            ":media": media,
            ":tags": tags,
            ":in_reply_to": in_reply_to,
            ":extra": extra,
            ":published_at": published_at,
            ":updated_at": updated_at,
            ":fetched_at": fetched_ms,
            ":content_hash": &item.content_hash[..],
        };
        match found {
            None => {
                let owner = named_params! {
                    ":source": source.0,
                    ":user": user.0,
                    ":external_id": item.external_id,
                };
                insert.execute([owner, fields].concat().as_slice())?;
                report.new_ids.push(ItemId(tx.last_insert_rowid()));
            }
            Some((_, hash)) if hash == item.content_hash => report.n_unchanged += 1,
            Some((id, _)) => {
                update.execute([named_params! { ":id": id }, fields].concat().as_slice())?;
                report.n_updated += 1;
                report.updated_ids.push(ItemId(id));
            }
        }
    }
    index_new(tx, &report.new_ids)?;
    if let Some(first) = report.new_ids.iter().map(|id| id.0).min() {
        super::search::new_items(tx, ItemId(first - 1), fetched_at)?;
    }
    let written = [&report.new_ids[..], &report.updated_ids[..]].concat();
    super::also_on::index_and_regroup(tx, user, &written)?;
    Ok(report)
}

/// Adds new items to the full-text index in one statement (see migration 0004).
fn index_new(tx: &Transaction<'_>, ids: &[ItemId]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(&ids.iter().map(|id| id.0).collect::<Vec<i64>>())
        .unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO items_fts (rowid, title, summary_text, author_name, tags)
         SELECT id, title, summary_text, author_name, tags FROM items
         WHERE id IN (SELECT value FROM json_each(:ids))",
    )?
    .execute(named_params! { ":ids": ids })?;
    Ok(())
}

/// Deletes an item on purpose: it leaves every page and a tombstone keeps re-polls from
/// bringing it back. The row stays, so comments and likes on it are kept.
pub fn tombstone(tx: &Transaction<'_>, id: ItemId, now: DateTime<Utc>) -> Result<(), StoreError> {
    // Followers elsewhere hear of it (a `Delete`), in the same transaction.
    if let Some(user) = tx
        .prepare_cached("SELECT user_id FROM items WHERE id = :id")?
        .query_row(named_params! { ":id": id.0 }, |row| row.get::<_, i64>(0))
        .optional()?
    {
        super::federation::queue_items(
            tx,
            UserId(user),
            &[id],
            super::federation::Verb::Delete,
            now,
        )?;
    }
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO item_tombstones (source_id, external_id, deleted_at)
             SELECT source_id, external_id, :now FROM items WHERE id = :id",
        )?
        .execute(named_params! { ":id": id.0, ":now": to_ms(now) })?;
    tx.prepare_cached("UPDATE items SET hidden = 1 WHERE id = :id")?
        .execute(named_params! { ":id": id.0 })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    // Its copies elsewhere stay: the next one becomes the main.
    super::also_on::leave(tx, id)?;
    Ok(())
}

/// Which items a stream page shows.
#[derive(Clone, Debug, Default)]
pub struct StreamQuery {
    /// One user's stream, or everyone's.
    pub user: Option<UserId>,
    /// Only items from sources of this kind.
    pub source_kind: Option<String>,
    /// Only items from this one source.
    pub source: Option<SourceId>,
    /// Only items of the people this user follows (their friends stream).
    pub followed_by: Option<UserId>,
    /// Only items this user liked (a like on one of a main's copies counts for the main).
    pub liked_by: Option<UserId>,
    /// Only items this user commented on (on the item or one of its copies).
    pub commented_by: Option<UserId>,
    /// FriendFeed's discussions of this user: the items they commented on, and their own
    /// items somebody else commented on (on the item or one of its copies).
    pub discussions_of: Option<UserId>,
    /// Who looks: only what they may see is read (`store::visibility`). `None` is an
    /// anonymous viewer, who sees public items only.
    pub viewer: Option<UserId>,
    /// Also this user's hidden items (their own view of their stream). Tombstoned items
    /// stay out: they were deleted on purpose.
    pub include_hidden_of: Option<UserId>,
    pub before: Option<Cursor>,
    /// Items strictly newer than this (the "Newer" link), read forward from it; the page
    /// still lists them newest first. Ignored when `before` is set.
    pub after: Option<Cursor>,
    pub limit: usize,
}

const COLUMNS: &str = "i.id, i.user_id, u.name, i.source_id, s.kind, s.title, i.external_id,
    i.url, i.title, i.author_name, i.content_html, i.summary_text, i.kind, i.media, i.tags,
    i.published_at, i.updated_at, i.fetched_at, i.bumped_at, i.extra, i.deleted_upstream_at,
    u.avatar_url, s.icon_hash, i.visibility, i.own_visibility";

/// Visible items, newest bump first, strictly older than `before` or strictly newer than
/// `after` (keyset pagination on `(bumped_at, id)`, stable while new items arrive).
pub fn stream_page(conn: &Connection, query: &StreamQuery) -> Result<Page<Item>, StoreError> {
    if let Some(follower) = query.followed_by {
        return friends_page(conn, query, follower);
    }
    let limit = query.limit.clamp(1, MAX_PAGE_SIZE);
    let items = stream_rows(conn, query, limit, COLUMNS, from_row)?;
    Ok(page_of(items, limit, false, query))
}

/// Whether `query` reads forward (oldest first, from its `after` cursor).
fn reads_forward(query: &StreamQuery) -> bool {
    query.before.is_none() && query.after.is_some()
}

/// Up to `limit + 1` rows of the stream `query` describes (ignoring `followed_by`), newest
/// bump first, or oldest first when it reads forward, as `columns` mapped by `map_row`.
fn stream_rows<T>(
    conn: &Connection,
    query: &StreamQuery,
    limit: usize,
    columns: &str,
    map_row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    // Only the conditions this query needs, so that SQLite can walk the right index
    // (`items_user_bumped` for one user, `items_bumped` otherwise) in bump order.
    let mut sql = format!(
        "SELECT {columns} FROM items i
         JOIN sources s ON s.id = i.source_id
         JOIN users u ON u.id = i.user_id
         WHERE s.deleted_at IS NULL"
    );
    // One card per post: the copies of a post elsewhere are links on its main's card,
    // except in a service's own stream, which shows every item of the service.
    if query.source_kind.is_none() && query.source.is_none() {
        sql.push_str(" AND i.main_id IS NULL");
    }
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = Vec::new();
    let hidden_of = query.include_hidden_of.map(|u| u.0);
    if let Some(hidden_of) = &hidden_of {
        sql.push_str(
            " AND (i.hidden = 0 OR (i.user_id = :hidden_of AND NOT EXISTS (
                SELECT 1 FROM item_tombstones t
                WHERE t.source_id = i.source_id AND t.external_id = i.external_id)))",
        );
        params.push((":hidden_of", hidden_of));
    } else {
        sql.push_str(" AND i.hidden = 0");
    }
    let user = query.user.map(|u| u.0);
    let level;
    let viewer = query.viewer.map(|u| u.0);
    if let Some(user) = &user {
        sql.push_str(" AND i.user_id = :user");
        params.push((":user", user));
        // One owner: the level this viewer may see, read once, compared in the index.
        let Some(found) = super::visibility::level(conn, UserId(*user), query.viewer)? else {
            return Ok(Vec::new());
        };
        level = found;
        sql.push_str(" AND i.visibility <= :level");
        params.push((":level", &level));
    } else {
        sql.push_str(super::visibility::condition(query.viewer));
        if let Some(viewer) = &viewer {
            params.push((":viewer", viewer));
        }
    }
    if let Some(kind) = &query.source_kind {
        sql.push_str(" AND s.kind = :kind");
        params.push((":kind", kind));
    }
    let source = query.source.map(|s| s.0);
    if let Some(source) = &source {
        sql.push_str(" AND i.source_id = :source");
        params.push((":source", source));
    }
    let liked_by = query.liked_by.map(|u| u.0);
    if let Some(liked_by) = &liked_by {
        sql.push_str(
            // Two EXISTS, the copies' joined item first (CROSS JOIN keeps that order), so
            // each is a primary-key probe rather than a walk over the user's likes.
            " AND (EXISTS (SELECT 1 FROM likes l WHERE l.item_id = i.id AND l.user_id = :liked_by)
                OR EXISTS (SELECT 1 FROM items c CROSS JOIN likes l
                    ON l.item_id = c.id AND l.user_id = :liked_by WHERE c.main_id = i.id))",
        );
        params.push((":liked_by", liked_by));
    }
    let commented_by = query.commented_by.map(|u| u.0);
    if let Some(commented_by) = &commented_by {
        sql.push_str(
            " AND (EXISTS (SELECT 1 FROM comments c
                    WHERE c.item_id = i.id AND c.user_id = :commented_by)
                OR EXISTS (SELECT 1 FROM items o CROSS JOIN comments c
                    ON c.item_id = o.id AND c.user_id = :commented_by WHERE o.main_id = i.id))",
        );
        params.push((":commented_by", commented_by));
    }
    let discussions_of = query.discussions_of.map(|u| u.0);
    if let Some(discussions_of) = &discussions_of {
        sql.push_str(
            " AND (EXISTS (SELECT 1 FROM comments c
                    WHERE c.item_id = i.id AND (c.user_id = :discussions_of
                        OR (i.user_id = :discussions_of AND c.user_id IS NOT :discussions_of)))
                OR EXISTS (SELECT 1 FROM items o CROSS JOIN comments c
                    ON c.item_id = o.id WHERE o.main_id = i.id AND (c.user_id = :discussions_of
                        OR (i.user_id = :discussions_of AND c.user_id IS NOT :discussions_of))))",
        );
        params.push((":discussions_of", discussions_of));
    }
    let forward = reads_forward(query);
    let cursor = query
        .before
        .or(query.after)
        .map(|c| (c.bumped_at_ms, c.id.0));
    if let Some((cursor_ms, cursor_id)) = &cursor {
        sql.push_str(if forward {
            " AND (i.bumped_at, i.id) > (:cursor_ms, :cursor_id)"
        } else {
            " AND (i.bumped_at, i.id) < (:cursor_ms, :cursor_id)"
        });
        params.push((":cursor_ms", cursor_ms));
        params.push((":cursor_id", cursor_id));
    }
    sql.push_str(if forward {
        " ORDER BY i.bumped_at ASC, i.id ASC LIMIT :limit"
    } else {
        " ORDER BY i.bumped_at DESC, i.id DESC LIMIT :limit"
    });
    let limit_plus_one = limit as i64 + 1;
    params.push((":limit", &limit_plus_one));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params.as_slice(), map_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The first `limit` of `items` (in `query`'s reading order) as a page, newest first. It
/// links on in the reading direction when more items were read than fit, or when `more`
/// says others exist, and back towards its cursor when it has one.
fn page_of(mut items: Vec<Item>, limit: usize, more: bool, query: &StreamQuery) -> Page<Item> {
    let more = more || items.len() > limit;
    items.truncate(limit);
    let forward = reads_forward(query);
    if forward {
        items.reverse();
    }
    let cursor_of = |item: &Item| Cursor {
        bumped_at_ms: to_ms(item.bumped_at),
        id: item.id,
    };
    // Older items exist when a backward read found more, or when a forward read started
    // from a cursor (the item at the cursor is older). Newer ones likewise.
    let (older, newer) = if forward {
        (true, more)
    } else {
        (more, query.before.is_some())
    };
    let next = items.last().map(cursor_of).filter(|_| older);
    let prev = items.first().map(cursor_of).filter(|_| newer);
    Page { items, next, prev }
}

/// The stream of everyone `follower` follows: the keys of each one's own page (which
/// walks their `items_user_bumped` entries), merged, then the full rows of the page's
/// items only. Bounded by followees × page size however large the instance is, where one
/// query over everybody's items in bump order is not.
fn friends_page(
    conn: &Connection,
    query: &StreamQuery,
    follower: UserId,
) -> Result<Page<Item>, StoreError> {
    let limit = query.limit.clamp(1, MAX_PAGE_SIZE);
    let followees = conn
        .prepare_cached("SELECT followee_id FROM follows WHERE follower_id = :follower")?
        .query_map(named_params! { ":follower": follower.0 }, |row| {
            row.get(0).map(UserId)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys: Vec<(i64, i64)> = Vec::new();
    let mut more = false;
    for followee in followees {
        if query.user.is_some_and(|user| user != followee) {
            continue;
        }
        let one = StreamQuery {
            user: Some(followee),
            followed_by: None,
            ..query.clone()
        };
        let mut rows = stream_rows(conn, &one, limit, "i.bumped_at, i.id", |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        more |= rows.len() > limit;
        rows.truncate(limit);
        keys.extend(rows);
    }
    if reads_forward(query) {
        keys.sort_unstable();
    } else {
        keys.sort_unstable_by(|a, b| b.cmp(a));
    }
    more |= keys.len() > limit;
    keys.truncate(limit);
    let mut items = Vec::with_capacity(keys.len());
    for (_, id) in keys {
        match get(conn, ItemId(id)) {
            Ok(item) => items.push(item),
            // Deleted since the keys were read.
            Err(StoreError::NotFound) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(page_of(items, limit, more, query))
}

pub fn get(conn: &Connection, id: ItemId) -> Result<Item, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM items i
         JOIN sources s ON s.id = i.source_id
         JOIN users u ON u.id = i.user_id
         WHERE i.id = :id"
    ))?
    .query_row(named_params! { ":id": id.0 }, from_row)
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// Every item of a source, visible or not, oldest first (for tests and exports).
pub fn of_source(conn: &Connection, source: SourceId) -> Result<Vec<Item>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM items i
         JOIN sources s ON s.id = i.source_id
         JOIN users u ON u.id = i.user_id
         WHERE i.source_id = :source ORDER BY i.published_at, i.id"
    ))?;
    let items = stmt
        .query_map(named_params! { ":source": source.0 }, from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Item> {
    let url: Option<String> = row.get(7)?;
    let kind: String = row.get(12)?;
    let media: String = row.get(13)?;
    let tags: String = row.get(14)?;
    Ok(Item {
        id: ItemId(row.get(0)?),
        user_id: UserId(row.get(1)?),
        user_name: row.get(2)?,
        user_avatar: row.get(21)?,
        source_icon: row.get(22)?,
        source_id: SourceId(row.get(3)?),
        source_kind: row.get(4)?,
        source_title: row.get(5)?,
        external_id: row.get(6)?,
        url: url.and_then(|u| url::Url::parse(&u).ok()),
        title: row.get(8)?,
        author_name: row.get(9)?,
        content: SafeHtml::assume_sanitized(row.get(10)?),
        summary_text: row.get(11)?,
        kind: ItemKind::parse(&kind).unwrap_or_default(),
        media: serde_json::from_str(&media).unwrap_or_default(),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        published_at: from_ms(row.get(15)?),
        updated_at: row.get::<_, Option<i64>>(16)?.map(from_ms),
        fetched_at: from_ms(row.get(17)?),
        bumped_at: from_ms(row.get(18)?),
        visibility: Visibility::from_i64(row.get(23)?),
        own_visibility: Visibility::from_i64(row.get(24)?),
        extra: {
            let mut extra: serde_json::Map<String, serde_json::Value> = row
                .get::<_, Option<String>>(19)?
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default();
            // A source that keeps items deleted upstream shows them marked: the mark rides
            // in `extra` (never stored there, so it is not part of the content hash).
            if let Some(at) = row.get::<_, Option<i64>>(20)? {
                extra.insert(DELETED_UPSTREAM.into(), serde_json::Value::from(at));
            }
            extra
        },
    })
}

/// The key of `Item::extra` that says when a kept item was deleted upstream (ms).
pub const DELETED_UPSTREAM: &str = "deleted_upstream_at";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{temp_store, user_with_feed};

    fn item(external_id: &str, title: &str, text: &str, hash: u8) -> NewItem {
        NewItem {
            external_id: external_id.into(),
            url: None,
            canonical_url: None,
            dedup_key: format!("id:{external_id}"),
            title: title.into(),
            author_name: None,
            author_url: None,
            content: SafeHtml::assume_sanitized(format!("<p>{text}</p>")),
            summary_text: text.into(),
            kind: ItemKind::Note,
            media: Vec::new(),
            tags: Vec::new(),
            in_reply_to: None,
            extra: serde_json::Map::new(),
            published_at: Utc::now(),
            updated_at: None,
            content_hash: [hash; 32],
        }
    }

    #[test]
    fn visible_counts_follow_inserts_hides_tombstones_and_removed_sources() {
        use crate::store::export::{Scope, count};
        use crate::store::social::{hide, profile_counts, unhide};
        let (_dir, store) = temp_store();
        let (user, feed) = user_with_feed(&store, "ana");
        let items: Vec<NewItem> = (0..5)
            .map(|n| item(&format!("i{n}"), "t", "x", n as u8))
            .collect();
        let ids = store
            .write_blocking(|tx| upsert(tx, feed, user, &items, Utc::now()))
            .unwrap()
            .new_ids;
        let counted = |store: &crate::store::Store| {
            store
                .read_blocking(|conn| {
                    let shown = profile_counts(conn, user)?.n_items;
                    let exported = count(conn, &Scope::User(user))?;
                    let real: i64 = conn.query_row(
                        "SELECT count(*) FROM items i JOIN sources s ON s.id = i.source_id
                         WHERE i.user_id = ?1 AND i.hidden = 0 AND s.deleted_at IS NULL",
                        [user.0],
                        |row| row.get(0),
                    )?;
                    Ok((shown, exported, real as u64))
                })
                .unwrap()
        };
        assert_eq!(counted(&store), (5, 5, 5));
        store.write_blocking(|tx| hide(tx, ids[0])).unwrap();
        store
            .write_blocking(|tx| tombstone(tx, ids[1], Utc::now()))
            .unwrap();
        assert_eq!(counted(&store), (3, 3, 3));
        store
            .write_blocking(|tx| unhide(tx, ids[0]).map(|_| ()))
            .unwrap();
        assert_eq!(counted(&store), (4, 4, 4));
        // A re-poll that updates an item in place changes no count.
        let mut changed = items[2].clone();
        changed.content_hash = [99; 32];
        store
            .write_blocking(|tx| upsert(tx, feed, user, &[changed], Utc::now()))
            .unwrap();
        assert_eq!(counted(&store), (4, 4, 4));
        store
            .write_blocking(|tx| crate::store::sources::remove(tx, feed, Utc::now()))
            .unwrap();
        assert_eq!(counted(&store), (0, 0, 0));
    }

    fn search(conn: &Connection, query: &str) -> Vec<i64> {
        let mut stmt = conn
            .prepare("SELECT rowid FROM items_fts WHERE items_fts MATCH ?1 ORDER BY rowid")
            .unwrap();
        stmt.query_map([query], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn fts_index_follows_inserts_and_updates() {
        let (_dir, store) = temp_store();
        let (user, source) = user_with_feed(&store, "ana");
        let report = store
            .write_blocking(|tx| {
                upsert(
                    tx,
                    source,
                    user,
                    &[item("1", "Kayaking trip", "river and rapids", 1)],
                    Utc::now(),
                )
            })
            .unwrap();
        let id = report.new_ids[0].0;
        store
            .read_blocking(|conn| {
                assert_eq!(search(conn, "kayaking"), [id]);
                assert_eq!(search(conn, "rapids"), [id]);
                Ok(())
            })
            .unwrap();
        let report = store
            .write_blocking(|tx| {
                upsert(
                    tx,
                    source,
                    user,
                    &[item("1", "Climbing trip", "granite walls", 2)],
                    Utc::now(),
                )
            })
            .unwrap();
        assert_eq!(report.n_updated, 1);
        store
            .read_blocking(|conn| {
                assert!(search(conn, "kayaking").is_empty());
                assert_eq!(search(conn, "granite"), [id]);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn pages_walk_every_item_once() {
        let (_dir, store) = temp_store();
        let (user, source) = user_with_feed(&store, "ana");
        let same_time = Utc::now();
        let items: Vec<NewItem> = (0..25)
            .map(|n| NewItem {
                published_at: same_time,
                ..item(&n.to_string(), "t", "x", 0)
            })
            .collect();
        store
            .write_blocking(|tx| upsert(tx, source, user, &items, Utc::now()))
            .unwrap();
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .read_blocking(|conn| {
                    stream_page(
                        conn,
                        &StreamQuery {
                            user: Some(user),
                            before,
                            limit: 10,
                            ..Default::default()
                        },
                    )
                })
                .unwrap();
            seen.extend(page.items.iter().map(|i| i.id));
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (25, 25));
    }
}
