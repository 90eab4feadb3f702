"""``client.beta.threads``: the SDK's Threads resource (with messages, runs, create_and_run)."""

from __future__ import annotations

from typing import Any

from openai.lib.streaming import AssistantEventHandler, AssistantStreamManager
from openai.types.beta.thread import Thread
from openai.types.beta.thread_deleted import ThreadDeleted
from openai.types.beta.threads.run import Run

from ..service import Runtime
from ._common import OMIT, CursorPage, given, paged
from .messages import Messages
from .runs import Runs
from .streaming import EventStream


class Threads:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.threads
        self._runs_service = runtime.runs
        self._bus = runtime.bus
        self.messages = Messages(runtime)
        self.runs = Runs(runtime)

    def create(
        self,
        *,
        messages: list[Any] | None = None,
        metadata: dict[str, str] | None = None,
        tool_resources: Any = None,
    ) -> Thread:
        return self._service.create(
            {"messages": messages, "metadata": metadata, "tool_resources": tool_resources}
        )

    def retrieve(self, thread_id: str) -> Thread:
        return self._service.retrieve(thread_id)

    def update(
        self,
        thread_id: str,
        *,
        metadata: dict[str, str] | None = OMIT,
        tool_resources: Any = OMIT,
    ) -> Thread:
        return self._service.update(
            thread_id, given(metadata=metadata, tool_resources=tool_resources)
        )

    def delete(self, thread_id: str) -> ThreadDeleted:
        return self._service.delete(thread_id)

    def create_and_run(self, *, stream: bool = False, **params: Any) -> Any:
        """Create a thread and run it, with the SDK's parameters (``assistant_id``,
        ``thread``, ``tool_resources``, ...: ``ThreadCreateAndRunParams``, checked by the
        service as over HTTP); with ``stream=True``, an iterable of the run's events."""
        params = given(**params)
        if stream:
            _, subscription = self._runs_service.create_and_run_watched(params)
            return EventStream(self._bus, subscription)
        return self._runs_service.create_and_run(params)

    def create_and_run_stream(
        self,
        *,
        assistant_id: str,
        event_handler: AssistantEventHandler | None = None,
        **params: Any,
    ) -> AssistantStreamManager[Any]:
        return AssistantStreamManager(
            lambda: self.create_and_run(assistant_id=assistant_id, stream=True, **params),
            event_handler=event_handler or AssistantEventHandler(),
        )

    def create_and_run_poll(
        self, *, assistant_id: str, poll_interval_ms: int | None = None, **params: Any
    ) -> Run:
        """Create a thread and a run on it, then wait like ``runs.poll``."""
        run = self.create_and_run(assistant_id=assistant_id, **params)
        return self.runs.poll(run.id, thread_id=run.thread_id, poll_interval_ms=poll_interval_ms)

    def list(
        self,
        *,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> CursorPage[Thread]:
        """This runtime's addition (GET /v1/threads): the threads, newest first by default."""
        return paged(self._service.list, limit=limit, order=order, after=after, before=before)
