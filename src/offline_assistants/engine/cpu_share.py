"""How many threads generation should use right now: all cores, less what others are using.

llama.cpp's threads meet at a barrier after every operation, spinning while they
wait. When another program keeps a core busy, one of our threads keeps being
descheduled and the others spin until it comes back: on two cores with one core
busy, two threads generated ~2 tokens/s where one thread kept ~28
(``benchmarks/engine_settings.py``, "threads under load"). A fixed "cores - 1"
avoids the collapse but gives up ~40% when the machine is idle.

So the count adapts: ``CpuShare`` reads, from ``/proc/stat`` (the CPUs this process
may run on) and ``/proc/self/stat``, how much CPU time *other* processes took since
the last look (steal time included: a busy host), and ``ThreadAdvisor`` gives
generation and prompt evaluation the cores that are left (at least one). The
engine asks every half second while it works. Only the time it works counts: what
other programs did while the model was idle took no core from it (a client that
works between its requests, a second server answering in turn, would otherwise make
the next request run on one thread: a new thread's first token took ~75 ms of prompt
evaluation instead of ~45, ``benchmarks/new_threads.py``), so the batcher says when
its work runs out (:meth:`ThreadAdvisor.idle`) and the look after it starts afresh.
Where ``/proc`` is missing (macOS) it is every core, as before.
``OFFLINE_ASSISTANTS_THREADS`` fixes the count instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

# How often the share is measured while generating; shorter intervals are noisier.
INTERVAL_SECONDS = 0.5


class CpuShare:
    """Cores' worth of CPU time other processes used since the previous ``sample``."""

    def __init__(self, cpus: set[int] | None = None, clock: Callable[[], float] = time.monotonic):
        self.cpus = cpus if cpus is not None else _allowed_cpus()
        self.clock = clock
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._read()

    @property
    def available(self) -> bool:
        return self._last is not None

    def sample(self) -> float | None:
        """Other processes' load in cores since the last sample (None without /proc)."""
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return None
        elapsed = now[0] - last[0]
        busy = (now[1] - last[1]) / self.tick
        ours = (now[2] - last[2]) / self.tick
        return max(0.0, (busy - ours) / elapsed)

    def _read(self) -> tuple[float, int, int] | None:
        """(time, busy ticks of our CPUs, our own ticks), or None without /proc."""
        try:
            lines = Path("/proc/stat").read_text().splitlines()
            mine = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        busy = 0
        for line in lines:
            name, _, rest = line.partition(" ")
            if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in self.cpus:
                continue
            fields = [int(v) for v in rest.split()]
            # user nice system idle iowait irq softirq steal ...: all but idle and iowait
            busy += sum(fields[:8]) - fields[3] - fields[4]
        ours = int(mine[11]) + int(mine[12])  # utime, stime (fields 14 and 15 of the line)
        return self.clock(), busy, ours


class ThreadAdvisor:
    """The thread counts to use now: ``fixed`` if given, else the cores others leave free
    while the engine works."""

    def __init__(self, cores: int, fixed: int | None = None, share: CpuShare | None = None):
        self.cores = cores
        self.fixed = fixed
        self.share = share if fixed is None else None
        if self.share is None and fixed is None:
            self.share = CpuShare()
        self._count = fixed or cores
        self._checked = 0.0
        self._resting = True  # no work yet, or it ran out: the next look starts a window
        self._worked = 0.0  # seconds of work measured since the count was last set
        self._taken = 0.0  # core-seconds others took of them

    def threads(self) -> int:
        """The count for the next stretch of work (measured at most every half second,
        over time spent working)."""
        if self.share is None or not self.share.available:
            return self._count
        moment = time.monotonic()
        if self._resting:  # what others did while the engine rested is no contention
            self._resting = False
            self._checked = moment
            self.share.sample()
        elif moment - self._checked >= INTERVAL_SECONDS:
            self._look(moment)
        return self._count

    def idle(self) -> None:
        """The engine's work ran out: what others took of the stretch it worked counts
        (short stretches add up to a half second), the time until it works again does not."""
        if self.share is None or not self.share.available or self._resting:
            return
        self._look(time.monotonic())
        self._resting = True

    def _look(self, moment: float) -> None:
        assert self.share is not None
        took, self._checked = max(moment - self._checked, 1e-9), moment
        others = self.share.sample()
        if others is None:
            return
        self._worked += took
        self._taken += others * took
        if self._worked >= INTERVAL_SECONDS:
            load = self._taken / self._worked
            self._count = max(1, min(self.cores, round(self.cores - load)))
            self._worked = self._taken = 0.0


def _allowed_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:
        return set(range(os.cpu_count() or 1))
