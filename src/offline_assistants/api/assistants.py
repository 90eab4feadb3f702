"""``client.beta.assistants``: the SDK's Assistants resource, in process."""

from __future__ import annotations

from typing import Any

from openai.types.beta.assistant import Assistant
from openai.types.beta.assistant_deleted import AssistantDeleted

from ..service import Runtime
from ._common import OMIT, CursorPage, given, paged


class Assistants:
    def __init__(self, runtime: Runtime) -> None:
        self._service = runtime.assistants

    def create(
        self,
        *,
        model: str,
        name: str | None = None,
        description: str | None = None,
        instructions: str | None = None,
        metadata: dict[str, str] | None = None,
        response_format: Any = None,
        temperature: float | None = None,
        top_p: float | None = None,
        tools: list[Any] | None = None,
        tool_resources: Any = None,
    ) -> Assistant:
        return self._service.create(
            {
                "model": model,
                "name": name,
                "description": description,
                "instructions": instructions,
                "metadata": metadata,
                "response_format": response_format,
                "temperature": temperature,
                "top_p": top_p,
                "tools": tools,
                "tool_resources": tool_resources,
            }
        )

    def retrieve(self, assistant_id: str) -> Assistant:
        return self._service.retrieve(assistant_id)

    def update(
        self,
        assistant_id: str,
        *,
        model: str = OMIT,
        name: str | None = OMIT,
        description: str | None = OMIT,
        instructions: str | None = OMIT,
        metadata: dict[str, str] | None = OMIT,
        response_format: Any = OMIT,
        temperature: float | None = OMIT,
        top_p: float | None = OMIT,
        tools: list[Any] | None = OMIT,
        tool_resources: Any = OMIT,
    ) -> Assistant:
        return self._service.update(
            assistant_id,
            given(
                model=model,
                name=name,
                description=description,
                instructions=instructions,
                metadata=metadata,
                response_format=response_format,
                temperature=temperature,
                top_p=top_p,
                tools=tools,
                tool_resources=tool_resources,
            ),
        )

    def delete(self, assistant_id: str) -> AssistantDeleted:
        return self._service.delete(assistant_id)

    def list(
        self,
        *,
        limit: int | None = None,
        order: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> CursorPage[Assistant]:
        return paged(self._service.list, limit=limit, order=order, after=after, before=before)
