-- Notifications: what happened to a user's things, written in the same transaction as
-- the action (a comment, a like, a follow, a mention, a source that started failing).
--
-- The actor is a local user (`actor_user_id`), a remote account (`actor_id`) or a bare
-- name (`actor_name`); `source_failing` has none. `url` is a remote note's address when
-- a mention came in a post that is not a comment here.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('comment', 'reply', 'mention', 'like',
                      'follow', 'follow_request', 'source_failing')),
    actor_user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    actor_id      INTEGER REFERENCES actors(id) ON DELETE CASCADE,
    actor_name    TEXT,
    item_id       INTEGER REFERENCES items(id) ON DELETE CASCADE,
    comment_id    INTEGER REFERENCES comments(id) ON DELETE SET NULL,
    source_id     INTEGER REFERENCES sources(id) ON DELETE CASCADE,
    url           TEXT,
    created_at    INTEGER NOT NULL,
    read_at       INTEGER
) STRICT;
-- The page, newest first (keyset on id), and the navigation's unread count.
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_comment ON notifications(comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX notifications_item ON notifications(item_id) WHERE item_id IS NOT NULL;

-- Taking an action back takes its notification back while it is unread: a deleted
-- comment, an unlike, an unfollow, an Undo from the fediverse.
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

-- The secret in the address of a user's private Atom feed of notifications.
CREATE TABLE notification_feeds (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    token      TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;
