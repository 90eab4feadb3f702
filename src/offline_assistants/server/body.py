"""Request bodies: JSON objects parsed off the event loop, with clear 400s for malformed input.

The size of every body is capped by :class:`~.limits.BodyLimit` before it gets here.
Parsing happens in a worker thread for anything but small bodies, so a client
sending megabytes of JSON never stalls the other requests. Only real JSON is
accepted: ``NaN``/``Infinity`` literals and invalid UTF-8 are refused, and
nesting deep enough to exhaust the parser is a 400, not a crash. What the
body may contain is checked by the service (``service/checks/params.py``).
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from fastapi import Request

from ..errors import InvalidRequestError

# Bodies up to this size are parsed on the event loop: a thread hop costs more than that.
INLINE_PARSE_BYTES = 64 << 10


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    if len(raw) <= INLINE_PARSE_BYTES:
        return parse_json_object(raw)
    return await anyio.to_thread.run_sync(parse_json_object, raw)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise InvalidRequestError(
            "The JSON body is nested too deeply to parse; no request needs that depth."
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        detail = f" ({exc})" if isinstance(exc, _NotJson) else ""
        raise InvalidRequestError(
            "We could not parse the JSON body of your request"
            f"{detail}. (HINT: This likely means you aren't using your HTTP library correctly. "
            "The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return body


class _NotJson(ValueError):
    pass


def _not_json(constant: str) -> Any:
    raise _NotJson(f"{constant} is not valid JSON; send numbers only")
