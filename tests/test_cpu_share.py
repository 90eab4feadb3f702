"""The engine's thread count follows what other programs leave free.

``ThreadAdvisor`` is checked against scripted CPU shares (exact), and ``CpuShare``
against a real busy process on this machine (it must see a core's worth of work).
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
    advisor = ThreadAdvisor(4, share=ScriptedShare([0.0, 1.0, 1.4, 2.6, 3.9, 7.0, 0.2]))  # type: ignore[arg-type]
    assert [advisor.threads() for _ in range(7)] == [4, 3, 3, 1, 1, 1, 4]


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
