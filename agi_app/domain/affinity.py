"""Agent affinity (the preferred_agent option): the callback is offered to one agent first,
for affinity_timeout seconds, then to any agent of its queue, keeping its place throughout
(docs/how-to/right-agent.md).

Which agent: an interface the flow names (``PJSIP/agent2``), one read from a channel
variable (a CRM lookup), or ``last``: the agent who last handled the callback number, found
in the store at the callback's turn.
"""

from collections.abc import Iterable

from agi_app.domain.options import LAST as LAST
from agi_app.domain.request import CallbackRequest, State

# The affinity's phases (CallbackRequest.affinity): not tried yet (its placeholder waits
# unrung), the preferred agent's phone ringing, and over (any agent may take it).
NOT_TRIED, RINGING, OVER = "", "ringing", "over"


def waits_for_preferred(request: CallbackRequest) -> bool:
    """Its placeholder waits unrung: its turn goes to the preferred agent first."""
    return bool(request.preferred_agent) and request.affinity == NOT_TRIED


def last_agent(requests: Iterable[CallbackRequest], number: str) -> str | None:
    """The agent of the newest done callback to ``number`` that an agent answered."""
    handled = [
        r
        for r in requests
        if r.callback_number == number
        and r.state is State.DONE
        and r.agent
        and r.agent_answered_at is not None
    ]
    if not handled:
        return None
    newest = max(handled, key=lambda r: (r.agent_answered_at, r.id))
    return newest.agent
