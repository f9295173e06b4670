-- 2: serving: placement attempts, agent, outcomes, the customer leg

ALTER TABLE requests ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN agent TEXT;
ALTER TABLE requests ADD COLUMN declined_by TEXT NOT NULL DEFAULT '[]';
ALTER TABLE requests ADD COLUMN customer_dialed_at TEXT;
ALTER TABLE requests ADD COLUMN customer_answered_at TEXT;
ALTER TABLE requests ADD COLUMN customer_ended_at TEXT;
