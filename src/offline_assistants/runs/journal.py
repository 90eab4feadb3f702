"""The run journal: every change to a run, its steps and its message is persisted, then published.

Callers (the run service and the executor) never write runs, steps or
run-created messages directly; they go through the journal so that the
store (what polling sees) and the event bus (what waiters and streams see)
always tell the same story, and every status change obeys the state table.
An event goes out only once the transaction that wrote it has committed (in
order, through ``Database.after_commit``); if it rolls back, nobody hears of
it. Deltas write nothing: outside a transaction they go out at once, inside
one after the events before them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.message_delta_event import MessageDeltaEvent
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.run_status import RunStatus
from openai.types.beta.threads.runs.run_step import RunStep
from openai.types.beta.threads.runs.run_step_delta_event import RunStepDeltaEvent
from pydantic import BaseModel

from ..errors import NotFoundError
from ..ids import new_id
from ..store import Store
from .drafts import DraftLog
from .events import (
    REASONING_DELTA,
    REASONING_SUMMARY_DELTA,
    EventBus,
    ReasoningDelta,
    ReasoningSummaryDelta,
)
from .states import check_transition

# The timestamp field a run gets when it enters a status.
_RUN_STAMPS: dict[str, str] = {
    "in_progress": "started_at",
    "completed": "completed_at",
    "failed": "failed_at",
    "cancelled": "cancelled_at",
    "incomplete": "completed_at",
}
_STEP_STAMPS: dict[str, str] = {
    "completed": "completed_at",
    "failed": "failed_at",
    "cancelled": "cancelled_at",
    "expired": "expired_at",
}


M = TypeVar("M", bound=BaseModel)


def now() -> int:
    return int(time.time())


def updated(obj: M, /, **fields: Any) -> M:
    """A validated copy of ``obj`` with ``fields`` replaced (dicts become the nested types)."""
    return type(obj).model_validate({**obj.model_dump(by_alias=True), **fields})


def tool_calls_step(run: Run, calls: list[dict[str, Any]], usage: dict[str, int] | None) -> RunStep:
    """An in-progress tool_calls step of ``run`` holding ``calls`` (wire dicts)."""
    return RunStep.model_validate(
        {
            "id": new_id("step"),
            "object": "thread.run.step",
            "assistant_id": run.assistant_id,
            "created_at": now(),
            "run_id": run.id,
            "thread_id": run.thread_id,
            "status": "in_progress",
            "type": "tool_calls",
            "step_details": {"type": "tool_calls", "tool_calls": calls},
            "usage": usage,
        }
    )


class RunJournal:
    def __init__(self, store: Store, bus: EventBus, drafts: DraftLog) -> None:
        self.store = store
        self.bus = bus
        self.drafts = drafts

    def _committed(self, run_id: str, event: str, data: BaseModel) -> None:
        """Publish once what the current transaction wrote is committed (at once outside one)."""
        self.store.db.after_commit(lambda: self.bus.publish(run_id, event, data))

    # -- runs ------------------------------------------------------------------------------

    def run_created(self, run: Run) -> None:
        self._committed(run.id, "thread.run.created", run)

    def run_queued(self, run: Run) -> None:
        self._committed(run.id, "thread.run.queued", run)

    def transition(self, run_id: str, status: RunStatus, **fields: Any) -> Run:
        """Move the run to ``status`` (checked against the state table) and set ``fields``."""
        with self.store.db.transaction():
            current = self.store.runs.get(run_id)
            if current is None:
                raise NotFoundError(f"No run found with id '{run_id}'.")
            check_transition(current.status, status)
            stamp = _RUN_STAMPS.get(status)
            if stamp is not None and stamp not in fields:
                fields[stamp] = now()
            run = updated(current, status=status, **fields)
            self.store.runs.update(run)
        self._committed(run.id, f"thread.run.{status}", run)
        return run

    def try_transition(self, run_id: str, expected: RunStatus, status: RunStatus) -> Run | None:
        """Transition only if the run is still ``expected`` (races with cancel); else None."""
        with self.store.db.transaction():
            current = self.store.runs.get(run_id)
            if current is None or current.status != expected:
                return None
            return self.transition(run_id, status)

    # -- steps -----------------------------------------------------------------------------

    def step_created(self, step: RunStep, announce: RunStep | None = None) -> None:
        """Store ``step``; publish ``announce`` instead when the stream must build it up
        from deltas (a tool_calls step is announced empty, its calls follow as a delta)."""
        self.store.steps.insert(step)
        self._committed(step.run_id, "thread.run.step.created", announce or step)
        self._committed(step.run_id, "thread.run.step.in_progress", announce or step)

    def tool_calls_started(self, step: RunStep, calls: list[dict[str, Any]]) -> None:
        """Store a new tool_calls step whose calls are known at once (file_search): streams
        see it arrive empty and its calls follow as one delta, as the API sends them."""
        empty = updated(step, step_details={"type": "tool_calls", "tool_calls": []})
        self.step_created(step, announce=empty)
        self.tool_calls_delta(step, [{**call, "index": i} for i, call in enumerate(calls)])

    def step_saved(self, step: RunStep) -> None:
        """Store what a step holds so far (streams were told through deltas)."""
        self.store.steps.update(step)

    def tool_calls_delta(self, step: RunStep, tool_calls: list[dict[str, Any]]) -> None:
        """Publish a ``thread.run.step.delta`` of ``tool_calls`` (each with its ``index``)."""
        if not self.bus.wanted(step.run_id, "thread.run.step.delta"):
            return
        event = RunStepDeltaEvent.model_validate(
            {
                "id": step.id,
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": tool_calls}},
            }
        )
        self._committed(step.run_id, "thread.run.step.delta", event)

    def step_finished(
        self,
        step: RunStep,
        status: str,
        shown: Callable[[RunStep], RunStep] | None = None,
        **fields: Any,
    ) -> RunStep:
        """Store the finished step; streams get ``shown(step)`` when given (e.g. without
        search result content the run did not ``include``)."""
        stamp = _STEP_STAMPS.get(status)
        if stamp is not None:
            fields.setdefault(stamp, now())
        step = updated(step, status=status, **fields)
        self.store.steps.update(step)
        self._committed(step.run_id, f"thread.run.step.{status}", shown(step) if shown else step)
        return step

    def close_open_steps(self, run_id: str, status: str, **fields: Any) -> list[RunStep]:
        """Finish every in-progress step of the run with ``status`` (failed, cancelled, ...)."""
        return [
            self.step_finished(step, status, **fields)
            for step in self.store.steps.in_run(run_id)
            if step.status == "in_progress"
        ]

    # -- messages --------------------------------------------------------------------------

    def message_created(self, run_id: str, message: Message) -> None:
        self.store.messages.insert(message)
        self._committed(run_id, "thread.message.created", message)
        self._committed(run_id, "thread.message.in_progress", message)

    def message_text(self, run_id: str, message_id: str, piece: str) -> None:
        """Text the model added to the message: kept on disk (``drafts``), then streamed."""
        self.drafts.append(message_id, piece)
        if self.bus.wanted(run_id, "thread.message.delta"):
            delta = MessageDeltaEvent.model_validate(
                {
                    "id": message_id,
                    "object": "thread.message.delta",
                    "delta": {"content": [{"index": 0, "type": "text", "text": {"value": piece}}]},
                }
            )
            self._committed(run_id, "thread.message.delta", delta)

    def reasoning_text(self, run_id: str, item_id: str, piece: str) -> None:
        """Reasoning the model wrote, streamed; the whole is stored with the step it precedes."""
        if self.bus.wanted(run_id, REASONING_DELTA):
            self._committed(run_id, REASONING_DELTA, ReasoningDelta(id=item_id, delta=piece))

    def reasoning_summary_text(self, run_id: str, item_id: str, piece: str) -> None:
        """The summary of a reasoning, streamed; stored with the reasoning on its step."""
        if self.bus.wanted(run_id, REASONING_SUMMARY_DELTA):
            delta = ReasoningSummaryDelta(id=item_id, delta=piece)
            self._committed(run_id, REASONING_SUMMARY_DELTA, delta)

    def message_saved(self, message: Message) -> None:
        """Persist the growing message so polling readers see the text so far."""
        self.store.messages.update(message)

    def message_finished(self, run_id: str, message: Message) -> None:
        self.store.messages.update(message)
        self.store.db.after_commit(lambda: self.drafts.discard(message.id))
        self._committed(run_id, f"thread.message.{message.status}", message)
