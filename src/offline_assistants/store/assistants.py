"""Assistants in DuckDB: one row per ``Assistant``, stored as its wire JSON; the bodies of
the most recently used are also kept in memory (:mod:`.recent_bodies`)."""

from __future__ import annotations

from openai.types.beta.assistant import Assistant

from .database import Database
from .recent_bodies import RECENT
from .table import Slice, Table


class AssistantRepository:
    def __init__(self, db: Database) -> None:
        self.table = Table(db, "assistants", Assistant, remember=RECENT)

    def insert(self, assistant: Assistant) -> None:
        self.table.insert(assistant)

    def update(self, assistant: Assistant) -> None:
        self.table.update(assistant)

    def get(self, assistant_id: str) -> Assistant | None:
        return self.table.get(assistant_id)

    def delete(self, assistant_id: str) -> bool:
        return self.table.delete(id=assistant_id) > 0

    def page(self, **cursor: object) -> Slice[Assistant]:
        return self.table.page({}, **cursor)  # type: ignore[arg-type]
