"""/v1/vector_stores — create, list, retrieve, update, delete, search."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import Body, ListQuery, respond, respond_page, runtime

router = APIRouter(prefix="/v1/vector_stores")


@router.post("")
def create(request: Request, body: Body) -> JSONResponse:
    return respond(runtime(request).vector_stores.create(body))


@router.get("")
def list_(request: Request, query: ListQuery) -> JSONResponse:
    return respond_page(runtime(request).vector_stores.list(**query))


@router.get("/{vector_store_id}")
def retrieve(request: Request, vector_store_id: str) -> JSONResponse:
    return respond(runtime(request).vector_stores.retrieve(vector_store_id))


@router.post("/{vector_store_id}")
def update(request: Request, vector_store_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).vector_stores.update(vector_store_id, body))


@router.delete("/{vector_store_id}")
def delete(request: Request, vector_store_id: str) -> JSONResponse:
    return respond(runtime(request).vector_stores.delete(vector_store_id))


@router.post("/{vector_store_id}/search")
def search(request: Request, vector_store_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).vector_stores.search(vector_store_id, body))
