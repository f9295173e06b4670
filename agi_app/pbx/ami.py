"""AMI over panoramisk, behind timeouts and one event queue.

panoramisk calls event callbacks fire-and-forget and does not check pings; here every event
goes into one asyncio.Queue consumed in order, every action has a deadline, and login state
is an asyncio.Event that reconnects clear and set again.

panoramisk also says nothing when Asterisk refuses the login (it only leaves its
``authenticated`` False) and little when the connection fails: here a refused login (a wrong
secret, a user or address manager.conf does not allow) and an Asterisk that cannot be reached
are each logged as such, the first as an error, for they need different fixes.
"""

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from panoramisk import Manager
from panoramisk.message import Message

from agi_app.config.settings import Settings

log = logging.getLogger(__name__)

Fields = dict[str, str | list[str]]

# An Originate variable's value is split on commas by Asterisk (a value "1,DB(x)=y" sets a
# second variable, through a dialplan function), and the dialplan later puts these values
# into Dial() and Set() arguments: so only characters that neither split, quote, escape nor
# evaluate. Free text (a caller's name) travels base64-encoded.
_VARIABLE_NAME = re.compile(r"^(__)?[A-Z][A-Z0-9_]*$")
_VARIABLE_VALUE = re.compile(r"^[A-Za-z0-9+/=:._*#()-]*$")


class AmiError(Exception):
    """An action failed, timed out, or AMI is not connected."""


class PbxUnavailable(AmiError):
    """Asterisk is not there to ask (AMI lost, no answer, shutting down): not the fault of
    what was asked."""


class UnsafeValue(AmiError):
    """A value that could change the action or the dialplan it feeds: never sent."""


def originate_variables(values: dict[str, object]) -> list[str]:
    """Originate ``Variable`` headers, each value checked (UnsafeValue) rather than trusted."""
    headers = []
    for name, value in values.items():
        text = str(value)
        if not _VARIABLE_NAME.match(name) or not _VARIABLE_VALUE.match(text):
            raise UnsafeValue(f"Originate variable {name}={text!r} refused")
        headers.append(f"{name}={text}")
    return headers


def _check_header_values(fields: Fields) -> None:
    """A CR or LF in a value would end the header and start another, chosen by the caller."""
    for name, value in fields.items():
        for text in value if isinstance(value, list) else [value]:
            if "\r" in text or "\n" in text or "\r" in name or "\n" in name:
                raise UnsafeValue(f"{fields.get('Action')}: line break in {name} refused")


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in words: "connection refused", not "[Errno 111] Connect
    call failed ('127.0.0.1', 5038)"."""
    if isinstance(exc, OSError):
        if exc.errno is not None and exc.errno > 0:
            return os.strerror(exc.errno).lower()
        if exc.strerror:  # a name that does not resolve (gaierror: negative codes)
            return str(exc.strerror).lower()
    return str(exc) or type(exc).__name__


class AmiLink(Protocol):
    """What serving needs of an AMI connection: ``Ami`` below, or an in-memory fake in tests
    (tests/support/fake_pbx.py)."""

    events: asyncio.Queue[Message]  # every event, in order
    ready: asyncio.Event  # logged in
    booted: asyncio.Event  # FullyBooted seen, no Shutdown since

    @property
    def healthy(self) -> bool: ...

    async def send(self, fields: Fields, *, timeout: float = 5.0) -> Message: ...

    async def send_list(self, fields: Fields, *, timeout: float = 5.0) -> list[Message]: ...


@dataclass(frozen=True)
class AmiAccount:
    """What the AMI link reads of the settings: where, as whom, and how often it checks."""

    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    ping_interval: float

    @classmethod
    def of(cls, settings: Settings) -> "AmiAccount":
        """The settings' account; a secret that is missing or unreadable raises ValueError."""
        return cls(
            settings.ami_host,
            settings.ami_port,
            settings.ami_username,
            settings.ami_password(),
            settings.ami_ping_interval,
        )


class Ami:
    def __init__(
        self,
        account: AmiAccount,
        *,
        on_login: Callable[[], Awaitable[None]] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._account = account
        # Set here or afterwards (once what they call exists): called at each login / loss.
        self.on_login = on_login
        self.on_lost = on_lost
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.ready = asyncio.Event()
        # Asterisk says it finished booting (FullyBooted, sent at login when it has), and
        # has not begun shutting down since: only then are placements its to refuse.
        self.booted = asyncio.Event()
        self._manager: Manager | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.watchdog: asyncio.Task[None] | None = None
        self._connected_at = 0.0
        self._connecting: asyncio.Future[Any] | None = None  # the current TCP connect
        self._refused = False  # Asterisk refused the current connection's login

    async def start(self, timeout: float = 10.0) -> None:
        """Connect; wait up to ``timeout`` for the login, then go on reconnecting meanwhile."""
        self._connect()
        watchdog = self.watchdog = asyncio.ensure_future(self._watchdog())
        self._tasks.add(watchdog)
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
        except TimeoutError:
            log.warning("ami at %s not logged in yet; retrying", self._address)

    @property
    def _address(self) -> str:
        return f"{self._account.host}:{self._account.port}"

    def _connect(self) -> None:
        account = self._account
        manager = Manager(
            loop=asyncio.get_running_loop(),
            host=account.host,
            port=account.port,
            username=account.username,
            secret=account.secret,
            ping_delay=10,
            ping_interval=10,
            reconnect_timeout=1,
            forgetable_actions=("ping", "login"),
            on_login=self._logged_in,
            on_connect=self._login_sent,
        )
        manager.register_event("*", self._event)
        self._manager = manager
        self._refused = False
        self._connected_at = asyncio.get_running_loop().time()
        connecting = self._connecting = manager.connect()
        connecting.add_done_callback(lambda task: self._connect_done(manager, task))
        # From here on only the watchdog reconnects, with a fresh Manager: panoramisk's own
        # retry timers could leave two connections delivering every event twice.
        manager.connect = lambda *_args, **_kwargs: None
        manager.connection_lost = lambda exc: self._lost(manager, exc)

    async def _watchdog(self) -> None:
        """Notice a dead or half-open connection within seconds and start over, with backoff.

        panoramisk pings but never checks the answers, and a login that is never answered
        leaves it waiting forever: both end here in a fresh connection.
        """
        interval = self._account.ping_interval
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            await asyncio.sleep(interval)
            if self.ready.is_set():
                failures = 0
                try:
                    await self._send({"Action": "Ping"}, as_list=False, timeout=interval)
                    continue
                except AmiError as exc:
                    log.warning("ami watchdog: %s; reconnecting", exc)
            elif loop.time() - self._connected_at < min(interval * 1.5**failures, 10.0):
                continue  # this attempt still has time
            else:
                failures += 1
                if self._connecting is not None and not self._connecting.done():
                    waited = loop.time() - self._connected_at
                    log.warning(
                        "AMI unreachable at %s: no connection within %.1fs", self._address, waited
                    )
                log.warning("ami watchdog: not logged in (attempt %s); reconnecting", failures)
            self._restart()

    def _restart(self) -> None:
        self._clear()
        self._drop_connect()
        if self._manager is not None:
            self._manager.close()
        self._connect()

    def _drop_connect(self) -> None:
        """A TCP connect still under way is given up: cancelled, so that no connection opens
        later beside the next one, and without panoramisk's callback, which would take the
        cancellation for a crash (a traceback in the log)."""
        connecting, manager = self._connecting, self._manager
        if connecting is not None and manager is not None and not connecting.done():
            connecting.remove_done_callback(manager.connection_made)
            connecting.cancel()

    def stop(self) -> None:
        self._drop_connect()
        if self._manager is not None:
            self._manager.close()
            self._manager = None
        for task in self._tasks:
            task.cancel()

    def _connect_done(self, manager: Manager, task: "asyncio.Future[Any]") -> None:
        """The TCP connect ended (panoramisk, called first, has sent the login if it worked)."""
        if task.cancelled():
            return
        error = task.exception()
        if manager is not self._manager:
            if error is None:  # it came after its attempt was given up (or after stop)
                manager.close()  # not left open beside the current one
            return
        if error is not None:
            log.warning("AMI unreachable at %s: %s", self._address, _reason(error))

    def _login_sent(self, manager: Manager) -> None:
        """Connected, the Login action on its way: hear its answer too (panoramisk keeps a
        refusal to itself)."""
        future = manager.authenticated_future
        if manager is self._manager and future is not None:
            future.add_done_callback(lambda answer: self._login_answered(manager, answer))

    def _login_answered(self, manager: Manager, answer: "asyncio.Future[Message]") -> None:
        if manager is not self._manager or answer.cancelled():
            return
        response = answer.result()
        if response.success:
            return  # _logged_in follows
        self._refused = True  # Asterisk closes the connection next: that is no news
        said = str(response.get("Message") or response.get("Response") or "refused")
        log.error(
            "AMI login refused by %s as user %s: %s (check the AMI secret and manager.conf)",
            self._address,
            self._account.username,
            said[:1].lower() + said[1:],
        )

    def _event(self, manager: Manager, message: Message) -> None:
        if manager is not self._manager:
            return
        name = message.get("Event")
        if name == "FullyBooted":
            self.booted.set()
        elif name == "Shutdown":
            log.warning("asterisk is shutting down (%s)", message.get("Shutdown"))
            self.booted.clear()
        self.events.put_nowait(message)

    def _logged_in(self, manager: Manager) -> None:
        if manager is not self._manager:
            return
        log.info("ami logged in")
        self.ready.set()
        if self.on_login is not None:
            task = asyncio.ensure_future(self.on_login())
            self._tasks.add(task)
            task.add_done_callback(self._login_done)

    def _login_done(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("after login: %r", error, exc_info=error)  # never silently

    def _lost(self, manager: Manager, exc: object) -> None:
        if manager is self._manager:  # not an old one we closed
            if self._refused:
                log.debug("ami connection closed after the refused login")
            else:
                log.warning("ami connection lost: %s", exc)
            self._clear()

    def _clear(self) -> None:
        self.ready.clear()
        self.booted.clear()
        if self.on_lost is not None:
            self.on_lost()

    @property
    def healthy(self) -> bool:
        """Logged in to an Asterisk that has booted and is not shutting down."""
        return self.ready.is_set() and self.booted.is_set()

    async def send(self, fields: Fields, *, timeout: float = 5.0) -> Message:
        """One action, one response; AmiError unless it succeeded."""
        response = await self._send(fields, as_list=False, timeout=timeout)
        assert isinstance(response, Message)
        if response.get("Response") not in ("Success", "Goodbye"):
            message = str(response.get("Message", response))
            if "shutting down" in message.lower():
                self.booted.clear()  # the Shutdown event comes only after the hangups
                raise PbxUnavailable(f"{fields.get('Action')}: {message}")
            raise AmiError(f"{fields.get('Action')}: {message}")
        return response

    async def send_list(self, fields: Fields, *, timeout: float = 5.0) -> list[Message]:
        """An action answered by an event list (QueueStatus, CoreShowChannels, DBGet, ...).

        panoramisk tells a list ("... will follow") from a refusal (Error), which then comes
        back at once as a one-message list instead of waiting for a list that never comes.
        """
        responses = await self._send(fields, as_list=None, timeout=timeout)
        return list(responses) if isinstance(responses, list) else [responses]

    async def _send(self, fields: Fields, *, as_list: bool | None, timeout: float) -> Any:
        _check_header_values(fields)
        if self._manager is None or not self.ready.is_set():
            raise PbxUnavailable(f"{fields.get('Action')}: AMI not connected")
        try:
            async with asyncio.timeout(timeout):
                return await self._manager.send_action(dict(fields), as_list=as_list)
        except TimeoutError:
            raise PbxUnavailable(f"{fields.get('Action')}: no answer within {timeout}s") from None
