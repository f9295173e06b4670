"""Personal data removed: the retention purge (a finished request past retention_days keeps a
stable pseudonym of its numbers and loses its name and digits), and the erasure of one
person (``forget``: their waiting callbacks cancelled, their data removed from every request,
an "Erased" event recorded without the number). What is personal is listed once, in
agi_app/domain/privacy.py.

The event log is the webhooks' outbox and a payload is made from the store when it is sent,
so the events not yet delivered go out without the data removed here.
"""

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from agi_app.config.privacy import Privacy
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.privacy import (
    Pseudonymize,
    keyed_pseudonym,
    random_pseudonym,
    scrub_detail,
    scrubbed,
)
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State
from agi_app.store.port import PersonalData, RequestStore, StaleUpdate

log = logging.getLogger(__name__)

PAGE = 200  # requests read at a time by the purge; events of one request at a time
_TRIES = 3  # a request that changes under a rewrite is read again this many times


class PrivacyStore(RequestStore, PersonalData, Protocol):
    """What removing personal data needs of a store (every backend is one)."""


class CallUnderWay(Exception):
    """A call of the person is being served (an agent or the customer on the line): erasure
    waits until it ends, and nothing was changed."""


@dataclass(frozen=True)
class Erasure:
    requests: int  # requests whose personal data was removed
    cancelled: int  # waiting callbacks cancelled first


def pseudonym_key(path: Path) -> bytes:
    """The pseudonyms' secret key, kept in ``path`` (created private with 256 random bits the
    first time: two processes creating it at once end with the same one)."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made meanwhile by another process
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32) + "\n")
        file.flush()
        os.fsync(file.fileno())
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


async def _rewrite(
    store: PrivacyStore,
    request: CallbackRequest,
    pseudonym: Pseudonymize,
    event: tuple[str, datetime, dict[str, object]] | None,
    files_dir: Path,
) -> None:
    """The request and its event log without personal data, in one transaction; read again
    if it changed meanwhile (StaleUpdate after _TRIES)."""
    for attempt in range(_TRIES):
        details: dict[int, dict[str, object]] = {}
        after = 0
        while page := await store.request_events(request.id, after, PAGE):
            for logged in page:
                if (clean := scrub_detail(logged.event.detail, pseudonym)) != logged.event.detail:
                    details[logged.seq] = clean
            after = page[-1].seq
        clean_request, files = scrubbed(request, pseudonym)
        try:
            await store.rewrite_personal(request, clean_request, details, event)
        except StaleUpdate:
            again = await store.get(request.id)
            if again is None or attempt == _TRIES - 1:
                raise
            request = again
            continue
        for file in files:  # a voice message: named in the recordings directory
            await asyncio.to_thread((files_dir / Path(file).name).unlink, missing_ok=True)
        return


async def purge(store: PrivacyStore, key: bytes, before: datetime, files_dir: Path) -> int:
    """Every request done before ``before`` and not purged yet keeps its numbers' keyed
    pseudonyms only; how many were purged."""
    pseudonym = keyed_pseudonym(key)
    purged = 0
    while batch := await store.done_before(before, PAGE):
        done = 0
        for request in batch:
            try:
                await _rewrite(store, request, pseudonym, None, files_dir)
            except StaleUpdate:  # changed again and again: the next purge takes it
                continue
            done += 1
        purged += done
        if done == 0 or len(batch) < PAGE:
            break
    return purged


async def erase(
    store: PrivacyStore,
    numbers: frozenset[str],
    *,
    cancel: Callable[[str], Awaitable[CallbackRequest | None]],
    at: datetime,
    by: str,
    files_dir: Path,
) -> Erasure:
    """One person's data removed from every request that names ``numbers``: their waiting
    callbacks cancelled first (``cancel``, as a supervisor's cancel: the placeholder leaves
    the queue). CallUnderWay, before anything changes, while one of their calls is served."""
    found = await store.of_numbers(numbers)
    if any(r.state not in (*WAITING_STATES, State.DONE) for r in found):
        raise CallUnderWay("a callback of this number is on a call now: erase it once it ends")
    cancelled = 0
    for request in found:
        if request.state in WAITING_STATES:
            ended = await cancel(request.id)
            if ended is None or ended.state is not State.DONE:
                raise CallUnderWay(f"callback {request.id} could not be cancelled: try again")
            cancelled += 1
    pseudonym = random_pseudonym()
    erased = 0
    for request in await store.of_numbers(numbers):
        await _rewrite(store, request, pseudonym, ("Erased", at, {"by": by}), files_dir)
        erased += 1
    log.info("erasure by %s: %d callbacks, %d of them cancelled", by, erased, cancelled)
    return Erasure(erased, cancelled)


async def purge_now(
    store: PrivacyStore, privacy: Privacy, store_path: Path, now: datetime, files_dir: Path
) -> int:
    """One purge as the settings say (the command's and each of the service's)."""
    key = await asyncio.to_thread(pseudonym_key, privacy.key_path(store_path))
    return await purge(store, key, now - timedelta(days=privacy.retention_days), files_dir)


async def purge_every(
    store: PrivacyStore,
    privacy: Privacy,
    store_path: Path,
    clock: Callable[[], datetime],
    files_dir: Path,
) -> None:
    """The service's purge: at its start, then every purge_interval_minutes. A store that is
    unavailable is tried again next time; anything else ends the task (the service's
    supervisor then stops the service, loudly)."""
    while True:
        try:
            purged = await purge_now(store, privacy, store_path, clock(), files_dir)
        except StoreUnavailable as exc:
            log.warning("purge of personal data postponed: %s", exc)
        else:
            if purged:
                log.info(
                    "purge: %d finished callbacks past retention kept no personal data", purged
                )
        await asyncio.sleep(privacy.purge_interval_minutes * 60)
