"""The agent panel's wrap-up: an agent who answered a callback is offered its codes once the
call is over, until they give one; a callback no agent answered asks for none."""

from dataclasses import replace
from datetime import timedelta
from typing import cast

from agi_app.domain.request import CallOutcome, State
from agi_app.serving.metrics import Metrics
from agi_app.serving.notifier import Notifier
from agi_app.serving.pbx import Pbx
from tests.support.samples import PENDING, T0

AGENT = "PJSIP/agent1"
TALKING = replace(PENDING, state=State.CONNECTED, agent=AGENT, attempt=1, agent_answered_at=T0)
DONE = replace(TALKING, state=State.DONE, call_outcome=CallOutcome.ANSWERED)


def notifier() -> Notifier:
    return Notifier(cast(Pbx, None), Metrics())  # neither is used by saved()


def test_an_answered_call_awaits_its_code_until_given() -> None:
    n = notifier()
    n.saved(TALKING, DONE, T0 + timedelta(minutes=3))
    assert n.wrap_ups == {AGENT: PENDING.id}
    n.saved(DONE, replace(DONE, disposition="sale"), T0 + timedelta(minutes=4))
    assert n.wrap_ups == {}


def test_a_call_no_agent_answered_asks_for_no_code() -> None:
    n = notifier()
    offered = replace(PENDING, state=State.OFFERED, agent=AGENT, attempt=1)
    n.saved(offered, replace(offered, state=State.DONE, call_outcome=CallOutcome.EXPIRED), T0)
    assert n.wrap_ups == {}


def test_the_next_call_replaces_the_one_waiting_for_a_code() -> None:
    n = notifier()
    n.saved(TALKING, DONE, T0)
    other = replace(DONE, id="other")
    n.saved(replace(TALKING, id="other"), other, T0 + timedelta(minutes=9))
    assert n.wrap_ups == {AGENT: "other"}
