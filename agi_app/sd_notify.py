"""sd_notify(3) without libsystemd: one datagram to NOTIFY_SOCKET, so a Type=notify unit
knows when FastAGI listens (READY=1), reloads (RELOADING=1) and stops (STOPPING=1)."""

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(state: str) -> bool:
    """Tell the service manager ``state``; False when none listens (not under systemd)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(state.encode(), address)
        except OSError as exc:  # the manager's socket is gone: nothing to tell it
            log.warning("sd_notify %s not delivered: %s", state, exc)
            return False
    return True
