"""MCP servers the tests start: ``NOTES_SERVER`` (notes_server.py, the official SDK's
MCPServer) over stdio (declared to the runtime) or on a port of 127.0.0.1 (``listening``)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

NOTES_SERVER = Path(__file__).parent / "notes_server.py"
SERVER = NOTES_SERVER


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
