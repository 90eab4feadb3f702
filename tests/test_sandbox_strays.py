"""What a cell leaves running is stopped when the cell ends, and a sandbox has a CPU budget.

Before, a cell that forked 100 ``setsid()`` spinners returned at once and the
spinners kept both cores busy for 15 minutes; children of a fork that hit the
memory limit ran on as copies of the kernel. Each check here reads what is left
in the sandbox's PID namespace from ``/proc`` (and from its cgroup where there is
one) right after ``execute`` returns: no timing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_assistants.tools.code_interpreter import SandboxedKernel

SPINNERS = """
import os
for _ in range(40):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
print("forked")
"""

# Each child hits the address-space limit, catches it and returns into the kernel's own
# loop: a copy of the kernel that nobody asked for.
FORK_THEN_OOM = """
import os
for _ in range(3):
    if os.fork() == 0:
        try:
            block = bytearray(8 << 30)
        except MemoryError:
            pass
        break
else:
    print("parent")
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxedKernel]:
    kernel = SandboxedKernel(tmp_path_factory.mktemp("strays") / "w")
    kernel.start()
    yield kernel
    kernel.shutdown()


def left_running(kernel: SandboxedKernel) -> list[int]:
    """Processes in the sandbox besides its init and its kernel."""
    assert kernel.processes.namespace is not None
    extra = kernel.processes.left_running()
    if kernel.cgroup is not None:
        extra += [pid for pid in kernel.cgroup.processes() if pid not in kernel.processes.own]
    return extra


def test_setsid_spinners_are_stopped_when_the_cell_ends(
    kernel: SandboxedKernel, tmp_path: Path
) -> None:
    kernel.execute("kept = 41")
    result = kernel.execute(SPINNERS, timeout=30)
    assert result.logs.startswith("forked\n"), result.logs
    assert "[stopped 40 process(es) the cell left running]" in result.logs
    assert not result.restarted
    assert left_running(kernel) == []
    assert kernel.execute("print(kept + 1)").logs == "42\n"  # the kernel's state stayed
    with SandboxedKernel(tmp_path / "other") as other:  # another sandbox works as before
        assert other.execute("print(sum(range(10)))").logs == "45\n"


def test_fork_then_oom_copies_of_the_kernel_are_stopped(kernel: SandboxedKernel) -> None:
    result = kernel.execute(FORK_THEN_OOM, timeout=30)
    assert "parent" in result.logs
    assert left_running(kernel) == []
    again = kernel.execute("print('one answer')")
    assert again.logs == "one answer\n"  # no copy of the kernel answers beside it


def test_a_background_process_goes_with_its_cell(kernel: SandboxedKernel) -> None:
    result = kernel.execute("import subprocess\nsubprocess.Popen(['sleep', '600'])\nprint('ok')")
    assert result.logs == "ok\n[stopped 1 process(es) the cell left running]"
    assert left_running(kernel) == []
    assert kernel.execute("print('quiet')").logs == "quiet\n"  # no note when nothing was left


def test_a_timed_out_cell_leaves_nothing_running(kernel: SandboxedKernel) -> None:
    code = SPINNERS.replace('print("forked")', "while True:\n    pass")
    result = kernel.execute(code, timeout=2)
    assert result.status == "timeout"
    assert left_running(kernel) == []


def test_sandboxed_code_runs_niced(kernel: SandboxedKernel) -> None:
    result = kernel.execute(
        "import os, subprocess\nprint(os.nice(0), subprocess.run(['nice'], capture_output=True, "
        "text=True).stdout.strip())"
    )
    assert result.logs == f"{kernel.limits.nice} {kernel.limits.nice}\n"


def test_a_sandbox_has_a_cpu_quota_where_the_cpu_controller_is_there(
    kernel: SandboxedKernel,
) -> None:
    if kernel.cgroup is None or kernel.cgroups is None or not kernel.cgroups.cpu:
        pytest.skip("no cgroup with a cpu controller here: the sandbox is niced only")
    assert kernel.cgroup.cpu_limit() == kernel.limits.cpus
    pids = kernel.cgroup.processes()
    assert kernel.processes.own <= set(pids), (pids, kernel.processes.own)
    assert os.getpid() not in pids
