"""OpenAI's error envelope for every failure the server answers.

``{"error": {"message", "type", "param", "code"}}`` with the right status, so the
official client raises its matching class (``BadRequestError``, ``NotFoundError``,
``AuthenticationError``, ...). Malformed JSON, wrong types and unknown routes are
client errors (4xx), never 500s. A full disk is 507 ``insufficient_storage``.

Anything unexpected is logged with its traceback and answered 500 in the same
envelope by :class:`CatchAll`, which does not re-raise: Starlette's own last
resort re-raises into the server, which then drops the connection.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import InsufficientStorageError, OfflineAssistantsError

log = logging.getLogger(__name__)


def envelope(
    status: int, message: str, *, type: str = "invalid_request_error", param: str | None = None,
    code: str | None = None,
) -> JSONResponse:  # fmt: skip
    return JSONResponse(
        status_code=status,
        content={"error": {"message": message, "type": type, "param": param, "code": code}},
    )


def install(app: FastAPI) -> None:
    """The envelope for every error the routes raise (``CatchAll`` is added by the app
    factory last, so that it wraps the other middleware too)."""

    @app.exception_handler(OfflineAssistantsError)
    async def known(request: Request, exc: OfflineAssistantsError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = [
            str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")
        ]
        param = location[0] if location else None
        return envelope(
            400, f"Invalid '{param}': {first.get('msg', 'invalid value')}.", param=param
        )

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"Unknown request URL: {request.method} {request.url.path}."
        elif exc.status_code == 405:
            message = f"Method {request.method} is not allowed for {request.url.path}."
        else:
            message = str(exc.detail)
        return envelope(exc.status_code, message)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CatchAll:
    """The envelope for errors nothing else handled (500, or 507 for a full disk)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the last resort answers, then carries on
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                known: OfflineAssistantsError = InsufficientStorageError(
                    "The disk holding the data directory is full. Free some space and retry."
                )
                response = JSONResponse(status_code=known.status_code, content=known.to_dict())
            else:
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                response = envelope(
                    500, "The server had an error processing your request.", type="server_error"
                )
            if not started:
                await response(scope, receive, send)
