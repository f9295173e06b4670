"""Schema versions of the store, applied in order; PRAGMA user_version says where a file is."""

MIGRATIONS: tuple[str, ...] = (
    # 1: requests and their event log
    """
    CREATE TABLE requests (
        id               TEXT PRIMARY KEY,
        channel          TEXT NOT NULL UNIQUE,
        state            TEXT NOT NULL,
        queue            TEXT NOT NULL,
        priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 10),
        position         INTEGER,
        caller_name      TEXT NOT NULL,
        caller_number    TEXT NOT NULL,
        callback_number  TEXT NOT NULL,
        extension        TEXT,
        dialed_number    TEXT NOT NULL,
        queue_entered_at TEXT NOT NULL,
        requested_at     TEXT NOT NULL,
        expires_at       TEXT NOT NULL,
        timeout_prompt   TEXT,
        call_outcome     TEXT,
        contact_outcome  TEXT,
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX requests_waiting ON requests (state, queue, priority, queue_entered_at);
    CREATE TABLE request_events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL REFERENCES requests (id),
        at         TEXT NOT NULL,
        event      TEXT NOT NULL,
        state      TEXT NOT NULL,
        detail     TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX request_events_by_request ON request_events (request_id, seq);
    """,
    # 2: serving: placement attempts, agent, outcomes, the customer leg
    """
    ALTER TABLE requests ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN agent TEXT;
    ALTER TABLE requests ADD COLUMN declined_by TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE requests ADD COLUMN customer_dialed_at TEXT;
    ALTER TABLE requests ADD COLUMN customer_answered_at TEXT;
    ALTER TABLE requests ADD COLUMN customer_ended_at TEXT;
    """,
    # 3: one active callback per (number, queue). A store written before it may hold two:
    # the one requested first keeps its place, the others end as repeats of it (Cancelled,
    # with a "merged" event naming the one kept, which gets the usual "repeated" event).
    """
    CREATE TEMP TABLE merged AS
        SELECT r.id AS id, (
            SELECT k.id FROM requests k
            WHERE k.callback_number = r.callback_number AND k.queue = r.queue
                AND k.state != 'done'
            ORDER BY k.requested_at, k.rowid LIMIT 1
        ) AS kept, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now') AS at
        FROM requests r WHERE r.state != 'done';
    DELETE FROM temp.merged WHERE id = kept;
    INSERT INTO request_events (request_id, at, event, state, detail)
        SELECT m.kept, m.at, 'repeated', k.state,
            json_object('channel', r.channel, 'dialed_number', r.dialed_number,
                        'merged', r.id, 'by', 'schema upgrade 3')
        FROM temp.merged m JOIN requests r ON r.id = m.id JOIN requests k ON k.id = m.kept
        ORDER BY r.requested_at, r.rowid;
    INSERT INTO request_events (request_id, at, event, state, detail)
        SELECT m.id, m.at, 'merged', 'done',
            json_object('into', m.kept, 'reason',
                        'a second active request for the same number and queue',
                        'by', 'schema upgrade 3')
        FROM temp.merged m;
    UPDATE requests SET state = 'done', call_outcome = 'Cancelled',
            updated_at = (SELECT at FROM temp.merged m WHERE m.id = requests.id)
        WHERE id IN (SELECT id FROM temp.merged);
    DROP TABLE temp.merged;
    CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, queue)
        WHERE state != 'done';
    """,
    # 4: when an agent took it (the end of the wait, for reports)
    """
    ALTER TABLE requests ADD COLUMN agent_answered_at TEXT;
    """,
    # 5: the "requested" event written by the database in the same statement as the request
    """
    CREATE TRIGGER requests_requested AFTER INSERT ON requests BEGIN
        INSERT INTO request_events (request_id, at, event, state, detail)
        VALUES (NEW.id, NEW.requested_at, 'requested', NEW.state, '{}');
    END;
    """,
    # 6: rate limits count recent requests per caller number and per callback number
    """
    CREATE INDEX requests_by_caller ON requests (caller_number, requested_at);
    CREATE INDEX requests_by_callback ON requests (callback_number, requested_at);
    """,
    # 7: placement failures that concern the request, apart from the attempts the PBX's own
    # faults cost (a restart of Asterisk must not use up a waiting request's attempts)
    """
    ALTER TABLE requests ADD COLUMN placement_failures INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: retries when the customer is not reached, calling hours, and the time before which
    # a request is held in the store
    """
    ALTER TABLE requests ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN retry_interval INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN customer_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN not_before TEXT;
    ALTER TABLE requests ADD COLUMN schedule TEXT;
    ALTER TABLE requests ADD COLUMN at_closing TEXT NOT NULL DEFAULT 'carry';
    ALTER TABLE requests ADD COLUMN carried_over INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN scheduled_for TEXT;
    """,
    # 9: webhooks. The event log is the outbox: every state change and outcome is a row of
    # request_events, written in the transaction of the change; each subscription delivers
    # them in seq order and keeps how far it got, and each attempt is recorded.
    """
    CREATE TABLE webhook_cursors (
        subscription TEXT PRIMARY KEY,
        seq          INTEGER NOT NULL  -- the last request_events.seq delivered or given up
    );
    CREATE TABLE webhook_attempts (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription TEXT NOT NULL,
        seq          INTEGER NOT NULL,
        at           TEXT NOT NULL,
        outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave_up')),
        status       INTEGER,  -- the receiver's HTTP status, if it answered
        error        TEXT
    );
    CREATE INDEX webhook_attempts_by_event ON webhook_attempts (subscription, seq);
    """,
    # 10: the request API: where a request came from, and idempotency keys (one answer per
    # client key and token, with a hash of the body it was given for)
    """
    ALTER TABLE requests ADD COLUMN source TEXT NOT NULL DEFAULT 'phone';
    CREATE TABLE idempotency_keys (
        token        TEXT NOT NULL,  -- the API credential's name
        key          TEXT NOT NULL,
        body_sha256  TEXT NOT NULL,
        request_id   TEXT NOT NULL REFERENCES requests (id),
        status       INTEGER NOT NULL,
        created_at   TEXT NOT NULL,
        PRIMARY KEY (token, key)
    );
    """,
    # 11: offer checks (offer only what can be honoured): each check's outcome and the wait it
    # expected, for the report (offers made vs requests that followed, on the same channel)
    """
    CREATE TABLE offer_checks (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        channel       TEXT NOT NULL,
        queue         TEXT NOT NULL,
        at            TEXT NOT NULL,
        reason        TEXT NOT NULL,
        expected_wait INTEGER
    );
    CREATE INDEX offer_checks_by_at ON offer_checks (at);
    """,
    # 12: several Asterisk servers: the one that took each request; one active callback per
    # (number, server, queue), as two servers may each have a queue of the same name
    """
    ALTER TABLE requests ADD COLUMN server TEXT NOT NULL DEFAULT 'default';
    DROP INDEX requests_one_active;
    CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, server, queue)
        WHERE state != 'done';
    """,
    # 13: idempotency keys expire (api_idempotency_hours): each keyed request purges the
    # expired ones, found by age
    """
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    """,
    # 14: who asked: the API credential of a request (its "requested" event names it too)
    """
    ALTER TABLE requests ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
    DROP TRIGGER requests_requested;
    CREATE TRIGGER requests_requested AFTER INSERT ON requests BEGIN
        INSERT INTO request_events (request_id, at, event, state, detail)
        VALUES (NEW.id, NEW.requested_at, 'requested', NEW.state,
                CASE WHEN NEW.requested_by = '' THEN '{}'
                     ELSE json_object('credential', NEW.requested_by) END);
    END;
    """,
)
