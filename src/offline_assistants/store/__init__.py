"""Persistence: one DuckDB file, one repository per object kind.

``Store`` bundles the repositories over a single :class:`Database`; callers
group writes with ``store.db.transaction()`` so a failed call changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from .assistants import AssistantRepository
from .containers import ContainerRepository
from .database import Database
from .files import FileRepository
from .messages import MessageRepository
from .responses import ResponseRecord, ResponseRepository
from .run_steps import RunStepRepository
from .runs import McpServerRef, RunOptions, RunRepository
from .table import Order, Slice, list_envelope
from .threads import ThreadRepository
from .vector_stores import FileTally, VectorStoreRepository


class Store:
    def __init__(self, path: Path) -> None:
        self.db = Database(path)
        try:
            self.assistants = AssistantRepository(self.db)
            self.threads = ThreadRepository(self.db)
            self.messages = MessageRepository(self.db)
            self.runs = RunRepository(self.db)
            self.steps = RunStepRepository(self.db)
            self.files = FileRepository(self.db, path.parent / "files")
            self.vector_stores = VectorStoreRepository(self.db)
            self.responses = ResponseRepository(self.db)
            self.containers = ContainerRepository(self.db)
        except BaseException:
            self.db.close()  # the connection and the data directory's lock go with it
            raise

    def close(self) -> None:
        self.db.close()


__all__ = [
    "Database",
    "FileTally",
    "Order",
    "ResponseRecord",
    "McpServerRef",
    "RunOptions",
    "Slice",
    "Store",
    "list_envelope",
]
