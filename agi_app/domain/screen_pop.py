"""What an agent sees while its phone rings for a callback."""

from agi_app.domain.request import CallbackRequest


def screen_pop_fields(request: CallbackRequest, agent: str) -> dict[str, object]:
    """What an agent sees while its phone rings for ``request`` (AMI UserEvent and web)."""
    return {
        "RequestId": request.id,
        "CallerName": request.caller_name,
        "CallerNumber": request.caller_number,
        "CallbackNumber": request.callback_number,
        "Extension": request.extension or "",
        "RequestedAt": request.requested_at.isoformat(),
        "Queue": request.queue,
        "DialedNumber": request.dialed_number,
        "Priority": request.priority,
        "Agent": agent,
        "Message": "yes" if request.message else "no",  # a voice message to hear
    }
