-- 17: customer first (the mode option): its prompts, the customer's key at the human check
-- and when they joined the queue after it

ALTER TABLE requests ADD COLUMN mode TEXT NOT NULL DEFAULT 'agent_first';
ALTER TABLE requests ADD COLUMN greeting TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN machine_message TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN customer_key TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN customer_joined_at TEXT;
