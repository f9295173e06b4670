-- 12: calling rules (SQLite's 21): the do-not-call entries added by the command line and
-- the API, and each request's customer hours (its customer's own window, '' none)

CREATE TABLE do_not_call (
    entry    text PRIMARY KEY,
    added_at timestamptz NOT NULL,
    added_by text NOT NULL
);
ALTER TABLE requests ADD COLUMN customer_hours text NOT NULL DEFAULT '';
