"""Responses: create (whole, background or streamed), retrieve, delete, cancel, input items.

A response runs as a run of the Assistants executor, in a thread:

- ``conversation=`` → that conversation's thread (a conversation *is* a thread
  whose id starts ``conv_``, so ``beta.threads`` can read it too);
- ``previous_response_id=`` → the previous response's thread, when that response
  is the latest there and not a conversation's; otherwise (a branch) a copy of
  its history in a new thread;
- neither → a new thread of its own.

The input goes into the thread (``response_input.py``) and a run starts with
the response's settings (``response_request.py``). When a run stops for
function calls, its response is ``completed`` with ``function_call`` items; the
next request's ``function_call_output`` items are that run's tool outputs, and
the new response is the rest of the same run (so prefix reuse, the code
session and file_search results carry on). Output, status and usage are read
from the thread on every retrieve (``response_views.py``). ``store=False``
removes the response (and a thread of its own) once it has settled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from openai.types.beta.threads.run import Run
from openai.types.responses.response import Response
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from openai.types.responses.response_stream_event import ResponseStreamEvent

from ..config import Settings
from ..errors import ConflictError, InvalidRequestError, NotFoundError
from ..ids import new_id
from ..runs import RunJournal
from ..runs.events import Subscription, until_settled
from ..runs.journal import now, tool_calls_step, updated
from ..store import ResponseRecord, RunOptions, Store
from .messages import new_user_message
from .params import check_params
from .response_events import ResponseEvents
from .response_input import (
    InputCall,
    InputMessage,
    InputOutput,
    Unseal,
    check_answers,
    input_instructions,
    parse_input,
    waiting_calls,
)
from .response_request import ResponseSettings, response_settings
from .response_views import ResponseViews
from .runs import RunService
from .threads import ThreadService

WAIT_SECONDS = 3600.0
CANCEL_WAIT_SECONDS = 10.0


class ResponseService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        journal: RunJournal,
        runs: RunService,
        threads: ThreadService,
        unseal: Unseal,
    ) -> None:
        self.store = store
        self.unseal = unseal
        self.settings = settings
        self.journal = journal
        self.runs = runs
        self.threads = threads
        self.views = ResponseViews(store)

    # -- create -----------------------------------------------------------------------------

    def create(self, params: Mapping[str, Any]) -> Response:
        record, subscription = self._start(params)
        if record.background:
            self.journal.bus.close(subscription)
            return self.views.render(record)
        for _ in until_settled(self.journal.bus, subscription, WAIT_SECONDS):
            pass
        response = self.views.render(record)
        self.settled(record)
        return response

    def stream(self, params: Mapping[str, Any]) -> Iterator[ResponseStreamEvent | None]:
        """Checked and started now (errors raise here); the events as the run makes them."""
        record, subscription = self._start(params)
        return ResponseEvents(self, record, subscription).events()

    def _start(self, params: Mapping[str, Any]) -> tuple[ResponseRecord, Subscription]:
        p = check_params(ResponseCreateParamsBase, params)
        p.pop("stream", None)
        if p.get("previous_response_id") and p.get("conversation"):
            raise InvalidRequestError(
                "Mutually exclusive parameters: give either 'previous_response_id' or "
                "'conversation', not both.",
                param="previous_response_id",
            )
        store_it = p.get("store") is not False
        background = bool(p.get("background"))
        if background and not store_it:
            raise InvalidRequestError(
                "Background responses must be stored: remove 'store': false.", param="store"
            )
        chosen = response_settings(p, self.settings, self.store)
        entries = parse_input(p.get("input"), unseal=self.unseal)
        conversation = p.get("conversation")
        conversation_id = conversation if isinstance(conversation, str) else None
        if isinstance(conversation, dict):
            conversation_id = conversation.get("id")
        with self.store.db.transaction():
            thread_id = self._thread_for(conversation_id, p.get("previous_response_id"), chosen)
            waiting = self.store.runs.active_in_thread(thread_id)
            if waiting is not None and waiting.status != "requires_action":
                raise ConflictError(
                    f"{conversation_id or 'The previous response'} has a response in progress "
                    f"(run {waiting.id}); wait for it or cancel it.",
                    param="conversation" if conversation_id else "previous_response_id",
                )
            check_answers(entries, waiting_calls(waiting))  # before the new thread is kept
        if waiting is not None:
            record, subscription = self._resume(waiting, entries, chosen, p)
        else:
            record, subscription = self._new_run(thread_id, entries, chosen, p)
        return record, subscription

    def _thread_for(
        self, conversation_id: str | None, previous_id: str | None, chosen: ResponseSettings
    ) -> str:
        if conversation_id is not None:
            if not conversation_id.startswith("conv_") or not self.store.threads.exists(
                conversation_id
            ):
                raise NotFoundError(
                    f"Conversation with id '{conversation_id}' not found.", param="conversation"
                )
            thread_id = conversation_id
        elif previous_id is not None:
            previous = self.store.responses.get(previous_id)
            if previous is None:
                raise InvalidRequestError(
                    f"Previous response with id '{previous_id}' not found.",
                    param="previous_response_id",
                )
            latest = self.store.responses.in_thread(previous.thread_id)[-1]
            if latest.id == previous.id and previous.conversation_id is None:
                thread_id = previous.thread_id
            else:
                thread_id = self._branch(previous)
        else:
            thread_id = self.threads.store_new(self.threads.build({})[0], []).id
        thread = self.threads.retrieve(thread_id)
        resources = thread.tool_resources.model_dump() if thread.tool_resources else {}
        if chosen.vector_store_ids:
            resources["file_search"] = {"vector_store_ids": chosen.vector_store_ids}
        if chosen.code_file_ids is not None:
            resources["code_interpreter"] = {"file_ids": chosen.code_file_ids}
        self.store.threads.update(updated(thread, tool_resources=resources))
        return thread_id

    def _branch(self, previous: ResponseRecord) -> str:
        """A new thread holding ``previous``'s history (what its thread held until the
        response after it began): answering from a response that is not the latest."""
        later = [
            r.input_from
            for r in self.store.responses.in_thread(previous.thread_id)
            if r.input_from > previous.output_from
        ]
        until = min(later, default=None)
        source = self.store.threads.get(previous.thread_id)
        thread = self.threads.store_new(
            updated(
                self.threads.build({})[0],
                tool_resources=source.tool_resources if source else {},
            ),
            [],
        )
        for seq, message in self.store.messages.in_thread_with_seq(previous.thread_id):
            if until is None or seq < until:
                self.store.messages.insert(updated(message, id=new_id("msg"), thread_id=thread.id))
        for seq, step in self.store.steps.in_thread_with_seq(previous.thread_id):
            before = until is None or seq < until
            if before and step.type == "tool_calls" and step.status == "completed":
                self.store.steps.insert(updated(step, id=new_id("step"), thread_id=thread.id))
        return thread.id

    def _add_input(self, run: Run, entries: list[Any]) -> None:
        """Store the input's messages, and replayed calls with their outputs as finished
        steps of ``run``."""
        outputs = {e.call_id: e.output for e in entries if isinstance(e, InputOutput)}
        for entry in entries:
            if isinstance(entry, InputMessage):
                message = new_user_message(
                    run.thread_id,
                    role=entry.role,
                    content=entry.text,
                    attachments=None,
                    metadata=None,
                    param="input.",
                    file_exists=self.store.files.exists,
                )
                if entry.role == "assistant":
                    message = updated(message, run_id=run.id, assistant_id=run.assistant_id)
                self.store.messages.insert(message)
            elif isinstance(entry, InputCall):
                call = {
                    "id": entry.call_id,
                    "type": "function",
                    "function": {
                        "name": entry.name,
                        "arguments": entry.arguments,
                        "output": outputs[entry.call_id],
                    },
                }
                step = tool_calls_step(run, [call], None)
                self.store.steps.insert(updated(step, status="completed", completed_at=now()))

    def _new_run(
        self, thread_id: str, entries: list[Any], chosen: ResponseSettings, p: dict[str, Any]
    ) -> tuple[ResponseRecord, Subscription]:
        response_id = new_id("resp")
        created = now()
        run = Run.model_validate(
            {
                "id": new_id("run"),
                "object": "thread.run",
                "created_at": created,
                "assistant_id": response_id,
                "thread_id": thread_id,
                "status": "queued",
                "expires_at": created + self.settings.run_expiry_seconds,
                "usage": None,
                **chosen.run_fields,
            }
        )
        options = RunOptions(
            additional_instructions=input_instructions(entries),
            container=chosen.container,
            presence_penalty=chosen.penalties[0],
            frequency_penalty=chosen.penalties[1],
        )
        with self.store.db.transaction():
            input_from = self.store.responses.boundary()
            self._add_input(run, entries)
            record = self._record(response_id, run, input_from, chosen, p)
            self.store.runs.insert(run, options)
            self.store.responses.insert(record)
        subscription = self.journal.bus.open(run.id)
        self.runs.enqueue(run)
        return record, subscription

    def _resume(
        self, run: Run, entries: list[Any], chosen: ResponseSettings, p: dict[str, Any]
    ) -> tuple[ResponseRecord, Subscription]:
        """Answer the calls ``run`` waits for with the input's outputs and go on with it."""
        pending = waiting_calls(run)
        given = {e.call_id: e.output for e in entries if isinstance(e, InputOutput)}
        used = sum(
            (s.usage.completion_tokens if s.usage else 0) for s in self.store.steps.in_run(run.id)
        )
        fields = dict(chosen.run_fields)
        if fields["max_completion_tokens"]:
            fields["max_completion_tokens"] += used
        response_id = new_id("resp")
        rest = [e for e in entries if not (isinstance(e, InputOutput) and e.call_id in pending)]
        with self.store.db.transaction():
            input_from = self.store.responses.boundary()
            self._add_input(run, rest)
            resumed = updated(run, **fields)
            self.store.runs.update(resumed)
            options = self.store.runs.options(run.id)
            self.store.runs.set_options(
                run.id,
                options.model_copy(
                    update={
                        "additional_instructions": input_instructions(entries),
                        "container": chosen.container,
                        "presence_penalty": chosen.penalties[0],
                        "frequency_penalty": chosen.penalties[1],
                    }
                ),
            )
            for earlier in self.store.responses.in_run(run.id):
                if earlier.output_until is None:
                    self.store.responses.update(
                        earlier.model_copy(update={"output_until": input_from})
                    )
            record = self._record(response_id, resumed, input_from, chosen, p, answered=pending)
            self.store.responses.insert(record)
        outputs = [{"tool_call_id": call_id, "output": given[call_id]} for call_id in pending]
        _, subscription = self.runs.submit_tool_outputs_watched(
            run.id, thread_id=run.thread_id, params={"tool_outputs": outputs}
        )
        return record, subscription

    def _record(
        self,
        response_id: str,
        run: Run,
        input_from: int,
        chosen: ResponseSettings,
        p: dict[str, Any],
        answered: list[str] | None = None,
    ) -> ResponseRecord:
        conversation = run.thread_id if run.thread_id.startswith("conv_") else None
        return ResponseRecord(
            id=response_id,
            created_at=now(),
            thread_id=run.thread_id,
            run_id=run.id,
            input_from=input_from,
            output_from=self.store.responses.boundary(),
            conversation_id=conversation,
            previous_response_id=p.get("previous_response_id"),
            store=p.get("store") is not False,
            background=bool(p.get("background")),
            answered=answered or [],
            request=chosen.request,
        )

    # -- reading ----------------------------------------------------------------------------

    def retrieve(self, response_id: str) -> Response:
        return self.views.render(self._get(response_id))

    def input_items(
        self,
        response_id: str,
        *,
        limit: Any = None,
        order: Any = None,
        after: Any = None,
        include: Any = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        return self.views.input_items(
            self._get(response_id), limit=limit, order=order, after=after, include=include
        )

    def _get(self, response_id: str) -> ResponseRecord:
        record = self.store.responses.get(response_id)
        if record is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")
        return record

    # -- ending -----------------------------------------------------------------------------

    def settled(self, record: ResponseRecord) -> None:
        """After a response settles: with ``store=False`` nothing of it stays."""
        if record.store:
            return
        run = self.store.runs.get(record.run_id)
        if run is not None and run.status == "requires_action":
            self.runs.cancel(run.id, thread_id=run.thread_id)
        with self.store.db.transaction():
            self.store.responses.delete(record.id)
            own_thread = record.conversation_id is None and not self.store.responses.in_thread(
                record.thread_id
            )
        if own_thread:
            self.threads.delete(record.thread_id)

    def delete(self, response_id: str) -> dict[str, Any]:
        record = self._get(response_id)
        run = self.store.runs.get(record.run_id)
        if run is not None and record.output_until is None:
            if run.status == "requires_action":
                self.runs.cancel(run.id, thread_id=run.thread_id)
            elif run.status in ("queued", "in_progress", "cancelling"):
                raise ConflictError(
                    f"Response {response_id} is still in progress; cancel it first.",
                    param="response_id",
                )
        with self.store.db.transaction():
            self.store.responses.delete(response_id)
            own_thread = record.conversation_id is None and not self.store.responses.in_thread(
                record.thread_id
            )
        if own_thread:
            self.threads.delete(record.thread_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    def cancel(self, response_id: str) -> Response:
        record = self._get(response_id)
        if not record.background:
            raise InvalidRequestError(
                "Only responses created with background=true can be cancelled.",
                param="response_id",
            )
        run = self.store.runs.get(record.run_id)
        if run is not None and record.output_until is None:
            if run.status in ("queued", "in_progress"):
                self.runs.cancel(run.id, thread_id=run.thread_id)
            deadline = time.monotonic() + CANCEL_WAIT_SECONDS
            while time.monotonic() < deadline:
                current = self.store.runs.get(record.run_id)
                if current is None or current.status != "cancelling":
                    break
                time.sleep(0.05)
        return self.views.render(record)
