"""/v1/responses (with cancel, input_items, input_tokens and compact); ``stream: true`` → SSE of
``response.*`` events.

Each event goes out as ``event: <type>`` / ``data: <json>``; quiet stretches get
a comment line. A failure after the stream began goes out as an ``error`` event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from openai.types.responses.response_stream_event import ResponseStreamEvent

from ...errors import OfflineAssistantsError
from ...service.responses.events import wire_json
from ...store import list_envelope
from ..sse import sse_response
from ._common import Body, include_query, respond, runtime, stream_flag

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/responses")


@router.post("")
def create(request: Request, body: Body) -> Response:
    service = runtime(request).responses
    params = dict(body)
    if stream_flag(params):
        return sse_response(_frames(service.stream(params)))
    return respond(service.create(params), only_set=True)


def _frames(events: Iterator[ResponseStreamEvent | str | None]) -> Iterator[bytes]:
    try:
        for event in events:
            if event is None:
                yield b": keep-alive\n\n"
                continue
            if isinstance(event, str):  # replayed as recorded
                data, kind = event, json.loads(event)["type"]
            else:
                data, kind = wire_json(event), event.type
            yield f"event: {kind}\ndata: {data}\n\n".encode()
    except Exception as exc:  # noqa: BLE001 - the status line is sent: say it in the stream
        log.exception("response stream failed")
        message = exc.message if isinstance(exc, OfflineAssistantsError) else str(exc)
        error = {"type": "error", "code": "server_error", "message": message, "param": None}
        yield f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    finally:
        close = getattr(events, "close", None)
        if callable(close):
            close()


@router.post("/compact")
def compact(request: Request, body: Body) -> JSONResponse:
    return JSONResponse(runtime(request).response_compaction.compact(body))


@router.post("/input_tokens")
def input_tokens(request: Request, body: Body) -> JSONResponse:
    return respond(runtime(request).response_tokens.count(body))


@router.get("/{response_id}")
def retrieve(
    request: Request,
    response_id: str,
    stream: bool = False,
    starting_after: int | None = None,
) -> Response:
    """The response, or with ``stream=true`` its events past ``starting_after`` (SSE)."""
    service = runtime(request).responses
    if stream:
        after = -1 if starting_after is None else starting_after
        return sse_response(_frames(service.replay(response_id, starting_after=after)))
    return respond(service.retrieve(response_id), only_set=True)


@router.delete("/{response_id}")
def delete(request: Request, response_id: str) -> JSONResponse:
    return JSONResponse(runtime(request).responses.delete(response_id))


@router.post("/{response_id}/cancel")
def cancel(request: Request, response_id: str) -> JSONResponse:
    return respond(runtime(request).responses.cancel(response_id), only_set=True)


@router.get("/{response_id}/input_items")
def input_items(
    request: Request,
    response_id: str,
    limit: int | None = None,
    order: str | None = None,
    after: str | None = None,
) -> JSONResponse:
    data, more = runtime(request).responses.input_items(
        response_id, limit=limit, order=order, after=after, include=include_query(request)
    )
    return JSONResponse(list_envelope(data, more))
