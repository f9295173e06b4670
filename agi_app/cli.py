"""The console script ``agi-callback``: run the service, look at the store."""

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from agi_app.service import Service
from agi_app.settings import Settings
from agi_app.store import Store


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Service(settings):
        await stop.wait()


async def _list(settings: Settings, as_json: bool) -> None:
    async with Store.open(settings.store_path, busy_timeout=settings.store_busy_timeout) as store:
        requests = await store.requests()
    if as_json:
        rows = [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(r).items()}
            for r in requests
        ]
        print(json.dumps(rows, indent=2))
        return
    print(f"{'requested at':<20} {'state':<9} {'queue':<10} {'prio':>4} {'pos':>4}  number")
    for r in requests:
        at = r.requested_at.strftime("%Y-%m-%d %H:%M:%S")
        number = r.callback_number + (f" ext {r.extension}" if r.extension else "")
        pos = "-" if r.position is None else str(r.position)
        print(f"{at:<20} {r.state:<9} {r.queue:<10} {r.priority:>4} {pos:>4}  {number}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agi-callback", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the callback service in the foreground")
    listing = commands.add_parser("list", help="list the stored callback requests")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "serve":
            asyncio.run(_serve(settings))
        else:
            asyncio.run(_list(settings, args.json))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
