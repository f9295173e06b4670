from dataclasses import replace

import pytest

from agi_app.domain.language import channel_language, fallbacks
from agi_app.domain.options import parse_options
from agi_app.domain.request import build_request
from tests.unit.test_request import FACTS, NOW, RULES


@pytest.mark.parametrize("language", ["en", "es", "pt_BR", "fr_CA_formal", "es-419"])
def test_an_asterisk_language_is_kept(language: str) -> None:
    assert channel_language(language) == language
    assert channel_language(f" {language} ") == language


@pytest.mark.parametrize(
    "raw",
    ["", "  ", "../en", "es/x", "es)=x", "es,x", "es\nx", "_es", "x" * 41, "callback-placeholder"],
)
def test_what_is_not_a_language_is_dropped(raw: str) -> None:
    """It names a directory under sounds/ and goes into AMI: nothing else passes."""
    assert channel_language(raw) == ""


def test_the_fallbacks_are_asterisks_order() -> None:
    """main/file.c, fileexists_core: the language, then without each _ suffix (then no
    language, then en, which the caller of fallbacks adds)."""
    assert fallbacks("fr_CA_formal") == ("fr_CA_formal", "fr_CA", "fr")
    assert fallbacks("es") == ("es",)
    assert fallbacks("") == ()


def _built(language: str) -> str:
    facts = replace(FACTS, language=language)
    options = parse_options(["queue=support"])
    return build_request(facts, options, RULES, request_id="r1", now=NOW).language


def test_the_request_keeps_the_callers_language() -> None:
    assert _built("es") == "es"
    assert _built("") == ""
    assert _built("es;Set(x)") == ""  # not a language: Asterisk's default, nothing refused
