"""``agi-callback webhooks``: where each subscription is in the event log, what it still has to
deliver, and its latest attempts (from the store, read only)."""

import json
from typing import Any

from agi_app.config.webhooks import WebhookSubscription
from agi_app.store.port import WebhookOutbox


async def webhook_status(
    store: WebhookOutbox, subscriptions: list[WebhookSubscription], attempts: int
) -> list[dict[str, Any]]:
    shown = []
    for sub in subscriptions:
        cursor = await store.webhook_cursor(sub.name)
        # Not started yet: "now" starts at the log's end (nothing pending), else its beginning.
        start = cursor if cursor is not None else (0 if sub.start == "beginning" else None)
        pending = 0 if start is None else await store.count_events_after(start, sub.event_names())
        latest = await store.webhook_attempts(sub.name, attempts)
        shown.append(
            {
                "name": sub.name,
                "url": sub.url,
                "events": sub.events,
                "cursor": cursor,
                "pending": pending,
                "attempts": [
                    {
                        "at": a.at.isoformat(),
                        "event_id": a.seq,
                        "outcome": a.outcome,
                        "status": a.status,
                        "error": a.error,
                    }
                    for a in latest
                ],
            }
        )
    return shown


def status_text(shown: list[dict[str, Any]], as_json: bool) -> str:
    if as_json:
        return json.dumps(shown, indent=2)
    if not shown:
        return "no webhooks configured"
    blocks = []
    for sub in shown:
        cursor = "not started" if sub["cursor"] is None else f"after event {sub['cursor']}"
        lines = [
            f"{sub['name']}  {sub['url']}  events: {', '.join(sub['events'])}",
            f"  delivered or given up: {cursor}; pending: {sub['pending']}",
        ]
        if sub["attempts"]:
            lines.append("  latest attempts (newest first):")
            for a in sub["attempts"]:
                status = "-" if a["status"] is None else str(a["status"])
                error = f"  {a['error']}" if a["error"] else ""
                lines.append(
                    f"    {a['at']}  event {a['event_id']}  {a['outcome']:<9}  {status}{error}"
                )
        else:
            lines.append("  no attempts yet")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
