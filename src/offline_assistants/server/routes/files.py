"""/v1/files — multipart upload, retrieve, list, delete, content.

The upload is parsed by Starlette into a spooled temporary file (the body's size
is capped by ``BodyLimit``), then copied in blocks into the data directory on a
worker thread: the event loop never holds the bytes or waits for the disk.
"""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from ...errors import InvalidRequestError, OfflineAssistantsError
from ._common import respond, respond_page, runtime

router = APIRouter(prefix="/v1/files")


@router.post("")
async def create(request: Request) -> JSONResponse:
    try:
        form = await request.form(max_files=1, max_fields=8)
    except OfflineAssistantsError:
        raise  # too large
    except Exception as exc:  # noqa: BLE001 - any malformed body is the client's error
        raise InvalidRequestError(
            f"Could not parse the multipart/form-data body: {exc}. Send 'file' and 'purpose'."
        ) from None
    unknown = sorted(
        set(form) - {"file", "purpose", "expires_after[anchor]", "expires_after[seconds]"}
    )
    if unknown:
        raise InvalidRequestError(
            f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0]
        )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidRequestError("Missing required parameter: 'file'.", param="file")
    purpose = form.get("purpose")
    if purpose is None:
        raise InvalidRequestError("Missing required parameter: 'purpose'.", param="purpose")
    expires = form.get("expires_after[anchor]") or form.get("expires_after[seconds]")
    create = functools.partial(
        runtime(request).files.create,
        data=upload.file,
        filename=upload.filename,
        purpose=purpose,
        expires_after=expires,
    )
    try:
        return respond(await run_in_threadpool(create))
    finally:
        await form.close()


@router.get("")
def list_(
    request: Request,
    purpose: str | None = None,
    limit: int | None = None,
    order: str | None = None,
    after: str | None = None,
) -> JSONResponse:
    return respond_page(
        runtime(request).files.list(purpose=purpose, limit=limit, order=order, after=after)
    )


@router.get("/{file_id}")
def retrieve(request: Request, file_id: str) -> JSONResponse:
    return respond(runtime(request).files.retrieve(file_id))


@router.delete("/{file_id}")
def delete(request: Request, file_id: str) -> JSONResponse:
    return respond(runtime(request).files.delete(file_id))


@router.get("/{file_id}/content")
def content(request: Request, file_id: str) -> Response:
    data = runtime(request).files.content(file_id)
    return Response(data, media_type="application/octet-stream")
