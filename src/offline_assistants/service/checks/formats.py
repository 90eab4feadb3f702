"""Checks for the structured parameters: message content, response_format, tools, tool_choice, truncation.

The ids those parameters name (``tool_resources``, ``attachments``) are checked in
:mod:`.tool_resources`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from openai.types.beta.assistant_response_format_option import AssistantResponseFormatOption
from openai.types.beta.assistant_tool import AssistantTool
from openai.types.beta.threads.message_content import MessageContent
from openai.types.beta.threads.run import TruncationStrategy

from ...engine.grammar import GrammarBuilder, UnsupportedSchema
from ...errors import InvalidRequestError
from ...tools.code_interpreter import CODE_FUNCTION
from .validation import validate_as

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 256_000
MAX_TOOLS = 128
MAX_DESCRIPTION = 1024  # the Assistants API's longest function description
KNOWN_TOOL_TYPES = ("function", "code_interpreter", "file_search")
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def check_message_size(text: str, param: str) -> str:
    """The one size rule for a message's text, on every API (Assistants messages, Responses
    and Conversations items, Chat Completions messages), applied before any tokenizing."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidRequestError(
            f"Invalid '{param}': longer than {MAX_MESSAGE_CHARS} characters.", param=param
        )
    return text


def parse_content(content: Any, param: str = "content") -> list[MessageContent]:
    """A string or a list of content parts → the message's content blocks."""
    if isinstance(content, str):
        check_message_size(content, param)
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
        check_schema(schema or {}, f"{param}.json_schema.schema", strict=False)
    return parsed


def check_schema(schema: dict[str, Any], where: str, *, strict: bool) -> None:
    """A JSON Schema a grammar can enforce: valid against its meta-schema (Draft 2020-12
    unless ``$schema`` says otherwise), then translated once to make sure it can be.
    jsonschema is imported here, by the first request with a schema: with what it brings
    (referencing, attrs) ~40 ms of every cold start otherwise (tests/test_preload.py)."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft202012Validator
        )
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        at = "".join(f"[{p!r}]" for p in exc.absolute_path)
        raise InvalidRequestError(
            f"Invalid '{where}': not a valid JSON Schema: {exc.message[:300]}"
            + (f" (at {at})" if at else ""),
            param=where,
        ) from None
    except RecursionError:
        raise InvalidRequestError(f"Invalid '{where}': nested too deeply.", param=where) from None
    try:
        GrammarBuilder().schema(schema, "args", strict=strict)
    except UnsupportedSchema as exc:
        raise InvalidRequestError(f"Invalid '{where}': {exc.message}", param=where) from None
    except RecursionError:
        raise InvalidRequestError(f"Invalid '{where}': nested too deeply.", param=where) from None
    except Exception as exc:  # noqa: BLE001 - any schema the translator chokes on is refused
        log.warning("grammar translation failed for %s", where, exc_info=True)
        raise InvalidRequestError(
            f"Invalid '{where}': this schema cannot be enforced during generation "
            f"({type(exc).__name__}: {exc}).",
            param=where,
        ) from None


def check_tools(
    tools: Any,
    param: str = "tools",
    *,
    wheres: list[str] | None = None,
    description_limit: int | None = MAX_DESCRIPTION,
) -> list[Any]:
    """Function tools (names, schemas the grammar can enforce) and code_interpreter.

    ``wheres`` names each tool's place in the request where it is not ``tools[i]``
    with its fields under ``function`` (Responses tools are flat: ``tools[i].name``);
    ``description_limit`` is the longest function description accepted (None: any).
    """
    if tools is None:
        return []
    if not isinstance(tools, list | tuple):
        raise InvalidRequestError(f"Invalid '{param}': expected a list of tools.", param=param)
    if len(tools) > MAX_TOOLS:
        raise InvalidRequestError(
            f"Invalid '{param}': at most {MAX_TOOLS} tools, got {len(tools)}.", param=param
        )
    names: set[str] = set()
    checked: list[Any] = []
    for index, tool in enumerate(tools):
        where = f"{param}[{index}]" if wheres is None else wheres[index]
        if not isinstance(tool, dict):
            tool = tool.model_dump(by_alias=True, exclude_none=True)
        kind = tool.get("type")
        if kind not in KNOWN_TOOL_TYPES:
            raise InvalidRequestError(
                f"Invalid '{where}.type': expected one of {', '.join(KNOWN_TOOL_TYPES)}.",
                param=param,
            )
        if kind == "file_search":
            if not any(t.type == "file_search" for t in checked):
                checked.append(check_file_search_tool(tool, where, param))
            continue
        if kind == "code_interpreter":
            if set(tool) != {"type"}:
                raise InvalidRequestError(
                    f"Invalid '{where}': a code_interpreter tool has no other fields.", param=param
                )
            if any(t.type == "code_interpreter" for t in checked):
                continue  # listed twice: one is enough
            checked.append(validate_as(AssistantTool, {"type": "code_interpreter"}, param))
            continue
        function_where = f"{where}.function" if wheres is None else where
        function = check_function(
            tool.get("function"), function_where, param, description_limit=description_limit
        )
        if function["name"] in names:
            raise InvalidRequestError(
                f"Invalid '{function_where}.name': duplicate function name '{function['name']}'.",
                param=param,
            )
        names.add(function["name"])
        checked.append(
            validate_as(AssistantTool, {"type": "function", "function": function}, param)
        )
    if CODE_FUNCTION in names and any(t.type == "code_interpreter" for t in checked):
        raise InvalidRequestError(
            f"Invalid '{param}': the function name '{CODE_FUNCTION}' is reserved for the "
            "code_interpreter tool; rename the function.",
            param=param,
        )
    return checked


def check_file_search_tool(tool: dict[str, Any], where: str, param: str) -> Any:
    """``{"type": "file_search", "file_search": {max_num_results, ranking_options}}``."""
    options = tool.get("file_search") or {}
    if set(tool) - {"type", "file_search"} or not isinstance(options, dict):
        raise InvalidRequestError(
            f'Invalid \'{where}\': expected {{"type": "file_search", "file_search": {{...}}}}.',
            param=param,
        )
    limit = options.get("max_num_results")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50
    ):
        raise InvalidRequestError(
            f"Invalid '{where}.file_search.max_num_results': an integer from 1 to 50.", param=param
        )
    ranking = options.get("ranking_options")
    if ranking is not None:
        threshold = ranking.get("score_threshold") if isinstance(ranking, dict) else None
        if (
            not isinstance(threshold, int | float)
            or isinstance(threshold, bool)
            or not 0 <= threshold <= 1
        ):
            raise InvalidRequestError(
                f"Invalid '{where}.file_search.ranking_options.score_threshold': "
                "a number from 0 to 1 (required in ranking_options).",
                param=param,
            )
    return validate_as(AssistantTool, {"type": "file_search", "file_search": options}, param)


def check_function(
    function: Any, where: str, param: str, *, description_limit: int | None = MAX_DESCRIPTION
) -> dict[str, Any]:
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
    if description is not None and not isinstance(description, str):
        raise InvalidRequestError(f"Invalid '{where}.description': a string.", param=param)
    if description_limit is not None and description and len(description) > description_limit:
        raise InvalidRequestError(
            f"Invalid '{where}.description': a string of at most {description_limit} characters.",
            param=param,
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
        check_schema(parameters, f"{where}.parameters", strict=bool(strict))
    return {key: value for key, value in function.items() if value is not None}


def check_tool_choice(choice: Any, tools: list[Any], param: str = "tool_choice") -> Any:
    """none | auto | required | a named function | a code_interpreter or file_search, among ``tools``."""
    names = {t.function.name for t in tools if t.type == "function"}
    if choice is None:
        return "auto"
    if choice in ("none", "auto"):
        return choice
    if choice == "required":
        if not tools:
            raise InvalidRequestError(
                "Invalid 'tool_choice': 'required' needs at least one tool.", param=param
            )
        return choice
    for kind in ("code_interpreter", "file_search"):
        if isinstance(choice, dict) and choice.get("type") == kind:
            if not any(t.type == kind for t in tools):
                raise InvalidRequestError(
                    f"Invalid 'tool_choice': the {kind} tool is not among the tools.", param=param
                )
            return {"type": kind}
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if name not in names:
            raise InvalidRequestError(
                f"Invalid 'tool_choice': no function named {name!r} among the tools.", param=param
            )
        return {"type": "function", "function": {"name": name}}
    raise InvalidRequestError(
        f"Invalid 'tool_choice': {choice!r}; expected 'none', 'auto', 'required', "
        '{"type": "code_interpreter"}, {"type": "file_search"} or '
        '{"type": "function", "function": {"name": ...}}.',
        param=param,
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
