"""The layer contract (pyproject's [tool.importlinter], docs/architecture.md) holds, fails on a
planted violation, and no package imports another package's private names."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the agi_app under ``root``, with the repository's contract."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def planted(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    copy = tmp_path / "agi_app"
    shutil.copytree(REPO / "agi_app", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return lint_imports(tmp_path)


def test_the_contract_holds_on_the_tree(tmp_path: Path) -> None:
    done = planted(tmp_path, "domain/numbers.py", "# nothing planted")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_the_domain_importing_the_command_line_breaks_the_layers(tmp_path: Path) -> None:
    done = planted(tmp_path, "domain/numbers.py", "import agi_app.admin.cli  # planted")
    assert done.returncode != 0
    assert "Layers: entry points above, the domain at the bottom BROKEN" in done.stdout
    assert "agi_app.domain.numbers -> agi_app.admin.cli" in done.stdout


def test_serving_importing_a_backend_breaks_the_port_rule(tmp_path: Path) -> None:
    done = planted(tmp_path, "serving/placer.py", "import agi_app.store.sqlite.store  # planted")
    assert done.returncode != 0
    assert "Only the store opens a backend: the rest knows the port BROKEN" in done.stdout


def test_one_backend_importing_another_breaks_their_independence(tmp_path: Path) -> None:
    done = planted(tmp_path, "store/memory.py", "import agi_app.store.sqlite.rows  # planted")
    assert done.returncode != 0
    assert "Store backends independent of each other BROKEN" in done.stdout


def private_imports(root: Path) -> list[str]:
    """``from agi_app.P... import _name`` where the importer is not in package P."""
    found = []
    for path in sorted(root.rglob("*.py")):
        mine = list(path.relative_to(root.parent).parts[:2])
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module is None or not module.startswith("agi_app."):
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]  # type: ignore[attr-defined]
            if private and module.split(".")[:2] != mine:
                where = path.relative_to(root.parent)
                found += [f"{where}: {module}.{name}" for name in private]
    return found


def test_no_package_imports_anothers_private_names() -> None:
    assert private_imports(REPO / "agi_app") == []


def test_a_planted_private_import_is_found(tmp_path: Path) -> None:
    copy = tmp_path / "agi_app" / "web"
    copy.mkdir(parents=True)
    (copy / "page.py").write_text("from agi_app.serving.events import _HANDLERS\n")
    assert private_imports(tmp_path / "agi_app") == [
        "agi_app/web/page.py: agi_app.serving.events._HANDLERS"
    ]
