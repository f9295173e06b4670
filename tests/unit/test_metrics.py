"""The Prometheus figures serving keeps, from the changes it saves."""

from dataclasses import replace
from datetime import timedelta

from agi_app.config.settings import Settings
from agi_app.domain.options import Mode
from agi_app.domain.request import CallOutcome, ContactOutcome, State
from agi_app.serving.metrics import Metrics
from tests.support.samples import PENDING, T0


def test_each_machine_detection_verdict_is_counted_once() -> None:
    metrics = Metrics()
    dialing = replace(PENDING, amd=True, state=State.DIALING)
    judged = replace(dialing, amd_status="MACHINE")
    metrics.changed(dialing, judged, T0)
    metrics.changed(judged, replace(judged, state=State.CONNECTED), T0)  # the same verdict
    done = replace(
        judged, state=State.DONE, call_outcome=CallOutcome.MACHINE,
        contact_outcome=ContactOutcome.ANSWERED,
    )  # fmt: skip
    metrics.changed(judged, done, T0)
    value = metrics.registry.get_sample_value
    assert value("callback_amd_verdicts_total", {"queue": "support", "status": "MACHINE"}) == 1
    outcome = {"queue": "support", "call_outcome": "Machine Answered",
               "contact_outcome": "Answered Contact"}  # fmt: skip
    assert value("callback_outcomes_total", outcome) == 1


def customer_waited(metrics: Metrics, seconds: int) -> None:
    """Customer first: a customer pressed 1, then an agent answered ``seconds`` later."""
    joined = T0 + timedelta(minutes=1)
    queued = replace(
        PENDING, mode=Mode.CUSTOMER_FIRST, state=State.QUEUED, customer_joined_at=joined
    )
    answered = joined + timedelta(seconds=seconds)
    metrics.changed(
        queued, replace(queued, state=State.CONNECTED, agent_answered_at=answered), answered
    )


def test_a_customer_first_wait_past_the_bound_is_counted() -> None:
    metrics = Metrics()
    customer_waited(metrics, 75)
    value = metrics.registry.get_sample_value
    assert value("callback_customer_first_waits_over_bound_total", {"queue": "support"}) == 1
    assert value("callback_customer_first_wait_seconds_sum", {"queue": "support"}) == 75


def test_the_customer_first_wait_bound_is_the_settings() -> None:
    bound = Settings(customer_first_wait_bound=90).customer_first_wait_bound
    metrics = Metrics(customer_wait_bound_s=bound)
    customer_waited(metrics, 75)
    value = metrics.registry.get_sample_value
    assert value("callback_customer_first_waits_over_bound_total", {"queue": "support"}) is None
