"""Server-Sent Events for a run: the API's event names and payloads, then ``done``.

(``sse_response`` serves the other streams too: chat completion chunks and response
events, whose routes make their own frames.)

The stream reads a subscription opened *before* the run's first event was
published, so nothing is missed. It ends after the run reaches a status where
the caller must act or the run is over (``requires_action``, ``completed``, ...).
If the client goes away, the generator is closed and the subscription with it;
the run itself carries on in the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ..runs import EventBus
from ..runs.events import Subscription, until_settled

KEEPALIVE_SECONDS = 15.0


def event_stream(bus: EventBus, subscription: Subscription) -> StreamingResponse:
    return sse_response(_frames(bus, subscription))


def sse_response(frames: Iterator[bytes]) -> StreamingResponse:
    """Server-Sent Events from ready-made frames, never cached or buffered on the way."""
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def wire(event: str, data: BaseModel) -> str:
    """An event's JSON. Deltas carry only the fields they set, as the API sent them: an
    explicit ``null`` where an earlier delta gave a value breaks the Node SDK's merge."""
    if event.endswith(".delta"):
        return data.model_dump_json(by_alias=True, exclude_unset=True)
    return data.model_dump_json(by_alias=True)


def _frames(bus: EventBus, subscription: Subscription) -> Iterator[bytes]:
    for event in until_settled(bus, subscription, KEEPALIVE_SECONDS):
        if event is None:
            yield b": keep-alive\n\n"
            continue
        data = wire(event.event, event.data)
        yield f"event: {event.event}\ndata: {data}\n\n".encode()
    yield b"event: done\ndata: [DONE]\n\n"
