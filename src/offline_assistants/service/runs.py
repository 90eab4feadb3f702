"""Runs: create (and create_and_run), retrieve, update (metadata), list, cancel.

``create`` validates everything, stores a ``queued`` run (plus any
``additional_messages``) in one transaction, hands the id to the scheduler and
returns at once. Execution lives in :mod:`offline_assistants.runs`.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol

from openai.types.beta.thread_create_and_run_params import ThreadCreateAndRunParamsBase
from openai.types.beta.threads.message import Message
from openai.types.beta.threads.run import Run
from openai.types.beta.threads.run_create_params import RunCreateParamsBase
from openai.types.beta.threads.run_submit_tool_outputs_params import (
    RunSubmitToolOutputsParamsBase,
)
from openai.types.beta.threads.run_update_params import RunUpdateParams

from ..config import Settings
from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs import RunJournal
from ..runs.events import EventFilter, Subscription, api_events
from ..runs.journal import now, updated
from ..store import RunOptions, Slice, Store
from .checks.effort import check_effort
from .checks.params import check_params
from .checks.tool_outputs import check_tool_outputs
from .checks.validation import (
    check_list_params,
    check_metadata,
    check_text,
)
from .run_params import additional_messages, check_include, run_fields
from .threads import ThreadService


class RunQueue(Protocol):
    def submit(self, run_id: str) -> None: ...
    def request_cancel(self, run_id: str) -> None: ...


class RunService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        journal: RunJournal,
        queue: RunQueue,
        threads: ThreadService,
    ) -> None:
        self.store = store
        self.settings = settings
        self.journal = journal
        self.queue = queue
        self.threads = threads

    def create(self, thread_id: str, params: Mapping[str, Any]) -> Run:
        return self._create(thread_id, params, watch=False)[0]

    def create_watched(self, thread_id: str, params: Mapping[str, Any]) -> tuple[Run, Subscription]:
        """``create``, with a subscription to the run's events opened before any is published."""
        run, subscription = self._create(thread_id, params, watch=True)
        assert subscription is not None
        return run, subscription

    def _create(
        self, thread_id: str, params: Mapping[str, Any], watch: bool
    ) -> tuple[Run, Subscription | None]:
        run, options, extra_messages = self._build(
            thread_id, check_params(RunCreateParamsBase, params)
        )
        with self.store.db.transaction():
            if self.store.threads.get(thread_id) is None:
                raise NotFoundError(f"No thread found with id '{thread_id}'.", param="thread_id")
            active = self.store.runs.active_in_thread(thread_id)
            if active is not None:
                raise ConflictError(
                    f"Thread {thread_id} already has an active run {active.id}.", param="thread_id"
                )
            self.threads.add_messages(thread_id, extra_messages)
            self.store.runs.insert(run, options)
        return self._enqueue(run, watch)

    def create_and_run(self, params: Mapping[str, Any]) -> Run:
        return self._create_and_run(params, watch=False)[0]

    def create_and_run_watched(self, params: Mapping[str, Any]) -> tuple[Run, Subscription]:
        run, subscription = self._create_and_run(params, watch=True)
        assert subscription is not None
        return run, subscription

    def _create_and_run(
        self, params: Mapping[str, Any], watch: bool
    ) -> tuple[Run, Subscription | None]:
        p = check_params(ThreadCreateAndRunParamsBase, params)
        thread_params = p.pop("thread", None) or {}
        resources = p.pop("tool_resources", None)
        if resources:  # the run's tool_resources are the new thread's
            thread_params = {**thread_params, "tool_resources": resources}
        new_thread, messages = self.threads.build(thread_params)
        run, options, extra = self._build(new_thread.id, p)
        with self.store.db.transaction():
            self.threads.store_new(new_thread, [*messages, *extra])
            self.store.runs.insert(run, options)
        return self._enqueue(run, watch)

    def _enqueue(self, run: Run, watch: bool) -> tuple[Run, Subscription | None]:
        subscription = self.journal.bus.open(run.id, api_events) if watch else None
        self.enqueue(run)
        return run, subscription

    def enqueue(self, run: Run) -> None:
        """Announce a stored ``queued`` run and hand it to the scheduler."""
        self.journal.run_created(run)
        self.journal.run_queued(run)
        self.queue.submit(run.id)

    def retrieve(self, run_id: str, *, thread_id: str) -> Run:
        run = self.store.runs.get(run_id, thread_id)
        if run is None:
            raise NotFoundError(f"No run found with id '{run_id}'.", param="run_id")
        return run

    def update(self, run_id: str, *, thread_id: str, params: Mapping[str, Any]) -> Run:
        p = check_params(RunUpdateParams, params, path=("thread_id",))
        checked = check_metadata(p.get("metadata"))
        with self.store.db.transaction():
            run = updated(self.retrieve(run_id, thread_id=thread_id), metadata=checked)
            self.store.runs.update(run)
        return run

    def list(
        self,
        thread_id: str,
        *,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        before: Any = None,
    ) -> Slice[Run]:
        params = check_list_params(limit, order, after, before)
        self.threads.retrieve(thread_id)
        return self.store.runs.page(
            thread_id,
            limit=params.limit,
            order=params.order,
            after=params.after,
            before=params.before,
        )

    def cancel(self, run_id: str, *, thread_id: str) -> Run:
        with self.store.db.transaction():
            run = self.retrieve(run_id, thread_id=thread_id)
            if run.status == "cancelling":
                return run
            if run.status not in ("queued", "in_progress", "requires_action"):
                raise InvalidRequestError(
                    f"Cannot cancel run with status '{run.status}'.", param="run_id"
                )
            executing = run.status == "in_progress"
            run = self.journal.transition(run_id, "cancelling")
            if not executing:  # nothing is generating: the cancel completes now
                self.journal.close_open_steps(run_id, "cancelled")
                run = self.journal.transition(run_id, "cancelled", required_action=None)
        if executing:
            self.queue.request_cancel(run_id)
        return run

    def submit_tool_outputs(self, run_id: str, *, thread_id: str, params: Mapping[str, Any]) -> Run:
        """Record the outputs of the calls a run is waiting for, and resume it."""
        return self._submit(run_id, thread_id, params, watch=None)[0]

    def submit_tool_outputs_watched(
        self,
        run_id: str,
        *,
        thread_id: str,
        params: Mapping[str, Any],
        wants: EventFilter = api_events,
        mcp: Mapping[str, dict[str, Any]] | None = None,
    ) -> tuple[Run, Subscription]:
        """As :meth:`submit_tool_outputs`, with the run's events (those ``wants``) from then on;
        ``mcp``: call id → what to keep beside an MCP call answered by an approval."""
        run, subscription = self._submit(run_id, thread_id, params, watch=wants, mcp=mcp)
        assert subscription is not None
        return run, subscription

    def _submit(
        self,
        run_id: str,
        thread_id: str,
        params: Mapping[str, Any],
        watch: EventFilter | None,
        mcp: Mapping[str, dict[str, Any]] | None = None,
    ) -> tuple[Run, Subscription | None]:
        tool_outputs = check_params(RunSubmitToolOutputsParamsBase, params, path=("thread_id",))[
            "tool_outputs"
        ]
        with self.store.db.transaction():
            run = self.retrieve(run_id, thread_id=thread_id)
            if run.status == "requires_action" and (run.expires_at or 0) <= now():
                self.journal.close_open_steps(run_id, "expired")
                self.journal.transition(run_id, "expired", required_action=None)
        with self.store.db.transaction():
            run = self.retrieve(run_id, thread_id=thread_id)
            if run.status != "requires_action" or run.required_action is None:
                raise InvalidRequestError(
                    f"Runs in status '{run.status}' do not accept tool outputs.", param="run_id"
                )
            pending = [c.id for c in run.required_action.submit_tool_outputs.tool_calls]
            outputs = check_tool_outputs(tool_outputs, pending)
            step = next(
                s
                for s in reversed(self.store.steps.in_run(run_id))
                if s.type == "tool_calls" and s.status == "in_progress"
            )
            details = step.step_details.model_dump(by_alias=True)
            for call in details["tool_calls"]:
                # Code and MCP calls in the same step have their outputs already.
                if call["type"] == "function" and call["id"] in outputs:
                    call["function"]["output"] = outputs[call["id"]]
                if mcp and call["id"] in mcp:
                    call["mcp"] = {**call.get("mcp", {}), **mcp[call["id"]]}
            subscription = self.journal.bus.open(run_id, watch) if watch else None
            self.journal.step_finished(step, "completed", step_details=details)
            run = self.journal.transition(run_id, "in_progress", required_action=None)
        self.queue.submit(run_id)
        return run, subscription

    def _build(
        self, thread_id: str, params: dict[str, Any]
    ) -> tuple[Run, RunOptions, builtins.list[Message]]:
        """A queued run from checked parameters (``RunCreateParams`` or the run part of
        ``ThreadCreateAndRunParams``), with the messages it adds; nothing stored yet."""
        p = {key: value for key, value in params.items() if value is not None}
        assistant_id = p.pop("assistant_id")
        assistant = self.store.assistants.get(assistant_id)
        if assistant is None:
            raise NotFoundError(
                f"No assistant found with id '{assistant_id}'.", param="assistant_id"
            )
        fields = run_fields(assistant, p, self.settings)
        options = RunOptions(
            additional_instructions=check_text(
                p.get("additional_instructions"), "additional_instructions", 256_000
            ),
            include=check_include(p.get("include", [])),
            # Asked of the run: checked against its model (an assistant's, when it was made).
            reasoning_effort=check_effort(
                p.get("reasoning_effort"), fields["model"], self.settings, "reasoning_effort"
            )
            or (assistant.model_extra or {}).get("reasoning_effort"),
        )
        extra = additional_messages(
            thread_id, p.get("additional_messages", []), self.store.files.exists
        )
        run = queued_run(thread_id, assistant.id, fields, self.settings)
        return run, options, extra


def queued_run(
    thread_id: str, assistant_id: str, fields: Mapping[str, Any], settings: Settings
) -> Run:
    """A new run, queued, made with ``fields`` (checked settings: model, instructions,
    tools...). ``assistant_id`` is "" for a response's run, which no assistant makes (the
    response it answers is in its :class:`RunOptions`)."""
    created = now()
    return Run.model_validate(
        {
            "id": new_id("run"),
            "object": "thread.run",
            "created_at": created,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "status": "queued",
            "expires_at": created + settings.run_expiry_seconds,
            "usage": None,
            **fields,
        }
    )
