"""gpt-oss's Harmony format: its channels read as reasoning and answer, its calls as tool calls.

gpt-oss writes messages on channels, each opened by ``<|channel|>NAME`` ... ``<|message|>``
and the next by ``<|start|>assistant``: its reasoning on ``analysis`` (ended by
``<|end|>``), the answer on ``final`` (ended by ``<|return|>``), tool calls on
``commentary`` addressed ``to=functions.NAME`` with JSON arguments (ended by
``<|call|>``). llama.cpp knows the vocabulary: ``<|return|>`` and ``<|call|>`` end a
generation, ``<|end|>`` does not, and the header tokens are written out as text.

- :data:`HARMONY` is the reasoning convention (:mod:`.reasoning`): the analysis message
  is the reasoning, the headers of the answer are dropped; the runtime opens the
  analysis for the model (as the distills' templates open ``<think>``) and writes the
  final header after it where nothing else may follow (no grammar holds), and ends the
  answer at ``<|end|>`` too (a message's end, where the model does not write
  ``<|return|>``); the API's
  reasoning effort reaches the template as ``reasoning_effort`` (:func:`template_effort`).
- :class:`HarmonyFormat` is the tool format (:mod:`.tool_format`): tools and earlier
  calls rendered by the template itself, which takes one call per assistant message (a
  turn with several is told as several, each followed by its result); calls
  grammar-checked in the channel-header form
  ``<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}``, read
  back whole by :meth:`HarmonyFormat.parse` and while they stream by
  :class:`HarmonyCallScanner`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from .base import ChatMessage, FunctionSpec, Grammar, ToolChoice
from .call_scanner import CallEvent, CallScanner
from .grammar import GrammarBuilder, literal
from .reasoning import ThinkTags, think_tags

START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
NEXT = START + "assistant"  # what opens the assistant's next message
ANALYSIS = CHANNEL + "analysis" + MESSAGE
FINAL = CHANNEL + "final" + MESSAGE
CALL = CHANNEL + "commentary to=functions."  # how a call's header begins (after NEXT)
CONSTRAINED = " <|constrain|>json" + MESSAGE
EFFORTS = ("low", "medium", "high")

HARMONY = ThinkTags(
    start=ANALYSIS,
    end=END,
    after=(NEXT, FINAL),
    effort="reasoning_effort",
    opens=True,
    answer=NEXT + FINAL,
    ends_answer=True,
)
_HEADER = re.compile(r"to=functions\.([^\s<]+)")


def is_harmony(template: str) -> bool:
    """Whether a chat template speaks Harmony (gpt-oss's channels and message markers)."""
    return all(marker in template for marker in (START, CHANNEL, MESSAGE, "<|call|>"))


def reasoning_convention(template: str) -> ThinkTags | None:
    """How a chat template's model reasons: Harmony's channels, think tags, or not at all."""
    return HARMONY if is_harmony(template) else think_tags(template)


def template_effort(effort: str | None) -> str | None:
    """The ``reasoning_effort`` gpt-oss's template takes for the API's effort: low, medium
    or high as asked; less than low (none, minimal) is low, the least gpt-oss knows, more
    than high (xhigh) high. None: the template's default (medium)."""
    if effort is None:
        return None
    if effort in EFFORTS:
        return effort
    return "high" if effort == "xhigh" else "low"


class HarmonyFormat:
    """Tool calls in Harmony's commentary channel, rendered by gpt-oss's own template."""

    opener = CALL
    native = True
    answer_prefix = NEXT + FINAL  # what a grammar-held answer (a JSON schema) begins with

    def template_inputs(
        self, turns: Sequence[ChatMessage], functions: Sequence[FunctionSpec]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        """Messages as the template wants them: reasoning as ``thinking`` (alone: a call's
        message may not also have content), one call per assistant message, each call's
        result right after it."""
        out: list[dict[str, Any]] = []
        results: dict[str, dict[str, Any]] = {}
        pending: list[str] = []  # call ids told, whose results have not come yet
        for turn in turns:
            if turn.role == "tool":
                result = {"role": "tool", "content": turn.content, "name": turn.name}
                if turn.tool_call_id in pending:
                    pending.remove(turn.tool_call_id or "")
                    results[turn.tool_call_id or ""] = result
                    continue
                out.append(result)
                continue
            self._flush(out, results)
            if turn.role != "assistant":
                out.append({"role": turn.role, "content": turn.content})
                continue
            out.extend(self._assistant(turn))
            pending = [call.id for call in turn.tool_calls]
            results = {}
        self._flush(out, results)
        tools = [f.as_tool() for f in functions] if functions else None
        return out, tools

    @staticmethod
    def _assistant(turn: ChatMessage) -> list[dict[str, Any]]:
        said: dict[str, Any] = {} if turn.reasoning is None else {"thinking": turn.reasoning}
        if not turn.tool_calls:
            return [{"role": "assistant", "content": turn.content, **said}]
        thought = turn.reasoning or turn.content  # the template takes one or the other
        first = {"thinking": thought} if thought else {}
        messages = []
        for index, call in enumerate(turn.tool_calls):
            messages.append(
                {
                    "role": "assistant",
                    "content": "",
                    **(first if index == 0 else {}),
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": _loads(call.arguments)},
                        }
                    ],
                    "call_id": call.id,
                }
            )
        return messages

    @staticmethod
    def _flush(out: list[dict[str, Any]], results: dict[str, dict[str, Any]]) -> None:
        """Each result after its own call (the calls were told one message each)."""
        if not results:
            return
        placed: list[dict[str, Any]] = []
        for message in out[len(out) - _trailing_calls(out) :]:
            placed.append(message)
            if (result := results.pop(message.get("call_id", ""), None)) is not None:
                placed.append(result)
        del out[len(out) - _trailing_calls(out) :]
        out.extend(placed)
        out.extend(results.values())
        results.clear()

    def grammar(
        self, functions: Sequence[FunctionSpec], choice: ToolChoice, parallel: bool
    ) -> Grammar:
        """One call (``<|call|>`` ends the generation, so there is never a second one)."""
        builder = GrammarBuilder()
        offered = [f for f in functions if choice.mode != "function" or f.name == choice.function]
        alternatives = []
        for index, function in enumerate(offered):
            schema = function.parameters or {"type": "object", "properties": {}}
            if function.strict and "additionalProperties" not in schema:
                schema = {**schema, "additionalProperties": False}
            arguments = builder.schema(schema, f"fn{index}-args", strict=function.strict)
            head = literal(function.name + CONSTRAINED)
            alternatives.append(builder.add(f"fn{index}", f"{head} {arguments}"))
        # From the first token after the reasoning, which the next message's start opens.
        gbnf = builder.render(f"{literal(NEXT)}? {literal(CALL)} ( {' | '.join(alternatives)} )")
        return Grammar(gbnf, trigger=NEXT + CALL if choice.mode == "auto" else None)

    def parse(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        """The call in the model's output (either header order gpt-oss writes); empty: an
        answer."""
        text = text.strip()
        if text.startswith(NEXT):
            text = text[len(NEXT) :]
        if MESSAGE not in text:
            return []
        header, body = text.split(MESSAGE, 1)
        named = _HEADER.search(header)
        if named is None or not header.startswith((CHANNEL, " to=", "to=")):
            return []
        arguments, _ = json.JSONDecoder().raw_decode(body.strip())
        return [(named.group(1), dict(arguments) if isinstance(arguments, dict) else {})]

    def scanner(self, code_function: str | None = None) -> HarmonyCallScanner:
        return HarmonyCallScanner(code_function)


class HarmonyCallScanner:
    """:class:`~.call_scanner.CallScanner`'s events for a Harmony call as it streams: the
    header's name is told to the JSON scanner as ``{"name": ...`` and the arguments after
    ``<|message|>`` as its ``arguments``."""

    def __init__(self, code_function: str | None = None) -> None:
        self._json = CallScanner(code_function)
        self._header = ""
        self._in_body = False
        self._arguments_open = False

    def feed(self, text: str) -> list[CallEvent]:
        if not self._in_body:
            self._header += text
            if MESSAGE not in self._header:
                return []
            header, text = self._header.split(MESSAGE, 1)
            named = _HEADER.search(header)
            self._in_body = True
            name = named.group(1) if named else ""
            text = '{"name": ' + json.dumps(name) + ', "arguments": ' + text
        events: list[CallEvent] = []
        for char in text:
            events += self._json.feed(char)
            if self._json.depth > 1:
                self._arguments_open = True
            elif self._arguments_open and self._json.depth == 1:
                self._arguments_open = False  # the arguments closed: so does the call
                events += self._json.feed("}")
        return events


def _trailing_calls(out: list[dict[str, Any]]) -> int:
    count = 0
    for message in reversed(out):
        if message.get("role") != "assistant" or "call_id" not in message:
            break
        count += 1
    return count


def _loads(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
