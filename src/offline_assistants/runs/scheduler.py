"""The scheduler: every active run on a thread of its own, the model shared by batching.

A submitted run is executed at once on a thread of its own (up to
``MAX_ACTIVE_RUNS`` at a time; more wait in arrival order, ``queued``). What a
run waits for, it waits for on that thread, holding nothing anyone else needs:

- the model: its turn's generation is one sequence of the engine's batch
  (:mod:`..engine.batcher`), decoded together with the other runs' (up to
  ``parallel``; more wait for a slot in arrival order);
- a tool: a Code Interpreter cell, a file_search waiting for ingestion. No
  model slot is held meanwhile, so other runs' tokens keep coming;
- the app: a run in ``requires_action`` holds no thread at all;
  ``submit_tool_outputs`` submits it again, and its per-run tool state is read
  back from its stored steps.

``request_cancel`` raises a flag the run's generation and tool waits check.
Once a second, expired ``requires_action`` runs are closed. ``stop`` ends
every generation at once, waits for the runs' threads, and closes runs that
never started as failed, so no run outlives its process as ``queued`` or
``in_progress``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from .executor import RunExecutor

log = logging.getLogger(__name__)

# How often expired requires_action runs are looked for.
EXPIRY_CHECK_SECONDS = 1.0
# Runs executing at once (generating, or waiting for a tool); more wait their turn.
MAX_ACTIVE_RUNS = 64


class RunScheduler:
    def __init__(self, max_active: int = MAX_ACTIVE_RUNS) -> None:
        self._max_active = max_active
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()
        self._executing: dict[str, threading.Thread] = {}
        self._again: set[str] = set()  # submitted again while still executing (resumed)
        self._waiting: collections.deque[str] = collections.deque()
        self._stopping = threading.Event()
        self._executor: RunExecutor | None = None
        self._expiry: threading.Thread | None = None

    def start(self, executor: RunExecutor) -> None:
        self._executor = executor
        self._expiry = threading.Thread(
            target=self._expire_loop, name="offline-assistants-expiry", daemon=True
        )
        self._expiry.start()

    def submit(self, run_id: str) -> None:
        with self._lock:
            if run_id in self._executing:
                self._again.add(run_id)
            elif run_id not in self._waiting:
                self._waiting.append(run_id)
            self._dispatch()

    def request_cancel(self, run_id: str) -> None:
        with self._lock:
            self._cancelled.add(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        return run_id in self._cancelled

    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, timeout: float = 30.0) -> bool:
        """End every run's generation, close runs not started, and wait for the runs'
        threads. False when one was still busy after ``timeout`` seconds (inside a tool
        or a decode): then the engines must not be freed under it."""
        if self._executor is None:
            return True
        self._stopping.set()
        with self._lock:
            never_started = list(self._waiting)
            self._waiting.clear()
        for run_id in never_started:
            self._executor.shut_down(run_id)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._executing.values())
            if not threads:
                break
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                break
        if self._expiry is not None:
            self._expiry.join(EXPIRY_CHECK_SECONDS * 2)
        with self._lock:
            return not self._executing

    def _dispatch(self) -> None:
        """Start waiting runs while there is room (the lock is held)."""
        while self._waiting and len(self._executing) < self._max_active:
            run_id = self._waiting.popleft()
            thread = threading.Thread(
                target=self._execute, args=(run_id,), name=f"run-{run_id}", daemon=True
            )
            self._executing[run_id] = thread
            thread.start()

    def _execute(self, run_id: str) -> None:
        assert self._executor is not None
        while True:
            try:
                if self._stopping.is_set():
                    self._executor.shut_down(run_id)
                else:
                    self._executor.execute(run_id)
            except Exception:  # noqa: BLE001 - the scheduler must outlive any one run
                log.exception("scheduler: run %s escaped the executor", run_id)
            with self._lock:
                if run_id in self._again:  # resumed while this thread was finishing
                    self._again.discard(run_id)
                    continue
                del self._executing[run_id]
                self._cancelled.discard(run_id)
                self._dispatch()
                return

    def _expire_loop(self) -> None:
        assert self._executor is not None
        while not self._stopping.wait(EXPIRY_CHECK_SECONDS):
            try:
                self._executor.expire_due()
            except Exception:  # noqa: BLE001
                log.exception("scheduler: expiring runs failed")
