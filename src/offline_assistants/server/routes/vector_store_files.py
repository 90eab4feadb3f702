"""/v1/vector_stores/{vector_store_id}/files and /file_batches."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...service.vector_store_files import VectorStoreFileService
from ._common import POLL_AFTER_MS, Body, ListQuery, respond, respond_page, runtime

router = APIRouter(prefix="/v1/vector_stores/{vector_store_id}")
POLL = {"openai-poll-after-ms": POLL_AFTER_MS}


def service(request: Request) -> VectorStoreFileService:
    return runtime(request).vector_stores.files


@router.post("/files")
def create(request: Request, vector_store_id: str, body: Body) -> JSONResponse:
    return respond(service(request).create(vector_store_id, body))


@router.get("/files")
def list_(
    request: Request, vector_store_id: str, query: ListQuery, filter: str | None = None
) -> JSONResponse:
    return respond_page(service(request).list(vector_store_id, filter=filter, **query))


@router.get("/files/{file_id}")
def retrieve(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    return respond(service(request).retrieve(file_id, vector_store_id=vector_store_id), POLL)


@router.post("/files/{file_id}")
def update(request: Request, vector_store_id: str, file_id: str, body: Body) -> JSONResponse:
    return respond(service(request).update(file_id, vector_store_id=vector_store_id, params=body))


@router.delete("/files/{file_id}")
def delete(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    return respond(service(request).delete(file_id, vector_store_id=vector_store_id))


@router.get("/files/{file_id}/content")
def content(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    parts = service(request).content(file_id, vector_store_id=vector_store_id)
    return JSONResponse({"object": "vector_store.file_content.page", "data": parts})


@router.post("/file_batches")
def create_batch(request: Request, vector_store_id: str, body: Body) -> JSONResponse:
    return respond(service(request).create_batch(vector_store_id, body))


@router.get("/file_batches/{batch_id}")
def retrieve_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    batch = service(request).retrieve_batch(batch_id, vector_store_id=vector_store_id)
    return respond(batch, POLL)


@router.post("/file_batches/{batch_id}/cancel")
def cancel_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    return respond(service(request).cancel_batch(batch_id, vector_store_id=vector_store_id))


@router.get("/file_batches/{batch_id}/files")
def list_batch_files(
    request: Request,
    vector_store_id: str,
    batch_id: str,
    query: ListQuery,
    filter: str | None = None,
) -> JSONResponse:
    files = service(request).list_batch_files(
        batch_id, vector_store_id=vector_store_id, filter=filter, **query
    )
    return respond_page(files)
