-- The unread notifications of a user, by item. Writing a notification first looks for an
-- identical unread one; with an index on the user alone that look-up read every unread
-- notification of the user (quadratic: a benchmark instance with 10,000 unread per user
-- spent minutes on its comments and likes). With the item beside the user it reads the
-- item's own few. The count of unread notifications uses the same index by its prefix.
DROP INDEX notifications_unread;
CREATE INDEX notifications_unread ON notifications(user_id, item_id) WHERE read_at IS NULL;
