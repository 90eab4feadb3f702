"""/v1/mcp/servers: the MCP servers declared to this runtime (``tools/mcp``), for the Dashboard.

This runtime's addition (the hosted API has none: its MCP servers are named in each
request): what ``serve --mcp`` and ``--mcp-config`` declared, which a Responses
request's ``mcp`` tool names by ``server_label``. Behind the API key like the rest.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ._common import runtime

router = APIRouter(prefix="/v1/mcp/servers")


@router.get("")
def list_(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": runtime(request).mcp.servers()})
