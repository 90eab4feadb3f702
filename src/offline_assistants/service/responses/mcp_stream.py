"""A response stream's MCP parts: the servers' tool lists, and which calls are MCP calls.

Part of :class:`~.events.ResponseEvents` (a mixin: it numbers events and output
items there). The tool lists were made while the request was checked
(``mcp_tools.py``), so they are told first, once the response is in progress:
``output_item.added``, ``mcp_list_tools.in_progress``, ``.completed``,
``output_item.done`` each; until then a snapshot leaves them out, as a client
builds the output from the events. Then the calls this request approved, made
before the run went on (``mcp_approvals.py``: for a waiting response, or for
requests replayed in the input). A call the model makes of a
listed tool is told as an ``mcp_call`` (``mcp_call.in_progress``, its arguments'
deltas, ``mcp_call_arguments.done``, ``mcp_call.completed`` or ``.failed``), or,
for a tool that asks first, as an ``mcp_approval_request`` told whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai.types.responses.response import Response
from openai.types.responses.response_stream_event import ResponseStreamEvent

from ...store import ResponseRecord
from .views import approved_calls


def served_tools(record: ResponseRecord) -> dict[str, str]:
    """MCP tool name → the label of the server that serves it, for ``record``'s tools."""
    return {
        tool["name"]: listing["server_label"]
        for listing in record.mcp_items
        if listing["type"] == "mcp_list_tools"
        for tool in listing["tools"]
    }


class McpStream:
    record: ResponseRecord
    _indexes: dict[str, int]  # item id → output_index
    _open: dict[str, str]  # open item id → its type
    _served: dict[str, str]  # served_tools(record)
    _asking: set[str]  # the MCP tools that ask for approval first (the run's options)
    service: Any  # ResponseHost: its store and views

    def _added(self, item: dict[str, Any]) -> ResponseStreamEvent:
        raise NotImplementedError

    def _event(self, kind: str, **fields: Any) -> ResponseStreamEvent:
        raise NotImplementedError

    def _listings(self) -> Iterator[ResponseStreamEvent]:
        """The MCP servers' tool lists, each told whole; then the calls approved."""
        listings = [item for item in self.record.mcp_items if item["type"] == "mcp_list_tools"]
        for listing in listings:
            yield self._added(listing)
            where = {"item_id": listing["id"], "output_index": self._indexes[listing["id"]]}
            yield self._event("response.mcp_list_tools.in_progress", **where)
            yield self._event("response.mcp_list_tools.completed", **where)
            del self._open[listing["id"]]
            yield self._event("response.output_item.done", item=listing, **where)
        made = [item for item in self.record.mcp_items if item["type"] == "mcp_call"]
        if self.record.answered:  # a resumed response: the calls its approvals made
            steps = self.service.store.steps.in_thread_with_seq(self.record.thread_id)
            made += approved_calls(self.record, steps)
        for call in made:
            yield self._added({**call, "status": "in_progress", "output": None, "error": None})
            where = {"item_id": call["id"], "output_index": self._indexes[call["id"]]}
            yield self._event("response.mcp_call.in_progress", **where)
            yield from self._mcp_done(call, where)
            del self._open[call["id"]]
            yield self._event("response.output_item.done", item=call, **where)

    def _mcp_added(self, item_id: str, call: Any) -> Iterator[ResponseStreamEvent]:
        label = self._served[call.function.name or ""]
        item = {"id": item_id, "server_label": label, "name": call.function.name, "arguments": ""}
        if item_id.startswith("mcpr_"):
            yield self._added({**item, "type": "mcp_approval_request"})
            return
        yield self._added({**item, "type": "mcp_call", "status": "in_progress"})
        where = {"item_id": item_id, "output_index": self._indexes[item_id]}
        yield self._event("response.mcp_call.in_progress", **where)

    def _mcp_done(
        self, item: dict[str, Any], where: dict[str, Any]
    ) -> Iterator[ResponseStreamEvent]:
        """An MCP call's closing events (an approval request has none but its item's)."""
        if item["type"] != "mcp_call":
            return
        yield self._event("response.mcp_call_arguments.done", arguments=item["arguments"], **where)
        ending = "completed" if item["status"] == "completed" else "failed"
        yield self._event(f"response.mcp_call.{ending}", **where)

    def _without_unsent_lists(self, response: Response) -> Response:
        unsent = {item["id"] for item in self.record.mcp_items} - self._indexes.keys()
        if not unsent:
            return response
        kept = [item for item in response.output if getattr(item, "id", None) not in unsent]
        return response.model_copy(update={"output": kept})

    def _mcp_prefix(self, call: Any) -> str | None:
        """The item id prefix of a call of an MCP tool: ``mcpr`` for one that asks for
        approval first, ``mcp`` for one made at once; None: any other call."""
        if call.type != "function" or call.function is None:
            return None
        name = call.function.name or ""
        if name not in self._served:
            return None
        return "mcpr" if name in self._asking else "mcp"
