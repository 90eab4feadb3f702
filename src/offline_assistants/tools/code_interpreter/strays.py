"""What a cell leaves running in its sandbox, found and stopped when the cell ends.

A cell may start processes that outlive it: a ``subprocess.Popen`` never waited
for, children that ``setsid()`` away from the kernel, a fork that hit the memory
limit and spins on. Whatever they do, they stay in the sandbox's PID namespace
(bubblewrap unshares it), so the host finds them there: every process whose
``/proc/PID/ns/pid`` is the sandbox's, except the ones the sandbox had when its
kernel became ready (the namespace's init and the kernel). ``reap`` kills the rest
with SIGKILL, and looks again until none is left (a spinning fork makes more), so
the kernel and its variables survive and nothing the cell left keeps a core busy.
``kernel.py`` reaps when each cell ends; if strays still appear after
``REAP_SECONDS``, it restarts the kernel, which takes the whole namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

REAP_SECONDS = 3.0


@dataclass(frozen=True)
class SandboxProcesses:
    """A sandbox's PID namespace and the processes it had when its kernel became ready
    (bubblewrap, the namespace's init, the kernel); none for an unsandboxed kernel."""

    namespace: str | None = None
    own: frozenset[int] = frozenset()

    @classmethod
    def of(cls, bwrap_pid: int) -> SandboxProcesses:
        inits = children(bwrap_pid)
        namespace = namespace_of(inits[0]) if inits else None
        found = members(namespace) if namespace else []
        return cls(namespace, frozenset({bwrap_pid, *found}))

    def left_running(self) -> list[int]:
        """What runs in the sandbox besides its own processes."""
        if self.namespace is None:
            return []
        return [pid for pid in members(self.namespace) if pid not in self.own]

    def stop_left(self) -> int | None:
        """``reap`` what the cell left running: how many, None if they kept coming."""
        return reap(self.namespace, self.own) if self.namespace is not None else 0


def namespace_of(pid: int) -> str | None:
    """The PID namespace ``pid`` lives in (``pid:[inode]``), None if it is gone or hidden."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def members(namespace: str) -> list[int]:
    """Host pids of the running (not yet exited) processes in ``namespace``."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit() and namespace_of(int(name)) == namespace and running(int(name)):
                found.append(int(name))
    return found


def reap(namespace: str, keep: frozenset[int], seconds: float = REAP_SECONDS) -> int | None:
    """Kill every process in ``namespace`` but ``keep``; how many were killed, or None when
    new ones still appeared after ``seconds``."""
    killed: set[int] = set()
    deadline = time.monotonic() + seconds
    while True:
        strays = [pid for pid in members(namespace) if pid not in keep]
        if not strays:
            return len(killed)
        if time.monotonic() > deadline:
            return None
        for pid in strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed.update(strays)
        time.sleep(0.005)


def children(pid: int) -> list[int]:
    """The direct children of ``pid``, from every one of its threads."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and has not finished exiting (zombies have)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
