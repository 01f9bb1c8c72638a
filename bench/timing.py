"""What the bench scripts time with: a block's wall-clock and CPU seconds, the machine's
load, and printing that shows at once (a bench runs for minutes)."""

from __future__ import annotations

import os
import resource
import time


def say(text: str = "") -> None:
    """Print ``text`` now, not when the buffer fills."""
    print(text, flush=True)  # noqa: T201


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (all its threads: DuckDB's) and by its
    children that have ended (statsforecast's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    """Wall-clock and CPU seconds of a block: ``with Clock() as clock: ...``."""

    wall = cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = cpu_seconds() - self._cpu


def load_average() -> str:
    """The one-minute load average and the number of CPUs, to print beside a time."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
