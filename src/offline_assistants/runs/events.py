"""In-process event bus: one stream of run events feeds polling waiters and SSE streams.

Events carry the API's event names (``thread.run.completed``,
``thread.message.delta``, ...) and the wire object as data, so a subscriber
can forward them unchanged; the two events of our own, ``reasoning.delta`` and
``reasoning.summary.delta`` (a reasoning model's reasoning and its summary as they
stream, for the Responses stream), have no ``thread.`` prefix, and Assistants streams
filter them out (:func:`api_events`).
Publishing never blocks: each subscription is an
unbounded queue drained by its owner. A subscription may filter by event name,
so a poller waiting for a status change is not woken by every token.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import BaseModel

from .states import POLL_STOP


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    event: str
    data: BaseModel


EventFilter = Callable[[str], bool]
REASONING_DELTA = "reasoning.delta"
REASONING_SUMMARY_DELTA = "reasoning.summary.delta"


class ReasoningDelta(BaseModel):
    """Reasoning a turn's model wrote: ``delta``, of the reasoning item ``id``."""

    id: str
    delta: str


class ReasoningSummaryDelta(BaseModel):
    """The summary the model wrote of its reasoning: ``delta``, of the reasoning item ``id``."""

    id: str
    delta: str


def api_events(event: str) -> bool:
    """The Assistants API's events (everything but the runtime's own)."""
    return event.startswith("thread.")


def every_event(event: str) -> bool:
    return True


def run_status_events(event: str) -> bool:
    """Only the run's own status changes (``thread.run.completed``, ...), no steps or deltas."""
    return event.startswith("thread.run.") and not event.startswith("thread.run.step")


class Subscription:
    def __init__(self, run_id: str, wants: EventFilter | None = None) -> None:
        self.run_id = run_id
        self.wants = wants
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
        # Re-entrant: an abandoned stream's generator may be finalised by the garbage
        # collector on whatever thread happens to allocate, even one already inside the
        # bus, and its ``finally`` closes its subscription.
        self._lock = threading.RLock()
        self._subscriptions: dict[str, list[Subscription]] = {}

    @contextmanager
    def subscribe(self, run_id: str, wants: EventFilter | None = None) -> Iterator[Subscription]:
        """Receive the run's events (only those ``wants`` accepts) until the block exits."""
        subscription = self.open(run_id, wants)
        try:
            yield subscription
        finally:
            self.close(subscription)

    def open(self, run_id: str, wants: EventFilter | None = None) -> Subscription:
        """Start receiving the run's events; the caller must ``close`` the subscription."""
        subscription = Subscription(run_id, wants)
        with self._lock:
            self._subscriptions.setdefault(run_id, []).append(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        with self._lock:
            run_id = subscription.run_id
            remaining = [s for s in self._subscriptions.get(run_id, []) if s is not subscription]
            if remaining:
                self._subscriptions[run_id] = remaining
            else:
                self._subscriptions.pop(run_id, None)

    def wanted(self, run_id: str, event: str) -> bool:
        """Whether any subscriber would receive ``event``: lets publishers skip building it."""
        with self._lock:
            return any(
                s.wants is None or s.wants(event) for s in self._subscriptions.get(run_id, ())
            )

    def publish(self, run_id: str, event: str, data: BaseModel) -> None:
        with self._lock:
            targets = [
                s for s in self._subscriptions.get(run_id, ()) if s.wants is None or s.wants(event)
            ]
        if not targets:
            return
        item = RunEvent(run_id, event, data)
        for subscription in targets:
            subscription.put(item)


def until_settled(
    bus: EventBus, subscription: Subscription, keepalive: float
) -> Generator[RunEvent | None, None, None]:
    """The run's events until it needs the caller or is over; None every ``keepalive`` seconds
    of silence (so a stream can show it is alive). Closes the subscription when done or dropped.
    """
    try:
        while True:
            event = subscription.get(timeout=keepalive)
            yield event
            if (
                event is not None
                and run_status_events(event.event)
                and event.event.removeprefix("thread.run.") in POLL_STOP
            ):
                return
    finally:
        bus.close(subscription)
