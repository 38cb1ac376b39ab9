//! Reads for exports: a stream's archive pages counted from the oldest item, comment
//! counts and the last activity a document shows; plus adding the sources of an OPML
//! import. SQL only; the documents are written by `export`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, named_params};

use super::{StoreError, from_ms, items, sources};
use crate::export::opml::PlannedSource;
use crate::export::{Block, ExportComment, ExportItem, block};
use crate::model::{CommentId, ItemId, SourceId, UserId};

/// Which stream a feed exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything of one user.
    User(UserId),
    /// One user's items from sources of one kind (`/{user}/{service}/feed.atom`).
    Service(UserId, String),
    /// The items of everyone the user follows.
    Friends(UserId),
    /// One user's items from one of their sources (`/{user}/source/{id}/feed.atom`).
    Source(UserId, SourceId),
}

/// One document's worth of a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportPage {
    /// Newest first.
    pub entries: Vec<ExportItem>,
    pub block: Block,
    /// The latest insert, edit or comment among the entries.
    pub last_activity: Option<DateTime<Utc>>,
}

/// What [`add_sources`] did with one planned source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    Added(SourceId),
    AlreadyPresent,
}

/// The subscription document (`page == None`) or archive page `page` of a stream, read
/// in one snapshot so the count and the rows agree. `NotFound` for a page that does not
/// exist yet.
pub fn page(conn: &Connection, scope: &Scope, page: Option<u64>) -> Result<ExportPage, StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let n_items = count(&snapshot, scope)?;
    let block = block(n_items, page).ok_or(StoreError::NotFound)?;
    let (filter, params) = scope_filter(scope);
    // The subscription document is the newest `limit` rows: read backwards from the end
    // instead of skipping everything before them. Archive pages skip index entries only.
    let newest_first = block.page.is_none();
    let order = if newest_first {
        "ORDER BY i.id DESC LIMIT :limit"
    } else {
        "ORDER BY i.id LIMIT :limit OFFSET :offset"
    };
    let sql = format!(
        "SELECT i.id FROM items i INDEXED BY items_user_visible WHERE {filter} AND i.visibility = 0 {order}"
    );
    let limit = block.limit as i64;
    let offset = block.offset as i64;
    let mut all: Vec<(&str, &dyn rusqlite::ToSql)> = params.clone();
    all.push((":limit", &limit));
    if !newest_first {
        all.push((":offset", &offset));
    }
    let mut stmt = snapshot.prepare_cached(&sql)?;
    let mut ids = stmt
        .query_map(all.as_slice(), |row| row.get(0).map(ItemId))?
        .collect::<Result<Vec<_>, _>>()?;
    if !newest_first {
        ids.reverse();
    }
    let mut entries = Vec::with_capacity(ids.len());
    let mut last_activity: Option<DateTime<Utc>> = None;
    for id in ids {
        let item = items::get(&snapshot, id)?;
        let (n_comments, comment_activity) = comment_stats(&snapshot, id)?;
        let activity = comment_activity.map_or(item.fetched_at, |at| at.max(item.fetched_at));
        last_activity = Some(last_activity.map_or(activity, |at| at.max(activity)));
        entries.push(ExportItem { item, n_comments });
    }
    drop(stmt);
    snapshot.finish()?;
    Ok(ExportPage {
        entries,
        block,
        last_activity,
    })
}

/// Whether `user` has a source of `kind` (not removed): only then does the stream
/// `/{user}/{kind}` exist.
pub fn has_service(conn: &Connection, user: UserId, kind: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sources
             WHERE user_id = :user AND kind = :kind AND deleted_at IS NULL)",
        )?
        .query_row(named_params! { ":user": user.0, ":kind": kind }, |row| {
            row.get(0)
        })?)
}

/// Public visible items in the stream: the sum of its sources' counters, less the items
/// that are not public.
pub fn count(conn: &Connection, scope: &Scope) -> Result<u64, StoreError> {
    let mut stmt = match scope {
        Scope::User(_) => conn.prepare_cached(
            "SELECT coalesce(sum(n_visible), 0) FROM sources
             WHERE user_id = :user AND deleted_at IS NULL",
        )?,
        Scope::Service(..) => conn.prepare_cached(
            "SELECT coalesce(sum(n_visible), 0) FROM sources
             WHERE user_id = :user AND kind = :kind AND deleted_at IS NULL",
        )?,
        Scope::Friends(_) => conn.prepare_cached(
            "SELECT coalesce(sum(s.n_visible), 0) FROM sources s
             JOIN follows f ON f.followee_id = s.user_id AND f.follower_id = :followed_by
             WHERE s.deleted_at IS NULL",
        )?,
        Scope::Source(..) => conn.prepare_cached(
            "SELECT coalesce(sum(n_visible), 0) FROM sources
             WHERE user_id = :user AND id = :source AND deleted_at IS NULL",
        )?,
    };
    let (filter, params) = scope_filter(scope);
    let n: i64 = stmt.query_row(params.as_slice(), |row| row.get(0))?;
    // Feeds are public: less the items that are not (few, read from their own index).
    let restricted: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM items i WHERE {filter} AND i.visibility > 0"
        ))?
        .query_row(params.as_slice(), |row| row.get(0))?;
    Ok((n - restricted).max(0) as u64)
}

/// The condition on `items i` that selects a scope's visible items, written so that
/// SQLite answers it from the partial index `items_user_visible` alone (the set of
/// visible sources is small and read once; the callers name the index, because
/// SQLite would rather walk the unique index and read every row for `hidden`), and its
/// parameters.
fn scope_filter(scope: &Scope) -> (&'static str, Vec<(&'static str, &dyn rusqlite::ToSql)>) {
    match scope {
        Scope::User(user) => (
            "i.hidden = 0 AND i.user_id = :user AND i.source_id IN (
                SELECT s.id FROM sources s WHERE s.user_id = :user AND s.deleted_at IS NULL)",
            vec![(":user", &user.0 as &dyn rusqlite::ToSql)],
        ),
        Scope::Service(user, kind) => (
            "i.hidden = 0 AND i.user_id = :user AND i.source_id IN (
                SELECT s.id FROM sources s
                WHERE s.user_id = :user AND s.kind = :kind AND s.deleted_at IS NULL)",
            vec![
                (":user", &user.0 as &dyn rusqlite::ToSql),
                (":kind", kind as &dyn rusqlite::ToSql),
            ],
        ),
        Scope::Friends(user) => (
            "i.hidden = 0 AND i.user_id IN (
                SELECT f.followee_id FROM follows f WHERE f.follower_id = :followed_by)
             AND i.source_id IN (
                SELECT s.id FROM sources s
                JOIN follows f ON f.followee_id = s.user_id AND f.follower_id = :followed_by
                WHERE s.deleted_at IS NULL)",
            vec![(":followed_by", &user.0 as &dyn rusqlite::ToSql)],
        ),
        Scope::Source(user, source) => (
            "i.hidden = 0 AND i.user_id = :user AND i.source_id IN (
                SELECT s.id FROM sources s
                WHERE s.user_id = :user AND s.id = :source AND s.deleted_at IS NULL)",
            vec![
                (":user", &user.0 as &dyn rusqlite::ToSql),
                (":source", &source.0 as &dyn rusqlite::ToSql),
            ],
        ),
    }
}

/// Whether `source` is a live source of `user`: only then does its stream exist.
pub fn has_source(conn: &Connection, user: UserId, source: SourceId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sources
             WHERE user_id = :user AND id = :source AND deleted_at IS NULL)",
        )?
        .query_row(
            named_params! { ":user": user.0, ":source": source.0 },
            |row| row.get(0),
        )?)
}

/// Whether an item is shown to everyone (not hidden, not deleted, source not removed,
/// public).
pub fn is_public(conn: &Connection, id: ItemId) -> Result<bool, StoreError> {
    conn.prepare_cached(
        "SELECT i.hidden = 0 AND s.deleted_at IS NULL AND i.visibility = 0
         FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id = :id",
    )?
    .query_row(named_params! { ":id": id.0 }, |row| row.get(0))
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// An item with its comment count, and its comments oldest first, with the base URL of
/// the commenters' pages left to the caller (`author_url` is the user name, or the whole
/// profile URL of a remote author).
pub fn item_with_comments(
    conn: &Connection,
    id: ItemId,
) -> Result<(ExportItem, Vec<ExportComment>, DateTime<Utc>), StoreError> {
    let item = items::get(conn, id)?;
    let (n_comments, comment_activity) = comment_stats(conn, id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, coalesce(u.name, coalesce(a.url, a.uri)),
            coalesce(u.display_name, a.name || ' (@' || a.handle || ')'),
            c.body, c.created_at, c.edited_at
         FROM comments c LEFT JOIN users u ON u.id = c.user_id
         LEFT JOIN actors a ON a.id = c.actor_id
         WHERE c.item_id = :item ORDER BY c.created_at, c.id",
    )?;
    let comments = stmt
        .query_map(named_params! { ":item": id.0 }, |row| {
            let name: String = row.get::<_, Option<String>>(1)?.unwrap_or_default();
            let display_name: String = row.get::<_, Option<String>>(2)?.unwrap_or_default();
            Ok(ExportComment {
                id: CommentId(row.get(0)?),
                author_name: if display_name.trim().is_empty() {
                    name.clone()
                } else {
                    display_name
                },
                author_url: name,
                body: row.get(3)?,
                created_at: from_ms(row.get(4)?),
                edited_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let activity = comment_activity.map_or(item.fetched_at, |at| at.max(item.fetched_at));
    Ok((ExportItem { item, n_comments }, comments, activity))
}

/// Adds the planned sources of an import to `user`, in order; a source the user already
/// has is reported, not added twice. One transaction: the whole import or nothing.
pub fn add_sources(
    tx: &Transaction<'_>,
    user: UserId,
    planned: &[PlannedSource],
    now: DateTime<Utc>,
) -> Result<Vec<AddOutcome>, StoreError> {
    let mut outcomes = Vec::with_capacity(planned.len());
    for source in planned {
        let new = sources::NewSource {
            user_id: user,
            kind: &source.kind,
            params: &source.params,
            title: &source.title,
            schedule: &source.schedule,
        };
        match sources::insert(tx, &new, now) {
            Ok(id) => outcomes.push(AddOutcome::Added(id)),
            Err(StoreError::Conflict(_)) => outcomes.push(AddOutcome::AlreadyPresent),
            Err(other) => return Err(other),
        }
    }
    Ok(outcomes)
}

/// Writes a consistent copy of the live database to `target` (`VACUUM INTO`, which reads
/// one snapshot while writers go on). `target` must not exist.
pub fn backup(conn: &Connection, target: &str) -> Result<(), StoreError> {
    conn.execute("VACUUM INTO :target", named_params! { ":target": target })?;
    Ok(())
}

/// The number of comments on an item and the time of the newest comment or edit.
pub fn comment_stats(
    conn: &Connection,
    id: ItemId,
) -> Result<(u64, Option<DateTime<Utc>>), StoreError> {
    let (n, newest): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), max(max(created_at, coalesce(edited_at, 0)))
             FROM comments WHERE item_id = :item",
        )?
        .query_row(named_params! { ":item": id.0 }, |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok((n.max(0) as u64, newest.map(from_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;
    use crate::store::users::{NewUser, create};

    #[test]
    fn backup_copies_a_live_database() {
        let (dir, store) = temp_store();
        store
            .write_blocking(|tx| {
                create(
                    tx,
                    &NewUser {
                        name: "ana",
                        display_name: "",
                        password_hash: "x",
                        is_admin: false,
                    },
                    Utc::now(),
                )
            })
            .unwrap();
        let target = dir.path().join("copy.db");
        let target_text = target.to_str().unwrap().to_owned();
        store
            .read_blocking(|conn| backup(conn, &target_text))
            .unwrap();
        let copy = Connection::open(&target).unwrap();
        let n: i64 = copy
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }
}
