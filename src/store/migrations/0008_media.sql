-- The media store: one row per stored file (content-addressed by the SHA-256 of its
-- bytes, hex), with the type sniffed from those bytes, and which users own it (a
-- user's total is the sum of the sizes of the files they own, for the per-user cap).

CREATE TABLE media (
    hash       TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE media_owners (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash       TEXT NOT NULL REFERENCES media(hash),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, hash)
) WITHOUT ROWID;

CREATE INDEX media_owners_by_hash ON media_owners(hash);
