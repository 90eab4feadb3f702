"""``client.beta.threads.messages``: the SDK's Messages resource, in process."""

from __future__ import annotations

from typing import Any

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.message_deleted import MessageDeleted

from ..service import Runtime
from ._common import CursorPage, paged


class Messages:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.messages

    def create(
        self,
        thread_id: str,
        *,
        content: str | list[Any],
        role: str,
        attachments: list[Any] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Message:
        return self._service.create(
            thread_id,
            {"role": role, "content": content, "attachments": attachments, "metadata": metadata},
        )

    def retrieve(self, message_id: str, *, thread_id: str) -> Message:
        return self._service.retrieve(message_id, thread_id=thread_id)

    def update(
        self, message_id: str, *, thread_id: str, metadata: dict[str, str] | None = None
    ) -> Message:
        return self._service.update(message_id, thread_id=thread_id, params={"metadata": metadata})

    def delete(self, message_id: str, *, thread_id: str) -> MessageDeleted:
        return self._service.delete(message_id, thread_id=thread_id)

    def list(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
        run_id: str | None = None,
    ) -> CursorPage[Message]:
        return paged(
            self._service.list,
            thread_id=thread_id,
            limit=limit,
            order=order,
            after=after,
            before=before,
            run_id=run_id,
        )
