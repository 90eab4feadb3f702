"""Runs in DuckDB, with the status column indexed for start-up recovery and active-run checks.

``RunOptions`` keeps the run parameters the wire ``Run`` object does not show
(``additional_instructions``, ``include``) so the worker can execute it after a
restart of the queue.
"""

from __future__ import annotations

from pydantic import BaseModel
from openai.types.beta.threads.run import Run

from .database import Database
from .table import Order, Slice, Table

ACTIVE_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")


class RunOptions(BaseModel):
    additional_instructions: str | None = None
    include: list[str] = []


class RunRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = Table(db, "runs", Run)

    def insert(self, run: Run, options: RunOptions) -> None:
        self.table.insert(
            run, thread_id=run.thread_id, status=run.status, options=options.model_dump_json()
        )

    def update(self, run: Run) -> None:
        self.table.update(run, status=run.status)

    def get(self, run_id: str, thread_id: str | None = None) -> Run | None:
        if thread_id is None:
            return self.table.get(run_id)
        return self.table.get(run_id, thread_id=thread_id)

    def options(self, run_id: str) -> RunOptions:
        raw = self.table.get_column(run_id, "options")
        return RunOptions() if raw is None else RunOptions.model_validate_json(raw)

    def active_in_thread(self, thread_id: str) -> Run | None:
        marks = ", ".join("?" for _ in ACTIVE_STATUSES)
        row = self.db.fetchone(
            f"SELECT body FROM runs WHERE thread_id = ? AND status IN ({marks}) ORDER BY seq LIMIT 1",
            [thread_id, *ACTIVE_STATUSES],
        )
        return None if row is None else Run.model_validate_json(row[0])

    def with_status(self, *statuses: str) -> list[Run]:
        marks = ", ".join("?" for _ in statuses)
        rows = self.db.fetchall(
            f"SELECT body FROM runs WHERE status IN ({marks}) ORDER BY seq", list(statuses)
        )
        return [Run.model_validate_json(row[0]) for row in rows]

    def page(
        self, thread_id: str, *, limit: int, order: Order, after: str | None, before: str | None
    ) -> Slice[Run]:
        return self.table.page(
            {"thread_id": thread_id}, limit=limit, order=order, after=after, before=before
        )
