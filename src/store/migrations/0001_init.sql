-- Tributary's first schema. Times are INTEGER unix milliseconds, UTC.
-- Append-only: never edit this file once released; add 0002_*.sql instead.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT NOT NULL DEFAULT '',
    bio           TEXT NOT NULL DEFAULT '',
    avatar_url    TEXT,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    kind            TEXT NOT NULL,
    params          TEXT NOT NULL,          -- JSON, the connector's parameters
    title           TEXT NOT NULL DEFAULT '',
    schedule        TEXT NOT NULL DEFAULT '', -- normalized 6-field cron; '' = default
    enabled         INTEGER NOT NULL DEFAULT 1,
    etag            TEXT,
    last_modified   TEXT,
    cursor          TEXT,                   -- JSON, connector-private
    next_poll_at    INTEGER NOT NULL,
    last_polled_at  INTEGER,
    last_success_at INTEGER,
    failure_count   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER                 -- soft delete: items hidden, comments kept
) STRICT;
CREATE INDEX sources_due ON sources(next_poll_at) WHERE enabled = 1 AND deleted_at IS NULL;
CREATE INDEX sources_user ON sources(user_id);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    external_id   TEXT NOT NULL,
    url           TEXT,
    canonical_url TEXT,
    dedup_key     TEXT NOT NULL,
    title         TEXT NOT NULL,
    author_name   TEXT,
    author_url    TEXT,
    content_html  TEXT NOT NULL,            -- sanitized
    summary_text  TEXT NOT NULL,            -- plain text, indexed
    kind          TEXT NOT NULL,
    media         TEXT NOT NULL DEFAULT '[]',
    tags          TEXT NOT NULL DEFAULT '[]',
    in_reply_to   TEXT,
    extra         TEXT NOT NULL DEFAULT '{}',
    published_at  INTEGER NOT NULL,
    updated_at    INTEGER,
    fetched_at    INTEGER NOT NULL,
    bumped_at     INTEGER NOT NULL,
    content_hash  BLOB NOT NULL,
    hidden        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source_id, external_id)
) STRICT;
CREATE INDEX items_user_bumped ON items(user_id, bumped_at DESC, id DESC);
CREATE INDEX items_bumped ON items(bumped_at DESC, id DESC);
CREATE INDEX items_user_dedup ON items(user_id, dedup_key);

-- Items deleted on purpose: a re-poll must not bring them back.
CREATE TABLE item_tombstones (
    source_id   INTEGER NOT NULL REFERENCES sources(id),
    external_id TEXT NOT NULL,
    deleted_at  INTEGER NOT NULL,
    PRIMARY KEY (source_id, external_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    edited_at   INTEGER
) STRICT;
CREATE INDEX comments_item ON comments(item_id, created_at);
CREATE INDEX comments_user ON comments(user_id, created_at);

CREATE TABLE likes (
    item_id     INTEGER NOT NULL REFERENCES items(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (item_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX likes_user ON likes(user_id, created_at);

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users(id),
    followee_id INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE fetch_log (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources(id),
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL,              -- ok, not_modified, or an error class
    n_new       INTEGER NOT NULL DEFAULT 0,
    n_updated   INTEGER NOT NULL DEFAULT 0,
    message     TEXT
) STRICT;
CREATE INDEX fetch_log_source ON fetch_log(source_id, started_at DESC);

-- Full-text search over plain text only (never HTML): the title and the text of the
-- content. External content: the index stores no copy of the text.
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, summary_text,
    content = 'items', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts(rowid, title, summary_text) VALUES (new.id, new.title, new.summary_text);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary_text)
        VALUES ('delete', old.id, old.title, old.summary_text);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary_text ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, summary_text)
        VALUES ('delete', old.id, old.title, old.summary_text);
    INSERT INTO items_fts(rowid, title, summary_text) VALUES (new.id, new.title, new.summary_text);
END;
