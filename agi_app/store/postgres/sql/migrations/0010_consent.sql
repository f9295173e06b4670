-- 10: how the customer agreed to be called back (SQLite's 19)

ALTER TABLE requests ADD COLUMN consent text NOT NULL DEFAULT '';
