"""``client.models``: the SDK's Models resource, in process (see ``service/models.py``)."""

from __future__ import annotations

from openai.types.model import Model

from ..service import Runtime
from ._common import CursorPage


class Models:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.models

    def list(self) -> CursorPage[Model]:
        models = self._service.list()
        return CursorPage[Model](
            data=models,
            first_id=models[0].id if models else None,
            last_id=models[-1].id if models else None,
        )

    def retrieve(self, model: str) -> Model:
        return self._service.retrieve(model)
