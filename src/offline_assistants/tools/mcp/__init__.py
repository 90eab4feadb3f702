"""MCP tools: the tools of the user's own MCP servers, called by the runtime for the model.

``declared.py`` says which servers the runtime knows (stdio commands and URLs
declared at start) and which URLs a request may name; ``clients.py`` lists and
calls their tools with the official ``mcp`` SDK. The Responses API's ``mcp``
tool (``service/responses/tools.py``) lists a server's tools into the request's
function tools; the run executor calls them (``runs/mcp_calls.py``).
"""

from .clients import McpClients, McpOutcome, McpUnavailable
from .declared import Declared, declared_servers, loopback, parse_flag

__all__ = [
    "Declared",
    "McpClients",
    "McpOutcome",
    "McpUnavailable",
    "declared_servers",
    "loopback",
    "parse_flag",
]
