"""Run steps: retrieve and list, scoped to their thread and run.

A file_search step's results carry their chunk text only with
``include=["step_details.tool_calls[*].file_search.results[*].content"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openai.types.beta.threads.runs.run_step import RunStep

from ..errors import NotFoundError
from ..runs.search_calls import CONTENT_INCLUDE, without_content
from ..store import Slice, Store
from .checks.validation import check_list_params
from .run_params import check_include


class StepService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _run(self, run_id: str, thread_id: str) -> None:
        if self.store.runs.get(run_id, thread_id) is None:
            raise NotFoundError(f"No run found with id '{run_id}'.", param="run_id")

    def retrieve(
        self, step_id: str, *, thread_id: str, run_id: str, include: Any = None
    ) -> RunStep:
        shown = _shown(include)
        self._run(run_id, thread_id)
        step = self.store.steps.get(step_id, thread_id, run_id)
        if step is None:
            raise NotFoundError(f"No run step found with id '{step_id}'.", param="step_id")
        return shown(step)

    def list(
        self,
        run_id: str,
        *,
        thread_id: str,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        before: Any = None,
        include: Any = None,
    ) -> Slice[RunStep]:
        shown = _shown(include)
        params = check_list_params(limit, order, after, before)
        self._run(run_id, thread_id)
        page = self.store.steps.page(
            thread_id,
            run_id,
            limit=params.limit,
            order=params.order,
            after=params.after,
            before=params.before,
        )
        return Slice([shown(step) for step in page.data], page.has_more)


def _shown(include: Any) -> Callable[[RunStep], RunStep]:
    """File search results keep their content only when ``include`` asks for it."""
    if CONTENT_INCLUDE in check_include(include or []):
        return lambda step: step
    return without_content
