"""A stored response's recorded events: a background response recorded on a thread of its
own, and any stored response replayed past ``starting_after`` and followed live.

``event_log.py`` holds the recordings; ``events.py`` writes them as
it makes each event. A background response has no client reading its events while it
runs (``responses.create(background=True)`` returns at once, and a streaming client
may drop), so a thread here reads them to the end; the runtime joins those threads
when it closes, after the scheduler has stopped every run. A replay ends with the
recorded ending, or, when the recording was cut short (the runtime was stopped
mid-response), with an ending made from the response as it now stands.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Iterator

from ...errors import InvalidRequestError
from ...store import ResponseRecord
from .event_log import ENDINGS, ResponseEventLog
from .events import KEEPALIVE_SECONDS, SNAPSHOT_ENDINGS, ResponseEvents
from .views import ResponseViews

log = logging.getLogger(__name__)


class ResponseRecordings:
    def __init__(self, event_log: ResponseEventLog, views: ResponseViews) -> None:
        self.event_log = event_log
        self.views = views
        self._recorders: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def in_background(self, events: ResponseEvents) -> None:
        """A thread reads (and so records) a background response's events, whether or not a
        client streams them."""
        response_id = events.record.id
        self.event_log.begin(response_id)  # a reader arriving first waits for the events

        def record() -> None:
            try:
                collections.deque(events.events(), 0)
            except Exception:  # noqa: BLE001 - a reader's failure must not pass unheard
                log.exception("recording the events of %s failed", response_id)
            finally:
                self.event_log.end(response_id)
                with self._lock:
                    self._recorders.discard(thread)

        thread = threading.Thread(target=record, daemon=True, name=f"events-{response_id}")
        with self._lock:
            self._recorders.add(thread)
        thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Wait for the recorders (their runs are over: the scheduler stopped first), so
        none reads the store after it closes."""
        with self._lock:
            recorders = list(self._recorders)
        deadline = time.monotonic() + timeout
        for thread in recorders:
            thread.join(max(0.0, deadline - time.monotonic()))

    def replay(self, record: ResponseRecord, starting_after: int) -> Iterator[str | None]:
        """The events past ``starting_after`` (wire JSON), then the rest as they come."""
        if not self.event_log.exists(record.id):
            raise InvalidRequestError(
                f"Response {record.id} has no recorded events to stream: it was not stored "
                "when it ran.",
                param="stream",
            )
        return self._replayed(record, starting_after)

    def _replayed(self, record: ResponseRecord, after: int) -> Iterator[str | None]:
        last = after
        for line in self.event_log.follow(record.id, after, KEEPALIVE_SECONDS):
            if line is not None:
                event = json.loads(line)
                last = event["sequence_number"]
                if event["type"] in ENDINGS:
                    yield line
                    return
            yield line
        response = self.views.render(record)
        kind = SNAPSHOT_ENDINGS.get(response.status or "", "response.failed")
        body = json.loads(response.model_dump_json(by_alias=True, exclude_unset=True))
        yield json.dumps({"type": kind, "sequence_number": last + 1, "response": body})
