"""The run loop: take one queued run to a final status, token by token.

    queued → in_progress → (message_creation step + assistant message) → generate →
        completed | incomplete (max tokens) | cancelled (cancel between tokens) | failed

The executor composes the store (through the journal), the engine and the
prompt builder; it owns no state beyond the run it is executing. Any exception
fails the run with ``last_error`` and closes its step and message, so no run
is ever left ``in_progress``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.message_delta_event import MessageDeltaEvent
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.runs.message_creation_step_details import (
    MessageCreation,
    MessageCreationStepDetails,
)
from openai.types.beta.threads.runs.run_step import RunStep

from ..config import Settings
from ..engine import (
    EngineCache,
    JsonObjectFormat,
    JsonSchemaFormat,
    OutputConstraint,
    Sampling,
    resolve_model,
)
from ..ids import new_id
from ..store import Store
from .context import build_prompt
from .journal import RunJournal, now, updated

log = logging.getLogger(__name__)


class RuntimeShutDown(Exception):
    """The worker is stopping: the current run ends as failed, saying so."""


@dataclass
class Draft:
    """The assistant message and its step while a run writes them."""

    message: Message
    step: RunStep
    text: list[str] = field(default_factory=list)
    flushed_at: float = 0.0


class RunExecutor:
    def __init__(
        self,
        store: Store,
        journal: RunJournal,
        engines: EngineCache,
        settings: Settings,
        cancel_requested: Callable[[str], bool],
        stopping: Callable[[], bool],
    ) -> None:
        self.store = store
        self.journal = journal
        self.engines = engines
        self.settings = settings
        self.cancel_requested = cancel_requested
        self.stopping = stopping

    def execute(self, run_id: str) -> None:
        run = self.journal.try_transition(run_id, "queued", "in_progress")
        if run is None:
            self._settle_unstarted(run_id)
            return
        opened: list[Draft] = []  # the draft, once there is one, for the failure path
        try:
            self._run(run, opened)
        except RuntimeShutDown as exc:
            self.fail(run_id, str(exc), opened[0] if opened else None)
        except Exception as exc:  # noqa: BLE001 - every failure must close the run
            log.exception("run %s failed", run_id)
            self.fail(run_id, f"{type(exc).__name__}: {exc}", opened[0] if opened else None)

    def shut_down(self, run_id: str) -> None:
        """Close a run the worker will never start because the runtime is stopping."""
        current = self.store.runs.get(run_id)
        if current is None:
            return
        if current.status == "cancelling":
            self.journal.transition(run_id, "cancelled")
        elif current.status == "queued":
            self.fail(run_id, "The runtime shut down before this run started.")

    def _settle_unstarted(self, run_id: str) -> None:
        current = self.store.runs.get(run_id)
        if current is not None and current.status == "cancelling":
            self.journal.transition(run_id, "cancelled")

    def _run(self, run: Run, opened: list[Draft]) -> None:
        engine = self.engines.get(resolve_model(run.model, self.settings))
        options = self.store.runs.options(run.id)
        history = self.store.messages.in_thread(run.thread_id)
        prompt = build_prompt(engine, run, options.additional_instructions, history)
        if prompt is None:
            self._finish(run.id, None, "incomplete", 0, 0, reason="max_prompt_tokens")
            return
        draft = self._open_draft(run)
        opened.append(draft)
        room = engine.context_length - len(prompt.tokens)
        max_tokens = min(run.max_completion_tokens or room, room)
        stream = engine.generate(
            prompt.tokens,
            max_tokens=max_tokens,
            sampling=Sampling(temperature=_or(run.temperature, 1.0), top_p=_or(run.top_p, 1.0)),
            constraint=output_constraint(run),
        )
        cancelled = False
        for piece in stream:
            if self.stopping():
                raise RuntimeShutDown("The runtime shut down during this run.")
            if self.cancel_requested(run.id):
                cancelled = True
                break
            if piece:
                self._append(run.id, draft, piece)
        usage = (len(prompt.tokens), stream.completion_tokens)
        if cancelled:
            self._finish(run.id, draft, "cancelled", *usage)
        elif stream.finish_reason == "length":
            self._finish(run.id, draft, "incomplete", *usage, reason="max_completion_tokens")
        else:
            self._finish(run.id, draft, "completed", *usage)

    def _open_draft(self, run: Run) -> Draft:
        message_id = new_id("msg")
        created = now()
        step = RunStep(
            id=new_id("step"),
            assistant_id=run.assistant_id,
            created_at=created,
            object="thread.run.step",
            run_id=run.id,
            thread_id=run.thread_id,
            status="in_progress",
            type="message_creation",
            step_details=MessageCreationStepDetails(
                type="message_creation", message_creation=MessageCreation(message_id=message_id)
            ),
        )
        message = Message(
            id=message_id,
            assistant_id=run.assistant_id,
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
        with self.store.db.transaction():
            self.journal.step_created(step)
            self.journal.message_created(run.id, message)
        return Draft(message, step, flushed_at=time.monotonic())

    def _append(self, run_id: str, draft: Draft, piece: str) -> None:
        draft.text.append(piece)
        if self.journal.bus.wanted(run_id, "thread.message.delta"):
            delta = MessageDeltaEvent.model_validate(
                {
                    "id": draft.message.id,
                    "object": "thread.message.delta",
                    "delta": {"content": [{"index": 0, "type": "text", "text": {"value": piece}}]},
                }
            )
            self.journal.message_delta(run_id, delta)
        if time.monotonic() - draft.flushed_at >= self.settings.message_flush_interval:
            draft.message = _with_text(draft.message, "".join(draft.text))
            self.journal.message_saved(draft.message)
            draft.flushed_at = time.monotonic()

    def _finish(
        self,
        run_id: str,
        draft: Draft | None,
        status: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        reason: str | None = None,
    ) -> None:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        with self.store.db.transaction():
            if draft is not None:
                self._close_draft(run_id, draft, status, usage)
            run_fields: dict[str, object] = {"usage": usage}
            if status == "incomplete":
                run_fields["incomplete_details"] = {"reason": reason}
            current = self.store.runs.get(run_id)
            if status == "cancelled" and current is not None and current.status == "in_progress":
                self.journal.transition(run_id, "cancelling")
            self.journal.transition(run_id, status, **run_fields)  # type: ignore[arg-type]

    def _close_draft(self, run_id: str, draft: Draft, status: str, usage: dict[str, int]) -> None:
        message = _with_text(draft.message, "".join(draft.text))
        if status == "completed":
            message = updated(message, status="completed", completed_at=now())
        else:
            why = {"cancelled": "run_cancelled", "incomplete": "max_tokens"}.get(
                status, "run_failed"
            )
            message = updated(
                message,
                status="incomplete",
                incomplete_at=now(),
                incomplete_details={"reason": why},
            )
        draft.message = message
        self.journal.message_finished(run_id, message)
        step_status = {"cancelled": "cancelled", "failed": "failed"}.get(status, "completed")
        draft.step = self.journal.step_finished(draft.step, step_status, usage=usage)

    def fail(self, run_id: str, reason: str, draft: Draft | None = None) -> None:
        """Close the run as failed with ``last_error``; never raises."""
        error = {"code": "server_error", "message": reason}
        try:
            with self.store.db.transaction():
                if draft is not None and draft.message.status == "in_progress":
                    message = updated(
                        _with_text(draft.message, "".join(draft.text)),
                        status="incomplete",
                        incomplete_at=now(),
                        incomplete_details={"reason": "run_failed"},
                    )
                    self.journal.message_finished(run_id, message)
                    self.journal.step_finished(draft.step, "failed", last_error=error)
                self.journal.transition(run_id, "failed", last_error=error)
        except Exception:  # noqa: BLE001
            log.exception("could not record the failure of run %s", run_id)


def output_constraint(run: Run) -> OutputConstraint | None:
    fmt = run.response_format
    if fmt is None or isinstance(fmt, str):
        return None
    if fmt.type == "json_object":
        return JsonObjectFormat()
    if fmt.type == "json_schema":
        return JsonSchemaFormat(dict(fmt.json_schema.schema_ or {}))
    return None


def _with_text(message: Message, text: str) -> Message:
    if not text and not message.content:
        return message
    return updated(message, content=[{"type": "text", "text": {"value": text, "annotations": []}}])


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
