"""/v1/threads/{thread_id}/runs/{run_id}/steps"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import ListQuery, include_query, respond, respond_page, runtime

router = APIRouter(prefix="/v1/threads/{thread_id}/runs/{run_id}/steps")


@router.get("")
def list_(request: Request, thread_id: str, run_id: str, query: ListQuery) -> JSONResponse:
    steps = runtime(request).steps.list(
        run_id, thread_id=thread_id, include=include_query(request), **query
    )
    return respond_page(steps)


@router.get("/{step_id}")
def retrieve(request: Request, thread_id: str, run_id: str, step_id: str) -> JSONResponse:
    step = runtime(request).steps.retrieve(
        step_id, thread_id=thread_id, run_id=run_id, include=include_query(request)
    )
    return respond(step)
