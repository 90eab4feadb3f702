"""Responses in DuckDB: what a response is made of in the thread model, not its output.

A response (Responses API) is a stretch of one run in one thread: the thread
holds its input (as messages and, for replayed calls, a tool_calls step) and
its output (the run's messages and steps). ``ResponseRecord`` keeps the
request as given and where that stretch lies in the global object sequence:
input from ``input_from``, output from ``output_from``, until ``output_until``
when a later response resumed the same run (after its function calls). The
wire ``Response`` is rendered from these and the thread on every read
(``service/responses/items.py``), so it is never stale.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .database import Database
from .table import Table


class ResponseRecord(BaseModel):
    id: str
    created_at: int
    thread_id: str
    run_id: str
    input_from: int
    output_from: int
    output_until: int | None = None
    conversation_id: str | None = None  # the thread is that conversation's
    previous_response_id: str | None = None
    store: bool = True
    background: bool = False
    answered: list[str] = []  # the calls of the resumed run its input answered
    # MCP items made while the request was checked, its first output items: the servers'
    # mcp_list_tools, and the mcp_call items its replayed approvals made (responses/mcp_*).
    mcp_items: list[dict[str, Any]] = []
    request: dict[str, Any]  # the Response fields the request set (model, tools, ...)


class ResponseRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = Table(db, "responses", ResponseRecord)

    def boundary(self) -> int:
        """A number below every object stored from now on (and above all before)."""
        row = self.db.fetchone("SELECT nextval('object_seq')")
        assert row is not None
        return int(row[0])

    def insert(self, record: ResponseRecord) -> None:
        self.table.insert(record, thread_id=record.thread_id, run_id=record.run_id)

    def update(self, record: ResponseRecord) -> None:
        self.table.update(record)

    def get(self, response_id: str) -> ResponseRecord | None:
        return self.table.get(response_id)

    def exists(self, response_id: str) -> bool:
        return self.table.exists(response_id)

    def in_run(self, run_id: str) -> list[ResponseRecord]:
        return self.table.select({"run_id": run_id})

    def in_thread(self, thread_id: str) -> list[ResponseRecord]:
        return self.table.select({"thread_id": thread_id})

    def delete(self, response_id: str) -> bool:
        return self.table.delete(id=response_id) > 0
