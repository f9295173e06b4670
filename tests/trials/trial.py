"""One trial on the real stack: the sandboxed Asterisk, SIPp phones and callers, the service
as its own process behind an AMI proxy, and the faults of its scenario at their moments.

Two phases. Arrival: agents paused, callers join 1.2-2.5 s apart and some press 1 while
others are still joining. Serving: the agents of the scenario are unpaused (agent1 always
answers, so every call can end) and a desk hangs up each bridged call after a second, until
every call is over or the trial's deadline. Faults fire in either phase, one after another.
"""

import asyncio
import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from panoramisk import Manager

from agi_app.store.sqlite.store import Store
from tests.acceptance.calls import ERROR, SUCCESS
from tests.support.ami import sandbox_secret
from tests.support.rtp import RtpSink, load_prompt, match_score
from tests.support.service_process import ServiceProcess
from tests.support.sipp import Caller
from tests.support.tcp_proxy import TcpProxy
from tests.support.testbed import AMI_PORT, CARRIER_PORT, TESTBED_NUMBERS, current
from tests.support.uas import Phone
from tests.trials.checks import CallerSeen, FaultSeen, Observed, Offer, RequestSeen
from tests.trials.scenario import AGENT_PORTS, FaultKind, FaultPlan, Phase, Scenario
from tests.trials.sip_trace import timed_invites

TALK_SECONDS = 1.0  # how long the desk lets a bridged agent talk
SERVING_LIMIT = 100.0  # seconds the serving phase may take at most


class Ami:
    """The runner's own AMI link (account "tests"), re-opened after an Asterisk restart."""

    def __init__(self) -> None:
        self._manager: Manager | None = None
        self._connecting = asyncio.Lock()  # the queue watcher and the desk share this link
        self._secret = sandbox_secret("tests").read_text().strip()

    async def _connect(self) -> Manager:
        host = current().host
        # Fail fast while Asterisk is down: panoramisk would retry in the background instead.
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, AMI_PORT), 2)
        writer.close()
        manager = Manager(
            host=host, port=AMI_PORT, username="tests", secret=self._secret,
            ping_delay=0, forgetable_actions=(), reconnect_timeout=3600,
        )  # fmt: skip
        await asyncio.wait_for(manager.connect(), 5)
        return manager

    async def send(self, **fields: str) -> list[Any]:
        for _ in range(2):
            try:
                async with self._connecting:
                    if self._manager is None:
                        self._manager = await self._connect()
                    manager = self._manager
                result = await asyncio.wait_for(manager.send_action(dict(fields)), 5)
                return result if isinstance(result, list) else [result]
            except (OSError, TimeoutError, asyncio.CancelledError) as exc:
                if isinstance(exc, asyncio.CancelledError) and _cancelling():
                    raise
                self.close()
        return []

    def close(self) -> None:
        if self._manager is not None:
            self._manager.close()
            self._manager = None

    async def events(self, action: str, event: str, **fields: str) -> list[dict[str, str]]:
        return [
            dict(m) for m in await self.send(Action=action, **fields) if m.get("Event") == event
        ]

    async def reset(self, paused_agents: list[str]) -> None:
        """No calls, and ``paused_agents`` paused (the acceptance tests' starting point)."""
        await self.send(Action="Command", Command="channel request hangup all")
        deadline = time.monotonic() + 10
        while await self.events("CoreShowChannels", "CoreShowChannel"):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        await self.pause(paused_agents, True)

    async def pause(self, agents: list[str], paused: bool) -> None:
        """Retried until Asterisk takes it: right after a start the queues may not be loaded."""
        for agent in agents:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                replies = await self.send(
                    Action="QueuePause", Queue="support", Interface=agent,
                    Paused=str(paused).lower(),
                )  # fmt: skip
                if any(r.get("Response") == "Success" for r in replies):
                    break
                await asyncio.sleep(0.2)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Trial:
    def __init__(self, scenario: Scenario, workdir: Path, deadline: float) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.deadline = deadline  # time.time() by which everything must be over
        self.ami = Ami()
        self.callers = {c.number: CallerSeen(c.number, c.level, c.press) for c in scenario.callers}
        self.faults: list[FaultSeen] = []
        self.phones: dict[str, Phone] = {}
        self.carrier: Phone | None = None
        self.service: ServiceProcess | None = None
        self.proxy: TcpProxy | None = None
        self.restarting = False
        self.unpaused: list[str] = []  # agents that should be available now
        self._sipps: list[Caller] = []
        self.started = time.time()
        self._caller_tasks: list[asyncio.Future[None]] = []
        # Set once each presser pressed and heard its answer (or could not press).
        self._pressed = {c.number: asyncio.Event() for c in scenario.callers if c.press}

    # ---- the run

    async def run(self) -> Observed:
        finished = False
        # A no-op when it is up; back once AMI answers, as the trials always waited.
        await _sandbox("up", lambda: current().asterisk.sandbox("up"))
        self.started = time.time()
        async with AsyncExitStack() as stack:
            stack.callback(self.ami.close)
            await self.ami.reset(list(AGENT_PORTS))
            stack.push_async_callback(self._cleanup)
            await self._start_phones(stack)
            self.proxy = await stack.enter_async_context(TcpProxy(AMI_PORT))
            self.service = ServiceProcess(
                self.workdir,
                store_path=str(self.workdir / "callbacks.sqlite3"),
                customer_ring_seconds="5",
                ami_host=self.proxy.host,  # the proxy's, in front of the bed's Asterisk
                ami_port=str(self.proxy.port),
                ami_ping_interval="0.5",
                ami_secret_file=str(sandbox_secret("callback")),
                allowed_number_prefixes=json.dumps(TESTBED_NUMBERS),
            )
            await self.service.start(within=30)
            background = [
                asyncio.ensure_future(self._watch_queue()),
                asyncio.ensure_future(self._desk()),
            ]
            try:
                await self._arrival()
                finished = await self._serving()
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
        requests = await self._requests()
        known = {r.id for r in requests}
        return Observed(
            scenario=self.scenario,
            callers=self.callers,
            requests=requests,
            # Not an INVITE for another trial's request: Asterisk retransmits an INVITE (and
            # its CANCEL) for 32 s to a phone that is gone, and a phone of the next trial on
            # the same port receives them (seen when a seed was rerun at once after a trial
            # that ended in an error: the same caller numbers).
            offers=[
                Offer(agent, phone.behaviour, invite)
                for agent, phone in self.phones.items()
                for invite in timed_invites(phone.messages)
                if not invite.request_id or invite.request_id in known
            ],
            dials=timed_invites(self.carrier.messages) if self.carrier else [],
            faults=self.faults,
            finished=finished,
            queue_log=await _queue_log(self.started),
        )

    async def _start_phones(self, stack: AsyncExitStack) -> None:
        for agent, behaviour in self.scenario.agents.items():
            if behaviour is None:
                continue
            phone = Phone(AGENT_PORTS[agent], self.workdir, behaviour, name=agent[-6:])
            self.phones[agent] = await stack.enter_async_context(phone)
        self.carrier = await stack.enter_async_context(
            Phone(CARRIER_PORT, self.workdir, self.scenario.carrier, name="carrier")
        )

    async def _arrival(self) -> None:
        start = time.time()
        faults = asyncio.ensure_future(self._faults(Phase.ARRIVAL, start))
        for plan in self.scenario.callers:
            await asyncio.sleep(plan.start_after)
            press_after = plan.press_after if plan.press else None
            self._caller_tasks.append(
                asyncio.ensure_future(self._caller(plan.number, plan.did, press_after))
            )
        # The arrival phase ends once every presser pressed and heard its answer.
        await asyncio.wait_for(
            asyncio.gather(*(self._pressed[n].wait() for n in self._pressed)),
            max(1.0, self.deadline - time.time() - SERVING_LIMIT / 2),
        )
        await faults

    async def _serving(self) -> bool:
        start = time.time()
        self.unpaused = [a for a, b in self.scenario.agents.items() if b is not None]
        await self.ami.pause(self.unpaused, False)
        faults = asyncio.ensure_future(self._faults(Phase.SERVING, start))
        limit = min(self.deadline, start + SERVING_LIMIT)
        try:
            while time.time() < limit:
                if faults.done() and await self._all_over():
                    return True
                await asyncio.sleep(0.5)
            return False
        finally:
            if not faults.done():
                await faults

    async def _all_over(self) -> bool:
        if any(not t.done() for t in self._caller_tasks):
            return False
        requests = await self._requests()
        return all(r.state == "done" for r in requests)

    # ---- callers

    async def _caller(self, number: str, did: str, press_after: float | None) -> None:
        try:
            await self._call(number, did, press_after)
        finally:
            if number in self._pressed:
                self._pressed[number].set()

    async def _call(self, number: str, did: str, press_after: float | None) -> None:
        seen = self.callers[number]
        async with RtpSink() as sink:
            caller = Caller(
                did, number, self.workdir, key_groups=["1"] if press_after is not None else [],
                rtp_port=sink.port, step_timeout_s=120, bye_timeout_s=170,
            )  # fmt: skip
            self._sipps.append(caller)
            await caller.start()
            try:
                if press_after is not None:
                    await self._press(caller, sink, seen, press_after)
                    self._pressed[number].set()
                assert caller._process is not None
                await caller._process.wait()
            finally:
                seen.ended_at = time.time()
                await caller.kill()

    async def _press(
        self, caller: Caller, sink: RtpSink, seen: CallerSeen, press_after: float
    ) -> None:
        until = time.time() + 20
        while seen.joined_at is None:
            if time.time() > until or (caller._process and caller._process.returncode is not None):
                return  # never joined (a restart dropped it): it has nothing to press
            await asyncio.sleep(0.05)
        await asyncio.sleep(press_after)
        try:
            await caller.nudge()
        except AssertionError:
            return  # its call ended before the key (a restart)
        seen.pressed_at = time.time()
        success, error = load_prompt(SUCCESS), load_prompt(ERROR)
        until = time.time() + 20
        while time.time() < until:
            samples = sink.samples()
            if match_score(samples, success) >= 0.5:
                seen.heard_success = True
                return
            if match_score(samples, error) >= 0.5:
                seen.heard_error = True
                return
            if caller._process and caller._process.returncode is not None:
                return
            await asyncio.sleep(0.25)

    # ---- background: the queue's order of entry, and the agents' desk

    async def _watch_queue(self) -> None:
        while True:
            entries = await self.ami.events("QueueStatus", "QueueEntry", Queue="support")
            now = time.time()
            for entry in entries:
                number = entry.get("CallerIDNum", "")
                caller = self.callers.get(number)
                if caller and caller.joined_at is None and entry["Channel"].startswith("PJSIP/"):
                    # First seen now; Wait (whole seconds) bounds how long it was already there.
                    caller.joined_at = now
            await asyncio.sleep(0.1)

    async def _desk(self) -> None:
        """Hang up each agent's call once it talked TALK_SECONDS; a callback's agent only once
        no customer is ringing (so the customer leg ends by its own outcome)."""
        bridged_since: dict[str, float] = {}
        while True:
            channels = await self.ami.events("CoreShowChannels", "CoreShowChannel")
            now = time.time()
            # Ringing, not yet answered: a customer first customer waiting in the queue for an
            # agent is up and unbridged too, and must not hold the desk back.
            ringing_customer = any(
                c["Channel"].startswith("PJSIP/pstn-")
                and not c.get("BridgeId")
                and c.get("ChannelStateDesc") != "Up"
                for c in channels
            )
            live = set()
            for c in channels:
                name = c["Channel"]
                if not name.startswith("PJSIP/agent") or not c.get("BridgeId"):
                    continue
                live.add(name)
                since = bridged_since.setdefault(name, now)
                if now - since >= TALK_SECONDS and (not ringing_customer or now - since > 12):
                    await self.ami.send(Action="Hangup", Channel=name)
            bridged_since = {k: v for k, v in bridged_since.items() if k in live}
            await asyncio.sleep(0.3)

    # ---- faults

    async def _faults(self, phase: Phase, start: float) -> None:
        for fault in (f for f in self.scenario.faults if f.phase is phase):
            await asyncio.sleep(max(0.0, start + fault.at - time.time()))
            began = time.time()
            await self._inject(fault, phase)
            self.faults.append(FaultSeen(fault.kind, began, time.time()))

    async def _inject(self, fault: FaultPlan, phase: Phase) -> None:
        assert self.service is not None and self.proxy is not None
        if fault.kind is FaultKind.KILL9:
            await self.service.kill9()
            await self.service.start(within=60)
        elif fault.kind is FaultKind.AMI_FREEZE:
            self.proxy.freeze()
            await asyncio.sleep(fault.hold)
            self.proxy.thaw()
        elif fault.kind is FaultKind.STORE_LOCK:
            db = sqlite3.connect(self.service.store_path, timeout=10, check_same_thread=False)
            try:
                await asyncio.to_thread(db.execute, "BEGIN IMMEDIATE")
                await asyncio.sleep(fault.hold)
                await asyncio.to_thread(db.rollback)
            finally:
                db.close()
        elif fault.kind is FaultKind.ASTERISK_RESTART:
            self.restarting = True
            try:
                await _sandbox("down", current().asterisk.down)
                # Every call Asterisk had is gone with it; a SIPp caller that got no BYE
                # would wait for one until its own timeout.
                for caller in self._sipps:
                    await caller.kill()
                await _sandbox("up", lambda: current().asterisk.sandbox("up"))
                self.ami.close()
                # Agents come back unpaused (persistentmembers = no): as an operator would,
                # pause again those that should not take calls now. The service may already be
                # placing requests in this window; that is part of what the trial checks.
                paused = [a for a in AGENT_PORTS if a not in self.unpaused]
                await self.ami.pause(paused, True)
            finally:
                self.restarting = False

    # ---- results and cleanup

    async def _requests(self) -> list[RequestSeen]:
        assert self.service is not None
        if not self.service.store_path.exists():
            return []
        async with Store.open(self.service.store_path, busy_timeout=5) as store:
            out = []
            for r in await store.requests():
                events = await store.events(r.id)
                waiting = [e.at for e in events if e.state == "waiting"]
                done = [e.at for e in events if e.state == "done"]
                states = tuple((e.state, _epoch(e.at)) for e in events)
                # Agent affinity over: agent2 answered, or any agent once placed again.
                over = next(
                    (e.at for e in events if e.event in ("AffinityOver", "AgentAnswered")), None
                )
                again = [e.at for e in events if over and e.at > over and e.state == "waiting"]
                out.append(
                    RequestSeen(
                        id=r.id,
                        callback_number=r.callback_number,
                        state=r.state.value,
                        call_outcome=r.call_outcome.value if r.call_outcome else None,
                        attempt=r.attempt,
                        placement_failures=getattr(r, "placement_failures", 0),
                        declined_by=r.declined_by,
                        first_waiting_at=_epoch(waiting[0]) if waiting else None,
                        done_at=_epoch(done[0]) if done else None,
                        customer_first=r.mode.value == "customer_first",
                        states=states,
                        preferred=bool(getattr(r, "preferred_agent", "")),
                        affinity_until=_epoch((again or [over])[0]) if over else None,
                    )
                )
            return out

    async def _cleanup(self) -> None:
        for caller in self._sipps:
            await caller.kill()
        await asyncio.gather(*self._caller_tasks, return_exceptions=True)
        if self.service is not None:
            await self.service.stop()
        await self.ami.reset(list(AGENT_PORTS))


def _epoch(at: datetime) -> float:
    return at.timestamp()


async def _queue_log(since: float) -> list[list[str]]:
    """The bed's Asterisk's queue_log lines since ``since`` (a file of its state directory)."""
    try:
        path = await asyncio.to_thread(current().asterisk.queue_log)
    except subprocess.CalledProcessError:
        return []
    if not path.exists():
        return []
    lines = [line.split("|") for line in path.read_text(errors="replace").splitlines()]
    return [f for f in lines if f[0].isdigit() and int(f[0]) >= int(since)]


async def _sandbox(what: str, command: Callable[[], object]) -> None:
    """A docker/sandbox command on the bed's Asterisk (``command``: its method), off the loop."""
    try:
        await asyncio.to_thread(command)
    except subprocess.CalledProcessError as exc:
        err = (exc.stderr or "")[-500:]
        raise RuntimeError(f"docker/sandbox {what} failed: {err}") from exc


async def run_trial(scenario: Scenario, workdir: Path, deadline: float) -> Observed:
    return await Trial(scenario, workdir, deadline).run()
