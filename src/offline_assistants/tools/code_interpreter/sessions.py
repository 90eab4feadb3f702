"""Kernel sessions: one sandboxed kernel per thread, a warm pool, and idle shutdown.

``KernelSessions`` hands each thread its own kernel (state kept across the
thread's runs, never shared between threads), taken from a small pool of
kernels started in advance so that a new thread's first cell does not wait
for a cold start. A maintenance thread refills the pool and shuts down
kernels idle longer than the timeout (their work directories go with them;
files the user needs were already turned into Files). Kernels are started
(and restarted, after a timeout or a death) only on threads that live as long
as the sessions: the maintenance thread, and the cell threads (a pool of
``CELL_THREADS``) that run every cell and file placement for the runs' threads,
which come and go (``--die-with-parent`` follows the starting thread). Cells of
different threads run at once, up to that many; more wait their turn.

Work directories live under ``<data dir>/code_interpreter/<kernel>``; what a
killed runtime left there is removed at start.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .budget import mounts_under, probe_cgroups, remove_stale_cgroups, unmount_tmpfs
from .execution import Execution
from .kernel import SandboxedKernel
from .kernel_home import remove_leftover_homes
from .sandbox import SandboxLimits
from .workdir import place_file, safe_name

log = logging.getLogger(__name__)

# Imported in every warm kernel so the first cell of a thread finds them loaded.
PRELOAD = "import math, json, os, sys\nimport numpy\nimport matplotlib.pyplot\n"
# Cells (and file placements) running at once, across threads; their threads start the kernels.
CELL_THREADS = 8


@dataclass(frozen=True)
class SessionSettings:
    cell_timeout: float = 30.0
    idle_seconds: float = 900.0
    pool_size: int = 1
    sandboxed: bool = True
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    preload: str = PRELOAD


@dataclass
class Session:
    kernel: SandboxedKernel
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    placed: set[str] = field(default_factory=set)  # keys of the files put in its /mnt/data


class KernelSessions:
    def __init__(self, root: Path, settings: SessionSettings) -> None:
        self.root = root
        self.settings = settings
        # A killed runtime's leftovers: its kernels' /mnt/data mounts, directories, cgroups.
        for mount in mounts_under(root) if root.exists() else []:
            unmount_tmpfs(mount)
        shutil.rmtree(root, ignore_errors=True)
        remove_leftover_homes()  # and their kernels' IPC folders in the host's tmp
        root.mkdir(parents=True, exist_ok=True)
        self.cgroups = probe_cgroups() if settings.sandboxed else None
        if self.cgroups is not None:
            remove_stale_cgroups(self.cgroups)
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._warm: list[SandboxedKernel] = []
        self._wake = threading.Event()
        self._closed = False
        self._started = False
        self._maintainer = threading.Thread(
            target=self._maintain, name="kernel-sessions", daemon=True
        )
        self._cells = ThreadPoolExecutor(CELL_THREADS, thread_name_prefix="kernel-cells")

    # -- public ----------------------------------------------------------------------------

    def warm(self) -> None:
        """Start filling the pool (called when a run that may use code is queued)."""
        with self._lock:
            if self._closed:
                return
            if not self._started:
                self._started = True
                self._maintainer.start()
        self._wake.set()

    def execute(self, thread_id: str, code: str, timeout: float | None = None) -> Execution:
        return self._cells.submit(self._execute, thread_id, code, timeout).result()

    def _execute(self, thread_id: str, code: str, timeout: float | None) -> Execution:
        while True:
            session = self._session(thread_id)
            with session.lock:
                if not self._current(thread_id, session):
                    continue  # reaped between lookup and lock: take the thread's new kernel
                try:
                    return session.kernel.execute(code, timeout or self.settings.cell_timeout)
                finally:
                    session.last_used = time.monotonic()

    def put_file(
        self,
        thread_id: str,
        name: str,
        data: bytes | Callable[[], bytes],
        key: str | None = None,
    ) -> str:
        """Make ``data`` readable by the thread's code as ``/mnt/data/<name>``; returns that path.

        With a ``key``, a file already put in this thread's kernel is not put again (``data``
        may then be a callable, read only when the file is really placed).
        """
        return self._cells.submit(self._put_file, thread_id, name, data, key).result()

    def _put_file(
        self, thread_id: str, name: str, data: bytes | Callable[[], bytes], key: str | None
    ) -> str:
        path = f"/mnt/data/{safe_name(name)}"
        while True:
            session = self._session(thread_id)
            with session.lock:
                if not self._current(thread_id, session):
                    continue
                if key is not None and key in session.placed:
                    return path
                content = data() if callable(data) else data
                place_file(session.kernel.workdir, name, content, session.kernel.uid)
                if key is not None:
                    session.placed.add(key)
                session.last_used = time.monotonic()
            return path

    def _current(self, thread_id: str, session: Session) -> bool:
        with self._lock:
            return self._sessions.get(thread_id) is session

    def has_session(self, thread_id: str) -> bool:
        with self._lock:
            return thread_id in self._sessions

    def release(self, thread_id: str) -> None:
        """Shut down a thread's kernel (the thread was deleted)."""
        with self._lock:
            session = self._sessions.pop(thread_id, None)
        if session is not None:
            self._retire(session.kernel)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            kernels = [s.kernel for s in self._sessions.values()] + self._warm
            self._sessions.clear()
            self._warm = []
        self._wake.set()
        if self._started:
            self._maintainer.join(timeout=30)
        for kernel in kernels:
            self._retire(kernel)
        self._cells.shutdown(wait=False, cancel_futures=True)

    # -- internals -------------------------------------------------------------------------

    def _session(self, thread_id: str) -> Session:
        self.warm()
        with self._lock:
            session = self._sessions.get(thread_id)
            if session is None and self._warm:
                session = Session(self._warm.pop(0))
                self._sessions[thread_id] = session
            if session is not None:
                session.last_used = time.monotonic()  # not idle: about to be used
        if session is None:
            kernel = self._start_kernel()  # the pool was empty: a cold start, on a cell thread
            with self._lock:
                session = self._sessions.setdefault(thread_id, Session(kernel))
            if session.kernel is not kernel:
                self._retire(kernel)
        self._wake.set()  # refill
        return session

    def _start_kernel(self) -> SandboxedKernel:
        kernel = SandboxedKernel(
            self.root / uuid.uuid4().hex[:16],
            limits=self.settings.limits,
            preload=self.settings.preload,
            sandboxed=self.settings.sandboxed,
            cgroups=self.cgroups,
        )
        kernel.start()
        return kernel

    def _retire(self, kernel: SandboxedKernel) -> None:
        with contextlib.suppress(Exception):
            kernel.shutdown()
        shutil.rmtree(kernel.workdir, ignore_errors=True)

    def _maintain(self) -> None:
        while True:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                missing = self.settings.pool_size - len(self._warm)
            for _ in range(max(0, missing)):
                try:
                    kernel = self._start_kernel()
                except Exception:  # noqa: BLE001 - a failed warm start is retried on demand
                    log.exception("could not start a warm kernel")
                    break
                with self._lock:
                    closed = self._closed
                    if not closed:
                        self._warm.append(kernel)
                if closed:  # close() ran while this kernel started: it is nobody's to retire
                    self._retire(kernel)
                    return
            self._reap_idle()

    def _reap_idle(self) -> None:
        moment = time.monotonic()
        idle: list[Session] = []
        with self._lock:
            for thread_id, session in list(self._sessions.items()):
                if (
                    moment - session.last_used > self.settings.idle_seconds
                    and not session.lock.locked()
                ):
                    idle.append(self._sessions.pop(thread_id))
        for session in idle:
            with session.lock:
                self._retire(session.kernel)
