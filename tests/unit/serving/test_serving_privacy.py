"""Erasure on the fake PBX (agi_app/serving/privacy.py): forgetting a number cancels its
waiting callback (the placeholder hung up, nothing dialed), removes it from every request
and event, and records an Erased event; a call of the number under way refuses it with
nothing changed."""

from dataclasses import replace
from pathlib import Path

import pytest

from agi_app.domain.request import CallbackRequest, CallOutcome, State
from agi_app.serving.privacy import CallUnderWay, Erasure, erase
from tests.support.poll import eventually_local
from tests.support.privacy_trace import traces
from tests.unit.serving.rig import Rig, serving_on

NUMBER = "+15551230001"


async def _forget(rig: Rig, number: str = NUMBER, files: Path = Path("/nonexistent")) -> Erasure:
    async def cancel(request_id: str) -> CallbackRequest | None:
        return await rig.serving.cancel(request_id, "dpo", credential="api:dpo")

    return await erase(
        rig.store,
        frozenset({number}),
        cancel=cancel,
        at=rig.clock(),
        by="api:dpo",
        files_dir=files,
    )


async def test_forget_cancels_the_waiting_callback_and_leaves_no_trace(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        old = await rig.add(NUMBER, queue="sales", channel="1795680000.6")
        await rig.store.save(
            old, replace(old, state=State.DONE, call_outcome=CallOutcome.EXPIRED), "T", rig.clock()
        )
        waiting = await rig.add(NUMBER, channel="1795680000.7", message="left.wav")
        recording = tmp_path / "left.wav"  # the caller's voice message
        recording.write_bytes(b"RIFF")
        await rig.serving.request_stored(waiting)
        await rig.until(waiting.id, lambda r: r.state is State.WAITING, "waiting")
        other = await rig.add("+15551230002")
        assert await traces(rig.store, NUMBER)

        done = await _forget(rig, files=tmp_path)

        assert (done.requests, done.cancelled) == (2, 1)
        cancelled = await rig.get(waiting.id)
        assert (cancelled.state, cancelled.call_outcome) == (State.DONE, CallOutcome.CANCELLED)
        await eventually_local(rig.pbx.waiting, lambda w: w == [], within=3, what="no placeholder")
        assert rig.pbx.actions("Originate")[1:] == []  # only the placeholder: nothing dialed
        assert await traces(rig.store, NUMBER) == []
        assert not recording.exists()
        for request_id in (old.id, waiting.id):
            last = (await rig.store.events(request_id))[-1]
            assert (last.event, last.detail) == ("Erased", {"by": "api:dpo"})
        assert await rig.get(other.id) == other  # someone else's callback is untouched


async def test_a_call_under_way_refuses_the_erasure_and_changes_nothing(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        talking = await rig.add(NUMBER, state=State.CONNECTED, attempt=1, agent="PJSIP/agent1")
        waiting = await rig.add(NUMBER, queue="sales", channel="ch-sales")
        before = await rig.store.requests()
        with pytest.raises(CallUnderWay):
            await _forget(rig)
        assert await rig.store.requests() == before
        assert (await rig.get(waiting.id)).state is State.PENDING
        assert (await rig.get(talking.id)).callback_number == NUMBER
