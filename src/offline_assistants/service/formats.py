"""Checks for the structured parameters: message content, response_format, tools, tool_choice, truncation."""

from __future__ import annotations

import re
from typing import Any

from openai.types.beta.assistant_response_format_option import AssistantResponseFormatOption
from openai.types.beta.assistant_tool import AssistantTool
from openai.types.beta.threads.message_content import MessageContent
from openai.types.beta.threads.run import TruncationStrategy

from ..engine.grammar import GrammarBuilder, UnsupportedSchema
from ..errors import InvalidRequestError
from .validation import validate_as

MAX_MESSAGE_CHARS = 256_000
MAX_TOOLS = 128
KNOWN_TOOL_TYPES = ("function", "code_interpreter", "file_search")
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


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
        try:
            GrammarBuilder().schema(schema or {}, "response")
        except UnsupportedSchema as exc:
            raise InvalidRequestError(
                f"Invalid '{param}.json_schema.schema': {exc.message}", param=param
            ) from None
    return parsed


def check_tools(tools: Any, param: str = "tools") -> list[Any]:
    """Function tools, validated (names, schemas the grammar can enforce); other types later."""
    if tools is None:
        return []
    if not isinstance(tools, list | tuple):
        raise InvalidRequestError(f"Invalid '{param}': expected a list of tools.", param=param)
    if len(tools) > MAX_TOOLS:
        raise InvalidRequestError(
            f"Invalid '{param}': at most {MAX_TOOLS} tools, got {len(tools)}.", param=param
        )
    names: set[str] = set()
    checked = []
    for index, tool in enumerate(tools):
        where = f"{param}[{index}]"
        kind = tool.get("type") if isinstance(tool, dict) else getattr(tool, "type", None)
        if kind not in KNOWN_TOOL_TYPES:
            raise InvalidRequestError(
                f"Invalid '{where}.type': expected one of {', '.join(KNOWN_TOOL_TYPES)}.",
                param=param,
            )
        if kind != "function":
            raise InvalidRequestError(
                f"Tool type '{kind}' is not available in this version of offline-assistants yet.",
                param=param,
                code="unsupported_tool",
            )
        tool = tool if isinstance(tool, dict) else tool.model_dump(by_alias=True, exclude_none=True)
        function = check_function(tool.get("function"), f"{where}.function", param)
        if function["name"] in names:
            raise InvalidRequestError(
                f"Invalid '{where}.function.name': duplicate function name '{function['name']}'.",
                param=param,
            )
        names.add(function["name"])
        checked.append(
            validate_as(AssistantTool, {"type": "function", "function": function}, param)
        )
    return checked


def check_function(function: Any, where: str, param: str) -> dict[str, Any]:
    if not isinstance(function, dict):
        raise InvalidRequestError(f"Missing required parameter: '{where}'.", param=param)
    unknown = set(function) - {"name", "description", "parameters", "strict"}
    if unknown:
        raise InvalidRequestError(
            f"Invalid '{where}': unknown field '{sorted(unknown)[0]}'.", param=param
        )
    name = function.get("name")
    if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
        raise InvalidRequestError(
            f"Invalid '{where}.name': {name!r}; use 1-64 letters, digits, underscores or dashes.",
            param=param,
        )
    description = function.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 1024):
        raise InvalidRequestError(
            f"Invalid '{where}.description': a string of at most 1024 characters.", param=param
        )
    strict = function.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise InvalidRequestError(f"Invalid '{where}.strict': expected a boolean.", param=param)
    parameters = function.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise InvalidRequestError(
                f"Invalid '{where}.parameters': expected a JSON Schema object.", param=param
            )
        try:
            GrammarBuilder().schema(parameters, "args", strict=bool(strict))
        except UnsupportedSchema as exc:
            raise InvalidRequestError(
                f"Invalid '{where}.parameters': {exc.message}", param=param
            ) from None
    return {key: value for key, value in function.items() if value is not None}


def check_tool_choice(choice: Any, tools: list[Any], param: str = "tool_choice") -> Any:
    """none | auto | required | {"type": "function", "function": {"name": ...}} among ``tools``."""
    names = {t.function.name for t in tools if t.type == "function"}
    if choice is None:
        return "auto"
    if choice in ("none", "auto"):
        return choice
    if choice == "required":
        if not names:
            raise InvalidRequestError(
                "Invalid 'tool_choice': 'required' needs at least one function tool.", param=param
            )
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if name not in names:
            raise InvalidRequestError(
                f"Invalid 'tool_choice': no function named {name!r} among the tools.", param=param
            )
        return {"type": "function", "function": {"name": name}}
    raise InvalidRequestError(
        f"Invalid 'tool_choice': {choice!r}; expected 'none', 'auto', 'required' or "
        '{"type": "function", "function": {"name": ...}}.',
        param=param,
    )


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
