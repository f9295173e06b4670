"""A callback request from the API or the command line, made by the rules of a phone request.

The same domain builds it (domain/request.py: number normalization, the destination policy,
the extension's digits, calling hours); the store adds the rate limits and one active
callback per (number, queue). Only the facts differ: there is no caller's channel, so its
channel is ``api-<id>``, its caller number is the number to call back, and it joins its queue
at the time of the request.
"""

from dataclasses import replace
from datetime import datetime, timedelta

from agi_app.api.config import ApiConfig
from agi_app.api.models import CallbackIn
from agi_app.domain.errors import CallbackError, UnknownQueue
from agi_app.domain.numbers import normalize_extension
from agi_app.domain.options import ComponentOptions
from agi_app.domain.request import CallbackRequest, CallFacts, build_request, scheduled

SOURCE = "api"


class InvalidTime(CallbackError):
    code = "invalid-time"


def build_api_request(
    payload: CallbackIn,
    config: ApiConfig,
    *,
    request_id: str,
    now: datetime,
    requested_by: str = "",
) -> CallbackRequest:
    """The request ``payload`` asks for, or a CallbackError saying why it cannot be taken;
    ``requested_by`` is the credential that asks (kept with it)."""
    if payload.queue not in config.queues:
        known = ", ".join(config.queues) or "none"
        raise UnknownQueue(f"queue {payload.queue!r} takes no API requests (known: {known})")
    options = ComponentOptions(
        queue=payload.queue,
        priority=payload.priority,
        max_wait=config.max_wait,
        preferred_agent=payload.preferred_agent,
        affinity_timeout=payload.affinity_timeout,
    )
    facts = CallFacts(
        channel=f"{SOURCE}-{request_id}",
        caller_number=payload.number,
        caller_name=payload.caller_name,
        presentation="",
        dialed_number="",
        queue_entered_at=now,
    )
    schedule = config.queue_schedules.get(payload.queue)
    request = build_request(
        facts, options, config.number_rules, request_id=request_id, now=now, schedule=schedule
    )
    extension = normalize_extension(payload.extension) if payload.extension else None
    how = "command line" if requested_by.startswith("cli:") else "api"
    consent = f"{how}: asked by {requested_by or 'an API client'}"
    request = replace(
        request,
        extension=extension,
        source=SOURCE,
        requested_by=requested_by,
        consent=consent,
        customer_hours=config.calling_rules.window_of(payload.queue, None),
    )
    if payload.at is None:
        return request  # as soon as possible: outside hours it waits for the opening
    return scheduled(request, _check_time(payload.at, config, schedule, now))


def _check_time(at: datetime, config: ApiConfig, schedule: str | None, now: datetime) -> datetime:
    """A scheduled time is in the future, not too far, and within its queue's calling hours:
    a client asking for a closed time has its clock or its idea of the hours wrong, and
    moving the call silently to the next opening would call the customer when they did not
    ask to be called."""
    if at <= now:
        raise InvalidTime(f"at {at.isoformat()} is not in the future")
    if at > now + timedelta(days=config.schedule_days):
        raise InvalidTime(f"at {at.isoformat()} is more than {config.schedule_days} days ahead")
    hours = config.calling_hours.get(schedule) if schedule is not None else None
    if hours is not None and not hours.is_open(at):
        opening = hours.next_opening(at)
        after = f"; it opens next at {opening.isoformat()}" if opening else ""
        raise InvalidTime(
            f"at {at.isoformat()} is outside the calling hours of {schedule!r}{after}"
        )
    return at
