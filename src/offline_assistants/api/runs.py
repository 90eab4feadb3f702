"""``client.beta.threads.runs``: the SDK's Runs resource, in process, with its poll helpers.

``create`` returns the ``queued`` run at once. ``poll`` and ``create_and_poll``
wait like the SDK helpers, but wake on the run's own events instead of
sleeping a fixed interval, so a finished run is seen the moment it finishes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from openai.lib.streaming import AssistantEventHandler, AssistantStreamManager
from openai.types.beta.threads.run import Run

from ..runs import POLL_STOP
from ..runs.events import run_status_events
from ..service import Runtime
from ._common import CursorPage, given, paged
from .steps import Steps
from .streaming import EventStream


class Runs:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._service = runtime.runs
        self.steps = Steps(runtime)

    def create(self, thread_id: str, *, stream: bool = False, **params: Any) -> Any:
        """Create a run with the SDK's parameters (``assistant_id``, ``instructions``,
        ``tools``, ``additional_messages``, ...: ``RunCreateParams``, checked by the
        service as over HTTP); with ``stream=True``, an iterable of its events instead."""
        params = given(**params)
        if stream:
            _, subscription = self._service.create_watched(thread_id, params)
            return EventStream(self._runtime.bus, subscription)
        return self._service.create(thread_id, params)

    def stream(
        self,
        *,
        thread_id: str,
        assistant_id: str,
        event_handler: AssistantEventHandler | None = None,
        **params: Any,
    ) -> AssistantStreamManager[Any]:
        """Like the SDK's ``runs.stream``: ``with ... as stream: stream.until_done()``."""
        return AssistantStreamManager(
            lambda: self.create(thread_id, assistant_id=assistant_id, stream=True, **params),
            event_handler=event_handler or AssistantEventHandler(),
        )

    def create_and_poll(
        self,
        *,
        thread_id: str,
        assistant_id: str,
        poll_interval_ms: int | None = None,
        **params: Any,
    ) -> Run:
        """Create a run and wait until it completes, fails, is cancelled, expires or needs action."""
        run = self.create(thread_id, assistant_id=assistant_id, **params)
        return self.poll(run.id, thread_id=thread_id, poll_interval_ms=poll_interval_ms)

    def poll(
        self,
        run_id: str,
        thread_id: str,
        poll_interval_ms: int | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Wait for ``run_id`` to reach a status the SDK's poll helper stops at.

        ``timeout`` (seconds) bounds the wait; on expiry the run is returned as it is.
        """
        interval = (poll_interval_ms or self._runtime.settings.poll_interval_ms) / 1000
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._runtime.bus.subscribe(run_id, run_status_events) as events:
            while True:
                run = self._service.retrieve(run_id, thread_id=thread_id)
                if run.status in POLL_STOP:
                    return run
                if deadline is not None and time.monotonic() >= deadline:
                    return run
                events.get(timeout=interval)

    def retrieve(self, run_id: str, *, thread_id: str) -> Run:
        return self._service.retrieve(run_id, thread_id=thread_id)

    def update(self, run_id: str, *, thread_id: str, metadata: dict[str, str] | None = None) -> Run:
        return self._service.update(run_id, thread_id=thread_id, params={"metadata": metadata})

    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> CursorPage[Run]:
        return paged(
            self._service.list, thread_id, limit=limit, order=order, after=after, before=before
        )

    def cancel(self, run_id: str, *, thread_id: str) -> Run:
        return self._service.cancel(run_id, thread_id=thread_id)

    def submit_tool_outputs(
        self,
        run_id: str,
        *,
        thread_id: str,
        tool_outputs: Sequence[dict[str, str]],
        stream: bool = False,
    ) -> Any:
        """Answer the calls of a ``requires_action`` run; it resumes in the background.

        With ``stream=True``, an iterable of the resumed run's events instead.
        """
        params = {"tool_outputs": tool_outputs}
        if stream:
            _, subscription = self._service.submit_tool_outputs_watched(
                run_id, thread_id=thread_id, params=params
            )
            return EventStream(self._runtime.bus, subscription)
        return self._service.submit_tool_outputs(run_id, thread_id=thread_id, params=params)

    def submit_tool_outputs_stream(
        self,
        *,
        tool_outputs: Sequence[dict[str, str]],
        run_id: str,
        thread_id: str,
        event_handler: AssistantEventHandler | None = None,
    ) -> AssistantStreamManager[Any]:
        return AssistantStreamManager(
            lambda: self.submit_tool_outputs(
                run_id, thread_id=thread_id, tool_outputs=tool_outputs, stream=True
            ),
            event_handler=event_handler or AssistantEventHandler(),
        )

    def submit_tool_outputs_and_poll(
        self,
        *,
        tool_outputs: Sequence[dict[str, str]],
        run_id: str,
        thread_id: str,
        poll_interval_ms: int | None = None,
    ) -> Run:
        """Submit tool outputs, then wait like ``poll``."""
        run = self.submit_tool_outputs(run_id, thread_id=thread_id, tool_outputs=tool_outputs)
        return self.poll(run.id, thread_id=thread_id, poll_interval_ms=poll_interval_ms)
