-- 14: agent affinity: the preferred agent, its time, the affinity's phase (SQLite's 23)

ALTER TABLE requests ADD COLUMN preferred_agent text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN affinity_timeout integer NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN affinity text NOT NULL DEFAULT '';
