"""Where the installer may read and write: inside Asterisk's configuration directory and its
sounds directory, not wherever a symbolic link in them points.

The installer runs as root; the directories it edits are often writable by the asterisk user
(Debian's /etc/asterisk is). A link there, say ``extensions.conf -> /etc/shadow`` or
``sounds/callback -> /etc/cron.d``, would have root read or write outside them, so a link on
the way that leads out of its tree is refused, naming the link and its target. Links that
stay inside (``extensions.conf -> conf.d/extensions.conf``) are followed as before, and the
trees themselves may be links (``/etc/asterisk -> /srv/pbx/etc``).
"""

import glob
import os
from pathlib import Path

from agi_app.admin.install.text import InstallError


def inside(path: Path, root: Path, what: str) -> None:
    """Refuse ``path`` (under ``root``) when a link from ``root`` down to it, itself included,
    leads out of ``root``; ``what`` names the tree in the error ("the configuration")."""
    top = root.resolve()
    step = root
    for part in path.relative_to(root).parts:
        step = step / part
        if not step.is_symlink():
            continue
        target = step.resolve()
        if not target.is_relative_to(top):
            raise InstallError(
                f"{step} is a symbolic link to {os.readlink(step)} ({target}), outside "
                f"{what} {root}: not followed; replace the link by the file or directory itself"
            )


def absolute_prompt_files(prompt: str) -> list[Path]:
    """The sound files an absolute prompt names: Asterisk plays ``/dir/name`` from
    ``/dir/name.<any format>``."""
    where = Path(prompt)
    if not where.parent.is_dir():
        return []
    return sorted(where.parent.glob(f"{glob.escape(where.name)}.*"))
