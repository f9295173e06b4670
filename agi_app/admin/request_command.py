"""``agi-callback request NUMBER --queue Q [--priority N] [--at TIME] [--name NAME]
[--extension X] [--preferred-agent A] [--affinity-timeout S] [--idempotency-key K]
[--direct]``: a callback request from the command line.

By default it goes through the running service's request API (CALLBACK_API_TOKEN, a token
with the request scope), so the service places it at once, exactly as a POST would. With
``--direct`` it is written into the store itself (no service needed), by the same rules; a
service that is running then places it only at its next AMI login (its reconciliation reads
the store), so ``--direct`` is for when the service is stopped.
"""

import argparse
import asyncio
import getpass
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agi_app.admin.service_client import Unreachable, post_json
from agi_app.api.config import ApiConfig
from agi_app.api.intake import build_api_request
from agi_app.api.models import CallbackIn
from agi_app.config.settings import Settings
from agi_app.domain.errors import CallbackError
from agi_app.serving.calling_rules import DoNotCallList
from agi_app.store.open import StoreConfig, open_store


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    ask = commands.add_parser("request", help="ask for a callback (through the running service)")
    ask.add_argument("number", help="the number to call back")
    ask.add_argument("--queue", required=True)
    ask.add_argument("--priority", type=int, default=5, help="1..10, 1 first (default 5)")
    ask.add_argument("--at", help="call back at TIME: ISO 8601, local time without an offset")
    ask.add_argument("--name", default="", help="the caller's name, shown to the agent")
    ask.add_argument("--extension", help="digits sent once the customer answers")
    ask.add_argument(
        "--preferred-agent",
        help="the agent offered it first (PJSIP/agent2, or last: who last handled the number)",
    )
    ask.add_argument(
        "--affinity-timeout", type=int, help="seconds the preferred agent has it first (30)"
    )
    ask.add_argument("--idempotency-key", help="the same key gives the same answer")
    ask.add_argument(
        "--direct", action="store_true", help="write the store itself (the service is stopped)"
    )


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"number": args.number, "queue": args.queue, "priority": args.priority}
    if args.name:
        body["caller_name"] = args.name
    if args.extension is not None:
        body["extension"] = args.extension
    if args.preferred_agent is not None:
        body["preferred_agent"] = args.preferred_agent
    if args.affinity_timeout is not None:
        body["affinity_timeout"] = args.affinity_timeout
    if args.at:
        at = datetime.fromisoformat(args.at)
        body["at"] = (at if at.tzinfo else at.astimezone()).isoformat()  # local time
    return body


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        body = _payload(args)
    except ValueError as exc:
        print(f"request refused: --at: {exc}", file=sys.stderr)
        return 2
    if args.direct:
        return asyncio.run(_direct(settings, body))
    return _through_service(settings, body, args.idempotency_key)


async def _direct(settings: Settings, body: dict[str, Any]) -> int:
    try:
        payload = CallbackIn.model_validate_json(json.dumps(body))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"request refused (invalid-request): {problems}", file=sys.stderr)
        return 1
    request_id = str(uuid.uuid4())
    try:
        request = build_api_request(
            payload,
            ApiConfig.of(settings),
            request_id=request_id,
            now=datetime.now(UTC),
            requested_by=f"cli:{getpass.getuser()}",  # written into the store by this user
        )
        async with open_store(StoreConfig.of(settings)) as s:
            await DoNotCallList(s, settings.calling_rules.do_not_call).check(
                request.callback_number
            )
            stored = await s.add(request, settings.rate_limits())
    except CallbackError as exc:
        print(f"request refused ({exc.code}): {exc.message}", file=sys.stderr)
        return 1
    print(stored.id)
    if stored.id != request_id:
        print("an active callback for this number and queue exists: that one", file=sys.stderr)
    return 0


def _through_service(settings: Settings, body: dict[str, Any], key: str | None) -> int:
    token = os.environ.get("CALLBACK_API_TOKEN")
    if not token:
        print("set CALLBACK_API_TOKEN (an API token with the request scope)", file=sys.stderr)
        return 2
    keyed = {} if key is None else {"Idempotency-Key": key}
    try:
        answer = post_json(settings, "/api/callbacks", token, body, keyed)
    except Unreachable as exc:
        print(
            f"cannot reach the service at {exc.url} ({exc.reason}); --direct writes the store",
            file=sys.stderr,
        )
        return 1
    if not answer.is_success:
        print(f"request refused ({answer.status_code}): {answer.text}", file=sys.stderr)
        return 1
    print(answer.json()["id"])
    if answer.status_code == 200:
        print("an active callback for this number and queue exists: that one", file=sys.stderr)
    return 0
