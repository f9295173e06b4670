-- 8: retries when the customer is not reached, calling hours, and the time before which
-- a request is held in the store

ALTER TABLE requests ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN retry_interval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN customer_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN not_before TEXT;
ALTER TABLE requests ADD COLUMN schedule TEXT;
ALTER TABLE requests ADD COLUMN at_closing TEXT NOT NULL DEFAULT 'carry';
ALTER TABLE requests ADD COLUMN carried_over INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN scheduled_for TEXT;
