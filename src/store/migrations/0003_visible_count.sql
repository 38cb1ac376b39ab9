-- A profile header counts the user's visible items. This partial index holds just what
-- that count reads (user, source), so it never touches the rows themselves.
CREATE INDEX items_user_visible ON items(user_id, source_id) WHERE hidden = 0;
