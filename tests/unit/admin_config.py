"""An admin's Asterisk configuration, as the installer tests write it, and
`agi-callback install-asterisk-config` run on it. Here rather than in tests/support: its
manager.conf binds to the loopback address as an admin's does, and only tests/support/testbed.py
may write an address in the tiers that use the test bed (`make lint`)."""

from pathlib import Path

from agi_app.admin.cli import main

# An admin's extensions.conf: settings, a block comment that looks like settings, comments
# that belong to the next context, and an escaped ";" in a value.
EXTENSIONS = """\
[general]
static = yes

[globals]
TRUNK = PJSIP/carrier
GREETING = custom/hello\\;world   ; a literal semicolon
;-- retired:
OLD = 1
--;
; ----------------------------------------------------------------
; The main menu (this comment is about [main], below)

[main]
exten => 100,1,Answer()
 same => n,Queue(sales)
"""

MANAGER_DEBIAN = """\
[general]
enabled = yes
port = 5038
bindaddr = 127.0.0.1

#include "manager.d/*.conf"
"""

MANAGER_PLAIN = """\
[general]
enabled = yes
bindaddr = 127.0.0.1

[admin]
secret = verysecret
read = all
write = all"""  # no newline at the end

QUEUES = """\
[general]
persistentmembers = yes

[sales]
periodic-announce = callback/offer,custom/sales-promo
periodic-announce-frequency = 30
context = callback-queue-exit
member => PJSIP/alice
"""


def write_config(root: Path, manager: str = MANAGER_DEBIAN, extensions: str = EXTENSIONS) -> Path:
    conf = root / "asterisk"
    (conf / "manager.d").mkdir(parents=True)
    (conf / "manager.d" / "README.conf").write_text("; Empty placeholder\n")
    (conf / "extensions.conf").write_bytes(extensions.encode())
    (conf / "manager.conf").write_bytes(manager.encode())
    (conf / "queues.conf").write_text(QUEUES)
    (conf / "asterisk.conf").write_text("[directories](!)\nastdatadir => /usr/share/asterisk\n")
    return conf


def install(root: Path, conf: Path, *extra: str) -> int:
    return main(
        [
            "install-asterisk-config",
            str(conf),
            "--sounds-dir",
            str(root / "sounds"),
            "--ami-secret-file",
            str(root / "ami-secret"),
            *extra,
        ]
    )
