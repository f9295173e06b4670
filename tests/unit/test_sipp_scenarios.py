"""The SIPp scenarios of tests/support/scenarios/, as the tests fill them: every placeholder
filled, well-formed XML (SIPp would refuse the call otherwise), values where SIPp reads them."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support.sipp import SCENARIOS, Caller, bulk_caller_scenario, scenario
from tests.support.uas import Behaviour, Phone


def parsed(text: str) -> ElementTree.Element:
    assert "${" not in text
    return ElementTree.fromstring(text.encode("iso-8859-1"))


@pytest.mark.parametrize("behaviour", list(Behaviour))
def test_each_phone_behaviour_has_its_scenario(behaviour: Behaviour, tmp_path: Path) -> None:
    phone = Phone(5071, tmp_path, behaviour, rtp_port=40000, cancel_timeout_s=7)
    root = parsed(phone.scenario())
    assert root.get("name") == f"phone-{behaviour.value}"
    if behaviour is Behaviour.ANSWER:
        assert "m=audio 40000 RTP/AVP" in phone.scenario()
    if behaviour is Behaviour.NO_ANSWER:
        assert root.find("recv[@request='CANCEL']").get("timeout") == "7000"  # type: ignore[union-attr]


def test_caller_plays_one_pcap_per_nudge(tmp_path: Path) -> None:
    name = 'A "quoted" <name> & co'
    caller = Caller("5001", "+15551230001", tmp_path, name=name, key_groups=["12#", "1"])
    caller.rtp_port = 40002
    root = parsed(caller.scenario())
    nudges = [r.get("timeout") for r in root.iter("recv") if r.get("request") == "INFO"]
    assert nudges == ["30000", "30000"]
    pcaps = [e.get("play_pcap_audio") for e in root.iter("exec")]
    assert pcaps == [str(tmp_path / f"caller-{caller.sip_port}-keys{n}.pcap") for n in (0, 1)]
    assert all(Path(p).stat().st_size > 0 for p in pcaps if p)
    invite = root.find("send").findtext(".")  # type: ignore[union-attr]
    assert "m=audio 40002 RTP/AVP 0 101" in (invite or "")


def test_anonymous_and_refused_callers(tmp_path: Path) -> None:
    anonymous = parsed(Caller("5000", "+15551230001", tmp_path, anonymous=True).scenario())
    assert "Privacy: id" in (anonymous.find("send").findtext(".") or "")  # type: ignore[union-attr]
    refused = parsed(Caller("5000", "+15551230001", tmp_path, expect_failure=True).scenario())
    codes = [r.get("response") for r in refused.iter("recv")]
    assert "200" not in codes and "603" in codes


def test_bulk_callers(tmp_path: Path) -> None:
    root = parsed(bulk_caller_scenario([(5500, tmp_path / "a.pcap"), (2500, tmp_path / "b.pcap")]))
    assert [p.get("milliseconds") for p in root.iter("pause")] == ["5500", "2500"]


def test_bulk_holding_callers_hang_up_after_the_hold() -> None:
    root = parsed(scenario("bulk-hold", hold_ms=3000))
    assert [p.get("milliseconds") for p in root.iter("pause")] == ["3000"]
    sent = [(e.findtext(".") or "").split()[0] for e in root.iter("send")]
    assert sent == ["INVITE", "ACK", "BYE"]  # the caller hangs up, after the pause


def test_no_scenario_is_left_unused() -> None:
    callers = {"caller", "caller-step", "refused", "bulk-press", "bulk-press-step", "bulk-hold"}
    used = {f"phone-{b.value}" for b in Behaviour} | callers
    assert {p.stem for p in SCENARIOS.glob("*.xml")} == used
