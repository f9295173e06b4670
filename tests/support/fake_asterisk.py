"""A scripted Asterisk for FastAGI tests: sends an AGI environment, answers each command."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.testbed import LOOPBACK

Reply = Callable[[str], str]

# A reply that closes the connection instead of answering (Asterisk gone mid-command).
CLOSE = "<close>"


def default_reply(command: str) -> str:
    if command.startswith("STREAM FILE"):
        return "200 result=0 endpos=16000"
    if command.startswith("GET"):
        return "200 result=0"
    return "200 result=1"


@dataclass
class AgiCall:
    args: list[str]
    callerid: str = "+15551230001"
    calleridname: str = "Ann Smith"
    uniqueid: str = "1795650000.1"
    dnid: str = "5000"
    language: str = "en"  # CHANNEL(language)
    script: str = "callback"
    reply: Reply = default_reply
    commands: list[str] = field(default_factory=list)
    raw_environment: bytes = b""  # sent instead of environment() when set
    hold: asyncio.Event | None = None  # answer no command until it is set

    def environment(self) -> bytes:
        """What Asterisk 22 sends (res_agi.c: launch_netscript, setup_env), in its order."""
        env = {
            "agi_network": "yes",
            "agi_network_script": self.script,
            "agi_request": f"agi://{LOOPBACK}/{self.script}",
            "agi_channel": "PJSIP/pstn-00000001",
            "agi_language": self.language,
            "agi_type": "PJSIP",
            "agi_uniqueid": self.uniqueid,
            "agi_version": "22.10.1",
            "agi_callerid": self.callerid,
            "agi_calleridname": self.calleridname,
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": self.dnid,
            "agi_rdnis": "unknown",
            "agi_context": "callback",
            "agi_extension": "s",
            "agi_priority": "2",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": "140234567890",
        }
        for n, arg in enumerate(self.args, start=1):
            env[f"agi_arg_{n}"] = arg
        return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"

    async def run(self, port: int, *, within: float = 10) -> list[str]:
        """Connect, play the session to its end, return the commands the service sent."""
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        try:
            writer.write(self.raw_environment or self.environment())
            await writer.drain()
            async with asyncio.timeout(within):
                while line := await reader.readline():
                    command = line.decode().rstrip("\n")
                    self.commands.append(command)
                    if self.hold is not None:
                        await self.hold.wait()
                    answer = self.reply(command)
                    if answer == CLOSE:
                        break
                    writer.write((answer + "\n").encode())
                    await writer.drain()
        except ConnectionResetError:
            pass  # the service closed first: the session is over either way
        finally:
            writer.close()
        return self.commands
