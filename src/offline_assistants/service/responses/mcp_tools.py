"""A Responses request's ``mcp`` tools: the server's tools listed, offered as functions.

``{"type": "mcp", "server_label": ..., "server_url": ...}`` names an MCP server
(``tools/mcp``): one at a loopback URL, or, with no URL, one declared to the
runtime by that label. Its tools are listed while the request is checked, so a
server that cannot list them is a 424 before anything is stored, and the
listing is the response's first output item (``mcp_list_tools``,
``ResponseRecord.mcp_items``), unless an earlier response of the same
conversation or chain showed the same list (``drop_known_lists``). The tools
``allowed_tools`` keeps are offered to the model as function tools (their input
schemas, under the call grammar); their calls are made by the run executor
(``runs/mcp_calls.py``) and shown as ``mcp_call`` items (``items.py``).

``require_approval`` (``"always"`` when not given, as the hosted API has it;
``"never"``; or ``{"always"|"never": {"tool_names": [...]}}``) says which tools
ask first: a call of one ends the response with an ``mcp_approval_request``
item, and the next request's ``mcp_approval_response`` approves it (the
runtime then makes the call) or denies it (the model is told). ``headers`` and
``authorization`` go to a URL server with each request; the response echoes
neither.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidRequestError, McpServerError
from ...ids import new_id
from ...store import McpServerRef
from ...tools.mcp import McpUnavailable, loopback

Lister = Callable[[McpServerRef], list[dict[str, Any]]]  # McpClients.list_tools


@dataclass
class McpTools:
    """What a request's mcp tools come to."""

    functions: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (tool, where)
    servers: list[McpServerRef] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)  # tool name → server label
    asking: list[str] = field(default_factory=list)  # the tools that ask for approval first
    # The first output items: mcp_list_tools, then calls replayed approvals made.
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class McpPolicy:
    """What the runtime lets a request reach: its declared labels, and other hosts or not."""

    lister: Lister
    declared: frozenset[str]
    allow_remote: bool = False


def add_mcp_tool(
    tool: Mapping[str, Any], where: str, policy: McpPolicy | None, out: McpTools
) -> None:
    """List the server's tools into ``out`` (a 400 for what cannot be used, a 424 for a
    server that cannot list its tools)."""
    label = tool.get("server_label")
    if not isinstance(label, str) or not label:
        raise InvalidRequestError(
            f"Missing required parameter: '{where}.server_label'.", param=f"{where}.server_label"
        )
    if any(server.label == label for server in out.servers):
        raise InvalidRequestError(
            f"Invalid '{where}.server_label': {label!r} is named by another mcp tool.",
            param=f"{where}.server_label",
        )
    if tool.get("connector_id"):
        raise InvalidRequestError(
            f"Invalid '{where}.connector_id': connectors are OpenAI's hosted services; name a "
            "local MCP server with server_url or a declared server_label.",
            param=f"{where}.connector_id",
        )
    approval = tool.get("require_approval", "always")
    asks = _asks(approval, f"{where}.require_approval")
    if policy is None:
        raise InvalidRequestError(
            f"Invalid '{where}.type': MCP tools are not available in this runtime.",
            param=f"{where}.type",
        )
    server = _server(tool, label, where, policy)
    try:
        listed = policy.lister(server)
    except McpUnavailable as exc:
        raise McpServerError(
            f"Error retrieving tool list from MCP server: {label!r}: {exc}.", param=f"{where}"
        ) from None
    allowed = _allowed(tool.get("allowed_tools"), f"{where}.allowed_tools")
    kept = [t for t in listed if allowed is None or t["name"] in allowed]
    read_only = isinstance(tool.get("allowed_tools"), dict) and tool["allowed_tools"].get(
        "read_only"
    )
    if read_only:
        kept = [t for t in kept if (t.get("annotations") or {}).get("readOnlyHint")]
    out.servers.append(server)
    out.items.append(
        {
            "id": new_id("mcpl"),
            "type": "mcp_list_tools",
            "server_label": label,
            "tools": kept,
            "error": None,
        }
    )
    for listed_tool in kept:
        name = listed_tool["name"]
        if name in out.tools:
            raise InvalidRequestError(
                f"Invalid '{where}': the tool {name!r} is served by both {out.tools[name]!r} "
                f"and {label!r}; keep one with allowed_tools.",
                param=f"{where}.allowed_tools",
            )
        out.tools[name] = label
        if asks(name):
            out.asking.append(name)
        function: dict[str, Any] = {
            "type": "function",
            "name": name,
            "parameters": _closed(listed_tool.get("input_schema")),
        }
        if listed_tool.get("description"):
            function["description"] = listed_tool["description"]
        out.functions.append((function, where))


def drop_known_lists(tools: McpTools, earlier: list[list[dict[str, Any]]]) -> None:
    """Leave out of the output a tool list that an earlier response of the same
    conversation or chain showed unchanged, or that the input replays (``earlier``: their
    MCP items): as the hosted API does, a list is shown again only when it changed."""
    shown = {
        (item["server_label"], _same(item["tools"]))
        for items in earlier
        for item in items
        if item.get("type", "mcp_list_tools") == "mcp_list_tools"
    }
    tools.items = [
        item
        for item in tools.items
        if item["type"] != "mcp_list_tools"
        or (item["server_label"], _same(item["tools"])) not in shown
    ]


def _same(tools: list[dict[str, Any]]) -> str:
    """A tool list as compared: by each tool's name, description and schema (a replayed
    list may leave out what is null)."""
    kept = [{k: tool.get(k) for k in ("name", "description", "input_schema")} for tool in tools]
    return json.dumps(kept, sort_keys=True)


def mcp_choice(choice: Mapping[str, Any], tools: McpTools) -> Any:
    """``{"type": "mcp", "server_label", "name"}`` as the run's tool_choice: that function,
    or, with no name, any of the server's tools (its only one, if it has one)."""
    label = choice.get("server_label")
    names = [name for name, served_by in tools.tools.items() if served_by == label]
    if not names:
        raise InvalidRequestError(
            f"Invalid 'tool_choice.server_label': no mcp tool with server_label {label!r} "
            "offers a tool.",
            param="tool_choice.server_label",
        )
    name = choice.get("name")
    if name is None:
        if len(names) > 1:
            return "required"
        name = names[0]
    if name not in names:
        raise InvalidRequestError(
            f"Invalid 'tool_choice.name': the MCP server {label!r} offers no tool {name!r} "
            f"(offered: {', '.join(names)}).",
            param="tool_choice.name",
        )
    return {"type": "function", "name": name}  # in the Responses shape, as tools.py reads it


def echoed(tool: Mapping[str, Any]) -> dict[str, Any]:
    """An mcp tool as the response shows it: without the credentials it was given."""
    shown = {k: v for k, v in tool.items() if k not in ("authorization", "headers")}
    return {"allowed_tools": None, "require_approval": None, "server_url": None, **shown}


def _closed(schema: Any) -> Any:
    """An input schema that leaves extra arguments open (JSON Schema's default, and what
    SDKs such as FastMCP write) closed: the model's call then holds the tool's own
    arguments only, as a strict function's does; a call valid here is valid there."""
    if isinstance(schema, dict) and schema.get("type") == "object":
        return {"additionalProperties": False, **schema}
    return schema or None


def _server(tool: Mapping[str, Any], label: str, where: str, policy: McpPolicy) -> McpServerRef:
    url = tool.get("server_url")
    headers = {str(k): str(v) for k, v in (tool.get("headers") or {}).items()}
    if tool.get("authorization"):
        headers["Authorization"] = f"Bearer {tool['authorization']}"
    if url is None:
        if label not in policy.declared:
            known = ", ".join(sorted(policy.declared)) or "none"
            raise InvalidRequestError(
                f"Invalid '{where}': give a server_url, or a server_label the runtime declares "
                f"(serve --mcp {label}=COMMAND or --mcp-config; declared: {known}).",
                param=f"{where}.server_label",
            )
        return McpServerRef(label=label, headers=headers)
    if not isinstance(url, str) or not (policy.allow_remote or loopback(url)):
        raise InvalidRequestError(
            f"Invalid '{where}.server_url': {url!r} is not on this machine's loopback "
            "(http://127.0.0.1:PORT/...); offline means offline. Start the runtime with "
            "--mcp-allow-remote to reach other hosts.",
            param=f"{where}.server_url",
        )
    return McpServerRef(label=label, url=url, headers=headers)


def _asks(value: Any, where: str) -> Callable[[str], bool]:
    """Whether a tool asks for approval before it is called, as ``require_approval`` says
    (a tool that neither list names asks, the API's default)."""
    if value in ("always", "never"):
        return lambda name: value == "always"
    if isinstance(value, dict) and value and set(value) <= {"always", "never"}:
        always = _allowed(value.get("always") or {}, f"{where}.always") or set()
        never = _allowed(value.get("never") or {}, f"{where}.never") or set()
        return lambda name: name in always or name not in never
    raise InvalidRequestError(
        f"Invalid '{where}': expected 'always', 'never', or {{'always' | 'never': "
        "{'tool_names': [...]}}.",
        param=where,
    )


def _allowed(value: Any, where: str) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return set(value)
    if isinstance(value, dict):
        names = value.get("tool_names")
        return None if names is None else {str(n) for n in names}
    raise InvalidRequestError(
        f"Invalid '{where}': expected a list of tool names or {{'tool_names': [...]}}.",
        param=where,
    )
