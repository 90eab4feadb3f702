"""Checks for the structured parameters: message content, response_format, tools, truncation."""

from __future__ import annotations

from typing import Any

from openai.types.beta.assistant_response_format_option import AssistantResponseFormatOption
from openai.types.beta.threads.message_content import MessageContent
from openai.types.beta.threads.run import TruncationStrategy

from ..errors import InvalidRequestError
from .validation import validate_as

MAX_MESSAGE_CHARS = 256_000
KNOWN_TOOL_TYPES = ("function", "code_interpreter", "file_search")


def parse_content(content: Any, param: str = "content") -> list[MessageContent]:
    """A string or a list of content parts → the message's content blocks."""
    if isinstance(content, str):
        if len(content) > MAX_MESSAGE_CHARS:
            raise InvalidRequestError(
                f"Invalid '{param}': longer than {MAX_MESSAGE_CHARS} characters.", param=param
            )
        parts: list[Any] = [{"type": "text", "text": content}]
    elif isinstance(content, list | tuple) and content:
        parts = list(content)
    else:
        raise InvalidRequestError(
            f"Invalid '{param}': expected a string or a non-empty list of content parts.",
            param=param,
        )
    blocks: list[MessageContent] = []
    for index, part in enumerate(parts):
        where = f"{param}[{index}]"
        if not isinstance(part, dict) or part.get("type") not in (
            "text",
            "image_url",
            "image_file",
        ):
            raise InvalidRequestError(
                f"Invalid '{where}': expected a part of type 'text', 'image_url' or 'image_file'.",
                param=param,
            )
        if part["type"] == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"Invalid '{where}.text': expected a string.", param=param
                )
            part = {"type": "text", "text": {"value": text, "annotations": []}}
        blocks.append(validate_as(MessageContent, part, param))
    return blocks


def parse_response_format(value: Any, param: str = "response_format") -> Any:
    if value is None:
        return "auto"
    parsed = validate_as(AssistantResponseFormatOption, value, param)
    if not isinstance(parsed, str) and parsed.type == "json_schema":
        schema = parsed.json_schema.schema_
        if schema is not None and not isinstance(schema, dict):
            raise InvalidRequestError(
                f"Invalid '{param}.json_schema.schema': expected a JSON Schema object.", param=param
            )
    return parsed


def check_tools(tools: Any, param: str = "tools") -> list[Any]:
    """Tools are validated here; their execution arrives with the tool issues (function first)."""
    if tools is None:
        return []
    if not isinstance(tools, list | tuple):
        raise InvalidRequestError(f"Invalid '{param}': expected a list of tools.", param=param)
    for index, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in KNOWN_TOOL_TYPES:
            raise InvalidRequestError(
                f"Invalid '{param}[{index}].type': expected one of {', '.join(KNOWN_TOOL_TYPES)}.",
                param=param,
            )
        raise InvalidRequestError(
            f"Tool type '{kind}' is not available in this version of offline-assistants yet; "
            "create the assistant without tools.",
            param=param,
            code="unsupported_tool",
        )
    return []


def check_tool_resources(value: Any, param: str = "tool_resources") -> None:
    if value in (None, {}):
        return None
    raise InvalidRequestError(
        f"Invalid '{param}': tool resources (files, vector stores) are not available in this "
        "version of offline-assistants yet.",
        param=param,
        code="unsupported_tool",
    )


def parse_truncation(value: Any, param: str = "truncation_strategy") -> TruncationStrategy:
    if value is None:
        return TruncationStrategy(type="auto", last_messages=None)
    parsed: TruncationStrategy = validate_as(TruncationStrategy, value, param)
    if parsed.type == "last_messages" and (
        parsed.last_messages is None or parsed.last_messages < 1
    ):
        raise InvalidRequestError(
            f"Invalid '{param}.last_messages': required and at least 1 with type 'last_messages'.",
            param=param,
        )
    return parsed
