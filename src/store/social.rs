//! The social tables: comments, likes, follows, hiding items and bumping them (each new
//! comment, like and follow notifies in its own transaction); plus the likers and newest
//! comments of a whole page of items in a few queries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::also_on::GROUPS;
use super::notifications::{self, Actor};
use super::visibility::COMMENT_CONDITION;
use super::{StoreError, from_ms, to_ms};
use crate::model::{CommentId, ItemId, SafeHtml, UserId};
use crate::social::Visibility;

/// A comment with its author's names, as pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub item_id: ItemId,
    /// The local author; `None` for a comment from the fediverse (see `remote`).
    pub user_id: Option<UserId>,
    /// A local user's name, or a remote author's handle (`user@host`).
    pub user_name: String,
    pub display_name: String,
    /// Plain text: as typed (trimmed) for a local comment, the text of a remote one.
    pub body: String,
    /// A remote comment's sanitized HTML.
    pub body_html: Option<SafeHtml>,
    /// The author on another server, for a comment that came from the fediverse.
    pub remote: Option<RemoteAuthor>,
    /// The comment this one answers.
    pub parent_id: Option<CommentId>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

/// A remote account as a comment or like shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteAuthor {
    /// The actor's id.
    pub uri: String,
    /// Its profile page (else the id).
    pub url: String,
    pub icon_url: Option<String>,
    /// The host the account lives on.
    pub host: String,
}

/// Someone who liked an item: a local user, or a remote account (`remote`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liker {
    pub user_id: Option<UserId>,
    pub user_name: String,
    pub display_name: String,
    pub remote: Option<RemoteAuthor>,
}

/// What a card shows besides the item: a few likers, the newest comments, and counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemSocial {
    /// The first likers (oldest like first), at most the number asked for.
    pub likers: Vec<Liker>,
    pub n_likes: usize,
    pub liked_by_viewer: bool,
    /// The newest comments, shown oldest first.
    pub comments: Vec<Comment>,
    pub n_comments: usize,
    /// Shares (boosts) from the fediverse.
    pub n_shares: usize,
    /// The viewer shared this item into their own stream (`store::posts`).
    pub shared_by_viewer: bool,
    pub hidden: bool,
    /// The same post on other services (one card per post), oldest first.
    pub also_on: Vec<super::also_on::AlsoOn>,
}

/// Whether an item may be shown to people other than its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemState {
    pub hidden: bool,
    /// Deleted on purpose (see `items::tombstone`).
    pub tombstoned: bool,
    /// Its source was removed.
    pub source_removed: bool,
    /// Its effective visibility (its own and its source's, the more restrictive).
    pub visibility: Visibility,
}

impl ItemState {
    /// Shown to anyone: live and public.
    pub fn is_public(&self) -> bool {
        self.is_live() && self.visibility == Visibility::Public
    }

    /// Not hidden, not deleted, its source not removed (its visibility aside).
    pub fn is_live(&self) -> bool {
        !self.hidden && !self.tombstoned && !self.source_removed
    }
}

/// Profile counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileCounts {
    pub n_items: u64,
    pub n_followers: u64,
    pub n_following: u64,
}

pub fn add_comment(
    tx: &Transaction<'_>,
    item: ItemId,
    user: UserId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<CommentId, StoreError> {
    tx.prepare_cached(
        "INSERT INTO comments (item_id, user_id, body, created_at)
         VALUES (:item, :user, :body, :now)",
    )?
    .execute(named_params! {
        ":item": item.0,
        ":user": user.0,
        ":body": body,
        ":now": to_ms(now),
    })?;
    let id = CommentId(tx.last_insert_rowid());
    let names = crate::social::mentioned_names(body);
    let mentioned = notifications::users_named(tx, &names)?;
    notifications::comment_added(tx, item, id, Actor::User(user), &mentioned, now)?;
    Ok(id)
}

pub fn edit_comment(
    tx: &Transaction<'_>,
    id: CommentId,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("UPDATE comments SET body = :body, edited_at = :now WHERE id = :id")?
        .execute(named_params! { ":id": id.0, ":body": body, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn delete_comment(tx: &Transaction<'_>, id: CommentId) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM comments WHERE id = :id")?
        .execute(named_params! { ":id": id.0 })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A comment's columns, from `comments c LEFT JOIN users u LEFT JOIN actors a`
/// (see [`COMMENT_JOINS`]).
const COMMENT_COLUMNS: &str =
    "c.id, c.item_id, c.user_id, coalesce(u.name, a.handle, c.author_name),
    coalesce(u.display_name, a.name, c.author_name), c.body, c.created_at, c.edited_at, c.body_html,
    c.parent_id, a.uri, a.url, a.icon_url, a.host";
/// How many columns [`COMMENT_COLUMNS`] has.
const N_COMMENT_COLUMNS: usize = 14;
const COMMENT_JOINS: &str =
    "LEFT JOIN users u ON u.id = c.user_id LEFT JOIN actors a ON a.id = c.actor_id";

pub fn comment(conn: &Connection, id: CommentId) -> Result<Comment, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COMMENT_COLUMNS} FROM comments c {COMMENT_JOINS} WHERE c.id = :id"
    ))?
    .query_row(named_params! { ":id": id.0 }, comment_from_row)
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// Every comment on an item and on the other items of its group (one card per post: see
/// `also_on`), oldest first, less those of users the viewer blocked or who blocked them.
pub fn comments_of(
    conn: &Connection,
    item: ItemId,
    viewer: Option<UserId>,
) -> Result<Vec<Comment>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "WITH {GROUPS}
         SELECT {COMMENT_COLUMNS} FROM comments c {COMMENT_JOINS}
         WHERE c.item_id IN (SELECT member FROM g){COMMENT_CONDITION}
               AND u.suspended_at IS NULL
         ORDER BY c.created_at, c.id"
    ))?;
    let comments = stmt
        .query_map(
            named_params! { ":ids": format!("[{}]", item.0), ":viewer": viewer.map(|v| v.0) },
            comment_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(comments)
}

/// How many comments [`comments_of`] lists, counted without reading them.
pub fn n_comments_of(conn: &Connection, item: ItemId) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(&format!(
            "WITH {GROUPS}
             SELECT count(*) FROM comments c WHERE c.item_id IN (SELECT member FROM g)"
        ))?
        .query_row(named_params! { ":ids": format!("[{}]", item.0) }, |row| {
            row.get(0)
        })?;
    Ok(n as usize)
}

/// How many likers [`likers_of`] lists, counted without reading their names.
pub fn n_likers_of(conn: &Connection, item: ItemId) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(&format!(
            "WITH {GROUPS}
             SELECT count(*) FROM (
                SELECT 1 FROM ({GROUP_LIKES}) l
                GROUP BY l.user_id, l.actor_id, l.archived_name)"
        ))?
        .query_row(named_params! { ":ids": format!("[{}]", item.0) }, |row| {
            row.get(0)
        })?;
    Ok(n as usize)
}

/// Likes an item; liking twice is the same as once. True when this like is new.
pub fn like(
    tx: &Transaction<'_>,
    item: ItemId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "INSERT INTO likes (item_id, user_id, created_at) VALUES (:item, :user, :now)
             ON CONFLICT (item_id, user_id) DO NOTHING",
        )?
        .execute(named_params! { ":item": item.0, ":user": user.0, ":now": to_ms(now) })?;
    if n > 0 {
        notifications::liked(tx, item, Actor::User(user), now)?;
    }
    Ok(n > 0)
}

/// Takes a like back; unliking what was not liked does nothing.
pub fn unlike(tx: &Transaction<'_>, item: ItemId, user: UserId) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM likes WHERE item_id = :item AND user_id = :user")?
        .execute(named_params! { ":item": item.0, ":user": user.0 })?;
    Ok(n > 0)
}

/// Everyone who liked an item or another item of its group, oldest like first, each once.
pub fn likers_of(conn: &Connection, item: ItemId) -> Result<Vec<Liker>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "WITH {GROUPS}
         SELECT {LIKER_COLUMNS} FROM (
            SELECT l.user_id, l.actor_id, l.archived_name, min(l.created_at) AS created_at
            FROM ({GROUP_LIKES}) l
            GROUP BY l.user_id, l.actor_id, l.archived_name) l
         LEFT JOIN users u ON u.id = l.user_id LEFT JOIN actors a ON a.id = l.actor_id
         ORDER BY l.created_at, l.user_id, l.actor_id, l.archived_name"
    ))?;
    let likers = stmt
        .query_map(
            named_params! { ":ids": format!("[{}]", item.0) },
            liker_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(likers)
}

/// Moves an item to the top of the streams (FriendFeed's bump). Never moves it down, so a
/// bump cannot undo a newer one.
pub fn bump(tx: &Transaction<'_>, item: ItemId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached("UPDATE items SET bumped_at = max(bumped_at, :now) WHERE id = :id")?
        .execute(named_params! { ":id": item.0, ":now": to_ms(now) })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Hides an item from everyone but its owner. Followers elsewhere get a `Delete`.
pub fn hide(tx: &Transaction<'_>, item: ItemId) -> Result<(), StoreError> {
    let owner: Option<i64> = tx
        .prepare_cached("UPDATE items SET hidden = 1 WHERE id = :id RETURNING user_id")?
        .query_row(named_params! { ":id": item.0 }, |row| row.get(0))
        .optional()?;
    let Some(owner) = owner else {
        return Err(StoreError::NotFound);
    };
    // Its copies elsewhere stay: the next one becomes the main.
    super::also_on::leave(tx, item)?;
    super::federation::queue_items(
        tx,
        UserId(owner),
        &[item],
        super::federation::Verb::Delete,
        Utc::now(),
    )?;
    Ok(())
}

/// Shows a hidden item again. A tombstoned item stays hidden: it was deleted on purpose.
/// True when the item is visible afterwards.
pub fn unhide(tx: &Transaction<'_>, item: ItemId) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE items SET hidden = 0 WHERE id = :id AND NOT EXISTS (
                SELECT 1 FROM item_tombstones t
                WHERE t.source_id = items.source_id AND t.external_id = items.external_id)",
        )?
        .execute(named_params! { ":id": item.0 })?;
    if n > 0 {
        // It joins its group again (and is its main again when the rule says so).
        super::also_on::regroup(tx, item)?;
    }
    Ok(n > 0)
}

pub fn item_state(conn: &Connection, item: ItemId) -> Result<ItemState, StoreError> {
    conn.prepare_cached(
        "SELECT i.hidden,
            EXISTS (SELECT 1 FROM item_tombstones t
                    WHERE t.source_id = i.source_id AND t.external_id = i.external_id),
            s.deleted_at IS NOT NULL, i.visibility
         FROM items i JOIN sources s ON s.id = i.source_id WHERE i.id = :id",
    )?
    .query_row(named_params! { ":id": item.0 }, |row| {
        Ok(ItemState {
            hidden: row.get(0)?,
            tombstoned: row.get(1)?,
            source_removed: row.get(2)?,
            visibility: Visibility::from_i64(row.get(3)?),
        })
    })
    .optional()?
    .ok_or(StoreError::NotFound)
}

/// Likers, the newest comments and counts for a page of items, in four queries whatever
/// the number of items. Items without likes or comments get an empty entry. At least one
/// liker and one comment per item are read, so the counts are always there.
pub fn for_items(
    conn: &Connection,
    items: &[ItemId],
    viewer: Option<UserId>,
    max_likers: usize,
    max_comments: usize,
) -> Result<HashMap<ItemId, ItemSocial>, StoreError> {
    let mut social: HashMap<ItemId, ItemSocial> = items
        .iter()
        .map(|id| (*id, ItemSocial::default()))
        .collect();
    if items.is_empty() {
        return Ok(social);
    }
    // The ids travel as one JSON array parameter, so the statement text stays the same
    // (and cached) whatever the page size.
    let ids = serde_json::to_string(&items.iter().map(|id| id.0).collect::<Vec<_>>())
        .map_err(|err| StoreError::Corrupt(err.to_string()))?;

    // An item's likes, comments and shares are those of its whole group (one card per
    // post: see `also_on`); someone who liked two copies counts once.
    let mut likes = conn.prepare_cached(&format!(
        "WITH {GROUPS}
         SELECT item_id, {LIKER_OUTER}, n, mine FROM (
            SELECT l.item_id, {LIKER_COLUMNS},
                row_number() OVER (PARTITION BY l.item_id
                    ORDER BY l.created_at, l.user_id, l.actor_id, l.archived_name) AS rank,
                count(*) OVER (PARTITION BY l.item_id) AS n,
                max(l.user_id = :viewer) OVER (PARTITION BY l.item_id) AS mine
            FROM (SELECT l.card_id AS item_id, l.user_id, l.actor_id, l.archived_name,
                    min(l.created_at) AS created_at
                  FROM ({GROUP_LIKES}) l
                  GROUP BY l.card_id, l.user_id, l.actor_id, l.archived_name) l
            LEFT JOIN users u ON u.id = l.user_id LEFT JOIN actors a ON a.id = l.actor_id)
         WHERE rank <= :max_likers ORDER BY item_id, rank"
    ))?;
    let mut rows = likes.query(named_params! {
        ":ids": ids,
        ":viewer": viewer.map(|v| v.0),
        ":max_likers": max_likers.max(1) as i64,
    })?;
    while let Some(row) = rows.next()? {
        let entry = social.entry(ItemId(row.get(0)?)).or_default();
        entry.likers.push(liker_at(row, 1)?);
        entry.n_likes = row.get::<_, i64>(1 + N_LIKER_COLUMNS)? as usize;
        entry.liked_by_viewer = row
            .get::<_, Option<bool>>(2 + N_LIKER_COLUMNS)?
            .unwrap_or(false);
    }
    drop(rows);

    let mut comments = conn.prepare_cached(&format!(
        "WITH {GROUPS}
         SELECT {COMMENT_COLUMNS}, n, card_id FROM (
            SELECT c.*, g.id AS card_id,
                row_number() OVER (PARTITION BY g.id ORDER BY c.created_at DESC, c.id DESC)
                    AS rank,
                count(*) OVER (PARTITION BY g.id) AS n
            FROM g JOIN comments c ON c.item_id = g.member WHERE 1{COMMENT_CONDITION}
                AND NOT EXISTS (SELECT 1 FROM users s
                                WHERE s.id = c.user_id AND s.suspended_at IS NOT NULL)) c
         {COMMENT_JOINS}
         WHERE c.rank <= :max_comments
         ORDER BY c.card_id, c.created_at, c.id"
    ))?;
    let mut rows = comments.query(named_params! {
        ":ids": ids,
        ":viewer": viewer.map(|v| v.0),
        ":max_comments": max_comments.max(1) as i64,
    })?;
    while let Some(row) = rows.next()? {
        let comment = comment_from_row(row)?;
        let card = ItemId(row.get(N_COMMENT_COLUMNS + 1)?);
        let entry = social.entry(card).or_default();
        entry.n_comments = row.get::<_, i64>(N_COMMENT_COLUMNS)? as usize;
        entry.comments.push(comment);
    }
    drop(rows);

    let mut shares = conn.prepare_cached(&format!(
        "WITH {GROUPS}
             SELECT g.id, count(*) FROM g JOIN remote_shares r ON r.item_id = g.member
             GROUP BY g.id"
    ))?;
    let mut rows = shares.query(named_params! { ":ids": ids })?;
    while let Some(row) = rows.next()? {
        social.entry(ItemId(row.get(0)?)).or_default().n_shares = row.get::<_, i64>(1)? as usize;
    }
    drop(rows);

    let mut hidden = conn.prepare_cached(
        "SELECT id FROM items WHERE hidden = 1 AND id IN (SELECT value FROM json_each(:ids))",
    )?;
    let mut rows = hidden.query(named_params! { ":ids": ids })?;
    while let Some(row) = rows.next()? {
        social.entry(ItemId(row.get(0)?)).or_default().hidden = true;
    }
    drop(rows);

    if let Some(viewer) = viewer {
        for id in super::posts::shared_by(conn, viewer, items)? {
            social.entry(id).or_default().shared_by_viewer = true;
        }
    }

    for (id, also_on) in super::also_on::for_items(conn, items)? {
        social.entry(id).or_default().also_on = also_on;
    }
    Ok(social)
}

/// Follows someone; following twice is the same as once, and a block either way makes it
/// nothing.
pub fn follow(
    tx: &Transaction<'_>,
    follower: UserId,
    followee: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = tx
        .prepare_cached(
            "INSERT INTO follows (follower_id, followee_id, created_at)
             SELECT :follower, :followee, :now WHERE NOT EXISTS (SELECT 1 FROM user_blocks
                 WHERE (blocker_id = :followee AND blocked_id = :follower)
                    OR (blocker_id = :follower AND blocked_id = :followee))
             ON CONFLICT (follower_id, followee_id) DO NOTHING",
        )?
        .execute(named_params! {
            ":follower": follower.0,
            ":followee": followee.0,
            ":now": to_ms(now),
        })?;
    if n > 0 {
        notifications::followed(tx, followee, Actor::User(follower), false, now)?;
    }
    Ok(())
}

pub fn unfollow(
    tx: &Transaction<'_>,
    follower: UserId,
    followee: UserId,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "DELETE FROM follows WHERE follower_id = :follower AND followee_id = :followee",
    )?
    .execute(named_params! { ":follower": follower.0, ":followee": followee.0 })?;
    Ok(())
}

pub fn is_following(
    conn: &Connection,
    follower: UserId,
    followee: UserId,
) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT 1 FROM follows WHERE follower_id = :follower AND followee_id = :followee",
        )?
        .exists(named_params! { ":follower": follower.0, ":followee": followee.0 })?;
    Ok(found)
}

/// The ids of the users `follower` follows (whose items their friends stream shows).
pub fn followee_ids(conn: &Connection, follower: UserId) -> Result<Vec<UserId>, StoreError> {
    let ids = conn
        .prepare_cached("SELECT followee_id FROM follows WHERE follower_id = :follower")?
        .query_map(named_params! { ":follower": follower.0 }, |row| {
            row.get(0).map(UserId)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The names of the users who follow `followee`, whose friends streams show its items.
pub fn follower_names(conn: &Connection, followee: UserId) -> Result<Vec<String>, StoreError> {
    let names = conn
        .prepare_cached(
            "SELECT users.name FROM follows JOIN users ON users.id = follows.follower_id
             WHERE follows.followee_id = :followee ORDER BY users.name",
        )?
        .query_map(named_params! { ":followee": followee.0 }, |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// The names of the users `follower` follows whose federation is on (the `following`
/// collection lists their actors), by name.
pub fn federating_followee_names(
    conn: &Connection,
    follower: UserId,
) -> Result<Vec<String>, StoreError> {
    let names = conn
        .prepare_cached(
            "SELECT users.name FROM follows JOIN users ON users.id = follows.followee_id
             WHERE follows.follower_id = :follower AND users.federation = 1
             ORDER BY users.name",
        )?
        .query_map(named_params! { ":follower": follower.0 }, |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// Visible items, followers and people followed, for a profile header.
/// A user's public items (what everyone may count), followers and followees.
pub fn profile_counts(conn: &Connection, user: UserId) -> Result<ProfileCounts, StoreError> {
    conn.prepare_cached(
        "SELECT
            (SELECT coalesce(sum(n_visible), 0) FROM sources
             WHERE user_id = :user AND deleted_at IS NULL)
            - (SELECT count(*) FROM items i INDEXED BY items_user_restricted
               WHERE i.user_id = :user AND i.hidden = 0 AND i.visibility > 0
                 AND i.source_id IN (SELECT id FROM sources
                     WHERE user_id = :user AND deleted_at IS NULL)),
            (SELECT count(*) FROM follows WHERE followee_id = :user),
            (SELECT count(*) FROM follows WHERE follower_id = :user)",
    )?
    .query_row(named_params! { ":user": user.0 }, |row| {
        Ok(ProfileCounts {
            n_items: row.get::<_, i64>(0)? as u64,
            n_followers: row.get::<_, i64>(1)? as u64,
            n_following: row.get::<_, i64>(2)? as u64,
        })
    })
    .map_err(StoreError::from)
}

/// What a profile page counts of a person's own doing: comments they wrote here and items
/// they liked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActivityCounts {
    pub n_comments: u64,
    pub n_likes: u64,
}

pub fn activity_counts(conn: &Connection, user: UserId) -> Result<ActivityCounts, StoreError> {
    conn.prepare_cached(
        "SELECT
            (SELECT count(*) FROM comments WHERE user_id = :user),
            (SELECT count(*) FROM likes WHERE user_id = :user)",
    )?
    .query_row(named_params! { ":user": user.0 }, |row| {
        Ok(ActivityCounts {
            n_comments: row.get::<_, i64>(0)? as u64,
            n_likes: row.get::<_, i64>(1)? as u64,
        })
    })
    .map_err(StoreError::from)
}

/// The names of the users `follower` follows, by name.
pub fn followee_names(conn: &Connection, follower: UserId) -> Result<Vec<String>, StoreError> {
    let names = conn
        .prepare_cached(
            "SELECT users.name FROM follows JOIN users ON users.id = follows.followee_id
             WHERE follows.follower_id = :follower ORDER BY users.name",
        )?
        .query_map(named_params! { ":follower": follower.0 }, |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

fn comment_from_row(row: &Row<'_>) -> rusqlite::Result<Comment> {
    Ok(Comment {
        id: CommentId(row.get(0)?),
        item_id: ItemId(row.get(1)?),
        user_id: row.get::<_, Option<i64>>(2)?.map(UserId),
        user_name: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
        display_name: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
        body: row.get(5)?,
        created_at: from_ms(row.get(6)?),
        edited_at: row.get::<_, Option<i64>>(7)?.map(from_ms),
        // Written only by the inbox, from the sanitizer's output.
        body_html: row
            .get::<_, Option<String>>(8)?
            .map(SafeHtml::assume_sanitized),
        parent_id: row.get::<_, Option<i64>>(9)?.map(CommentId),
        remote: remote_at(row, 10)?,
    })
}

/// The likes of each card's group (`g` of `also_on::GROUPS`), by local users, remote
/// accounts and imported archives, as one relation. The group is joined inside each branch
/// so that every branch is a primary-key search by item; a join over the whole union made
/// SQLite copy every like in the instance into a temporary index on each page.
const GROUP_LIKES: &str = "SELECT g.id AS card_id, l.user_id, NULL AS actor_id, l.created_at,
        NULL AS archived_name FROM g JOIN likes l ON l.item_id = g.member
    UNION ALL SELECT g.id, NULL, r.actor_id, r.created_at, NULL
        FROM g JOIN remote_likes r ON r.item_id = g.member
    UNION ALL SELECT g.id, NULL, NULL, coalesce(a.created_at, 0), a.author_name
        FROM g JOIN archived_likes a ON a.item_id = g.member";
/// A liker's columns over `GROUP_LIKES l LEFT JOIN users u LEFT JOIN actors a`.
const LIKER_COLUMNS: &str = "l.user_id, coalesce(u.name, a.handle, l.archived_name) AS liker_name,
    coalesce(u.display_name, a.name, l.archived_name) AS liker_display, a.uri AS a_uri, a.url AS a_url,
    a.icon_url AS a_icon, a.host AS a_host";
/// The same columns read from a subquery that selected [`LIKER_COLUMNS`].
const LIKER_OUTER: &str = "user_id, liker_name, liker_display, a_uri, a_url, a_icon, a_host";
const N_LIKER_COLUMNS: usize = 7;

fn liker_from_row(row: &Row<'_>) -> rusqlite::Result<Liker> {
    liker_at(row, 0)
}

fn liker_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Liker> {
    Ok(Liker {
        user_id: row.get::<_, Option<i64>>(at)?.map(UserId),
        user_name: row.get::<_, Option<String>>(at + 1)?.unwrap_or_default(),
        display_name: row.get::<_, Option<String>>(at + 2)?.unwrap_or_default(),
        remote: remote_at(row, at + 3)?,
    })
}

/// A remote author from `a.uri, a.url, a.icon_url, a.host` at `at`.
fn remote_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<RemoteAuthor>> {
    let Some(uri) = row.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(RemoteAuthor {
        url: row
            .get::<_, Option<String>>(at + 1)?
            .unwrap_or_else(|| uri.clone()),
        uri,
        icon_url: row.get(at + 2)?,
        host: row.get::<_, Option<String>>(at + 3)?.unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemKind, NewItem, SafeHtml};
    use crate::store::Store;
    use crate::store::items::{tombstone, upsert};
    use crate::store::sources::{NewSource, insert};
    use crate::store::tests::temp_store;
    use crate::store::users::{NewUser, create};
    use chrono::TimeDelta;

    fn user(store: &Store, name: &str) -> UserId {
        store
            .write_blocking(|tx| {
                create(
                    tx,
                    &NewUser {
                        name,
                        display_name: name,
                        password_hash: "x",
                        is_admin: false,
                    },
                    Utc::now(),
                )
            })
            .unwrap()
    }

    fn items(store: &Store, owner: UserId, n_items: usize) -> Vec<ItemId> {
        store
            .write_blocking(|tx| {
                let params = serde_json::json!({"url": "https://x.example/"});
                let source = insert(tx, &NewSource::feed(owner, &params), Utc::now())?;
                let new: Vec<NewItem> = (0..n_items)
                    .map(|n| NewItem {
                        external_id: n.to_string(),
                        url: None,
                        canonical_url: None,
                        dedup_key: format!("id:{n}"),
                        title: String::new(),
                        author_name: None,
                        author_url: None,
                        content: SafeHtml::assume_sanitized(String::new()),
                        summary_text: String::new(),
                        kind: ItemKind::Note,
                        media: Vec::new(),
                        tags: Vec::new(),
                        in_reply_to: None,
                        extra: serde_json::Map::new(),
                        published_at: Utc::now(),
                        updated_at: None,
                        content_hash: [0; 32],
                    })
                    .collect();
                Ok(upsert(tx, source, owner, &new, Utc::now())?.new_ids)
            })
            .unwrap()
    }

    #[test]
    fn page_summary_has_newest_comments_first_likers_and_counts() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let likers: Vec<UserId> = ["bo", "cy", "di", "ed"]
            .iter()
            .map(|n| user(&store, n))
            .collect();
        let ids = items(&store, ana, 3);
        let start = Utc::now();
        store
            .write_blocking(|tx| {
                for (n, liker) in likers.iter().enumerate() {
                    like(tx, ids[0], *liker, start + TimeDelta::seconds(n as i64))?;
                }
                for n in 0..5 {
                    add_comment(
                        tx,
                        ids[0],
                        ana,
                        &format!("c{n}"),
                        start + TimeDelta::seconds(n),
                    )?;
                }
                add_comment(tx, ids[1], ana, "only", start)?;
                hide(tx, ids[2])
            })
            .unwrap();
        let summary = store
            .read_blocking(|conn| for_items(conn, &ids, Some(likers[3]), 3, 3))
            .unwrap();
        let first = &summary[&ids[0]];
        assert_eq!(first.n_likes, 4);
        assert_eq!(
            first
                .likers
                .iter()
                .map(|l| l.user_name.as_str())
                .collect::<Vec<_>>(),
            ["bo", "cy", "di"]
        );
        assert!(first.liked_by_viewer);
        assert_eq!(first.n_comments, 5);
        assert_eq!(
            first
                .comments
                .iter()
                .map(|c| c.body.as_str())
                .collect::<Vec<_>>(),
            ["c2", "c3", "c4"]
        );
        assert_eq!(
            (summary[&ids[1]].n_comments, summary[&ids[1]].n_likes),
            (1, 0)
        );
        assert!(!summary[&ids[1]].liked_by_viewer);
        assert!(summary[&ids[2]].hidden && !summary[&ids[0]].hidden);
        let anonymous = store
            .read_blocking(|conn| for_items(conn, &ids, None, 3, 3))
            .unwrap();
        assert!(!anonymous[&ids[0]].liked_by_viewer);
    }

    #[test]
    fn likes_are_idempotent_and_bumps_never_go_back() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let id = items(&store, ana, 1)[0];
        let later = Utc::now() + TimeDelta::hours(1);
        store
            .write_blocking(|tx| {
                assert!(like(tx, id, ana, Utc::now())?);
                assert!(!like(tx, id, ana, Utc::now())?);
                bump(tx, id, later)?;
                bump(tx, id, Utc::now())
            })
            .unwrap();
        let item = store
            .read_blocking(|conn| crate::store::items::get(conn, id))
            .unwrap();
        assert_eq!(item.bumped_at.timestamp_millis(), later.timestamp_millis());
        assert_eq!(
            store
                .read_blocking(|conn| likers_of(conn, id))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn tombstoned_items_cannot_be_unhidden() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let ids = items(&store, ana, 2);
        store
            .write_blocking(|tx| tombstone(tx, ids[0], Utc::now()))
            .unwrap();
        store.write_blocking(|tx| hide(tx, ids[1])).unwrap();
        assert!(!store.write_blocking(|tx| unhide(tx, ids[0])).unwrap());
        assert!(store.write_blocking(|tx| unhide(tx, ids[1])).unwrap());
        let state = store
            .read_blocking(|conn| item_state(conn, ids[0]))
            .unwrap();
        assert!(state.tombstoned && state.hidden && !state.is_public());
        assert!(
            store
                .read_blocking(|conn| item_state(conn, ids[1]))
                .unwrap()
                .is_public()
        );
    }
}
