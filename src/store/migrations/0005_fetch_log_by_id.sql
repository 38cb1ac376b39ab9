-- The fetch log is read and pruned newest first by id within a source. An index in that
-- order spares every poll a sort of its source's rows (the prune after each insert).
CREATE INDEX fetch_log_source_id ON fetch_log(source_id, id);
DROP INDEX fetch_log_source;
