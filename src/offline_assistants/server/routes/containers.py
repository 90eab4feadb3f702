"""/v1/containers and /v1/containers/{container_id}/files (with their content)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ._common import Body, respond, respond_page, runtime

router = APIRouter(prefix="/v1/containers")


@router.post("")
def create(request: Request, body: Body) -> JSONResponse:
    return respond(runtime(request).containers.create(body))


@router.get("")
def list_(
    request: Request, limit: int | None = None, order: str | None = None, after: str | None = None
) -> JSONResponse:
    return respond_page(runtime(request).containers.list(limit=limit, order=order, after=after))


@router.get("/{container_id}")
def retrieve(request: Request, container_id: str) -> JSONResponse:
    return respond(runtime(request).containers.retrieve(container_id))


@router.delete("/{container_id}")
def delete(request: Request, container_id: str) -> JSONResponse:
    return JSONResponse(runtime(request).containers.delete(container_id))


@router.post("/{container_id}/files")
def create_file(request: Request, container_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).containers.create_file(container_id, body))


@router.get("/{container_id}/files")
def list_files(
    request: Request,
    container_id: str,
    limit: int | None = None,
    order: str | None = None,
    after: str | None = None,
) -> JSONResponse:
    page = runtime(request).containers.list_files(
        container_id, limit=limit, order=order, after=after
    )
    return respond_page(page)


@router.get("/{container_id}/files/{file_id}")
def retrieve_file(request: Request, container_id: str, file_id: str) -> JSONResponse:
    return respond(runtime(request).containers.retrieve_file(container_id, file_id))


@router.get("/{container_id}/files/{file_id}/content")
def file_content(request: Request, container_id: str, file_id: str) -> Response:
    data = runtime(request).containers.file_content(container_id, file_id)
    return Response(data, media_type="application/octet-stream")


@router.delete("/{container_id}/files/{file_id}")
def delete_file(request: Request, container_id: str, file_id: str) -> JSONResponse:
    runtime(request).containers.delete_file(container_id, file_id)
    return JSONResponse({"id": file_id, "object": "container.file.deleted", "deleted": True})
