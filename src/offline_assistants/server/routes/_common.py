"""What every routes module uses: the runtime from the app, JSON out, list pages out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ...errors import InvalidRequestError
from ...service import Runtime
from ...store import Slice, list_envelope
from ..body import json_body

# Polling courtesy: how soon the SDK's poll helpers should look again at a run.
POLL_AFTER_MS = "250"


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def respond(
    obj: BaseModel, headers: dict[str, str] | None = None, *, only_set: bool = False
) -> JSONResponse:
    """``obj`` as JSON; ``only_set`` leaves out the fields it was not given (the Responses
    API sends no ``null`` for a field it does not use, and clients replay items as given)."""
    body = obj.model_dump(mode="json", by_alias=True, exclude_unset=only_set)
    return JSONResponse(body, headers=headers)


def respond_page(page: Slice[Any]) -> JSONResponse:
    data = [item.model_dump(mode="json", by_alias=True) for item in page.data]
    return JSONResponse(list_envelope(data, page.has_more))


def list_query(
    limit: int | None = None,
    order: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    return {"limit": limit, "order": order, "after": after, "before": before}


def stream_flag(params: dict[str, Any]) -> bool:
    """Take ``stream`` out of a body (it picks the response, not the run): a boolean or absent."""
    stream = params.pop("stream", None)
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequestError(
            f"Invalid type for 'stream': expected a boolean, but got {type(stream).__name__}.",
            param="stream",
        )
    return bool(stream)


def include_query(request: Request) -> list[str] | None:
    """``include[]=...`` (as the SDK sends it) or ``include=...``; None when absent."""
    values = request.query_params.getlist("include[]") + request.query_params.getlist("include")
    return values or None


# Parameter types for route handlers: the parsed JSON body and the cursor query parameters.
Body = Annotated[dict[str, Any], Depends(json_body)]
ListQuery = Annotated[dict[str, Any], Depends(list_query)]
