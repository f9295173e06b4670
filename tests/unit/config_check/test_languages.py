"""`agi-callback check` on the languages flows set: a prompt is found as Asterisk finds it
(sounds/<language>/, then without each _ suffix), else the language gets a warning."""

from pathlib import Path

from agi_app.admin.check.check import check
from tests.unit.config_check.bed import Bed, settings


def _found(bed: Bed) -> list[str]:
    return [str(f) for f in check(bed.target, settings())]


def test_a_dialect_finds_its_languages_prompts(tmp_path: Path) -> None:
    """es_MX: Asterisk tries es_MX, then es, which the repository's sounds have."""
    bed = Bed.make(tmp_path)
    bed.replace(
        "extensions.conf",
        "exten => 5001,1,Answer()",
        "exten => 5001,1,Answer()\n same => n,Set(CHANNEL(language)=es_MX)",
    )
    assert _found(bed) == []


def test_a_language_only_a_call_knows_is_not_guessed(tmp_path: Path) -> None:
    bed = Bed.make(tmp_path)
    bed.replace(
        "extensions.conf",
        "exten => 5001,1,Answer()",
        "exten => 5001,1,Answer()\n same => n,Set(CHANNEL(language)=${CALLER_LANGUAGE})",
    )
    assert _found(bed) == []


def test_the_shipped_english_needs_no_folder_of_its_own(tmp_path: Path) -> None:
    """en finds the prompts without a language (sounds/callback/): nothing to report."""
    bed = Bed.make(tmp_path)
    bed.replace("pjsip.conf", "[agent2](agent-endpoint)", "[agent2](agent-endpoint)\nlanguage=en")
    assert _found(bed) == []


def test_a_missing_spanish_prompt_is_named(tmp_path: Path) -> None:
    bed = Bed.make(tmp_path)
    bed.replace(
        "extensions.conf",
        "exten => 5001,1,Answer()",
        "exten => 5001,1,Answer()\n same => n,Playback(beep)",
    )
    bed.add_sound("beep")
    (finding,) = _found(bed)
    assert finding.startswith("/etc/callback-testbed/extensions.conf:")
    assert "warning: language 'es' (Set(CHANNEL(language)=...)) has no beep in" in finding
