-- 7: placement failures that concern the request, apart from the attempts the PBX's own
-- faults cost (a restart of Asterisk must not use up a waiting request's attempts)

ALTER TABLE requests ADD COLUMN placement_failures INTEGER NOT NULL DEFAULT 0;
