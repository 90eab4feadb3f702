"""Responses: create (whole, background or streamed), retrieve (or replay), delete, cancel.

Deleting, cancelling and settling a ``store=False`` response are ``ending.py``'s.

A response runs as a run of the Assistants executor, in a thread
(``placement.py`` says which, and stores the input there). Its events are
made from the run's (``events.py``): a stream yields them, a plain create
reads them to the end, a background response has a thread of its own reading
them; a stored response records them (``event_log.py``), so ``retrieve``
with ``stream=True`` replays them past ``starting_after`` and follows the rest
(``recordings.py``).

The input is read by ``input_items.py`` and a run starts with
the response's settings (``request.py``). When a run stops for
function calls, its response is ``completed`` with ``function_call`` items; the
next request's ``function_call_output`` items are that run's tool outputs, and
the new response is the rest of the same run (so prefix reuse, the code
session and file_search results carry on). Output, status and usage are read
from the thread on every retrieve (``views.py``). ``store=False``
removes the response (and a thread of its own) once it has settled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from openai.types.beta.threads.run import Run
from openai.types.responses.response import Response
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from openai.types.responses.response_stream_event import ResponseStreamEvent

from ...config import Settings
from ...errors import ConflictError, InvalidRequestError, NotFoundError
from ...ids import new_id
from ...runs import RunJournal
from ...runs.events import Subscription, every_event
from ...runs.journal import now, updated
from ...store import ResponseRecord, RunOptions, Store
from ...tools.mcp import McpClients
from ..checks.params import check_params
from ..runs import RunService, queued_run
from ..threads import ThreadService
from .ending import ResponseEnding
from .event_log import ResponseEventLog
from .events import ResponseEvents
from .input_items import (
    InputApproval,
    InputOutput,
    InputToolList,
    Unseal,
    check_answers,
    input_instructions,
    parse_input,
    waiting_calls,
)
from .mcp_approvals import Answered, McpApprovals
from .mcp_tools import McpPolicy, drop_known_lists
from .placement import ResponsePlacement
from .recordings import ResponseRecordings
from .request import ResponseSettings, response_settings
from .sealed import Sealer
from .views import ResponseViews

log = logging.getLogger(__name__)


class ResponseService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        journal: RunJournal,
        runs: RunService,
        threads: ThreadService,
        sealer: Sealer,
        mcp: McpClients | None = None,
    ) -> None:
        self.store = store
        self.approvals = McpApprovals(store, mcp)
        self.mcp = (
            McpPolicy(
                lambda server: mcp.list_tools(server.label, server.url, server.headers),
                frozenset(mcp.declared),
                settings.mcp_allow_remote,
            )
            if mcp is not None
            else None
        )
        self.unseal: Unseal = sealer.open
        self.settings = settings
        self.journal = journal
        self.runs = runs
        self.threads = threads
        self.views = ResponseViews(store, sealer)
        self.placement = ResponsePlacement(store, threads)
        self.event_log = ResponseEventLog(settings.data_dir / "response_events")
        self.recordings = ResponseRecordings(self.event_log, self.views)
        self.ending = ResponseEnding(store, runs, threads, self.event_log, self.views)
        self._starting = threading.Lock()
        self._answering: set[str] = set()  # runs whose approved MCP calls are being made

    # -- create -----------------------------------------------------------------------------

    def create(self, params: Mapping[str, Any]) -> Response:
        record, subscription = self._start(params)
        events = ResponseEvents(self, record, subscription)
        if record.background:
            self.recordings.in_background(events)
            return self.views.render(record)
        final: Response | None = None
        for event in events.events():  # ends with the response as it settled
            final = getattr(event, "response", final)
        assert final is not None
        return final

    def stream(self, params: Mapping[str, Any]) -> Iterator[ResponseStreamEvent | str | None]:
        """Checked and started now (errors raise here); the events as the run makes them
        (a background response's as recorded: wire JSON)."""
        record, subscription = self._start(params)
        events = ResponseEvents(self, record, subscription)
        if record.background:
            self.recordings.in_background(events)
            return self.replay(record.id, starting_after=-1)
        return events.events()

    def open_stream(
        self, params: Mapping[str, Any]
    ) -> tuple[ResponseRecord, Iterator[ResponseStreamEvent | None]]:
        """A streamed response the caller settles itself (``settled``), later: a WebSocket
        keeps its latest response, stored or not, so the next may continue from it."""
        if params.get("background") is True:
            raise InvalidRequestError(
                "'background' is not supported over WebSocket.", param="background"
            )
        record, subscription = self._start(params)
        return record, ResponseEvents(self, record, subscription, settle=False).events()

    def replay(self, response_id: str, *, starting_after: int = -1) -> Iterator[str | None]:
        """A stored response's events past ``starting_after`` as they were sent, then the rest
        as they come (``recordings.py``)."""
        return self.recordings.replay(self._get(response_id), starting_after)

    def close(self, timeout: float = 10.0) -> None:
        """Wait for the background responses' recorders (the scheduler stopped first)."""
        self.recordings.close(timeout)

    def _start(self, params: Mapping[str, Any]) -> tuple[ResponseRecord, Subscription]:
        if "input" in params and params["input"] is None:  # null is not "not given" here
            raise InvalidRequestError(
                "Invalid type for 'input': expected a string or an array of items, but got "
                "null instead.",
                param="input",
            )
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
        chosen = response_settings(p, self.settings, self.store, self.mcp)
        entries = self.approvals.replayed(
            parse_input(p.get("input"), unseal=self.unseal), chosen.mcp
        )
        conversation = p.get("conversation")
        conversation_id = conversation if isinstance(conversation, str) else None
        if isinstance(conversation, dict):
            conversation_id = conversation.get("id")
        # One start at a time: picking the thread, checking it has no response in progress
        # and starting the run are one step, so concurrent requests on one conversation get
        # one response and 400s, and concurrent answers to one response branch as
        # sequential ones do (the first continues its thread, the others copy its history).
        with self._starting:
            with self.store.db.transaction():
                thread_id = self.placement.thread_for(
                    conversation_id, p.get("previous_response_id"), chosen
                )
                earlier = self.store.responses.in_thread(thread_id)
                seen = [e.item for e in entries if isinstance(e, InputToolList)]
                drop_known_lists(chosen.mcp, [*(r.mcp_items for r in earlier), seen])
                waiting = self.store.runs.active_in_thread(thread_id)
                if waiting is not None and waiting.status != "requires_action":
                    raise ConflictError(
                        f"{conversation_id or 'The previous response'} has a response in "
                        f"progress (run {waiting.id}); wait for it or cancel it.",
                        param="conversation" if conversation_id else "previous_response_id",
                        code="active_run",
                    )
                check_answers(entries, waiting_calls(waiting))  # before the new thread is kept
            if waiting is None:
                return self._new_run(thread_id, entries, chosen, p)
            if waiting.id in self._answering:
                raise ConflictError(
                    f"The MCP calls of run {waiting.id} are being made for another request's "
                    "approval; wait for its response.",
                    param="input",
                    code="active_run",
                )
            approvals = [e for e in entries if isinstance(e, InputApproval)]
            if not approvals:
                return self._resume(waiting, entries, chosen, p, {})
            self._answering.add(waiting.id)
        # The approved calls are made outside the lock: a slow MCP server holds up this
        # request only, not every other response starting meanwhile.
        try:
            answered = self.approvals.answer(waiting, approvals)
            with self._starting:
                return self._resume(waiting, entries, chosen, p, answered)
        finally:
            self._answering.discard(waiting.id)

    def _new_run(
        self, thread_id: str, entries: list[Any], chosen: ResponseSettings, p: dict[str, Any]
    ) -> tuple[ResponseRecord, Subscription]:
        response_id = new_id("resp")
        run = queued_run(thread_id, "", chosen.run_fields, self.settings)
        options = RunOptions(
            response_id=response_id,
            additional_instructions=input_instructions(entries),
            container=chosen.container,
            presence_penalty=chosen.penalties[0],
            frequency_penalty=chosen.penalties[1],
            reasoning_effort=chosen.reasoning_effort,
            reasoning_summary=chosen.reasoning_summary,
            mcp_servers=chosen.mcp.servers,
            mcp_tools=chosen.mcp.tools,
            mcp_asking=chosen.mcp.asking,
        )
        with self.store.db.transaction():
            input_from = self.store.responses.boundary()
            self.placement.add_input(run, entries)
            record = self._record(response_id, run, input_from, chosen, p)
            self.store.runs.insert(run, options)
            self.store.responses.insert(record)
        subscription = self.journal.bus.open(run.id)
        self.runs.enqueue(run)
        return record, subscription

    def _resume(
        self,
        run: Run,
        entries: list[Any],
        chosen: ResponseSettings,
        p: dict[str, Any],
        approved: Answered,
    ) -> tuple[ResponseRecord, Subscription]:
        """Answer the calls ``run`` waits for with the input's outputs (and the approved MCP
        calls' outputs, ``approved``) and go on with it."""
        pending = waiting_calls(run)
        given = {e.call_id: e.output for e in entries if isinstance(e, InputOutput)}
        given |= {call_id: output for call_id, (output, _) in approved.items()}
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
            self.placement.add_input(run, rest)
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
                        "mcp_servers": chosen.mcp.servers,
                        "mcp_tools": chosen.mcp.tools,
                        "mcp_asking": chosen.mcp.asking,
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
            run.id,
            thread_id=run.thread_id,
            params={"tool_outputs": outputs},
            wants=every_event,
            mcp={call_id: kept for call_id, (_, kept) in approved.items()},
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
            mcp_items=chosen.mcp.items,
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

    # -- ending (ending.py) -----------------------------------------------------------------

    def settled(self, record: ResponseRecord) -> None:
        self.ending.settled(record)

    def delete(self, response_id: str) -> dict[str, Any]:
        return self.ending.delete(self._get(response_id))

    def cancel(self, response_id: str) -> Response:
        return self.ending.cancel(self._get(response_id))
