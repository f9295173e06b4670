"""What the request API takes and gives, as pydantic models: they validate the input and
are the schemas of the OpenAPI document (agi_app/api/openapi.py)."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from agi_app.domain.event_log import LoggedEvent
from agi_app.domain.options import PreferredAgent
from agi_app.domain.request import CallbackRequest


class CallbackIn(BaseModel):
    """A callback request. Strict: no type is coerced ("5" is not a priority), no field
    unknown."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    number: Annotated[
        str,
        Field(
            pattern=r"^\+?[0-9 ().-]{3,32}$",
            description="the number to call back, E.164 or national to number_region",
            examples=["+15551230001"],
        ),
    ]
    queue: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_-]{1,64}$",
            description="a queue of api_queues, or one with calling hours (queue_schedules)",
        ),
    ]
    priority: Annotated[int, Field(ge=1, le=10, description="1 is served first")] = 5
    caller_name: Annotated[str, Field(max_length=80, description="shown to the agent")] = ""
    extension: Annotated[
        str | None,
        Field(pattern=r"^[0-9*#]{1,20}$", description="sent as DTMF once the customer answers"),
    ] = None
    at: Annotated[
        AwareDatetime | None,
        Field(description="call back at this time (ISO 8601 with an offset), within hours"),
    ] = None
    preferred_agent: Annotated[
        PreferredAgent | None,
        Field(
            description="agent affinity: the agent offered it first (a member interface such"
            " as PJSIP/agent2, or last: who last handled the number), then any agent"
        ),
    ] = None
    affinity_timeout: Annotated[
        int, Field(ge=5, le=600, description="seconds the preferred agent has it first")
    ] = 30


class CallbackOut(BaseModel):
    """A callback request as it is now."""

    model_config = ConfigDict(extra="forbid")

    id: str
    state: Annotated[
        str,
        Field(
            description="pending, waiting, offered, dialing, connected or done; customer first"
            " also calling and queued"
        ),
    ]
    source: Annotated[str, Field(description="phone, api or missed (a missed call)")]
    requested_by: Annotated[
        str, Field(description="the credential that asked (api:NAME, cli:USER); empty: a phone")
    ]
    server: Annotated[str, Field(description="the Asterisk server it waits and is dialed on")]
    queue: str
    priority: int
    number: str
    extension: str | None
    caller_name: str
    requested_at: datetime
    queue_entered_at: datetime
    expires_at: datetime
    scheduled_for: datetime | None
    call_outcome: str | None
    contact_outcome: str | None
    agent: str | None
    agent_answered_at: datetime | None
    customer_dialed_at: datetime | None
    customer_answered_at: datetime | None
    customer_ended_at: datetime | None
    mode: Annotated[str, Field(description="agent_first or customer_first")]
    amd_status: Annotated[
        str,
        Field(description="machine detection's last verdict (HUMAN, MACHINE, ...); empty: none"),
    ]
    disposition: Annotated[str, Field(description="the agent's wrap-up code; empty: none")]
    consent: Annotated[
        str,
        Field(
            description="how the customer agreed: the key in which flow, who asked, or the"
            " missed-call rule"
        ),
    ]
    preferred_agent: Annotated[
        str, Field(description="agent affinity: the agent offered it first; empty: none")
    ]
    message_url: Annotated[
        str | None,
        Field(
            description="the caller's voice message (audio/wav), for a token with the read"
            " scope; null: none left"
        ),
    ]
    language: Annotated[
        str,
        Field(
            description="the caller's channel language at the request, in which the customer"
            " hears its prompts; empty: Asterisk's default"
        ),
    ]

    @classmethod
    def of(cls, request: CallbackRequest) -> "CallbackOut":
        return cls(
            id=request.id,
            state=request.state.value,
            source=request.source,
            requested_by=request.requested_by,
            server=request.server,
            queue=request.queue,
            priority=request.priority,
            number=request.callback_number,
            extension=request.extension,
            caller_name=request.caller_name,
            requested_at=request.requested_at,
            queue_entered_at=request.queue_entered_at,
            expires_at=request.expires_at,
            scheduled_for=request.scheduled_for,
            call_outcome=request.call_outcome,
            contact_outcome=request.contact_outcome,
            agent=request.agent,
            agent_answered_at=request.agent_answered_at,
            customer_dialed_at=request.customer_dialed_at,
            customer_answered_at=request.customer_answered_at,
            customer_ended_at=request.customer_ended_at,
            mode=request.mode.value,
            amd_status=request.amd_status,
            disposition=request.disposition,
            consent=request.consent,
            preferred_agent=request.preferred_agent,
            message_url=f"/api/callbacks/{request.id}/message" if request.message else None,
            language=request.language,
        )


class CallbackRef(BaseModel):
    """A callback as a token without the read scope sees it: which one, and its state. Only
    the read scope reads a record (who the customer is, the agent, times, outcomes)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    state: Annotated[
        str, Field(description="pending, waiting, offered, dialing, connected or done")
    ]

    @classmethod
    def of(cls, request: CallbackRequest) -> "CallbackRef":
        return cls(id=request.id, state=request.state.value)


class EventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[int, Field(description="rises with each event: the events_after of a page")]
    at: datetime
    event: str
    state: str
    detail: dict[str, Any]


class CallbackDetail(CallbackOut):
    """A callback request with a page of its event log, oldest first."""

    events: list[EventOut]
    events_next: Annotated[
        int | None,
        Field(description="more events follow: pass this as events_after; null: none (yet)"),
    ]

    @classmethod
    def with_events(
        cls, request: CallbackRequest, page: list[LoggedEvent], following: int | None
    ) -> "CallbackDetail":
        logged = [
            EventOut(id=e.seq, at=e.event.at, event=e.event.event, state=e.event.state,
                     detail=e.event.detail)
            for e in page
        ]  # fmt: skip
        return cls(**CallbackOut.of(request).model_dump(), events=logged, events_next=following)


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    problem: str


class ApiError(BaseModel):
    """Every refusal: a stable code, what went wrong, and per field for invalid input."""

    model_config = ConfigDict(extra="forbid")

    error: Annotated[str, Field(examples=["blocked-number"])]
    message: str
    details: list[Problem] = []
