"""The console script ``agi-callback``: run the service, look at and steer callbacks.

agi-callback serve                      the service, in the foreground
agi-callback list [--all] [--json]      callbacks not finished yet (or all)
agi-callback show ID                    one callback and its event log
agi-callback cancel ID [--by NAME]      through the running service (needs the web token)
agi-callback reprioritize ID LEVEL [--by NAME]
agi-callback request NUMBER --queue Q [--priority N] [--at TIME] [--direct]
agi-callback report [--format table|csv|json] [--since YYYY-MM-DD]
agi-callback audit --day YYYY-MM-DD --queue Q [--queue-log PATH] [--since TIME]
                   [--format table|json]
agi-callback webhooks [--attempts N] [--json]   each webhook's cursor, backlog, attempts
agi-callback purge                      personal data past retention_days removed
agi-callback forget NUMBER              one person's data erased (needs an API token)
agi-callback install-asterisk-config CONFIG_DIR [--sounds-dir DIR] [--agi-host H]
                   [--agi-port P] [--ami-secret-file F] [--dry-run]   add the component
agi-callback check [CONFIG_DIR] [--sounds DIR] [--placeholder-sounds DIR] [--mount PATH=DIR]
                   mistakes in an Asterisk configuration, before reload (exit 1 on errors)
agi-callback --version

Every command takes --config PATH, the settings file (else CALLBACK_CONFIG, else
./callback.toml when present). Settings that are wrong: one line each on stderr, exit 2.
"""

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import date, datetime, time, timedelta, tzinfo
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import uvloop

from agi_app.admin import check_command as cli_check
from agi_app.admin import do_not_call_command as cli_do_not_call
from agi_app.admin import install_command as cli_install
from agi_app.admin import privacy_command as cli_privacy
from agi_app.admin import request_command as cli_request
from agi_app.admin.audit_output import audit_json, audit_table
from agi_app.admin.service_client import Unreachable, post_json
from agi_app.app.log_format import report_refused, setup_logging
from agi_app.app.sd_notify import notify
from agi_app.app.service import Service
from agi_app.config.file import (
    SettingsError,
    SettingsSource,
    load_settings,
    settings_source,
    startup_problems,
)
from agi_app.config.settings import Settings
from agi_app.domain.audit import audit, explain_placements
from agi_app.domain.errors import StoreUnavailable
from agi_app.domain.json_values import jsonable
from agi_app.domain.report import ReportRow, day_of, report
from agi_app.domain.request import CallbackRequest, State
from agi_app.pbx.queue_log import DEFAULT_PATH as DEFAULT_QUEUE_LOG
from agi_app.pbx.queue_log import read_queue_log
from agi_app.store.open import StoreConfig, open_store
from agi_app.store.port import RequestStore
from agi_app.webhooks.status import status_text, webhook_status

log = logging.getLogger(__name__)


def _row(request: CallbackRequest) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in asdict(request).items()}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def _serve(settings: Settings, source: SettingsSource) -> int:
    """Until SIGINT or SIGTERM (0), or until a task serving needs dies (1). SIGTERM: FastAGI
    takes no new session and those in flight finish (FastAgiServer.stop), waiting requests stay
    stored. SIGHUP: the settings file is read again and what may change is applied
    (agi_app/config/reload.py). systemd hears READY=1 once FastAGI listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Until it is up there is nothing to reload; SIGHUP's default would kill the process.
    loop.add_signal_handler(signal.SIGHUP, log.warning, "SIGHUP before the service is up: ignored")
    async with Service(settings) as service:
        assert service.failed is not None
        loop.add_signal_handler(signal.SIGHUP, _reload, service, source)
        notify("READY=1")
        stopped: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
        failed: asyncio.Future[object] = service.failed  # type: ignore[assignment]
        await asyncio.wait([stopped, failed], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        notify("STOPPING=1")
        loop.add_signal_handler(signal.SIGHUP, log.warning, "SIGHUP while stopping: ignored")
        return 1 if service.failed.done() else 0


def _run_serve(settings: Settings, source: SettingsSource) -> int:
    """_serve on the event loop the settings name (event_loop): uvloop by default."""
    if settings.event_loop == "uvloop":
        return uvloop.run(_serve(settings, source))
    return asyncio.run(_serve(settings, source))


def _reload(service: Service, source: SettingsSource) -> None:
    notify("RELOADING=1")
    try:
        service.reload(load_settings(source))
    except SettingsError as exc:  # unreadable TOML or an invalid value: nothing is applied
        log.error("reload refused, the running settings stay: %s", exc)
    finally:
        notify("READY=1")


async def _read(settings: Settings, args: argparse.Namespace) -> int:
    # A command that only reads never creates a store: a wrong path must not look empty.
    async with open_store(StoreConfig.of(settings), existing=True) as store:
        if args.command == "show":
            request = await store.get(args.id)
            if request is None:
                print(f"no callback {args.id}", file=sys.stderr)
                return 1
            logged = await store.events(args.id)
            events = [{**asdict(e), "at": e.at.isoformat()} for e in logged]
            # Why it was where it was: one line per placement, from its Placed events.
            explanation = explain_placements(logged, settings.centre_zone()[0])
            shown = {**_row(request), "events": events, "explanation": explanation}
            print(json.dumps(shown, indent=2))
            return 0
        if args.command == "audit":
            return await _audit(store, args, settings.centre_zone()[0])
        if args.command == "webhooks":
            hooks = await webhook_status(store, settings.webhooks, args.attempts)
            print(status_text(hooks, args.json))
            return 0
        if args.command == "list":
            # Not finished: waiting, and being served (the agent or the customer on the line).
            unfinished = tuple(s for s in State if s is not State.DONE)
            requests = await store.requests(*(() if args.all else unfinished))
            if args.json:
                print(json.dumps([_row(r) for r in requests], indent=2))
                return 0
            rows = [
                [
                    r.requested_at.strftime("%Y-%m-%d %H:%M:%S"),
                    r.state.value,
                    r.queue,
                    str(r.priority),
                    r.callback_number + (f" ext {r.extension}" if r.extension else ""),
                    r.caller_name,
                    str(r.call_outcome or ""),
                    r.id,
                ]
                for r in requests
            ]
            headers = ["requested at", "state", "queue", "prio", "number", "name", "outcome"]
            print(_table([*headers, "id"], rows) if rows else "no callbacks")
            return 0
        # Days are the centre's (supervisor_timezone), as on the supervisor's screen.
        zone = settings.centre_zone()[0]
        since = date.fromisoformat(args.since) if args.since else None
        requests = [
            r for r in await store.requests() if not since or day_of(r.requested_at, zone) >= since
        ]
        # The offer checks: a day's offers with that day's requests.
        checks = [c for c in await store.offer_checks() if not since or day_of(c.at, zone) >= since]
        bound = settings.customer_first_wait_bound
        _print_report(report(requests, checks, zone, customer_wait_bound_s=bound), args.format)
        return 0


async def _audit(store: RequestStore, args: argparse.Namespace, tz: tzinfo) -> int:
    """The day's offers of a queue against the ideal order, and every inversion's cause (the
    day and the times in the centre's time zone)."""
    start = datetime.combine(date.fromisoformat(args.day), time(), tz)
    end = start + timedelta(days=1)
    since = None
    if args.since:
        since = (
            datetime.fromisoformat(args.since)
            if "T" in args.since
            else datetime.combine(start.date(), time.fromisoformat(args.since))
        )
        since = since if since.tzinfo else since.replace(tzinfo=tz)
    try:
        lines = read_queue_log(Path(args.queue_log), start, end)
    except OSError as exc:
        print(f"cannot read {args.queue_log}: {exc}", file=sys.stderr)
        return 1
    wanted = [
        r
        for r in await store.requests()
        if r.queue == args.queue and r.queue_entered_at < end and r.expires_at >= start
    ]
    events = {r.id: await store.events(r.id) for r in wanted}
    found = audit(lines, wanted, events, args.queue, since=since, tz=tz)
    if args.format == "json":
        print(json.dumps(audit_json(found), indent=2))
    else:
        print(audit_table(found, tz))
    return 0


def _print_report(rows: list[ReportRow], fmt: str) -> None:
    names = [f.name for f in fields(ReportRow)]
    data = [{k: jsonable(v) for k, v in asdict(r).items()} for r in rows]
    if fmt == "json":
        print(json.dumps(data, indent=2))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=names)
        writer.writeheader()
        writer.writerows(data)
    else:
        cells = [["" if d[n] is None else str(d[n]) for n in names] for d in data]
        print(_table(names, cells) if cells else "no callbacks")


def _act(settings: Settings, request_id: str, action: str, body: dict[str, Any]) -> int:
    if settings.web_token is None:
        print("set CALLBACK_WEB_TOKEN (the service's supervisor token)", file=sys.stderr)
        return 2
    # Any supervisor token works (a named one too): the service keeps only hashes to check it.
    token = settings.web_token.get_secret_value()
    try:
        answer = post_json(settings, f"/api/callbacks/{request_id}/{action}", token, body)
    except Unreachable as exc:
        print(f"cannot reach the service at {exc.url}: {exc.reason}", file=sys.stderr)
        return 1
    if not answer.is_success:
        print(f"{action} refused ({answer.status_code}): {answer.text}", file=sys.stderr)
        return 1
    print(json.dumps(answer.json()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Every command and option of ``agi-callback`` (docs/reference/cli.md is made from it)."""
    parser = argparse.ArgumentParser(
        prog="agi-callback",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the callback service in the foreground")
    listing = commands.add_parser("list", help="callbacks not finished yet")
    listing.add_argument("--all", action="store_true", help="finished ones too")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = commands.add_parser("show", help="one callback and its event log (JSON)")
    show.add_argument("id")
    cancel = commands.add_parser("cancel", help="cancel a waiting callback")
    cancel.add_argument("id")
    cancel.add_argument("--by", default="cli", help="who did it (event log)")
    move = commands.add_parser("reprioritize", help="move a waiting callback to another level")
    move.add_argument("id")
    move.add_argument("level", type=int, choices=range(1, 11), metavar="LEVEL(1-10)")
    move.add_argument("--by", default="cli", help="who did it (event log)")
    rep = commands.add_parser("report", help="per queue and day: requests, outcomes, waits")
    rep.add_argument("--format", choices=["table", "csv", "json"], default="table")
    rep.add_argument("--since", help="first day, YYYY-MM-DD")
    aud = commands.add_parser("audit", help="a day's offers against the ideal order, inversions")
    aud.add_argument("--day", required=True, help="YYYY-MM-DD, local time")
    aud.add_argument("--queue", required=True)
    aud.add_argument("--queue-log", default=str(DEFAULT_QUEUE_LOG), help="Asterisk's queue_log")
    aud.add_argument("--since", help="only calls that entered from TIME (HH:MM[:SS] or ISO)")
    aud.add_argument("--format", choices=["table", "json"], default="table")
    hooks = commands.add_parser("webhooks", help="each webhook: cursor, pending, latest attempts")
    hooks.add_argument("--attempts", type=int, default=5, help="latest attempts shown")
    hooks.add_argument("--json", action="store_true", help="machine-readable output")
    cli_request.add_parser(commands)
    cli_privacy.add_parsers(commands)
    cli_install.add_parser(commands)
    cli_check.add_parser(commands)
    cli_do_not_call.add_parser(commands)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    for command in commands.choices.values():
        command.add_argument(
            "--config",
            metavar="PATH",
            help="the settings file (default: CALLBACK_CONFIG, else ./callback.toml if present)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # here, where a reader gone is caught, not at the exit
    except BrokenPipeError:
        # The reader went away (`agi-callback show ID | head`): stop quietly, as any Unix
        # filter does, and keep Python's flush at exit from failing again on the dead pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == cli_install.COMMAND and args.config is None:  # needs no settings
        return cli_install.run(args)
    try:
        source = settings_source(args.config)
        settings = load_settings(source)
        if args.command == "serve":
            startup_problems(settings)
    except SettingsError as exc:  # before logging is set up: nothing else is said first
        return report_refused(exc)
    # journald's form under systemd; numbers shortened (agi_app/app/log_format.py)
    setup_logging(settings.log_level, numbers=settings.log_numbers)
    if args.command == "cancel":
        return _act(settings, args.id, "cancel", {"by": args.by})
    if args.command == "reprioritize":
        return _act(settings, args.id, "priority", {"level": args.level, "by": args.by})
    if args.command == "request":
        return cli_request.run(settings, args)
    if args.command in cli_privacy.COMMANDS:
        try:
            return cli_privacy.run(settings, args)
        except StoreUnavailable as exc:
            print(f"agi-callback {args.command}: {exc.message}", file=sys.stderr)
            return 1
    if args.command == cli_do_not_call.COMMAND:
        try:
            return cli_do_not_call.run(settings, args)
        except StoreUnavailable as exc:
            print(f"agi-callback {args.command}: {exc.message}", file=sys.stderr)
            return 1
    if args.command == "check":
        print(f"settings: {source.describe()}")
        if source.path is None:
            print("warning: checking against the default settings; pass --config PATH")
        return cli_check.run(settings, args)
    if args.command == cli_install.COMMAND:  # the service's ports and AMI account, if named
        return cli_install.run(args, settings)
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "serve":
            try:
                return _run_serve(settings, source)
            except StoreUnavailable as exc:  # corrupt or unopenable: one line naming it
                print(f"agi-callback serve: {exc}", file=sys.stderr)
                return 1
        try:
            return asyncio.run(_read(settings, args))
        except StoreUnavailable as exc:  # none there, no driver, unreachable: one line
            print(f"agi-callback {args.command}: {exc.message}", file=sys.stderr)
            return 1
    return 0


def _version() -> str:
    try:
        return version("agi-callback")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


if __name__ == "__main__":
    raise SystemExit(main())
