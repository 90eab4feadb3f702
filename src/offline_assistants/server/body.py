"""Request bodies: parsed as JSON objects by hand, so malformed input is a clear 400."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi import Request

from ..errors import InvalidRequestError


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError(
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return body


def only(body: dict[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """``body`` if it has no keys outside ``allowed``; else the API's unknown-argument error."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidRequestError(
            f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0]
        )
    return body


def required(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise InvalidRequestError(f"Missing required parameter: '{name}'.", param=name)
    return body[name]
