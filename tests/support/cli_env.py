"""The environment of an `agi-callback` command a test runs as an admin would: no settings
file, the CALLBACK_* variables of the test's own environment left out, and the store the
test's service uses (PostgreSQL's URL, or the SQLite file)."""

import os

from agi_app.config.settings import Settings


def cli_env(settings: Settings, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
    env["CALLBACK_CONFIG"] = ""
    # The test bed's addresses: the service's web (cancel, priority) and the worker's AMI.
    env["CALLBACK_WEB_HOST"] = settings.web_host
    env["CALLBACK_AMI_HOST"] = settings.ami_host
    if settings.store_url is not None:
        env["CALLBACK_STORE_URL"] = settings.store_url
    else:
        env["CALLBACK_STORE_PATH"] = str(settings.store_path)
    return env | more
