"""The MCP servers declared to the runtime, and which URLs a request may name.

Most MCP servers ship as commands that speak over stdio. A request never makes
the runtime launch anything: servers are declared when it starts, each by a
label a request's ``mcp`` tool names as ``server_label`` (with no
``server_url``):

- ``serve --mcp NAME=COMMAND`` (repeatable; the command split as a shell would);
- a JSON file (``serve --mcp-config FILE`` or ``OFFLINE_ASSISTANTS_MCP_CONFIG``)
  in the shape the common MCP clients use::

      {"mcpServers": {
          "notes": {"command": "npx", "args": ["@modelcontextprotocol/server-filesystem", "/notes"]},
          "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
          "wiki": {"url": "http://127.0.0.1:9000/mcp"}
      }}

A ``server_url`` in a request is reached only on this machine's loopback
(``127.0.0.0/8``, ``::1``, ``localhost``): offline means offline, unless the
runtime was started with ``--mcp-allow-remote`` (``OFFLINE_ASSISTANTS_MCP_ALLOW_REMOTE=1``).
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the MCP library is imported when a server is declared or reached
    from mcp.client.stdio import StdioServerParameters

# A declared server: a command over stdio, or a URL (Streamable HTTP).
Declared: TypeAlias = "StdioServerParameters | str"


def declared_servers(
    commands: Sequence[tuple[str, str]], config: Path | None
) -> dict[str, Declared]:
    """The servers of ``config`` (a file as above), then ``commands`` (label, command line);
    a ValueError says what is wrong with either."""
    servers: dict[str, Declared] = {}
    if config is not None:
        servers |= _from_file(config)
    for label, command in commands:
        words = shlex.split(command)
        if not label or not words:
            raise ValueError(f"--mcp wants NAME=COMMAND, got {label}={command!r}")
        servers[label] = _stdio(words[0], words[1:], None)
    return servers


def parse_flag(value: str) -> tuple[str, str]:
    """``NAME=COMMAND`` as given to ``--mcp``."""
    label, sep, command = value.partition("=")
    if not sep or not label.strip() or not command.strip():
        raise ValueError(
            f"--mcp wants NAME=COMMAND (e.g. time='uvx mcp-server-time'), got {value!r}"
        )
    return label.strip(), command


def loopback(url: str) -> bool:
    """Whether ``url`` is an http(s) URL of this machine's loopback."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _from_file(path: Path) -> dict[str, Declared]:
    try:
        body: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"MCP config {path}: {exc}") from None
    entries = body.get("mcpServers", body.get("servers")) if isinstance(body, dict) else None
    if not isinstance(entries, dict):
        raise ValueError(f'MCP config {path}: expected {{"mcpServers": {{"NAME": {{...}}}}}}')
    servers: dict[str, Declared] = {}
    for label, entry in entries.items():
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            servers[label] = entry["url"]
        elif isinstance(entry, dict) and isinstance(entry.get("command"), str):
            args = entry.get("args") or []
            env = entry.get("env")
            if not all(isinstance(a, str) for a in args) or not (
                env is None or isinstance(env, dict)
            ):
                raise ValueError(f"MCP config {path}: {label}: args must be strings, env an object")
            servers[label] = _stdio(entry["command"], list(args), env)
        else:
            raise ValueError(
                f"MCP config {path}: {label}: give a 'command' (and 'args') or a 'url'"
            )
    return servers


def _stdio(command: str, args: list[str], env: dict[str, str] | None) -> StdioServerParameters:
    from mcp.client.stdio import StdioServerParameters

    # A server that writes undecodable bytes gets them replaced, not the connection broken.
    return StdioServerParameters(
        command=command, args=args, env=env, encoding_error_handler="replace"
    )
