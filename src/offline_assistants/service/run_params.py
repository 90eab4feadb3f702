"""Checks for the parameters of a new run: what ``runs.create`` and ``create_and_run`` accept.

Each function validates one concern and raises an InvalidRequestError naming the
parameter; :func:`run_fields` resolves every run setting against the assistant's
defaults. Nothing here touches the store beyond reading what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openai.types.beta.assistant import Assistant
from openai.types.beta.threads.message import Message

from ..config import Settings
from ..engine import resolve_model
from ..errors import InvalidRequestError
from .checks.formats import check_tool_choice, check_tools, parse_response_format, parse_truncation
from .checks.validation import (
    MAX_MODEL_NAME,
    check_metadata,
    check_positive_int,
    check_sampling,
    check_text,
)
from .messages import new_user_message

INCLUDABLE = ("step_details.tool_calls[*].file_search.results[*].content",)


def check_include(value: Any) -> list[str]:
    if not isinstance(value, list) or any(item not in INCLUDABLE for item in value):
        raise InvalidRequestError(
            f"Invalid 'include': supported values are {list(INCLUDABLE)}.", param="include"
        )
    return value


def check_parallel(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(
            "Invalid type for 'parallel_tool_calls': expected a boolean.",
            param="parallel_tool_calls",
        )
    return value


def additional_messages(
    thread_id: str, value: list[dict[str, Any]], file_exists: Callable[[str], bool]
) -> list[Message]:
    """The run's ``additional_messages`` (shape already checked) as messages to store."""
    return [
        new_user_message(
            thread_id,
            role=item["role"],
            content=item["content"],
            attachments=item.get("attachments"),
            metadata=item.get("metadata"),
            param=f"additional_messages[{index}].",
            file_exists=file_exists,
        )
        for index, item in enumerate(value)
    ]


def run_fields(assistant: Assistant, p: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The run's settings: the given ones, checked, else the assistant's."""
    model = check_text(p.get("model", assistant.model), "model", MAX_MODEL_NAME, required=True)
    assert model is not None
    resolve_model(model, settings)
    instructions = check_text(p.get("instructions"), "instructions", 256_000)
    tools = check_tools(p["tools"]) if "tools" in p else assistant.tools
    given = check_sampling(p)
    return {
        "model": model,
        "instructions": instructions if instructions is not None else assistant.instructions or "",
        "tools": tools,
        "tool_choice": check_tool_choice(p.get("tool_choice"), tools),
        "parallel_tool_calls": check_parallel(p.get("parallel_tool_calls", True)),
        "metadata": check_metadata(p.get("metadata")),
        "temperature": given.temperature
        if given.temperature is not None
        else assistant.temperature,
        "top_p": given.top_p if given.top_p is not None else assistant.top_p,
        "max_prompt_tokens": check_positive_int(p.get("max_prompt_tokens"), "max_prompt_tokens"),
        "max_completion_tokens": check_positive_int(
            p.get("max_completion_tokens"), "max_completion_tokens"
        )
        or settings.max_completion_tokens
        or None,
        "truncation_strategy": parse_truncation(p.get("truncation_strategy")),
        "response_format": parse_response_format(p["response_format"])
        if "response_format" in p
        else assistant.response_format or "auto",
    }
