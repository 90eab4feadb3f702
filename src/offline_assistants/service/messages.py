"""Messages of a thread: create, retrieve, update (metadata), delete, list (optionally by run)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.message_create_params import MessageCreateParams
from openai.types.beta.threads.message_deleted import MessageDeleted
from openai.types.beta.threads.message_update_params import MessageUpdateParams

from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs.journal import now, updated
from ..store import Slice, Store
from .checks.formats import parse_content
from .checks.params import check_params
from .checks.tool_resources import check_attachments
from .checks.validation import check_list_params, check_metadata


def new_user_message(
    thread_id: str,
    *,
    role: Any,
    content: Any,
    attachments: Any = None,
    metadata: Any = None,
    param: str = "",
    file_exists: Callable[[str], bool] = lambda _: False,
) -> Message:
    """A validated message ready to store (``param`` prefixes errors, e.g. ``messages[2].``)."""
    if role not in ("user", "assistant"):
        raise InvalidRequestError(
            f"Invalid '{param}role': {role!r}; expected 'user' or 'assistant'.",
            param=f"{param}role",
        )
    return Message.model_validate(
        {
            "id": new_id("msg"),
            "object": "thread.message",
            "created_at": now(),
            "thread_id": thread_id,
            "role": role,
            "content": parse_content(content, f"{param}content"),
            "attachments": check_attachments(attachments, file_exists, f"{param}attachments"),
            "metadata": check_metadata(metadata, f"{param}metadata"),
            "status": "completed",
            "completed_at": None,
            "assistant_id": None,
            "run_id": None,
        }
    )


class MessageService:
    def __init__(self, store: Store, add: Callable[[str, list[Message]], None]) -> None:
        self.store = store
        self.add = add  # stores new messages (ThreadService.add_messages: attachments too)

    def _thread(self, thread_id: str) -> None:
        if self.store.threads.get(thread_id) is None:
            raise NotFoundError(f"No thread found with id '{thread_id}'.", param="thread_id")

    def create(self, thread_id: str, params: Mapping[str, Any]) -> Message:
        p = check_params(MessageCreateParams, params)
        message = new_user_message(
            thread_id,
            role=p["role"],
            content=p["content"],
            attachments=p.get("attachments"),
            metadata=p.get("metadata"),
            file_exists=self.store.files.exists,
        )
        with self.store.db.transaction():
            self._thread(thread_id)
            active = self.store.runs.active_in_thread(thread_id)
            if active is not None:
                raise ConflictError(
                    f"Can't add messages to {thread_id} while a run {active.id} is active.",
                    param="thread_id",
                )
            self.add(thread_id, [message])
        return message

    def retrieve(self, message_id: str, *, thread_id: str) -> Message:
        self._thread(thread_id)
        message = self.store.messages.get(message_id, thread_id)
        if message is None:
            raise NotFoundError(f"No message found with id '{message_id}'.", param="message_id")
        return message

    def update(self, message_id: str, *, thread_id: str, params: Mapping[str, Any]) -> Message:
        p = check_params(MessageUpdateParams, params, path=("thread_id",))
        checked = check_metadata(p.get("metadata"))
        with self.store.db.transaction():
            message = updated(self.retrieve(message_id, thread_id=thread_id), metadata=checked)
            self.store.messages.update(message)
        return message

    def delete(self, message_id: str, *, thread_id: str) -> MessageDeleted:
        self._thread(thread_id)
        if not self.store.messages.delete(message_id, thread_id):
            raise NotFoundError(f"No message found with id '{message_id}'.", param="message_id")
        return MessageDeleted(id=message_id, deleted=True, object="thread.message.deleted")

    def list(
        self,
        thread_id: str,
        *,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        before: Any = None,
        run_id: Any = None,
    ) -> Slice[Message]:
        params = check_list_params(limit, order, after, before)
        self._thread(thread_id)
        return self.store.messages.page(
            thread_id,
            run_id=run_id,
            limit=params.limit,
            order=params.order,
            after=params.after,
            before=params.before,
        )
