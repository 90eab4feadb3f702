"""How much a client may send: a cap on every request body, checked as it arrives.

Pure ASGI middleware. A declared ``Content-Length`` over the cap is answered
413 at once, without reading the body; a body sent without one (chunked) is
counted as it streams in, and the request fails with
:class:`~offline_assistants.errors.PayloadTooLargeError` the moment it passes
the cap, so no oversized body is ever held in memory or spooled to disk.
Multipart uploads get the Files API's cap; everything else the JSON cap.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import PayloadTooLargeError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_BYTES = 32 << 20
# Multipart framing around an upload of the Files API's largest size.
MULTIPART_OVERHEAD = 1 << 20


class BodyLimit:
    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        upload = headers.get("content-type", "").startswith("multipart/")
        limit = self.upload_bytes if upload else self.json_bytes
        what = "an upload" if upload else "a JSON body"
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _reject(send, _too_large(what, limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(what, limit)
            return message

        await self.app(scope, counted, send)


def _too_large(what: str, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"Request too large: {what} may be at most {limit} bytes. "
        "Split the content or upload large documents through the Files API.",
        code="request_too_large",
    )


async def _reject(send: Send, error: PayloadTooLargeError) -> None:
    body = json.dumps(error.to_dict()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
