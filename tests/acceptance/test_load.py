"""Load: 200 callers press 1 within one minute; 200 requests stored, 200 placeholders queued.

One SIPp process plays all callers (3.33 calls/s for 60 s) on the IVR step (5004). Each
caller presses 1 while the offer plays, and again 2.5 s later in case the first press landed
before the offer started (the welcome prompt is 4.5 s): this is a load generator, not a
condition to wait for, so it paces itself; the test then waits on the store and the queue.
Run alone with `make load`.
"""

import asyncio
import logging
from pathlib import Path

import pytest
from panoramisk import Manager

from agi_app.app.service import Service
from tests.support.ami import eventually, queue_callers
from tests.support.dtmf import write_dtmf_pcap
from tests.support.sipp import address_options, bulk_caller_scenario, free_udp_port
from tests.support.testbed import current

CALLERS = 200
SECONDS = 60


@pytest.mark.load
async def test_200_callers_in_one_minute(
    service: Service, ami: Manager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agi_app")
    first, second = tmp_path / "press-1a.pcap", tmp_path / "press-1b.pcap"
    write_dtmf_pcap(first, "1", 0)
    write_dtmf_pcap(second, "1", 1)
    scenario = tmp_path / "load.xml"
    scenario.write_text(bulk_caller_scenario([(5500, first), (2500, second)]))
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(
        "SEQUENTIAL\n" + "".join(f"+1555200{n:04d};\n" for n in range(1, CALLERS + 1))
    )
    batch_ms = 3000
    process = await asyncio.create_subprocess_exec(
        "sipp", current().asterisk.sip, "-sf", str(scenario), "-inf", str(numbers), "-s", "5004",
        "-m", str(CALLERS), "-r", str(CALLERS * batch_ms // (SECONDS * 1000)),
        "-rp", str(batch_ms), "-l", str(CALLERS), *address_options(current().host),
        "-p", str(free_udp_port()), "-mp", str(free_udp_port()), "-nostdin",
        "-timeout", "150s", "-trace_err", "-error_file", str(tmp_path / "errors.log"),
        "-trace_stat", "-stf", str(tmp_path / "stats.csv"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await asyncio.wait_for(process.wait(), 180) == 0, (tmp_path / "errors.log").read_text(
        errors="replace"
    )[-2000:]
    assert service.store is not None
    store = service.store
    await eventually(store.requests, lambda rs: len(rs) == CALLERS, within=30, what="all stored")
    placeholders = await eventually(
        lambda: queue_callers(ami, "support"),
        lambda es: sum(not e["Channel"].startswith("PJSIP/") for e in es) == CALLERS,
        within=60,
        what=f"{CALLERS} placeholders in the queue",
    )
    assert all(not e["Channel"].startswith("PJSIP/") for e in placeholders)
    refusals = [r for r in caplog.records if "callback refused" in r.getMessage()]
    assert refusals == []
