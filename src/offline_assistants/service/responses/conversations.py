"""Conversations and their items.

A conversation is a thread whose id starts ``conv_``: responses created with
``conversation=`` run in it, and ``beta.threads`` / ``messages`` read it as a
thread (its user and assistant messages, its runs and steps). Its items are
the thread's messages and calls in order (``items.py``), function
outputs included. Items created directly are messages (``user`` or
``assistant``); a call or its output comes into a conversation through a
response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openai.types.beta.thread import Thread
from openai.types.beta.threads.message import Message
from openai.types.conversations.conversation import Conversation
from openai.types.conversations.conversation_create_params import ConversationCreateParams
from openai.types.conversations.conversation_deleted_resource import (
    ConversationDeletedResource,
)
from openai.types.conversations.conversation_update_params import ConversationUpdateParams
from openai.types.conversations.item_create_params import ItemCreateParams

from ...errors import ConflictError, InvalidRequestError, NotFoundError
from ...ids import new_id
from ...runs.journal import updated
from ...store import Store, list_envelope
from ..checks.params import check_params
from ..checks.validation import check_list_params, check_metadata
from ..messages import new_user_message
from ..threads import ThreadService
from .input_items import InputMessage, parse_input
from .items import INCLUDABLE, container_id, thread_items
from .views import page_of

MAX_NEW_ITEMS = 20


class ConversationService:
    def __init__(self, store: Store, threads: ThreadService) -> None:
        self.store = store
        self.threads = threads

    def create(self, params: Mapping[str, Any]) -> Conversation:
        p = check_params(ConversationCreateParams, params)
        thread, _ = self.threads.build({"metadata": p.get("metadata")})
        thread = updated(thread, id=new_id("conv"))
        messages = self._messages(thread.id, p.get("items"), "items")
        return _conversation(self.threads.store_new(thread, messages))

    def _messages(self, conversation_id: str, items: Any, param: str) -> list[Message]:
        entries = parse_input(items or [])
        if len(entries) > MAX_NEW_ITEMS:
            raise InvalidRequestError(
                f"Invalid '{param}': at most {MAX_NEW_ITEMS} items at a time.", param=param
            )
        messages = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, InputMessage):
                raise InvalidRequestError(
                    f"Invalid '{param}[{index}]': only user and assistant messages can be added "
                    "directly; instructions, calls and their outputs come in through a "
                    "response (responses.create with conversation=...).",
                    param=f"{param}[{index}]",
                )
            messages.append(
                new_user_message(
                    conversation_id,
                    role=entry.role,
                    content=entry.text,
                    attachments=None,
                    metadata=None,
                    param=f"{param}[{index}].",
                    file_exists=self.store.files.exists,
                )
            )
        return messages

    def _thread(self, conversation_id: str) -> Thread:
        thread = (
            self.store.threads.get(conversation_id) if conversation_id.startswith("conv_") else None
        )
        if thread is None:
            raise NotFoundError(
                f"Conversation with id '{conversation_id}' not found.", param="conversation_id"
            )
        return thread

    def retrieve(self, conversation_id: str) -> Conversation:
        return _conversation(self._thread(conversation_id))

    def update(self, conversation_id: str, params: Mapping[str, Any]) -> Conversation:
        p = check_params(ConversationUpdateParams, params, path=("conversation_id",))
        if "metadata" not in p:  # the SDK always sends it; omitted, nothing changes
            return _conversation(self._thread(conversation_id))
        metadata = check_metadata(p["metadata"])
        with self.store.db.transaction():
            thread = updated(self._thread(conversation_id), metadata=metadata)
            self.store.threads.update(thread)
        return _conversation(thread)

    def delete(self, conversation_id: str) -> ConversationDeletedResource:
        self._thread(conversation_id)
        self.threads.delete(conversation_id)
        return ConversationDeletedResource(
            id=conversation_id, deleted=True, object="conversation.deleted"
        )

    # -- items ------------------------------------------------------------------------------

    def create_items(
        self, conversation_id: str, params: Mapping[str, Any], include: Any = None
    ) -> dict[str, Any]:
        p = check_params(ItemCreateParams, params, path=("conversation_id",))
        with self.store.db.transaction():
            self._thread(conversation_id)
            self._idle(conversation_id)
            messages = self._messages(conversation_id, p["items"], "items")
            self.threads.add_messages(conversation_id, messages)
        ids = {m.id for m in messages}
        data = [item for item in self._items(conversation_id, include) if item["id"] in ids]
        return list_envelope(data, False)

    def list_items(
        self,
        conversation_id: str,
        *,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        include: Any = None,
    ) -> dict[str, Any]:
        params = check_list_params(limit, order or "desc", after, None)
        self._thread(conversation_id)
        data, more = page_of(
            self._items(conversation_id, include), params.limit, params.order, params.after
        )
        return list_envelope(data, more)

    def retrieve_item(
        self, conversation_id: str, item_id: str, include: Any = None
    ) -> dict[str, Any]:
        self._thread(conversation_id)
        for item in self._items(conversation_id, include):
            if item["id"] == item_id:
                return item
        raise NotFoundError(f"Item with id '{item_id}' not found.", param="item_id")

    def delete_item(self, conversation_id: str, item_id: str) -> Conversation:
        thread = self._thread(conversation_id)
        self.retrieve_item(conversation_id, item_id)
        if not item_id.startswith("msg_"):
            raise InvalidRequestError(
                f"Item '{item_id}' is part of a tool call; only message items can be deleted.",
                param="item_id",
            )
        with self.store.db.transaction():
            self._idle(conversation_id)
            self.store.messages.delete(item_id, conversation_id)
        return _conversation(thread)

    def _idle(self, conversation_id: str) -> None:
        active = self.store.runs.active_in_thread(conversation_id)
        if active is not None:
            raise ConflictError(
                f"{conversation_id} has a response in progress (run {active.id}); wait for it "
                "to finish.",
                param="conversation_id",
            )

    def _items(self, conversation_id: str, include: Any) -> list[dict[str, Any]]:
        wanted = list(include or [])
        for index, value in enumerate(wanted):
            if value not in INCLUDABLE:
                raise InvalidRequestError(
                    f"Invalid 'include[{index}]': {value!r}; supported: {', '.join(INCLUDABLE)}.",
                    param="include",
                )
        return thread_items(
            self.store.messages.in_thread_with_seq(conversation_id),
            self.store.steps.in_thread_with_seq(conversation_id),
            include=wanted,
            with_outputs=True,
            filename=lambda file_id: getattr(self.store.files.get(file_id), "filename", file_id),
            container=container_id(conversation_id),
        )


def _conversation(thread: Thread) -> Conversation:
    return Conversation(
        id=thread.id,
        created_at=thread.created_at,
        metadata=thread.metadata or {},
        object="conversation",
    )
