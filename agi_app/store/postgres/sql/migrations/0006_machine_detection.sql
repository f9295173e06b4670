-- 6: machine detection (SQLite's 15): the amd option and its last verdict

ALTER TABLE requests ADD COLUMN amd boolean NOT NULL DEFAULT false;
ALTER TABLE requests ADD COLUMN amd_status text NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN amd_cause text NOT NULL DEFAULT '';
