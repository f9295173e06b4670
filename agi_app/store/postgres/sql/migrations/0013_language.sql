-- 13: the caller's language (CHANNEL(language)) at the request (SQLite's 22)

ALTER TABLE requests ADD COLUMN language text NOT NULL DEFAULT '';
