-- WebSub in (W3C WebSub, subscriber side): one push subscription per source whose feed
-- names a hub. The callback is `{base_url}/websub/{token}`; pushes are signed with the
-- secret (HMAC, `X-Hub-Signature`).
CREATE TABLE websub_subscriptions (
    source_id        INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    hub              TEXT NOT NULL,
    topic            TEXT NOT NULL,
    token            TEXT NOT NULL UNIQUE,   -- random, unguessable; the callback's path
    secret           TEXT NOT NULL,          -- random, hex, 32 bytes
    state            TEXT NOT NULL CHECK (state IN ('pending', 'active', 'unsubscribing')),
    lease_expires_at INTEGER,                -- ms; set by the hub's verification
    last_push_at     INTEGER,                -- ms; the last push stored
    last_error       TEXT,                   -- in words: a failed request, a denial, a refused push
    failures         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,       -- ms; when the worker next asks the hub
    created_at       INTEGER NOT NULL
);
CREATE INDEX websub_subscriptions_due ON websub_subscriptions (next_attempt_at);
