"""How a response ends on request: settled (``store=False``), deleted, or cancelled.

Part of :class:`~.service.ResponseService`. A response with ``store=False`` is
removed once it settles, or once its stream is dropped (a run still generating
for nobody is cancelled first). ``delete`` removes a stored one, refusing one
still generating; ``cancel`` stops a background one. A response chain's own
thread goes with its last response; a conversation's stays.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from openai.types.responses.response import Response

from ...errors import ConflictError, InvalidRequestError
from ...store import ResponseRecord, Store
from ..runs import RunService
from ..threads import ThreadService
from .event_log import ResponseEventLog
from .views import ResponseViews

CANCEL_WAIT_SECONDS = 10.0
GENERATING = ("queued", "in_progress", "cancelling")


class ResponseEnding:
    def __init__(
        self,
        store: Store,
        runs: RunService,
        threads: ThreadService,
        event_log: ResponseEventLog,
        views: ResponseViews,
    ) -> None:
        self.store = store
        self.runs = runs
        self.threads = threads
        self.event_log = event_log
        self.views = views

    def settled(self, record: ResponseRecord) -> None:
        """After a response settles, or its stream is dropped: with ``store=False`` nothing
        of it stays. A run still generating for a dropped unstored stream is cancelled
        first: nobody can ever read what it would write."""
        if record.store:
            return
        run = self.store.runs.get(record.run_id)
        if run is not None and run.status == "requires_action":
            self.runs.cancel(run.id, thread_id=run.thread_id)
        elif run is not None and run.status in GENERATING:
            with contextlib.suppress(InvalidRequestError):  # it ended meanwhile
                self.runs.cancel(run.id, thread_id=run.thread_id)
            self._wait_until_settled(run.id)
        self._forget(record)

    def delete(self, record: ResponseRecord) -> dict[str, Any]:
        run = self.store.runs.get(record.run_id)
        if run is not None and record.output_until is None:
            if run.status == "requires_action":
                self.runs.cancel(run.id, thread_id=run.thread_id)
            elif run.status in GENERATING:
                raise ConflictError(
                    f"Response {record.id} is still in progress; cancel it first.",
                    param="response_id",
                )
        self._forget(record)
        self.event_log.delete(record.id)
        return {"id": record.id, "object": "response.deleted", "deleted": True}

    def cancel(self, record: ResponseRecord) -> Response:
        if not record.background:
            raise InvalidRequestError(
                "Only responses created with background=true can be cancelled.",
                param="response_id",
            )
        run = self.store.runs.get(record.run_id)
        if run is not None and record.output_until is None:
            if run.status in ("queued", "in_progress"):
                self.runs.cancel(run.id, thread_id=run.thread_id)
            self._wait_until_settled(run.id)
        return self.views.render(record)

    def _forget(self, record: ResponseRecord) -> None:
        """The record gone, and the chain's own thread with its last response."""
        with self.store.db.transaction():
            self.store.responses.delete(record.id)
            own_thread = record.conversation_id is None and not self.store.responses.in_thread(
                record.thread_id
            )
        if own_thread:
            self.threads.delete(record.thread_id)

    def _wait_until_settled(self, run_id: str) -> None:
        """Until a cancelled run has stopped (it is checked between tokens), or a while."""
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        while time.monotonic() < deadline:
            current = self.store.runs.get(run_id)
            if current is None or current.status not in GENERATING:
                return
            time.sleep(0.05)
