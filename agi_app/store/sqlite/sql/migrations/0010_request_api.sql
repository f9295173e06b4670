-- 10: the request API: where a request came from, and idempotency keys (one answer per
-- client key and token, with a hash of the body it was given for)

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
