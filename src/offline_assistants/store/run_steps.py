"""Run steps in DuckDB, listed per run."""

from __future__ import annotations

from openai.types.beta.threads.runs.run_step import RunStep

from .database import Database
from .table import Order, Slice, Table


class RunStepRepository:
    def __init__(self, db: Database) -> None:
        self.table = Table(db, "run_steps", RunStep)

    def insert(self, step: RunStep) -> None:
        self.table.insert(step, thread_id=step.thread_id, run_id=step.run_id)

    def update(self, step: RunStep) -> None:
        self.table.update(step)

    def get(self, step_id: str, thread_id: str, run_id: str) -> RunStep | None:
        return self.table.get(step_id, thread_id=thread_id, run_id=run_id)

    def in_run(self, run_id: str) -> list[RunStep]:
        return self.table.select({"run_id": run_id})

    def in_thread_with_seq(self, thread_id: str) -> list[tuple[int, RunStep]]:
        return self.table.select_with_seq({"thread_id": thread_id})

    def page(
        self,
        thread_id: str,
        run_id: str,
        *,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> Slice[RunStep]:
        return self.table.page(
            {"thread_id": thread_id, "run_id": run_id},
            limit=limit,
            order=order,
            after=after,
            before=before,
        )
