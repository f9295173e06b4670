-- 4: when an agent took it (the end of the wait, for reports)

ALTER TABLE requests ADD COLUMN agent_answered_at TEXT;
