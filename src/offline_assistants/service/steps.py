"""Run steps: retrieve and list, scoped to their thread and run."""

from __future__ import annotations

from typing import Any

from openai.types.beta.threads.runs.run_step import RunStep

from ..errors import NotFoundError
from ..store import Slice, Store
from .validation import check_list_params


class StepService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _run(self, run_id: str, thread_id: str) -> None:
        if self.store.runs.get(run_id, thread_id) is None:
            raise NotFoundError(f"No run found with id '{run_id}'.", param="run_id")

    def retrieve(self, step_id: str, *, thread_id: str, run_id: str) -> RunStep:
        self._run(run_id, thread_id)
        step = self.store.steps.get(step_id, thread_id, run_id)
        if step is None:
            raise NotFoundError(f"No run step found with id '{step_id}'.", param="step_id")
        return step

    def list(
        self,
        run_id: str,
        *,
        thread_id: str,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        before: Any = None,
    ) -> Slice[RunStep]:
        params = check_list_params(limit, order, after, before)
        self._run(run_id, thread_id)
        return self.store.steps.page(
            thread_id,
            run_id,
            limit=params.limit,
            order=params.order,
            after=params.after,
            before=params.before,
        )
