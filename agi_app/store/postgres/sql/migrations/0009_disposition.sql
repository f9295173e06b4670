-- 9: the agent's wrap-up code (SQLite's 18)

ALTER TABLE requests ADD COLUMN disposition text NOT NULL DEFAULT '';
