-- A source's own icon (issue #19): the site's favicon, fetched through the fetcher once
-- and kept in the media store, for sources whose service has no embedded icon.
ALTER TABLE sources ADD COLUMN icon_hash TEXT;       -- a media store hash, or NULL
ALTER TABLE sources ADD COLUMN icon_checked_at INTEGER; -- last attempt (ms), found or not
