"""A copy of the shipped configuration laid out as the sandbox mounts it, to break in tests."""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from agi_app.admin.check.check import Target
from agi_app.admin.check.rules_prompts import Sounds
from agi_app.config.settings import ScheduleSettings, Settings

REPO = Path(__file__).resolve().parents[3]
TESTBED = "/etc/callback-testbed"
SECRETS = "/etc/callback-secrets"
AMI_SECRET = "corpus-ami-secret"


@dataclass(frozen=True)
class Bed:
    root: Path

    @staticmethod
    def make(root: Path, secrets: bool = True) -> "Bed":
        shutil.copytree(REPO / "asterisk_conf", root / "etc")
        shutil.copytree(REPO / "tests" / "asterisk_conf", root / "testbed")
        (root / "secrets").mkdir()
        (root / "extra-sounds").mkdir()
        if secrets:  # as docker/sandbox writes them
            for account in ("callback", "tests"):
                (root / "secrets" / f"{account}.conf").write_text(f"secret = {AMI_SECRET}\n")
            for agent in ("agent1", "agent2", "agent3"):
                (root / "secrets" / f"sip-{agent}.conf").write_text("password = not-in-git\n")
        return Bed(root)

    def path(self, name: str) -> Path:
        """A file as the configuration names it: relative to /etc/asterisk, or absolute."""
        for prefix, directory in ((TESTBED, "testbed"), (SECRETS, "secrets")):
            if name.startswith(prefix + "/"):
                return self.root / directory / name[len(prefix) + 1 :]
        return self.root / "etc" / name

    def replace(self, name: str, old: str, new: str) -> None:
        text = self.path(name).read_text()
        assert text.count(old) == 1, f"{old!r} must occur once in {name}"
        self.path(name).write_text(text.replace(old, new))

    def append(self, name: str, text: str) -> None:
        with self.path(name).open("a") as file:
            file.write(text)

    def add_sound(self, name: str) -> None:
        path = self.root / "extra-sounds" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")

    def line_of(self, name: str, marker: str) -> int:
        """The line holding ``marker`` (``marker@N``: the Nth such line, else the only one)."""
        text, _, nth = marker.rpartition("@") if "@" in marker else (marker, "", "")
        lines = [
            n for n, line in enumerate(self.path(name).read_text().splitlines(), 1) if text in line
        ]
        if nth:
            return lines[int(nth) - 1]
        assert len(lines) == 1, f"{text!r} must be on exactly one line of {name}: {lines}"
        return lines[0]

    def resolve(self, expected: str) -> str:
        """``FILE:{marker}`` as FILE:LINE; <sounds>, <extra>, <placeholder>: the directories."""
        text = expected.replace("<sounds>", str(REPO / "sounds"))
        text = text.replace("<placeholder>", str(REPO / "sounds" / "placeholder"))
        text = text.replace("<extra>", str(self.root / "extra-sounds"))
        return re.sub(
            r"([\w./-]+):\{([^}]+)\}",
            lambda m: f"{m.group(1)}:{self.line_of(m.group(1), m.group(2))}",
            text,
        )

    @property
    def target(self) -> Target:
        sounds = Sounds(
            (REPO / "sounds", self.root / "extra-sounds"),
            REPO / "sounds" / "placeholder",
            REPO / "sounds",  # its es/ is the test bed's Spanish (5040, 5041)
        )
        mounts = {TESTBED: self.root / "testbed", SECRETS: self.root / "secrets"}
        return Target(self.root / "etc", sounds, mounts)


def settings(**changes: object) -> Settings:
    """The service's settings the test bed runs with (tests/asterisk_conf's 5011 names the
    schedule "office")."""
    values: dict[str, object] = {
        "agi_host": "127.0.0.1",
        "agi_port": 4573,
        "ami_host": "127.0.0.1",
        "ami_port": 5038,
        "ami_username": "callback",
        "ami_secret": AMI_SECRET,
        "schedules": {"office": ScheduleSettings(timezone="UTC", hours={"mon": "09:00-17:00"})},
    }
    values.update(changes)
    return Settings.model_validate(values)
