"""A response stream's tool calls: each call a run step shows, told as its output item.

Part of :class:`~.events.ResponseEvents` (a mixin: it numbers events and output items
there). A call first seen in a step delta is added (``output_item.added``, and
``code_interpreter_call.in_progress`` or ``file_search_call.in_progress`` and
``.searching``); its arguments or code follow as deltas
(``function_call_arguments.delta``, ``mcp_call_arguments.delta`` for an MCP tool's,
``code_interpreter_call_code.delta``). When the step is done, each call is told
whole from the store (``items.py``: ``*.done``, ``*.completed``, ``output_item.done``).
MCP calls are told by :class:`~.mcp_stream.McpStream`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai.types.beta.threads.runs.run_step import RunStep
from openai.types.responses.response_stream_event import ResponseStreamEvent

from ...runs.prompt import message_text
from .items import call_items
from .mcp_stream import McpStream
from .tools import with_namespace

KINDS = {
    "function": "function_call",
    "code_interpreter": "code_interpreter_call",
    "file_search": "file_search_call",
}
PREFIX = {"function": "fc", "code_interpreter": "ci", "file_search": "fs"}


class CallStream(McpStream):
    _calls: dict[tuple[str, int], str]  # (step id, call index) → item id
    _code: dict[str, str]  # code item id → code so far
    _namespaces: dict[str, str]  # namespaces(record's tools)
    container: str

    def _calls_delta(self, data: Any) -> Iterator[ResponseStreamEvent]:
        details = data.delta.step_details
        if details is None or details.type != "tool_calls":
            return
        for call in details.tool_calls or []:
            key = (data.id, call.index)
            item_id = self._calls.get(key)
            if item_id is None:
                if call.id is None or call.type not in KINDS:
                    continue
                prefix = self._mcp_prefix(call) or PREFIX[call.type]
                item_id = f"{prefix}_{call.id.split('_', 1)[-1]}"
                self._calls[key] = item_id
                yield from self._call_added(item_id, call)
            index = self._indexes[item_id]
            kind = self._open.get(item_id)
            if kind == "mcp_approval_request":
                continue  # told whole when it is done
            if call.type == "function" and call.function is not None and call.function.arguments:
                yield self._event(
                    "response.mcp_call_arguments.delta"
                    if kind == "mcp_call"
                    else "response.function_call_arguments.delta",
                    item_id=item_id,
                    output_index=index,
                    delta=call.function.arguments,
                )
            elif call.type == "code_interpreter" and call.code_interpreter is not None:
                piece = call.code_interpreter.input or ""
                if piece:
                    self._code[item_id] = self._code.get(item_id, "") + piece
                    yield self._event(
                        "response.code_interpreter_call_code.delta",
                        item_id=item_id,
                        output_index=index,
                        delta=piece,
                    )

    def _call_added(self, item_id: str, call: Any) -> Iterator[ResponseStreamEvent]:
        if self._mcp_prefix(call) is not None:
            yield from self._mcp_added(item_id, call)
            return
        kind = KINDS[call.type]
        item: dict[str, Any] = {"id": item_id, "type": kind, "status": "in_progress"}
        if call.type == "function":
            item |= {"call_id": call.id, "name": call.function.name or "", "arguments": ""}
            item = with_namespace(item, self._namespaces)
        elif call.type == "code_interpreter":
            item |= {"code": "", "container_id": self.container, "outputs": None}
        else:
            item |= {"queries": [], "results": None}
        yield self._added(item)
        index = self._indexes[item_id]
        if call.type == "code_interpreter":
            yield self._event(
                "response.code_interpreter_call.in_progress", item_id=item_id, output_index=index
            )
        elif call.type == "file_search":
            for stage in ("in_progress", "searching"):
                yield self._event(
                    f"response.file_search_call.{stage}", item_id=item_id, output_index=index
                )

    def _stored_step(self, step: RunStep) -> RunStep:
        stored = self.service.store.steps.get(step.id, step.thread_id, step.run_id)
        return stored or step

    def _calls_done(self, step: RunStep) -> Iterator[ResponseStreamEvent]:
        items = call_items(
            step,
            include=self.record.request.get("include", []),
            with_outputs=False,
            query=self._query(),
            container=self.container,
        )
        for item in items:
            if item["id"] not in self._open:
                continue
            item = with_namespace(item, self._namespaces)
            index = self._indexes[item["id"]]
            where = {"item_id": item["id"], "output_index": index}
            if item["type"] == "function_call":
                yield self._event(
                    "response.function_call_arguments.done", arguments=item["arguments"], **where
                )
            elif item["type"].startswith("mcp_"):
                yield from self._mcp_done(item, where)
            elif item["type"] == "code_interpreter_call":
                yield self._event(
                    "response.code_interpreter_call_code.done", code=item["code"], **where
                )
                yield self._event("response.code_interpreter_call.interpreting", **where)
                yield self._event("response.code_interpreter_call.completed", **where)
            else:
                yield self._event("response.file_search_call.completed", **where)
            del self._open[item["id"]]
            yield self._event("response.output_item.done", item=item, output_index=index)

    def _query(self) -> str:
        messages = self.service.store.messages.in_thread(self.record.thread_id)
        return next((message_text(m) for m in reversed(messages) if m.role == "user"), "")
