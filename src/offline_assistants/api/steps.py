"""``client.beta.threads.runs.steps``: the SDK's Steps resource, in process."""

from __future__ import annotations

from openai.types.beta.threads.runs.run_step import RunStep

from ..service import Runtime
from ._common import CursorPage, paged


class Steps:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.steps

    def retrieve(
        self, step_id: str, *, thread_id: str, run_id: str, include: list[str] | None = None
    ) -> RunStep:
        return self._service.retrieve(step_id, thread_id=thread_id, run_id=run_id, include=include)

    def list(
        self,
        run_id: str,
        *,
        thread_id: str,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
        include: list[str] | None = None,
    ) -> CursorPage[RunStep]:
        return paged(
            self._service.list,
            run_id,
            thread_id=thread_id,
            limit=limit,
            order=order,
            after=after,
            before=before,
            include=include,
        )
