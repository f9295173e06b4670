-- 12: several Asterisk servers: the one that took each request; one active callback per
-- (number, server, queue), as two servers may each have a queue of the same name

ALTER TABLE requests ADD COLUMN server TEXT NOT NULL DEFAULT 'default';
DROP INDEX requests_one_active;
CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, server, queue)
    WHERE state != 'done';
