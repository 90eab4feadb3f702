"""/v1/threads/{thread_id}/messages"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import Body, ListQuery, respond, respond_page, runtime

router = APIRouter(prefix="/v1/threads/{thread_id}/messages")


@router.post("")
def create(request: Request, thread_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).messages.create(thread_id, body))


@router.get("")
def list_(
    request: Request,
    thread_id: str,
    query: ListQuery,
    run_id: str | None = None,
) -> JSONResponse:
    return respond_page(runtime(request).messages.list(thread_id, run_id=run_id, **query))


@router.get("/{message_id}")
def retrieve(request: Request, thread_id: str, message_id: str) -> JSONResponse:
    return respond(runtime(request).messages.retrieve(message_id, thread_id=thread_id))


@router.post("/{message_id}")
def update(request: Request, thread_id: str, message_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).messages.update(message_id, thread_id=thread_id, params=body))


@router.delete("/{message_id}")
def delete(request: Request, thread_id: str, message_id: str) -> JSONResponse:
    return respond(runtime(request).messages.delete(message_id, thread_id=thread_id))
