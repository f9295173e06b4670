"""What one process tells the serving one through PostgreSQL: "I stored this request".

Every process takes requests (FastAGI, the request API); only the leader places them. A
request's transaction sends ``pg_notify(STORED, ...)``, delivered to listeners at its commit,
so the leader places a request a standby stored at once instead of at its next
reconciliation. The payload names the sending process: the leader, told in-process of its
own requests, ignores its own notices.
"""

import os
import socket

from agi_app.store.postgres.connection import Conn

STORED = "agi_callback_stored"
# One name per process, as the serving lease's holder is written.
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


async def tell_stored(conn: Conn, request_id: str) -> None:
    """In the request's transaction: heard by the leader once it commits."""
    await conn.execute("SELECT pg_notify(%s, %s)", (STORED, f"{PROCESS} {request_id}"))


def stored_elsewhere(payload: str) -> str | None:
    """The request id of a notice another process sent, None for this process's own."""
    sender, _, request_id = payload.rpartition(" ")
    return request_id if sender and sender != PROCESS and request_id else None
