"""sd_notify(3) without libsystemd: one datagram to NOTIFY_SOCKET, so a Type=notify unit
knows when FastAGI listens (READY=1), reloads (RELOADING=1) and stops (STOPPING=1); and,
under WatchdogSec=, that the event loop still turns (WATCHDOG=1, sent by ``watchdog``)."""

import asyncio
import logging
import os
import socket

log = logging.getLogger(__name__)


def _address() -> str | None:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return None
    return "\0" + address[1:] if address.startswith("@") else address  # "@": abstract


def _send(state: str, address: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(state.encode(), address)


def notify(state: str) -> bool:
    """Tell the service manager ``state``; False when none listens (not under systemd)."""
    address = _address()
    if address is None:
        return False
    try:
        _send(state, address)
    except OSError as exc:  # the manager's socket is gone: nothing to tell it
        log.warning("sd_notify %s not delivered: %s", state, exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between two WATCHDOG=1: half of WATCHDOG_USEC, which systemd sets from the
    unit's WatchdogSec= (as sd_watchdog_enabled(3) reads it); None when it asks for none, or
    asks another process (WATCHDOG_PID, when set, names the one it watches)."""
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1e6 if usec > 0 else None


async def watchdog(interval: float) -> None:
    """WATCHDOG=1 every ``interval`` seconds, until cancelled.

    A task on the event loop, on purpose: a loop that hangs (a blocking call, a busy loop)
    stops the pings, and systemd kills and restarts the service after WatchdogSec. A ping
    that fails is logged (once, until one goes through again) and the next one tried: this
    task never ends by itself.
    """
    failing = False
    while True:
        address = _address()
        try:
            if address is None:
                raise OSError("NOTIFY_SOCKET is not set to a socket")
            _send("WATCHDOG=1", address)
        except Exception as exc:  # any: logged, and the next ping may go through
            if not failing:
                log.error("systemd watchdog ping not delivered: %r; trying on", exc)
            failing = True
        else:
            if failing:
                log.warning("systemd watchdog pings delivered again")
            failing = False
        await asyncio.sleep(interval)
