-- Native posts and shares. A user's own posts are items of their native source (kind
-- `tributary`, never polled: `enabled = 0`), made on first use. A share is such an item
-- too; this table names the item it shares, one share per user and original.
CREATE TABLE shares (
    item_id     INTEGER PRIMARY KEY REFERENCES items(id),
    original_id INTEGER NOT NULL REFERENCES items(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    UNIQUE (original_id, user_id)
) STRICT;
CREATE INDEX shares_user ON shares(user_id, original_id);

-- A share notifies the original's owner: a new kind. SQLite cannot change a CHECK, so the
-- table is made again with its indexes and the triggers that keep it (as in 0017).
DROP TRIGGER notifications_comment_gone;
DROP TRIGGER notifications_like_gone;
DROP TRIGGER notifications_remote_like_gone;
DROP TRIGGER notifications_follow_gone;
DROP TRIGGER notifications_remote_follow_gone;
CREATE TABLE notifications_new (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('comment', 'reply', 'mention', 'like',
                        'follow', 'follow_request', 'source_failing', 'saved_search',
                        'share')),
    actor_user_id   INTEGER REFERENCES users(id) ON DELETE CASCADE,
    actor_id        INTEGER REFERENCES actors(id) ON DELETE CASCADE,
    actor_name      TEXT,
    item_id         INTEGER REFERENCES items(id) ON DELETE CASCADE,
    comment_id      INTEGER REFERENCES comments(id) ON DELETE SET NULL,
    source_id       INTEGER REFERENCES sources(id) ON DELETE CASCADE,
    url             TEXT,
    created_at      INTEGER NOT NULL,
    read_at         INTEGER,
    saved_search_id INTEGER REFERENCES saved_searches(id) ON DELETE CASCADE
) STRICT;
INSERT INTO notifications_new (id, user_id, kind, actor_user_id, actor_id, actor_name, item_id,
                               comment_id, source_id, url, created_at, read_at, saved_search_id)
    SELECT id, user_id, kind, actor_user_id, actor_id, actor_name, item_id, comment_id,
           source_id, url, created_at, read_at, saved_search_id
    FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id, item_id) WHERE read_at IS NULL;
CREATE INDEX notifications_comment ON notifications(comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX notifications_item ON notifications(item_id) WHERE item_id IS NOT NULL;
CREATE INDEX notifications_saved_search ON notifications(saved_search_id)
    WHERE saved_search_id IS NOT NULL;
CREATE TRIGGER notifications_comment_gone BEFORE DELETE ON comments BEGIN
    DELETE FROM notifications WHERE comment_id = old.id AND read_at IS NULL;
END;
CREATE TRIGGER notifications_like_gone AFTER DELETE ON likes BEGIN
    DELETE FROM notifications WHERE kind = 'like' AND item_id = old.item_id
        AND actor_user_id = old.user_id AND read_at IS NULL;
END;
CREATE TRIGGER notifications_remote_like_gone AFTER DELETE ON remote_likes BEGIN
    DELETE FROM notifications WHERE kind = 'like' AND item_id = old.item_id
        AND actor_id = old.actor_id AND read_at IS NULL;
END;
CREATE TRIGGER notifications_follow_gone AFTER DELETE ON follows BEGIN
    DELETE FROM notifications WHERE kind = 'follow' AND user_id = old.followee_id
        AND actor_user_id = old.follower_id AND read_at IS NULL;
END;
CREATE TRIGGER notifications_remote_follow_gone AFTER DELETE ON remote_followers BEGIN
    DELETE FROM notifications WHERE kind IN ('follow', 'follow_request')
        AND user_id = old.user_id AND actor_id = old.actor_id AND read_at IS NULL;
END;
-- An unshare takes its notification back while it is unread.
CREATE TRIGGER notifications_share_gone AFTER DELETE ON shares BEGIN
    DELETE FROM notifications WHERE kind = 'share' AND item_id = old.original_id
        AND actor_user_id = old.user_id AND read_at IS NULL;
END;
