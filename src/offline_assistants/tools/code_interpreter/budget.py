"""Each sandbox's own budget: memory, tasks and CPU for all its processes, disk for its
/mnt/data.

Per-process limits (``setrlimit`` inside the sandbox) cannot stop five children
of 1 GiB each, and ``RLIMIT_NPROC`` counts per user: sandboxes sharing one uid
share one process budget, so a cell holding many processes stops every other
thread's kernel from starting. So each sandbox gets:

- **a cgroup of its own** where the runtime may make one (cgroup v2 delegated
  to its own subtree, or the v1 ``memory`` and ``pids`` hierarchies writable,
  as for root in most containers): the memory limit caps the sum of every
  process in the sandbox (tmpfs pages included), ``pids.max`` its tasks, and
  where the ``cpu`` controller is there too, a CPU quota (``cpu.max``, v1
  ``cpu.cfs_quota_us``: at most ``SandboxLimits.cpus`` cores) and a low weight
  (``cpu.weight``, v1 ``cpu.shares``), so a sandbox full of spinning processes
  gets what the model and the other sandboxes leave. The
  sandbox is put into it by a one-line shell that enters the group and then
  ``exec``\\ s bubblewrap, so nothing in the sandbox ever runs outside it;
- **a uid of its own** when the runtime runs as root (a random one from a range
  no account uses), so ``RLIMIT_NPROC`` is per sandbox even without cgroups;
- **a size-capped /mnt/data** when the runtime runs as root: the work
  directory is a tmpfs mounted on the host with ``size=``, so a cell cannot
  fill the data directory's disk.

``probe_cgroups()`` says which cgroup version is usable here, if any; the README
says what holds where (a normal user without delegation keeps the per-process
limits and the user namespace's own process count).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "offline-assistants-"
# Sandbox uids (root mode): 2^31 + a random 24-bit number, far from any real account.
UID_BASE = 1 << 31
MNT_DETACH = 2
CPU_PERIOD_US = 100_000
# A sandbox's CPU weight: about a sixteenth of a default task's (v1 1024, v2 100), so the
# model's threads keep their cores while sandboxes spin; sandboxes share equally.
CPU_SHARES = 64
CPU_WEIGHT = 6

# Enters the cgroups named in OA_CGROUP_PROCS (":"-separated cgroup.procs files), then
# becomes the sandbox: the shell's pid is the one bubblewrap keeps after exec.
ENTER = (
    'IFS=:; for f in $OA_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; '
    'unset OA_CGROUP_PROCS; exec "$@"'
)


@dataclass(frozen=True)
class CgroupParent:
    """Where sandbox cgroups are made: one directory (v2), or one per controller (v1)."""

    version: Literal[1, 2]
    directories: tuple[Path, ...]  # v2: one; v1: memory, pids and, with ``cpu``, cpu
    cpu: bool = False  # the CPU controller is there: a quota and a weight per sandbox


class Cgroup:
    """One sandbox's cgroup (v2) or cgroups (v1 memory + pids, and cpu where it can)."""

    def __init__(
        self, parent: CgroupParent, name: str, memory: int, tasks: int, cpus: float
    ) -> None:
        self.paths = [directory / name for directory in parent.directories]
        quota = max(1000, int(cpus * CPU_PERIOD_US))
        made: list[Path] = []
        try:
            for path in self.paths:
                path.mkdir()
                made.append(path)
            if parent.version == 2:
                (self.paths[0] / "memory.max").write_text(str(memory))
                swap = self.paths[0] / "memory.swap.max"
                if swap.exists():
                    swap.write_text("0")
                (self.paths[0] / "pids.max").write_text(str(tasks))
                if parent.cpu:
                    (self.paths[0] / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
                    (self.paths[0] / "cpu.weight").write_text(str(CPU_WEIGHT))
            else:
                memory_dir, pids_dir = self.paths[:2]
                (memory_dir / "memory.limit_in_bytes").write_text(str(memory))
                swap = memory_dir / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    with contextlib.suppress(OSError):
                        swap.write_text(str(memory))
                (pids_dir / "pids.max").write_text(str(tasks))
                if parent.cpu:
                    cpu_dir = self.paths[2]
                    (cpu_dir / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                    (cpu_dir / "cpu.cfs_quota_us").write_text(str(quota))
                    (cpu_dir / "cpu.shares").write_text(str(CPU_SHARES))
        except OSError:
            for path in made:
                with contextlib.suppress(OSError):
                    path.rmdir()
            raise

    def command(self, argv: list[str]) -> tuple[list[str], dict[str, str]]:
        """``argv`` started inside this cgroup, and the environment entry that says where."""
        procs = ":".join(str(path / "cgroup.procs") for path in self.paths)
        return ["/bin/sh", "-c", ENTER, "sh", *argv], {"OA_CGROUP_PROCS": procs}

    def processes(self) -> list[int]:
        """The pids of every process in the sandbox's group (its pids hierarchy in v1)."""
        path = self.paths[0] if len(self.paths) == 1 else self.paths[1]
        with contextlib.suppress(OSError, ValueError):
            return [int(pid) for pid in (path / "cgroup.procs").read_text().split()]
        return []

    def cpu_limit(self) -> float | None:
        """The cores the sandbox may use at most (its quota), None without a CPU controller."""
        for path in self.paths:
            with contextlib.suppress(OSError, ValueError):
                quota, period = (path / "cpu.max").read_text().split()
                return None if quota == "max" else int(quota) / int(period)
            with contextlib.suppress(OSError, ValueError):
                quota_us = int((path / "cpu.cfs_quota_us").read_text())
                period_us = int((path / "cpu.cfs_period_us").read_text())
                return None if quota_us < 0 else quota_us / period_us
        return None

    def peak_memory(self) -> int | None:
        """The most memory the sandbox used at once, where the kernel reports it."""
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            with contextlib.suppress(OSError, ValueError):
                return int((self.paths[0] / name).read_text().strip())
        return None

    def remove(self, wait: float = 5.0) -> None:
        """Remove the group once the last of its tasks is reaped (they may take a moment
        after the sandbox was killed), giving up after ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            for path in self.paths:
                with contextlib.suppress(OSError):
                    path.rmdir()
            if not any(path.exists() for path in self.paths) or time.monotonic() > deadline:
                return
            time.sleep(0.01)


def own_cgroup_paths() -> dict[str, str]:
    """This process's cgroup path by controller ("" for v2's unified hierarchy)."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                found[controller] = path
    return found


def probe_cgroups() -> CgroupParent | None:
    """Where this process may make cgroups with memory and pids limits (and a CPU budget
    where the cpu controller is there too); None if nowhere."""
    if os.environ.get("OFFLINE_ASSISTANTS_CGROUPS", "1") == "0":
        return None
    own = own_cgroup_paths()
    unified = CGROUP_ROOT / "cgroup.controllers"
    if unified.exists() and "" in own:
        return _probe_v2(CGROUP_ROOT / own[""].lstrip("/"))
    if "memory" in own and "pids" in own:
        memory = CGROUP_ROOT / "memory" / own["memory"].lstrip("/")
        pids = CGROUP_ROOT / "pids" / own["pids"].lstrip("/")
        if all(os.access(d, os.W_OK) for d in (memory, pids)):
            cpu = CGROUP_ROOT / "cpu" / own.get("cpu", "/nonexistent").lstrip("/")
            if "cpu" in own and (cpu / "cpu.cfs_quota_us").exists() and os.access(cpu, os.W_OK):
                return CgroupParent(1, (memory, pids, cpu), cpu=True)
            return CgroupParent(1, (memory, pids))
    return None


def _probe_v2(own: Path) -> CgroupParent | None:
    """A child of our own cgroup with memory and pids enabled beneath it, if allowed."""
    base = own / f"{PREFIX}{os.getpid()}"
    try:
        base.mkdir(exist_ok=True)
        controllers = (base / "cgroup.controllers").read_text().split()
        if not {"memory", "pids"} <= set(controllers):
            base.rmdir()
            return None
        (base / "cgroup.subtree_control").write_text("+memory +pids")
    except OSError:
        with contextlib.suppress(OSError):
            base.rmdir()
        return None
    cpu = False
    if "cpu" in controllers:
        try:
            (base / "cgroup.subtree_control").write_text("+cpu")
            cpu = True
        except OSError:
            log.info("the cpu controller is not delegated here: sandboxes are niced only")
    return CgroupParent(2, (base,), cpu=cpu)


def remove_stale_cgroups(parent: CgroupParent) -> None:
    """Empty sandbox cgroups a killed runtime left behind."""
    for directory in parent.directories:
        with contextlib.suppress(OSError):
            for child in directory.iterdir():
                if child.is_dir() and child.name.startswith(PREFIX):
                    with contextlib.suppress(OSError):
                        child.rmdir()


def sandbox_uid() -> int:
    """A uid for one sandbox (root mode): its own ``RLIMIT_NPROC`` count."""
    return UID_BASE + secrets.randbelow(1 << 24)


# -- a size-capped /mnt/data ---------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def mount_tmpfs(path: Path, size: int, uid: int) -> bool:
    """Make ``path`` a tmpfs of ``size`` bytes owned by ``uid`` (root only); False if not
    possible here, and the directory stays an ordinary one."""
    if os.geteuid() != 0 or is_mount(path):
        return is_mount(path)
    options = f"size={size},mode=0700,uid={uid},gid={uid}".encode()
    if _libc().mount(b"tmpfs", str(path).encode(), b"tmpfs", 0, options) != 0:
        log.warning("cannot mount a tmpfs on %s: %s", path, os.strerror(ctypes.get_errno()))
        return False
    return True


def unmount_tmpfs(path: Path) -> None:
    if is_mount(path):
        _libc().umount2(str(path).encode(), MNT_DETACH)


def is_mount(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return os.path.ismount(path)
    return False


def mounts_under(root: Path) -> list[Path]:
    """Mount points below ``root`` (a killed runtime's work directories), deepest first."""
    prefix = str(root.resolve()).rstrip("/") + "/"
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(str(p)), reverse=True)
