-- 9: webhooks. The event log is the outbox: every state change and outcome is a row of
-- request_events, written in the transaction of the change; each subscription delivers
-- them in seq order and keeps how far it got, and each attempt is recorded.

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
