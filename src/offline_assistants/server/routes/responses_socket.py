"""The Responses API's WebSocket mode: ``ws://HOST/v1/responses``, one connection, many responses.

The client sends ``response.create`` messages (the body of ``POST /v1/responses``
with a ``type``; ``stream`` is implied, ``background`` is refused) and gets each
response's events as JSON text messages, the same events an SSE stream carries,
one response after another. The connection keeps its latest response, stored or
not, until the next one starts or the connection closes, so ``store: false`` turns
chain with ``previous_response_id`` as long as the socket lives; after a reconnect
such an id is gone and the client sends its history again (the hosted API's rule).
A request that fails gets an ``error`` message (``status``, and ``error`` in
OpenAI's envelope) and the connection stays open for the next. The handshake
passes the same Host, API key and Origin checks as every request
(``server/security.py``). The service is synchronous: each event is read on the
thread pool, so the event loop never blocks on the model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from openai.types.responses.response_stream_event import ResponseStreamEvent
from starlette.concurrency import run_in_threadpool

from ...errors import InvalidRequestError, OfflineAssistantsError
from ...service.responses.events import wire_json
from ...store import ResponseRecord

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/responses")
_END = object()


@router.websocket("")
async def responses_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    service = websocket.app.state.runtime.responses
    kept: ResponseRecord | None = None
    try:
        while True:
            try:
                message = await websocket.receive_text()
            except WebSocketDisconnect:
                return
            try:
                record, events = await run_in_threadpool(service.open_stream, _create(message))
            except OfflineAssistantsError as exc:
                await websocket.send_text(_error(exc.status_code, exc.to_dict()["error"]))
                continue
            if kept is not None:
                await run_in_threadpool(service.settled, kept)
            kept = record
            if not await _send_events(websocket, events):
                return
    finally:
        if kept is not None:
            await run_in_threadpool(service.settled, kept)


def _create(message: str) -> dict[str, Any]:
    """A ``response.create`` message's body as ``POST /v1/responses`` takes it."""
    try:
        body = json.loads(message)
    except ValueError:
        raise InvalidRequestError("The message is not valid JSON.", param=None) from None
    if not isinstance(body, dict):
        raise InvalidRequestError("A message is a JSON object with a 'type'.", param="type")
    kind = body.pop("type", None)
    if kind != "response.create":
        raise InvalidRequestError(
            f"Unsupported event type {kind!r}: send 'response.create'.", param="type"
        )
    body.pop("stream", None)  # implied over a WebSocket
    return body


async def _send_events(websocket: WebSocket, events: Iterator[ResponseStreamEvent | None]) -> bool:
    """Each event as a text message; False when the client went away (the response goes on
    in the runtime, as after a dropped SSE stream)."""
    try:
        while True:
            event = await run_in_threadpool(next, events, _END)
            if event is _END:
                return True
            if event is None:  # a quiet stretch: WebSocket pings keep the connection
                continue
            assert not isinstance(event, str)
            await websocket.send_text(wire_json(event))  # type: ignore[arg-type]
    except WebSocketDisconnect:
        return False
    except Exception as exc:  # noqa: BLE001 - the connection stays: say it on it
        log.exception("response over WebSocket failed")
        message = exc.message if isinstance(exc, OfflineAssistantsError) else str(exc)
        error = {"type": "server_error", "code": "server_error", "message": message, "param": None}
        await websocket.send_text(_error(500, error))
        return True
    finally:
        await run_in_threadpool(events.close)  # type: ignore[attr-defined]


def _error(status: int, error: dict[str, Any]) -> str:
    return json.dumps({"type": "error", "status": status, "error": error})
