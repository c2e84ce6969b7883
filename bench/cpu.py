"""Where the machine's CPU time went during a phase: each stack process, this benchmark process,
and everything else (other work on a shared machine skews the figures; this says by how much).

Linux only (`/proc`); elsewhere the snapshots are empty and the report says nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu_s(pid: int) -> float | None:
    """User plus system CPU seconds of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _machine_cpu_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks) - idle) / _TICK, sum(ticks) / _TICK


@dataclass(frozen=True)
class Snapshot:
    processes: dict[str, float]
    busy_s: float
    total_s: float


def snapshot(pids: Mapping[str, int]) -> Snapshot | None:
    machine = _machine_cpu_s()
    if machine is None:
        return None
    processes = {}
    for name, pid in {**pids, "benchmark": os.getpid()}.items():
        seconds = _process_cpu_s(pid)
        if seconds is not None:
            processes[name] = seconds
    return Snapshot(processes, *machine)


def usage(before: Snapshot | None, after: Snapshot | None) -> dict[str, float] | None:
    """Cores used on average between two snapshots, per process, by everything else
    (`others`) and idle; the cores add up to the machine's count."""
    if before is None or after is None:
        return None
    cores = os.cpu_count() or 1
    wall = (after.total_s - before.total_s) / cores
    if wall <= 0:
        return None
    used = {name: (after.processes[name] - before.processes.get(name, 0.0)) / wall
            for name in after.processes}
    busy = (after.busy_s - before.busy_s) / wall
    result = {name: round(value, 2) for name, value in used.items()}
    result["others"] = round(max(0.0, busy - sum(used.values())), 2)
    result["idle"] = round(max(0.0, cores - busy), 2)
    return result
