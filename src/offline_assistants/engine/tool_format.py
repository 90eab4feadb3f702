"""How tools reach the model and how its calls come back: prompt format, grammar, parser.

The format is chosen from the model's own chat template (:func:`format_for_template`):

- **Hermes/Qwen** (native): the template knows ``tools``, assistant ``tool_calls``
  and ``tool`` messages; calls are ``<tool_call>{"name": ..., "arguments": ...}</tool_call>``.
- **Llama 3.x** (native): calls are ``{"name": ..., "parameters": ...}``, one per turn;
  results go back as ``tool`` messages (the template's ``ipython`` turns).
- **Mistral** (native): ``[TOOL_CALLS] [{"name": ..., "arguments": ...}]``, with the
  nine-character call ids Mistral's templates insist on.
- **Harmony** (native, gpt-oss): calls on the commentary channel, ``to=functions.NAME``
  (:mod:`.harmony`).
- **generic** (any other template, built-ins included): the tool list and the Hermes
  calling convention go into the system message, and earlier calls and results are
  told as plain text turns.

Generation runs under a grammar (see :mod:`.grammar`) that admits only declared
functions with arguments valid for their schemas, so ``parse`` never meets a
malformed call. Under ``tool_choice="auto"`` the grammar is lazy
(``Grammar.trigger``): the model writes freely, and only once its output opens
with the format's call marker is the rest held to the grammar. An answer that
merely begins with ``<`` or ``{`` stays an answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .base import ChatMessage, FunctionSpec, Grammar, ToolChoice
from .call_scanner import CallScanner
from .grammar import GrammarBuilder, literal
from .harmony import HarmonyFormat, is_harmony

OPENER = "<tool_call>"
CLOSER = "</tool_call>"
MAX_PARALLEL_CALLS = 8


def _native_message(turn: ChatMessage, call_id: Callable[[str], str] = str) -> dict[str, Any]:
    """A turn as templates that know tools expect it (``tool_calls`` and ``tool`` messages)."""
    message: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id(call.id),
                "type": "function",
                "function": {"name": call.name, "arguments": _loads(call.arguments)},
            }
            for call in turn.tool_calls
        ]
    if turn.role == "tool":
        message["tool_call_id"] = call_id(turn.tool_call_id or "")
        message["name"] = turn.name
    if turn.reasoning is not None:
        message["reasoning_content"] = turn.reasoning
    return message


def _native_inputs(
    turns: Sequence[ChatMessage],
    functions: Sequence[FunctionSpec],
    call_id: Callable[[str], str] = str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    return [_native_message(t, call_id) for t in turns], (
        [f.as_tool() for f in functions] if functions else None
    )


def _call_alternatives(
    builder: GrammarBuilder, functions: Sequence[FunctionSpec], choice: ToolChoice, key: str
) -> str:
    """``( "name", "KEY": args | ... )``: what follows ``{"name": `` in a call object."""
    offered = [f for f in functions if choice.mode != "function" or f.name == choice.function]
    alternatives = []
    for index, function in enumerate(offered):
        arguments = builder.schema(
            _arguments_schema(function), f"fn{index}-args", strict=function.strict
        )
        head = literal(json.dumps(function.name) + f', "{key}": ')
        alternatives.append(builder.add(f"fn{index}", f"{head} {arguments}"))
    return f"( {' | '.join(alternatives)} )"


def _lazy(builder: GrammarBuilder, calls: str, choice: ToolChoice, opener: str) -> Grammar:
    """Under ``auto`` the grammar waits for the call marker (whitespace may come first);
    otherwise it holds from the first token."""
    if choice.mode == "auto":
        return Grammar(builder.render(f"[ \\t\\n]* ( {calls} )"), trigger=opener)
    return Grammar(builder.render(calls))


class JsonCalls:
    """What the formats whose calls are JSON objects share: a grammar-held answer (a JSON
    schema) begins at once, and calls stream through :class:`~.call_scanner.CallScanner`."""

    answer_prefix = ""

    def scanner(self, code_function: str | None = None) -> CallScanner:
        return CallScanner(code_function)


class HermesFormat(JsonCalls):
    """``<tool_call>`` JSON blocks; ``native`` when the chat template renders tools itself."""

    opener = OPENER

    def __init__(self, native: bool) -> None:
        self.native = native

    def template_inputs(
        self, turns: Sequence[ChatMessage], functions: Sequence[FunctionSpec]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        """Messages (and the ``tools`` argument) for the Jinja chat template."""
        if self.native:
            return _native_inputs(turns, functions)
        return self._generic_messages(turns, functions), None

    def _generic_messages(
        self, turns: Sequence[ChatMessage], functions: Sequence[FunctionSpec]
    ) -> list[dict[str, Any]]:
        """Plain turns for a template that knows nothing of tools.

        Earlier calls and their results are told in prose, not as ``<tool_call>``
        blocks: a model never trained on tools otherwise copies the block it just
        saw and calls again instead of answering with the results.
        """
        out: list[dict[str, Any]] = []
        system = turns[0].content if turns and turns[0].role == "system" else ""
        if functions:
            system = (system + "\n\n" if system else "") + tools_prompt(functions)
        if system:
            out.append({"role": "system", "content": system})
        results: list[str] = []
        for turn in turns:
            if turn.role == "system":
                continue
            if turn.role == "tool":
                results.append(f"{turn.name} returned: {turn.content}")
                continue
            if results:
                out.append({"role": "user", "content": results_text(results)})
                results = []
            content = turn.content
            if turn.tool_calls:
                told = [f"I called {c.name} with {c.arguments}" for c in turn.tool_calls]
                content = "\n".join([content] * bool(content) + told)
            said = {} if turn.reasoning is None else {"reasoning_content": turn.reasoning}
            out.append({"role": turn.role, "content": content, **said})
        if results:
            out.append({"role": "user", "content": results_text(results)})
        return out

    def grammar(
        self, functions: Sequence[FunctionSpec], choice: ToolChoice, parallel: bool
    ) -> Grammar:
        builder = GrammarBuilder()
        body = _call_alternatives(builder, functions, choice, "arguments")
        call = builder.add(
            "call",
            f"{literal(OPENER + chr(10) + '{' + chr(34) + 'name' + chr(34) + ': ')} "
            f"{body} {literal('}' + chr(10) + CLOSER)}",
        )
        calls = f'{call} ( "\\n" {call} ){{0,{MAX_PARALLEL_CALLS - 1}}}' if parallel else call
        return _lazy(builder, calls, choice, OPENER)

    def parse(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        """The (name, arguments) calls in the model's output; empty: it wrote a message."""
        text = text.lstrip()
        if not text.startswith(OPENER):
            return []
        decoder = json.JSONDecoder()
        calls = []
        position = 0
        while text.startswith(OPENER, position):
            # Decode exactly one JSON object: argument strings may contain anything,
            # even "</tool_call>", so no pattern can find where the object ends.
            start = text.index("{", position + len(OPENER))
            payload, end = decoder.raw_decode(text, start)
            calls.append((str(payload["name"]), dict(payload.get("arguments") or {})))
            closer = text.find(CLOSER, end)
            if closer < 0:
                break
            position = closer + len(CLOSER)
            while position < len(text) and text[position].isspace():
                position += 1
        return calls


def results_text(results: list[str]) -> str:
    return "\n".join(results) + "\nUse these results to answer my request."


def tools_prompt(functions: Sequence[FunctionSpec]) -> str:
    listing = "\n".join(json.dumps(f.as_tool()) for f in functions)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        f"{listing}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments "
        "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


class Llama3Format(JsonCalls):
    """Llama 3.1+ JSON calls ``{"name": ..., "parameters": {...}}``, rendered by the template.

    Llama 3.x emits one call per turn, so ``parallel_tool_calls`` yields a single call.
    Results go back as ``tool`` messages, which the template shows as ``ipython`` turns.
    """

    opener = '{"name"'
    native = True

    def template_inputs(
        self, turns: Sequence[ChatMessage], functions: Sequence[FunctionSpec]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        return _native_inputs(turns, functions)

    def grammar(
        self, functions: Sequence[FunctionSpec], choice: ToolChoice, parallel: bool
    ) -> Grammar:
        builder = GrammarBuilder()
        body = _call_alternatives(builder, functions, choice, "parameters")
        call = builder.add("call", f'"{{\\"name\\": " {body} "}}"')
        return _lazy(builder, call, choice, self.opener)

    def parse(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        text = text.lstrip()
        if not text.startswith(self.opener):
            return []
        payload, _ = json.JSONDecoder().raw_decode(text)
        return [(str(payload["name"]), dict(payload.get("parameters") or {}))]


class MistralFormat(JsonCalls):
    """Mistral v0.3/Nemo/Small: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]``.

    Mistral's templates refuse call ids that are not nine letters or digits, so the
    template sees each call id folded to its last nine alphanumerics (the same for
    the call and its result); the API's ids are unchanged.
    """

    opener = "[TOOL_CALLS]"
    native = True

    def template_inputs(
        self, turns: Sequence[ChatMessage], functions: Sequence[FunctionSpec]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        return _native_inputs(turns, functions, mistral_call_id)

    def grammar(
        self, functions: Sequence[FunctionSpec], choice: ToolChoice, parallel: bool
    ) -> Grammar:
        builder = GrammarBuilder()
        body = _call_alternatives(builder, functions, choice, "arguments")
        call = builder.add("call", f'"{{\\"name\\": " {body} "}}"')
        more = f' ( ", " {call} ){{0,{MAX_PARALLEL_CALLS - 1}}}' if parallel else ""
        calls = f'{literal(self.opener)} " "? "[" {call}{more} "]"'
        return _lazy(builder, calls, choice, self.opener)

    def parse(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        text = text.lstrip()
        if not text.startswith(self.opener):
            return []
        start = text.index("[", len(self.opener))
        payload, _ = json.JSONDecoder().raw_decode(text, start)
        return [(str(call["name"]), dict(call.get("arguments") or {})) for call in payload]


def mistral_call_id(call_id: str) -> str:
    letters = "".join(char for char in call_id if char.isascii() and char.isalnum())
    return letters[-9:].rjust(9, "0")


def _arguments_schema(function: FunctionSpec) -> dict[str, Any]:
    schema = function.parameters or {"type": "object", "properties": {}}
    if function.strict and isinstance(schema, dict) and "additionalProperties" not in schema:
        schema = {**schema, "additionalProperties": False}
    return schema


ToolFormatChoice = HermesFormat | Llama3Format | MistralFormat | HarmonyFormat


def format_for_template(template: str, builtin: bool = False) -> ToolFormatChoice:
    """The tool format a chat template speaks: Hermes/Qwen, Llama 3.x, Mistral, or generic."""
    if builtin:
        return HermesFormat(native=False)  # llama.cpp's built-ins render plain roles only
    if is_harmony(template):
        return HarmonyFormat()
    if "[TOOL_CALLS]" in template and "tools" in template:
        return MistralFormat()
    if "tools" in template and OPENER in template and "tool_calls" in template:
        return HermesFormat(native=True)
    if "tools" in template and ("<|python_tag|>" in template or "ipython" in template):
        return Llama3Format()
    return HermesFormat(native=False)


def _loads(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
