"""/v1/threads/{thread_id}/runs/{run_id}/steps"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import ListQuery, respond, respond_page, runtime

router = APIRouter(prefix="/v1/threads/{thread_id}/runs/{run_id}/steps")


@router.get("")
def list_(request: Request, thread_id: str, run_id: str, query: ListQuery) -> JSONResponse:
    return respond_page(runtime(request).steps.list(run_id, thread_id=thread_id, **query))


@router.get("/{step_id}")
def retrieve(request: Request, thread_id: str, run_id: str, step_id: str) -> JSONResponse:
    return respond(runtime(request).steps.retrieve(step_id, thread_id=thread_id, run_id=run_id))
