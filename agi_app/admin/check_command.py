"""``agi-callback check [CONFIG_DIR]``: the mistakes in an Asterisk configuration that can be
seen before ``dialplan reload``, each with its file:line, against this service's settings.

Exit status 1 when there is an error; warnings alone leave it 0; 2 for unusable arguments.
"""

import argparse
from pathlib import Path

from agi_app.admin.check.check import Target, check
from agi_app.admin.check.reading import Reader
from agi_app.admin.check.report import exit_code, render
from agi_app.admin.check.rules_prompts import Sounds
from agi_app.config.settings import Settings

DEFAULT_DATA_DIR = "/usr/share/asterisk"  # asterisk.conf's astdatadir when it names none
PLACEHOLDER_LANGUAGE = "callback-placeholder"  # [callback-placeholder] sets CHANNEL(language)


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser(
        "check", help="find mistakes in an Asterisk configuration before reloading it"
    )
    parser.add_argument("config_dir", nargs="?", default="/etc/asterisk", metavar="CONFIG_DIR")
    parser.add_argument(
        "--sounds-dir",
        metavar="DIR",
        help="Asterisk's sounds directory, as install-asterisk-config takes it (default:"
        " astdatadir/sounds, astdatadir from asterisk.conf): the prompts are looked for in"
        f" DIR/en and DIR, the silent twins in DIR/{PLACEHOLDER_LANGUAGE}, the prompts of each"
        " language a flow sets in DIR/LANGUAGE",
    )
    parser.add_argument(
        "--sounds",
        action="append",
        metavar="DIR",
        help="a sounds directory of the callers' language (repeatable; default:"
        " SOUNDS/en and SOUNDS, SOUNDS being --sounds-dir or astdatadir/sounds)",
    )
    parser.add_argument(
        "--placeholder-sounds",
        metavar="DIR",
        help=f"the silent twins (default: SOUNDS/{PLACEHOLDER_LANGUAGE})",
    )
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="PATH=DIR",
        help="read the files an absolute #include names under PATH from DIR instead",
    )


def target_of(args: argparse.Namespace) -> Target:
    config_dir = Path(args.config_dir)
    if not config_dir.is_dir():  # a mistyped path is not "a configuration with no files"
        raise ValueError(f"{config_dir} is not a directory")
    mounts: dict[str, Path] = {}
    for mount in args.mount:
        path, sep, directory = mount.partition("=")
        if not sep or not path.startswith("/"):
            raise ValueError(f"--mount {mount!r} is not /PATH=DIR")
        mounts[path] = Path(directory)
    if args.sounds_dir:
        sounds_dir = Path(args.sounds_dir)
    else:
        sounds_dir = Path(data_dir(Reader(config_dir, mounts))) / "sounds"
    # Asterisk looks in sounds/<language>/ and then in sounds/ itself.
    default = (sounds_dir / "en", sounds_dir)
    sounds = tuple(Path(d) for d in args.sounds) if args.sounds else default
    placeholder = Path(args.placeholder_sounds or sounds_dir / PLACEHOLDER_LANGUAGE)
    return Target(config_dir, Sounds(sounds, placeholder, sounds_dir), mounts)


def data_dir(reader: Reader) -> str:
    """asterisk.conf's astdatadir (Debian marks [directories] a template: it counts)."""
    conf = reader.read("asterisk.conf")
    for section in reversed(conf.sections):
        entry = conf.value(section, "astdatadir") if section.name == "directories" else None
        if entry is not None:
            return entry.value
    return DEFAULT_DATA_DIR


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        target = target_of(args)
    except ValueError as exc:
        print(f"agi-callback check: {exc}")
        return 2
    found = check(target, settings)
    print(render(found, str(target.config_dir)))
    return exit_code(found)
