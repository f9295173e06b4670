-- The PostgreSQL store's queries, each a "-- name: x" block read by sql_files.py. Parameters
-- are psycopg's %s, in the order the calling module passes them. {braces}: parts generated
-- in Python from CallbackRequest's fields (rows.py), so that a new field needs no edit here.
-- Whole-line comments are dropped from the queries as they are read.

-- ---- the schema's version (migrations.py) ---------------------------------------------

-- name: schema_version_present
SELECT to_regclass('schema_version') IS NOT NULL AS present;

-- name: schema_version
SELECT version FROM schema_version;

-- name: create_schema_version
CREATE TABLE IF NOT EXISTS schema_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one), version integer NOT NULL);

-- name: set_schema_version
INSERT INTO schema_version (version) VALUES (%s)
ON CONFLICT (one) DO UPDATE SET version = excluded.version;

-- ---- locks (locks.py) -------------------------------------------------------------------

-- name: advisory_xact_lock
SELECT pg_advisory_xact_lock(%s);

-- ---- requests (request_log.py, intake.py) -----------------------------------------------------

-- name: request
SELECT * FROM requests WHERE id = %s;

-- Requests in serving order (priority level, then original queue entry).
-- name: requests
SELECT * FROM requests
ORDER BY priority, queue_entered_at, requested_at, id;

-- name: requests_in_states
SELECT * FROM requests WHERE state = ANY(%s)
ORDER BY priority, queue_entered_at, requested_at, id;

-- The calling rules' sweep: those in the states with hours of their own (the partial index
-- requests_with_customer_hours, migration 15).
-- name: requests_with_customer_hours
SELECT * FROM requests WHERE customer_hours <> '' AND state = ANY(%s)
ORDER BY priority, queue_entered_at, requested_at, id;

-- The turn check: customer first, or waiting for the preferred agent (affinity '': not
-- tried yet; the partial index requests_awaiting_turn).
-- name: requests_awaiting_turn
SELECT * FROM requests
WHERE (mode = 'customer_first' OR (preferred_agent <> '' AND affinity = ''))
    AND state = ANY(%s)
ORDER BY priority, queue_entered_at, requested_at, id;

-- The newest answered callback to a number: its agent (agent affinity, "last").
-- name: last_agent
SELECT agent FROM requests
WHERE callback_number = %s AND state = 'done' AND agent IS NOT NULL AND agent <> ''
    AND agent_answered_at IS NOT NULL
ORDER BY agent_answered_at DESC, id DESC LIMIT 1;

-- name: active_for
SELECT * FROM requests WHERE (caller_number = %s OR callback_number = %s)
    AND queue = %s AND state <> 'done'
ORDER BY priority, queue_entered_at, requested_at, id;

-- {columns}, {values}: every field of a request (agi_app/store/rows.py COLUMNS).
-- RETURNING: its id when it went in (none when a unique index refused it), so that the
-- intake, pipelined, learns it by fetching (store.py add).
-- name: insert_request
INSERT INTO requests ({columns}, updated_at) VALUES ({values}, %s)
ON CONFLICT DO NOTHING
RETURNING id;

-- {assignments}: every field but id. Only if the row still has the state and attempt it
-- was read with (read committed: a row another transaction changed is checked as it is now).
-- name: update_request
UPDATE requests SET {assignments}, updated_at = %s
WHERE id = %s AND state = %s AND attempt = %s;

-- A repeat: the same channel (a retried AGI session), else the active one of (number,
-- server, queue). A channel of another server is no repeat (uniqueids must differ across
-- servers: Asterisk's systemname; such a clash is refused, never taken for another's).
-- name: repeat_of
SELECT * FROM requests WHERE server = %s AND (channel = %s
    OR (callback_number = %s AND queue = %s AND state <> 'done'))
ORDER BY channel = %s DESC LIMIT 1;

-- The rate limits: requests within the window from the caller (withheld: NULL, none) and to
-- the callback number.
-- name: count_recent
SELECT count(*) FILTER (WHERE caller_number = %s) AS from_caller,
    count(*) FILTER (WHERE callback_number = %s) AS to_destination
FROM requests WHERE requested_at > %s
    AND (caller_number = %s OR callback_number = %s);

-- ---- idempotency keys (intake.py) -------------------------------------------------------

-- name: kept_key
SELECT * FROM idempotency_keys WHERE token = %s AND key = %s;

-- name: kept_key_since
SELECT * FROM idempotency_keys WHERE token = %s AND key = %s AND created_at >= %s;

-- name: insert_key
INSERT INTO idempotency_keys (token, key, body_sha256, request_id, status, created_at)
VALUES (%s, %s, %s, %s, %s, %s);

-- Expired keys purged per add_once, at most: rows another transaction is purging are
-- skipped, not waited for. Each add_once keeps one key, so the expired ones cannot pile up.
-- name: purge_expired_keys
DELETE FROM idempotency_keys WHERE (token, key) IN (SELECT token, key
    FROM idempotency_keys WHERE created_at < %s LIMIT 1000 FOR UPDATE SKIP LOCKED);

-- name: delete_expired_key
DELETE FROM idempotency_keys WHERE token = %s AND key = %s AND created_at < %s;

-- ---- the event log (request_log.py, intake.py, outbox.py) ----------------------------

-- name: insert_event
INSERT INTO request_events (request_id, at, event, state, detail)
VALUES (%s, %s, %s, %s, %s);

-- name: request_event_log
SELECT * FROM request_events WHERE request_id = %s ORDER BY seq;

-- name: repeated_since
SELECT 1 FROM request_events WHERE request_id = %s AND event = 'repeated'
    AND at > %s LIMIT 1;

-- name: events_after
SELECT * FROM request_events WHERE seq > %s ORDER BY seq LIMIT %s;

-- name: request_events_after
SELECT * FROM request_events WHERE request_id = %s AND seq > %s ORDER BY seq LIMIT %s;

-- name: last_event_seq
SELECT coalesce(max(seq), 0) AS seq FROM request_events;

-- name: count_events_after
SELECT count(*) AS n FROM request_events WHERE seq > %s;

-- name: count_named_events_after
SELECT count(*) AS n FROM request_events WHERE seq > %s AND event = ANY(%s);

-- ---- webhooks (outbox.py) ---------------------------------------------------------------

-- name: webhook_cursor
SELECT seq FROM webhook_cursors WHERE subscription = %s;

-- name: start_webhook
INSERT INTO webhook_cursors (subscription, seq) VALUES (%s, %s)
ON CONFLICT DO NOTHING;

-- Never backwards.
-- name: advance_webhook
INSERT INTO webhook_cursors (subscription, seq) VALUES (%s, %s)
ON CONFLICT (subscription) DO UPDATE
SET seq = greatest(webhook_cursors.seq, excluded.seq);

-- name: insert_webhook_attempt
INSERT INTO webhook_attempts (subscription, seq, at, outcome, status, error)
VALUES (%s, %s, %s, %s, %s, %s) RETURNING id;

-- The subscription's attempts but its newest N (the third parameter).
-- name: prune_webhook_attempts
DELETE FROM webhook_attempts WHERE subscription = %s AND id < (SELECT min(id) FROM
    (SELECT id FROM webhook_attempts WHERE subscription = %s ORDER BY id DESC LIMIT %s) AS kept);

-- name: webhook_attempts
SELECT * FROM webhook_attempts WHERE subscription = %s ORDER BY id DESC LIMIT %s;

-- ---- offer checks (offer_log.py) --------------------------------------------------------

-- name: insert_offer_check
INSERT INTO offer_checks (channel, queue, at, reason, expected_wait)
VALUES (%s, %s, %s, %s, %s);

-- name: offer_checks
SELECT * FROM offer_checks ORDER BY seq;

-- name: offer_checks_since
SELECT * FROM offer_checks WHERE at >= %s ORDER BY seq;

-- ---- serving: the lease, the leader's lock, notices (leadership.py, fenced.py, notices.py)

-- Session-level: held as long as the leader's connection lives.
-- name: serving_lock
SELECT pg_advisory_lock(%s);

-- name: take_lease
INSERT INTO serving_lease (id, epoch, holder, renewed_at) VALUES (1, 1, %s, now())
ON CONFLICT (id) DO UPDATE
SET epoch = serving_lease.epoch + 1, holder = excluded.holder, renewed_at = now()
RETURNING epoch;

-- A renewal never waits: fenced writes hold the row FOR SHARE, and a leader slowed by its
-- own writes must not be taken for a lost one. renewed_at only tells operators it is alive.
-- name: renew_lease
UPDATE serving_lease SET renewed_at = now() WHERE id = (SELECT id FROM serving_lease
    WHERE id = 1 AND epoch = %s FOR NO KEY UPDATE SKIP LOCKED);

-- name: lease_epoch
SELECT epoch FROM serving_lease WHERE id = 1;

-- name: lease_holder
SELECT holder, epoch FROM serving_lease WHERE id = 1;

-- A fenced transaction's first lock: held (shared) until it ends, so no takeover (which
-- raises the epoch with an UPDATE of the row) comes in between.
-- name: fence
SELECT epoch FROM serving_lease WHERE id = 1 FOR SHARE;

-- name: notify
SELECT pg_notify(%s, %s);

-- ---- personal data (personal.py) ---------------------------------------------------------

-- Done, last changed before a time, numbers not pseudonyms yet (agi_app/domain/privacy.py).
-- name: done_before
SELECT * FROM requests
WHERE state = 'done' AND updated_at < %s AND callback_number NOT LIKE 'anon:%%'
ORDER BY updated_at, id LIMIT %s;

-- name: of_numbers
SELECT * FROM requests
WHERE caller_number = ANY(%s) OR callback_number = ANY(%s)
ORDER BY requested_at, id;

-- The same assignments as update_request, the last change time kept.
-- name: rewrite_request
UPDATE requests SET {assignments}
WHERE id = %s AND state = %s AND attempt = %s;

-- name: rewrite_event_detail
UPDATE request_events SET detail = %s WHERE seq = %s AND request_id = %s;

-- name: forget_keys_of_request
DELETE FROM idempotency_keys WHERE request_id = %s;

-- ---- do-not-call entries (do_not_call.py) -----------------------------------------------

-- name: do_not_call
SELECT * FROM do_not_call ORDER BY entry;

-- name: add_do_not_call
INSERT INTO do_not_call (entry, added_at, added_by) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING;

-- name: remove_do_not_call
DELETE FROM do_not_call WHERE entry = %s;
