"""The caller's language on the customer's calls (the fake PBX): the informative call and
customer first's call carry CHANNEL(language), so Asterisk plays the prompts in it."""

from pathlib import Path

from agi_app.domain.options import Mode
from agi_app.domain.request import State
from tests.support.poll import eventually_local
from tests.unit.serving.rig import Rig, serving_on


async def _informed(rig: Rig, language: str) -> dict[str, object]:
    request = await rig.add("+15551230001", language=language)
    await rig.serving.request_stored(request)
    await rig.until(request.id, lambda r: r.state is State.WAITING, "waiting")
    rig.pbx.time_out(request.id, 1)
    await rig.until(request.id, lambda r: r.state is State.DONE, "expired")
    # The informative call follows the end: looked for until it comes.
    (inform,) = await eventually_local(
        lambda: [a for a in rig.pbx.actions("Originate") if a.get("Application")],
        lambda calls: len(calls) == 1,
        within=5,
        what="the informative call",
    )
    assert inform["Data"] == "callback/timeout"
    return dict(inform)


async def test_the_informative_call_is_in_the_callers_language(tmp_path: Path) -> None:
    async with serving_on(tmp_path) as rig:
        inform = await _informed(rig, "es")
    assert inform["Variable"] == ["CHANNEL(language)=es"]


async def test_without_a_language_the_informative_call_keeps_the_endpoints(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path) as rig:
        inform = await _informed(rig, "")
    assert "Variable" not in inform


async def test_a_stored_language_that_is_not_one_is_never_sent(tmp_path: Path) -> None:
    """The store is checked again: a value that could smuggle dialplan or headers is dropped."""
    async with serving_on(tmp_path) as rig:
        inform = await _informed(rig, "es)=x,Set(Y")
    assert "Variable" not in inform


async def test_customer_first_calls_the_customer_in_the_callers_language(
    tmp_path: Path,
) -> None:
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", mode=Mode.CUSTOMER_FIRST, language="es")
        await rig.serving.request_stored(request)
        await rig.until(request.id, lambda r: r.state is State.CALLING, "its turn came")
        calls = await eventually_local(  # the call follows the saved turn
            lambda: [a for a in rig.pbx.actions("Originate")
                     if a.get("Context") == "callback-customer-first"],
            lambda found: len(found) == 1, within=5, what="the customer called",
        )  # fmt: skip
        (call,) = calls
        variables = dict(str(v).split("=", 1) for v in call["Variable"])
        assert variables["CHANNEL(language)"] == "es"
        assert variables["CB_GREETING"] == "callback/customer-first-greeting"
        # The placeholder keeps its silent language: nothing is set on it.
        (placed,) = rig.pbx.placed
        assert not any("language" in name.lower() for name in placed.variables)


async def test_the_live_view_shows_the_language_and_the_preferred_agent(tmp_path: Path) -> None:
    """What a supervisor needs to know of a waiting callback: the language its customer will
    be spoken to in, and the agent it waits for first."""
    async with serving_on(tmp_path) as rig:
        request = await rig.add("+15551230001", language="es", preferred_agent="PJSIP/agent2")
        (shown,) = await rig.serving.views.live_view()
    assert (shown["id"], shown["language"], shown["preferred_agent"]) == (
        request.id,
        "es",
        "PJSIP/agent2",
    )
