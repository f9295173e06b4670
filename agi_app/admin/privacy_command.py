"""``agi-callback purge`` and ``agi-callback forget NUMBER``: personal data removed
(docs/explanation/privacy.md).

``purge`` works on the store itself (the service need not run; if it does, the two never
undo each other: each request is rewritten in one transaction, only if unchanged since
read). ``forget`` goes through the running service (CALLBACK_API_TOKEN, a token with the
forget scope), which cancels the person's waiting callbacks in Asterisk before erasing.
"""

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime

from agi_app.admin.service_client import Unreachable, post_json
from agi_app.api.forget_models import FORGET_PATH
from agi_app.config.settings import Settings
from agi_app.serving.privacy import purge_now
from agi_app.store.open import StoreConfig, open_store

COMMANDS = ("purge", "forget")


def add_parsers(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    commands.add_parser(
        "purge",
        help="remove the personal data of callbacks finished more than retention_days ago",
    )
    forget = commands.add_parser(
        "forget", help="erase one person's personal data (through the running service)"
    )
    forget.add_argument("number", help="their phone number (E.164, or national)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "purge":
        return asyncio.run(_purge(settings))
    return _forget(settings, args.number)


async def _purge(settings: Settings) -> int:
    async with open_store(StoreConfig.of(settings), existing=True) as store:
        purged = await purge_now(
            store,
            settings.privacy,
            settings.store_path,
            datetime.now(UTC),
            settings.voice_messages.readable_dir,
        )
    days = settings.privacy.retention_days
    print(f"purged {purged} callbacks finished more than {days} days ago")
    return 0


def _forget(settings: Settings, number: str) -> int:
    token = os.environ.get("CALLBACK_API_TOKEN")
    if not token:
        print("set CALLBACK_API_TOKEN (an API token with the forget scope)", file=sys.stderr)
        return 2
    try:
        answer = post_json(settings, FORGET_PATH, token, {"number": number})
    except Unreachable as exc:
        print(f"cannot reach the service at {exc.url}: {exc.reason}", file=sys.stderr)
        return 1
    if not answer.is_success:
        print(f"forget refused ({answer.status_code}): {answer.text}", file=sys.stderr)
        return 1
    done = answer.json()
    print(f"erased: {done['requests']} callbacks ({done['cancelled']} waiting ones cancelled)")
    return 0
