"""The status check's FastAGI route (script callback-status) in the running service, over a real
socket against a scripted Asterisk: it reaches its own handler, not the request handler."""

from agi_app.app.service import Service
from tests.support.fake_asterisk import AgiCall
from tests.support.fastagi_process import port_of


async def test_the_status_script_is_answered_by_the_status_check(service: Service) -> None:
    """Without AMI nothing is served, so there is nothing to report: it returns at once, and
    stores nothing (the request handler would have stored a request)."""
    commands = await AgiCall(["queue=support", "", ""], script="callback-status").run(
        port_of(service)
    )
    assert commands == ['SET VARIABLE CALLBACK_STATUS "NONE"']
    assert service.store is not None
    assert await service.store.requests() == []


async def test_unusable_status_options_end_in_silence(service: Service) -> None:
    commands = await AgiCall(["queue=support", "cancel_key=x"], script="callback-status").run(
        port_of(service)
    )
    assert commands == ['SET VARIABLE CALLBACK_STATUS "ERROR"']
