"""Start-up recovery: close what a killed process left open.

Runs found ``queued``, ``in_progress`` or ``cancelling`` when the runtime
starts cannot be executing (one process owns the database), so they become
``failed`` with ``last_error.code = "server_error"``; their in-progress
messages become ``incomplete`` (``run_failed``), holding all the text their
stream showed (``drafts``), and their in-progress steps ``failed``. ``requires_action`` runs wait for the caller and are left alone.
Nothing else is touched.
"""

from __future__ import annotations

import logging

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run

from ..store import Store
from .journal import RunJournal, now, updated

log = logging.getLogger(__name__)
INTERRUPTED = ("queued", "in_progress", "cancelling")
MESSAGE = "The runtime stopped (crashed or was killed) while this run was active."


def recover_interrupted_runs(store: Store, journal: RunJournal) -> list[str]:
    """Fail every run a previous process left active; returns their ids.

    A run whose rows cannot be read or updated is logged and left as it is: one damaged
    row must not keep the runtime from starting.
    """
    error = {"code": "server_error", "message": MESSAGE}
    recovered = []
    for run in store.runs.with_status(*INTERRUPTED):
        try:
            _fail(store, journal, run, error)
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("could not close interrupted run %s at start-up", run.id)
            continue
        recovered.append(run.id)
    return recovered


def with_streamed_text(message: Message, streamed: str | None) -> Message:
    """The message with all the text its stream showed (stored text lags by up to a second)."""
    stored = "".join(b.text.value for b in message.content if b.type == "text")
    if streamed is None or len(streamed) <= len(stored):
        return message
    return updated(
        message, content=[{"type": "text", "text": {"value": streamed, "annotations": []}}]
    )


def _fail(store: Store, journal: RunJournal, run: Run, error: dict[str, str]) -> None:
    with store.db.transaction():
        for step in store.steps.in_run(run.id):
            if step.status == "in_progress":
                journal.step_finished(step, "failed", last_error=error)
        for message in store.messages.in_thread(run.thread_id):
            if message.run_id == run.id and message.status == "in_progress":
                journal.message_finished(
                    run.id,
                    updated(
                        with_streamed_text(message, journal.drafts.read(message.id)),
                        status="incomplete",
                        incomplete_at=now(),
                        incomplete_details={"reason": "run_failed"},
                    ),
                )
        journal.transition(run.id, "failed", last_error=error)
