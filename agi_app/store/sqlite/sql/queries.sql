-- The SQLite store's queries, each a "-- name: x" block read by sql_files.py. Parameters
-- are sqlite3's ?, in the order the calling module passes them. {braces}: parts generated
-- in Python from CallbackRequest's fields (agi_app/store/rows.py COLUMNS), so that a new
-- field needs a migration and no edit here. A list of values is one JSON array parameter
-- read with json_each, so that every query's text is fixed. Whole-line comments are dropped
-- from the queries as they are read. The connection's PRAGMAs are in connection.py and
-- migrations.py (a PRAGMA takes no parameters).

-- ---- requests (request_log.py, intake.py) -----------------------------------------------

-- name: request
SELECT * FROM requests WHERE id = ?;

-- Requests in serving order (priority level, then original queue entry).
-- name: requests
SELECT * FROM requests
ORDER BY priority, queue_entered_at, requested_at;

-- The parameter: the states, a JSON array.
-- name: requests_in_states
SELECT * FROM requests WHERE state IN (SELECT value FROM json_each(?))
ORDER BY priority, queue_entered_at, requested_at;

-- The calling rules' sweep: those in the states (a JSON array) with hours of their own. The
-- first condition is the partial index requests_with_customer_hours's (migration 24), word
-- for word: SQLite uses a partial index only for a query that repeats its condition.
-- name: requests_with_customer_hours
SELECT * FROM requests WHERE customer_hours != ''
    AND state IN (SELECT value FROM json_each(?))
ORDER BY priority, queue_entered_at, requested_at;

-- The turn check: customer first, or waiting for the preferred agent (affinity '': not
-- tried yet). The condition is the partial index requests_awaiting_turn's, word for word.
-- name: requests_awaiting_turn
SELECT * FROM requests
WHERE (mode = 'customer_first' OR (preferred_agent != '' AND affinity = ''))
    AND state IN (SELECT value FROM json_each(?))
ORDER BY priority, queue_entered_at, requested_at;

-- The newest answered callback to a number: its agent (agent affinity, "last").
-- name: last_agent
SELECT agent FROM requests
WHERE callback_number = ? AND state = 'done' AND agent IS NOT NULL AND agent != ''
    AND agent_answered_at IS NOT NULL
ORDER BY agent_answered_at DESC, id DESC LIMIT 1;

-- name: active_for
SELECT * FROM requests WHERE (caller_number = ? OR callback_number = ?)
    AND queue = ? AND state != 'done'
ORDER BY priority, queue_entered_at, requested_at;

-- One statement, so one durable commit: the trigger requests_requested writes the
-- "requested" event in it, and a repeat (same channel, or same number, server and queue
-- while active) violates a unique index and inserts nothing.
-- {columns}, {values}: every field of a request.
-- name: insert_request
INSERT INTO requests ({columns}, updated_at) VALUES ({values}, ?)
ON CONFLICT DO NOTHING;

-- {assignments}: every field but id. Only if the row still has the state and attempt it
-- was read with.
-- name: update_request
UPDATE requests SET {assignments}, updated_at = ?
WHERE id = ? AND state = ? AND attempt = ?;

-- A repeat: the same channel (a retried AGI session), else the active one of (number,
-- server, queue). A channel of another server is no repeat (see postgres/intake.py).
-- name: repeat_of
SELECT * FROM requests WHERE server = ? AND (channel = ?
    OR (callback_number = ? AND queue = ? AND state != 'done'))
ORDER BY channel = ? DESC LIMIT 1;

-- The rate limits: requests within the window from the caller (withheld: NULL, none) and to
-- the callback number.
-- name: count_recent
SELECT coalesce(sum(caller_number = ?), 0), coalesce(sum(callback_number = ?), 0)
FROM requests WHERE requested_at > ? AND (caller_number = ? OR callback_number = ?);

-- ---- idempotency keys (intake.py) -------------------------------------------------------

-- Times are ISO 8601 text in UTC, compared as text: '' is before any.
-- name: kept_key
SELECT * FROM idempotency_keys WHERE token = ? AND key = ? AND created_at >= ?;

-- name: insert_key
INSERT INTO idempotency_keys (token, key, body_sha256, request_id, status, created_at)
VALUES (?, ?, ?, ?, ?, ?);

-- name: purge_expired_keys
DELETE FROM idempotency_keys WHERE created_at < ?;

-- ---- the event log (request_log.py, intake.py, outbox.py) -------------------------------

-- name: insert_event
INSERT INTO request_events (request_id, at, event, state, detail) VALUES (?, ?, ?, ?, ?);

-- A repeat's "repeated" event, unless the request has one younger than REPEAT_NOTED_EVERY
-- (the last parameter): looked for and written in one statement.
-- name: note_repeat
INSERT INTO request_events (request_id, at, event, state, detail)
SELECT ?, ?, 'repeated', ?, ? WHERE NOT EXISTS (SELECT 1 FROM request_events
    WHERE request_id = ? AND event = 'repeated' AND at > ?);

-- name: request_event_log
SELECT * FROM request_events WHERE request_id = ? ORDER BY seq;

-- name: events_after
SELECT * FROM request_events WHERE seq > ? ORDER BY seq LIMIT ?;

-- name: request_events_after
SELECT * FROM request_events WHERE request_id = ? AND seq > ? ORDER BY seq LIMIT ?;

-- name: last_event_seq
SELECT coalesce(max(seq), 0) FROM request_events;

-- name: count_events_after
SELECT count(*) FROM request_events WHERE seq > ?;

-- The second parameter: the event names, a JSON array.
-- name: count_named_events_after
SELECT count(*) FROM request_events
WHERE seq > ? AND event IN (SELECT value FROM json_each(?));

-- ---- webhooks (outbox.py) ---------------------------------------------------------------

-- name: webhook_cursor
SELECT seq FROM webhook_cursors WHERE subscription = ?;

-- name: start_webhook
INSERT INTO webhook_cursors (subscription, seq) VALUES (?, ?)
ON CONFLICT DO NOTHING;

-- Never backwards.
-- name: advance_webhook
INSERT INTO webhook_cursors (subscription, seq) VALUES (?, ?)
ON CONFLICT (subscription) DO UPDATE SET seq = max(seq, excluded.seq);

-- name: insert_webhook_attempt
INSERT INTO webhook_attempts (subscription, seq, at, outcome, status, error)
VALUES (?, ?, ?, ?, ?, ?);

-- The subscription's attempts but its newest N (the third parameter).
-- name: prune_webhook_attempts
DELETE FROM webhook_attempts WHERE subscription = ? AND id < (SELECT min(id) FROM
    (SELECT id FROM webhook_attempts WHERE subscription = ? ORDER BY id DESC LIMIT ?) AS kept);

-- name: webhook_attempts
SELECT * FROM webhook_attempts WHERE subscription = ? ORDER BY id DESC LIMIT ?;

-- ---- offer checks (offer_log.py) --------------------------------------------------------

-- name: insert_offer_check
INSERT INTO offer_checks (channel, queue, at, reason, expected_wait) VALUES (?, ?, ?, ?, ?);

-- name: offer_checks
SELECT * FROM offer_checks ORDER BY seq;

-- name: offer_checks_since
SELECT * FROM offer_checks WHERE at >= ? ORDER BY seq;

-- ---- personal data (personal.py) ---------------------------------------------------------

-- Done, last changed before a time, numbers not pseudonyms yet (agi_app/domain/privacy.py).
-- name: done_before
SELECT * FROM requests
WHERE state = 'done' AND updated_at < ? AND callback_number NOT LIKE 'anon:%'
ORDER BY updated_at, id LIMIT ?;

-- The parameter: the numbers, a JSON array.
-- name: of_numbers
SELECT * FROM requests
WHERE caller_number IN (SELECT value FROM json_each(?))
    OR callback_number IN (SELECT value FROM json_each(?))
ORDER BY requested_at, id;

-- The same assignments as update_request, the last change time kept.
-- name: rewrite_request
UPDATE requests SET {assignments}
WHERE id = ? AND state = ? AND attempt = ?;

-- name: rewrite_event_detail
UPDATE request_events SET detail = ? WHERE seq = ? AND request_id = ?;

-- name: forget_keys_of_request
DELETE FROM idempotency_keys WHERE request_id = ?;

-- ---- do-not-call entries (do_not_call.py) -----------------------------------------------

-- name: do_not_call
SELECT * FROM do_not_call ORDER BY entry;

-- name: add_do_not_call
INSERT INTO do_not_call (entry, added_at, added_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING;

-- name: remove_do_not_call
DELETE FROM do_not_call WHERE entry = ?;
