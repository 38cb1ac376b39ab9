-- The walk behind a stream page (issue #19): a person's visible mains in bump order,
-- answered from this index alone. The friends stream walks one of these per followee
-- for the keys of its page; with `items_user_bumped` each step read the item's row to
-- test `hidden`, `main_id` and the source, a random page read per step on a cold start.
-- `hidden` and `main_id` are columns as well as the condition, so that SQLite counts the
-- index as covering.
CREATE INDEX items_user_stream
    ON items(user_id, bumped_at DESC, id DESC, source_id, hidden, main_id)
    WHERE hidden = 0 AND main_id IS NULL;
