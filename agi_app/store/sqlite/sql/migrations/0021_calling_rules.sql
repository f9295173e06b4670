-- 21: calling rules: the do-not-call entries added by the command line and the API, and
-- each request's customer hours (its customer's own window, "" none)

CREATE TABLE do_not_call (
    entry    TEXT PRIMARY KEY,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL
);
ALTER TABLE requests ADD COLUMN customer_hours TEXT NOT NULL DEFAULT '';
