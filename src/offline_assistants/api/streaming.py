"""Streaming runs from Python, as the SDK streams them: the same events the server sends as SSE.

``EventStream`` iterates a run's events as the SDK's own ``AssistantStreamEvent``
objects until the run needs the caller or is over, so the SDK's
``AssistantEventHandler`` and ``AssistantStreamManager`` (``with ... as stream:
stream.until_done()``) work on it unchanged. Closing it (or leaving the
``with`` block) stops listening; the run carries on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai.types.beta.assistant_stream_event import AssistantStreamEvent
from pydantic import TypeAdapter

from ..runs import EventBus
from ..runs.events import Subscription, until_settled

_EVENT = TypeAdapter(AssistantStreamEvent)
_IDLE_SECONDS = 60.0


class EventStream:
    def __init__(self, bus: EventBus, subscription: Subscription) -> None:
        self._events = until_settled(bus, subscription, _IDLE_SECONDS)

    def __iter__(self) -> Iterator[AssistantStreamEvent]:
        for event in self._events:
            if event is not None:
                yield _EVENT.validate_python({"event": event.event, "data": event.data})

    def close(self) -> None:
        self._events.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
