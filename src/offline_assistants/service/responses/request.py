"""A Responses request's settings as a run's: tools, tool choice, text format, limits.

The Responses API spells the Assistants run settings differently: flat
function tools (``tools.py``), ``text.format`` for
``response_format``, ``max_output_tokens``, ``truncation``. This module
translates them (checking them with the same code runs use) and keeps what the
response echoes back (``request``): every field the Open Responses
specification requires of a response object, with the value the request asked
for or the documented default (``presence_penalty`` 0, ``service_tier``
"default", ``reasoning`` with null effort and summary, ...). A file_search
tool's ``vector_store_ids`` and an ``auto`` code_interpreter container's
``file_ids`` become the thread's ``tool_resources``, which is where a run's
tools find them; a container id names a container made with
``containers.create`` for the code to run in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...config import Settings
from ...errors import InvalidRequestError
from ...runs.reasoning_summary import STYLES
from ...store import Store
from ..checks.effort import check_effort
from ..checks.formats import parse_response_format
from ..checks.validation import (
    MAX_MODEL_NAME,
    check_metadata,
    check_positive_int,
    check_sampling,
    check_text,
)
from ..run_params import check_parallel
from .items import ENCRYPTED, INCLUDABLE
from .mcp_tools import McpPolicy, McpTools
from .tools import echoed_tools, response_tools

# Parameters that would change the answer in ways this runtime cannot honour.
REFUSED = {
    "prompt": "reusable prompts live on OpenAI's platform; send 'instructions' and 'input'",
    "top_logprobs": "log probabilities are not returned by this runtime",
    "max_tool_calls": "not supported by this runtime",
    "context_management": "not supported by this runtime",
}
# What asking for nothing looks like, per refused parameter (top_logprobs: 0 asks for none).
NOTHING: tuple[Any, ...] = (None, [], {}, 0)
# Reasoning items carry a sealed handle of their reasoning (items.py).
ACCEPTED_INCLUDES = (ENCRYPTED,)
SERVICE_TIERS = ("auto", "default")
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
    penalties: tuple[float, float] = (0.0, 0.0)  # presence, frequency
    reasoning_effort: str | None = None
    reasoning_summary: str | None = None  # auto, concise, detailed (runs/reasoning_summary.py)
    mcp: McpTools = field(default_factory=McpTools)  # the request's MCP servers and tools


def response_settings(
    p: dict[str, Any], settings: Settings, store: Store, mcp: McpPolicy | None = None
) -> ResponseSettings:
    _refuse_unsupported(p)
    model = check_text(p.get("model"), "model", MAX_MODEL_NAME, required=True)
    assert model is not None
    effort = check_effort(
        (p.get("reasoning") or {}).get("effort"), model, settings, "reasoning.effort"
    )
    include = _includes(p)
    raw_tools = list(p.get("tools") or [])
    tools = response_tools(raw_tools, p.get("tool_choice"), store, mcp)
    fmt = (p.get("text") or {}).get("format") or {"type": "text"}
    given = check_sampling(p)
    temperature = (
        given.temperature if given.temperature is not None else settings.response_temperature
    )
    top_p, presence, frequency = given.top_p, given.presence_penalty, given.frequency_penalty
    max_output = check_positive_int(p.get("max_output_tokens"), "max_output_tokens", minimum=16)
    truncation = p.get("truncation") or "disabled"
    parallel = check_parallel(p.get("parallel_tool_calls", True))
    metadata = check_metadata(p.get("metadata"))
    instructions = check_text(p.get("instructions"), "instructions", 256_000)
    run_fields = {
        "model": model,
        "instructions": instructions or "",
        "tools": tools.run_tools,
        "tool_choice": tools.choice,
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
    reasoning = p.get("reasoning") or {}
    request = {
        "model": model,
        "instructions": instructions,
        "tools": echoed_tools(raw_tools),
        "tool_choice": p.get("tool_choice") or "auto",
        "parallel_tool_calls": parallel,
        "metadata": metadata,
        "temperature": 1.0 if temperature is None else temperature,
        "top_p": 1.0 if top_p is None else top_p,
        "presence_penalty": presence or 0.0,
        "frequency_penalty": frequency or 0.0,
        "top_logprobs": 0,
        "max_output_tokens": max_output,
        "max_tool_calls": None,
        "truncation": truncation,
        "text": {"format": _echoed_format(fmt)},
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": p.get("store") is not False,
        "service_tier": "default",
        "user": p.get("user"),
        "safety_identifier": p.get("safety_identifier"),
        "prompt_cache_key": p.get("prompt_cache_key"),
        "include": include,
    }
    return ResponseSettings(
        run_fields,
        request,
        tools.vector_store_ids,
        tools.code_file_ids,
        include,
        tools.container,
        penalties=(presence or 0.0, frequency or 0.0),
        reasoning_effort=effort,
        reasoning_summary=_summary(p),
        mcp=tools.mcp,
    )


def _response_format(fmt: dict[str, Any]) -> Any:
    kind = fmt.get("type")
    if kind == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return parse_response_format(
            {"type": "json_schema", "json_schema": schema}, param="text.format"
        )
    return parse_response_format({"type": kind}, param="text.format")


def _refuse_unsupported(p: dict[str, Any]) -> None:
    """What this runtime cannot honour, refused naming it (asking for nothing is fine)."""
    for name, why in REFUSED.items():
        value = p.get(name)
        if not any(value == nothing and type(value) is type(nothing) for nothing in NOTHING):
            raise InvalidRequestError(f"Unsupported parameter '{name}': {why}.", param=name)
    check_service_tier(p)


def _summary(p: dict[str, Any]) -> str | None:
    """``reasoning.summary`` (or the older ``generate_summary``): the style of summary the
    model writes of its reasoning; None: no summary."""
    reasoning = p.get("reasoning") or {}
    summary = reasoning.get("summary") or reasoning.get("generate_summary")
    if summary is not None and summary not in STYLES:
        raise InvalidRequestError(
            f"Invalid value for 'reasoning.summary': {summary!r}; supported values are "
            + ", ".join(repr(style) for style in STYLES)
            + ".",
            param="reasoning.summary",
        )
    return summary


def check_service_tier(p: Mapping[str, Any]) -> None:
    """One tier here (Responses and Chat Completions): 'flex', 'priority' or 'scale' would be
    a promise about speed or price this runtime does not keep."""
    tier = p.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        raise InvalidRequestError(
            f"Invalid 'service_tier': {tier!r}; this runtime has one tier, 'default' "
            "(send 'auto', 'default' or nothing).",
            param="service_tier",
        )


def _includes(p: dict[str, Any]) -> list[str]:
    include = list(p.get("include") or [])
    for index, value in enumerate(include):
        if value not in (*INCLUDABLE, *ACCEPTED_INCLUDES):
            raise InvalidRequestError(
                f"Invalid 'include[{index}]': {value!r}; supported: "
                f"{', '.join((*INCLUDABLE, *ACCEPTED_INCLUDES))}.",
                param=f"include[{index}]",
            )
    return include


def _echoed_format(fmt: dict[str, Any]) -> dict[str, Any]:
    """``text.format`` as the response shows it: a json_schema with every field."""
    if fmt.get("type") != "json_schema":
        return fmt
    return {"description": None, "strict": False, **fmt}
