"""A small MCP server written with the official SDK's MCPServer (FastMCP), for the tests.

``python notes_server.py stdio`` speaks over stdin/stdout; ``python notes_server.py
http PORT`` serves Streamable HTTP on 127.0.0.1:PORT at ``/mcp``, ``sse PORT`` the
older SSE transport at ``/sse``. Besides two plain
tools it has hostile ones: one that fails, one that answers far too much, one that
never answers, one that kills its own process mid-call.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("notes")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def lookup(term: str) -> str:
    """Look a term up in the notes."""
    return f"notes on {term}: seen in 3 notes"


@server.tool()
def whoami(ctx: Context) -> str:
    """Who is asking: the request's credentials, as the server received them (HTTP only)."""
    headers = ctx.headers or {}
    return f"authorization={headers.get('authorization')} notes={headers.get('x-notes')}"


@server.tool()
def broken() -> str:
    """A tool whose notes folder is locked."""
    raise ToolError("the notes folder is locked")


@server.tool()
def huge() -> str:
    """A tool that answers far too much."""
    return "x" * 200_000


@server.tool()
def garble() -> str:
    """A tool that writes bytes that are no UTF-8, and no message, to the stdio pipe."""
    sys.stdout.buffer.write(b"\xff\xfe\xfd not a message \xc3\x28\n")
    sys.stdout.buffer.flush()
    return "still here \udcff".encode("utf-8", "replace").decode()


@server.tool()
def slow() -> str:
    """A tool that takes its time (3.5 seconds, under the tests' 4 s timeout), then answers."""
    time.sleep(3.5)
    return "done slowly"


@server.tool()
def hang() -> str:
    """A tool that never answers."""
    time.sleep(3600)
    return "late"


@server.tool()
def die() -> str:
    """A tool whose server dies mid-call."""
    os._exit(3)


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif sys.argv[1:2] == ["sse"]:
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
