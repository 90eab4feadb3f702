"""/v1/models: the model names runs and completions accept (``service/models.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import respond, runtime

router = APIRouter(prefix="/v1/models")


@router.get("")
def list_(request: Request) -> JSONResponse:
    models = runtime(request).models.list()
    return JSONResponse(
        {"object": "list", "data": [model.model_dump(mode="json") for model in models]}
    )


@router.get("/{model:path}")
def retrieve(request: Request, model: str) -> JSONResponse:
    return respond(runtime(request).models.retrieve(model))
