"""The reader: includes followed with file:line kept, comments and templates as Asterisk
reads them, content parsed by pyst2."""

from pathlib import Path

from agi_app.admin.check.findings import Location
from agi_app.admin.check.reading import Reader


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_includes_keep_each_entry_at_its_own_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "a.conf", '[one]\nx = 1\n#include "b.conf"\ny = 3\n')
    write(tmp_path / "b.conf", "; b\nz = 2\n[two]\nw => 4\n")
    conf = Reader(tmp_path).read("a.conf")
    assert conf.problems == []
    one, two = conf.sections
    assert [(e.name, e.value, str(e.where)) for e in one.entries] == [
        ("x", "1", "a.conf:2"),
        ("z", "2", "b.conf:2"),
    ]
    # Asterisk: what follows an #include belongs to the section the included file left open.
    assert [(e.name, e.value, str(e.where)) for e in two.entries] == [
        ("w", "4", "b.conf:4"),
        ("y", "3", "a.conf:4"),
    ]


def test_comments_blocks_and_escaped_semicolons(tmp_path: Path) -> None:
    write(
        tmp_path / "a.conf",
        "[s] ; a comment\n"
        "a = 1 ; gone\n"
        ";-- a block\nb = 2\n--;\n"
        "c = x\\;y\n"
        "d = 3 ;-- inline --; \n",
    )
    conf = Reader(tmp_path).read("a.conf")
    assert [(e.name, e.value) for e in conf.sections[0].entries] == [
        ("a", "1"),
        ("c", "x;y"),
        ("d", "3"),
    ]


def test_templates_and_additions(tmp_path: Path) -> None:
    write(
        tmp_path / "a.conf",
        "[base](!)\ntype = endpoint\nauth = none\n"
        "[agent](base)\nauth = agent\n"
        "[agent](+)\ncontext = agents\n",
    )
    conf = Reader(tmp_path).read("a.conf")
    assert conf.problems == []
    (agent,) = conf.named("agent")
    assert [(e.name, e.value) for e in conf.inherited(agent)] == [
        ("type", "endpoint"),
        ("auth", "none"),
        ("auth", "agent"),
        ("context", "agents"),
    ]
    entry = conf.value(agent, "auth")
    assert entry is not None and entry.value == "agent"
    assert conf.named("base") == []  # a template is no section of its own


def test_absent_includes_mounts_and_unreadable_lines(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "secret.conf", "secret = s\n")
    write(
        tmp_path / "etc" / "a.conf",
        "[acct]\n"
        '#tryinclude "/etc/secrets/secret.conf"\n'
        '#tryinclude "/etc/secrets/missing.conf"\n'
        "not an entry\n"
        "[other](nothere)\n"
        '#include "gone.conf"\n',
    )
    reader = Reader(tmp_path / "etc", {"/etc/secrets": tmp_path / "elsewhere"})
    conf = reader.read("a.conf")
    acct = conf.sections[0]
    assert [(e.name, e.where) for e in acct.entries] == [
        ("secret", Location("/etc/secrets/secret.conf", 1))
    ]
    assert acct.absent == ["/etc/secrets/missing.conf"]
    assert [str(p) for p in conf.problems] == [
        "a.conf:6: error: #include gone.conf: no such file (Asterisk will not load a.conf)",
        "a.conf:4: error: cannot be read (Item must be in name = value pairs): 'not an entry'",
        "a.conf:5: error: [other] inherits from [nothere], which does not come before it",
    ]


def test_an_include_loop_is_reported_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "a.conf", '[s]\n#include "b.conf"\n')
    write(tmp_path / "b.conf", 'x = 1\n#include "a.conf"\n')
    conf = Reader(tmp_path).read("a.conf")
    assert [str(p) for p in conf.problems] == ["b.conf:2: error: #include a.conf includes itself"]
    assert [e.name for e in conf.sections[0].entries] == ["x"]
