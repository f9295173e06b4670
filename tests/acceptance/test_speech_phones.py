"""Customer phones that answer with speech over RTP (tests/support/uas.py: Behaviour.PERSON,
PERSON_PRESSES_1, MACHINE; the audio of tests/support/speech.py), judged by Asterisk's own
answering machine detection: the test bed's [test-amd-probe] (tests/asterisk_conf/
extensions.conf) runs AMD() with amd.conf's parameters on a call originated to the phone and
reports the verdict as a UserEvent."""

import uuid

from panoramisk import Manager
from panoramisk.message import Message

from tests.acceptance.calls import Phones, invites
from tests.support.ami import action, eventually_local
from tests.support.testbed import CARRIER_PORT, current
from tests.support.uas import Behaviour, Phone

NUMBER = "+15551230071"


class Probe:
    """One call to the customer's phone through the carrier into [test-amd-probe], and the
    UserEvents it sends (those of this call alone: the PROBE_ID it carries)."""

    def __init__(self, ami: Manager, phone: Phone) -> None:
        self.ami = ami
        self.phone = phone
        self.id = uuid.uuid4().hex
        self.events: list[Message] = []
        ami.register_event("UserEvent", self._collect)  # the fixture's connection: this test's

    def _collect(self, _manager: Manager, event: Message) -> None:
        if event.get("Probe") == self.id:
            self.events.append(event)

    async def call(self, key_wait_s: int = 0) -> None:
        """Originate the call; returns once the phone has been offered it."""
        variables = f"PROBE_ID={self.id}"
        if key_wait_s:
            variables += f",PROBE_KEY_S={key_wait_s}"
        responses = await action(
            self.ami,
            Action="Originate",
            Channel=f"PJSIP/{NUMBER}@pstn",
            Context="test-amd-probe",
            Exten="s",
            Priority="1",
            Variable=variables,
            Async="true",
        )
        # panoramisk waits for the OriginateResponse of an Async Originate: the call is up.
        assert [r.get("Response") for r in responses] == ["Success"] * len(responses), responses
        (offer,) = await invites(self.phone, 1)
        assert offer["request_uri"] == current().asterisk.carrier_uri(NUMBER)

    async def event(self, name: str, within: float = 20) -> Message:
        """The UserEvent ``name`` of this call (AmdProbe, AmdProbeKey)."""

        def found() -> list[Message]:
            return [e for e in self.events if e.get("UserEvent") == name]

        (event,) = await eventually_local(found, bool, within=within, what=f"UserEvent {name}")
        return event

    async def verdict(self) -> tuple[str, str]:
        """AMD's AMDSTATUS and AMDCAUSE."""
        event = await self.event("AmdProbe")
        return str(event.get("Status")), str(event.get("Cause"))

    async def hung_up(self) -> None:
        """Asterisk ended the call (Hangup() after the probe) and the phone took the BYE."""
        await eventually_local(
            lambda: self.phone.received("BYE"), lambda n: n == 1, within=20, what="the BYE"
        )


async def test_a_person_saying_hello_is_human(ami: Manager, phones: Phones) -> None:
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.PERSON, "person")
    probe = Probe(ami, customer)
    await probe.call()
    status, cause = await probe.verdict()
    assert status == "HUMAN", f"AMD: {status} ({cause})"
    await probe.hung_up()


async def test_an_answering_machine_is_a_machine(ami: Manager, phones: Phones) -> None:
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.MACHINE, "machine")
    probe = Probe(ami, customer)
    await probe.call()
    status, cause = await probe.verdict()
    assert status == "MACHINE", f"AMD: {status} ({cause})"
    # The greeting was heard (its words or its length), not the silence of a phone that
    # sends nothing (INITIALSILENCE).
    assert cause.startswith(("MAXWORDS", "LONGGREETING")), f"AMD: {status} ({cause})"
    await probe.hung_up()


async def test_a_person_who_presses_1_is_human_and_the_key_arrives(
    ami: Manager, phones: Phones
) -> None:
    customer, _ = await phones.start(CARRIER_PORT, Behaviour.PERSON_PRESSES_1, "person-key")
    probe = Probe(ami, customer)
    await probe.call(key_wait_s=10)
    status, cause = await probe.verdict()
    assert status == "HUMAN", f"AMD: {status} ({cause})"
    key = await probe.event("AmdProbeKey")
    assert (key.get("Key"), key.get("Status")) == ("1", "OK"), key
    await probe.hung_up()
