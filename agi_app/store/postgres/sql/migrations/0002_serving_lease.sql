-- 2: the serving lease (agi_app/store/postgres/leadership.py): PostgreSQL only, SQLite has
-- one process. Its epoch rises at each takeover; a fenced write checks it
-- (agi_app/store/postgres/fenced.py).

CREATE TABLE serving_lease (
    id          integer PRIMARY KEY CHECK (id = 1),
    epoch       bigint NOT NULL,
    holder      text NOT NULL,
    renewed_at  timestamptz NOT NULL
);
