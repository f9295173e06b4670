"""Prometheus metrics of the callback service (one registry, served at /metrics)."""

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agi_app.domain.report import CUSTOMER_WAIT_BOUND_S, customer_wait
from agi_app.domain.request import WAITING_STATES, CallbackRequest, State


class Metrics:
    def __init__(self, customer_wait_bound_s: float = CUSTOMER_WAIT_BOUND_S) -> None:
        self._customer_wait_bound_s = customer_wait_bound_s
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "callback_requests", "Callback requests stored", ["queue"], registry=self.registry
        )
        self.outcomes = Counter(
            "callback_outcomes",
            "Callback requests finished, by call and contact outcome",
            ["queue", "call_outcome", "contact_outcome"],
            registry=self.registry,
        )
        self.waiting = Gauge(
            "callback_waiting", "Callback requests waiting for an agent", ["queue"],
            registry=self.registry,
        )  # fmt: skip
        self.held = Gauge(
            "callback_held",
            "Callback requests waiting in the store beyond the placement window",
            ["queue"],
            registry=self.registry,
        )
        self.retries = Counter(
            "callback_retries",
            "Customers not reached whose callback went back to the queue for another dial",
            ["queue"],
            registry=self.registry,
        )
        self.carried_over = Counter(
            "callback_carried_over",
            "Callbacks carried over a closing of their calling hours to the next opening",
            ["queue"],
            registry=self.registry,
        )
        self.wait_seconds = Histogram(
            "callback_wait_seconds",
            "From the original queue entry to an agent answering, or to the end without one",
            ["queue"],
            buckets=(10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200),
            registry=self.registry,
        )
        self.amd_verdicts = Counter(
            "callback_amd_verdicts",
            "Machine detection's verdicts on customers' answers (amd=yes), by AMD() status",
            ["queue", "status"],
            registry=self.registry,
        )
        self.customer_first_wait = Histogram(
            "callback_customer_first_wait_seconds",
            "Customer first: from the customer pressing 1 to an agent answering (or their"
            " hanging up)",
            ["queue"],
            buckets=(5, 10, 20, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.customer_first_over_bound = Counter(
            "callback_customer_first_waits_over_bound",
            "Customer first: customers who pressed 1 and then waited past the bound for an agent",
            ["queue"],
            registry=self.registry,
        )
        # The offer check: each check by outcome (offered or not, and why), and the offers a
        # request followed on the same channel (acceptance rate = accepted / offered checks).
        self.offer_checks = Counter(
            "callback_offer_checks",
            "Offer checks, by whether the callback was offered and why",
            ["queue", "offered", "reason"],
            registry=self.registry,
        )
        self.offers_accepted = Counter(
            "callback_offers_accepted",
            "Offers after which the caller asked for the callback",
            ["queue"],
            registry=self.registry,
        )
        # Webhooks: each delivery attempt by outcome (delivered, failed, gave_up), and the
        # events each subscription still has to deliver.
        self.webhook_deliveries = Counter(
            "callback_webhook_deliveries",
            "Webhook delivery attempts, by subscription and outcome",
            ["subscription", "outcome"],
            registry=self.registry,
        )
        self.webhook_pending = Gauge(
            "callback_webhook_pending",
            "Events a webhook subscription has not delivered (or given up) yet",
            ["subscription"],
            registry=self.registry,
        )

    def offer_checked(self, queue: str, reason: str, *, offered: bool) -> None:
        self.offer_checks.labels(queue, "yes" if offered else "no", reason).inc()

    def offer_accepted(self, queue: str) -> None:
        self.offers_accepted.labels(queue).inc()

    def webhook_attempted(self, subscription: str, outcome: str) -> None:
        self.webhook_deliveries.labels(subscription, outcome).inc()

    def webhook_backlog(self, subscription: str, pending: int) -> None:
        self.webhook_pending.labels(subscription).set(pending)

    def stored(self, request: CallbackRequest) -> None:
        self.requests.labels(request.queue).inc()
        self.waiting.labels(request.queue).inc()

    def changed(self, before: CallbackRequest, after: CallbackRequest, at: datetime) -> None:
        was, now = before.state in WAITING_STATES, after.state in WAITING_STATES
        if was and not now:
            self.waiting.labels(after.queue).dec()
            end = after.agent_answered_at or at
            waited = (end - after.queue_entered_at).total_seconds()
            self.wait_seconds.labels(after.queue).observe(waited)
        elif now and not was:
            self.waiting.labels(after.queue).inc()
        if after.customer_attempts > before.customer_attempts and after.state is State.PENDING:
            self.retries.labels(after.queue).inc()
        if before.state is State.QUEUED and after.state is not State.QUEUED:
            waited = customer_wait(after, at)
            self.customer_first_wait.labels(after.queue).observe(waited)
            if waited > self._customer_wait_bound_s:
                self.customer_first_over_bound.labels(after.queue).inc()
        if after.amd_status and after.amd_status != before.amd_status:
            self.amd_verdicts.labels(after.queue, after.amd_status).inc()
        if after.carried_over > before.carried_over:
            self.carried_over.labels(after.queue).inc()
        if after.state is State.DONE and before.state is not State.DONE:
            self.outcomes.labels(
                after.queue, str(after.call_outcome), str(after.contact_outcome)
            ).inc()

    def recount(self, waiting: list[CallbackRequest]) -> None:
        """Set the waiting gauges from the store (at start and after reconnecting)."""
        self.waiting.clear()
        for request in waiting:
            self.waiting.labels(request.queue).inc()

    def held_counts(self, counts: dict[str, int]) -> None:
        """Set the held gauges (placement window) from the serving side's count per queue."""
        self.held.clear()
        for queue, count in counts.items():
            self.held.labels(queue).set(count)
