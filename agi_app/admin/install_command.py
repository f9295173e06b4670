"""``agi-callback install-asterisk-config CONFIG_DIR``: the Callback component added to an
existing Asterisk configuration (see docs/tutorials/add-to-asterisk.md).

It writes its own files (the component's dialplan, the FastAGI address, the AMI account, the
prompts and the placeholders' silent sounds; ``amd.conf``, which app_amd needs, when there is
none: one that exists is the admin's and kept as it is) and adds one ``#include`` line to
``extensions.conf`` (and to ``manager.conf`` unless it includes ``manager.d/*.conf``, as
Debian's does); no other line of the admin's is touched. Run twice, the second run changes
nothing and says so. Queues and flows stay the admin's: docs/tutorials/add-to-asterisk.md
shows what to add.
"""

import argparse
import re
import sys
from pathlib import Path

from agi_app.admin.install.apply import apply, outcomes, report
from agi_app.admin.install.plan import AMD_CONF, Options, default_sounds_dir, make_plan
from agi_app.admin.install.text import InstallError
from agi_app.config.settings import Settings

COMMAND = "install-asterisk-config"
_DEFAULTS = {
    "agi_host": "127.0.0.1",
    "agi_port": 4573,
    "ami_username": "callback",
    "ami_secret_file": Path("/etc/agi-callback/ami-secret"),
}
_ANY_ADDRESS = frozenset({"0.0.0.0", "::", "[::]"})  # a bind address Asterisk cannot dial


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    inst = commands.add_parser(COMMAND, help="add the component to an Asterisk configuration")
    inst.add_argument("config_dir", type=Path, help="Asterisk's configuration, e.g. /etc/asterisk")
    inst.add_argument(
        "--sounds-dir",
        type=Path,
        help="Asterisk's sounds directory (default: astdatadir of CONFIG_DIR/asterisk.conf"
        " + /sounds)",
    )
    # Unset, these three and --ami-secret-file come from --config's settings, so that the
    # component and the service agree; else from the defaults shown.
    inst.add_argument("--agi-host", help="where the service listens (default 127.0.0.1)")
    inst.add_argument("--agi-port", type=int, help="its FastAGI port (default 4573)")
    inst.add_argument("--ami-username", help="the service's AMI account (default callback)")
    inst.add_argument(
        "--ami-permit",
        default="127.0.0.1",
        help="address or network the service connects to AMI from (default 127.0.0.1)",
    )
    inst.add_argument(
        "--ami-secret-file",
        type=Path,
        help="the AMI secret the service reads (CALLBACK_AMI_SECRET_FILE); made, with a "
        "random secret, if absent (default /etc/agi-callback/ami-secret)",
    )
    inst.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")


def _with_settings(args: argparse.Namespace, settings: Settings | None) -> argparse.Namespace:
    """The flags not given, from the service's settings (when --config names them)."""
    bound = settings.agi_host if settings is not None else ""
    given = {
        "agi_host": bound if bound and bound not in _ANY_ADDRESS else None,
        "agi_port": settings.agi_port if settings is not None else None,
        "ami_username": settings.ami_username if settings is not None else None,
        "ami_secret_file": settings.ami_secret_file if settings is not None else None,
    }
    filled = {
        name: getattr(args, name) or given[name] or default for name, default in _DEFAULTS.items()
    }
    return argparse.Namespace(**{**vars(args), **filled})


def _options(args: argparse.Namespace) -> Options:
    if not re.fullmatch(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]", args.agi_host):
        raise InstallError(f"--agi-host {args.agi_host!r}: a host name or address")
    if not 1 <= args.agi_port <= 65535:
        raise InstallError(f"--agi-port {args.agi_port}: 1..65535")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.ami_username):
        raise InstallError(f"--ami-username {args.ami_username!r}: letters, digits, _ . -")
    config_dir: Path = args.config_dir
    if not config_dir.is_dir():
        raise InstallError(f"{config_dir}: not a directory")
    return Options(
        config_dir=config_dir,
        sounds_dir=args.sounds_dir or default_sounds_dir(config_dir),
        agi_host=args.agi_host,
        agi_port=args.agi_port,
        ami_username=args.ami_username,
        ami_permit=args.ami_permit,
        ami_secret_file=args.ami_secret_file,
    )


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    args = _with_settings(args, settings)
    try:
        options = _options(args)
        plan = make_plan(options)
        done = outcomes(plan) if args.dry_run else apply(plan)
    except (InstallError, OSError) as exc:
        print(f"agi-callback {COMMAND}: {exc}", file=sys.stderr)
        return 1
    for line in report(done, args.dry_run, plan.kept):
        print(line)
    for note in plan.notes:
        print(f"warning: {note}")
    if all(o.state == "unchanged" for o in done):
        print(f"Nothing to change: the component is already installed in {options.config_dir}.")
        return 0
    if not args.dry_run:
        amd = options.config_dir / AMD_CONF
        new_amd = any(o.write.path == amd and o.state == "created" for o in done)
        commands = ["module reload manager", "queue reload all", "dialplan reload"]
        if new_amd:  # without amd.conf Asterisk declined app_amd at its start: load it now
            commands.append("module load app_amd.so")
        quoted = [f'"{c}"' for c in commands]
        print(
            "Next (docs/tutorials/add-to-asterisk.md): the callback key in your queues and"
            f" flows, agi-callback check, then asterisk -rx for {', '.join(quoted[:-1])} and"
            f" {quoted[-1]}. The service needs CALLBACK_AMI_USERNAME={options.ami_username},"
            f" CALLBACK_AMI_SECRET_FILE={options.ami_secret_file} and"
            f" CALLBACK_AGI_PORT={options.agi_port}."
        )
    return 0
