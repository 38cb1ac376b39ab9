-- Rules and moderation.

-- A logged-in viewer's rules: what the stream pages and search leave out for them.
-- `kind` says what `value` is: words (keyword), a source kind (service), a source id
-- (source), a user id (person); `photos_only` has an empty value.
CREATE TABLE viewer_rules (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('keyword', 'service', 'source', 'person',
                    'photos_only')),
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (user_id, kind, value)
) STRICT;

-- A source owner's rules: items that match one are not stored at ingest.
CREATE TABLE source_rules (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    field       TEXT NOT NULL CHECK (field IN ('title', 'text', 'url', 'kind', 'author')),
    op          TEXT NOT NULL CHECK (op IN ('contains', 'regex')),
    pattern     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX source_rules_source ON source_rules(source_id, id);

-- A suspended user cannot log in, and their pages, items and comments show to admins only.
ALTER TABLE users ADD COLUMN suspended_at INTEGER;

-- Reports of comments to the admins. The comment's text is kept, so a report still says
-- what it was about once the comment is removed.
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    comment_id      INTEGER REFERENCES comments(id) ON DELETE SET NULL,
    item_id         INTEGER REFERENCES items(id) ON DELETE SET NULL,
    comment_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    comment_body    TEXT NOT NULL,
    reporter_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    resolution      TEXT CHECK (resolution IN ('removed', 'dismissed', 'suspended')),
    resolved_by     INTEGER REFERENCES users(id) ON DELETE SET NULL
) STRICT;
CREATE INDEX reports_open ON reports(id) WHERE resolved_at IS NULL;

-- Every moderation action: who, what, when, on whom or what, and why.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    actor_user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    actor_name      TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;

-- A report becomes a notification of each admin: a new kind. SQLite cannot change a
-- CHECK, so the table is made again with its indexes and the triggers that keep it.
DROP TRIGGER notifications_comment_gone;
DROP TRIGGER notifications_like_gone;
DROP TRIGGER notifications_remote_like_gone;
DROP TRIGGER notifications_follow_gone;
DROP TRIGGER notifications_remote_follow_gone;
DROP TRIGGER notifications_share_gone;
CREATE TABLE notifications_new (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('comment', 'reply', 'mention', 'like',
                        'follow', 'follow_request', 'source_failing', 'saved_search', 'share',
                        'report')),
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
CREATE TRIGGER notifications_share_gone AFTER DELETE ON shares BEGIN
    DELETE FROM notifications WHERE kind = 'share' AND item_id = old.original_id
        AND actor_user_id = old.user_id AND read_at IS NULL;
END;
