"""A response's stream: the run's events (``runs/journal.py``) told as ``response.*`` events.

The run journal already publishes every change of a run as it happens; this
module translates them, numbering each event (``sequence_number``) and each
output item (``output_index``) in the order they appear:

==========================================  =============================================
run event                                   response events
==========================================  =============================================
(start)                                     ``response.created`` (``queued`` while the
                                            run waits for the model)
run in progress (or anything after start)   ``response.in_progress``, once; then the MCP
                                            tool lists (``mcp_stream.py``)
reasoning delta (a reasoning model's)       ``output_item.added`` and ``content_part.added``
                                            (the first), ``reasoning_text.delta``
reasoning summary delta (where asked)       ``reasoning_text.done``, ``content_part.done``,
                                            ``reasoning_summary_part.added`` (the first),
                                            ``reasoning_summary_text.delta``
anything after the reasoning                ``reasoning_text.done``, ``content_part.done``
                                            (or ``reasoning_summary_text.done``,
                                            ``reasoning_summary_part.done``),
                                            ``output_item.done``
assistant message created                   ``output_item.added``, ``content_part.added``
message delta                               ``output_text.delta``
message completed / incomplete              ``output_text.annotation.added`` (each),
                                            ``output_text.done``, ``content_part.done``,
                                            ``output_item.done``
a new call in a step delta                  ``output_item.added`` (+ ``*.in_progress``)
its arguments / code                        ``function_call_arguments.delta`` /
                                            ``mcp_call_arguments.delta`` (an MCP tool's) /
                                            ``code_interpreter_call_code.delta``
step finished, or the run waits for outputs ``*.done`` / ``*.completed`` / ``.failed``,
                                            ``output_item.done``
run completed / requires_action             ``response.completed``
run incomplete / failed / cancelled         ``response.incomplete`` / ``response.failed``
==========================================  =============================================

Item snapshots in ``*.done`` events are rendered from the store
(``items.py``), so a stream ends with exactly what ``retrieve`` shows. The calls' part
is ``call_stream.py`` (with MCP's, ``mcp_stream.py``), the reasoning's
``reasoning_stream.py``: mixins of :class:`ResponseEvents`.
``None`` in the iteration marks a quiet stretch (the server sends a comment).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from typing import Any, Protocol

from openai.types.beta.threads.message import Message
from openai.types.beta.threads.runs.run_step import RunStep
from openai.types.responses.response import Response
from openai.types.responses.response_stream_event import ResponseStreamEvent
from pydantic import TypeAdapter

from ...runs import RunJournal
from ...runs.events import (
    REASONING_DELTA,
    REASONING_SUMMARY_DELTA,
    ReasoningDelta,
    ReasoningSummaryDelta,
    RunEvent,
    Subscription,
    until_settled,
)
from ...store import ResponseRecord, Store
from .call_stream import CallStream
from .event_log import ResponseEventLog
from .items import message_item, reasoning_item
from .mcp_stream import served_tools
from .reasoning_stream import ReasoningStream
from .tools import namespaces
from .views import ResponseViews

log = logging.getLogger(__name__)


@functools.cache
def stream_events() -> TypeAdapter[ResponseStreamEvent]:
    """The validator of every stream event, built by the first stream (~40 ms: a union of
    some sixty models), not by every cold start."""
    return TypeAdapter(ResponseStreamEvent)


KEEPALIVE_SECONDS = 15.0
ENDINGS = {
    "completed": "response.completed",
    "requires_action": "response.completed",
    "expired": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
    "cancelled": "response.failed",
}
SNAPSHOT_ENDINGS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}
# Run events that may come while the model still reasons (the rest end its reasoning).
QUIET = ("thread.run.queued", "thread.run.in_progress")


def wire_json(event: ResponseStreamEvent) -> str:
    """An event as the wire carries it: field aliases (``schema``), only what was set, and
    the response's own integer timestamps (``WireResponse``)."""
    return event.model_dump_json(by_alias=True, exclude_unset=True, serialize_as_any=True)


class ResponseHost(Protocol):
    """What a response's stream reads and tells (the Responses service, through only
    what the stream uses of it: no import of the service, which makes the streams)."""

    store: Store
    journal: RunJournal
    views: ResponseViews
    event_log: ResponseEventLog

    def settled(self, record: ResponseRecord) -> None: ...


class ResponseEvents(ReasoningStream, CallStream):
    def __init__(
        self,
        service: ResponseHost,
        record: ResponseRecord,
        subscription: Subscription,
        *,
        settle: bool = True,
    ) -> None:
        self.service = service
        self.settle = settle  # False: the caller settles it (a WebSocket keeps its last one)
        self.record = record
        self.subscription = subscription
        self.container = service.views.container(record)
        self._seq = 0
        self._indexes: dict[str, int] = {}  # item id → output_index
        self._open: dict[str, str] = {}  # open item id → its type
        self._calls: dict[tuple[str, int], str] = {}  # (step id, call index) → item id
        self._code: dict[str, str] = {}  # code item id → code so far
        self._reasoning: dict[str, str] = {}  # open reasoning item id → its text so far
        self._summaries: dict[str, str] = {}  # open reasoning item id → its summary so far
        self._namespaces = namespaces(record.request.get("tools", []))
        self._served = served_tools(record)
        self._asking = (  # read only for a response with MCP tools
            set(service.store.runs.options(record.run_id).mcp_asking) if self._served else set()
        )
        self._log: ResponseEventLog | None = None

    def events(self) -> Iterator[ResponseStreamEvent | None]:
        log = self.service.event_log if self.record.store else None
        if log is not None:
            log.begin(self.record.id)
        self._log = log
        try:
            snapshot = self._snapshot()
            yield self._event("response.created", response=snapshot)
            progressed = snapshot.status != "queued"
            if progressed:
                yield self._event("response.in_progress", response=snapshot)
                yield from self._listings()
            for event in until_settled(
                self.service.journal.bus, self.subscription, KEEPALIVE_SECONDS
            ):
                if event is None:
                    yield None
                    continue
                if not progressed and event.event != "thread.run.queued":
                    # The run has a slot (or ended in the queue): in progress comes first.
                    yield self._event("response.in_progress", response=self._snapshot())
                    yield from self._listings()
                    progressed = True
                yield from self._translate(event)
        finally:
            if log is not None:
                log.end(self.record.id)
            self.service.journal.bus.close(self.subscription)
            if self.settle:
                self._settle()

    def _settle(self) -> None:
        try:
            self.service.settled(self.record)
        except Exception:  # noqa: BLE001 - a stream closed late (at exit) must not raise there
            log.warning("could not settle %s after its stream ended", self.record.id, exc_info=True)

    def _snapshot(self) -> Response:
        """The response as stored, less the MCP tool lists this stream has yet to tell
        (a client builds the output from the events: ``response.created`` shows none)."""
        return self._without_unsent_lists(self.service.views.render(self.record))

    def _event(self, kind: str, **fields: Any) -> ResponseStreamEvent:
        event = stream_events().validate_python(
            {"type": kind, "sequence_number": self._seq, **fields}
        )
        self._seq += 1
        if self._log is not None:  # recorded before it goes out
            self._log.append(self.record.id, wire_json(event))
        return event

    def _translate(self, event: RunEvent) -> Iterator[ResponseStreamEvent]:
        name, data = event.event, event.data
        if name == REASONING_DELTA and isinstance(data, ReasoningDelta):
            yield from self._reasoning_delta(data)
            return
        if name == REASONING_SUMMARY_DELTA and isinstance(data, ReasoningSummaryDelta):
            yield from self._summary_delta(data)
            return
        if self._reasoning and name not in QUIET:
            yield from self._reasoning_done()  # what the model does next ends its reasoning
        if name == "thread.message.created" and isinstance(data, Message):
            if data.role == "assistant":
                yield from self._message_added(data)
        elif name == "thread.message.delta":
            yield from self._text_delta(data)
        elif name in ("thread.message.completed", "thread.message.incomplete"):
            if isinstance(data, Message) and data.id in self._open:
                yield from self._message_done(data)
        elif name == "thread.run.step.delta":
            yield from self._calls_delta(data)
        elif name.startswith("thread.run.step.") and isinstance(data, RunStep):
            if data.status != "in_progress":
                yield from self._calls_done(self._stored_step(data))
        elif name.startswith("thread.run."):
            status = name.removeprefix("thread.run.")
            if status in ENDINGS:
                yield from self._close_all()
                snapshot = self._snapshot()
                # The response's own status names the event: a run cut short by the
                # context window is a failed response (context_length_exceeded).
                kind = SNAPSHOT_ENDINGS.get(snapshot.status or "", ENDINGS[status])
                yield self._event(kind, response=snapshot)

    # -- messages ---------------------------------------------------------------------------

    def _added(self, item: dict[str, Any]) -> ResponseStreamEvent:
        index = len(self._indexes)
        self._indexes[item["id"]] = index
        self._open[item["id"]] = item["type"]
        return self._event("response.output_item.added", item=item, output_index=index)

    def _message_added(self, message: Message) -> Iterator[ResponseStreamEvent]:
        item = {
            "id": message.id,
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        yield self._added(item)
        yield self._event(
            "response.content_part.added",
            item_id=message.id,
            output_index=self._indexes[message.id],
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
        )

    def _text_delta(self, data: Any) -> Iterator[ResponseStreamEvent]:
        if data.id not in self._open:
            return
        for block in data.delta.content or []:
            if block.type == "text" and block.text is not None and block.text.value:
                yield self._event(
                    "response.output_text.delta",
                    item_id=data.id,
                    output_index=self._indexes[data.id],
                    content_index=0,
                    delta=block.text.value,
                    logprobs=[],
                )

    def _message_done(self, message: Message) -> Iterator[ResponseStreamEvent]:
        item = message_item(message, self.service.views.filename, self.container)
        index = self._indexes[message.id]
        part = item["content"][0]
        where = {"item_id": message.id, "output_index": index, "content_index": 0}
        for number, annotation in enumerate(part["annotations"]):
            yield self._event(
                "response.output_text.annotation.added",
                annotation=annotation,
                annotation_index=number,
                **where,
            )
        yield self._event("response.output_text.done", text=part["text"], logprobs=[], **where)
        yield self._event("response.content_part.done", part=part, **where)
        del self._open[message.id]
        yield self._event("response.output_item.done", item=item, output_index=index)

    def _stored_reasoning(self, item_id: str) -> dict[str, Any] | None:
        seal = self.service.views.seal(self.record)
        for step in self.service.store.steps.in_run(self.record.run_id):
            item = reasoning_item(step, seal)
            if item is not None and item["id"] == item_id:
                return item
        return None

    def _close_all(self) -> Iterator[ResponseStreamEvent]:
        """Items still open when the run stopped: calls waiting for outputs, or cut short."""
        if not self._open:
            return
        for step in self.service.store.steps.in_run(self.record.run_id):
            yield from self._calls_done(step)
        for item_id in [i for i, kind in self._open.items() if kind == "message"]:
            message = self.service.store.messages.get(item_id, self.record.thread_id)
            if message is not None:
                yield from self._message_done(message)
