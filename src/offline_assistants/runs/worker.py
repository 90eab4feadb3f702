"""The worker: one background thread that owns the model and executes runs FIFO.

``submit`` queues a run id and returns at once; ``request_cancel`` raises a flag
the executor checks between tokens. Between runs (and every second when idle)
the worker expires runs that waited too long for tool outputs. ``stop`` drains nothing: the run being
executed is interrupted and, like every run still queued, closed as failed with
a message saying the runtime shut down, so no run outlives its process as
``queued`` or ``in_progress``.
"""

from __future__ import annotations

import logging
import queue
import threading

from .executor import RunExecutor

log = logging.getLogger(__name__)

_STOP = object()
# How often an idle worker looks for runs whose wait for tool outputs has expired.
EXPIRY_CHECK_SECONDS = 1.0


class RunWorker:
    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: RunExecutor | None = None

    def start(self, executor: RunExecutor) -> None:
        self._executor = executor
        self._thread = threading.Thread(
            target=self._loop, name="offline-assistants-runs", daemon=True
        )
        self._thread.start()

    def submit(self, run_id: str) -> None:
        self._queue.put(run_id)

    def request_cancel(self, run_id: str) -> None:
        with self._lock:
            self._cancelled.add(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        return run_id in self._cancelled

    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Interrupt the current run, fail the queued ones, and end the thread.

        False when the thread was still busy after ``timeout`` seconds (inside one long
        model call): then the engines must not be freed under it.
        """
        if self._thread is None:
            return True
        self._stopping.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        self._thread = None
        return stopped

    def _loop(self) -> None:
        assert self._executor is not None
        while True:
            try:
                item = self._queue.get(timeout=EXPIRY_CHECK_SECONDS)
            except queue.Empty:
                self._expire()
                continue
            if item is _STOP:
                return
            run_id = str(item)
            if self._stopping.is_set():
                self._executor.shut_down(run_id)
                continue
            try:
                self._executor.execute(run_id)
            except Exception:  # noqa: BLE001 - the worker must outlive any one run
                log.exception("worker: run %s escaped the executor", run_id)
            finally:
                with self._lock:
                    self._cancelled.discard(run_id)
            self._expire()

    def _expire(self) -> None:
        assert self._executor is not None
        try:
            self._executor.expire_due()
        except Exception:  # noqa: BLE001
            log.exception("worker: expiring runs failed")
