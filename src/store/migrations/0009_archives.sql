-- Platform archives (a Mastodon export, a Twitter/X archive, a Bluesky repository, a
-- FriendFeed or Instagram export) imported into a user's stream. Each archive's posts
-- live in a source of their own (kind = the platform, never polled: `enabled` = 0), and
-- UNIQUE (source_id, external_id) on items, the platform's own id, is the id map that
-- makes a second run add nothing.

CREATE TABLE archive_imports (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    source_id       INTEGER REFERENCES sources(id),
    platform        TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    -- 'running', 'done' or 'failed'.
    status          TEXT NOT NULL,
    n_imported      INTEGER NOT NULL DEFAULT 0,
    n_present       INTEGER NOT NULL DEFAULT 0,
    n_skipped       INTEGER NOT NULL DEFAULT 0,
    n_media         INTEGER NOT NULL DEFAULT 0,
    n_media_missing INTEGER NOT NULL DEFAULT 0,
    -- JSON object: reason in words → count.
    skipped         TEXT NOT NULL DEFAULT '{}',
    message         TEXT,
    started_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX archive_imports_user ON archive_imports(user_id, id);

-- Comments and likes an archive carries, by people who are not users here (FriendFeed
-- keeps both): shown by name. A comment now has exactly one of a local author
-- (`user_id`), a remote one (`actor_id`) or a name from an archive (`author_name`).
CREATE TABLE comments_new (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id),
    user_id     INTEGER REFERENCES users(id),
    actor_id    INTEGER REFERENCES actors(id),
    ap_uri      TEXT UNIQUE,
    parent_id   INTEGER REFERENCES comments_new(id),
    body        TEXT NOT NULL,
    body_html   TEXT,
    created_at  INTEGER NOT NULL,
    edited_at   INTEGER,
    author_name TEXT,
    author_url  TEXT,
    CHECK ((user_id IS NOT NULL) + (actor_id IS NOT NULL) + (author_name IS NOT NULL) = 1)
) STRICT;
INSERT INTO comments_new (id, item_id, user_id, actor_id, ap_uri, parent_id, body, body_html,
                          created_at, edited_at)
    SELECT id, item_id, user_id, actor_id, ap_uri, parent_id, body, body_html, created_at,
           edited_at FROM comments;
DROP TABLE comments;
ALTER TABLE comments_new RENAME TO comments;
CREATE INDEX comments_item ON comments(item_id, created_at);
CREATE INDEX comments_user ON comments(user_id, created_at);
CREATE INDEX comments_actor ON comments(actor_id);

CREATE TABLE archived_likes (
    item_id     INTEGER NOT NULL REFERENCES items(id),
    author_name TEXT NOT NULL,
    author_url  TEXT,
    created_at  INTEGER,
    PRIMARY KEY (item_id, author_name)
) STRICT, WITHOUT ROWID;
