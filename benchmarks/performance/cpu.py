"""CPU seconds of this process's live child processes (a signing pool's workers), from Linux's /proc.

getrusage(RUSAGE_CHILDREN) counts only children that have exited and been waited for, and the
pool's workers are alive while measured, so /proc is read instead: each child's `schedstat` (run
time in ns of its main thread, all a worker has) or, where that is missing, its `stat` (10 ms ticks).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _cpu(proc: Path, fields: list[str]) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int((proc / "schedstat").read_text().split()[0]) / 1e9
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def children_cpu() -> float:
    """CPU seconds used so far by this process's live children (0 where /proc is missing)."""
    me, total = str(os.getpid()), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rpartition(")")[2].split()  # after the command name, which may hold spaces
            if fields[1] == me:  # fields[1] is the parent pid
                total += _cpu(stat.parent, fields)
    return total
