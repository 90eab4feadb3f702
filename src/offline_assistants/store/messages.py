"""Messages in DuckDB, filtered by thread (and optionally run), ordered by creation."""

from __future__ import annotations

from openai.types.beta.threads.message import Message

from .database import Database
from .table import Order, Slice, Table


class MessageRepository:
    def __init__(self, db: Database) -> None:
        self.table = Table(db, "messages", Message)

    def insert(self, message: Message) -> None:
        self.table.insert(message, thread_id=message.thread_id, run_id=message.run_id)

    def update(self, message: Message) -> None:
        self.table.update(message)

    def get(self, message_id: str, thread_id: str) -> Message | None:
        return self.table.get(message_id, thread_id=thread_id)

    def delete(self, message_id: str, thread_id: str) -> bool:
        return self.table.delete(id=message_id, thread_id=thread_id) > 0

    def in_thread(self, thread_id: str) -> list[Message]:
        """Every message of the thread, oldest first (the model's view of the conversation)."""
        return self.table.select({"thread_id": thread_id}, order="asc")

    def in_thread_with_seq(self, thread_id: str) -> list[tuple[int, Message]]:
        return self.table.select_with_seq({"thread_id": thread_id})

    def page(
        self,
        thread_id: str,
        *,
        run_id: str | None,
        limit: int,
        order: Order,
        after: str | None,
        before: str | None,
    ) -> Slice[Message]:
        where: dict[str, object] = {"thread_id": thread_id}
        if run_id is not None:
            where["run_id"] = run_id
        return self.table.page(where, limit=limit, order=order, after=after, before=before)
