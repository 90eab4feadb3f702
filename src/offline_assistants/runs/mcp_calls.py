"""MCP tool calls inside a run: the runtime calls the user's MCP server for the model.

A response's ``mcp`` tools reach the run as function tools (their input schemas,
so the model's call is valid by construction under the same grammar as any
function call) and as ``RunOptions.mcp_tools`` (tool name → server label) with
the servers (``RunOptions.mcp_servers``). When the model calls one, the
executor calls the server here instead of waiting for the app
(``requires_action``): the output, or the failure, is recorded on the call
(``CallStep.record_result``) and the model reads it in its next turn, as it
reads a function output the app submitted. A failure is never the run's: the
call keeps its ``error`` (``mcp_call.error`` in Responses, ``tools/mcp``) and
the model is told the call failed.
"""

from __future__ import annotations

import json
from typing import Any

from ..store import RunOptions
from ..tools.mcp import McpClients, McpOutcome

FAILED = "The MCP tool call failed: {message}"


class McpCalls:
    def __init__(self, clients: McpClients) -> None:
        self.clients = clients

    def call(self, options: RunOptions, name: str, arguments: str) -> McpOutcome:
        """Call the tool ``name`` of the run's MCP server that serves it."""
        label = options.mcp_tools[name]
        server = next((s for s in options.mcp_servers if s.label == label), None)
        if server is None:  # stored options that lost their server: never from a request
            return McpOutcome(None, _error(f"no MCP server {label!r} for this run"))
        try:
            parsed: Any = json.loads(arguments or "{}")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):  # the grammar writes an object; a replay may not
            return McpOutcome(None, _error("the arguments are not a JSON object"))
        return self.clients.call_tool(server.label, server.url, server.headers, name, parsed)


def model_reads(outcome: McpOutcome) -> str:
    """What the model reads back: the output, or what went wrong."""
    if outcome.error is None:
        return outcome.output or ""
    error = outcome.error
    message = error.get("message")
    if message is None:  # a tool execution error: its content is what the server said
        message = " ".join(part.get("text", "") for part in error.get("content") or [])
    return FAILED.format(message=message or error.get("type", "error"))


def _error(message: str) -> dict[str, Any]:
    return {"type": "mcp_protocol_error", "code": -32602, "message": message}
