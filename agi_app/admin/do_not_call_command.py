"""``agi-callback do-not-call [list | add ENTRY... | remove ENTRY...]``: the do-not-call list
(docs/how-to/calling-rules.md). Entries are written into the store itself, as the API
writes them: a running service reads them within seconds (serving/calling_rules.py), and a
callback already waiting for such a number ends without a dial.
"""

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime

from agi_app.config.settings import Settings
from agi_app.domain.calling_rules import DoNotCallEntry, do_not_call_entry
from agi_app.domain.errors import InvalidNumber
from agi_app.store.open import StoreConfig, open_store

COMMAND = "do-not-call"


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    dnc = commands.add_parser(COMMAND, help="numbers never called back: list, add, remove")
    dnc.add_argument("action", choices=("list", "add", "remove"), nargs="?", default="list")
    dnc.add_argument(
        "entries",
        nargs="*",
        metavar="ENTRY",
        help="a number (E.164, or national in number_region) or a prefix ending in *",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action != "list" and not args.entries:
        print(f"agi-callback {COMMAND} {args.action}: name at least one entry", file=sys.stderr)
        return 2
    try:  # every entry checked before any is written: a refusal changes nothing
        entries = [do_not_call_entry(e, settings.number_region) for e in args.entries]
    except InvalidNumber as exc:
        print(f"agi-callback {COMMAND}: {exc.message}", file=sys.stderr)
        return 2
    return asyncio.run(_run(settings, args.action, entries))


async def _run(settings: Settings, action: str, entries: list[str]) -> int:
    existing = action == "list"  # listing never creates a store
    async with open_store(StoreConfig.of(settings), existing=existing) as store:
        if action == "list":
            for entry in settings.calling_rules.do_not_call:
                print(f"{entry}\tsettings")
            for kept in await store.do_not_call():
                print(f"{kept.entry}\t{kept.added_by}\t{kept.added_at.isoformat()}")
            return 0
        status = 0
        for entry in entries:
            if action == "add":
                by = f"cli:{getpass.getuser()}"
                added = await store.add_do_not_call(DoNotCallEntry(entry, datetime.now(UTC), by))
                print(f"{entry}: {'added' if added else 'listed already'}")
            elif await store.remove_do_not_call(entry):
                print(f"{entry}: removed")
            else:
                where = "in the settings" if entry in settings.calling_rules.do_not_call else ""
                print(f"{entry}: not on the list{' (it is ' + where + ')' if where else ''}")
                status = 1
        return status
