"""Each sandbox has a budget of its own: memory for all its processes together, its own
process count, a size-capped /mnt/data, and no way to write into its IPC directory.

Before, every sandbox ran as ``nobody`` (one ``RLIMIT_NPROC`` for all of them) with
only per-process memory limits and an uncapped /mnt/data. The cgroup cases need a
place to make cgroups (see ``budget.probe_cgroups``), the others root (a uid per
sandbox, a tmpfs mount); they skip, saying so, elsewhere.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from offline_assistants.tools.code_interpreter import SandboxedKernel, SandboxLimits
from offline_assistants.tools.code_interpreter.budget import probe_cgroups

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="per-sandbox uids and mounts need root")


@pytest.fixture
def kernels(tmp_path: Path) -> Iterator[list[SandboxedKernel]]:
    started: list[SandboxedKernel] = []
    yield started
    for kernel in started:
        kernel.shutdown()


def start(kernels: list[SandboxedKernel], workdir: Path, **limits: int) -> SandboxedKernel:
    kernel = SandboxedKernel(workdir, limits=SandboxLimits(**limits))
    kernel.start()
    kernels.append(kernel)
    return kernel


def test_memory_is_capped_for_the_whole_sandbox(
    kernels: list[SandboxedKernel], tmp_path: Path
) -> None:
    if probe_cgroups() is None:
        pytest.skip("no cgroup may be made here: memory is capped per process only")
    kernel = start(kernels, tmp_path / "w", memory_bytes=768 << 20)
    assert kernel.cgroup is not None
    code = """
import multiprocessing, time
def hold():
    block = bytearray(300 << 20)  # touched: real memory
    time.sleep(3)
    print("held", flush=True)
children = [multiprocessing.Process(target=hold) for _ in range(4)]
for c in children: c.start()
for c in children: c.join()
print("exits", sorted(c.exitcode for c in children))
"""
    result = kernel.execute(code, timeout=60)
    # 4 x 300 MB cannot fit in the sandbox's 768 MB: the cgroup stops some of them.
    assert result.logs.count("held") < 4 or result.status == "died", result.logs
    peak = kernel.cgroup.peak_memory() if kernel.cgroup is not None else None
    assert peak is None or peak <= 768 << 20


@needs_root
def test_a_sandbox_full_of_processes_does_not_stop_another(
    kernels: list[SandboxedKernel], tmp_path: Path
) -> None:
    busy = start(kernels, tmp_path / "a")  # 128 tasks each, threads included
    # Its cell holds 95 processes until this test has started the other sandbox's 30
    # (what a cell leaves running is stopped when it ends).
    holding = (
        "import os, subprocess, time\n"
        "procs = [subprocess.Popen(['sleep', '60']) for _ in range(95)]\n"
        "print(len(procs), flush=True)\n"
        "open('/mnt/data/holding', 'w').close()\n"
        "while not os.path.exists('/mnt/data/done'):\n"
        "    time.sleep(0.05)\n"
    )
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(busy.execute, holding, 60)
        while not (busy.workdir / "holding").exists() and not held.done():
            time.sleep(0.05)
        other = start(kernels, tmp_path / "b")  # with one uid for all, this could not start
        result = other.execute(
            "import subprocess\n"
            "procs = [subprocess.Popen(['sleep', '1']) for _ in range(30)]\n"
            "print('started', len(procs))",
            timeout=60,
        )
        (busy.workdir / "done").touch()
        assert held.result().logs.startswith("95\n[stopped 95 process(es)"), held.result().logs
    assert result.logs.startswith("started 30\n"), result.logs
    assert busy.uid != other.uid


@needs_root
def test_mnt_data_is_size_capped(kernels: list[SandboxedKernel], tmp_path: Path) -> None:
    kernel = start(kernels, tmp_path / "w", data_bytes=64 << 20)
    assert kernel.data_capped
    free_before = shutil.disk_usage(tmp_path).free
    result = kernel.execute(
        "try:\n"
        "    with open('/mnt/data/big.bin', 'wb') as f:\n"
        "        for _ in range(100): f.write(b'x' * (1 << 20))\n"
        "    print('ESCAPED: wrote 100 MB')\n"
        "except OSError as e:\n"
        "    print('BLOCKED', e.errno)",
        timeout=60,
    )
    assert "BLOCKED 28" in result.logs, result.logs  # ENOSPC: the sandbox's disk is full
    assert shutil.disk_usage(tmp_path).free > free_before - (32 << 20)
    # The cap survives a restart, and the files with it; shutdown takes both away.
    kernel.restart()
    again = kernel.execute("import os; print(os.path.getsize('/mnt/data/big.bin') > 0)")
    assert again.logs.strip() == "True"
    kernel.shutdown()
    assert not os.path.ismount(kernel.workdir)


@needs_root
def test_the_ipc_directory_is_not_writable_inside(
    kernels: list[SandboxedKernel], tmp_path: Path
) -> None:
    kernel = start(kernels, tmp_path / "w")
    result = kernel.execute(
        "import os\n"
        "try:\n"
        "    open('/run/kernel/planted', 'w').write('x')\n"
        "    print('ESCAPED: wrote into the IPC directory')\n"
        "except OSError as e:\n"
        "    print('BLOCKED', type(e).__name__)\n"
        "try:\n"
        "    os.chmod('/run/kernel', 0o777)\n"
        "    print('ESCAPED: chmod')\n"
        "except OSError as e:\n"
        "    print('BLOCKED', type(e).__name__)",
    )
    assert result.logs.count("BLOCKED PermissionError") == 2, result.logs


def test_the_cgroup_goes_with_the_kernel(kernels: list[SandboxedKernel], tmp_path: Path) -> None:
    if probe_cgroups() is None:
        pytest.skip("no cgroup may be made here")
    kernel = start(kernels, tmp_path / "w")
    assert kernel.cgroup is not None
    paths = list(kernel.cgroup.paths)
    assert all(path.is_dir() for path in paths)
    kernel.restart()  # a new cgroup for the new sandbox, the old one removed
    assert kernel.cgroup is not None and not any(p.exists() for p in paths)
    paths = list(kernel.cgroup.paths)
    kernel.shutdown()
    assert not any(path.exists() for path in paths)


ALLOCATE = """
try:
    block = bytes({size})  # calloc: address space, not resident memory
    print("allocated")
except MemoryError:
    print("MemoryError")
"""


def test_a_cell_may_allocate_the_memory_budget_the_readme_states(
    kernels: list[SandboxedKernel], tmp_path: Path
) -> None:
    """The address-space limit counted what the kernel held before any cell (threads'
    stacks, malloc arenas): a 2 GiB budget let a cell allocate 800 MiB to 1.3 GiB."""
    budget = SandboxLimits().memory_bytes
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| memory |"))
    assert f"{budget >> 30} GiB per process" in row, row
    kernel = start(kernels, tmp_path / "w")
    almost = kernel.execute(ALLOCATE.format(size=budget - (96 << 20)))
    assert almost.logs == "allocated\n", almost.logs
    beyond = kernel.execute(ALLOCATE.format(size=budget + (32 << 20)))
    assert beyond.logs == "MemoryError\n", beyond.logs
    forked = kernel.execute(  # a child inherits the same limit
        "import os\npid = os.fork()\nif pid == 0:\n"
        + "".join(
            "    " + line + "\n" for line in ALLOCATE.format(size=budget + (32 << 20)).split("\n")
        )
        + "    os._exit(0)\n_ = os.waitpid(pid, 0)"
    )
    assert forked.logs == "MemoryError\n", forked.logs


@needs_root
def test_the_sandbox_sees_no_host_path_in_its_mounts(
    kernels: list[SandboxedKernel], tmp_path: Path
) -> None:
    """Its mountinfo showed the host path of the kernel's IPC folder (in the host's tmp);
    as root that folder and /mnt/data are tmpfs mounts of their own."""
    kernel = start(kernels, tmp_path / "w")
    assert kernel._home is not None and os.path.ismount(kernel._home)
    result = kernel.execute("print(open('/proc/self/mountinfo').read())")
    mounts = result.logs
    assert "/run/kernel" in mounts and "/mnt/data" in mounts, mounts
    for host_path in (str(kernel._home), str(tmp_path), "oa-kernel-"):
        assert host_path not in mounts, mounts
    home = kernel._home
    kernel.shutdown()
    assert not home.exists()  # unmounted and removed


def test_the_readme_table_states_the_limits_the_sandbox_sets() -> None:
    limits = SandboxLimits()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rows = {
        line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| ")
    }
    cores = "1 core" if limits.cpus == 1 else f"{limits.cpus:g} cores"
    assert f"at most {cores}" in rows["CPU"] and f"nice {limits.nice}" in rows["CPU"]
    assert f"{limits.processes} tasks" in rows["processes"]
    assert f"{limits.data_bytes >> 30} GiB tmpfs" in rows["`/mnt/data`"]
    assert f"{limits.tmp_bytes >> 20} MiB tmpfs" in rows["`/tmp`"]
