-- 16: no stale duplicate (the cancel_on_live_answer option, on unless the dialplan says no):
-- a callback still waiting for an agent is cancelled when its number is answered live

ALTER TABLE requests ADD COLUMN cancel_on_live_answer INTEGER NOT NULL DEFAULT 1;
