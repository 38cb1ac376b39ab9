-- History walks: per source, where the walk back through older pages stands, and which
-- items came from it (imported items keep their own dates and are never delivered to
-- followers or announced as new).

ALTER TABLE items ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;

CREATE TABLE history_walks (
    source_id   INTEGER PRIMARY KEY REFERENCES sources(id),
    -- The connector's next older page (JSON), or NULL when none is known yet or the walk
    -- reached the end.
    next_page   TEXT,
    pages_done  INTEGER NOT NULL DEFAULT 0,
    items_added INTEGER NOT NULL DEFAULT 0,
    -- 'running', 'done', 'budget' (stopped at the page budget) or 'failed'.
    status      TEXT NOT NULL,
    message     TEXT,
    page_budget INTEGER NOT NULL DEFAULT 100,
    updated_at  INTEGER NOT NULL
) STRICT;
