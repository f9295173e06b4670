-- 7: no stale duplicate (SQLite's 16): the cancel_on_live_answer option, on by default

ALTER TABLE requests ADD COLUMN cancel_on_live_answer boolean NOT NULL DEFAULT true;
