"""The offer check's FastAGI handler on a memory store and a scripted QueueStatus: what it
tells the dialplan, what it counts and records, and that a failure never offers."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from prometheus_client import generate_latest

from agi_app.domain.hours import Schedule
from agi_app.domain.offer import OfferCheck, Reason
from agi_app.domain.request import CallbackRequest
from agi_app.ivr.offer_check import OfferChecker
from agi_app.pbx.ami import AmiError
from agi_app.serving.estimates import QueueEstimates, asterisk_figures
from agi_app.serving.metrics import Metrics
from agi_app.store.memory import MemoryStore
from tests.support.samples import NOON, OFFICE, PENDING, T0, served

UNIQUEID = "1795650099.7"


@dataclass
class Channel:
    args: list[str]
    variables: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @property
    def uniqueid(self) -> str:
        return UNIQUEID

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value
        self.order.append(name)


@dataclass
class Log:
    checks: list[OfferCheck] = field(default_factory=list)

    async def record_offer_check(self, check: OfferCheck) -> None:
        self.checks.append(check)

    async def offer_checks(self, since: datetime | None = None) -> list[OfferCheck]:
        return self.checks


def member(paused: str = "1", status: str = "1", in_call: str = "0") -> dict[str, str]:
    return {"Event": "QueueMember", "Paused": paused, "Status": status, "InCall": in_call}


PAUSED = [
    {"Event": "QueueParams", "Holdtime": "40", "TalkTime": "0"},
    member(),
    member(),
    {"Event": "QueueEntry", "Uniqueid": "1.1"},
]


@dataclass
class Rig:
    store: MemoryStore = field(default_factory=MemoryStore)
    status: list[Mapping[str, object]] = field(default_factory=lambda: list(PAUSED))
    failing_pbx: bool = False
    log: Log = field(default_factory=Log)
    metrics: Metrics = field(default_factory=Metrics)
    schedules: dict[str, Schedule] = field(default_factory=dict)

    async def queue_status(self, queue: str) -> list[Mapping[str, object]]:
        if self.failing_pbx:
            raise AmiError("not logged in")
        return self.status

    def checker(self) -> OfferChecker:
        estimates = QueueEstimates(self.store, self.queue_status, lambda: NOON)
        return OfferChecker(
            estimates,
            schedules=self.schedules,
            schedule_name=lambda queue, option: option,
            offer_log=self.log,
            metrics=self.metrics,
            clock=lambda: NOON,
        )

    async def check(self, *args: str) -> Channel:
        channel = Channel(list(args))
        await self.checker()(channel)
        return channel

    def counted(self, line: str) -> bool:
        return line in generate_latest(self.metrics.registry).decode()


async def with_history(rig: Rig, *waits: float) -> None:
    """Callbacks of queue support an agent answered a minute before NOON, after ``waits``."""
    shift = NOON - T0
    for i, wait in enumerate(waits):
        request = served(i, wait, ago=60)
        await rig.store.add(
            replace(
                request,
                queue_entered_at=request.queue_entered_at + shift,
                requested_at=request.requested_at + shift,
                agent_answered_at=NOON - timedelta(seconds=60),
            )
        )


async def test_a_long_wait_is_offered_the_offer_counted_and_recorded() -> None:
    rig = Rig()
    await with_history(rig, 500, 600, 700)
    channel = await rig.check("queue=support", "timeout_prompt=callback/timeout")
    assert channel.variables == {
        "CALLBACK_EXPECTED_WAIT": "600",
        "CALLBACK_OFFER_REASON": "worth",
        "CALLBACK_OFFER": "yes",
    }
    assert channel.order[-1] == "CALLBACK_OFFER"  # last: the dialplan trusts it alone
    assert rig.log.checks == [OfferCheck(UNIQUEID, "support", NOON, Reason.WORTH, 600)]
    assert rig.counted(
        'callback_offer_checks_total{offered="yes",queue="support",reason="worth"} 1.0'
    )


async def test_a_request_on_the_offered_channel_is_an_accepted_offer() -> None:
    rig = Rig()
    await with_history(rig, 500, 600, 700)
    checker = rig.checker()
    await checker(Channel(["queue=support"]))
    taken = replace(PENDING, id="new", channel=UNIQUEID)
    await checker.stored(replace(PENDING, id="other", channel="someone.else"))
    assert not rig.counted('callback_offers_accepted_total{queue="support"}')
    await checker.stored(taken)
    await checker.stored(taken)  # counted once
    assert rig.counted('callback_offers_accepted_total{queue="support"} 1.0')


async def test_a_free_agent_means_no_offer() -> None:
    rig = Rig(status=[member(paused="0", status="1"), member()])
    channel = await rig.check("queue=support")
    assert channel.variables["CALLBACK_OFFER"] == "no"
    assert channel.variables["CALLBACK_OFFER_REASON"] == "short_wait"
    assert channel.variables["CALLBACK_EXPECTED_WAIT"] == "0"


async def test_the_cap_counts_the_queues_waiting_callbacks() -> None:
    rig = Rig()
    await with_history(rig, 500, 600, 700)
    await rig.store.add(replace(PENDING, id="w1", channel="w1"))
    await rig.store.add(
        replace(PENDING, id="w2", channel="w2", callback_number="+15551230002", queue="sales")
    )
    assert (await rig.check("queue=support", "max_callbacks=2")).variables[
        "CALLBACK_OFFER"
    ] == "yes"
    channel = await rig.check("queue=support", "max_callbacks=1")
    assert channel.variables["CALLBACK_OFFER_REASON"] == "at_cap"
    assert rig.counted(
        'callback_offer_checks_total{offered="no",queue="support",reason="at_cap"} 1.0'
    )


async def test_closed_hours_are_not_offered() -> None:
    rig = Rig(schedules={"office": OFFICE})
    await with_history(rig, 500, 600, 700)
    assert (await rig.check("queue=support", "schedule=office")).variables[
        "CALLBACK_OFFER"
    ] == "yes"
    night = replace(OFFICE, weekly=tuple(() for _ in range(7)))
    rig.schedules["office"] = night
    channel = await rig.check("queue=support", "schedule=office")
    assert channel.variables["CALLBACK_OFFER_REASON"] == "closed"


async def test_without_asterisk_the_store_still_estimates() -> None:
    rig = Rig(failing_pbx=True)
    await with_history(rig, 100, 200, 300)
    channel = await rig.check("queue=support")
    assert channel.variables["CALLBACK_EXPECTED_WAIT"] == "200"
    assert channel.variables["CALLBACK_OFFER"] == "yes"


async def test_nothing_to_estimate_from_is_offered_with_no_wait_given() -> None:
    rig = Rig(status=[member()])
    channel = await rig.check("queue=support")
    assert channel.variables == {
        "CALLBACK_EXPECTED_WAIT": "",
        "CALLBACK_OFFER_REASON": "no_estimate",
        "CALLBACK_OFFER": "yes",
    }


async def test_bad_options_offer_nothing_and_say_why() -> None:
    rig = Rig()
    channel = await rig.check("queue=support", "min_wait=soon")
    assert channel.variables["CALLBACK_OFFER"] == "no"
    assert channel.variables["CALLBACK_OFFER_REASON"] == "error"
    assert await rig.store.requests() == []


async def test_a_store_that_cannot_be_read_offers_nothing() -> None:
    class Broken(MemoryStore):
        async def requests(self, *states: object) -> list[CallbackRequest]:
            raise OSError("disk I/O error")

    rig = Rig(store=Broken())
    channel = await rig.check("queue=support")
    assert channel.variables["CALLBACK_OFFER"] == "no"
    assert channel.variables["CALLBACK_OFFER_REASON"] == "error"


def test_asterisk_figures_from_queue_status() -> None:
    entries = [
        {"Event": "QueueParams", "Holdtime": "35", "TalkTime": "180", "Calls": "2"},
        member(paused="0", status="1"),  # free
        member(paused="0", status="2", in_call="1"),  # on a call
        member(paused="0", status="5"),  # unavailable: not staffed
        member(paused="1", status="1"),  # paused
        {"Event": "QueueEntry"},
        {"Event": "QueueEntry"},
        {"Event": "QueueStatusComplete"},
    ]
    figures = asterisk_figures(entries)
    assert (figures.callers, figures.staffed, figures.free) == (2, 2, 1)
    assert (figures.talk_time, figures.hold_time) == (180.0, 35.0)
    assert asterisk_figures([{"Event": "QueueParams", "TalkTime": "x"}]).talk_time == 0.0
