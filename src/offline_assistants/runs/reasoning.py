"""A turn's reasoning: split from the model's output, streamed as it comes, kept on the step.

For a reasoning model (the engine sets ``TokenStream.reasoning``), a turn
(``turn.py``) passes every piece through :class:`TurnReasoning` first: the
reasoning goes out as ``reasoning.delta`` bus events (the Responses stream
shows them as a ``reasoning`` item; Assistants streams do not subscribe to
them, the API having no such event), and what is left is the answer or the
calls. Once the answer or a call begins, the whole reasoning is stored on that
step as ``step_details.reasoning`` (:meth:`details`), under the id the stream
used, so ``retrieve`` reads the same item the stream showed. Where the run asks
for a summary (``reasoning_summary.py``), the model writes it as soon as the
reasoning is over, streamed as ``reasoning.summary.delta`` events and kept beside
the reasoning (``summary``: ``summary_text`` parts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..engine import TokenStream
from ..engine.reasoning import ReasoningSplitter
from ..ids import new_id
from .journal import RunJournal

Summarize = Callable[[str], Iterator[str]]


class TurnReasoning:
    def __init__(
        self,
        journal: RunJournal,
        run_id: str,
        stream: TokenStream,
        summarize: Summarize | None = None,
    ) -> None:
        self._journal = journal
        self._run_id = run_id
        self._stream = stream
        self._splitter = ReasoningSplitter.for_stream(stream)
        self._summarize = summarize
        self._summary: str | None = None  # once written
        self.id = new_id("rs")

    def answer(self, piece: str) -> str:
        """What of ``piece`` is not reasoning (streaming the reasoning, and its summary once
        it is over)."""
        if self._splitter is None:
            return piece
        thought, rest = self._splitter.feed(piece)
        if thought:
            self._journal.reasoning_text(self._run_id, self.id, thought)
        if self._splitter.over:
            self._summarized()
        return rest

    def finish(self) -> None:
        """The output ended: reasoning held back (the closing tag's start) goes out, and
        its summary where it has none yet."""
        if self._splitter is not None and (held := self._splitter.flush()):
            self._journal.reasoning_text(self._run_id, self.id, held)
        self._summarized()

    def _summarized(self) -> None:
        if self._summarize is None or self._summary is not None or not self.reasoned:
            return
        assert self._splitter is not None
        pieces = []
        for piece in self._summarize(self._splitter.reasoning_text):
            pieces.append(piece)
            self._journal.reasoning_summary_text(self._run_id, self.id, piece)
        self._summary = "".join(pieces).rstrip()

    @property
    def reasoned(self) -> bool:
        return self._splitter is not None and self._splitter.reasoned

    @property
    def tokens(self) -> int:
        return self._stream.reasoning_tokens

    def details(self) -> dict[str, Any] | None:
        """The reasoning as a step keeps it (None: there was none)."""
        if self._splitter is None or not self._splitter.reasoned:
            return None
        text = self._splitter.reasoning_text
        kept: dict[str, Any] = {
            "id": self.id,
            "content": [{"type": "reasoning_text", "text": text}],
        }
        if self._summary:
            kept["summary"] = [{"type": "summary_text", "text": self._summary}]
        return kept


def kept_reasoning(step: Any) -> dict[str, Any] | None:
    """The reasoning a step keeps (``{"id", "content": [reasoning_text parts]}``, and
    ``summary`` where one was written, as :meth:`TurnReasoning.details` made it); None: it
    keeps none."""
    kept = (step.step_details.model_extra or {}).get("reasoning")
    return kept if isinstance(kept, dict) else None
