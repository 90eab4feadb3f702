"""The sandbox a Code Interpreter kernel runs in: a bubblewrap command line and its limits.

Model-written code must not reach the network, the host's files or the
runtime's database. ``sandbox_command`` builds a ``bwrap`` invocation that

- unshares every namespace (network, PID, IPC, UTS, cgroup, and the user
  namespace when the runtime is not root), dies with its parent and starts a
  new session;
- shows only the system (``/usr`` and its ``/bin``, ``/lib`` links), the Python
  prefix and the virtual environment, all read-only; ``/etc``, homes and the
  data directory are simply not there;
- gives a private, size-capped tmpfs ``/tmp`` (HOME, IPYTHONDIR, MPLCONFIGDIR
  live there), the thread's work directory as ``/mnt/data`` and the kernel's
  IPC directory, the only writable places;
- clears the environment to a short allow-list (no secrets of the parent, no
  ``JPY_PARENT_PID``, so ipykernel's parent poller leaves the kernel alone:
  ``--die-with-parent`` does that job).

Inside, a few lines of bootstrap set the resource limits (address space, file
size, open files, processes, no core dumps; the kernel's first cell lowers the
address space to what the started kernel holds plus the memory budget, so the
budget is what a cell may allocate), lower the CPU priority (nice 10,
inherited by everything the kernel starts: where no cgroup gives the sandbox a
CPU budget, that is what keeps spinning code behind the model) and, when the runtime runs as
root, drop to the sandbox's own unprivileged uid (see :mod:`.budget`) so that
the process limit applies, per sandbox (the kernel exempts root from it),
before ipykernel starts. The budgets of the whole sandbox (a cgroup, the size
of /mnt/data) are :mod:`.budget`'s.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

MNT_DATA = "/mnt/data"
KERNEL_RUN_DIR = "/run/kernel"

# Runs inside the sandbox: limits, then (as root) drop privileges, then the kernel.
BOOTSTRAP = """\
import json, os, resource, sys
config = json.loads(sys.argv[1])
os.nice(config["nice"])
for name, value in config["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if config["uid"] is not None:
    os.setgroups([])
    os.setresgid(config["gid"], config["gid"], config["gid"])
    os.setresuid(config["uid"], config["uid"], config["uid"])
sys.argv = ["ipykernel", *config["argv"]]
from ipykernel.kernelapp import launch_new_instance
launch_new_instance()
"""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-kernel resource limits: setrlimit inside the sandbox (per process), the sandbox's
    cgroup (all its processes together), and the sizes of its /tmp and /mnt/data."""

    # A cell may allocate this much per process (RLIMIT_AS: what the started kernel holds,
    # plus this), and all the sandbox's processes together hold at most this (the cgroup).
    memory_bytes: int = 2 << 30
    file_size_bytes: int = 256 << 20  # RLIMIT_FSIZE: a huge file stops at this size
    open_files: int = 256  # RLIMIT_NOFILE
    processes: int = 128  # RLIMIT_NPROC and pids.max (tasks, threads included)
    tmp_bytes: int = 256 << 20  # the private /tmp is a tmpfs in memory
    data_bytes: int = 1 << 30  # /mnt/data, a tmpfs of this size when the runtime is root
    cpus: float = 1.0  # the cgroup's CPU quota, in cores, where the cpu controller is there
    nice: int = 10  # every process in the sandbox runs at this niceness

    def settle_code(self) -> str:
        """The first cell: the address-space limit set from what the started kernel holds."""
        return SETTLE_ADDRESS_SPACE.format(budget=self.memory_bytes)

    def rlimits(self) -> dict[str, int]:
        return {
            "RLIMIT_AS": self.memory_bytes + START_ADDRESS_SPACE,  # lowered once started
            "RLIMIT_FSIZE": self.file_size_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_CORE": 0,
        }


# The first cell of every kernel: the address-space limit becomes what the kernel holds
# once started (its threads' stacks and malloc arenas: 0.6 to 1.2 GiB that no cell
# allocated) plus the sandbox's memory budget, so a cell may allocate that budget.
SETTLE_ADDRESS_SPACE = """\
import resource as _resource
with open("/proc/self/status") as _status:
    _held = next(int(l.split()[1]) * 1024 for l in _status if l.startswith("VmSize:"))
_limit = min(_held + {budget}, _resource.getrlimit(_resource.RLIMIT_AS)[1])
_resource.setrlimit(_resource.RLIMIT_AS, (_limit, _limit))
del _resource, _status, _held, _limit
"""
# What the kernel may hold before that first cell lowers the limit: room to start.
START_ADDRESS_SPACE = 4 << 30


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def python_roots() -> list[Path]:
    """Directories the kernel's interpreter needs, read-only: the base prefix and the venv."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(roots)


def kernel_environment() -> dict[str, str]:
    """The whole environment model code sees: nothing inherited from the runtime."""
    venv_bin = str(Path(sys.prefix) / "bin")
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home",
        "TMPDIR": "/tmp",
        "IPYTHONDIR": "/tmp/ipython",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _parent_dirs(paths: list[Path]) -> list[str]:
    parents: list[Path] = []
    for path in paths:
        for parent in reversed(path.parents):
            # "/" and /tmp exist already (/tmp is the sandbox's tmpfs); /usr is bound whole.
            if parent in (Path("/"), Path("/tmp"), Path("/usr")) or parent in parents:
                continue
            if not str(parent).startswith("/usr/"):
                parents.append(parent)
    args: list[str] = []
    for parent in parents:
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def sandbox_command(
    *,
    bwrap: str,
    workdir: Path,
    rundir: Path,
    kernel_argv: list[str],
    limits: SandboxLimits,
    uid: int | None,
) -> list[str]:
    """The full argv: bwrap, its mounts and namespaces, then the bootstrap that starts ipykernel.

    ``uid`` is the sandbox's own uid when the runtime is root (the bootstrap drops to it),
    None for a normal user (a user namespace maps the user inside).
    """
    if uid is None:
        # Every namespace, and no nested user namespaces for the code inside.
        namespaces = ["--unshare-all", "--unshare-user", "--disable-userns"]
    else:
        # As root there is no user namespace to unshare usefully (uid 0 outside is exempt
        # from RLIMIT_NPROC); the bootstrap keeps only setuid/setgid, and drops to ``uid``.
        namespaces = [
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
        ]  # fmt: skip
    args = [bwrap, *namespaces, "--die-with-parent", "--new-session", "--clearenv"]
    for name, value in kernel_environment().items():
        args += ["--setenv", name, value]
    args += _system_mounts()
    # /tmp first: a Python prefix or venv that lives under /tmp is bound on top of it.
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    roots = python_roots()
    # bwrap creates missing parents 0700 when run as root: make them traversable first.
    args += _parent_dirs([*roots, Path(MNT_DATA), Path(KERNEL_RUN_DIR), Path("/etc/fonts")])
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    args += ["--ro-bind-try", "/etc/fonts", "/etc/fonts"]  # fontconfig, for matplotlib
    args += ["--bind", str(workdir), MNT_DATA, "--bind", str(rundir), KERNEL_RUN_DIR]
    args += ["--chdir", MNT_DATA]
    return [*args, "--", *_bootstrap(kernel_argv, limits, uid)]


def unsandboxed_command(kernel_argv: list[str], limits: SandboxLimits) -> list[str]:
    """The opt-in fallback where bwrap is unavailable: same limits, no isolation at all."""
    return _bootstrap(kernel_argv, limits, None)


def _bootstrap(kernel_argv: list[str], limits: SandboxLimits, uid: int | None) -> list[str]:
    """The interpreter running ``BOOTSTRAP``: limits, niceness, (as root) ``uid``, ipykernel."""
    config = {
        "limits": limits.rlimits(),
        "nice": limits.nice,
        "uid": uid,
        "gid": uid,
        "argv": kernel_argv,
    }
    return [sys.executable, "-c", BOOTSTRAP, json.dumps(config)]


def unsandboxed_environment(private: Path) -> dict[str, str]:
    """The minimal environment again, its scratch directories under ``private``."""
    env = kernel_environment()
    for name in ("HOME", "TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(private / "tmp" / name.lower())
    return env
