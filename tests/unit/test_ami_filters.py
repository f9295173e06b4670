"""The service's AMI account is sent only the events serving acts on: every one of them (for
a callback's channels, and for live callers where they join and leave a queue and where an
agent answers them) passes the shipped eventfilters, and the events of ordinary calls do not,
both as shipped and as `agi-callback install-asterisk-config` writes the account. The filters
are read as Asterisk 22's manager.c reads them (agi_app/pbx/event_filters.py)."""

from pathlib import Path

import pytest

from agi_app.admin.check.reading import Reader
from agi_app.domain.channel_ids import parse_channel_id
from agi_app.pbx.event_filters import EventFilter, needed_events, parse_filter, passes
from agi_app.serving.events import HANDLERS
from tests.unit.admin_config import install, write_config

REPO = Path(__file__).resolve().parents[2]
LIVE = "1700000000.42"  # a live caller's uniqueid, as Asterisk makes them
# What an ordinary call, with no callback in it, makes Asterisk send an account that reads
# call, agent, user and system events.
ORDINARY = [
    {"Event": "Newchannel", "Uniqueid": LIVE},
    {"Event": "Newstate", "Uniqueid": LIVE},
    {"Event": "NewConnectedLine", "Uniqueid": LIVE},
    {"Event": "HangupRequest", "Uniqueid": LIVE},
    {"Event": "SoftHangupRequest", "Uniqueid": LIVE},
    {"Event": "Hangup", "Uniqueid": LIVE},
    {"Event": "DialBegin", "Uniqueid": LIVE, "DestUniqueid": "1700000000.43"},
    {"Event": "DialEnd", "Uniqueid": LIVE, "DestUniqueid": "1700000000.43"},
    {"Event": "AgentCalled", "Uniqueid": LIVE, "DestUniqueid": "1700000000.43"},
    {"Event": "BridgeEnter", "Uniqueid": LIVE},
    {"Event": "UserEvent", "UserEvent": "CallbackScreenPop", "Uniqueid": LIVE},
    {"Event": "QueueMemberStatus", "Interface": "PJSIP/agent1"},
]


def account_filters(path: Path, name: str = "callback") -> list[EventFilter]:
    conf = Reader(path.parent).read(path.name)
    account = conf.named(name)[-1]
    return [parse_filter(e.name, e.value) for e in account.entries if e.name.startswith("eventf")]


def test_shipped_account_gets_every_event_serving_acts_on_and_no_ordinary_call() -> None:
    filters = account_filters(REPO / "asterisk_conf" / "manager.conf")
    needed = needed_events(HANDLERS)
    assert {e["Event"] for e in needed} >= {"FullyBooted", "Shutdown", "Hangup", "UserEvent"}
    assert [e for e in needed if not passes(filters, e)] == []
    assert [e for e in ORDINARY if passes(filters, e)] == []


def test_a_live_caller_answered_reaches_the_service_and_the_old_filter_dropped_it() -> None:
    """AgentConnect of a live caller (its number's waiting callbacks are cancelled) passes the
    shipped filters; the filter of earlier versions, for a callback's own channels alone, drops
    it, and check says so (agi_app/admin/check/rules_events.py)."""
    live = {"Event": "AgentConnect", "Uniqueid": LIVE, "CallerIDNum": "+15551230001"}
    live |= {"Queue": "support", "DestUniqueid": "1700000000.43"}
    assert passes(account_filters(REPO / "asterisk_conf" / "manager.conf"), live)
    samples = [e for e in needed_events(HANDLERS) if e["Event"] == "AgentConnect"]
    assert any(parse_channel_id(e["Uniqueid"]) is None for e in samples)  # a live caller's
    old = parse_filter(
        "eventfilter(name(AgentConnect),header(Uniqueid),method(starts_with))", "cb-"
    )
    assert not passes([old], live)


def test_installed_account_keeps_the_filters_as_shipped(tmp_path: Path) -> None:
    conf = write_config(tmp_path)
    assert install(tmp_path, conf) == 0
    filters = account_filters(conf / "manager.d" / "agi-callback.conf")
    assert filters == account_filters(REPO / "asterisk_conf" / "manager.conf")
    assert [e for e in needed_events(HANDLERS) if not passes(filters, e)] == []
    assert [e for e in ORDINARY if passes(filters, e)] == []


@pytest.mark.parametrize(
    ("key", "value", "event", "sent"),
    [
        # From manager.c's own test table (eventfilter_test_matching), in Asterisk 22.
        ("eventfilter", "XXX", {"Event": "VarSet", "Value": "XXX"}, True),
        ("eventfilter", "!XXX", {"Event": "VarSet", "Value": "XXX"}, False),
        ("eventfilter(name(VarSet),method(none))", "", {"Event": "VarSet"}, True),
        ("eventfilter(name(VarSet),method(none))", "", {"Event": "Newchannel"}, False),
        ("eventfilter(action(exclude),name(Newchannel))", "", {"Event": "Newchannel"}, False),
        ("eventfilter(action(exclude),name(Newchannel))", "", {"Event": "VarSet"}, True),
        (
            "eventfilter(name(VarSet),header(Channel),method(starts_with))",
            "AB",
            {"Event": "VarSet", "Channel": "ABC"},
            True,
        ),
        (
            "eventfilter(name(VarSet),header(Channel),method(exact))",
            "AB",
            {"Event": "VarSet", "Channel": "ABC", "DestChannel": "AB"},
            False,
        ),
    ],
)
def test_filters_decide_as_asterisk_does(
    key: str, value: str, event: dict[str, str], sent: bool
) -> None:
    assert passes([parse_filter(key, value)], event) is sent


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("eventfilter", ""),  # legacy with no pattern
        ("eventfilter()", "XXX"),
        ("eventfilter(action(inlude))", ""),
        ("eventfilter(name(X),method(coains))", "XXX"),
        ("eventfilter(name(X))", "XXX"),  # a pattern with method none
        ("eventfilter(name(X),method(exact))", ""),  # a method with no pattern
    ],
)
def test_filters_asterisk_refuses_are_refused(key: str, value: str) -> None:
    with pytest.raises(ValueError):
        parse_filter(key, value)
