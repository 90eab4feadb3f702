"""``client.conversations``: the SDK's Conversations resource, in process."""

from __future__ import annotations

import builtins
from typing import Any

from openai.types.conversations.conversation import Conversation
from openai.types.conversations.conversation_deleted_resource import (
    ConversationDeletedResource,
)
from openai.types.conversations.conversation_item import ConversationItem
from openai.types.conversations.conversation_item_list import ConversationItemList
from pydantic import TypeAdapter

from ..service import Runtime
from ._common import OMIT, CursorPage, given
from .responses import item_page

_ITEM: TypeAdapter[ConversationItem] = TypeAdapter(ConversationItem)


class Items:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.conversations

    def create(
        self, conversation_id: str, *, items: Any, include: list[str] | None = OMIT
    ) -> ConversationItemList:
        page = self._service.create_items(
            conversation_id, {"items": items}, **given(include=include)
        )
        return ConversationItemList.model_validate(page)

    def list(
        self,
        conversation_id: str,
        *,
        after: str | None = OMIT,
        include: list[str] | None = OMIT,
        limit: int | None = OMIT,
        order: str | None = OMIT,
    ) -> CursorPage[ConversationItem]:
        def fetch(**params: Any) -> tuple[builtins.list[dict[str, Any]], bool]:
            page = self._service.list_items(conversation_id, **params)
            return page["data"], page["has_more"]

        return item_page(
            fetch, _ITEM, **given(after=after, include=include, limit=limit, order=order)
        )

    def retrieve(
        self, item_id: str, *, conversation_id: str, include: builtins.list[str] | None = OMIT
    ) -> ConversationItem:
        item = self._service.retrieve_item(conversation_id, item_id, **given(include=include))
        return _ITEM.validate_python(item)

    def delete(self, item_id: str, *, conversation_id: str) -> Conversation:
        return self._service.delete_item(conversation_id, item_id)


class Conversations:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.conversations
        self.items = Items(runtime)

    def create(self, *, items: Any = OMIT, metadata: Any = OMIT) -> Conversation:
        return self._service.create(given(items=items, metadata=metadata))

    def retrieve(self, conversation_id: str) -> Conversation:
        return self._service.retrieve(conversation_id)

    def update(self, conversation_id: str, *, metadata: Any) -> Conversation:
        return self._service.update(conversation_id, {"metadata": metadata})

    def delete(self, conversation_id: str) -> ConversationDeletedResource:
        return self._service.delete(conversation_id)
