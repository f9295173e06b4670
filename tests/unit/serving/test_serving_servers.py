"""Several Asterisk servers over one store: each server's serving places only the requests
that server took, in its own queues, and one server's restart leaves the other's alone."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.domain.request import State
from agi_app.serving import Serving
from agi_app.serving.all_servers import ServingSet
from agi_app.serving.config import ServingConfig
from agi_app.store.one_server import ServerStore
from agi_app.store.sqlite.store import Store
from tests.support.fake_pbx import FakePbx
from tests.support.poll import eventually_local
from tests.unit.serving.rig import WITHIN, Rig, settings_for


@asynccontextmanager
async def two_servers(tmp_path: Path) -> AsyncIterator[tuple[Store, Rig, Rig]]:
    """Serving for servers a and b, each on its own fake PBX, over one SQLite store; each
    rig adds requests through its server's share of the store, as its FastAGI listener."""
    settings = settings_for(tmp_path)
    async with Store.open(settings.store_path) as store:
        rigs, tasks = [], []
        for name in ("a", "b"):
            pbx = FakePbx({"support": ["PJSIP/agent1"]})
            view = ServerStore(store, name)
            serving = Serving(view, pbx, ServingConfig.of(settings))
            pbx.on_login, pbx.on_lost = serving.resume, serving.link_lost
            # Rig's store is typed Store; the share behaves as one for what Rig does.
            rigs.append(Rig(view, pbx, serving, settings, lambda: datetime.now(UTC)))  # type: ignore[arg-type]
            tasks.append(asyncio.ensure_future(serving.run()))
        try:
            for rig in rigs:
                rig.pbx.login()
            yield store, rigs[0], rigs[1]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def waiting(request_id: str) -> str:
    return channel_id(request_id, 1, Leg.PLACEHOLDER)


async def test_each_server_places_only_what_it_took(tmp_path: Path) -> None:
    async with two_servers(tmp_path) as (store, a, b):
        on_a = await a.add("+15551230001", waited=60)
        on_b = await b.add("+15551230002", waited=90)
        # The same number on b: its own request, not a repeat of a's.
        same_number_on_b = await b.add("+15551230001", waited=30, channel="b-ch-1")
        for rig, request in ((a, on_a), (b, on_b), (b, same_number_on_b)):
            await rig.serving.request_stored(request)
        await a.until(on_a.id, lambda r: r.state is State.WAITING, "a's request waiting")
        await b.until(same_number_on_b.id, lambda r: r.state is State.WAITING, "b's second")
        assert a.pbx.waiting() == [waiting(on_a.id)]
        assert b.pbx.waiting() == [waiting(on_b.id), waiting(same_number_on_b.id)]
        assert {r.id: r.server for r in await store.requests()} == {
            on_a.id: "a",
            on_b.id: "b",
            same_number_on_b.id: "b",
        }


async def test_one_servers_restart_leaves_the_others_callbacks_alone(tmp_path: Path) -> None:
    async with two_servers(tmp_path) as (_, a, b):
        on_a = await a.add("+15551230001")
        on_b = await b.add("+15551230002")
        for rig, request in ((a, on_a), (b, on_b)):
            await rig.serving.request_stored(request)
        placed_a = await a.until(on_a.id, lambda r: r.state is State.WAITING, "a waiting")
        await b.until(on_b.id, lambda r: r.state is State.WAITING, "b waiting")
        b.pbx.lose_link()
        b.pbx.restart()
        b.pbx.login()
        again = await b.until(
            on_b.id, lambda r: r.attempt == 2 and r.state is State.WAITING, "b's placed again"
        )
        assert again.placement_failures == 0
        await eventually_local(lambda: len(b.pbx.placed), lambda n: n == 2, within=WITHIN,
                               what="b placed twice")  # fmt: skip
        assert await a.get(on_a.id) == placed_a  # not placed again, no attempt spent
        assert a.pbx.waiting() == [waiting(on_a.id)] and len(a.pbx.placed) == 1


async def test_the_web_sees_every_server_and_acts_on_the_requests_own(tmp_path: Path) -> None:
    async with two_servers(tmp_path) as (store, a, b):
        web = ServingSet({"a": a.serving, "b": b.serving}, store)
        on_a = await a.add("+15551230001")
        on_b = await b.add("+15551230002")
        changed = web.changed
        await b.serving.request_stored(on_b)  # a change on b is a change of the set
        assert changed.is_set()
        await web.request_stored(on_a)  # placed by a's serving, on a's PBX
        await a.until(on_a.id, lambda r: r.state is State.WAITING, "a waiting")
        await b.until(on_b.id, lambda r: r.state is State.WAITING, "b waiting")
        rows = {str(row["id"]): row for row in await web.live_view()}
        assert {i: (r["server"], r["position"]) for i, r in rows.items()} == {
            on_a.id: ("a", 1),
            on_b.id: ("b", 1),
        }
        cancelled = await web.cancel(on_b.id, "ann", credential="web:ann")
        assert cancelled is not None and cancelled.state is State.DONE
        await eventually_local(b.pbx.waiting, lambda w: w == [], within=WITHIN, what="b empty")
        assert a.pbx.waiting() == [waiting(on_a.id)]  # a's untouched
        assert await web.cancel("no-such-request", "ann", credential="web:ann") is None
