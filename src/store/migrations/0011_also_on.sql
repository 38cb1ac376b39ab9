-- One card per post ("also on"): the same post syndicated to several services is one
-- group of items. The main item of a group has `main_id` NULL; each copy names its main.
-- Streams show mains only; a service's own stream and its feeds show every item of the
-- service. Only visible items are grouped: a hidden or tombstoned item has `main_id` NULL
-- and is in no group (see `store::also_on`).
ALTER TABLE items ADD COLUMN main_id INTEGER REFERENCES items(id);
-- The item's normalized text (lowercased, links left out, punctuation and runs of white
-- space as one space, its first 280 characters), for the "same text" rule: one item's is
-- the other's or the start of it (a copy cut short). NULL for texts too short to say two
-- posts are the same one.
ALTER TABLE items ADD COLUMN text_key TEXT;
CREATE INDEX items_main ON items(main_id) WHERE main_id IS NOT NULL;
-- Two texts where one starts the other share their first 30 characters (the shortest key
-- there is, `MIN_TEXT_CHARS` in store/also_on.rs): candidates are found by those.
CREATE INDEX items_user_text ON items(user_id, substr(text_key, 1, 30))
    WHERE text_key IS NOT NULL;

-- The canonical links in an item's text (at most 32 per item), so that an item whose
-- canonical URL another one links to finds that one (a Mastodon copy linking back to the
-- blog post, a blog post's `u-syndication` links to its copies).
CREATE TABLE item_links (
    user_id INTEGER NOT NULL REFERENCES users(id),
    url     TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (user_id, url, item_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX item_links_item ON item_links(item_id);

-- Items stored before this migration: grouped by the canonical-URL rule (the one SQL can
-- apply; the link and text rules need the normalizer and apply to items written from now
-- on). A (user, canonical URL) seen in two sources or more is one group, its main the
-- own site's item, else the earliest, else the lowest id, as `store::also_on` chooses.
WITH shared AS (
    SELECT i.user_id, i.dedup_key FROM items i JOIN sources s ON s.id = i.source_id
    WHERE i.dedup_key LIKE 'url:%' AND i.hidden = 0 AND s.deleted_at IS NULL
    GROUP BY i.user_id, i.dedup_key HAVING count(DISTINCT i.source_id) > 1),
ranked AS (
    SELECT i.id, first_value(i.id) OVER (PARTITION BY i.user_id, i.dedup_key
        ORDER BY s.kind != 'feed', i.published_at, i.id) AS main
    FROM items i JOIN sources s ON s.id = i.source_id
    JOIN shared d ON d.user_id = i.user_id AND d.dedup_key = i.dedup_key
    WHERE i.hidden = 0 AND s.deleted_at IS NULL)
UPDATE items SET main_id = (SELECT r.main FROM ranked r WHERE r.id = items.id)
WHERE id IN (SELECT r.id FROM ranked r WHERE r.main != r.id);
