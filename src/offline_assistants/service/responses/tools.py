"""A Responses request's ``tools`` and ``tool_choice`` as a run's.

Responses tools are flat (``{"type": "function", "name": ...}``); a run's are
the Assistants shape (``{"type": "function", "function": {...}}``). Besides the
translation this module decides what each declared tool becomes:

- ``function`` tools are offered to the model, with descriptions of any length
  (Codex's run past the Assistants API's 1,024 characters);
- a ``namespace`` groups function tools (Codex declares its agent tools so): its
  functions are offered by their own names, and their calls come back with the
  item's ``namespace`` set (:func:`namespaces`);
- ``file_search`` and ``code_interpreter`` become the run's tools, their vector
  stores, files and container the thread's resources;
- ``mcp`` tools have their server's tools listed and offered as functions that
  the runtime calls itself (``mcp_tools.py``);
- hosted tools this runtime cannot run offline (web search, image generation,
  computer use) are accepted when merely declared, as clients such as Codex
  always declare them, and never offered to the model: the response echoes
  them in ``tools`` and makes no such call. A ``tool_choice`` that forces one
  is refused, naming it.

Errors name the request's own paths (``tools[6].description``), not the run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidRequestError, NotFoundError
from ...store import Store
from ..checks.formats import check_tool_choice, check_tools
from .mcp_tools import McpPolicy, McpTools, add_mcp_tool, echoed, mcp_choice

# Declared hosted tools that are accepted and never offered to the model.
NOT_OFFERED = (
    "web_search",
    "web_search_2025_08_26",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "image_generation",
    "computer",
    "computer_use",
    "computer_use_preview",
)
NO_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": False}
SUPPORTED = "function, namespace, file_search, code_interpreter, mcp"


@dataclass
class ResponseTools:
    """What a response's ``tools`` come to."""

    run_tools: list[Any] = field(default_factory=list)  # checked, the Assistants shape
    choice: Any = "auto"  # the run's tool_choice
    vector_store_ids: list[str] = field(default_factory=list)
    code_file_ids: list[str] | None = None  # None: no code_interpreter tool
    container: str | None = None  # a container made with containers.create
    mcp: McpTools = field(default_factory=McpTools)


def response_tools(
    raw: list[dict[str, Any]], choice: Any, store: Store, mcp: McpPolicy | None = None
) -> ResponseTools:
    out = ResponseTools()
    tools: list[Any] = []
    wheres: list[str] = []
    for index, tool in enumerate(raw):
        where = f"tools[{index}]"
        kind = tool.get("type")
        if kind == "function":
            tools.append(_function(tool))
            wheres.append(where)
        elif kind == "namespace":
            for number, inner in enumerate(tool.get("tools") or []):
                inner_where = f"{where}.tools[{number}]"
                if inner.get("type") != "function":
                    raise InvalidRequestError(
                        f"Invalid '{inner_where}.type': {inner.get('type')!r} tools are not "
                        "supported in a namespace here (supported: function).",
                        param=f"{inner_where}.type",
                    )
                tools.append(_function(inner))
                wheres.append(inner_where)
        elif kind == "file_search":
            tools.append(_file_search(tool, where, store, out))
            wheres.append(where)
        elif kind == "code_interpreter":
            tools.append({"type": "code_interpreter"})
            wheres.append(where)
            _code_interpreter(tool, where, store, out)
        elif kind == "mcp":
            add_mcp_tool(tool, where, mcp, out.mcp)
        elif kind in NOT_OFFERED:
            continue
        else:
            raise InvalidRequestError(
                f"Invalid '{where}.type': {kind!r} tools are not available offline (supported: "
                f"{SUPPORTED}; {', '.join(NOT_OFFERED[:1] + NOT_OFFERED[4:6])} and the like "
                "are accepted and not offered to the model).",
                param=f"{where}.type",
            )
    for function, where in out.mcp.functions:
        tools.append(_function(function))
        wheres.append(where)
    out.run_tools = check_tools(tools, wheres=wheres, description_limit=None)
    if isinstance(choice, dict) and choice.get("type") == "mcp":
        choice = mcp_choice(choice, out.mcp)
    out.choice = check_tool_choice(_tool_choice(choice), out.run_tools)
    return out


def namespaces(raw: list[dict[str, Any]]) -> dict[str, str]:
    """Function name → the namespace that declared it."""
    return {
        inner["name"]: tool["name"]
        for tool in raw
        if tool.get("type") == "namespace"
        for inner in tool.get("tools") or []
        if isinstance(inner.get("name"), str)
    }


def with_namespace(item: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A ``function_call`` item with the ``namespace`` its function was declared in."""
    if item.get("type") == "function_call" and item.get("name") in names:
        return {**item, "namespace": names[item["name"]]}
    return item


def echoed_tools(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tools as the response shows them: function tools with every field (null where
    not given), the others as given."""
    return [
        {"description": None, "parameters": None, "strict": None, **tool}
        if tool.get("type") == "function"
        else echoed(tool)
        if tool.get("type") == "mcp"
        else tool
        for tool in raw
    ]


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {
        k: tool[k] for k in ("name", "description", "parameters") if k in tool
    }
    if tool.get("strict") is not None:
        function["strict"] = tool["strict"]
    if function.get("parameters") is None:  # as documented: a function that takes nothing
        function["parameters"] = NO_PARAMETERS
    return {"type": "function", "function": function}


def _file_search(tool: dict[str, Any], where: str, store: Store, out: ResponseTools) -> Any:
    if tool.get("filters") is not None:
        raise InvalidRequestError(
            f"Unsupported parameter '{where}.filters': filter the vector store's files "
            "with attributes through vector_stores.search for now.",
            param=f"{where}.filters",
        )
    for vs_id in tool["vector_store_ids"]:
        if not store.vector_stores.exists(vs_id):
            raise NotFoundError(
                f"Vector store '{vs_id}' not found.", param=f"{where}.vector_store_ids"
            )
        out.vector_store_ids.append(vs_id)
    options = {k: tool[k] for k in ("max_num_results", "ranking_options") if k in tool}
    ranking = options.get("ranking_options")
    if isinstance(ranking, dict):
        options["ranking_options"] = {"score_threshold": ranking.get("score_threshold", 0)}
    return {"type": "file_search", "file_search": options}


def _code_interpreter(tool: dict[str, Any], where: str, store: Store, out: ResponseTools) -> None:
    container = tool["container"]
    if isinstance(container, str):
        if not store.containers.exists(container):
            raise NotFoundError(
                f"Container with id '{container}' not found.", param=f"{where}.container"
            )
        out.container = container
        return
    files = list(out.code_file_ids or [])
    for file_id in container.get("file_ids") or []:
        if not store.files.exists(file_id):
            raise NotFoundError(
                f"No file found with id '{file_id}'.", param=f"{where}.container.file_ids"
            )
        files.append(file_id)
    out.code_file_ids = files


def _tool_choice(choice: Any) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    kind = choice.get("type")
    if kind == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if kind in ("file_search", "code_interpreter"):
        return {"type": kind}
    if kind == "mcp":  # with no mcp tool to resolve it (mcp_choice did otherwise)
        raise InvalidRequestError(
            "Invalid 'tool_choice': it names an MCP server, and no mcp tool is given.",
            param="tool_choice",
        )
    if kind in NOT_OFFERED:
        raise InvalidRequestError(
            f"Invalid 'tool_choice': the {kind} tool is hosted by OpenAI and cannot run "
            "offline; it is never offered to the model.",
            param="tool_choice",
        )
    raise InvalidRequestError(
        f"Unsupported 'tool_choice' type {kind!r}: use 'none', 'auto', 'required', a named "
        "function, file_search or code_interpreter.",
        param="tool_choice",
    )
