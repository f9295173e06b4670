"""What installing the component into an Asterisk configuration writes, decided before
anything is written (so that a refusal leaves every file as it was, and --dry-run shows it).

The component's files come from the package (agi_app/admin/asterisk_files/: in the repository
links to asterisk_conf/ and sounds/, in a wheel their copies), so the sandbox's test bed and
an installation use the same bytes.
"""

import os
import secrets
from dataclasses import dataclass, field
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

from agi_app.admin.install import text
from agi_app.admin.install.paths import absolute_prompt_files, inside
from agi_app.admin.install.text import InstallError

COMPONENT = "extensions_callback.conf"
WRAPPER = "extensions_agi_callback.conf"
ACCOUNT_IN_DIR = "manager.d/agi-callback.conf"  # Debian's manager.conf includes manager.d/*.conf
ACCOUNT_FILE = "manager_agi_callback.conf"
AMD_CONF = "amd.conf"  # app_amd declines to load without it: written when absent, else kept
PROMPTS = "callback"  # under the sounds dir, no language: found for every caller's language
SILENT = "callback-placeholder"  # the language placeholders wait with
# Modules the component's dialplan and the service's AMI actions need (modules.conf with
# autoload = no must load them).
MODULES = (
    "pbx_config.so",
    "res_agi.so",
    "app_queue.so",
    "app_stack.so",
    "app_playback.so",
    "app_dial.so",
    "app_userevent.so",
    "app_amd.so",
    "app_waitforsilence.so",
    "app_read.so",
    "app_record.so",
    "func_base64.so",
    "func_db.so",
    "func_channel.so",
    "func_callerid.so",
    "func_strings.so",
    "func_cut.so",
    "func_logic.so",
    "res_pjsip_header_funcs.so",
)


@dataclass(frozen=True)
class Options:
    config_dir: Path
    sounds_dir: Path
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    ami_username: str = "callback"
    ami_permit: str = "127.0.0.1"
    ami_secret_file: Path = Path("/etc/agi-callback/ami-secret")


@dataclass(frozen=True)
class Write:
    """One file made to hold ``data``; ``label`` groups the report's lines."""

    path: Path
    data: bytes
    mode: int
    owner_of: Path | None  # as root, the new file gets this file's owner and group
    label: str
    edit: str = ""  # an admin's file: the line added, as the report says it
    bulk: bool = False  # one of many (sounds): reported as a count under its label


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # present, so the admin's: never written


def package_files() -> Traversable:
    return files("agi_app.admin") / "asterisk_files"


def default_sounds_dir(config_dir: Path) -> Path:
    """astdatadir of the configuration's asterisk.conf, plus /sounds (Asterisk's default
    /var/lib/asterisk when unset)."""
    conf = config_dir / "asterisk.conf"
    data = text.setting(_read(conf), "directories", "astdatadir") if conf.is_file() else None
    return Path(data or "/var/lib/asterisk") / "sounds"


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _encode(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _admin_file(config_dir: Path, name: str) -> tuple[Path, str]:
    path = config_dir / name
    inside(path, config_dir, "the configuration")  # before anything of it is read
    if not path.is_file():
        raise InstallError(f"{path}: not found (is {config_dir} Asterisk's configuration?)")
    return path.resolve(), _read(path)


def make_plan(options: Options) -> Plan:
    plan = Plan()
    _dialplan(options, plan)
    _amd(options, plan)
    _manager(options, plan)
    _sounds(options, plan)
    _modules(options, plan)
    trees = (
        (options.config_dir, "the configuration"),
        (options.sounds_dir, "the sounds directory"),
    )
    for write in plan.writes:  # nothing written through a link out of its tree
        for root, what in trees:
            if write.path.is_relative_to(root):
                inside(write.path, root, what)
                break
    return plan


def _dialplan(options: Options, plan: Plan) -> None:
    conf = options.config_dir
    extensions, current = _admin_file(conf, "extensions.conf")
    mode = extensions.stat().st_mode & 0o777
    component = (package_files() / COMPONENT).read_bytes()
    wrapper = _encode(text.agi_globals(options.agi_host, options.agi_port))
    plan.writes.append(Write(conf / COMPONENT, component, mode, extensions, COMPONENT))
    plan.writes.append(Write(conf / WRAPPER, wrapper, mode, extensions, WRAPPER))
    where = str(conf)
    if text.includes(current, WRAPPER, where):
        return
    if text.includes(current, COMPONENT, where):
        plan.notes.append(
            f"{extensions} includes {COMPONENT} itself, so {WRAPPER} (the FastAGI address) "
            f'is not used: replace that line with #include "{WRAPPER}"'
        )
        return
    try:
        edited = text.with_include_after_globals(current, WRAPPER)
    except InstallError as exc:
        raise InstallError(f"{extensions} {exc}") from exc
    line = _added_line(current, edited)
    plan.writes.append(
        Write(extensions, _encode(edited), mode, extensions, "extensions.conf",
              f'#include "{WRAPPER}" (line {line})')
    )  # fmt: skip


def _amd(options: Options, plan: Plan) -> None:
    """amd.conf, which app_amd needs to load at all: the shipped one (app_amd's defaults; the
    component passes its own values to AMD()) when absent, with the owner, group and mode of
    the component's dialplan; an existing one is the admin's, kept as it is."""
    path = options.config_dir / AMD_CONF
    if path.is_symlink() or path.exists():  # a link, even a broken one, is not replaced
        plan.kept.append(path)
        if not path.exists():
            plan.notes.append(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist:"
                " app_amd does not load without amd.conf, so AMD() fails"
            )
        return
    component = next(w for w in plan.writes if w.path == options.config_dir / COMPONENT)
    shipped = (package_files() / AMD_CONF).read_bytes()
    plan.writes.append(Write(path, shipped, component.mode, component.owner_of, AMD_CONF))


def _added_line(before: str, after: str) -> int:
    old, new = before.splitlines(), after.splitlines()
    return next((i + 1 for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                len(new))  # fmt: skip


def _manager(options: Options, plan: Plan) -> None:
    conf = options.config_dir
    manager, current = _admin_file(conf, "manager.conf")
    if (text.setting(current, "general", "enabled") or "no").lower() not in ("yes", "true", "1"):
        plan.notes.append(f"{manager}: AMI is not enabled: set enabled = yes in [general]")
    in_dir = text.includes(current, ACCOUNT_IN_DIR, str(conf))
    account = conf / (ACCOUNT_IN_DIR if in_dir else ACCOUNT_FILE)
    _refuse_taken_username(options.ami_username, [manager, *sorted(conf.glob("manager.d/*"))],
                           account)  # fmt: skip
    shipped = (package_files() / "manager.conf").read_text()
    secret, secret_write = _secret(options.ami_secret_file)
    body = text.ami_account(
        shipped, options.ami_username, text.permit_value(options.ami_permit), secret
    )
    mode = manager.stat().st_mode & 0o640  # it holds a secret: never world-readable
    plan.writes.append(Write(account, _encode(body), mode, manager, "AMI account"))
    if secret_write:
        plan.writes.append(secret_write)
    if not in_dir and not text.includes(current, ACCOUNT_FILE, str(conf)):
        edited = text.with_include_at_end(current, ACCOUNT_FILE)
        line = _added_line(current, edited)
        plan.writes.append(
            Write(manager, _encode(edited), manager.stat().st_mode & 0o777, manager,
                  "manager.conf", f'#include "{ACCOUNT_FILE}" (line {line})')
        )  # fmt: skip


def _refuse_taken_username(username: str, candidates: list[Path], ours: Path) -> None:
    for path in candidates:
        theirs = path.is_file() and path.resolve() != ours.resolve()
        if theirs and username in text.headers(_read(path)):
            raise InstallError(
                f"{path} already has an AMI account [{username}]: "
                "choose another with --ami-username"
            )


def _secret(path: Path) -> tuple[str, Write | None]:
    """The secret the service reads (CALLBACK_AMI_SECRET_FILE): kept if the file exists,
    else a new random one written there (0600)."""
    if path.exists():
        try:
            return text.check_secret(path.read_text().strip()), None
        except OSError as exc:
            raise InstallError(f"cannot read the AMI secret file {path}: {exc}") from exc
        except InstallError as exc:
            raise InstallError(f"{path}: {exc}") from exc
    secret = secrets.token_urlsafe(24)
    return secret, Write(path, f"{secret}\n".encode(), 0o600, None, "AMI secret file")


def _sounds(options: Options, plan: Plan) -> None:
    sounds = package_files() / "sounds"
    # English without a language; the others where Asterisk looks: sounds/<language>/callback.
    folders = [(sounds / PROMPTS, options.sounds_dir / PROMPTS)]
    for language in sorted(sounds.iterdir(), key=lambda t: t.name):
        if language.name not in (PROMPTS, "placeholder") and (language / PROMPTS).is_dir():
            folders.append((language / PROMPTS, options.sounds_dir / language.name / PROMPTS))
    for source, prompts in folders:
        for item in sorted(source.iterdir(), key=lambda t: t.name):
            if item.name.endswith(".wav"):
                plan.writes.append(
                    Write(prompts / item.name, item.read_bytes(), 0o644, None,
                          f"prompts in {prompts}", bulk=True)
                )  # fmt: skip
    silent = options.sounds_dir / SILENT
    twins = {}
    for relative, item in _walk(sounds / "placeholder", ""):
        twins[relative.removesuffix(".wav")] = item.read_bytes()
    label = f"silent placeholder sounds in {silent}"
    for relative, data in sorted(twins.items()):
        plan.writes.append(Write(silent / f"{relative}.wav", data, 0o644, None, label, bulk=True))
    _admin_queue_twins(options, plan, twins, silent, label)


def _admin_queue_twins(
    options: Options, plan: Plan, twins: dict[str, bytes], silent: Path, label: str
) -> None:
    """A silent twin for every prompt the admin's queues play to waiting callers, so that
    placeholders wait in silence there too (their language falls back to the real prompt)."""
    queues = options.config_dir / "queues.conf"
    if not queues.is_file():
        return
    quiet = twins["queue-thankyou"]  # any twin: 20 ms of silence
    for prompt in text.queue_prompts(_read(queues)):
        if prompt in twins:
            continue
        if prompt.startswith("/"):  # Asterisk plays /dir/name from /dir/name.<format>
            found = "" if absolute_prompt_files(prompt) else f" (and no file {prompt}.* exists)"
            plan.notes.append(
                f"{queues}: the prompt {prompt} is an absolute path{found}: it gets no silent "
                "twin (only relative names do), so placeholders waiting in its queue hear it"
            )
            continue
        if not text.safe_prompt(prompt):
            plan.notes.append(
                f"{queues}: the prompt {prompt!r} gets no silent twin (only relative names "
                "do): placeholders waiting in its queue hear it played"
            )
            continue
        if any(silent.glob(f"{prompt}.*")):
            continue
        plan.writes.append(Write(silent / f"{prompt}.wav", quiet, 0o644, None, label, bulk=True))


def _walk(folder: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    found = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            found += _walk(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".wav"):
            found.append((f"{prefix}{item.name}", item))
    return found


def _modules(options: Options, plan: Plan) -> None:
    path = options.config_dir / "modules.conf"
    if not path.is_file():
        return
    current = _read(path)
    if (text.setting(current, "modules", "autoload") or "no").lower() in ("yes", "true", "1"):
        return
    loaded = {v for k, v in text.sections(current).get("modules", []) if k == "load"}
    missing = [m for m in MODULES if m not in loaded]
    if missing:
        plan.notes.append(
            f"{path}: autoload is off and these modules the component needs are not "
            f"loaded: {', '.join(missing)}"
        )
