"""Missed calls called back (``missed_call_queues``): per queue, a live caller who hangs up
after waiting at least ``min_wait`` seconds gets a callback request, as if they had pressed
1, under the same destination policy, rate limits and calling hours. Off unless a queue is
named: calling back someone who did not ask for it needs a lawful basis where the centre
works (docs/how-to/missed-calls.md)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

QUEUE_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class MissedCallRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_wait: int = Field(
        30,
        ge=1,
        le=3600,
        description="seconds a live caller must have waited before hanging up to be called back",
    )
    priority: int = Field(5, ge=1, le=10, description="the callback's priority level (1 first)")
    max_wait: int = Field(
        1800, ge=60, le=7 * 24 * 3600, description="seconds the callback may wait for an agent"
    )
    retries: int = Field(
        0, ge=0, le=10, description="new dials when the customer is not reached (as retries=)"
    )
    retry_interval: int = Field(
        300, ge=1, le=24 * 3600, description="seconds before such a retry (as retry_interval=)"
    )


MissedCallQueues = dict[Annotated[str, Field(pattern=QUEUE_NAME)], MissedCallRule]
