"""An in-memory Asterisk as serving sees it over AMI (agi_app.pbx.ami.AmiLink), for unit tests.

It keeps queues, members, channels and AstDB, answers the actions serving sends (QueueStatus,
Originate, QueueWithdrawCaller, Hangup, CoreShowChannels, DBGet, UserEvent, QueueLog) as
Asterisk 22 does, with the events that follow (QueueCallerJoin, QueueCallerLeave, Hangup,
UserEvent CallbackQueueResult), and lets a test play the rest: agents ringing, declining and
answering, the customer leg, a max wait reached, a lost link, a restart. It is a stand-in
for speed; the acceptance tests against the real Asterisk remain the proof.
"""

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from panoramisk.message import Message

from agi_app.domain.channel_ids import Leg, channel_id
from agi_app.pbx.ami import AmiError, Fields, PbxUnavailable


@dataclass
class Entry:
    """A call waiting in a queue (a live caller or a placeholder)."""

    uniqueid: str
    channel: str
    prio: int
    joined_at: float  # loop time


@dataclass
class Member:
    interface: str
    paused: bool = False
    status: str = "1"  # not in use


@dataclass
class Placed:
    """One placeholder Originate as Asterisk received it."""

    request_id: str
    attempt: int
    queue: str
    position: int
    prio: int
    variables: dict[str, str] = field(default_factory=dict)


def _variables(fields: Fields) -> dict[str, str]:
    raw = fields.get("Variable", [])
    pairs = [raw] if isinstance(raw, str) else raw
    return dict(pair.split("=", 1) for pair in pairs)


class FakePbx:
    def __init__(self, queues: dict[str, list[str]] | None = None) -> None:
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.ready = asyncio.Event()
        self.booted = asyncio.Event()
        self.on_login: Callable[[], Awaitable[None]] | None = None
        self.on_lost: Callable[[], None] | None = None
        queues = queues if queues is not None else {"support": ["PJSIP/agent1"]}
        self.members = {q: [Member(agent) for agent in agents] for q, agents in queues.items()}
        self.queues: dict[str, list[Entry]] = {q: [] for q in queues}
        self.channels: dict[str, dict[str, str]] = {}  # uniqueid -> CoreShowChannel fields
        self.astdb: dict[str, str] = {}  # callback/<key> -> value
        self.sent: list[Fields] = []  # every action, in order
        self.placed: list[Placed] = []  # every placeholder Originate accepted
        self.rung: list[dict[str, str]] = []  # every preferred agent's leg: its variables
        # Faults a test turns on: the next placeholder Originates refused, one message each
        # ("... shutting down" as a PBX going away; anything else as a healthy PBX's no),
        # and placeholders that never join their queue.
        self.refusals: list[str] = []
        self.placeholders_join = True
        self.withdraw_refused = False  # QueueWithdrawCaller answers Error
        self._names = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- the link ---------------------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return self.ready.is_set() and self.booted.is_set()

    def login(self, *, booted: bool = True) -> None:
        """AMI logs in (on_login runs); FullyBooted follows, as Asterisk sends it at login."""
        self.ready.set()
        if self.on_login is not None:
            task = asyncio.ensure_future(self.on_login())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if booted:
            self.emit(Event="FullyBooted", Status="Fully Booted")

    def lose_link(self) -> None:
        """The connection drops: events meanwhile are lost to serving."""
        self.ready.clear()
        self.booted.clear()
        if self.on_lost is not None:
            self.on_lost()

    def restart(self) -> None:
        """Asterisk restarted while the link was down: every call is gone."""
        for entries in self.queues.values():
            entries.clear()
        self.channels.clear()

    def emit(self, **headers: str) -> None:
        """An AMI event, as Ami delivers it (FullyBooted sets ``booted`` first)."""
        if not self.ready.is_set():
            return  # nobody is listening
        if headers.get("Event") == "FullyBooted":
            self.booted.set()
        self.events.put_nowait(Message(headers))

    # ---- AmiLink ----------------------------------------------------------------------------
    async def send(self, fields: Fields, *, timeout: float = 5.0) -> Message:
        (response,) = [m for m in await self._act(fields) if "Response" in m] or [Message({})]
        if response.get("Response") != "Success":
            message = f"{fields.get('Action')}: {response.get('Message')}"
            if "shutting down" in message.lower():  # as Ami.send reads it
                self.booted.clear()
                raise PbxUnavailable(message)
            raise AmiError(message)
        return response

    async def send_list(self, fields: Fields, *, timeout: float = 5.0) -> list[Message]:
        return await self._act(fields)

    async def _act(self, fields: Fields) -> list[Message]:
        if not self.ready.is_set():
            raise PbxUnavailable(f"{fields.get('Action')}: AMI not connected")
        self.sent.append(dict(fields))
        await asyncio.sleep(0)  # a round trip: others run meanwhile
        action = str(fields.get("Action"))
        handler = getattr(self, f"_action_{action.lower()}", None)
        if handler is None:
            return [_error(f"Invalid/unknown command: {action}")]
        result: list[Message] = handler(fields)
        return result

    # ---- actions ----------------------------------------------------------------------------
    def _action_ping(self, _fields: Fields) -> list[Message]:
        return [_success()]

    def _action_userevent(self, _fields: Fields) -> list[Message]:
        return [_success()]

    def _action_queuelog(self, _fields: Fields) -> list[Message]:
        return [_success()]

    def _action_queuestatus(self, fields: Fields) -> list[Message]:
        queue = str(fields.get("Queue", ""))
        messages = [_success("Queue status will follow")]
        # Without a queue, Asterisk answers for every queue.
        for name in ([queue] if queue in self.queues else []) if queue else list(self.queues):
            for member in self.members.get(name, []):
                messages.append(
                    Message(
                        {
                            "Event": "QueueMember",
                            "Queue": name,
                            "Location": member.interface,
                            "StateInterface": member.interface,
                            "Paused": "1" if member.paused else "0",
                            "Status": member.status,
                        }
                    )
                )
            now = asyncio.get_running_loop().time()
            for position, entry in enumerate(self.queues[name], 1):
                messages.append(
                    Message(
                        {
                            "Event": "QueueEntry",
                            "Queue": name,
                            "Position": str(position),
                            "Uniqueid": entry.uniqueid,
                            "Channel": entry.channel,
                            "Priority": str(entry.prio),
                            "Wait": str(int(now - entry.joined_at)),
                        }
                    )
                )
        messages.append(Message({"Event": "QueueStatusComplete"}))
        return messages

    def _action_coreshowchannels(self, _fields: Fields) -> list[Message]:
        shown = [Message({"Event": "CoreShowChannel", **c}) for c in self.channels.values()]
        return [_success(), *shown, Message({"Event": "CoreShowChannelsComplete"})]

    def _action_dbget(self, fields: Fields) -> list[Message]:
        key = f"{fields.get('Family')}/{fields.get('Key')}"
        if key not in self.astdb:
            return [_error("Database entry not found")]
        return [
            _success("Result will follow"),
            Message({"Event": "DBGetResponse", "Val": self.astdb[key]}),
            Message({"Event": "DBGetComplete"}),
        ]

    def _action_originate(self, fields: Fields) -> list[Message]:
        if str(fields.get("Channel", "")).startswith("PJSIP/"):
            self.emit(
                Event="OriginateResponse", Response="Success", Uniqueid=str(fields["ChannelId"])
            )
            return [_success("Originate successfully queued")]  # an informative call
        if self.refusals:
            return [_error(self.refusals.pop(0))]
        variables = _variables(fields)
        if fields.get("Channel") == "Local/s@callback-preferred/n":  # rings CB_AGENT alone
            self.rung.append(variables)
            customer, agent_leg = str(fields["ChannelId"]), str(fields["OtherChannelId"])
            name = f"Local/s@callback-preferred-{next(self._names):08x}"
            self.channels[customer] = {
                "Uniqueid": customer, "Channel": f"{name};1", "ChannelStateDesc": "Ring"
            }  # fmt: skip
            self.channels[agent_leg] = {"Uniqueid": agent_leg, "Channel": f"{name};2"}
            self.emit(Event="DialBegin", Uniqueid=agent_leg, DestChannel=variables["CB_AGENT"])
            return [_success("Originate successfully queued")]
        queue, prio = variables["__CB_QUEUE"], int(variables["QUEUE_PRIO"])
        position = int(variables["CB_POSITION"])
        request_id, attempt = variables["__CB_ID"], int(variables["CB_ATTEMPT"])
        self.placed.append(Placed(request_id, attempt, queue, position, prio, variables))
        name = f"Local/s@callback-placeholder-{next(self._names):08x}"
        placeholder, customer = str(fields["OtherChannelId"]), str(fields["ChannelId"])
        self.channels[customer] = {"Uniqueid": customer, "Channel": f"{name};1", "BridgeId": ""}
        self.channels[placeholder] = {"Uniqueid": placeholder, "Channel": f"{name};2"}
        if self.placeholders_join:
            self._join(queue, Entry(placeholder, f"{name};2", prio, self._now()), position)
        return [_success("Originate successfully queued")]

    def _action_queuewithdrawcaller(self, fields: Fields) -> list[Message]:
        entry = self._entry_by_channel(str(fields.get("Caller")))
        if entry is None or self.withdraw_refused:
            return [_error("Unable to find caller")]
        self._leave(str(fields["Queue"]), entry, "WITHDRAW")
        return [_success()]

    def _action_hangup(self, fields: Fields) -> list[Message]:
        channel = str(fields.get("Channel"))
        uniqueid = next((u for u, c in self.channels.items() if c["Channel"] == channel), None)
        if uniqueid is None:
            return [_error("No such channel")]
        for queue, entries in self.queues.items():
            for entry in [e for e in entries if e.uniqueid == uniqueid]:
                entries.remove(entry)
                self.emit(Event="QueueCallerLeave", Queue=queue, Uniqueid=uniqueid)
        self.hang_up(uniqueid)
        return [_success()]

    # ---- what callers, agents and the dialplan do -------------------------------------------
    def live_caller(self, queue: str, uniqueid: str, prio: int = 5, number: str = "") -> None:
        """A live caller (calling from ``number``) enters ``queue`` at the end of its
        priority."""
        channel = f"PJSIP/pstn-{uniqueid}"
        self.channels[uniqueid] = {"Uniqueid": uniqueid, "Channel": channel}
        if number:
            self.channels[uniqueid]["CallerIDNum"] = number
        self._join(queue, Entry(uniqueid, channel, prio, self._now()), 0)

    def live_caller_hangs_up(
        self, uniqueid: str, waited: int, queue: str = "support", language: str = "en"
    ) -> None:
        """A live caller hangs up while waiting, after ``waited`` seconds: it leaves the queue
        (QueueCallerAbandon, with its number, channel language and HoldTime, then
        QueueCallerLeave)."""
        entry = next(e for e in self.queues[queue] if e.uniqueid == uniqueid)
        self.queues[queue].remove(entry)
        number = self.channels[uniqueid].get("CallerIDNum", "")
        self.emit(Event="QueueCallerAbandon", Queue=queue, Uniqueid=uniqueid,
                  CallerIDNum=number, CallerIDName="Ann Smith", Language=language,
                  HoldTime=str(waited))  # fmt: skip
        self.emit(Event="QueueCallerLeave", Queue=queue, Uniqueid=uniqueid)
        self.hang_up(uniqueid)

    def answer_live(self, uniqueid: str, agent: str, queue: str = "support") -> None:
        """An agent answered a live caller: it leaves the queue, bridged to the agent, and
        AgentConnect names the caller's channel, number and queue, as Asterisk 22's does
        (the agent's channel in the Dest headers)."""
        entries = self.queues[queue]
        for entry in [e for e in entries if e.uniqueid == uniqueid]:
            entries.remove(entry)
            self.emit(Event="QueueCallerLeave", Queue=queue, Uniqueid=uniqueid)
        caller = self.channels[uniqueid]
        bridge = f"bridge-{uniqueid}"
        caller["BridgeId"] = bridge
        agent_channel = f"{agent}-{next(self._names):08x}"
        self.channels[agent_channel] = {
            "Uniqueid": agent_channel, "Channel": agent_channel, "BridgeId": bridge
        }  # fmt: skip
        self.emit(
            Event="AgentConnect",
            Channel=caller["Channel"],
            CallerIDNum=caller.get("CallerIDNum", ""),
            Uniqueid=uniqueid,
            DestChannel=agent_channel,
            DestUniqueid=agent_channel,
            Queue=queue,
            MemberName=agent,
            Interface=agent,
            HoldTime="3",
            RingTime="1",
        )

    def ring(self, request_id: str, attempt: int, agent: str, queue: str = "support") -> None:
        """The agent's phone rings for the placeholder."""
        self.emit(
            Event="AgentCalled",
            Queue=queue,
            Interface=agent,
            Uniqueid=channel_id(request_id, attempt, Leg.PLACEHOLDER),
        )

    def decline(self, request_id: str, attempt: int, agent: str, queue: str = "support") -> None:
        """The agent rejected the call (or let it ring out)."""
        self.emit(
            Event="AgentRingNoAnswer",
            Queue=queue,
            Interface=agent,
            Uniqueid=channel_id(request_id, attempt, Leg.PLACEHOLDER),
        )

    def answer(self, request_id: str, attempt: int, agent: str, queue: str = "support") -> None:
        """The agent answered: the placeholder leaves the queue, bridged to the agent."""
        placeholder = channel_id(request_id, attempt, Leg.PLACEHOLDER)
        entries = self.queues[queue]
        for entry in [e for e in entries if e.uniqueid == placeholder]:
            entries.remove(entry)
            self.emit(Event="QueueCallerLeave", Queue=queue, Uniqueid=placeholder)
        # The placeholder and the agent's channel are bridged from now on.
        bridge = f"bridge-{placeholder}"
        if placeholder in self.channels:
            self.channels[placeholder]["BridgeId"] = bridge
        agent_channel = f"{agent}-{next(self._names):08x}"
        self.channels[agent_channel] = {
            "Uniqueid": agent_channel, "Channel": agent_channel, "BridgeId": bridge
        }  # fmt: skip
        self.emit(Event="AgentConnect", Queue=queue, Interface=agent, Uniqueid=placeholder)

    def dial_customer(self, request_id: str, attempt: int, status: str | None) -> None:
        """The customer leg dials (DialBegin); with a status, the dial ends (DialEnd)."""
        customer = channel_id(request_id, attempt, Leg.CUSTOMER)
        self.emit(Event="DialBegin", Uniqueid=customer)
        if status is not None:
            self.emit(Event="DialEnd", Uniqueid=customer, DialStatus=status)
            if status == "ANSWER" and customer in self.channels:
                self.channels[customer]["BridgeId"] = "bridge-1"

    def preferred_answers(self, request_id: str, attempt: int, status: str = "ANSWER") -> None:
        """The preferred agent's Dial() ends ([callback-preferred]): answered, or not (then
        its Local channel ends, and the Originate fails)."""
        agent_leg = channel_id(request_id, attempt, Leg.AGENT)
        self.emit(Event="DialEnd", Uniqueid=agent_leg, DialStatus=status)
        if status == "ANSWER" and (customer := channel_id(request_id, attempt, Leg.CUSTOMER)) in (
            self.channels
        ):
            self.channels[customer]["ChannelStateDesc"] = "Up"  # the ;1 half, answered
        if status != "ANSWER":
            customer = channel_id(request_id, attempt, Leg.CUSTOMER)
            self.emit(Event="OriginateResponse", Response="Failure", Uniqueid=customer, Reason="1")
            self.hang_up(agent_leg)

    def machine_detection(self, request_id: str, attempt: int, status: str) -> None:
        """AMD()'s verdict on the customer's answer ([callback-amd]), from the customer's
        channel, which names the request's leg."""
        self.emit(
            Event="UserEvent",
            UserEvent="CallbackAmd",
            Uniqueid="1795680000.77",
            Leg=channel_id(request_id, attempt, Leg.CUSTOMER),
            Status=status,
            Cause="MAXWORDS-3-3" if status == "MACHINE" else "HUMAN-1-1",
        )

    def customer_first_answers(
        self, request_id: str, attempt: int, key: str, *, prio: int = 5, queue: str = "support"
    ) -> None:
        """Customer first: the customer called answers ([callback-customer-first]): AMD()
        says HUMAN, they press ``key``; on 1 they join the queue at the head of their level."""
        leg = channel_id(request_id, attempt, Leg.CALLED)
        self.emit(Event="UserEvent", UserEvent="CallbackAmd", Uniqueid=leg, Leg=leg,
                  Status="HUMAN", Cause="HUMAN-800-800")  # fmt: skip
        self.emit(Event="UserEvent", UserEvent="CallbackHumanCheck", Uniqueid=leg, Leg=leg, Key=key)
        if key == "1":
            channel = f"PJSIP/pstn-{next(self._names):08x}"
            self.channels[leg] = {"Uniqueid": leg, "Channel": channel}
            self._join(queue, Entry(leg, channel, prio, self._now()), 1)

    def time_out(self, request_id: str, attempt: int, queue: str = "support") -> None:
        """The placeholder's Queue() reached its max wait."""
        placeholder = channel_id(request_id, attempt, Leg.PLACEHOLDER)
        entry = next(e for e in self.queues[queue] if e.uniqueid == placeholder)
        self._leave(queue, entry, "TIMEOUT")

    def hang_up(self, uniqueid: str) -> None:
        """A channel ends; a placeholder (or a preferred agent's leg) takes its customer leg
        along (one Local channel)."""
        self.channels.pop(uniqueid, None)
        self.emit(Event="Hangup", Uniqueid=uniqueid)
        if uniqueid.endswith((f"-{Leg.PLACEHOLDER.value}", f"-{Leg.AGENT.value}")):
            self.hang_up(uniqueid[:-1] + Leg.CUSTOMER.value)

    # ---- reading ------------------------------------------------------------------------------
    def waiting(self, queue: str = "support") -> list[str]:
        """The uniqueids in ``queue``, head first."""
        return [e.uniqueid for e in self.queues[queue]]

    def actions(self, name: str) -> list[Fields]:
        return [f for f in self.sent if f.get("Action") == name]

    # ---- inside -------------------------------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _join(self, queue: str, new: Entry, position: int) -> None:
        """Insert as app_queue does: before any lower priority, or at ``position`` among
        its own priority when one is given."""
        entries = self.queues[queue]
        at = len(entries)
        for i, entry in enumerate(entries):
            if new.prio > entry.prio or (new.prio >= entry.prio and 0 < position <= i + 1):
                at = i
                break
        entries.insert(at, new)
        self.emit(
            Event="QueueCallerJoin",
            Queue=queue,
            Uniqueid=new.uniqueid,
            Channel=new.channel,
            Position=str(at + 1),
        )

    def _leave(self, queue: str, entry: Entry, status: str) -> None:
        """Queue() returns ``status``: the dialplan reports it, then hangs up."""
        self.queues[queue].remove(entry)
        self.emit(Event="QueueCallerLeave", Queue=queue, Uniqueid=entry.uniqueid)
        self.emit(
            Event="UserEvent",
            UserEvent="CallbackQueueResult",
            Status=status,
            Uniqueid=entry.uniqueid,
        )
        self.hang_up(entry.uniqueid)

    def _entry_by_channel(self, channel: str) -> Entry | None:
        return next(
            (e for entries in self.queues.values() for e in entries if e.channel == channel),
            None,
        )


def _success(message: str = "") -> Message:
    return Message({"Response": "Success", "Message": message})


def _error(message: str) -> Message:
    return Message({"Response": "Error", "Message": message})
