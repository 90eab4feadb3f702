"""OpenAI's error envelope for every failure the server answers.

``{"error": {"message", "type", "param", "code"}}`` with the right status, so the
official client raises its matching class (``BadRequestError``, ``NotFoundError``,
``AuthenticationError``, ...). Malformed JSON, wrong types and unknown routes are
client errors (4xx), never 500s.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import OfflineAssistantsError

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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope(
            500, "The server had an error processing your request.", type="server_error"
        )
