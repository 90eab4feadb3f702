"""Assistants: create, retrieve, update, delete, list — validation and storage, no HTTP.

``create`` and ``update`` take the request's parameters as one mapping (the SDK's
``AssistantCreateParams`` / ``AssistantUpdateParams``), checked by
:func:`~.params.check_params` before the assistant's own rules apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openai.types.beta.assistant import Assistant
from openai.types.beta.assistant_create_params import AssistantCreateParams
from openai.types.beta.assistant_deleted import AssistantDeleted
from openai.types.beta.assistant_update_params import AssistantUpdateParams

from ..config import Settings
from ..engine import resolve_model
from ..errors import NotFoundError
from ..ids import new_id
from ..runs.journal import now, updated
from ..store import Slice, Store
from .checks.effort import check_effort
from .checks.formats import check_tools, parse_response_format
from .checks.params import check_params
from .checks.tool_resources import check_tool_resources
from .checks.validation import (
    MAX_MODEL_NAME,
    check_list_params,
    check_metadata,
    check_number,
    check_text,
)
from .vector_stores import VectorStoreService


class AssistantService:
    def __init__(self, store: Store, settings: Settings, vector_stores: VectorStoreService) -> None:
        self.store = store
        self.settings = settings
        self.vector_stores = vector_stores

    def create(self, params: Mapping[str, Any]) -> Assistant:
        fields = self._checked(check_params(AssistantCreateParams, params))
        check_effort(
            fields.get("reasoning_effort"), fields["model"], self.settings, "reasoning_effort"
        )
        fields.setdefault("temperature", 1.0)
        fields.setdefault("top_p", 1.0)
        fields.setdefault("response_format", "auto")
        fields.setdefault("metadata", {})
        fields.setdefault("tools", [])
        assistant = Assistant.model_validate(
            {
                "id": new_id("asst"),
                "object": "assistant",
                "created_at": now(),
                "tool_resources": {},
                "name": None,
                "description": None,
                "instructions": None,
                **fields,
            }
        )
        with self.store.db.transaction():
            assistant = self.vector_stores.with_stores(assistant)
            self.store.assistants.insert(assistant)
        return assistant

    def retrieve(self, assistant_id: str) -> Assistant:
        assistant = self.store.assistants.get(assistant_id)
        if assistant is None:
            raise NotFoundError(
                f"No assistant found with id '{assistant_id}'.", param="assistant_id"
            )
        return assistant

    def update(self, assistant_id: str, params: Mapping[str, Any]) -> Assistant:
        current = self.retrieve(assistant_id)
        fields = self._checked(check_params(AssistantUpdateParams, params))
        model = fields.get("model", current.model)
        check_effort(fields.get("reasoning_effort"), model, self.settings, "reasoning_effort")
        with self.store.db.transaction():
            assistant = self.vector_stores.with_stores(updated(current, **fields))
            self.store.assistants.update(assistant)
        return assistant

    def delete(self, assistant_id: str) -> AssistantDeleted:
        if not self.store.assistants.delete(assistant_id):
            raise NotFoundError(
                f"No assistant found with id '{assistant_id}'.", param="assistant_id"
            )
        return AssistantDeleted(id=assistant_id, deleted=True, object="assistant.deleted")

    def list(
        self, *, limit: Any = None, order: Any = None, after: Any = None, before: Any = None
    ) -> Slice[Assistant]:
        params = check_list_params(limit, order, after, before)
        return self.store.assistants.page(
            limit=params.limit, order=params.order, after=params.after, before=params.before
        )

    def _checked(self, given: dict[str, Any]) -> dict[str, Any]:
        """The resource's own rules for the fields that were passed (their shape is checked)."""
        given = {k: v for k, v in given.items() if v is not None}
        out: dict[str, Any] = {}
        if "reasoning_effort" in given:  # a run's, unless it names its own (runs/generation.py)
            out["reasoning_effort"] = given["reasoning_effort"]
        if "model" in given:
            model = check_text(given["model"], "model", MAX_MODEL_NAME, required=True)
            assert model is not None
            resolve_model(model, self.settings)
            out["model"] = model
        if "name" in given:
            out["name"] = check_text(given["name"], "name", 256)
        if "description" in given:
            out["description"] = check_text(given["description"], "description", 512)
        if "instructions" in given:
            out["instructions"] = check_text(given["instructions"], "instructions", 256_000)
        if "metadata" in given:
            out["metadata"] = check_metadata(given["metadata"])
        if "response_format" in given:
            out["response_format"] = parse_response_format(given["response_format"])
        if "temperature" in given:
            out["temperature"] = check_number(given["temperature"], "temperature", 0.0, 2.0)
        if "top_p" in given:
            out["top_p"] = check_number(given["top_p"], "top_p", 0.0, 1.0)
        if "tools" in given:
            out["tools"] = check_tools(given["tools"])
        if "tool_resources" in given:
            out["tool_resources"] = check_tool_resources(
                given["tool_resources"], self.store.files.exists, self.store.vector_stores.exists
            )
        return out
