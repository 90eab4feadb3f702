"""/v1/assistants"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import Body, ListQuery, respond, respond_page, runtime

router = APIRouter(prefix="/v1/assistants")


@router.post("")
def create(request: Request, body: Body) -> JSONResponse:
    return respond(runtime(request).assistants.create(body))


@router.get("")
def list_(request: Request, query: ListQuery) -> JSONResponse:
    return respond_page(runtime(request).assistants.list(**query))


@router.get("/{assistant_id}")
def retrieve(request: Request, assistant_id: str) -> JSONResponse:
    return respond(runtime(request).assistants.retrieve(assistant_id))


@router.post("/{assistant_id}")
def update(request: Request, assistant_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).assistants.update(assistant_id, body))


@router.delete("/{assistant_id}")
def delete(request: Request, assistant_id: str) -> JSONResponse:
    return respond(runtime(request).assistants.delete(assistant_id))
