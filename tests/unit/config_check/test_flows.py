"""What only a call knows is not guessed at: options in channel variables are left to the
service, and options written through variables Asterisk substitutes are checked in full."""

from pathlib import Path

from agi_app.admin.check.check import check
from agi_app.domain.options import ComponentOptions
from tests.unit.config_check.bed import Bed, settings


def test_options_a_call_fills_in_are_not_reported(tmp_path: Path) -> None:
    bed = Bed.make(tmp_path)
    bed.append(
        "extensions.conf",
        "\n[from-pstn](+)\n"
        "exten => 5095,1,Read(LEVEL,callback/enter-number,2)\n"
        " same => n,Gosub(callback,s,1(queue=support,priority=${LEVEL},offer=callback/ivr-offer))\n"
        " same => n,Gosub(callback,s,1(${MY_OPTIONS}))\n"
        " same => n,Set(CALLBACK_OPTIONS=${MY_OPTIONS})\n"
        " same => n,Gosub(live-queue,s,1(support,${LEVEL}))\n",
    )
    assert check(bed.target, settings()) == []


def test_every_option_of_the_service_is_accepted(tmp_path: Path) -> None:
    """The check validates with the service's model: what it takes, the check takes."""
    bed = Bed.make(tmp_path)
    every = {
        "queue": "support", "priority": "3", "destination": "number",
        "number_var": "N", "extension_var": "E", "max_wait": "60",
        "success": "callback/request-successful", "error": "callback/error-in-request",
        "timeout_prompt": "callback/timeout", "key": "1", "offer": "callback/ivr-offer",
        "offer_timeout": "5", "readback": "yes", "retries": "1", "retry_interval": "60",
        "schedule": "office", "at_closing": "expire", "ask_time": "no", "amd": "yes",
        "cancel_on_live_answer": "no", "mode": "agent_first",
        "greeting": "callback/customer-first-greeting",
        "machine_message": "callback/machine-message",
        "message": "yes", "message_max": "20", "message_prompt": "callback/leave-message",
        "customer_hours": "08:00-12:00/14:00-21:00",
        "preferred_agent": "PJSIP/agent2", "affinity_timeout": "20",
    }  # fmt: skip
    # preferred_agent_var is preferred_agent's other way (one of the two, never both).
    assert set(every) | {"preferred_agent_var"} == set(ComponentOptions.model_fields)
    options = ",".join(f"{k}={v}" for k, v in every.items())
    bed.append(
        "extensions.conf",
        f"\n[from-pstn](+)\nexten => 5094,1,Set(A={options})\n"  # too many for one Gosub
        f" same => n,Set(CALLBACK_OPTIONS={options})\n"
        " same => n,Gosub(live-queue,s,1(support,3))\n",
    )
    found = check(bed.target, settings())
    # All valid; only [callback]'s limit of 16 arguments on the way to the service.
    assert [f.message for f in found] == [
        "more than 16 options: [callback] passes only ARG1..ARG16 to the service,"
        " which never gets at_closing=expire, ask_time=no, amd=yes, cancel_on_live_answer=no,"
        " mode=agent_first, greeting=callback/customer-first-greeting,"
        " machine_message=callback/machine-message, message=yes, message_max=20,"
        " message_prompt=callback/leave-message, customer_hours=08:00-12:00/14:00-21:00,"
        " preferred_agent=PJSIP/agent2, affinity_timeout=20"
    ]


def test_a_customer_hours_window_the_service_cannot_read_is_reported(tmp_path: Path) -> None:
    bed = Bed.make(tmp_path)
    bed.append(
        "extensions.conf",
        "\n[from-pstn](+)\n"
        "exten => 5096,1,Gosub(callback,s,1(queue=support,customer_hours=21:00-08:00))\n"
        " same => n,Gosub(callback,s,1(queue=support,customer_hours=08:00-12:00/14:00-21:00))\n",
    )
    (found,) = check(bed.target, settings())
    assert found.severity == "error" and "customer_hours" in found.message
    assert "21:00-08:00" in found.message
    assert found.where is not None and found.where.line > 0
