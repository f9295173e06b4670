-- 11: offer checks (offer only what can be honoured): each check's outcome and the wait it
-- expected, for the report (offers made vs requests that followed, on the same channel)

CREATE TABLE offer_checks (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel       TEXT NOT NULL,
    queue         TEXT NOT NULL,
    at            TEXT NOT NULL,
    reason        TEXT NOT NULL,
    expected_wait INTEGER
);
CREATE INDEX offer_checks_by_at ON offer_checks (at);
