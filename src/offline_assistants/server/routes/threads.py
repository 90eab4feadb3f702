"""/v1/threads and /v1/threads/runs (create a thread and run it); ``GET /v1/threads`` lists them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..sse import event_stream
from ._common import Body, ListQuery, respond, respond_page, runtime, stream_flag

router = APIRouter(prefix="/v1/threads")


@router.post("")
def create(request: Request, body: Body) -> JSONResponse:
    return respond(runtime(request).threads.create(body))


@router.get("")
def list_(request: Request, query: ListQuery) -> JSONResponse:
    return respond_page(runtime(request).threads.list(**query))


@router.post("/runs")
def create_and_run(request: Request, body: Body) -> Response:
    rt = runtime(request)
    params = dict(body)
    if stream_flag(params):
        run, subscription = rt.runs.create_and_run_watched(params)
        return event_stream(rt.bus, subscription)
    return respond(rt.runs.create_and_run(params))


@router.get("/{thread_id}")
def retrieve(request: Request, thread_id: str) -> JSONResponse:
    return respond(runtime(request).threads.retrieve(thread_id))


@router.post("/{thread_id}")
def update(request: Request, thread_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).threads.update(thread_id, body))


@router.delete("/{thread_id}")
def delete(request: Request, thread_id: str) -> JSONResponse:
    return respond(runtime(request).threads.delete(thread_id))
