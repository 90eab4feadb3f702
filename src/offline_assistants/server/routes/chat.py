"""/v1/chat/completions; ``stream: true`` → Server-Sent Events of ``chat.completion.chunk``.

The stream is ``data: {chunk}`` lines ending with ``data: [DONE]``, as the API
sends them. A failure after the first chunk can no longer change the status, so
it is sent as a ``data: {"error": ...}`` line (the SDKs raise it) and the stream
ends. When the client goes away the generator is closed and the model stops.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from openai.types.chat.chat_completion_chunk import ChatCompletionChunk

from ...errors import InternalError, OfflineAssistantsError
from ..sse import sse_response
from ._common import Body, respond, runtime, stream_flag

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/chat/completions")


@router.post("")
def create(request: Request, body: Body) -> Response:
    service = runtime(request).chat_completions
    params = dict(body)
    if stream_flag(params):
        return sse_response(_frames(service.stream(params)))
    return respond(service.create(params))


def _frames(chunks: Iterator[ChatCompletionChunk]) -> Iterator[bytes]:
    try:
        for chunk in chunks:
            yield f"data: {chunk.model_dump_json(exclude_unset=True)}\n\n".encode()
    except OfflineAssistantsError as exc:
        yield f"data: {json.dumps(exc.to_dict())}\n\n".encode()
    except Exception as exc:  # noqa: BLE001 - the status line is sent: say it in the stream
        log.exception("chat completion stream failed")
        error = InternalError(f"The completion failed: {type(exc).__name__}: {exc}")
        yield f"data: {json.dumps(error.to_dict())}\n\n".encode()
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
    yield b"data: [DONE]\n\n"
