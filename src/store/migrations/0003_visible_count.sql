-- Counts and export pages at scale.
--
-- Each source keeps the number of its visible (not hidden) items, kept right by
-- triggers, so a profile header or an export counts a stream by adding a few numbers
-- instead of walking thousands of index entries on every request.
ALTER TABLE sources ADD COLUMN n_visible INTEGER NOT NULL DEFAULT 0;
UPDATE sources SET n_visible =
    (SELECT count(*) FROM items i WHERE i.source_id = sources.id AND i.hidden = 0);
CREATE TRIGGER items_visible_insert AFTER INSERT ON items WHEN new.hidden = 0 BEGIN
    UPDATE sources SET n_visible = n_visible + 1 WHERE id = new.source_id;
END;
CREATE TRIGGER items_visible_delete AFTER DELETE ON items WHEN old.hidden = 0 BEGIN
    UPDATE sources SET n_visible = n_visible - 1 WHERE id = old.source_id;
END;
CREATE TRIGGER items_visible_update AFTER UPDATE OF hidden ON items
WHEN old.hidden != new.hidden BEGIN
    UPDATE sources SET n_visible = n_visible + (CASE WHEN new.hidden = 0 THEN 1 ELSE -1 END)
    WHERE id = new.source_id;
END;

-- A user's visible items in id order, with their source: what the exports page through
-- (RFC 5005 blocks are counted from the oldest item). Partial and covering, so paging
-- never touches the rows themselves.
CREATE INDEX items_user_visible ON items(user_id, id, source_id) WHERE hidden = 0;
