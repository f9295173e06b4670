-- 5: who asked (SQLite's 14): the API credential of a request

ALTER TABLE requests ADD COLUMN requested_by text NOT NULL DEFAULT '';
