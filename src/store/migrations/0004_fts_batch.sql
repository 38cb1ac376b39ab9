-- New items enter the full-text index in one statement per poll (`items::upsert`), not
-- one trigger run per row: FTS5 flushes its pending terms to a new segment at every
-- statement savepoint, so a per-row trigger wrote one tiny segment per item and spent the
-- poll merging them. Updates and deletes keep their triggers (they are rare and need the
-- old values).
DROP TRIGGER items_fts_insert;
