"""In-process event bus: one stream of run events feeds polling waiters (and, later, SSE).

Events carry the API's event names (``thread.run.completed``,
``thread.message.delta``, ...) and the wire object as data, so a subscriber
can forward them unchanged. Publishing never blocks: each subscription is an
unbounded queue drained by its owner.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    event: str
    data: BaseModel


class Subscription:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._queue: queue.SimpleQueue[RunEvent] = queue.SimpleQueue()

    def put(self, event: RunEvent) -> None:
        self._queue.put(event)

    def get(self, timeout: float | None) -> RunEvent | None:
        """The next event, or None when ``timeout`` seconds pass without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[str, list[Subscription]] = {}

    @contextmanager
    def subscribe(self, run_id: str) -> Iterator[Subscription]:
        subscription = Subscription(run_id)
        with self._lock:
            self._subscriptions.setdefault(run_id, []).append(subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                remaining = [s for s in self._subscriptions.get(run_id, []) if s is not subscription]
                if remaining:
                    self._subscriptions[run_id] = remaining
                else:
                    self._subscriptions.pop(run_id, None)

    def publish(self, run_id: str, event: str, data: BaseModel) -> None:
        with self._lock:
            targets = list(self._subscriptions.get(run_id, ()))
        item = RunEvent(run_id, event, data)
        for subscription in targets:
            subscription.put(item)
