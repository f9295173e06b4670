"""Reading and editing Asterisk configuration text without touching what the admin wrote.

Every edit here adds one ``#include`` line and changes nothing else: the admin's lines keep
their bytes (texts are decoded with surrogateescape, so any encoding round-trips) and their
line endings. The only other change is a newline at the end of a last line that had none,
where the added line follows it.
"""

import fnmatch
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

_HEADER = re.compile(r"\s*\[([^\]]+)\]")
_DIRECTIVE = re.compile(r'#(include|tryinclude)\s+[<"]?([^<>"]*?)[>"]?\s*')
# A name may be an advanced filter: eventfilter(name(Hangup),header(Uniqueid),...).
_ASSIGN = re.compile(r"\s*([\w(),-]+)\s*=>?\s*(.*)")


class InstallError(Exception):
    """A configuration the installer cannot add to without changing the admin's lines."""


@dataclass(frozen=True)
class Line:
    index: int
    content: str  # what Asterisk reads: comments and surrounding blanks dropped
    header: str | None  # the section a "[name]" line opens


def lines(text: str) -> Iterator[Line]:
    """Each line with what Asterisk reads of it (";" comments, ";-- --;" blocks dropped)."""
    depth = 0
    for index, raw in enumerate(text.splitlines(keepends=True)):
        kept, depth = _uncommented(raw.rstrip("\r\n"), depth)
        content = kept.strip()
        header = _HEADER.match(content)
        yield Line(index, content, header.group(1).strip() if header else None)


def _uncommented(body: str, depth: int) -> tuple[str, int]:
    r"""The line without its comments, and the block comment depth after it: as Asterisk's
    config.c reads it, "\;" is a literal ";", ";--" opens a block (nested), "--;" closes."""
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith(";--", i) and not body.startswith(";---", i):
            depth, i = depth + 1, i + 3
        elif depth and body.startswith("--;", i):
            depth, i = depth - 1, i + 3
        elif depth:
            i += 1
        elif body.startswith("\\;", i):
            out.append(";")
            i += 2
        elif body[i] == ";":
            break
        else:
            out.append(body[i])
            i += 1
    return "".join(out), depth


def include_targets(text: str) -> list[str]:
    """The files named by #include and #tryinclude lines (commented-out ones do not count)."""
    found = []
    for line in lines(text):
        if match := _DIRECTIVE.fullmatch(line.content):
            found.append(match.group(2).strip())
    return found


def includes(text: str, name: str, config_dir: str) -> bool:
    """Whether an #include names ``name`` (relative to the config dir), by path or pattern."""
    for target in include_targets(text):
        relative = target.removeprefix(config_dir.rstrip("/") + "/")
        if relative == name or fnmatch.fnmatchcase(name, relative):
            return True
    return False


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _insert(text: str, index: int, name: str) -> str:
    """``text`` with the #include line before line ``index`` (or at the end)."""
    raw = text.splitlines(keepends=True)
    newline = _newline(text)
    if index >= len(raw) and raw and not raw[-1].endswith(("\n", "\r")):
        raw[-1] += newline
    raw.insert(index, f'#include "{name}"{newline}')
    return "".join(raw)


def with_include_at_end(text: str, name: str) -> str:
    return _insert(text, len(text.splitlines()), name)


def with_include_after_globals(text: str, name: str) -> str:
    """The #include at the end of the first [globals] section: after its last setting, so
    that the included file's "[globals](+)" finds the section and the admin's next section
    keeps its own header right after (nothing of theirs falls into an included context)."""
    all_lines = list(lines(text))
    start = next((ln.index for ln in all_lines if ln.header == "globals"), None)
    if start is None:
        raise InstallError(
            "has no [globals] section: the component adds its defaults to it with "
            "[globals](+). Add a line [globals] (the section may stay empty) and run again"
        )
    last = start
    for line in all_lines[start + 1 :]:
        if line.header is not None:
            break
        if line.content:
            last = line.index
    return _insert(text, last + 1, name)


def sections(text: str, *, keep_case: bool = False) -> dict[str, list[tuple[str, str]]]:
    """Each section's settings in order (name lower-cased unless ``keep_case``: an event
    filter's event names are case-sensitive), the first section of a name."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in lines(text):
        if line.header is not None:
            current = None if line.header in out else out.setdefault(line.header, [])
        elif current is not None and (match := _ASSIGN.fullmatch(line.content)):
            name = match.group(1)
            current.append((name if keep_case else name.lower(), match.group(2).strip()))
    return out


def setting(text: str, section: str, name: str) -> str | None:
    values = [v for k, v in sections(text).get(section, []) if k == name]
    return values[-1] if values else None


def headers(text: str) -> list[str]:
    return [line.header for line in lines(text) if line.header is not None]


def ami_account(shipped_manager: str, username: str, permit: str, secret: str) -> str:
    """The service's AMI account: the rights of the shipped one (asterisk_conf/manager.conf
    [callback], one source for them), with this installation's permit and secret."""
    shipped = sections(shipped_manager, keep_case=True)["callback"]
    kept = [(k, v) for k, v in shipped if k.lower() != "permit"]
    body = [f"{k} = {v}" for k, v in kept if k.lower() == "deny"]
    body.append(f"permit = {permit}")
    body.append(f"secret = {secret}")
    body += [f"{k} = {v}".rstrip() for k, v in kept if k.lower() != "deny"]
    return (
        "; The agi-callback service's AMI account, written by\n"
        "; `agi-callback install-asterisk-config`: run it again rather than editing this file.\n"
        "; It may only do what serving needs (see the read and write classes); nothing that\n"
        "; changes Asterisk itself; and it is sent only the events serving acts on (eventfilter).\n"
        f"[{username}]\n" + "".join(f"{line}\n" for line in body)
    )


def agi_globals(host: str, port: int) -> str:
    url = f"agi://{host}:{port}"
    return (
        "; Written by `agi-callback install-asterisk-config`: run it again rather than\n"
        "; editing this file. The Callback component (extensions_callback.conf, shipped\n"
        "; unchanged) and where this installation's service listens (FastAGI).\n"
        '#include "extensions_callback.conf"\n'
        "\n"
        "[globals](+)\n"
        f"CALLBACK_AGI = {url}/callback\n"
        f"CALLBACK_STATUS_AGI = {url}/callback-status\n"
        f"CALLBACK_OFFER_AGI = {url}/callback-offer\n"
    )


def permit_value(network: str) -> str:
    """An address or network as manager.conf's permit wants it (ADDRESS/MASK for IPv4)."""
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError as exc:
        raise InstallError(f"--ami-permit {network!r}: {exc}") from exc
    if isinstance(net, ipaddress.IPv4Network):
        return f"{net.network_address}/{net.netmask}"
    return net.with_prefixlen


def check_secret(secret: str) -> str:
    """A secret manager.conf can hold: printable, no blanks, no ";" (a comment)."""
    if not secret or not re.fullmatch(r"[!-~]+", secret) or ";" in secret or '"' in secret:
        raise InstallError("the AMI secret must be printable ASCII without blanks, ';' or '\"'")
    return secret


# What app_queue plays to every waiting caller, placeholders too (queues.conf keys).
QUEUE_PROMPT_KEYS = (
    "periodic-announce",
    "announce",
    "queue-youarenext",
    "queue-thereare",
    "queue-callswaiting",
    "queue-holdtime",
    "queue-minutes",
    "queue-minute",
    "queue-seconds",
    "queue-thankyou",
    "queue-reporthold",
)


def queue_prompts(queues_conf: str) -> list[str]:
    """Every prompt a queue of queues.conf names for its waiting callers, in file order."""
    found: list[str] = []
    for _, settings in sections(queues_conf).items():
        for key, value in settings:
            if key in QUEUE_PROMPT_KEYS:
                for prompt in re.split(r"[,|]", value):
                    if prompt.strip() and prompt.strip() not in found:
                        found.append(prompt.strip())
    return found


def safe_prompt(prompt: str) -> bool:
    """A relative sound name a silent twin can be written for (no "..", no absolute path)."""
    return bool(re.fullmatch(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*", prompt)) and ".." not in prompt
