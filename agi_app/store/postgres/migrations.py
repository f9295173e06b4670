"""Schema versions of the PostgreSQL store, applied in order; the one-row table
schema_version says where a database is. Version 1 is the SQLite store's schema 11 in
PostgreSQL's types; a later change to the schema is a new entry on both lists.

Migrating is one transaction under an advisory lock: two services starting together on one
database take turns, and the second finds the schema current.
"""

from agi_app.domain.errors import StoreUnavailable
from agi_app.store.postgres import locks
from agi_app.store.postgres.connection import Conn

MIGRATIONS: tuple[str, ...] = (
    # 1: requests, their event log (the webhooks' outbox), webhook cursors and attempts,
    # idempotency keys, offer checks
    """
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
    """,
    # 2: the serving lease (agi_app/store/postgres/leadership.py): PostgreSQL only, SQLite has
    # one process.
    # Its epoch rises at each takeover; a fenced write checks it (store_pg/fenced.py).
    """
    CREATE TABLE serving_lease (
        id          integer PRIMARY KEY CHECK (id = 1),
        epoch       bigint NOT NULL,
        holder      text NOT NULL,
        renewed_at  timestamptz NOT NULL
    );
    """,
    # 3: several Asterisk servers (SQLite's 12): the one that took each request; one active
    # callback per (number, server, queue)
    """
    ALTER TABLE requests ADD COLUMN server text NOT NULL DEFAULT 'default';
    DROP INDEX requests_one_active;
    CREATE UNIQUE INDEX requests_one_active ON requests (callback_number, server, queue)
        WHERE state <> 'done';
    """,
    # 4: idempotency keys expire (SQLite's 13): each keyed request purges expired ones by age
    """
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    """,
    # 5: who asked (SQLite's 14): the API credential of a request
    """
    ALTER TABLE requests ADD COLUMN requested_by text NOT NULL DEFAULT '';
    """,
)


async def schema_version(conn: Conn) -> int:
    cursor = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL AS present")
    row = await cursor.fetchone()
    if row is None or not row["present"]:
        return 0
    cursor = await conn.execute("SELECT version FROM schema_version")
    row = await cursor.fetchone()
    return int(row["version"]) if row else 0


async def migrate(conn: Conn) -> int:
    """Bring the database to the newest version; refuse one newer than this service."""
    async with conn.transaction():
        await locks.take(conn, locks.MIGRATIONS)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " one boolean PRIMARY KEY DEFAULT true CHECK (one), version integer NOT NULL)"
        )
        version = await schema_version(conn)
        if version > len(MIGRATIONS):
            raise StoreUnavailable(f"store schema {version} is newer than this service")
        for script in MIGRATIONS[version:]:
            await conn.execute(script)
        await conn.execute(
            "INSERT INTO schema_version (version) VALUES (%s)"
            " ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            (len(MIGRATIONS),),
        )
    return len(MIGRATIONS)
