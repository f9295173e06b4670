"""The caller ID the customer sees when called back: the number they called when the
destination policy would let the PBX call it, else their queue's, else the default."""

from dataclasses import replace

import pytest

from agi_app.domain.numbers import NumberRules
from agi_app.domain.presentation import Presentation
from tests.support.samples import PENDING

RULES = NumberRules(region="GB", allowed_regions=frozenset({"GB"}))
OURS = Presentation('"Support" <5000>', {"sales": '"Sales" <+441632960999>'})


@pytest.mark.parametrize(
    ("queue", "dialed", "shown"),
    [
        ("support", "+442079460100", '"Support" <+442079460100>'),  # the DID, with the name
        ("support", "02079460100", '"Support" <+442079460100>'),  # as the carrier sent it
        ("sales", "+442079460100", '"Sales" <+442079460100>'),  # the queue's name
        ("support", "5000", '"Support" <5000>'),  # a short internal number: not presented
        ("sales", "5000", '"Sales" <+441632960999>'),
        ("support", "", '"Support" <5000>'),  # none recorded (an API request)
        ("support", "+19005550100", '"Support" <5000>'),  # outside the allowed regions
        ("support", "+449098790000", '"Support" <5000>'),  # premium rate: never presented
        ("support", "999", '"Support" <5000>'),  # an emergency number: never
    ],
)
def test_the_number_they_called_when_the_policy_allows_it(
    queue: str, dialed: str, shown: str
) -> None:
    request = replace(PENDING, queue=queue, dialed_number=dialed)
    assert OURS.caller_id(request, RULES) == shown


def test_the_dialed_number_can_be_turned_off() -> None:
    request = replace(PENDING, queue="sales", dialed_number="+442079460100")
    assert replace(OURS, dialed=False).caller_id(request, RULES) == '"Sales" <+441632960999>'


def test_a_default_without_a_name_presents_the_number_alone() -> None:
    request = replace(PENDING, dialed_number="+442079460100")
    assert Presentation("<5000>", {}).caller_id(request, RULES) == "<+442079460100>"
