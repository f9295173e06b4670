-- 18: the agent's wrap-up code for the call (disposition_codes)

ALTER TABLE requests ADD COLUMN disposition TEXT NOT NULL DEFAULT '';
