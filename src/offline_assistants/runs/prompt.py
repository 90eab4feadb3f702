"""What the model sees for a run: instructions, the tools, then the thread, truncated to fit.

The conversation is the thread's messages interleaved, in creation order, with
the tool calls earlier runs (and this one) made and the outputs they got
(function outputs as submitted, Code Interpreter output shortened to its head
and tail).
A call and its outputs form one unit, never split by truncation.

``truncation_strategy`` ``last_messages`` keeps the n most recent messages (and
the tool units after them); ``auto`` drops the oldest units until the prompt
fits the budget (``max_prompt_tokens``, or the context window less room to
answer). Token counts come from the engine's own tokenizer applied to the
fully templated prompt, so the budget is exact. ``None`` means even the newest
unit alone does not fit: the run ends ``incomplete`` (``max_prompt_tokens``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.run_step import RunStep

from ..engine import ChatMessage, Engine, FunctionSpec, ToolCall
from ..tools.code_interpreter import CODE_FUNCTION
from .code_calls import prompt_output
from .reasoning import kept_reasoning

Unit = tuple[ChatMessage, ...]


@dataclass(frozen=True)
class Prompt:
    tokens: list[int]


def message_text(message: Message) -> str:
    """A message's content as plain text: text blocks joined, other blocks named in brackets."""
    parts: list[str] = []
    for block in message.content:
        if block.type == "text":
            parts.append(block.text.value)
        elif block.type == "refusal":
            parts.append(block.refusal)
        else:
            parts.append(f"[{block.type.replace('_', ' ')}]")
    return "\n".join(parts)


def system_text(run: Run, additional_instructions: str | None) -> str:
    return "\n\n".join(part for part in (run.instructions, additional_instructions) if part)


def tool_unit(step: RunStep) -> Unit:
    """A tool_calls step as turns: the assistant's calls, then one tool turn per output."""
    details = step.step_details
    if details.type != "tool_calls":
        return ()
    calls: list[ToolCall] = []
    outputs: list[ChatMessage] = []
    for call in details.tool_calls:
        if call.type == "function":
            calls.append(ToolCall(call.id, call.function.name, call.function.arguments))
            if call.function.output is not None:
                outputs.append(
                    ChatMessage(
                        "tool", call.function.output, tool_call_id=call.id, name=call.function.name
                    )
                )
        elif call.type == "code_interpreter":
            code = call.code_interpreter
            calls.append(ToolCall(call.id, CODE_FUNCTION, json.dumps({"code": code.input})))
            if step.status == "completed":
                outputs.append(
                    ChatMessage(
                        "tool",
                        prompt_output(code.outputs),
                        tool_call_id=call.id,
                        name=CODE_FUNCTION,
                    )
                )
    if not calls:
        return ()
    thought = step_reasoning(step)
    return (ChatMessage("assistant", tool_calls=tuple(calls), reasoning=thought), *outputs)


def step_reasoning(step: RunStep) -> str | None:
    """The reasoning a step keeps (``runs/reasoning.py``), as text; None: it keeps none."""
    kept = kept_reasoning(step)
    if kept is None:
        return None
    return "".join(part.get("text", "") for part in kept.get("content") or [])


def conversation(
    messages: Sequence[tuple[int, Message]], steps: Sequence[tuple[int, RunStep]], run_id: str
) -> list[tuple[bool, Unit]]:
    """Units in creation order, each flagged True when it is a message (an assistant
    message with the reasoning its step keeps, for the template to keep or drop)."""
    thoughts = {
        step.step_details.message_creation.message_id: step_reasoning(step)
        for _, step in steps
        if step.step_details.type == "message_creation"
    }
    items: list[tuple[int, bool, Unit]] = [
        (seq, True, (ChatMessage(m.role, message_text(m), reasoning=thoughts.get(m.id)),))
        for seq, m in messages
    ]
    for seq, step in steps:
        if step.type == "tool_calls" and (step.status == "completed" or step.run_id == run_id):
            items.append((seq, False, tool_unit(step)))
    items.sort(key=lambda item: item[0])
    return [(is_message, unit) for _, is_message, unit in items]


def answer_reserve(run: Run, context_length: int) -> int:
    """Tokens kept free for the answer when no ``max_prompt_tokens`` is set."""
    wanted = run.max_completion_tokens or 512
    return min(wanted, context_length // 2)


def build_prompt(
    engine: Engine,
    run: Run,
    additional_instructions: str | None,
    history: Sequence[tuple[bool, Unit]],
    functions: Sequence[FunctionSpec] = (),
    effort: str | None = None,
) -> Prompt | None:
    system = system_text(run, additional_instructions)
    head = [ChatMessage("system", system)] if system else []
    units = list(history)
    strategy = run.truncation_strategy
    last_messages = strategy is not None and strategy.type == "last_messages"
    if last_messages and strategy is not None and strategy.last_messages:
        message_positions = [i for i, (is_message, _) in enumerate(units) if is_message]
        if len(message_positions) > strategy.last_messages:
            units = units[message_positions[-strategy.last_messages] :]
    limit = engine.context_length - answer_reserve(run, engine.context_length)
    if run.max_prompt_tokens is not None:
        limit = min(limit, run.max_prompt_tokens)

    def render(start: int) -> list[int]:
        turns = [turn for _, unit in units[start:] for turn in unit]
        return engine.prompt_tokens([*head, *turns], functions, effort)

    tokens = render(0)
    if len(tokens) <= limit:
        return Prompt(tokens)
    if last_messages or len(units) <= 1:
        return None
    # Fewest dropped units that fit: the prompt only shrinks as `start` grows.
    low, high = 1, len(units) - 1
    best: list[int] | None = None
    while low <= high:
        middle = (low + high) // 2
        candidate = render(middle)
        if len(candidate) <= limit:
            best, high = candidate, middle - 1
        else:
            low = middle + 1
    return None if best is None else Prompt(best)
