"""The store the webhook tests hold: a RequestStore that is also the webhooks' outbox, as both
agi_app.store.sqlite.store.Store and tests/support/memory_store.MemoryStore are."""

from typing import Protocol

from agi_app.store.port import RequestStore, WebhookOutbox


class OutboxStore(RequestStore, WebhookOutbox, Protocol):
    pass
