"""How `agi-callback audit` prints an Audit: a table for people, JSON for tools."""

from datetime import datetime, tzinfo
from typing import Any

from agi_app.domain.audit import Audit, Inversion
from agi_app.domain.queue_day import Call, Offer


def _time(t: datetime, tz: tzinfo) -> str:
    return t.astimezone(tz).strftime("%H:%M:%S")


def _call_json(call: Call) -> dict[str, Any]:
    return {
        "kind": call.kind.value,
        "id": call.id,
        "level": call.level,
        "level_known": call.level_known,
        "entered_at": call.entered_at.isoformat(),
        "ideal_rank": call.rank,
        "served_at": call.served_at.isoformat() if call.served_at else None,
    }


def _offer_json(offer: Offer, calls: dict[str, Call]) -> dict[str, Any]:
    call = calls[offer.call]
    return {
        "offered_at": offer.start.isoformat(),
        "agent": offer.agent,
        "answered": offer.answered,
        "kind": call.kind.value,
        "id": call.id,
        "level": call.level,
        "entered_at": call.entered_at.isoformat(),
        "ideal_rank": call.rank,
    }


def _inversion_json(inversion: Inversion) -> dict[str, Any]:
    return {
        "offered_at": inversion.offer.start.isoformat(),
        "agent": inversion.offer.agent,
        "offered": _call_json(inversion.behind),
        "waiting": _call_json(inversion.ahead),
        "cause": inversion.cause.value,
        "explanation": inversion.explanation,
    }


def audit_json(audit: Audit) -> dict[str, Any]:
    calls = {c.key: c for c in audit.calls}
    return {
        "calls": [_call_json(c) for c in audit.calls],
        "offers": [_offer_json(o, calls) for o in audit.offers],
        "inversions": [_inversion_json(i) for i in audit.inversions],
    }


def _level(call: Call) -> str:
    return str(call.level) if call.level_known else f"{call.level}?"


def audit_table(audit: Audit, tz: tzinfo) -> str:
    calls = {c.key: c for c in audit.calls}
    headers = ["offered at", "agent", "result", "rank", "level", "entered", "call"]
    rows = [
        [
            _time(o.start, tz),
            o.agent,
            "answered" if o.answered else "not taken",
            str(calls[o.call].rank),
            _level(calls[o.call]),
            _time(calls[o.call].entered_at, tz),
            calls[o.call].label,
        ]
        for o in audit.offers
    ]
    out = ["Offers, in the order they were made (rank: place in the ideal order)"]
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        out.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        out.append("  ".join("-" * w for w in widths))
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    else:
        out.append("no offers")
    out.append("")
    if not audit.inversions:
        out.append("Inversions: none")
        return "\n".join(out)
    out.append(f"Inversions: {len(audit.inversions)}")
    for inv in audit.inversions:
        a, b = inv.ahead, inv.behind
        out.append(
            f"- {_time(inv.offer.start, tz)} {inv.offer.agent} was offered B = {b.label}"
            f" (rank {b.rank}, level {_level(b)}, entered {_time(b.entered_at, tz)})"
            f" while A = {a.label} (rank {a.rank}, level {_level(a)}, entered"
            f" {_time(a.entered_at, tz)}) waited"
        )
        out.append(f"  cause: {inv.cause.value}: {inv.explanation}")
    return "\n".join(out)
