"""A Responses request's settings as a run's: tools, tool choice, text format, limits.

The Responses API spells the Assistants run settings differently: flat
function tools (``{"type": "function", "name": ...}``), ``text.format`` for
``response_format``, ``max_output_tokens``, ``truncation``. This module
translates them (checking them with the same code runs use) and keeps what the
response echoes back (``request``). A file_search tool's ``vector_store_ids``
and an ``auto`` code_interpreter container's ``file_ids`` become the thread's
``tool_resources``, which is where a run's tools find them; a container id
names a container made with ``containers.create`` for the code to run in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..engine import resolve_model
from ..errors import InvalidRequestError, NotFoundError
from ..store import Store
from .formats import check_tool_choice, check_tools, parse_response_format
from .response_items import INCLUDABLE
from .run_params import check_parallel
from .validation import (
    MAX_MODEL_NAME,
    check_metadata,
    check_number,
    check_positive_int,
    check_text,
)

# Parameters that would change the answer in ways this runtime cannot honour.
REFUSED = {
    "prompt": "reusable prompts live on OpenAI's platform; send 'instructions' and 'input'",
    "top_logprobs": "log probabilities are not returned by this runtime",
    "max_tool_calls": "not supported by this runtime",
    "context_management": "not supported by this runtime",
}
# A prompt too long for the window fails the response unless truncation is "auto".
NO_TRUNCATION = {"type": "last_messages", "last_messages": 1_000_000}


@dataclass
class ResponseSettings:
    """What a response's run is made with, and what the response shows of its request."""

    run_fields: dict[str, Any]
    request: dict[str, Any]
    vector_store_ids: list[str] = field(default_factory=list)
    code_file_ids: list[str] | None = None
    include: list[str] = field(default_factory=list)
    container: str | None = None  # a container made with containers.create


def response_settings(p: dict[str, Any], settings: Settings, store: Store) -> ResponseSettings:
    for name, why in REFUSED.items():
        if p.get(name) not in (None, [], {}):
            raise InvalidRequestError(f"Unsupported parameter '{name}': {why}.", param=name)
    if (p.get("reasoning") or {}).get("effort") not in (None, "none"):
        raise InvalidRequestError(
            "Unsupported parameter: 'reasoning.effort' is not supported with the local models.",
            param="reasoning.effort",
        )
    model = check_text(p.get("model"), "model", MAX_MODEL_NAME, required=True)
    assert model is not None
    resolve_model(model, settings)
    include = list(p.get("include") or [])
    for index, value in enumerate(include):
        if value not in INCLUDABLE:
            raise InvalidRequestError(
                f"Invalid 'include[{index}]': {value!r}; supported: {', '.join(INCLUDABLE)}.",
                param=f"include[{index}]",
            )
    raw_tools = list(p.get("tools") or [])
    run_tools, vector_store_ids, code_files, container = _tools(raw_tools, store)
    tools = check_tools(run_tools)
    choice = check_tool_choice(_tool_choice(p.get("tool_choice")), tools)
    fmt = (p.get("text") or {}).get("format") or {"type": "text"}
    temperature = check_number(p.get("temperature"), "temperature", 0.0, 2.0)
    top_p = check_number(p.get("top_p"), "top_p", 0.0, 1.0)
    max_output = check_positive_int(p.get("max_output_tokens"), "max_output_tokens", minimum=16)
    truncation = p.get("truncation") or "disabled"
    parallel = check_parallel(p.get("parallel_tool_calls", True))
    metadata = check_metadata(p.get("metadata"))
    instructions = check_text(p.get("instructions"), "instructions", 256_000)
    run_fields = {
        "model": model,
        "instructions": instructions or "",
        "tools": tools,
        "tool_choice": choice,
        "parallel_tool_calls": parallel,
        "metadata": metadata,
        "temperature": temperature,
        "top_p": top_p,
        "max_prompt_tokens": None,
        "max_completion_tokens": max_output or settings.max_completion_tokens or None,
        "truncation_strategy": {"type": "auto", "last_messages": None}
        if truncation == "auto"
        else NO_TRUNCATION,
        "response_format": _response_format(fmt),
    }
    request = {
        "model": model,
        "instructions": instructions,
        "tools": raw_tools,
        "tool_choice": p.get("tool_choice") or "auto",
        "parallel_tool_calls": parallel,
        "metadata": metadata,
        "temperature": 1.0 if temperature is None else temperature,
        "top_p": 1.0 if top_p is None else top_p,
        "max_output_tokens": max_output,
        "truncation": truncation,
        "text": {"format": fmt},
        "include": include,
    }
    return ResponseSettings(run_fields, request, vector_store_ids, code_files, include, container)


def _tools(
    raw: list[dict[str, Any]], store: Store
) -> tuple[list[Any], list[str], list[str] | None, str | None]:
    """Run tools, the vector stores to search, the files the code may read (None: no code),
    and the container the code runs in (None: the thread's own)."""
    tools: list[Any] = []
    stores: list[str] = []
    files: list[str] | None = None
    named: str | None = None
    for index, tool in enumerate(raw):
        where = f"tools[{index}]"
        kind = tool.get("type")
        if kind == "function":
            function: dict[str, Any] = {
                k: tool[k] for k in ("name", "description", "parameters") if k in tool
            }
            if tool.get("strict") is not None:
                function["strict"] = tool["strict"]
            tools.append({"type": "function", "function": function})
        elif kind == "file_search":
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
                stores.append(vs_id)
            options = {k: tool[k] for k in ("max_num_results", "ranking_options") if k in tool}
            ranking = options.get("ranking_options")
            if isinstance(ranking, dict):
                options["ranking_options"] = {"score_threshold": ranking.get("score_threshold", 0)}
            tools.append({"type": "file_search", "file_search": options})
        elif kind == "code_interpreter":
            container = tool["container"]
            tools.append({"type": "code_interpreter"})
            if isinstance(container, str):
                if not store.containers.exists(container):
                    raise NotFoundError(
                        f"Container with id '{container}' not found.", param=f"{where}.container"
                    )
                named = container
                continue
            files = list(files or [])
            for file_id in container.get("file_ids") or []:
                if not store.files.exists(file_id):
                    raise NotFoundError(
                        f"No file found with id '{file_id}'.", param=f"{where}.container.file_ids"
                    )
                files.append(file_id)
        else:
            raise InvalidRequestError(
                f"Invalid '{where}.type': {kind!r} tools are not available offline (supported: "
                "function, file_search, code_interpreter).",
                param=f"{where}.type",
            )
    return tools, stores, files, named


def _tool_choice(choice: Any) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    kind = choice.get("type")
    if kind == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if kind in ("file_search", "code_interpreter"):
        return {"type": kind}
    raise InvalidRequestError(
        f"Unsupported 'tool_choice' type {kind!r}: use 'none', 'auto', 'required', a named "
        "function, file_search or code_interpreter.",
        param="tool_choice",
    )


def _response_format(fmt: dict[str, Any]) -> Any:
    kind = fmt.get("type")
    if kind == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return parse_response_format(
            {"type": "json_schema", "json_schema": schema}, param="text.format"
        )
    return parse_response_format({"type": kind}, param="text.format")
