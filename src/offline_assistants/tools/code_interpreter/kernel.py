"""``SandboxedKernel``: one ipykernel in a bubblewrap sandbox, driven over IPC.

Usable on its own::

    with SandboxedKernel(Path("work")) as kernel:
        result = kernel.execute("print(sum(range(10)))", timeout=10)
        result.logs   # "45\\n"

The kernel keeps its state between ``execute`` calls. A cell that runs past
its timeout is interrupted (an ``interrupt_request`` on the control channel:
SIGINT does not cross into the sandbox); if it is still busy after a grace
period, or the kernel died (``os._exit``, a crash, the OOM killer), the kernel
is restarted with the same work directory and the result says so. When a cell
ends, whatever it left running in the sandbox is stopped (:mod:`.strays`; the kernel
and its state stay). After start-up the host side of the IPC directory is renamed and
(as root) given back to root and made read-only, so a reconnect can never follow a
socket path the sandbox replaced with a symlink, and the sandbox can write nothing more
there. The sandbox's budget (its cgroup, its uid, the size of its /mnt/data) is set up
here too, see :mod:`.budget`; /mnt/data stays mounted across restarts and goes with
``shutdown``.

``--die-with-parent`` ties the sandbox to the *thread* that started it (that
is how PR_SET_PDEATHSIG works): start kernels from a thread that lives as long
as they do. jupyter_client is imported when a kernel starts, not at every cold start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .budget import (
    PREFIX,
    Cgroup,
    CgroupParent,
    mount_tmpfs,
    probe_cgroups,
    sandbox_uid,
    unmount_tmpfs,
)
from .execution import Execution, OutputCollector, OutputLimits, Status
from .kernel_home import new_kernel_home
from .sandbox import (
    KERNEL_RUN_DIR,
    SandboxLimits,
    SandboxUnavailable,
    find_bwrap,
    sandbox_command,
    unsandboxed_command,
    unsandboxed_environment,
)
from .strays import SandboxProcesses, children, running
from .workdir import CollectLimits, changed_files, snapshot

if TYPE_CHECKING:
    from jupyter_client.blocking.client import BlockingKernelClient

log = logging.getLogger(__name__)
START_TIMEOUT = 60.0
INTERRUPT_GRACE = 3.0


class KernelError(RuntimeError):
    """The kernel could not be started or reached."""


class SandboxedKernel:
    """A stateful Python kernel whose code sees only ``workdir`` (as ``/mnt/data``)."""

    def __init__(
        self,
        workdir: Path,
        *,
        limits: SandboxLimits | None = None,
        output_limits: OutputLimits | None = None,
        collect_limits: CollectLimits | None = None,
        preload: str = "",
        sandboxed: bool = True,
        cgroups: CgroupParent | None | bool = True,
    ) -> None:
        """``cgroups``: where to make the sandbox's cgroup (True: find out; False or None:
        none, the per-process limits only)."""
        bwrap = find_bwrap()
        if bwrap is None and sandboxed:
            raise SandboxUnavailable(
                "The Code Interpreter needs bubblewrap (bwrap) to sandbox model-written code: "
                "install it (Debian/Ubuntu: apt-get install bubblewrap), or, knowing that the "
                "model's code then runs with your rights, set OFFLINE_ASSISTANTS_UNSANDBOXED_CODE=1."
            )
        self.bwrap = bwrap or ""
        self.sandboxed = sandboxed
        self.workdir = workdir
        self.limits = limits or SandboxLimits()
        self.output_limits = output_limits or OutputLimits()
        self.collect_limits = collect_limits or CollectLimits()
        self.preload = preload
        self.process: subprocess.Popen[bytes] | None = None
        self.client: BlockingKernelClient | None = None
        self._home: Path | None = None  # private 0700 dir holding the IPC dir
        self.started_at = 0.0
        # The sandbox's own uid (root mode), for RLIMIT_NPROC per sandbox; None otherwise.
        self.uid = sandbox_uid() if sandboxed and os.geteuid() == 0 else None
        self.cgroups = (
            (probe_cgroups() if cgroups is True else cgroups or None) if sandboxed else None
        )
        self.cgroup: Cgroup | None = None
        self.data_capped = False  # /mnt/data is a size-capped tmpfs
        self.processes = SandboxProcesses()  # its PID namespace, once started

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        uid = self.uid
        if uid is not None:
            self.data_capped = mount_tmpfs(self.workdir, self.limits.data_bytes, uid)
            os.chown(self.workdir, uid, uid)
        self._home = new_kernel_home()
        if uid is not None:  # a tmpfs of its own: the sandbox's mountinfo names no host path
            mount_tmpfs(self._home, 1 << 20, 0)
        rundir = self._home / "run"
        rundir.mkdir(mode=0o700)
        if uid is not None:
            os.chown(rundir, uid, uid)
        inside = Path(KERNEL_RUN_DIR) if self.sandboxed else rundir
        from jupyter_client.blocking.client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        _, written = write_connection_file(
            str(rundir / "connection.json"), transport="ipc", ip=str(inside / "k")
        )
        info: dict[str, Any] = dict(written)
        if uid is not None:
            os.chown(rundir / "connection.json", uid, uid)
        kernel_argv = [
            "-f", f"{inside}/connection.json",
            "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True",
        ]  # fmt: skip
        env: dict[str, str] | None = None
        if self.sandboxed:
            argv = sandbox_command(
                bwrap=self.bwrap,
                workdir=self.workdir,
                rundir=rundir,
                kernel_argv=kernel_argv,
                limits=self.limits,
                uid=uid,
            )
            if self.cgroups is not None:
                self.cgroup = self._new_cgroup(self.cgroups)
            if self.cgroup is not None:
                argv, entering = self.cgroup.command(argv)
                env = {**os.environ, **entering}
        else:
            argv = unsandboxed_command(kernel_argv, self.limits)
            env = unsandboxed_environment(self._home)
        self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            cwd=self.workdir,
            env=env,
        )
        client = BlockingKernelClient()
        client.load_connection_info({**info, "ip": str(rundir / "k")})  # type: ignore[typeddict-item]
        self.client = client
        try:
            self._wait_ready(rundir, info)
        except BaseException:
            self._kill()
            raise
        if self.sandboxed:
            self.processes = SandboxProcesses.of(self.process.pid)
        # Seal: the host side's path moves away, so no reconnect ever follows a planted link,
        # and (as root) the directory is root's again: the sandbox can add nothing to it.
        sealed = self._home / "sealed"
        rundir.rename(sealed)
        if uid is not None:
            os.chown(sealed, 0, 0)
            os.chmod(sealed, 0o755)
        self.started_at = time.monotonic()
        self.execute(self.limits.settle_code(), timeout=START_TIMEOUT, collect=False)
        if self.preload:
            self.execute(self.preload, timeout=START_TIMEOUT, collect=False)

    def _wait_ready(self, rundir: Path, info: dict[str, Any]) -> None:
        assert self.client is not None and self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        sockets = [
            rundir / f"k-{info[name]}" for name in ("shell_port", "iopub_port", "control_port")
        ]
        while not all(path.exists() for path in sockets):
            self._check_process("starting")
            if time.monotonic() > deadline:
                raise KernelError("The sandboxed kernel did not start within 60 s.")
            time.sleep(0.005)
        self.client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=True)
        while True:  # iopub subscriptions take a moment: repeat kernel_info until iopub hears
            self._check_process("starting")
            if time.monotonic() > deadline:
                raise KernelError("The sandboxed kernel did not answer within 60 s.")
            msg_id = self.client.kernel_info()
            with contextlib.suppress(queue.Empty):
                self._reply(msg_id, self.client.get_shell_msg, 1.0)
                self.client.get_iopub_msg(timeout=0.2)
                break
        self._drain_iopub()
        # The control channel is connected once it has answered.
        request = self.client.session.msg("kernel_info_request")
        self.client.control_channel.send(request)
        self._reply(
            request["header"]["msg_id"], self.client.get_control_msg, deadline - time.monotonic()
        )

    def _check_process(self, doing: str) -> None:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            err = b""
            if self.process.stderr is not None:
                err = self.process.stderr.read() or b""
            detail = err.decode(errors="replace").strip()[-2000:]
            raise KernelError(
                f"The sandboxed kernel exited with code {code} while {doing}: {detail}"
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _new_cgroup(self, parent: CgroupParent) -> Cgroup | None:
        name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            limits = self.limits
            return Cgroup(parent, name, limits.memory_bytes, limits.processes, limits.cpus)
        except OSError as exc:
            log.warning("no cgroup for this sandbox (%s); per-process limits only", exc)
            return None

    def restart(self) -> None:
        """A new kernel on the same work directory; the old one's variables are gone."""
        self._kill()
        self.start()

    def shutdown(self) -> None:
        """Stop the kernel and everything it started (the whole sandbox goes at once); a
        size-capped /mnt/data goes with it."""
        self._kill()
        if self.data_capped:
            unmount_tmpfs(self.workdir)
            self.data_capped = False

    def _kill(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.stop_channels()
            self.client = None
        if self.process is not None:
            if self.process.poll() is None:
                inits = children(self.process.pid)  # the sandbox's PID-namespace init
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                # bwrap is the namespace's init's parent: its death takes every process inside.
                self.process.wait()
                # The init exits only after the kernel has reaped everything in its namespace;
                # wait for that, so a restart does not meet a fork bomb's dying processes
                # still counted against the process limit.
                deadline = time.monotonic() + 10
                while any(running(pid) for pid in inits) and time.monotonic() < deadline:
                    time.sleep(0.01)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None
        self.processes = SandboxProcesses()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self._home is not None:
            unmount_tmpfs(self._home)
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    def __enter__(self) -> SandboxedKernel:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # -- execution -----------------------------------------------------------------------

    def execute(self, code: str, timeout: float = 30.0, *, collect: bool = True) -> Execution:
        """Run ``code``; stdout/stderr/results as logs, PNGs as images, new files as files."""
        if not self.alive or self.client is None:
            self.restart()
        assert self.client is not None
        before = snapshot(self.workdir, self.collect_limits) if collect else {}
        self._drain_iopub()
        msg_id = self.client.execute(code, store_history=False, allow_stdin=False)
        collector = OutputCollector(self.output_limits)
        status = self._follow(msg_id, collector, time.monotonic() + timeout)
        result = Execution(status=status, images=collector.images, error=collector.error)
        if status == "timeout":
            result.error = f"Execution timed out after {timeout:g} s"
            if not self._interrupt(msg_id, collector):
                result.error += "; the kernel did not stop when interrupted and was restarted (its variables are gone)"
                result.restarted = True
                self.restart()
            else:
                result.error += " and was interrupted"
        elif status == "died":
            code_ = self.process.poll() if self.process else None
            result.error = (
                f"The kernel died (exit code {code_}); it was restarted and its variables are gone"
            )
            result.restarted = True
            self.restart()
        result.logs = collector.logs()
        note = "" if result.restarted else self._stop_strays(result)
        if note:
            result.logs += ("" if result.logs.endswith("\n") or not result.logs else "\n") + note
        if collect:
            result.files, skipped = changed_files(self.workdir, before, self.collect_limits)
            if skipped:
                result.logs += "".join(f"\n[file not collected: {note}]" for note in skipped)
        return result

    def _stop_strays(self, result: Execution) -> str:
        """Stop what the cell left running in the sandbox; a note for the logs if it left any
        (a restart, where new ones kept coming)."""
        stopped = self.processes.stop_left()
        if stopped is None:
            result.restarted = True
            self.restart()
            return (
                "[the cell's processes kept multiplying after it ended: the kernel was "
                "restarted and its variables are gone]"
            )
        return f"[stopped {stopped} process(es) the cell left running]" if stopped else ""

    def _follow(self, msg_id: str, collector: OutputCollector, deadline: float) -> Status:
        """Read the cell's iopub messages until it is idle, times out or the kernel dies."""
        assert self.client is not None
        errored = False
        while True:
            if time.monotonic() > deadline:
                return "timeout"
            try:
                msg = self.client.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                if not self.alive:
                    return "died"
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                return "error" if errored else "ok"
            errored = errored or kind == "error"
            collector.add(kind, msg["content"])

    def _interrupt(self, msg_id: str, collector: OutputCollector) -> bool:
        """Ask the kernel to interrupt the cell; True when it went idle within the grace period."""
        assert self.client is not None
        request = self.client.session.msg("interrupt_request", content={})
        self.client.control_channel.send(request)
        ended = self._follow(msg_id, collector, time.monotonic() + INTERRUPT_GRACE)
        return ended in ("ok", "error")

    def _drain_iopub(self) -> None:
        assert self.client is not None
        with contextlib.suppress(queue.Empty):
            while True:
                self.client.get_iopub_msg(timeout=0)

    @staticmethod
    def _reply(msg_id: str, get: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            msg: dict[str, Any] = get(timeout=max(0.0, deadline - time.monotonic()))
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
