-- 1: requests, their event log (the webhooks' outbox), webhook cursors and attempts,
-- idempotency keys, offer checks; the SQLite store's schema 11 in PostgreSQL's types

CREATE TABLE requests (
    id                   text PRIMARY KEY,
    channel              text NOT NULL UNIQUE,
    state                text NOT NULL,
    queue                text NOT NULL,
    priority             integer NOT NULL CHECK (priority BETWEEN 1 AND 10),
    position             integer,
    caller_name          text NOT NULL,
    caller_number        text NOT NULL,
    callback_number      text NOT NULL,
    extension            text,
    dialed_number        text NOT NULL,
    queue_entered_at     timestamptz NOT NULL,
    requested_at         timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    timeout_prompt       text,
    attempt              integer NOT NULL DEFAULT 0,
    placement_failures   integer NOT NULL DEFAULT 0,
    agent                text,
    declined_by          text[] NOT NULL DEFAULT '{}',
    call_outcome         text,
    contact_outcome      text,
    agent_answered_at    timestamptz,
    customer_dialed_at   timestamptz,
    customer_answered_at timestamptz,
    customer_ended_at    timestamptz,
    retries              integer NOT NULL DEFAULT 0,
    retry_interval       integer NOT NULL DEFAULT 0,
    customer_attempts    integer NOT NULL DEFAULT 0,
    not_before           timestamptz,
    schedule             text,
    at_closing           text NOT NULL DEFAULT 'carry',
    carried_over         integer NOT NULL DEFAULT 0,
    scheduled_for        timestamptz,
    source               text NOT NULL DEFAULT 'phone',
    updated_at           timestamptz NOT NULL
);
CREATE INDEX requests_waiting ON requests (state, queue, priority, queue_entered_at);
-- one active callback per (number, queue), whoever writes
CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, queue)
    WHERE state <> 'done';
CREATE INDEX requests_by_caller ON requests (caller_number, requested_at);
CREATE INDEX requests_by_callback ON requests (callback_number, requested_at);

-- seq is drawn under the event log's advisory lock (locks.py), so it rises in commit
-- order; an identity's default cache of 1 keeps each draw in that order too
CREATE TABLE request_events (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id text NOT NULL REFERENCES requests (id),
    at         timestamptz NOT NULL,
    event      text NOT NULL,
    state      text NOT NULL,
    detail     json NOT NULL DEFAULT '{}'
);
CREATE INDEX request_events_by_request ON request_events (request_id, seq);

CREATE TABLE webhook_cursors (
    subscription text PRIMARY KEY,
    seq          bigint NOT NULL  -- the last request_events.seq delivered or given up
);
CREATE TABLE webhook_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription text NOT NULL,
    seq          bigint NOT NULL,
    at           timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave_up')),
    status       integer,  -- the receiver's HTTP status, if it answered
    error        text
);
CREATE INDEX webhook_attempts_by_event ON webhook_attempts (subscription, seq);

CREATE TABLE idempotency_keys (
    token        text NOT NULL,  -- the API credential's name
    key          text NOT NULL,
    body_sha256  text NOT NULL,
    request_id   text NOT NULL REFERENCES requests (id),
    status       integer NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (token, key)
);

CREATE TABLE offer_checks (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       text NOT NULL,
    queue         text NOT NULL,
    at            timestamptz NOT NULL,
    reason        text NOT NULL,
    expected_wait integer
);
CREATE INDEX offer_checks_by_at ON offer_checks (at);
