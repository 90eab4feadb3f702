"""Threads in DuckDB (the bodies of the most recently used also in memory:
:mod:`.recent_bodies`). Deleting a thread removes its messages, runs, steps and responses
with it."""

from __future__ import annotations

from openai.types.beta.thread import Thread

from .database import Database
from .recent_bodies import RECENT
from .table import Slice, Table


class ThreadRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = Table(db, "threads", Thread, remember=RECENT)

    def insert(self, thread: Thread) -> None:
        self.table.insert(thread)

    def update(self, thread: Thread) -> None:
        self.table.update(thread)

    def get(self, thread_id: str) -> Thread | None:
        return self.table.get(thread_id)

    def exists(self, thread_id: str) -> bool:
        return self.table.exists(thread_id)

    def page(self, **cursor: object) -> Slice[Thread]:
        return self.table.page({}, **cursor)  # type: ignore[arg-type]

    def delete(self, thread_id: str) -> bool:
        with self.db.transaction():
            for child in ("run_steps", "runs", "messages", "responses"):
                self.db.execute(f"DELETE FROM {child} WHERE thread_id = ?", [thread_id])
            return self.table.delete(id=thread_id) > 0
