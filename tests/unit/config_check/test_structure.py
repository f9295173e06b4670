"""The dialplan numbered as pbx_config numbers it, and brackets paired as Asterisk pairs them."""

from pathlib import Path

import pytest

from agi_app.admin.check.dialplan import Dialplan, read_dialplan
from agi_app.admin.check.findings import Finding
from agi_app.admin.check.reading import Reader
from agi_app.admin.check.rules_dialplan import check_priorities, unbalanced
from agi_app.admin.check.rules_modules import check_module_files, check_modules


def plan_of(
    tmp_path: Path, text: str, modules: str | None = None
) -> tuple[Reader, tuple[Dialplan, list[Finding]]]:
    (tmp_path / "extensions.conf").write_text(text)
    if modules is not None:
        (tmp_path / "modules.conf").write_text(modules)
    reader = Reader(tmp_path)
    return reader, read_dialplan(reader.read("extensions.conf"))


def test_priorities_follow_n_s_plus_and_labels_and_skip_hints(tmp_path: Path) -> None:
    _, (plan, problems) = plan_of(
        tmp_path,
        "[ctx]\n"
        "exten => 100,hint,PJSIP/100\n"
        "exten => 100,1,Answer()\n"
        " same => n(again),Wait(1)\n"
        "exten => 100/5551234,s,NoOp()\n"  # s: the same priority as the line before
        "exten => 100,n+1,Hangup()\n"
        "exten => 200,n,Hangup()\n",  # n goes on from the last line, whatever its extension
    )
    assert problems == []
    numbered = [(line.exten, line.priority, line.label) for line in plan.lines]
    assert numbered == [
        ("100", 1, None),
        ("100", 2, "again"),
        ("100/5551234", 2, None),
        ("100", 4, None),
        ("200", 5, None),
    ]
    found = [str(f) for f in check_priorities(plan)]
    assert found == [  # the caller ID variant overrides priority 2 alone
        "extensions.conf:6: error: 100@ctx jumps from priority 2 to 4: the call ends after"
        " extensions.conf:4 (there is no priority 3), and this line is reached only by a Goto",
        "extensions.conf:7: error: 200@ctx has no priority 1 (its first is 5): a call to it,"
        " or a Gosub, finds nothing to run",
    ]


def test_a_gap_after_a_hangup_warns_a_labelled_start_is_fine_n_first_is_dropped(
    tmp_path: Path,
) -> None:
    _, (plan, problems) = plan_of(
        tmp_path,
        "[ctx]\nexten => s,n,NoOp()\nexten => s,1,Hangup()\nexten => s,10(retry),Hangup()\n"
        "exten => _X.,500(sub),Return()\n",  # entered by its label: Gosub(ctx,100,sub)
    )
    assert [str(p) for p in problems] == [
        "extensions.conf:2: error: priority 'n' on the first line of [ctx] follows no"
        " priority: Asterisk drops this line"
    ]
    assert [str(f) for f in check_priorities(plan)] == [
        "extensions.conf:4: warning: s@ctx jumps from priority 1 to 10: this line and those"
        " after it are reached only by a Goto"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Set(A=${CUT(B,-,1)})", None),
        ('GotoIf($["${A}" = "1"]?yes:no)', None),
        ("Set(A=$[${B} + [1]])", None),  # brackets nest inside $[...]
        ("Set(A=x])", None),  # outside ${ and $[, braces and brackets are text
        ("Set(A=\\(x)", None),  # escaped
        ("Set(A=${CUT(B,-,1)", "the '${' of '${CUT(B,-,1)' is never closed"),
        ("Set(A=${B)", "the '${' of '${B)' is closed by ')'"),
        ("Playback(x))", "the ')' in ')' closes nothing"),
        ("Set(A=$[1 + (2])", "the '(' of '(2])' is closed by ']'"),
    ],
)
def test_brackets(text: str, problem: str | None) -> None:
    assert unbalanced(text) == problem


def test_modules_loaded_by_autoload_or_by_name_in_any_case(tmp_path: Path) -> None:
    component = "[callback]\nexten => s,1,AGI(agi://x/callback)\n same => n,Return()\n"
    for modules, found in [
        ("[modules]\nautoload = yes\n", []),
        (
            "[modules]\nautoload=no\nload => PBX_CONFIG\nload = res_agi\nload = res_speech.so\n"
            "require = app_stack.so\n",
            [],
        ),
        (
            "[modules]\nautoload = yes\nnoload => app_stack.so\n",
            [
                "modules.conf:3: error: noload => app_stack.so: Asterisk does not load"
                " app_stack.so, which Return() needs (extensions.conf:3)"
            ],
        ),
        (
            "[modules]\nload = res_agi.so\n",
            [
                "modules.conf:1: error: no autoload = yes and no load => pbx_config.so:"
                " Asterisk does not load pbx_config.so, which reads extensions.conf",
                "modules.conf:1: error: no autoload = yes and no load => app_stack.so:"
                " Asterisk does not load app_stack.so, which Return() needs (extensions.conf:3)",
                "modules.conf:1: error: no autoload = yes and no load => res_speech.so:"
                " Asterisk does not load res_speech.so, which res_agi.so requires",
            ],
        ),
    ]:
        reader, (plan, _) = plan_of(tmp_path, component, modules)
        assert [str(f) for f in check_modules(reader.read("modules.conf"), plan)] == found


AMD_COMPONENT = (
    "[callback-customer]\n"
    "exten => s,1,Answer()\n"
    " same => n,AMD(2500,1500)\n"
    " same => n,WaitForSilence(800,1,10)\n"
    " same => n,amd()\n"  # any case, as Asterisk finds applications
    "exten => spy,1,ChanSpy(PJSIP/agent1,q)\n"
)


def test_amd_waitforsilence_and_chanspy_need_their_modules(tmp_path: Path) -> None:
    modules = "[modules]\nautoload = no\nload = pbx_config.so\n"
    reader, (plan, _) = plan_of(tmp_path, AMD_COMPONENT, modules)
    assert [str(f) for f in check_modules(reader.read("modules.conf"), plan)] == [
        f"modules.conf:2: error: autoload = no and no load => {module}.so: Asterisk does not"
        f" load {module}.so, which {app}() needs (extensions.conf:{line})"
        for module, app, line in [
            ("app_amd", "AMD", 3),
            ("app_waitforsilence", "WaitForSilence", 4),
            ("app_chanspy", "ChanSpy", 6),
        ]
    ]
    loaded = modules + "load = app_amd.so\nload = app_waitforsilence\nload = APP_CHANSPY.so\n"
    reader, (plan, _) = plan_of(tmp_path, AMD_COMPONENT, loaded)
    assert check_modules(reader.read("modules.conf"), plan) == []


def test_amd_without_amd_conf_is_an_error_naming_its_first_line(tmp_path: Path) -> None:
    """app_amd declines to load without amd.conf, whatever modules.conf says."""
    reader, (plan, _) = plan_of(tmp_path, AMD_COMPONENT, "[modules]\nautoload = yes\n")
    assert [str(f) for f in check_module_files(reader, plan)] == [
        "error: amd.conf missing: app_amd does not load without it (AMD() at"
        " extensions.conf:3): agi-callback install-asterisk-config writes one"
    ]
    (tmp_path / "amd.conf").write_text("[general]\ntotal_analysis_time = 5000\n")
    assert check_module_files(reader, plan) == []


def test_amd_conf_that_asterisk_cannot_load_is_reported(tmp_path: Path) -> None:
    reader, (plan, _) = plan_of(tmp_path, AMD_COMPONENT)
    (tmp_path / "amd.conf").write_text('[general]\n#include "amd-site.conf"\n')
    assert [str(f) for f in check_module_files(reader, plan)] == [
        "amd.conf:2: error: #include amd-site.conf: no such file (Asterisk will not load amd.conf)"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[callback-customer]\nexten => s,1,Answer()\n same => n,Hangup()\n",  # no AMD()
        "[from-pstn]\nexten => s,1,AMD()\n",  # the admin's own context: not the component's
        "[callback-customer]\nexten => s,1,Answer()\nexten => s,1,AMD()\n",  # dropped line
    ],
)
def test_amd_conf_matters_only_where_the_component_runs_amd(tmp_path: Path, text: str) -> None:
    reader, (plan, _) = plan_of(tmp_path, text)
    assert check_module_files(reader, plan) == []


def test_amd_conf_missing_names_the_first_amd_line_by_file_and_line(tmp_path: Path) -> None:
    """A "(+)" adds its lines to an earlier context: still named after an earlier line."""
    reader, (plan, _) = plan_of(
        tmp_path,
        "[callback-customer]\nexten => s,1,Answer()\n"
        "[callback-amd]\nexten => s,1,AMD()\n"
        "[callback-customer](+)\nexten => x,1,AMD()\n",
    )
    assert "(AMD() at extensions.conf:4)" in str(check_module_files(reader, plan)[0])
