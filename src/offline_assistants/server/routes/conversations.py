"""/v1/conversations and /v1/conversations/{conversation_id}/items."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import Body, include_query, respond, runtime

router = APIRouter(prefix="/v1/conversations")


@router.post("")
def create(request: Request, body: Body) -> JSONResponse:
    return respond(runtime(request).conversations.create(body))


@router.get("/{conversation_id}")
def retrieve(request: Request, conversation_id: str) -> JSONResponse:
    return respond(runtime(request).conversations.retrieve(conversation_id))


@router.post("/{conversation_id}")
def update(request: Request, conversation_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).conversations.update(conversation_id, body))


@router.delete("/{conversation_id}")
def delete(request: Request, conversation_id: str) -> JSONResponse:
    return respond(runtime(request).conversations.delete(conversation_id))


@router.post("/{conversation_id}/items")
def create_items(request: Request, conversation_id: str, body: Body) -> JSONResponse:
    page = runtime(request).conversations.create_items(
        conversation_id, body, include=include_query(request)
    )
    return JSONResponse(page)


@router.get("/{conversation_id}/items")
def list_items(
    request: Request,
    conversation_id: str,
    limit: int | None = None,
    order: str | None = None,
    after: str | None = None,
) -> JSONResponse:
    return JSONResponse(
        runtime(request).conversations.list_items(
            conversation_id, limit=limit, order=order, after=after, include=include_query(request)
        )
    )


@router.get("/{conversation_id}/items/{item_id}")
def retrieve_item(request: Request, conversation_id: str, item_id: str) -> JSONResponse:
    return JSONResponse(
        runtime(request).conversations.retrieve_item(
            conversation_id, item_id, include=include_query(request)
        )
    )


@router.delete("/{conversation_id}/items/{item_id}")
def delete_item(request: Request, conversation_id: str, item_id: str) -> JSONResponse:
    return respond(runtime(request).conversations.delete_item(conversation_id, item_id))
