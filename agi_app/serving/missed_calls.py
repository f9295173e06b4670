"""Missed calls called back (the settings' ``missed_call_queues``): a live caller of such a
queue who hangs up after waiting at least its ``min_wait`` (AMI's QueueCallerAbandon, with
HoldTime) gets a callback request, built by the rules of a phone request (the destination
policy, calling hours) and stored under the same rate limits and the one active callback per
number and queue; it keeps the caller's original place (their entry time) and is placed as
any other. Its source is ``missed``, its consent the queue's rule."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from panoramisk.message import Message

from agi_app.domain.errors import CallbackError
from agi_app.domain.options import ComponentOptions
from agi_app.domain.request import CallbackRequest, CallFacts, build_request
from agi_app.serving.calling_rules import DoNotCallList
from agi_app.serving.config import ServingConfig
from agi_app.serving.queue_calls import JoinTimes
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

SOURCE = "missed"


class MissedCalls:
    def __init__(
        self,
        store: RequestStore,
        config: ServingConfig,
        join_times: JoinTimes,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self._store = store
        self._config = config
        self._join_times = join_times
        self._clock = clock
        self._new_id = new_id
        self.on_stored: Callable[[CallbackRequest], Awaitable[None]] | None = None
        self.do_not_call: DoNotCallList | None = None  # wired by Serving

    async def abandoned(self, message: Message) -> None:
        """QueueCallerAbandon of a live caller: called back if their queue says so and they
        waited long enough; a refusal (withheld number, policy, rate limit) is logged."""
        queue = str(message.get("Queue", ""))
        rule = self._config.missed_calls.get(queue)
        waited = int(str(message.get("HoldTime", "0")) or 0)
        if rule is None or waited < rule.min_wait:
            return
        now = self._clock()
        uniqueid = str(message.get("Uniqueid", ""))
        facts = CallFacts(
            channel=uniqueid,
            caller_number=str(message.get("CallerIDNum", "") or ""),
            caller_name=str(message.get("CallerIDName", "") or ""),
            presentation="",
            dialed_number="",
            queue_entered_at=self._join_times.get(uniqueid) or now - timedelta(seconds=waited),
            language=str(message.get("Language", "") or ""),  # the channel snapshot's
        )
        options = ComponentOptions(
            queue=queue,
            priority=rule.priority,
            max_wait=rule.max_wait,
            retries=rule.retries,
            retry_interval=rule.retry_interval,
        )
        try:
            request = build_request(
                facts,
                options,
                self._config.number_rules,
                request_id=self._new_id(),
                now=now,
                schedule=self._config.queue_schedules.get(queue),
            )
            consent = (
                f"missed call: waited {waited} s in queue {queue} (min_wait {rule.min_wait} s)"
                " and hung up"
            )
            window = self._config.calling_rules.window_of(queue, None)
            request = replace(request, source=SOURCE, consent=consent, customer_hours=window)
            if self.do_not_call is not None:
                await self.do_not_call.check(request.callback_number)
            stored = await self._store.add(request, self._config.rate_limits)
        except CallbackError as exc:
            log.info("missed call %s in %s not called back (%s): %s", uniqueid, queue, exc.code,
                     exc.message)  # fmt: skip
            return
        log.info("missed call %s in %s (%s s): callback %s", uniqueid, queue, waited, stored.id)
        if stored.id == request.id and self.on_stored is not None:
            await self.on_stored(stored)
