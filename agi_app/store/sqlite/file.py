"""The store's file on disk: created private to the service's user."""

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def create_private(path: Path) -> None:
    """Callers' names and numbers are personal data: a new store directory is 0700 and a new
    store file 0600 (SQLite gives its -wal and -shm files the database file's mode). What
    already exists is the admin's choice, but an open one is worth a warning."""
    directory = path.parent
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
    elif directory.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("store directory %s is writable by others: make it 0700", directory)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("store file %s is open to other users: make it 0600", path)
