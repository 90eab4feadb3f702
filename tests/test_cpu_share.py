"""The engine's thread count follows what other programs leave free while it works.

``ThreadAdvisor`` is checked against scripted CPU shares (exact), and ``CpuShare``
and the advisor against a real busy process on this machine (a core's worth of work
must be seen while the engine works, and not while it rests).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from offline_assistants.engine import cpu_share
from offline_assistants.engine.cpu_share import CpuShare, ThreadAdvisor


class ScriptedShare:
    """Reports the loads it was given, one per look."""

    available = True

    def __init__(self, loads: list[float]) -> None:
        self.loads = loads

    def sample(self) -> float:
        return self.loads.pop(0)


def test_the_count_is_the_cores_others_leave_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_share, "INTERVAL_SECONDS", 0.0)
    loads = [9.0, 0.0, 1.0, 1.4, 2.6, 3.9, 7.0, 0.2]  # the first look only starts a window
    advisor = ThreadAdvisor(4, share=ScriptedShare(loads))  # type: ignore[arg-type]
    assert [advisor.threads() for _ in range(8)] == [4, 4, 3, 3, 1, 1, 1, 4]


def test_a_fixed_count_never_changes() -> None:
    advisor = ThreadAdvisor(4, fixed=2)
    assert advisor.share is None and {advisor.threads() for _ in range(3)} == {2}


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads /proc")
def test_a_busy_process_is_seen() -> None:
    share = CpuShare()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        share.sample()
        time.sleep(1.0)
        others = share.sample()
    finally:
        spinner.kill()
        spinner.wait()
    assert others is not None and others >= 0.6  # about one core, whatever else runs


def _work(advisor: ThreadAdvisor, seconds: float) -> set[int]:
    """Ask for counts the way the batcher does while it works (here: spinning in Python,
    this process's own time), then rest; the counts the advisor gave."""
    given = {advisor.threads()}
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        given.add(advisor.threads())
    advisor.idle()
    return given


def _spinner() -> subprocess.Popen[bytes]:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    return spinner


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads /proc")
def test_only_the_time_the_engine_works_counts() -> None:
    """A program busy while the engine rests (a client between its requests, another
    server answering in turn) leaves every core to the engine's next request; one busy
    while it works takes a core from it."""
    advisor = ThreadAdvisor(2)
    assert _work(advisor, 0.7) == {2}
    spinner = _spinner()  # busy only while the engine rests
    time.sleep(1.0)
    spinner.kill()
    spinner.wait()
    assert _work(advisor, 0.7) == {2}  # from the first decode after the rest on
    spinner = _spinner()
    try:
        _work(advisor, 0.7)
        assert advisor.threads() == 1
    finally:
        spinner.kill()
        spinner.wait()
