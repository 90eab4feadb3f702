"""SandboxedKernel and KernelSessions with real sandboxed kernels: state, outputs, limits, recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_assistants.tools.code_interpreter import (
    KernelSessions,
    OutputLimits,
    SandboxedKernel,
    SessionSettings,
)
from offline_assistants.tools.code_interpreter.budget import is_mount, unmount_tmpfs
from offline_assistants.tools.code_interpreter.kernel_home import (
    new_kernel_home,
    remove_leftover_homes,
)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxedKernel]:
    with SandboxedKernel(tmp_path_factory.mktemp("work"), output_limits=OutputLimits()) as k:
        yield k


def test_state_is_kept_between_cells(kernel: SandboxedKernel) -> None:
    assert kernel.execute("x = 41").status == "ok"
    result = kernel.execute("print(x + 1)\nx * 2")
    assert result.status == "ok" and result.logs == "42\n82\n"


def test_an_error_is_an_output_with_its_traceback(kernel: SandboxedKernel) -> None:
    result = kernel.execute("1 / 0")
    assert result.status == "error"
    assert result.error == "ZeroDivisionError: division by zero"
    assert "ZeroDivisionError" in result.logs and "\x1b[" not in result.logs  # colours stripped


def test_matplotlib_figure_is_an_image(kernel: SandboxedKernel) -> None:
    result = kernel.execute(
        "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.title('squares')\nplt.show()"
    )
    assert result.status == "ok" and len(result.images) == 1
    assert result.images[0].startswith(b"\x89PNG\r\n\x1a\n")


def test_written_files_are_collected_once(kernel: SandboxedKernel) -> None:
    result = kernel.execute(
        "import os\nos.makedirs('out', exist_ok=True)\n"
        "open('/mnt/data/table.csv', 'w').write('a,b\\n1,2\\n')\n"
        "open('out/nested.txt', 'w').write('deep')"
    )
    assert {f.name: f.data for f in result.files} == {
        "table.csv": b"a,b\n1,2\n",
        "out/nested.txt": b"deep",
    }
    assert kernel.execute("print('nothing new')").files == []  # unchanged files are not news
    changed = kernel.execute("open('table.csv', 'a').write('3,4\\n')")
    assert [(f.name, f.data) for f in changed.files] == [("table.csv", b"a,b\n1,2\n3,4\n")]


def test_timeout_interrupts_and_keeps_the_state(kernel: SandboxedKernel) -> None:
    kernel.execute("kept = 'still here'")
    result = kernel.execute("while True:\n    pass", timeout=1)
    assert result.status == "timeout" and not result.restarted
    assert "timed out after 1 s" in (result.error or "")
    assert kernel.execute("print(kept)").logs == "still here\n"


def test_a_cell_that_ignores_interrupts_gets_a_restarted_kernel(kernel: SandboxedKernel) -> None:
    kernel.execute("lost = 1")
    result = kernel.execute(
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
        "    except KeyboardInterrupt:\n        pass",
        timeout=1,
    )
    assert result.status == "timeout" and result.restarted
    assert "restarted" in (result.error or "")
    after = kernel.execute("print('alive'); print('lost' in globals())")
    assert after.logs == "alive\nFalse\n"


def test_kernel_death_is_reported_and_recovered(kernel: SandboxedKernel) -> None:
    before = kernel.process.pid if kernel.process else None
    result = kernel.execute("import os\nos._exit(3)", timeout=10)
    assert result.status == "died" and result.restarted
    assert "exit code" in (result.error or "")
    assert kernel.process is not None and kernel.process.pid != before
    assert kernel.execute("print(6 * 7)").logs == "42\n"


def test_huge_output_is_capped_but_drained(tmp_path: Path) -> None:
    limits = OutputLimits(max_log_chars=1000)
    with SandboxedKernel(tmp_path / "w", output_limits=limits) as k:
        result = k.execute("for i in range(20000):\n    print('line', i)\nprint('done')")
        assert result.status == "ok"
        assert len(result.logs) < 1200 and "[output truncated:" in result.logs
        assert k.execute("print('next')").logs == "next\n"  # nothing of the flood left behind


def test_sessions_give_each_thread_its_own_kernel(tmp_path: Path) -> None:
    sessions = KernelSessions(tmp_path / "ci", SessionSettings(pool_size=1, preload=""))
    try:
        sessions.execute("thread_a", "secret = 'a'")
        assert sessions.execute("thread_a", "print(secret)").logs == "a\n"
        other = sessions.execute("thread_b", "print(secret)")
        assert other.status == "error" and "NameError" in (other.error or "")
        path = sessions.put_file("thread_b", "../notes.txt", b"hello")
        assert path == "/mnt/data/notes.txt"
        assert sessions.execute("thread_b", f"print(open('{path}').read())").logs == "hello\n"
        missing = sessions.execute("thread_a", "open('/mnt/data/notes.txt')")
        assert "FileNotFoundError" in (missing.error or "")
    finally:
        sessions.close()
    assert list((tmp_path / "ci").iterdir()) == []  # work directories removed with the kernels


def test_idle_kernels_are_shut_down(tmp_path: Path) -> None:
    settings = SessionSettings(pool_size=0, idle_seconds=0.5, preload="")
    sessions = KernelSessions(tmp_path / "ci", settings)
    try:
        sessions.execute("thread_a", "value = 1")
        assert sessions.has_session("thread_a")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            sessions.has_session("thread_a") or any((tmp_path / "ci").iterdir())
        ):
            time.sleep(0.1)
        assert not sessions.has_session("thread_a")
        assert list((tmp_path / "ci").iterdir()) == []  # its work directory went with it
        fresh = sessions.execute("thread_a", "print('value' in globals())")
        assert fresh.logs == "False\n"  # a new kernel: the old state is gone, as documented
    finally:
        sessions.close()


def test_warm_pool_hands_out_a_started_kernel(tmp_path: Path) -> None:
    sessions = KernelSessions(tmp_path / "ci", SessionSettings(pool_size=1, preload=""))
    try:
        sessions.warm()
        deadline = time.monotonic() + 30
        while not sessions._warm and time.monotonic() < deadline:
            time.sleep(0.05)
        warm = sessions._warm[0]
        sessions.execute("thread_a", "pass")
        assert sessions._session("thread_a").kernel is warm
    finally:
        sessions.close()


def test_no_kernel_process_outlives_close(tmp_path: Path) -> None:
    sessions = KernelSessions(tmp_path / "ci", SessionSettings(pool_size=1, preload=""))
    sessions.execute("thread_a", "import subprocess\nsubprocess.Popen(['sleep', '300'])")
    pids = [s.kernel.process.pid for s in sessions._sessions.values() if s.kernel.process]
    sessions.close()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert os.path.isdir(tmp_path / "ci")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_without_bwrap_the_kernel_refuses_and_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from offline_assistants.tools.code_interpreter import SandboxUnavailable

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    with pytest.raises(SandboxUnavailable) as err:
        SandboxedKernel(tmp_path / "w")
    assert "apt-get install bubblewrap" in str(err.value)
    assert "OFFLINE_ASSISTANTS_UNSANDBOXED_CODE=1" in str(err.value)


def test_the_unsandboxed_opt_in_runs_with_the_same_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("OA_UNSANDBOXED_SECRET", "visible-only-by-choice")
    with SandboxedKernel(tmp_path / "w", sandboxed=False) as k:
        result = k.execute(
            "import os, resource\nprint(os.getcwd())\n"
            "print(resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
            "print('OA_UNSANDBOXED_SECRET' in os.environ)"
        )
    cwd, nproc, leaked = result.logs.split()
    assert cwd == str(tmp_path / "w") and int(nproc) == k.limits.processes
    assert leaked == "False"  # even unsandboxed, the environment is the minimal one


KILLED = """
import sys, time
from pathlib import Path
from offline_assistants.tools.code_interpreter.kernel import SandboxedKernel
kernel = SandboxedKernel(Path(sys.argv[1]))
kernel.start()
print(kernel._home, flush=True)
time.sleep(600)
"""


def test_a_killed_runtime_s_kernel_folder_is_removed_at_the_next_start(tmp_path: Path) -> None:
    """kill -9 runs no clean-up: the kernel's IPC folder stays in the host's tmp until the
    next runtime starts (sessions.py), which removes the folders of dead runtimes only."""
    runtime = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(tmp_path / "w")], stdout=subprocess.PIPE, text=True
    )
    assert runtime.stdout is not None
    home = Path(runtime.stdout.readline().strip())
    try:
        assert home.is_dir() and home.name.startswith(f"oa-kernel-{runtime.pid}-")
    finally:
        runtime.send_signal(signal.SIGKILL)
        runtime.wait(30)
        if is_mount(tmp_path / "w"):  # its /mnt/data tmpfs (sessions.py unmounts these too)
            unmount_tmpfs(tmp_path / "w")
    mine = new_kernel_home()  # this process is alive: its folder stays
    try:
        assert home.is_dir()  # nothing cleaned it
        removed = remove_leftover_homes()
        assert home in removed and not home.exists()
        assert mine.is_dir() and mine not in removed
    finally:
        mine.rmdir()
