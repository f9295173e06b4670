-- 23: agent affinity: the preferred agent ('' none; an interface, or 'last'), how long it is
-- offered the callback first, and the affinity's phase ('' not tried, ringing, over)

ALTER TABLE requests ADD COLUMN preferred_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN affinity_timeout INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN affinity TEXT NOT NULL DEFAULT '';
