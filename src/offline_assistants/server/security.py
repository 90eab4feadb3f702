"""Who may talk to the server: a Host allowlist (against DNS rebinding) and an optional API key.

Pure ASGI middleware, so it guards every route, streaming included. A request
whose Host header is missing, empty or not allowed gets 400; with an API key
configured, a request without ``Authorization: Bearer <key>`` gets 401, except
the requests ``public`` lets through (the Dashboard's own files, which ask the
person for the key and hold no data). Both answer in OpenAI's error envelope.
"""

from __future__ import annotations

import hmac
import json
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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", "").strip()).lower()
        if host not in self.allowed_hosts:
            await _reject(
                send, 400, f"Host {headers.get('host', '')!r} is not allowed. Add it with --allowed-host.",
                "invalid_host",
            )  # fmt: skip
            return
        if self.api_key is not None and not self.public(scope["method"], scope["path"]):
            given = headers.get("authorization", "")
            expected = f"Bearer {self.api_key}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                await _reject(
                    send, 401, "Incorrect API key provided. Pass the server's --api-key as the "
                    "client's api_key (Authorization: Bearer ...).", "invalid_api_key",
                )  # fmt: skip
                return
        await self.app(scope, receive, send)


async def _reject(send: Send, status: int, message: str, code: str) -> None:
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
