-- Search (issue #20): the full-text index of items also holds the author and the tags
-- (`tags` is a JSON array; the tokenizer splits it into its words), and comments get an
-- index of their own, so a search finds an item by what people said about it.
--
-- `items_fts` is rebuilt with the new columns. Inserts of items stay one statement per
-- poll (`items::upsert`, see migration 0004); updates and deletes keep their triggers.
DROP TRIGGER items_fts_delete;
DROP TRIGGER items_fts_update;
DROP TABLE items_fts;
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, summary_text, author_name, tags,
    content = 'items', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO items_fts(items_fts) VALUES ('rebuild');
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary_text, author_name, tags)
        VALUES ('delete', old.id, old.title, old.summary_text, old.author_name, old.tags);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary_text, author_name, tags ON items
BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary_text, author_name, tags)
        VALUES ('delete', old.id, old.title, old.summary_text, old.author_name, old.tags);
    INSERT INTO items_fts(rowid, title, summary_text, author_name, tags)
        VALUES (new.id, new.title, new.summary_text, new.author_name, new.tags);
END;

-- Comments are written one at a time (a person typing, or one inbox activity), so plain
-- triggers keep their index.
CREATE VIRTUAL TABLE comments_fts USING fts5(
    body,
    content = 'comments', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO comments_fts(comments_fts) VALUES ('rebuild');
CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comments_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts(comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER comments_fts_update AFTER UPDATE OF body ON comments BEGIN
    INSERT INTO comments_fts(comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO comments_fts(rowid, body) VALUES (new.id, new.body);
END;

-- Saved searches: a person's named queries, in their navigation, each with its feed.
-- `seen_item_id` is the newest item id matching when its owner last opened it ("N new
-- since your last visit"); `notified_item_id` the newest one a notification was made for.
CREATE TABLE saved_searches (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users(id),
    name             TEXT NOT NULL,
    query            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    seen_item_id     INTEGER NOT NULL DEFAULT 0,
    seen_at          INTEGER,
    UNIQUE (user_id, query)
) STRICT;

-- A saved search's new matches become a notification: a new kind, pointing at the saved
-- search. SQLite cannot change a CHECK, so the table is made again with its indexes and
-- the triggers that keep it.
DROP TRIGGER notifications_comment_gone;
DROP TRIGGER notifications_like_gone;
DROP TRIGGER notifications_remote_like_gone;
DROP TRIGGER notifications_follow_gone;
DROP TRIGGER notifications_remote_follow_gone;
CREATE TABLE notifications_new (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('comment', 'reply', 'mention', 'like',
                        'follow', 'follow_request', 'source_failing', 'saved_search')),
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
                               comment_id, source_id, url, created_at, read_at)
    SELECT id, user_id, kind, actor_user_id, actor_id, actor_name, item_id, comment_id,
           source_id, url, created_at, read_at
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
