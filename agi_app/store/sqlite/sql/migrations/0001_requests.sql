-- 1: requests and their event log

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
