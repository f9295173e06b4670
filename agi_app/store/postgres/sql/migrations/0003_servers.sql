-- 3: several Asterisk servers (SQLite's 12): the one that took each request; one active
-- callback per (number, server, queue)

ALTER TABLE requests ADD COLUMN server text NOT NULL DEFAULT 'default';
DROP INDEX requests_one_active;
CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, server, queue)
    WHERE state <> 'done';
