//! Notifications (migration 0012): written by the store functions of the actions they
//! tell about, in the action's own transaction, and read by the notifications page, its
//! Atom feed and the navigation's unread count. Taking an action back removes its unread
//! notification (triggers in the migration).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, named_params};

use super::{StoreError, from_ms, to_ms};
use crate::model::{ActorId, CommentId, ItemId, SourceId, UserId};

/// The most notifications one page shows.
pub const MAX_PAGE_SIZE: usize = 100;

/// What a notification tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A comment on the user's item.
    Comment,
    /// A comment on an item the user commented on.
    Reply,
    /// `@name` in a comment, or a remote post tagging the user's actor.
    Mention,
    /// A like of the user's item.
    Like,
    /// A new follower (a local user, or a remote account accepted at once).
    Follow,
    /// A remote account asks to follow (approval by hand).
    FollowRequest,
    /// One of the user's sources failed after polling fine.
    SourceFailing,
    /// New items match one of the user's saved searches.
    SavedSearch,
    /// Somebody reported a comment to the admins (migration 0021); the user is an admin.
    Report,
    /// A local user shared the user's item into their own stream.
    Share,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Comment => "comment",
            Kind::Reply => "reply",
            Kind::Mention => "mention",
            Kind::Like => "like",
            Kind::Follow => "follow",
            Kind::FollowRequest => "follow_request",
            Kind::SourceFailing => "source_failing",
            Kind::SavedSearch => "saved_search",
            Kind::Report => "report",
            Kind::Share => "share",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "comment" => Kind::Comment,
            "reply" => Kind::Reply,
            "mention" => Kind::Mention,
            "like" => Kind::Like,
            "follow" => Kind::Follow,
            "follow_request" => Kind::FollowRequest,
            "source_failing" => Kind::SourceFailing,
            "saved_search" => Kind::SavedSearch,
            "report" => Kind::Report,
            "share" => Kind::Share,
            _ => return None,
        })
    }
}

/// Who did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    Remote(ActorId),
}

/// One notification as the page and the feed show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub kind: Kind,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    pub actor: Option<ActorView>,
    pub item: Option<ItemRef>,
    pub comment: Option<CommentRef>,
    pub source: Option<SourceRef>,
    /// A remote post's address (a mention outside a comment here).
    pub url: Option<String>,
    pub saved_search: Option<SavedSearchRef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedSearchRef {
    pub id: i64,
    pub name: String,
}

/// The person behind a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorView {
    /// A local user's name or a remote account's handle (`user@host`).
    pub name: String,
    pub display_name: String,
    /// A local user's page is `/{name}`; a remote account's is this address.
    pub remote_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRef {
    pub id: ItemId,
    /// Its title, else the start of its text.
    pub title: String,
    /// The item's owner's name.
    pub owner_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentRef {
    pub id: CommentId,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRef {
    pub id: SourceId,
    pub title: String,
    pub kind: String,
    pub last_error: Option<String>,
}

/// A page of notifications, newest first, and the id the next (older) page starts before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationPage {
    pub notifications: Vec<Notification>,
    pub next_before: Option<i64>,
}

/// What one new notification points at.
#[derive(Clone, Copy, Debug, Default)]
struct Target<'a> {
    item: Option<ItemId>,
    comment: Option<CommentId>,
    source: Option<SourceId>,
    url: Option<&'a str>,
    saved_search: Option<i64>,
}

/// Records a notification for `user` unless the actor is the user themselves, or the very
/// same one is already waiting unread (a like taken back and given again, a second
/// Follow). True when one was written.
fn notify(
    tx: &Transaction<'_>,
    user: UserId,
    kind: Kind,
    actor: Option<Actor>,
    target: Target<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if actor == Some(Actor::User(user)) {
        return Ok(false);
    }
    let (actor_user, actor_id) = match actor {
        Some(Actor::User(id)) => (Some(id.0), None),
        Some(Actor::Remote(id)) => (None, Some(id.0)),
        None => (None, None),
    };
    let params = named_params! {
        ":user": user.0,
        ":kind": kind.as_str(),
        ":actor_user": actor_user,
        ":actor_id": actor_id,
        ":item": target.item.map(|i| i.0),
        ":comment": target.comment.map(|c| c.0),
        ":source": target.source.map(|s| s.0),
        ":url": target.url,
        ":saved": target.saved_search,
        ":now": to_ms(now),
    };
    let n = tx
        .prepare_cached(
            "INSERT INTO notifications
                (user_id, kind, actor_user_id, actor_id, item_id, comment_id, source_id, url,
                 saved_search_id, created_at)
             SELECT :user, :kind, :actor_user, :actor_id, :item, :comment, :source, :url,
                 :saved, :now
             WHERE NOT EXISTS (
                SELECT 1 FROM notifications
                WHERE user_id = :user AND read_at IS NULL AND kind = :kind
                    AND actor_user_id IS :actor_user AND actor_id IS :actor_id
                    AND item_id IS :item AND comment_id IS :comment
                    AND source_id IS :source AND url IS :url AND saved_search_id IS :saved)",
        )?
        .execute(params)?;
    Ok(n > 0)
}

/// A new comment on `item` by `author`: its owner hears of a comment, each user it
/// mentions (`mentioned`, already looked up) of a mention, and the local people who
/// commented on the item before of a reply; everyone once, the author never.
pub fn comment_added(
    tx: &Transaction<'_>,
    item: ItemId,
    comment: CommentId,
    author: Actor,
    mentioned: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let owner: UserId = tx
        .prepare_cached("SELECT user_id FROM items WHERE id = :item")?
        .query_row(named_params! { ":item": item.0 }, |row| {
            row.get(0).map(UserId)
        })
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let mut told: Vec<UserId> = Vec::new();
    if let Actor::User(me) = author {
        told.push(me);
    }
    let target = Target {
        item: Some(item),
        comment: Some(comment),
        ..Target::default()
    };
    let tell = |user: UserId, kind: Kind, told: &mut Vec<UserId>| {
        if told.contains(&user) {
            return Ok(());
        }
        told.push(user);
        notify(tx, user, kind, Some(author), target, now).map(|_| ())
    };
    tell(owner, Kind::Comment, &mut told)?;
    for user in mentioned {
        tell(*user, Kind::Mention, &mut told)?;
    }
    let earlier = tx
        .prepare_cached(
            "SELECT DISTINCT user_id FROM comments
             WHERE item_id = :item AND user_id IS NOT NULL AND id != :comment
             ORDER BY user_id",
        )?
        .query_map(
            named_params! { ":item": item.0, ":comment": comment.0 },
            |row| row.get(0).map(UserId),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    for user in earlier {
        tell(user, Kind::Reply, &mut told)?;
    }
    Ok(())
}

/// A new like of `item`: its owner hears of it.
pub fn liked(
    tx: &Transaction<'_>,
    item: ItemId,
    liker: Actor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let owner: Option<UserId> = tx
        .prepare_cached("SELECT user_id FROM items WHERE id = :item")?
        .query_row(named_params! { ":item": item.0 }, |row| {
            row.get(0).map(UserId)
        })
        .optional()?;
    if let Some(owner) = owner {
        let target = Target {
            item: Some(item),
            ..Target::default()
        };
        notify(tx, owner, Kind::Like, Some(liker), target, now)?;
    }
    Ok(())
}

/// A new share of `item` by a local user: its owner hears of it (taken back by the
/// migration's trigger when the share goes while this is unread).
pub fn shared(
    tx: &Transaction<'_>,
    item: ItemId,
    sharer: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let owner: Option<UserId> = tx
        .prepare_cached("SELECT user_id FROM items WHERE id = :item")?
        .query_row(named_params! { ":item": item.0 }, |row| {
            row.get(0).map(UserId)
        })
        .optional()?;
    if let Some(owner) = owner {
        let target = Target {
            item: Some(item),
            ..Target::default()
        };
        notify(
            tx,
            owner,
            Kind::Share,
            Some(Actor::User(sharer)),
            target,
            now,
        )?;
    }
    Ok(())
}

/// A new follower of `followee` (`pending`: a remote account waiting for approval).
pub fn followed(
    tx: &Transaction<'_>,
    followee: UserId,
    follower: Actor,
    pending: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let kind = if pending {
        Kind::FollowRequest
    } else {
        Kind::Follow
    };
    notify(tx, followee, kind, Some(follower), Target::default(), now)?;
    Ok(())
}

/// Whether `actor` already follows (or asked to follow) `user`: a Follow sent again is no
/// new follower.
pub fn has_remote_follower(
    conn: &Connection,
    user: UserId,
    actor: ActorId,
) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT 1 FROM remote_followers WHERE user_id = :user AND actor_id = :actor",
        )?
        .exists(named_params! { ":user": user.0, ":actor": actor.0 })?;
    Ok(found)
}

/// A remote post outside any thread here tags `user`; `url` is its address.
pub fn mentioned_in_post(
    tx: &Transaction<'_>,
    user: UserId,
    author: ActorId,
    url: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let target = Target {
        url: Some(url),
        ..Target::default()
    };
    notify(
        tx,
        user,
        Kind::Mention,
        Some(Actor::Remote(author)),
        target,
        now,
    )?;
    Ok(())
}

/// `source` failed after polling fine (the caller knows it was not failing before).
pub fn source_failing(
    tx: &Transaction<'_>,
    owner: UserId,
    source: SourceId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let target = Target {
        source: Some(source),
        ..Target::default()
    };
    notify(tx, owner, Kind::SourceFailing, None, target, now)?;
    Ok(())
}

/// New items match `user`'s saved search `saved_search`: one notification until it is read.
pub fn saved_search_matched(
    tx: &Transaction<'_>,
    user: UserId,
    saved_search: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let target = Target {
        saved_search: Some(saved_search),
        ..Target::default()
    };
    notify(tx, user, Kind::SavedSearch, None, target, now)?;
    Ok(())
}

/// `reporter` reported `comment` on `item`: each admin but the reporter hears of it, once
/// while unread. The notification leads to the moderation page.
pub fn comment_reported(
    tx: &Transaction<'_>,
    admins: &[UserId],
    reporter: UserId,
    item: ItemId,
    comment: CommentId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for admin in admins {
        let target = Target {
            item: Some(item),
            comment: Some(comment),
            url: Some("/admin/moderation"),
            ..Target::default()
        };
        notify(
            tx,
            *admin,
            Kind::Report,
            Some(Actor::User(reporter)),
            target,
            now,
        )?;
    }
    Ok(())
}

/// How many of `user`'s notifications are unread: one walk of a partial index.
pub fn unread_count(conn: &Connection, user: UserId) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM notifications INDEXED BY notifications_unread
             WHERE user_id = :user AND read_at IS NULL",
        )?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))?;
    Ok(n.max(0) as u64)
}

/// `user`'s notifications, newest first, older than the id `before` (keyset paging).
pub fn page(
    conn: &Connection,
    user: UserId,
    before: Option<i64>,
    limit: usize,
) -> Result<NotificationPage, StoreError> {
    let limit = limit.clamp(1, MAX_PAGE_SIZE);
    let mut stmt = conn.prepare_cached(
        "SELECT n.id, n.kind, n.created_at, n.read_at IS NOT NULL,
            coalesce(au.name, a.handle, a.uri, n.actor_name),
            coalesce(au.display_name, nullif(a.name, ''), a.handle, n.actor_name),
            coalesce(a.url, a.uri),
            n.item_id, i.title, i.summary_text, iu.name,
            n.comment_id, c.body,
            n.source_id, s.title, s.kind, s.last_error,
            n.url, n.saved_search_id, ss.name
         FROM notifications n
         LEFT JOIN users au ON au.id = n.actor_user_id
         LEFT JOIN actors a ON a.id = n.actor_id
         LEFT JOIN items i ON i.id = n.item_id
         LEFT JOIN users iu ON iu.id = i.user_id
         LEFT JOIN comments c ON c.id = n.comment_id
         LEFT JOIN sources s ON s.id = n.source_id
         LEFT JOIN saved_searches ss ON ss.id = n.saved_search_id
         WHERE n.user_id = :user AND n.id < :before
         ORDER BY n.id DESC LIMIT :limit",
    )?;
    let mut notifications = stmt
        .query_map(
            named_params! {
                ":user": user.0,
                ":before": before.unwrap_or(i64::MAX),
                ":limit": limit as i64 + 1,
            },
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    let next_before = if notifications.len() > limit {
        notifications.truncate(limit);
        notifications.last().map(|n| n.id)
    } else {
        None
    };
    Ok(NotificationPage {
        notifications,
        next_before,
    })
}

/// Marks the given notifications of `user` read (others' ids are left alone). The number
/// marked: 0 when they were read already.
pub fn mark_read(
    tx: &Transaction<'_>,
    user: UserId,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let ids = serde_json::to_string(ids).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let n = tx
        .prepare_cached(
            "UPDATE notifications SET read_at = :now
             WHERE user_id = :user AND read_at IS NULL
                AND id IN (SELECT value FROM json_each(:ids))",
        )?
        .execute(named_params! { ":user": user.0, ":ids": ids, ":now": to_ms(now) })?;
    Ok(n)
}

/// Marks every notification of `user` read.
pub fn mark_all_read(
    tx: &Transaction<'_>,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE notifications SET read_at = :now WHERE user_id = :user AND read_at IS NULL",
        )?
        .execute(named_params! { ":user": user.0, ":now": to_ms(now) })?;
    Ok(n)
}

/// The secret of `user`'s notifications feed, if one was made.
pub fn feed_token(conn: &Connection, user: UserId) -> Result<Option<String>, StoreError> {
    let token = conn
        .prepare_cached("SELECT token FROM notification_feeds WHERE user_id = :user")?
        .query_row(named_params! { ":user": user.0 }, |row| row.get(0))
        .optional()?;
    Ok(token)
}

/// Keeps `user`'s feed secret, or stores `fresh` when there is none (or `replace`).
/// Returns the secret in force.
pub fn put_feed_token(
    tx: &Transaction<'_>,
    user: UserId,
    fresh: &str,
    replace: bool,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    if !replace && let Some(token) = feed_token(tx, user)? {
        return Ok(token);
    }
    tx.prepare_cached(
        "INSERT INTO notification_feeds (user_id, token, created_at) VALUES (:user, :token, :now)
         ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at",
    )?
    .execute(named_params! { ":user": user.0, ":token": fresh, ":now": to_ms(now) })?;
    Ok(fresh.to_owned())
}

/// The user whose feed secret is `token`.
pub fn user_of_feed_token(conn: &Connection, token: &str) -> Result<UserId, StoreError> {
    conn.prepare_cached("SELECT user_id FROM notification_feeds WHERE token = :token")?
        .query_row(named_params! { ":token": token }, |row| {
            row.get(0).map(UserId)
        })
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// The ids of the users named `names` (the rest are nobody here).
pub fn users_named(conn: &Connection, names: &[String]) -> Result<Vec<UserId>, StoreError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let names = serde_json::to_string(names).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let ids = conn
        .prepare_cached(
            "SELECT id FROM users WHERE name IN (SELECT value FROM json_each(:names)) ORDER BY id",
        )?
        .query_map(named_params! { ":names": names }, |row| {
            row.get(0).map(UserId)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// The longest item title or comment excerpt a notification carries.
const MAX_EXCERPT_CHARS: usize = 120;

fn excerpt(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX_EXCERPT_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A row of [`page`]; `None` for a kind this version does not know.
fn from_row(row: &Row<'_>) -> rusqlite::Result<Option<Notification>> {
    let Some(kind) = Kind::parse(&row.get::<_, String>(1)?) else {
        return Ok(None);
    };
    let actor = row
        .get::<_, Option<String>>(4)?
        .map(|name| -> rusqlite::Result<ActorView> {
            Ok(ActorView {
                display_name: row
                    .get::<_, Option<String>>(5)?
                    .filter(|shown| !shown.trim().is_empty())
                    .unwrap_or_else(|| name.clone()),
                name,
                remote_url: row.get(6)?,
            })
        })
        .transpose()?;
    let item = match row.get::<_, Option<i64>>(7)? {
        Some(id) => {
            let title = row.get::<_, Option<String>>(8)?.unwrap_or_default();
            let title = if title.trim().is_empty() {
                row.get::<_, Option<String>>(9)?.unwrap_or_default()
            } else {
                title
            };
            Some(ItemRef {
                id: ItemId(id),
                title: excerpt(&title),
                owner_name: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
            })
        }
        None => None,
    };
    let comment = match row.get::<_, Option<i64>>(11)? {
        Some(id) => Some(CommentRef {
            id: CommentId(id),
            body: excerpt(&row.get::<_, Option<String>>(12)?.unwrap_or_default()),
        }),
        None => None,
    };
    let source = match row.get::<_, Option<i64>>(13)? {
        Some(id) => Some(SourceRef {
            id: SourceId(id),
            title: row.get::<_, Option<String>>(14)?.unwrap_or_default(),
            kind: row.get::<_, Option<String>>(15)?.unwrap_or_default(),
            last_error: row.get(16)?,
        }),
        None => None,
    };
    Ok(Some(Notification {
        id: row.get(0)?,
        kind,
        created_at: from_ms(row.get(2)?),
        read: row.get(3)?,
        actor,
        item,
        comment,
        source,
        url: row.get(17)?,
        saved_search: match row.get::<_, Option<i64>>(18)? {
            Some(id) => Some(SavedSearchRef {
                id,
                name: row.get::<_, Option<String>>(19)?.unwrap_or_default(),
            }),
            None => None,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemKind, NewItem, SafeHtml};
    use crate::store::Store;
    use crate::store::social::{add_comment, like, unlike};
    use crate::store::sources::{NewSource, insert};
    use crate::store::tests::temp_store;
    use crate::store::users::{NewUser, create};

    fn user(store: &Store, name: &str) -> UserId {
        store
            .write_blocking(|tx| {
                create(
                    tx,
                    &NewUser {
                        name,
                        display_name: "",
                        password_hash: "x",
                        is_admin: false,
                    },
                    Utc::now(),
                )
            })
            .unwrap()
    }

    fn item(store: &Store, owner: UserId) -> ItemId {
        store
            .write_blocking(|tx| {
                let params = serde_json::json!({"url": "https://x.example/"});
                let source = insert(tx, &NewSource::feed(owner, &params), Utc::now())?;
                let new = NewItem {
                    external_id: "1".into(),
                    url: None,
                    canonical_url: None,
                    dedup_key: "id:1".into(),
                    title: "Hello".into(),
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
                };
                Ok(crate::store::items::upsert(tx, source, owner, &[new], Utc::now())?.new_ids[0])
            })
            .unwrap()
    }

    fn listed(store: &Store, user: UserId) -> Vec<(Kind, Option<String>)> {
        store
            .read_blocking(|conn| page(conn, user, None, MAX_PAGE_SIZE))
            .unwrap()
            .notifications
            .into_iter()
            .map(|n| (n.kind, n.actor.map(|a| a.display_name)))
            .collect()
    }

    #[test]
    fn everyone_concerned_hears_once_and_the_author_never() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let bo = user(&store, "bo");
        let cy = user(&store, "cy");
        let id = item(&store, ana);
        store
            .write_blocking(|tx| {
                add_comment(tx, id, cy, "first", Utc::now())?;
                // Mentions the owner (already told of the comment), cy and bo himself.
                add_comment(tx, id, bo, "@ana @cy @bo hi", Utc::now())
            })
            .unwrap();
        let bo_name = Some("bo".to_owned());
        assert_eq!(
            listed(&store, ana),
            [
                (Kind::Comment, bo_name.clone()),
                (Kind::Comment, Some("cy".into()))
            ]
        );
        assert_eq!(listed(&store, cy), [(Kind::Mention, bo_name)]);
        assert!(listed(&store, bo).is_empty());
    }

    #[test]
    fn a_page_reads_marks_and_pages_by_id() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let id = item(&store, ana);
        let likers: Vec<UserId> = (0..5).map(|n| user(&store, &format!("u{n}"))).collect();
        store
            .write_blocking(|tx| {
                for liker in &likers {
                    like(tx, id, *liker, Utc::now())?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(store.read_blocking(|c| unread_count(c, ana)).unwrap(), 5);
        let first = store.read_blocking(|c| page(c, ana, None, 3)).unwrap();
        assert_eq!(first.notifications.len(), 3);
        let ids: Vec<i64> = first.notifications.iter().map(|n| n.id).collect();
        let rest = store
            .read_blocking(|c| page(c, ana, first.next_before, 3))
            .unwrap();
        assert_eq!(rest.notifications.len(), 2);
        assert!(rest.next_before.is_none());
        assert!(rest.notifications[0].id < ids[2]);
        // Another user's ids are not marked by ana's page.
        let marked = store
            .write_blocking(|tx| mark_read(tx, ana, &ids, Utc::now()))
            .unwrap();
        assert_eq!(marked, 3);
        assert_eq!(store.read_blocking(|c| unread_count(c, ana)).unwrap(), 2);
        let again = store
            .write_blocking(|tx| mark_read(tx, ana, &ids, Utc::now()))
            .unwrap();
        assert_eq!(again, 0);
        assert_eq!(
            store
                .write_blocking(|tx| mark_read(
                    tx,
                    likers[0],
                    &[rest.notifications[0].id],
                    Utc::now()
                ))
                .unwrap(),
            0
        );
    }

    #[test]
    fn an_unlike_takes_back_an_unread_like_only() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let bo = user(&store, "bo");
        let id = item(&store, ana);
        store
            .write_blocking(|tx| like(tx, id, bo, Utc::now()))
            .unwrap();
        store.write_blocking(|tx| unlike(tx, id, bo)).unwrap();
        assert!(listed(&store, ana).is_empty());
        store
            .write_blocking(|tx| like(tx, id, bo, Utc::now()))
            .unwrap();
        store
            .write_blocking(|tx| mark_all_read(tx, ana, Utc::now()))
            .unwrap();
        store.write_blocking(|tx| unlike(tx, id, bo)).unwrap();
        assert_eq!(listed(&store, ana).len(), 1);
    }

    #[test]
    fn feed_tokens_are_kept_until_replaced() {
        let (_dir, store) = temp_store();
        let ana = user(&store, "ana");
        let first = store
            .write_blocking(|tx| put_feed_token(tx, ana, "a1", false, Utc::now()))
            .unwrap();
        let kept = store
            .write_blocking(|tx| put_feed_token(tx, ana, "b2", false, Utc::now()))
            .unwrap();
        assert_eq!((first.as_str(), kept.as_str()), ("a1", "a1"));
        store
            .write_blocking(|tx| put_feed_token(tx, ana, "c3", true, Utc::now()))
            .unwrap();
        assert!(matches!(
            store.read_blocking(|c| user_of_feed_token(c, "a1")),
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store
                .read_blocking(|c| user_of_feed_token(c, "c3"))
                .unwrap(),
            ana
        );
    }
}
