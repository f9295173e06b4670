"""Web credentials: who a bearer token is, from hashes alone."""

import pytest
from pydantic import ValidationError

from agi_app.config.credentials import Credentials, Principal, Role, WebCredential, digest
from agi_app.config.settings import Settings


def credential(name: str, role: str, token: str, agent: str | None = None) -> WebCredential:
    return WebCredential.model_validate(
        {"name": name, "role": role, "token_sha256": digest(token), "agent": agent}
    )


def test_each_token_is_its_own_principal_and_others_are_nobody() -> None:
    known = Credentials(
        [
            credential("wall", "viewer", "view-token"),
            credential("ann", "supervisor", "boss-token"),
            credential("a1", "agent", "agent1-token", "PJSIP/agent1"),
        ],
        supervisor_token="legacy-token",
    )
    assert known.identify("Bearer view-token") == Principal("wall", Role.VIEWER)
    assert known.identify("Bearer boss-token") == Principal("ann", Role.SUPERVISOR)
    assert known.identify("bearer agent1-token") == Principal("a1", Role.AGENT, "PJSIP/agent1")
    assert known.identify("Bearer legacy-token") == Principal("web_token", Role.SUPERVISOR)
    wrong = ("", "Bearer", "Bearer ", "Bearer view-tokenx", "Basic view-token", "view-token")
    for refused in wrong:
        assert known.identify(refused) is None


def test_no_credentials_lets_nobody_in() -> None:
    assert Credentials([], supervisor_token=None).identify("Bearer ") is None
    assert Credentials([], supervisor_token="").identify("Bearer ") is None


def test_settings_hold_hashes_not_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBACK_CONFIG", "")
    entry = {"name": "a2", "role": "agent", "token_sha256": digest("t"), "agent": "PJSIP/agent2"}
    monkeypatch.setenv("CALLBACK_WEB_CREDENTIALS", f"[{str(entry).replace(chr(39), chr(34))}]")
    (loaded,) = Settings().web_credentials
    assert (loaded.role, loaded.agent) == (Role.AGENT, "PJSIP/agent2")
    with pytest.raises(ValidationError):  # a plain token where its hash belongs
        WebCredential.model_validate({"name": "x", "role": "viewer", "token_sha256": "secret"})
    with pytest.raises(ValidationError):  # an agent credential names its interface
        WebCredential.model_validate({"name": "x", "role": "agent", "token_sha256": digest("t")})
    with pytest.raises(ValidationError):  # and only an agent credential does
        credential("x", "viewer", "t", "PJSIP/agent1")
