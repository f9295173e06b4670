-- 22: the caller's language (CHANNEL(language)) at the request; '': Asterisk's default

ALTER TABLE requests ADD COLUMN language TEXT NOT NULL DEFAULT '';
