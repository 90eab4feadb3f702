"""/v1/threads/{thread_id}/runs (with cancel and submit_tool_outputs); ``stream: true`` → SSE."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..sse import event_stream
from ._common import (
    POLL_AFTER_MS,
    Body,
    ListQuery,
    include_query,
    respond,
    respond_page,
    runtime,
    stream_flag,
)

router = APIRouter(prefix="/v1/threads/{thread_id}/runs")


@router.post("")
def create(
    request: Request,
    thread_id: str,
    body: Body,
) -> Response:
    rt = runtime(request)
    params = dict(body)
    stream = stream_flag(params)
    include = include_query(request)
    if include:
        params["include"] = include
    if stream:
        run, subscription = rt.runs.create_watched(thread_id, params)
        return event_stream(rt.bus, subscription)
    return respond(rt.runs.create(thread_id, params))


@router.get("")
def list_(request: Request, thread_id: str, query: ListQuery) -> JSONResponse:
    return respond_page(runtime(request).runs.list(thread_id, **query))


@router.get("/{run_id}")
def retrieve(request: Request, thread_id: str, run_id: str) -> JSONResponse:
    run = runtime(request).runs.retrieve(run_id, thread_id=thread_id)
    return respond(run, headers={"openai-poll-after-ms": POLL_AFTER_MS})


@router.post("/{run_id}")
def update(request: Request, thread_id: str, run_id: str, body: Body) -> JSONResponse:
    return respond(runtime(request).runs.update(run_id, thread_id=thread_id, params=body))


@router.post("/{run_id}/cancel")
def cancel(request: Request, thread_id: str, run_id: str) -> JSONResponse:
    return respond(runtime(request).runs.cancel(run_id, thread_id=thread_id))


@router.post("/{run_id}/submit_tool_outputs")
def submit_tool_outputs(request: Request, thread_id: str, run_id: str, body: Body) -> Response:
    rt = runtime(request)
    params = dict(body)
    if stream_flag(params):
        run, subscription = rt.runs.submit_tool_outputs_watched(
            run_id, thread_id=thread_id, params=params
        )
        return event_stream(rt.bus, subscription)
    return respond(rt.runs.submit_tool_outputs(run_id, thread_id=thread_id, params=params))
