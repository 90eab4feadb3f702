"""A response stream's MCP parts: the servers' tool lists, and which calls are MCP calls.

Part of :class:`~.events.ResponseEvents` (a mixin: it numbers events and output
items there). The tool lists were made while the request was checked
(``mcp_tools.py``), so they are told first, once the response is in progress:
``output_item.added``, ``mcp_list_tools.in_progress``, ``.completed``,
``output_item.done`` each; until then a snapshot leaves them out, as a client
builds the output from the events. A call of a listed tool is told as an
``mcp_call`` (``events.py`` asks :meth:`McpStream._mcp_name`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai.types.responses.response import Response
from openai.types.responses.response_stream_event import ResponseStreamEvent

from ...store import ResponseRecord


def served_tools(record: ResponseRecord) -> dict[str, str]:
    """MCP tool name → the label of the server that serves it, for ``record``'s tools."""
    return {
        tool["name"]: listing["server_label"]
        for listing in record.mcp_lists
        for tool in listing["tools"]
    }


class McpStream:
    record: ResponseRecord
    _indexes: dict[str, int]  # item id → output_index
    _open: dict[str, str]  # open item id → its type
    _served: dict[str, str]  # served_tools(record)

    def _added(self, item: dict[str, Any]) -> ResponseStreamEvent:
        raise NotImplementedError

    def _event(self, kind: str, **fields: Any) -> ResponseStreamEvent:
        raise NotImplementedError

    def _listings(self) -> Iterator[ResponseStreamEvent]:
        """The MCP servers' tool lists, each told whole."""
        for listing in self.record.mcp_lists:
            yield self._added(listing)
            where = {"item_id": listing["id"], "output_index": self._indexes[listing["id"]]}
            yield self._event("response.mcp_list_tools.in_progress", **where)
            yield self._event("response.mcp_list_tools.completed", **where)
            del self._open[listing["id"]]
            yield self._event("response.output_item.done", item=listing, **where)

    def _without_unsent_lists(self, response: Response) -> Response:
        unsent = {listing["id"] for listing in self.record.mcp_lists} - self._indexes.keys()
        if not unsent:
            return response
        kept = [item for item in response.output if getattr(item, "id", None) not in unsent]
        return response.model_copy(update={"output": kept})

    def _mcp_name(self, call: Any) -> str | None:
        """The server label of a call of an MCP tool (None: any other call)."""
        if call.type != "function" or call.function is None:
            return None
        return self._served.get(call.function.name or "")
