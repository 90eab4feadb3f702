"""Who may talk to the server: a Host allowlist (against DNS rebinding) and an optional API key.

Pure ASGI middleware, so it guards every route, streaming included. A request
whose Host header is missing, empty or not allowed gets 400; with an API key
configured, a request without ``Authorization: Bearer <key>`` gets 401, except
the requests ``public`` lets through (the Dashboard's own files, which ask the
person for the key and hold no data). Both answer in OpenAI's error envelope.

WebSockets (the Responses API's WebSocket mode) pass the same checks and one more:
a browser lets any page open a WebSocket to any address, with no CORS preflight,
so a handshake that carries an ``Origin`` must come from an allowed host (the
Dashboard's own page does; a page elsewhere does not). Refused handshakes are
closed before they are accepted (the client sees HTTP 403). ``RedactKeys`` keeps a key
sent in a query string (refused: keys go in the Authorization header) out of the
access log.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(header: str) -> str:
    """The host part of a Host header: ``[::1]:8000`` → ``::1``, ``a:80`` → ``a``."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: frozenset[str],
        api_key: str | None,
        public: Callable[[str, str], bool] = lambda method, path: False,
    ) -> None:
        self.app = app
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.api_key = api_key
        self.public = public  # (method, path) -> whether no key is needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.refusal(scope, websocket=True) is not None:
                await receive()  # the handshake's websocket.connect
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope, websocket=False)
        if refused is not None:
            await _reject(send, *refused)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, *, websocket: bool) -> tuple[int, str, str] | None:
        """Why a request may not pass (status, message, code), or None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", "").strip()).lower()
        if host not in self.allowed_hosts:
            return (
                400, f"Host {headers.get('host', '')!r} is not allowed. Add it with --allowed-host.",
                "invalid_host",
            )  # fmt: skip
        origin = headers.get("origin")
        if websocket and origin is not None:
            origin_host = host_name(origin.split("://", 1)[-1].split("/", 1)[0]).lower()
            if origin_host not in self.allowed_hosts:
                return 403, f"Origin {origin!r} may not open a WebSocket here.", "invalid_origin"
        method = "GET" if websocket else scope["method"]
        if self.api_key is not None and not self.public(method, scope["path"]):
            given = headers.get("authorization", "")
            expected = f"Bearer {self.api_key}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return (
                    401, "Incorrect API key provided. Pass the server's --api-key as the "
                    "client's api_key (Authorization: Bearer ...).", "invalid_api_key",
                )  # fmt: skip
        return None


async def _reject(send: Send, status: int, message: str, code: str) -> None:
    """An HTTP request refused, in OpenAI's envelope."""
    body = json.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RedactKeys(logging.Filter):
    """Takes keys sent in a query string (``?api_key=...``, refused anyway: the key goes in
    the Authorization header) out of uvicorn's access log lines."""

    PATTERN = re.compile(r"((?:api[_-]?key|key|token|access_token)=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True
