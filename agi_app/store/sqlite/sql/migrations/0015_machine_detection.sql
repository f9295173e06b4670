-- 15: machine detection on the customer's leg (the amd option) and its last verdict

ALTER TABLE requests ADD COLUMN amd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN amd_status TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN amd_cause TEXT NOT NULL DEFAULT '';
