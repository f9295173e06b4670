"""The store on PostgreSQL: the same RequestStore and WebhookOutbox as agi_app.store.sqlite.store
(SQLite), for a database that several machines share and that its admins replicate and back up.

connection.py: the pool, its timeouts and errors; migrations.py: the schema; locks.py: the
advisory locks that order writers; rows.py: a request as a row; store.py: the store, whose
parts (functions, as the SQLite store's) are request_log.py (requests read, saved, noted),
intake.py (adding requests), outbox.py (webhooks) and offer_log.py; sql_files.py: their SQL,
from sql/queries.sql and sql/migrations/. Serving on a shared database:
leadership.py (which process serves), fenced.py (its writes, refused once it no longer does),
notices.py (requests other processes stored). Only agi_app/store/open.py uses this package.
"""

from agi_app.store.postgres.fenced import FencedStore
from agi_app.store.postgres.leadership import PgLeadership
from agi_app.store.postgres.store import PgStore

__all__ = ["FencedStore", "PgLeadership", "PgStore"]
