"""Asterisk applies the eventfilters of the service's AMI account (asterisk_conf/manager.conf):
an ordinary caller, waiting in a queue and hung up, reaches that account only where it joins
the queue, gives up waiting (missed calls called back) and leaves it; none of its channel,
state, dial or hangup events does."""

from pathlib import Path

from panoramisk import Manager
from panoramisk.message import Message

from tests.acceptance.calls import calling, in_queue
from tests.support.ami import action, ami_client, eventually_local


async def test_service_account_hears_a_live_caller_join_abandon_and_leave_only(
    ami: Manager, tmp_path: Path
) -> None:
    seen: list[Message] = []
    async with ami_client(username="callback") as account:
        account.register_event("*", lambda _manager, event: seen.append(event))
        async with calling(tmp_path, "5000", "+15551239901", []):
            entry = await in_queue(ami, "+15551239901")
            await action(ami, Action="Hangup", Channel=entry["Channel"])
            await eventually_local(
                lambda: [str(e.get("Event")) for e in seen],
                lambda names: "QueueCallerLeave" in names,
                within=10,
                what="the caller leaving the queue, on the service's account",
            )
    # FullyBooted is the login's own greeting, which Asterisk sends any account.
    heard = [e for e in seen if e.get("Event") != "FullyBooted"]
    assert [e.get("Event") for e in heard] == [
        "QueueCallerJoin",
        "QueueCallerAbandon",
        "QueueCallerLeave",
    ]
    assert all(e.get("Uniqueid") == entry["Uniqueid"] for e in heard)
