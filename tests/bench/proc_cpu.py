"""Per-process figures read from the kernel for the benchmarks: CPU seconds (the per-request
breakdowns), resident memory, threads, open files.

The service and Asterisk are read from /proc/PID/stat (every thread's user + system time);
SIPp from the driver's reaped children (RUSAGE_CHILDREN: SIPp exits within the step, and
its time lands there when it is waited for); the driver from RUSAGE_SELF; the machine from
/proc/stat's busy and total ticks across every core.
"""

import os
import resource
import subprocess
from dataclasses import dataclass, fields
from pathlib import Path

from tests.support.testbed import current

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of every thread of ``pid`` so far (0.0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    after_name = text.rsplit(")", 1)[1].split()  # the name may hold spaces and parentheses
    return (int(after_name[11]) + int(after_name[12])) / _TICKS


def asterisk_pid() -> int:
    """The pid of the bed's sandboxed Asterisk (docker/sandbox writes it to its run directory:
    $CACHE/run/asterisk.pid for instance 1, $CACHE/runN/asterisk.pid for instance N)."""
    cache = Path(os.environ.get("CALLBACK_SANDBOX_CACHE", "/var/cache/agi-callback"))
    instance = current().asterisk.instance
    run = cache / ("run" if instance == 1 else f"run{instance}")
    return int((run / "asterisk.pid").read_text().strip())


def proc_status(field: str, pid: int | str = "self") -> int:
    """A number from /proc/<pid>/status (VmRSS in KiB, Threads)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int | str = "self") -> int:
    return proc_status("VmRSS", pid)


def threads(pid: int) -> int:
    return proc_status("Threads", pid)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass(frozen=True)
class Cpu:
    """Seconds of CPU (and of wall clock, across all cores) up to one moment."""

    service: float
    asterisk: float
    sipp: float  # reaped children: SIPp, once waited for
    driver: float  # this process: the SIPp driver and its AMI clients
    busy: float  # every process of the machine
    capacity: float  # wall clock x cores

    def __sub__(self, other: "Cpu") -> "Cpu":
        return Cpu(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


def snapshot(service_pid: int | None, asterisk: int) -> Cpu:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return Cpu(
        service=cpu_seconds(service_pid) if service_pid else 0.0,
        asterisk=cpu_seconds(asterisk),
        sipp=children.ru_utime + children.ru_stime,
        driver=own.ru_utime + own.ru_stime,
        busy=(sum(ticks) - idle) / _TICKS,
        capacity=sum(ticks) / _TICKS,
    )


def pin_threads(pid: int, cpus: str) -> None:
    """Every thread of ``pid`` to the CPUs ``cpus`` (taskset's list, "0" or "0-1")."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)


def cpu_set(cpus: str) -> set[int]:
    """A taskset list ("0", "0-1", "0,2") as a set of CPU numbers."""
    out: set[int] = set()
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def renice(pid: int, niceness: int) -> None:
    """Every thread of ``pid`` to ``niceness`` (Linux sets it per thread)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


def all_cpus() -> str:
    return f"0-{(os.cpu_count() or 1) - 1}"
