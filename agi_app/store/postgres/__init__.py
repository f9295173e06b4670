"""The store on PostgreSQL: the same RequestStore and WebhookOutbox as agi_app.store.sqlite.store
(SQLite),
for a database that several machines share and that its admins replicate and back up.

connection.py: the pool, its timeouts and errors; migrations.py: the schema; locks.py: the
advisory locks that order writers; rows.py: a request as a row; store.py: the store, with
intake.py (adding requests), outbox.py (webhooks) and offer_log.py as its parts.
"""

from agi_app.store.postgres.store import PgStore

__all__ = ["PgStore"]
