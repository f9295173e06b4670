-- 11: the caller's voice message left with the request (SQLite's 20)

ALTER TABLE requests ADD COLUMN message text NOT NULL DEFAULT '';
