"""A response stream's reasoning items, told from a reasoning model's ``reasoning.delta`` events.

Part of :class:`~.events.ResponseEvents` (a mixin: it numbers events and output
items there). The first delta of a reasoning item opens it
(``output_item.added``, ``content_part.added`` with a ``reasoning_text`` part),
each delta is a ``reasoning_text.delta``. A summary (``reasoning.summary``, written
once the reasoning is over) closes the text part (``reasoning_text.done``,
``content_part.done``) and opens a summary part (``reasoning_summary_part.added``),
each of its deltas a ``reasoning_summary_text.delta``. Whatever the run does next (its
message, a call, its end) closes every open item: the part still open
(``reasoning_text.done`` and ``content_part.done``, or ``reasoning_summary_text.done``
and ``reasoning_summary_part.done``), then ``output_item.done`` with the whole item,
which is what the step keeps and ``retrieve`` shows (``items.reasoning_item``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openai.types.responses.response_stream_event import ResponseStreamEvent

from ...runs.events import ReasoningDelta, ReasoningSummaryDelta


class ReasoningStream:
    _indexes: dict[str, int]  # item id → output_index
    _open: dict[str, str]  # open item id → its type
    _reasoning: dict[str, str]  # open reasoning item id → its text so far
    _summaries: dict[str, str]  # open reasoning item id → its summary so far (once begun)

    def _added(self, item: dict[str, Any]) -> ResponseStreamEvent:
        raise NotImplementedError

    def _event(self, kind: str, **fields: Any) -> ResponseStreamEvent:
        raise NotImplementedError

    def _stored_reasoning(self, item_id: str) -> dict[str, Any] | None:
        """The item as ``retrieve`` shows it, once its step is stored (None: not yet)."""
        raise NotImplementedError

    def _reasoning_delta(self, data: ReasoningDelta) -> Iterator[ResponseStreamEvent]:
        if data.id not in self._reasoning:
            if data.id in self._indexes:
                return  # closed already: nothing more belongs to it
            self._reasoning[data.id] = ""
            item = {"id": data.id, "type": "reasoning", "summary": [], "status": "in_progress"}
            yield self._added(item)
            yield self._event(
                "response.content_part.added",
                item_id=data.id,
                output_index=self._indexes[data.id],
                content_index=0,
                part={"type": "reasoning_text", "text": ""},
            )
        self._reasoning[data.id] += data.delta
        yield self._event(
            "response.reasoning_text.delta",
            item_id=data.id,
            output_index=self._indexes[data.id],
            content_index=0,
            delta=data.delta,
        )

    def _summary_delta(self, data: ReasoningSummaryDelta) -> Iterator[ResponseStreamEvent]:
        if data.id not in self._reasoning:
            return  # its reasoning was never shown (or is closed): nothing to summarize
        where = {"item_id": data.id, "output_index": self._indexes[data.id], "summary_index": 0}
        if data.id not in self._summaries:
            yield from self._text_done(data.id)
            self._summaries[data.id] = ""
            part = {"type": "summary_text", "text": ""}
            yield self._event("response.reasoning_summary_part.added", part=part, **where)
        self._summaries[data.id] += data.delta
        yield self._event("response.reasoning_summary_text.delta", delta=data.delta, **where)

    def _text_done(self, item_id: str) -> Iterator[ResponseStreamEvent]:
        where = {"item_id": item_id, "output_index": self._indexes[item_id], "content_index": 0}
        text = self._reasoning[item_id]
        part = {"type": "reasoning_text", "text": text}
        yield self._event("response.reasoning_text.done", text=text, **where)
        yield self._event("response.content_part.done", part=part, **where)

    def _reasoning_done(self) -> Iterator[ResponseStreamEvent]:
        for item_id, text in list(self._reasoning.items()):
            index = self._indexes[item_id]
            summary = self._summaries.pop(item_id, None)
            parts = [] if summary is None else [{"type": "summary_text", "text": summary.rstrip()}]
            if not parts:
                yield from self._text_done(item_id)
            else:
                where = {"item_id": item_id, "output_index": index, "summary_index": 0}
                said = parts[0]["text"]
                yield self._event("response.reasoning_summary_text.done", text=said, **where)
                yield self._event("response.reasoning_summary_part.done", part=parts[0], **where)
            del self._reasoning[item_id], self._open[item_id]
            item = self._stored_reasoning(item_id) or {
                "id": item_id,
                "type": "reasoning",
                "summary": parts,
                "content": [{"type": "reasoning_text", "text": text}],
                "status": "completed",
            }
            yield self._event("response.output_item.done", item=item, output_index=index)
