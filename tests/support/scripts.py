"""The repository's scripts (the benchmarks of tests/bench/) run tiny, ``--smoke``, as the
acceptance smokes run them: their output, once they exit 0."""

import asyncio
import sys

from tests.support.service_process import REPO


async def run_script(module: str, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--smoke", *args,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    text = out.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    return text
