"""What one process tells the serving one through PostgreSQL: "I stored this request".

Every process takes requests (FastAGI, the request API); only the leader places them. A
request's transaction sends ``pg_notify(STORED, ...)``, delivered to listeners at its commit,
so the leader places a request a standby stored at once instead of at its next
reconciliation. The payload names the sending process: the leader, told in-process of its
own requests, ignores its own notices. The service sees only request ids (``listen``, wired
by agi_app/store/open.py), never the payload.
"""

import os
import socket
from collections.abc import Callable

from agi_app.store.postgres.connection import Conn
from agi_app.store.postgres.sql_files import QUERIES

STORED = "agi_callback_stored"
# One name per process, as the serving lease's holder is written.
PROCESS = f"{socket.gethostname()}:{os.getpid()}"

_NOTIFY = QUERIES["notify"]


async def tell_stored(conn: Conn, request_id: str) -> None:
    """In the request's transaction: heard by the leader once it commits."""
    await conn.execute(_NOTIFY, (STORED, f"{PROCESS} {request_id}"))


def stored_elsewhere(payload: str) -> str | None:
    """The request id of a notice another process sent, None for this process's own."""
    sender, _, request_id = payload.rpartition(" ")
    return request_id if sender and sender != PROCESS and request_id else None


def listen(on_stored: Callable[[str], None]) -> dict[str, Callable[[str], None]]:
    """PgLeadership's ``listen``: ``on_stored`` gets the id of each request another process
    stored, heard while this one leads."""

    def heard(payload: str) -> None:
        if (request_id := stored_elsewhere(payload)) is not None:
            on_stored(request_id)

    return {STORED: heard}
