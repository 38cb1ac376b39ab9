-- Who may see an item (issue "FriendFeed's social shape"): 0 public, 1 friends (the
-- owner and the local users who follow the owner and are followed back), 2 private (the
-- owner only). A source has one, an item has its own (`own_visibility`), and
-- `items.visibility` is the item's effective one, the most restrictive of the two, kept
-- by `store::visibility` when either changes and by the trigger below for new items, so
-- that every read compares one column.
ALTER TABLE sources ADD COLUMN visibility INTEGER NOT NULL DEFAULT 0
    CHECK (visibility IN (0, 1, 2));
ALTER TABLE items ADD COLUMN own_visibility INTEGER NOT NULL DEFAULT 0
    CHECK (own_visibility IN (0, 1, 2));
ALTER TABLE items ADD COLUMN visibility INTEGER NOT NULL DEFAULT 0
    CHECK (visibility IN (0, 1, 2));

-- A new item of a source that is not public starts as restricted as its source.
CREATE TRIGGER items_visibility_of_source AFTER INSERT ON items
WHEN (SELECT visibility FROM sources WHERE id = NEW.source_id) > NEW.visibility
BEGIN
    UPDATE items SET visibility = (SELECT visibility FROM sources WHERE id = NEW.source_id)
    WHERE id = NEW.id;
END;

-- The stream walk (0016) with the effective visibility as a column too, so that a
-- stream page's `visibility <= :level` is answered from the index alone.
DROP INDEX items_user_stream;
CREATE INDEX items_user_stream
    ON items(user_id, bumped_at DESC, id DESC, source_id, hidden, main_id, visibility)
    WHERE hidden = 0 AND main_id IS NULL;

-- Local blocks: `blocker_id` no longer sees `blocked_id` and is no longer seen by them.
CREATE TABLE user_blocks (
    blocker_id INTEGER NOT NULL REFERENCES users(id),
    blocked_id INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_blocks_blocked ON user_blocks(blocked_id, blocker_id);

-- Feeds and the outbox are public: their pages walk `items_user_visible` (0003) with the
-- visibility as a column too, and their counts take the few items that are not public
-- (`items_user_restricted`) from the sources' counters.
DROP INDEX items_user_visible;
CREATE INDEX items_user_visible ON items(user_id, id, source_id, visibility) WHERE hidden = 0;
CREATE INDEX items_user_restricted ON items(user_id, source_id)
    WHERE hidden = 0 AND visibility > 0;
