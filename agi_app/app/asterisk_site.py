"""One Asterisk server as the service sees it (agi_app/config/servers.py): its share of the
store, its FastAGI scripts and listener, and, once this process serves, its AMI link and its
serving. Every server is served by the same process (the one leader on PostgreSQL)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agi_app.app.local_serving import ServingHere
from agi_app.config.settings import Settings
from agi_app.domain.options import error_prompt
from agi_app.ivr.fastagi import FastAgiServer
from agi_app.ivr.offer_check import OFFER_SCRIPT, OfferChecker
from agi_app.ivr.request_dialogue import RequestHandler
from agi_app.ivr.status_check import STATUS_SCRIPT, CallerStatus
from agi_app.pbx.ami import Ami, AmiError
from agi_app.pbx.versions import MINIMUM, NEEDED_FOR, below_minimum
from agi_app.serving import Serving
from agi_app.serving.estimates import QueueEstimates
from agi_app.serving.metrics import Metrics
from agi_app.store.one_server import ServerStore
from agi_app.store.port import RequestStore

log = logging.getLogger(__name__)

AGI_SCRIPT = "callback"


@dataclass(eq=False)
class AsteriskSite:
    name: str
    settings: Settings  # the service's, with this server's AMI account and listener
    store: ServerStore
    here: ServingHere
    estimates: QueueEstimates  # the offer check's, shown in the Live view
    agi: FastAgiServer | None = None
    ami: Ami | None = None
    system_name: str | None = None  # Asterisk's systemname, read at each AMI login (several)

    @classmethod
    def of(
        cls, name: str, settings: Settings, store: RequestStore, clock: Callable[[], datetime]
    ) -> "AsteriskSite":
        view = ServerStore(store, name)
        here = ServingHere(view, name)
        # Asterisk's figures when this process serves, the store's alone otherwise.
        status = here.queue_status if settings.ami_enabled else None
        return cls(name, settings, view, here, QueueEstimates(view, status, clock))

    @property
    def serving(self) -> Serving | None:
        return self.here.serving

    def intake(self, metrics: Metrics, clock: Callable[[], datetime]) -> FastAgiServer:
        """The FastAGI scripts: the request, the caller's status, the offer check. What only
        serving knows (exact join times, positions, cancelling) is asked of it when this
        process serves."""
        s, store, here = self.settings, self.store, self.here
        offers = OfferChecker(
            self.estimates,
            schedules=s.calling_hours(),
            schedule_name=s.schedule_name,
            offer_log=store,
            metrics=metrics,
            clock=clock,
        )
        handler = RequestHandler(
            store,
            s.number_rules(),
            limits=s.rate_limits(),
            # With serving: a caller's exact queue entry, and a stored request is placed.
            joined_at=here.joined_at,
            on_stored=here.stored(offers) if s.ami_enabled else None,
            schedule_name=s.schedule_name,
            later_times=s.later_times,
            clock=clock,
            messages=s.voice_messages,
            queue_known=here.queue_known if s.ami_enabled else None,
            calling_rules=s.calling_rules,
        )
        # What the status check reports and cancels is serving's: a process that does not
        # serve reports without cancelling.
        status = CallerStatus(
            store,
            s.number_rules(),
            position_of=here.position_of if s.ami_enabled else None,
            cancel=here.cancel if s.ami_enabled else None,
        )
        self.agi = FastAgiServer(
            {AGI_SCRIPT: handler, STATUS_SCRIPT: status, OFFER_SCRIPT: offers},
            allowed_peers=s.agi_allowed_peers,
            max_sessions=s.agi_max_sessions,
            # A session it cannot serve: the caller hears that request's error prompt.
            refuse=lambda agi: agi.set_variable("CALLBACK_PROMPT", error_prompt(agi.args)),
        )
        return self.agi

    async def read_core_settings(self, others: list["AsteriskSite"]) -> None:
        """At each AMI login: an Asterisk older than the component needs is said loudly
        (agi_app/pbx/versions.py), and, with several servers, so are two with one
        systemname: a request is kept by its channel's uniqueid, which each server's own
        ``systemname`` in asterisk.conf keeps apart. Neither is refused: the service takes
        and keeps requests either way, and the log says what to fix."""
        if self.ami is None:
            return
        try:
            answer = await self.ami.send({"Action": "CoreSettings"})
        except AmiError as exc:
            log.warning("asterisk server %s: cannot read its version: %s", self.name, exc)
            return
        version = str(answer.get("AsteriskVersion", "") or "")
        if below_minimum(version):
            log.error(
                "asterisk server %s runs Asterisk %s: the component needs %d.%d or later (%s);"
                " callbacks may not keep the caller's place: upgrade Asterisk",
                self.name, version, *MINIMUM, NEEDED_FOR,
            )  # fmt: skip
        if not others:
            return
        self.system_name = str(answer.get("SystemName", "") or "")
        for other in others:
            if other.system_name == self.system_name:
                log.error(
                    "asterisk servers %s and %s have the same systemname %r: their uniqueids"
                    " may clash; set a distinct systemname in each one's asterisk.conf",
                    other.name, self.name, self.system_name,
                )  # fmt: skip
