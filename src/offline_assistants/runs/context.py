"""What the model sees for a run: instructions, then the thread, truncated to fit.

``truncation_strategy`` ``last_messages`` keeps the n most recent messages;
``auto`` drops the oldest messages until the prompt fits the budget
(``max_prompt_tokens``, or the context window less room to answer). Token
counts come from the engine's own tokenizer applied to the fully templated
prompt, so the budget is exact. ``None`` means even the newest message alone
does not fit: the run ends ``incomplete`` (``max_prompt_tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run

from ..engine import ChatMessage, Engine


@dataclass(frozen=True)
class Prompt:
    tokens: list[int]
    kept_messages: int
    dropped_messages: int


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


def answer_reserve(run: Run, context_length: int) -> int:
    """Tokens kept free for the answer when no ``max_prompt_tokens`` is set."""
    wanted = run.max_completion_tokens or 512
    return min(wanted, context_length // 2)


def build_prompt(
    engine: Engine, run: Run, additional_instructions: str | None, history: Sequence[Message]
) -> Prompt | None:
    system = system_text(run, additional_instructions)
    head = [ChatMessage("system", system)] if system else []
    turns = [ChatMessage(m.role, message_text(m)) for m in history]
    strategy = run.truncation_strategy
    if strategy is not None and strategy.type == "last_messages" and strategy.last_messages:
        turns = turns[-strategy.last_messages :]
    limit = engine.context_length - answer_reserve(run, engine.context_length)
    if run.max_prompt_tokens is not None:
        limit = min(limit, run.max_prompt_tokens)

    def render(start: int) -> list[int]:
        return engine.prompt_tokens([*head, *turns[start:]])

    tokens = render(0)
    if len(tokens) <= limit:
        return Prompt(tokens, len(turns), len(history) - len(turns))
    if strategy is not None and strategy.type == "last_messages" or len(turns) <= 1:
        return None
    # Fewest dropped messages that fit: prompt length only shrinks as `start` grows.
    low, high = 1, len(turns) - 1
    best: list[int] | None = None
    best_start = high
    while low <= high:
        middle = (low + high) // 2
        candidate = render(middle)
        if len(candidate) <= limit:
            best, best_start, high = candidate, middle, middle - 1
        else:
            low = middle + 1
    if best is None:
        return None
    kept = len(turns) - best_start
    return Prompt(best, kept, len(history) - kept)
