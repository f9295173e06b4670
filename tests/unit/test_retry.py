"""The retry loop serving's loops share (agi_app.serving.backoff.Retry): a streak of failures
logged with its cause as it doubles, the wait grown and reset, a cancellation and a bug never
swallowed; then how the event consumer and reconciliation end on it. A fake sleep records
each wait (none is waited)."""

import asyncio
import logging
from functools import partial
from typing import Any

import pytest
from panoramisk.message import Message

from agi_app.domain.errors import StoreUnavailable
from agi_app.pbx.ami import PbxUnavailable
from agi_app.serving import backoff
from agi_app.serving.backoff import Backoff, Retry
from agi_app.serving.events import AmiEvents
from agi_app.serving.reconcile import Reconciler

log = logging.getLogger("agi_app.test_retry")
LOCKED = StoreUnavailable("database is locked")
CAUSE = "store-unavailable: database is locked"
NONE: Any = None  # a part the code under test does not reach


class Waits:
    """The fake sleep: each delay asked for, returned at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Step:
    """Raises or returns each outcome in turn; ``tries`` counts the calls."""

    def __init__(self, *outcomes: BaseException | str) -> None:
        self._outcomes = list(outcomes)
        self.tries = 0

    async def __call__(self) -> str:
        self.tries += 1
        outcome = self._outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def said(
    caplog: pytest.LogCaptureFixture, level: int = logging.INFO
) -> list[tuple[int, str, bool]]:
    """Each line at ``level`` or above: its level, its text, whether it has a traceback."""
    return [
        (r.levelno, r.getMessage(), r.exc_info is not None)
        for r in caplog.records
        if r.levelno >= level
    ]


# ---- the helper ---------------------------------------------------------------------------
async def test_a_streak_is_logged_with_its_cause_at_its_1st_2nd_and_4th_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="agi_app")
    waits = Waits()
    retry = Retry("placement failed", log, expected=(StoreUnavailable,), sleep=waits)
    step = Step(LOCKED, LOCKED, LOCKED, LOCKED, LOCKED, "placed")
    assert await retry.until_passed(step) == "placed"
    warning = logging.WARNING
    assert said(caplog) == [
        (warning, f"placement failed ({CAUSE}); retrying in 0.2s", False),
        (warning, f"placement failed ({CAUSE}), 2 in a row; retrying in 0.4s", False),
        (warning, f"placement failed ({CAUSE}), 4 in a row; retrying in 1.6s", False),
    ]
    assert len(said(caplog, logging.DEBUG)) == 5  # the 3rd and 5th for whoever debugs
    assert waits.delays == [0.2, 0.4, 0.8, 1.6, 3.2]
    assert retry.failures == 0  # passed: the next failure starts a streak


async def test_the_wait_doubles_to_its_cap_and_a_success_starts_it_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waits = Waits()
    retry = Retry(
        "closing sweep failed", log, expected=(StoreUnavailable,), level=logging.ERROR,
        backoff=Backoff(1.0, 4.0), sleep=waits,
    )  # fmt: skip
    await retry.until_passed(Step(LOCKED, LOCKED, LOCKED, LOCKED, "swept"))
    await retry.until_passed(Step(LOCKED, "swept"))
    assert waits.delays == [1.0, 2.0, 4.0, 4.0, 1.0]
    new_streak = (logging.ERROR, f"closing sweep failed ({CAUSE}); retrying in 1.0s", False)
    assert said(caplog)[-1] == new_streak


def test_a_loop_that_reschedules_instead_of_sleeping_takes_the_delay_from_failed() -> None:
    """The placer's use: its batch is due again after the delay, the loop goes on meanwhile."""
    retry = Retry("placement failed", log, expected=(StoreUnavailable,))
    assert [retry.failed(LOCKED) for _ in range(3)] == [0.2, 0.4, 0.8]
    retry.passed()
    assert retry.failed(LOCKED) == 0.2 and retry.failures == 1


async def test_a_cancelled_step_is_not_retried_even_where_everything_else_is() -> None:
    waits = Waits()
    retry = Retry("resume failed", log, expected=(Exception,), sleep=waits)
    step = Step(asyncio.CancelledError(), "never")
    with pytest.raises(asyncio.CancelledError):
        await retry.until_passed(step, bug_tries=None)
    assert step.tries == 1 and waits.delays == [] and retry.failures == 0


async def test_a_task_cancelled_while_it_waits_stops_there() -> None:
    waiting = asyncio.Event()

    async def sleep(delay: float) -> None:
        waiting.set()
        await asyncio.Event().wait()  # until cancelled

    step = Step(LOCKED, "never")
    retry = Retry("placement failed", log, expected=(StoreUnavailable,), sleep=sleep)
    task = asyncio.ensure_future(retry.until_passed(step))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert step.tries == 1


async def test_a_bug_is_raised_at_once_for_the_task_supervision_to_see(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The webhook sender's use: a refusal is waited out, a bug ends the task unlogged (its
    supervision logs "... died")."""
    waits = Waits()
    retry = Retry("webhook crm: store unavailable", log, expected=(StoreUnavailable,), sleep=waits)
    step = Step(LOCKED, RuntimeError("a bug"), "never")
    with pytest.raises(RuntimeError, match="a bug"):
        await retry.until_passed(step)
    assert step.tries == 2 and waits.delays == [0.2]
    assert said(caplog) == [
        (logging.WARNING, f"webhook crm: store unavailable ({CAUSE}); retrying in 0.2s", False)
    ]


async def test_a_bug_given_tries_is_logged_with_its_traceback_then_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A streak counts every failure, refusals too: the bug is raised at the third."""
    waits = Waits()
    retry = Retry("serving Hangup failed", log, expected=(StoreUnavailable,), sleep=waits)
    step = Step(LOCKED, RuntimeError("a bug"), RuntimeError("a bug"), "never")
    with pytest.raises(RuntimeError, match="a bug"):
        await retry.until_passed(step, bug_tries=3)
    assert step.tries == 3 and waits.delays == [0.2, 0.4]
    assert said(caplog) == [
        (logging.WARNING, f"serving Hangup failed ({CAUSE}); retrying in 0.2s", False),
        (logging.ERROR, "serving Hangup failed (a bug), 2 in a row; retrying in 0.4s", True),
    ]


async def test_a_bug_without_a_limit_is_retried_as_a_refusal_is() -> None:
    waits = Waits()
    retry = Retry("closing sweep failed", log, expected=(StoreUnavailable,), sleep=waits)
    step = Step(RuntimeError("a bug"), KeyError("x"), "swept")
    assert await retry.until_passed(step, bug_tries=None) == "swept"
    assert waits.delays == [0.2, 0.4]


# ---- the loops that end on it -------------------------------------------------------------
@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loops' own backoff at zero: their retries at once, in the same order."""
    monkeypatch.setattr(backoff, "Backoff", partial(Backoff, 0.0, 0.0))


async def test_an_event_waits_out_refusals_and_is_dropped_at_its_fifth_try_of_a_bug(
    no_wait: None, caplog: pytest.LogCaptureFixture
) -> None:
    events = AmiEvents(NONE, NONE, NONE, NONE, NONE, NONE, NONE)

    async def apply(step: Step) -> None:
        async def handler(_events: AmiEvents, _message: Message) -> None:
            await step()

        await events._handle(handler, Message({"Event": "Hangup"}))

    refused = Step(*[LOCKED] * 6, "applied")
    await apply(refused)
    assert refused.tries == 7  # a refusing store never drops an event
    buggy = Step(LOCKED, LOCKED, *[RuntimeError("a bug")] * 3, "never")
    await apply(buggy)
    assert buggy.tries == 5  # five tries in all, as before the helper
    assert said(caplog, logging.ERROR)[-1] == (
        logging.ERROR, "serving Hangup failed 5 times; event dropped", True
    )  # fmt: skip


async def test_resume_retries_until_it_passes_stops_at_an_ami_error_or_a_newer_login(
    no_wait: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reconciler = Reconciler(NONE, NONE, NONE, NONE, NONE, NONE)

    async def resumed(step: Step) -> int:
        monkeypatch.setattr(reconciler, "_resume", step)
        await reconciler.resume()
        return step.tries

    assert await resumed(Step(LOCKED, RuntimeError("a bug"), "resumed")) == 3
    assert said(caplog, logging.ERROR) == [
        (logging.ERROR, f"resume failed ({CAUSE}); retrying in 0.0s", False),
        (logging.ERROR, "resume failed (a bug), 2 in a row; retrying in 0.0s", True),
    ]
    assert await resumed(Step(LOCKED, PbxUnavailable("AMI lost"), "never")) == 2
    assert said(caplog)[-1] == (
        logging.WARNING, "resume interrupted (AMI lost); it runs again at the next login", False
    )  # fmt: skip

    async def superseded() -> None:
        reconciler._logins += 1  # a newer login's resume started meanwhile
        raise LOCKED

    monkeypatch.setattr(reconciler, "_resume", superseded)
    caplog.clear()
    await reconciler.resume()  # returns: the newer one goes on
    assert [m for _, m, _ in said(caplog)] == [f"resume failed ({CAUSE}); retrying in 0.0s"]
