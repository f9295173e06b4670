-- 19: how the customer agreed to be called back

ALTER TABLE requests ADD COLUMN consent TEXT NOT NULL DEFAULT '';
