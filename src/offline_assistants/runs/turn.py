"""One model turn of a run: prompt → generation → either a message or function calls.

The turn streams text into an assistant message (opened on the first piece
that cannot be the start of a call) or, when the model opens a call, feeds
the calls to a :class:`~.call_steps.CallStep`, which shows them as they are
written; the grammar guarantees they parse and fit their schemas. A reasoning
model's reasoning (``<think>...</think>``, :mod:`~..engine.reasoning`) is kept
apart before any of that (``reasoning.py``): it streams as it comes, and the
message holds the answer only, the step it opens (the message's, or the calls')
the reasoning. It reports what happened; the executor decides what the run does
next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.run_step import RunStep

from ..config import Settings
from ..engine import Engine, FunctionSpec, Grammar, TokenStream
from ..engine.reply import ReplySplitter
from ..ids import new_id
from ..tools.code_interpreter import CODE_FUNCTION
from .call_steps import CallStep, StreamedCall
from .generation import sampling
from .journal import RunJournal, now, updated
from .reasoning import TurnReasoning
from .reasoning_summary import ReasoningSummarizer

Outcome = Literal["message", "calls", "length", "cancelled"]


class RuntimeShutDown(Exception):
    """The runtime is stopping: the current run ends as failed, saying so."""


@dataclass
class Draft:
    """The assistant message and its step while a turn writes them."""

    message: Message
    step: RunStep
    text: list[str] = field(default_factory=list)
    flushed_at: float = 0.0


@dataclass
class TurnResult:
    outcome: Outcome
    prompt_tokens: int
    completion_tokens: int
    draft: Draft | None = None
    calls: list[StreamedCall] = field(default_factory=list)
    call_step: CallStep | None = None  # the tool_calls step the model's calls went to
    reasoning: dict[str, Any] | None = None  # a reasoning model's, as its step keeps it
    reasoning_tokens: int = 0


@dataclass
class Turn:
    """Everything one generation needs; ``run`` is the run as it stands."""

    run: Run
    engine: Engine
    prompt: list[int]
    max_tokens: int
    grammar: Grammar | None
    functions: Sequence[FunctionSpec]
    penalties: tuple[float, float] = (0.0, 0.0)  # presence, frequency
    reasoning_budget: int | None = None  # runs/generation.reasoning_budget
    reasoning_summary: str | None = None  # the summary style asked for (reasoning_summary.py)
    on_start: Callable[[], None] | None = None  # the model started on it (a slot was free)
    servers: Mapping[str, str] = field(default_factory=dict)  # MCP tool → its server's label


class TurnRunner:
    def __init__(
        self,
        journal: RunJournal,
        settings: Settings,
        cancel_requested: Callable[[str], bool],
        stopping: Callable[[], bool],
    ) -> None:
        self.journal = journal
        self.settings = settings
        self.cancel_requested = cancel_requested
        self.stopping = stopping

    def run(self, turn: Turn, opened: list[Draft]) -> TurnResult:
        run = turn.run
        stream = turn.engine.generate(
            turn.prompt,
            max_tokens=turn.max_tokens,
            sampling=sampling(
                run.temperature,
                run.top_p,
                tools=bool(turn.functions),
                presence_penalty=turn.penalties[0],
                frequency_penalty=turn.penalties[1],
                reasoning_budget=turn.reasoning_budget,
            ),
            grammar=turn.grammar,
            cache_key=run.thread_id,
            stop=lambda: self.stopping() or self.cancel_requested(run.id),
        )
        stream.on_start = turn.on_start
        try:
            return self._read(turn, stream, opened)
        finally:
            stream.close()  # the model stops generating for this run at once

    def _read(self, turn: Turn, stream: TokenStream, opened: list[Draft]) -> TurnResult:
        run = turn.run
        calls_possible = bool(turn.functions) and turn.grammar is not None
        reply = ReplySplitter(turn.engine.tool_format.opener, calls_possible)
        draft: Draft | None = None
        calls: CallStep | None = None
        cancelled = False
        started = turn.on_start is None
        thinking = TurnReasoning(self.journal, run.id, stream, self._summarizer(turn))
        # Nothing but a message can come: its step and message are written while the
        # model reads the prompt (the stream says when it starts), not after the first
        # token, where they cost the first delta ~8 ms of database writes.
        early = not calls_possible and stream.reasoning is None and turn.reasoning_summary is None
        begin = stream.on_start

        def start() -> None:
            nonlocal draft, started
            fresh = None
            with self.journal.store.db.transaction():  # the run, its step, its message: one commit
                if begin is not None:
                    begin()
                if early and draft is None:
                    fresh = self._open_draft(run, None)
            started = True  # so the first piece does not begin the run again (a transaction)
            if fresh is not None:
                draft = fresh
                opened.append(fresh)

        stream.on_start = start
        for piece in stream:
            if not started and turn.on_start is not None:
                turn.on_start()  # (idempotent) for an engine that does not say when it starts
                started = True
            if self.stopping():
                raise RuntimeShutDown("The runtime shut down during this run.")
            if self.cancel_requested(run.id):
                cancelled = True
                break
            piece = thinking.answer(piece)
            if not piece:
                continue
            split = reply.feed(piece)
            if split.call:
                calls = calls or self._call_step(turn, thinking.details())
                calls.feed(split.call)  # shown call by call as it is written
            if reply.is_text and draft is None:
                draft = self._open_draft(run, thinking.details())
                opened.append(draft)
            if split.text and draft is not None:
                self._append(run.id, draft, split.text)
        if self.stopping():
            raise RuntimeShutDown("The runtime shut down during this run.")
        cancelled = cancelled or self.cancel_requested(run.id)  # ended while waiting for a slot
        result = TurnResult("message", len(turn.prompt), stream.completion_tokens, draft)
        result.call_step = calls
        thinking.finish()
        result.reasoning, result.reasoning_tokens = thinking.details(), thinking.tokens
        if cancelled:
            result.outcome = "cancelled"
        elif stream.finish_reason == "length":
            result.outcome = "length"
            if draft is None and calls is None and result.reasoning is not None:
                draft = self._open_draft(run, result.reasoning)  # reasoning, and no answer
                opened.append(draft)
                result.draft = draft
        elif draft is None and calls_possible:
            parsed = turn.engine.tool_format.parse(reply.held)
            if parsed:
                calls = calls or self._call_step(turn, result.reasoning)
                result.calls = calls.settle(parsed)
                result.call_step = calls
            result.outcome = "calls" if result.calls else "message"
        if result.outcome == "message" and draft is None:
            draft = self._open_draft(run, result.reasoning)  # an empty answer is a message
            opened.append(draft)
            if reply.held:
                self._append(run.id, draft, reply.held)
            result.draft = draft
        return result

    def _summarizer(self, turn: Turn) -> ReasoningSummarizer | None:
        if turn.reasoning_summary is None:
            return None
        run_id = turn.run.id
        return ReasoningSummarizer(
            turn.engine,
            turn.reasoning_summary,
            lambda: self.stopping() or self.cancel_requested(run_id),
        )

    def _call_step(self, turn: Turn, reasoning: dict[str, Any] | None) -> CallStep:
        scanner = turn.engine.tool_format.scanner(CODE_FUNCTION)
        return CallStep(self.journal, turn.run, reasoning, turn.servers, scanner)

    def _open_draft(self, run: Run, reasoning: dict[str, Any] | None) -> Draft:
        message_id = new_id("msg")
        created = now()
        step = RunStep.model_validate(
            {
                "id": new_id("step"),
                "assistant_id": run.assistant_id,
                "created_at": created,
                "object": "thread.run.step",
                "run_id": run.id,
                "thread_id": run.thread_id,
                "status": "in_progress",
                "type": "message_creation",
                "step_details": {
                    "type": "message_creation",
                    "message_creation": {"message_id": message_id},
                    **({} if reasoning is None else {"reasoning": reasoning}),
                },
            }
        )
        message = Message(
            id=message_id,
            assistant_id=run.assistant_id or None,  # None: a response's run
            attachments=[],
            content=[],
            created_at=created,
            metadata={},
            object="thread.message",
            role="assistant",
            run_id=run.id,
            status="in_progress",
            thread_id=run.thread_id,
        )
        with self.journal.store.db.transaction():
            self.journal.step_created(step)
            self.journal.message_created(run.id, message)
        return Draft(message, step, flushed_at=time.monotonic())

    def _append(self, run_id: str, draft: Draft, piece: str) -> None:
        draft.text.append(piece)
        self.journal.message_text(run_id, draft.message.id, piece)
        if time.monotonic() - draft.flushed_at >= self.settings.message_flush_interval:
            draft.message = with_text(draft.message, "".join(draft.text))
            self.journal.message_saved(draft.message)
            draft.flushed_at = time.monotonic()


def with_text(message: Message, text: str) -> Message:
    if not text and not message.content:
        return message
    return updated(message, content=[{"type": "text", "text": {"value": text, "annotations": []}}])
