import pytest


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from the test alone, not from a callback.toml where the tests run."""
    monkeypatch.setenv("CALLBACK_CONFIG", "")


@pytest.fixture(autouse=True)
def _quick_replacement(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lost placeholder is placed again (and its queue paused) after 0.2 s, not 1 s: the
    same order of events, sooner."""
    monkeypatch.setattr("agi_app.serving.placer.REPLACE_DELAY_S", 0.2)
