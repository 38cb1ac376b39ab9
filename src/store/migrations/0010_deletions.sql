-- Deletions carried over: a source may keep items deleted upstream instead of removing
-- them (`keep_deleted`), a kept one is marked `deleted_upstream_at`, and `rechecked_at`
-- is when ingest last asked the origin whether an item still exists.

ALTER TABLE sources ADD COLUMN keep_deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN deleted_upstream_at INTEGER;
ALTER TABLE items ADD COLUMN rechecked_at INTEGER;
