"""SIGHUP in a running service: the changed settings that may change while running (the rule
is agi_app/config/reload.py) are taken at once, the others logged as needing a restart."""

import logging
from collections.abc import Iterable

from agi_app.config.reload import split_changes
from agi_app.config.settings import Settings
from agi_app.ivr.request_dialogue import RequestHandler

log = logging.getLogger("agi_app.app.service")  # the lines operators and tests know


def reloaded(
    running: Settings, new: Settings, *, serving: bool, handlers: Iterable[RequestHandler]
) -> Settings:
    """The settings in force after the reload (``running`` when nothing may change)."""
    take, restart = split_changes(running, new, serving=serving)
    if restart:
        log.warning("reload: %s changed, needs a restart to apply", ", ".join(restart))
    if not take:
        log.info("reload: nothing changed that a reload applies")
        return running
    now = running.model_copy(update={n: getattr(new, n) for n in take})
    logging.getLogger().setLevel(now.log_level.upper())
    for handler in handlers:
        handler.set_policy(now.number_rules(), now.rate_limits())
    log.warning("reload: %s now in force", ", ".join(take))
    return now
