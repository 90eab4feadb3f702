"""Threads: create (with initial messages), retrieve, update (metadata), delete, and list.

Listing threads is this runtime's addition (the hosted API had it only behind its
Dashboard): the local Dashboard's Threads page reads it, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openai.types.beta.thread import Thread
from openai.types.beta.thread_create_params import ThreadCreateParams
from openai.types.beta.thread_deleted import ThreadDeleted
from openai.types.beta.thread_update_params import ThreadUpdateParams
from openai.types.beta.threads.message import Message

from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs.journal import now, updated
from ..store import Slice, Store
from .checks.params import check_params
from .checks.tool_resources import check_tool_resources
from .checks.validation import check_list_params, check_metadata
from .messages import new_user_message
from .vector_stores import VectorStoreService

MAX_INITIAL_MESSAGES = 32


class ThreadService:
    def __init__(
        self,
        store: Store,
        vector_stores: VectorStoreService,
        released: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.vector_stores = vector_stores
        self.released = released  # called with a deleted thread's id (its kernel goes)

    def build(self, params: dict[str, Any]) -> tuple[Thread, list[Message]]:
        """A thread and its initial messages from checked ``ThreadCreateParams``, not yet stored."""
        thread = Thread(
            id=new_id("thread"),
            object="thread",
            created_at=now(),
            metadata=check_metadata(params.get("metadata")),
            tool_resources=self._resources(params.get("tool_resources")),  # type: ignore[arg-type]
        )
        items = params.get("messages") or []
        if len(items) > MAX_INITIAL_MESSAGES:
            raise InvalidRequestError(
                f"Invalid 'messages': at most {MAX_INITIAL_MESSAGES} messages at creation.",
                param="messages",
            )
        built = [
            new_user_message(
                thread.id,
                role=item["role"],
                content=item["content"],
                attachments=item.get("attachments"),
                metadata=item.get("metadata"),
                param=f"messages[{index}].",
                file_exists=self.store.files.exists,
            )
            for index, item in enumerate(items)
        ]
        return thread, built

    def _resources(self, value: Any) -> dict[str, Any]:
        return check_tool_resources(value, self.store.files.exists, self.store.vector_stores.exists)

    def store_new(self, thread: Thread, messages: list[Message]) -> Thread:
        """Store the thread and its first messages (making the vector stores they need)."""
        with self.store.db.transaction():
            thread = self.vector_stores.with_stores(thread)
            thread = self.vector_stores.attach_files(thread, messages)
            self.store.threads.insert(thread)
            for message in messages:
                self.store.messages.insert(message)
        return thread

    def add_messages(self, thread_id: str, messages: list[Message]) -> None:
        """Store messages in the thread; their file_search attachments go to its vector store.
        Inside the caller's transaction."""
        if not messages:  # (a run without additional_messages: no read of the thread)
            return
        thread = self.retrieve(thread_id)
        with_files = self.vector_stores.attach_files(thread, messages)
        if with_files is not thread:
            self.store.threads.update(with_files)
        for message in messages:
            self.store.messages.insert(message)

    def create(self, params: Mapping[str, Any]) -> Thread:
        thread, built = self.build(check_params(ThreadCreateParams, params))
        return self.store_new(thread, built)

    def retrieve(self, thread_id: str) -> Thread:
        thread = self.store.threads.get(thread_id)
        if thread is None:
            raise NotFoundError(f"No thread found with id '{thread_id}'.", param="thread_id")
        return thread

    def list(
        self, *, limit: Any = None, order: Any = None, after: Any = None, before: Any = None
    ) -> Slice[Thread]:
        params = check_list_params(limit, order, after, before)
        return self.store.threads.page(
            limit=params.limit, order=params.order, after=params.after, before=params.before
        )

    def update(self, thread_id: str, params: Mapping[str, Any]) -> Thread:
        p = check_params(ThreadUpdateParams, params)
        metadata, tool_resources = p.get("metadata"), p.get("tool_resources")
        checked = check_metadata(metadata) if metadata is not None else None
        resources = None if tool_resources is None else self._resources(tool_resources)
        with self.store.db.transaction():
            thread = self.retrieve(thread_id)
            if checked is not None:
                thread = updated(thread, metadata=checked)
            if resources is not None:
                thread = self.vector_stores.with_stores(updated(thread, tool_resources=resources))
            self.store.threads.update(thread)
        return thread

    def delete(self, thread_id: str) -> ThreadDeleted:
        with self.store.db.transaction():
            if not self.store.threads.exists(thread_id):  # even an unreadable one can go
                raise NotFoundError(f"No thread found with id '{thread_id}'.", param="thread_id")
            active = self.store.runs.active_in_thread(thread_id)
            if active is not None:
                raise ConflictError(
                    f"Can't delete {thread_id} while a run {active.id} is active; cancel it first.",
                    param="thread_id",
                )
            self.store.threads.delete(thread_id)
        self.released(thread_id)
        return ThreadDeleted(id=thread_id, deleted=True, object="thread.deleted")
