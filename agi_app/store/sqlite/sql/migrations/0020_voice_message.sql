-- 20: the caller's voice message left with the request (its file name; '' none)

ALTER TABLE requests ADD COLUMN message TEXT NOT NULL DEFAULT '';
