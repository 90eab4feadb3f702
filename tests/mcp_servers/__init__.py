"""MCP servers the tests start: ``NOTES_SERVER`` (notes_server.py, the official SDK's
MCPServer) over stdio (declared to a runtime: ``notes_runtime``) or on a port of
127.0.0.1 (``listening``); and what the MCP tests share (``forced``, ``model_read``)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from offline_assistants.engine import Engine
from offline_assistants.service import Runtime

from ..http_harness import serving

NOTES_SERVER = Path(__file__).parent / "notes_server.py"
SERVER = NOTES_SERVER
NOTES: dict[str, Any] = {"type": "mcp", "server_label": "notes", "require_approval": "never"}


@contextlib.contextmanager
def notes_runtime(engine: Engine, here: Path) -> Iterator[tuple[Runtime, str]]:
    """A served runtime (temperature 0) with the notes server declared over stdio, and
    PyPI's mcp-server-time declared in a config file as the MCP clients declare it; MCP
    calls time out after 4 s."""
    config = here / "mcp.json"
    time_server = {"command": sys.executable, "args": ["-m", "mcp_server_time"]}
    config.write_text(json.dumps({"mcpServers": {"time": time_server}}))
    with serving(
        here / "data",
        engine,
        mcp_commands=(("notes", f"{sys.executable} {SERVER} stdio"),),
        mcp_config=config,
        mcp_timeout=4.0,
        response_temperature=0.0,
    ) as served:
        yield served


def forced(sdk: Any, tool: dict[str, Any], name: str, text: str, **extra: Any) -> Any:
    return sdk.responses.create(
        model="default",
        input=text,
        tools=[tool],
        tool_choice={"type": "mcp", "server_label": tool["server_label"], "name": name},
        max_output_tokens=64,
        **extra,
    )


def model_read(runtime: Runtime, response_id: str, call_id: str) -> str | None:
    """What the model was given back for the call ``call_id`` (its stored output)."""
    record = runtime.store.responses.get(response_id)
    assert record is not None
    for step in runtime.store.steps.in_run(record.run_id):
        for call in getattr(step.step_details, "tool_calls", []):
            if call.id == call_id:
                return str(call.function.output)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def listening(transport: str) -> Iterator[int]:
    """The notes server over ``transport`` (http or sse) on a free port of 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), transport, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield port
    finally:
        process.kill()
        process.wait()
