"""CPU seconds used by other processes: the server, and the signing pool's workers (Linux /proc; 0 elsewhere)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _stat_fields(stat: Path) -> list[str]:
    """The fields of a /proc/<pid>/stat after the command name (which may hold spaces): [0] is the state."""
    return stat.read_text().rpartition(")")[2].split()


def _cpu_ticks(fields: list[str]) -> int:
    """utime + stime, in clock ticks (10 ms)."""
    return int(fields[11]) + int(fields[12])


def process_cpu(pid: int) -> float:
    """CPU seconds process `pid` has used so far (0 where /proc is missing)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    return _cpu_ticks(_stat_fields(stat)) / os.sysconf("SC_CLK_TCK")


def children_cpu(exclude: int) -> float:
    """CPU seconds used so far by this process's live child processes, except `exclude` (the server).

    The signing pool's workers are children of this process (started with "spawn"), so their
    CPU is the client's too. They are alive while measured, and getrusage(RUSAGE_CHILDREN) only
    counts children that have exited and been waited for, so their /proc/<pid>/stat is read instead.
    """
    me, total = str(os.getpid()), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(stat)
            if fields[1] == me and int(stat.parent.name) != exclude:  # fields[1] is the parent pid
                total += _cpu_ticks(fields)
    return total / os.sysconf("SC_CLK_TCK") if total else 0.0
