"""Memory and processor time of this process and every process it started (Spark's JVM among them), from /proc.

`resource.getrusage` sees this process, and its children only once they have exited and been
waited for; Spark's JVM lives as long as the session. `PeakMemory` samples the resident memory
of the whole tree while a block runs; `cpu_seconds` adds up the tree's processor time now.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: the fields after it are split safely.
    return text[text.rindex(")") + 2:].split()


def tree(root: int | None = None) -> list[int]:
    """This process (or `root`) and all its descendants' ids."""
    root = os.getpid() if root is None else root
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting.extend(parents.get(pid, []))
    return found


def rss_bytes(root: int | None = None) -> int:
    """Resident memory of the process tree now, in bytes."""
    total = 0
    for pid in tree(root):
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += pages * _PAGE
    return total


def cpu_seconds(root: int | None = None) -> float:
    """Processor time (user and system) the process tree has used so far, including its waited-for children."""
    ticks = 0
    for pid in tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name and state.
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / _TICKS


def process_cpu_seconds(pid: int | None) -> float | None:
    """Processor time (user and system) one process has used so far; None when it cannot be read here
    (no such process on this machine, as for a database server elsewhere)."""
    fields = _stat_fields(pid) if pid is not None else None
    return None if fields is None else sum(int(value) for value in fields[11:13]) / _TICKS


class PeakMemory:
    """Samples the process tree's resident memory while a `with` block runs; `peak_mb` is the largest seen."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_bytes())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)

