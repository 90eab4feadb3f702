"""``client.models``: the SDK's Models resource, in process (see ``service/models.py``)."""

from __future__ import annotations

from openai.types.model import Model

from ..service import Runtime
from ..store import Slice
from ._common import CursorPage


class Models:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.models

    def list(self) -> CursorPage[Model]:
        # one page: every model the runtime can load
        return CursorPage[Model].from_slice(Slice(self._service.list(), has_more=False))

    def retrieve(self, model: str) -> Model:
        return self._service.retrieve(model)
