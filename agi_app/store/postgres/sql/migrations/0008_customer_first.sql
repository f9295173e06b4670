-- 8: customer first (SQLite's 17): the mode, its prompts, the human check's key and the
-- customer's join

ALTER TABLE requests ADD COLUMN mode text NOT NULL DEFAULT 'agent_first';
ALTER TABLE requests ADD COLUMN greeting text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN machine_message text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN customer_key text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN customer_joined_at timestamptz;
