"""From an API's generation settings to the engine's terms: one translation for runs,
Responses and Chat Completions.

The APIs name the same few things apart (temperature and top_p on an assistant or a
run, on a response, on a chat completion; ``response_format``, ``text.format``; function
tools in three envelopes). Once the service has checked a request, the run executor
(which Responses run through too) and :mod:`~offline_assistants.service.chat_completions`
ask here for what the engine generates with:

- :func:`sampling`: the API's defaults (temperature and top_p 1) and the guards against
  runaway text that every generation gets;
- :func:`function_specs`: function tools as the engine's :class:`FunctionSpec`;
- :func:`output_grammar`: the grammar that makes tool calls parse and fit their
  schemas, else the one a response format asks for (:func:`format_grammar`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..engine import Engine, FunctionSpec, Grammar, Sampling, ToolChoice
from ..engine.grammar import GrammarBuilder, literal

# A mild penalty on recently used tokens while tools are on offer: small models otherwise
# loop inside argument strings. Validity comes from the grammar, not from this.
TOOL_CALL_REPEAT_PENALTY = 1.1
# Against runaway answers (README, "Runs end"): when sampling, tokens below 5% of the
# likeliest one's probability are never drawn (llama.cpp's default min-p: the tail is
# where a small model derails into noise); free text gets DRY's repetition penalty
# (llama.cpp's suggested 0.8) and is ended if it still falls into a repeating cycle.
MIN_P = 0.05
DRY_MULTIPLIER = 0.8
STOP_LOOPS = True


def sampling(
    temperature: float | None,
    top_p: float | None,
    *,
    tools: bool,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    seed: int | None = None,
    reasoning_budget: int | None = None,
) -> Sampling:
    """How tokens are drawn: the checked values, the API's default where one is None."""
    return Sampling(
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        seed=None if seed is None else seed % (1 << 32),
        repeat_penalty=TOOL_CALL_REPEAT_PENALTY if tools else 1.0,
        presence_penalty=presence_penalty or 0.0,
        frequency_penalty=frequency_penalty or 0.0,
        min_p=MIN_P,
        dry_multiplier=DRY_MULTIPLIER,
        stop_loops=STOP_LOOPS,
        reasoning_budget=reasoning_budget,
    )


def reasoning_budget(effort: str | None, configured: int | None) -> int | None:
    """A reasoning model's reasoning tokens for ``effort`` (the APIs' ``reasoning_effort``):
    none or minimal turn its thinking off (the closing tag is written for it at once, as
    Qwen3's template does with ``enable_thinking`` off); otherwise the ``configured`` one."""
    return 0 if effort in ("none", "minimal") else configured


def function_specs(tools: Iterable[Any]) -> list[FunctionSpec]:
    """The function tools among ``tools`` (the SDK's models, any of the APIs' envelopes
    with ``type`` and ``function``) as the engine's specs, in order."""
    return [
        FunctionSpec(
            name=tool.function.name,
            description=tool.function.description,
            parameters=dict(tool.function.parameters) if tool.function.parameters else None,
            strict=bool(tool.function.strict),
        )
        for tool in tools
        if tool.type == "function"
    ]


def output_grammar(
    engine: Engine,
    functions: Sequence[FunctionSpec],
    choice: ToolChoice,
    parallel: bool,
    response_format: Any,
) -> Grammar | None:
    """The grammar a generation runs under: the tool format's, where functions are on
    offer (calls parse and fit their schemas), else the response format's."""
    if functions:
        return engine.tool_format.grammar(list(functions), choice, parallel)
    return format_grammar(response_format, engine.tool_format.answer_prefix)


def format_grammar(fmt: Any, prefix: str = "") -> Grammar | None:
    """The grammar a ``response_format`` (the SDK's shared model, or "auto") asks for;
    ``prefix``: what the answer begins with in the model's format (Harmony's final header)."""
    if fmt is None or isinstance(fmt, str) or fmt.type == "text":
        return None
    builder = GrammarBuilder()
    if fmt.type == "json_object":
        root = builder.primitive("object")
    else:
        schema = fmt.json_schema.schema_ or {}
        root = builder.schema(dict(schema), "response", strict=bool(fmt.json_schema.strict))
    return Grammar(builder.render(f"{literal(prefix)} {root}" if prefix else root))
