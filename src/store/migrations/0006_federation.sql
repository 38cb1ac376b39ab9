-- ActivityPub: users' keys and settings, the remote accounts we hear from, their
-- follows, comments, likes and shares, the inbox's replay guard and the delivery queue.

-- Per user: federation on or off, followers approved by hand, and earlier accounts
-- (`alsoKnownAs`, a JSON array of actor URIs) for moves.
ALTER TABLE users ADD COLUMN federation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN approve_followers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN also_known_as TEXT NOT NULL DEFAULT '[]';

-- A user's key pair, made on first use: PKCS#8 PEM private, SPKI PEM public.
CREATE TABLE user_keys (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    private_pem TEXT NOT NULL,
    public_pem  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- Remote accounts (ActivityPub actors) that followed, commented, liked or shared.
CREATE TABLE actors (
    id             INTEGER PRIMARY KEY,
    uri            TEXT NOT NULL UNIQUE,     -- the actor's id
    host           TEXT NOT NULL,            -- authority of `uri`, lower case
    domain         TEXT NOT NULL,            -- its host name alone (what domain blocks name)
    handle         TEXT NOT NULL DEFAULT '', -- user@host, when known
    name           TEXT NOT NULL DEFAULT '', -- plain text
    url            TEXT,                     -- profile page
    icon_url       TEXT,
    inbox          TEXT NOT NULL,
    shared_inbox   TEXT,
    key_id         TEXT,
    public_key_pem TEXT,
    also_known_as  TEXT NOT NULL DEFAULT '[]',
    moved_to       TEXT,
    fetched_at     INTEGER NOT NULL,
    deleted_at     INTEGER
) STRICT;
CREATE INDEX actors_key ON actors(key_id);
CREATE INDEX actors_host ON actors(host);
CREATE INDEX actors_domain ON actors(domain);

-- Remote followers of a user. `state` is 'pending' (waiting for the user's approval)
-- or 'accepted'. `follow_uri` is the Follow activity's id, answered by our Accept.
CREATE TABLE remote_followers (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    actor_id    INTEGER NOT NULL REFERENCES actors(id),
    follow_uri  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, actor_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX remote_followers_actor ON remote_followers(actor_id);

-- Blocks: of a remote account (`kind` 'actor', target its URI) or a whole domain
-- ('domain', target a host name; its subdomains are blocked too). `user_id` 0 is the
-- instance's own list (the admin's).
CREATE TABLE blocks (
    user_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('actor', 'domain')),
    target     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, target)
) STRICT, WITHOUT ROWID;

-- Comments get remote authors, an ActivityPub id and a parent (a reply to a comment).
-- A local comment has `user_id`, a remote one `actor_id`; a remote comment's text is
-- sanitized HTML in `body_html`, with its plain text in `body`.
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
    CHECK ((user_id IS NULL) != (actor_id IS NULL))
) STRICT;
INSERT INTO comments_new (id, item_id, user_id, body, created_at, edited_at)
    SELECT id, item_id, user_id, body, created_at, edited_at FROM comments;
DROP TABLE comments;
ALTER TABLE comments_new RENAME TO comments;
CREATE INDEX comments_item ON comments(item_id, created_at);
CREATE INDEX comments_user ON comments(user_id, created_at);
CREATE INDEX comments_actor ON comments(actor_id);

-- Likes and shares (Announce) by remote accounts; `activity_uri` is what an Undo names.
CREATE TABLE remote_likes (
    item_id      INTEGER NOT NULL REFERENCES items(id),
    actor_id     INTEGER NOT NULL REFERENCES actors(id),
    activity_uri TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (item_id, actor_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX remote_likes_actor ON remote_likes(actor_id);
CREATE TABLE remote_shares (
    item_id      INTEGER NOT NULL REFERENCES items(id),
    actor_id     INTEGER NOT NULL REFERENCES actors(id),
    activity_uri TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (item_id, actor_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX remote_shares_actor ON remote_shares(actor_id);

-- Activity ids the inbox has taken, so a replay is refused; pruned after a while.
CREATE TABLE inbox_seen (
    activity_uri TEXT PRIMARY KEY,
    received_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX inbox_seen_time ON inbox_seen(received_at);

-- Outgoing activities (their JSON as sent) and the delivery queue: one row per target
-- inbox (a shared inbox stands for all its followers), claimed with a lease, retried
-- with back-off until `give_up_at`.
CREATE TABLE activities (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    uri         TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    activity_id  INTEGER NOT NULL REFERENCES activities(id),
    inbox        TEXT NOT NULL,
    host         TEXT NOT NULL,
    next_try_at  INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL DEFAULT 0,
    tries        INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (activity_id, inbox)
) STRICT;
CREATE INDEX deliveries_due ON deliveries(next_try_at);
-- Hosts whose deliveries keep failing: `failing_since` is the first failure of the
-- current run of failures; past a week the host is dead and gets no new deliveries
-- until it answers again (an inbound activity from it clears the mark).
CREATE TABLE delivery_hosts (
    host          TEXT PRIMARY KEY,
    failing_since INTEGER NOT NULL,
    last_error    TEXT
) STRICT, WITHOUT ROWID;

-- Items a poll stored or changed that wait to become activities (Create, Update,
-- Delete) for the user's followers: written in the poll's own transaction, so a crash
-- between the poll and the fan-out loses nothing.
CREATE TABLE outbox_queue (
    id         INTEGER PRIMARY KEY,
    item_id    INTEGER NOT NULL REFERENCES items(id),
    verb       TEXT NOT NULL CHECK (verb IN ('create', 'update', 'delete')),
    created_at INTEGER NOT NULL
) STRICT;
