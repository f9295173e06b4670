"""The wheel an admin installs: built with `python -m build`, installed by pip into a fresh
venv, its console script run, the unit file, example settings and web pages inside it."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGED = [
    "agi_app/app/deploy/agi-callback.service",
    "agi_app/app/deploy/callback.toml.example",
    "agi_app/web/static/live.html",
    "agi_app/web/static/agents.html",
    "agi_app/web/static/session.js",
    "agi_app/web/static/app.css",
]


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ and *.egg-info/ where it builds.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copy(REPO / "LICENSE", source)
    shutil.copytree(
        REPO / "agi_app", source / "agi_app", ignore=shutil.ignore_patterns("__pycache__")
    )
    run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("agi_callback-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert [p for p in PACKAGED if p not in names] == []
    # The licence text travels with the code (PEP 639: setuptools takes LICENSE by default).
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert zipfile.ZipFile(wheel).read(licence) == (REPO / "LICENSE").read_bytes()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin/python", "-m", "pip", "install", "-q", wheel)
    usage = run(venv / "bin/agi-callback", "--help", cwd=tmp_path)
    assert "agi-callback serve" in usage and "{serve,list," in usage
    # Installed where an admin finds it, the very file that was tested here.
    unit = run(
        venv / "bin/python", "-c",
        "from importlib.resources import files;"
        "print(files('agi_app.app.deploy').joinpath('agi-callback.service'), end='')",
        cwd=tmp_path,
    )  # fmt: skip
    assert unit.startswith(str(venv))
    assert Path(unit).read_text() == (REPO / "agi_app/app/deploy/agi-callback.service").read_text()

    # A SQLite-only site has no PostgreSQL driver; a store_url naming PostgreSQL says which
    # extra installs it, in one line.
    assert "psycopg" not in run(venv / "bin/python", "-m", "pip", "list", cwd=tmp_path)
    refused = subprocess.run(
        [str(venv / "bin/agi-callback"), "list"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "CALLBACK_STORE_URL": "postgresql://callback@/callbacks"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines() == [
        "agi-callback list: store_url names PostgreSQL, but its driver is not installed"
        " (psycopg): pip install 'agi-callback[postgresql]'"
    ]
