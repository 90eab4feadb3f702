"""A Chat Completions ``messages`` list (shape already checked) as the engine's conversation turns.

``system`` and ``developer`` messages become the one system text at the head
(in order); ``user`` and ``assistant`` messages keep their text (content parts
of type ``text``, or ``refusal`` for the assistant); an assistant's
``tool_calls`` and the ``tool`` messages answering them become the engine's
calls and results, which the model's tool format renders (natively where its
template knows tools). What a text-only model cannot read (images, audio,
files) is refused with the part's path, as is a ``tool`` message that answers
no earlier call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine import ChatMessage, ToolCall
from ..errors import InvalidRequestError
from .checks.formats import check_message_size


def chat_turns(messages: Sequence[dict[str, Any]]) -> list[ChatMessage]:
    """The turns, the system text (if any) first."""
    if not messages:
        raise InvalidRequestError(
            "Invalid 'messages': expected at least one message.", param="messages"
        )
    system: list[str] = []
    turns: list[ChatMessage] = []
    calls: dict[str, str] = {}  # call id → function name, for the tool messages
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message["role"]
        if role in ("system", "developer"):
            system.append(_text(message.get("content"), f"{where}.content", ("text",)))
        elif role == "user":
            turns.append(ChatMessage("user", _text(message["content"], f"{where}.content")))
        elif role == "assistant":
            turns.append(_assistant(message, where, calls))
        elif role == "tool":
            call_id = message["tool_call_id"]
            if call_id not in calls:
                raise InvalidRequestError(
                    f"Invalid '{where}.tool_call_id': {call_id!r} answers no tool call of an "
                    "earlier assistant message.",
                    param=f"{where}.tool_call_id",
                )
            content = _text(message["content"], f"{where}.content", ("text",))
            turns.append(ChatMessage("tool", content, tool_call_id=call_id, name=calls[call_id]))
        else:  # "function": the deprecated form of tool results
            raise InvalidRequestError(
                f"Invalid '{where}.role': 'function' messages are deprecated and not supported; "
                "send tool results as 'tool' messages.",
                param=f"{where}.role",
            )
    head = [ChatMessage("system", "\n\n".join(system))] if system else []
    return head + turns


def _assistant(message: dict[str, Any], where: str, calls: dict[str, str]) -> ChatMessage:
    if message.get("function_call") is not None:
        raise InvalidRequestError(
            f"Invalid '{where}.function_call': deprecated and not supported; use 'tool_calls'.",
            param=f"{where}.function_call",
        )
    content = message.get("content")
    text = "" if content is None else _text(content, f"{where}.content", ("text", "refusal"))
    tool_calls: list[ToolCall] = []
    for number, call in enumerate(message.get("tool_calls") or []):
        if call["type"] != "function":
            raise InvalidRequestError(
                f"Invalid '{where}.tool_calls[{number}].type': only function calls are supported.",
                param=f"{where}.tool_calls[{number}].type",
            )
        function = call["function"]
        tool_calls.append(ToolCall(call["id"], function["name"], function["arguments"]))
        calls[call["id"]] = function["name"]
    reasoning = message.get("reasoning_content")  # the template keeps or drops it
    return ChatMessage("assistant", text, tool_calls=tuple(tool_calls), reasoning=reasoning)


def _text(content: Any, where: str, kinds: tuple[str, ...] = ("text",)) -> str:
    """A string, or the text of content parts; other parts are refused by path."""
    if content is None:
        return ""
    if isinstance(content, str):
        return check_message_size(content, where)
    parts: list[str] = []
    for index, part in enumerate(content):
        kind = part["type"]
        if kind not in kinds:
            raise InvalidRequestError(
                f"Invalid '{where}[{index}].type': {kind!r} content is not supported here; "
                "the local models read text only.",
                param=f"{where}[{index}].type",
            )
        parts.append(part["text"] if kind == "text" else part["refusal"])
    return check_message_size("\n".join(parts), where)
